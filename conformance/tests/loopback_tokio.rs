//! The IMAP transcripts over real TCP (STARTTLS) and TLS (IMAPS) against
//! the tokio runtime: a fresh localserve (the shared library set-up, tokio
//! accept loops on a current-thread runtime in a thread) in a temporary
//! directory for every transcript.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use moxide::listen::Security;
use moxide::localserve::{self, Options, Prepared};
use moxide_conformance::loopback::{self, Mode, Server};
use tokio::sync::Notify;

/// A running server; stopped (and its directory removed) when dropped.
struct Running {
    stop: Arc<Notify>,
    thread: Option<JoinHandle<()>>,
    _prepared: Prepared,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start() -> Result<(Server, Running), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut prepared = localserve::prepare(Options {
        dir: Some(dir.path().to_path_buf()),
        imap_port: Some(0),
        imaps_port: Some(0),
    })?;
    let find = |p: &Prepared, s: Security| -> Result<SocketAddr, String> {
        p.listeners
            .iter()
            .filter(|b| b.security == s && b.addr.is_ipv4())
            .find_map(|b| b.listener.local_addr().ok())
            .ok_or_else(|| format!("no IPv4 {s:?} listener"))
    };
    let server = Server {
        imap: find(&prepared, Security::StartTls)?,
        imaps: find(&prepared, Security::Implicit)?,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let acceptor = tokio_rustls::TlsAcceptor::from(prepared.tls.clone());
    let make = Arc::new(prepared.session_factory());
    let listeners = std::mem::take(&mut prepared.listeners);
    let stop = Arc::new(Notify::new());
    let stopped = stop.clone();
    let thread = std::thread::spawn(move || {
        rt.block_on(async {
            for b in listeners {
                match tokio::net::TcpListener::from_std(b.listener) {
                    Ok(l) => {
                        let accept = moxide_tokio::serve::accept_loop(
                            l,
                            b.security,
                            acceptor.clone(),
                            make.clone(),
                        );
                        tokio::spawn(accept);
                    }
                    Err(e) => eprintln!("listening on {}: {e}", b.addr),
                }
            }
            stopped.notified().await;
        });
        // Dropping the runtime ends the accept loops and connections.
        drop(rt);
    });
    Ok((
        server,
        Running {
            stop,
            thread: Some(thread),
            _prepared: prepared,
            _dir: dir,
        },
    ))
}

fn run(mode: Mode, label: &str) {
    let transcripts = moxide_conformance::imap_transcripts().unwrap();
    assert!(!transcripts.is_empty(), "no transcripts found");
    let results = loopback::run_all(&transcripts, mode, start);
    let failed = moxide_conformance::report(label, &results);
    assert!(
        failed.is_empty(),
        "failed transcripts:\n{}",
        failed.join("\n")
    );
}

#[test]
fn imap_transcripts_over_starttls() {
    run(Mode::StartTls, "tokio starttls");
}

#[test]
fn imap_transcripts_over_imaps() {
    run(Mode::Imaps, "tokio imaps");
}

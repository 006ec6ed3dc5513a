//! The IMAP transcripts over real TCP (STARTTLS) and TLS (IMAPS) against
//! the smol runtime: a fresh localserve (library set-up, smol accept
//! loops on a thread) in a temporary directory for every transcript.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use moxide::localserve::{self, Options, Prepared};
use moxide::serve::{self, Security};
use moxide_conformance::loopback::{self, Mode, Server};

/// A running server; stopped (and its directory removed) when dropped.
struct Running {
    stop: Option<smol::channel::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _prepared: Prepared,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.stop.take());
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
    let ex = Arc::new(smol::Executor::new());
    let acceptor = futures_rustls::TlsAcceptor::from(prepared.tls.clone());
    let make = Arc::new(prepared.session_factory());
    let mut tasks = Vec::new();
    for b in std::mem::take(&mut prepared.listeners) {
        let l = serve::async_listener(b.listener).map_err(|e| e.to_string())?;
        tasks.push(ex.spawn(serve::accept_loop(
            ex.clone(),
            l,
            b.security,
            acceptor.clone(),
            make.clone(),
        )));
    }
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    let thread = std::thread::spawn(move || {
        smol::block_on(ex.run(async {
            let _ = stop_rx.recv().await;
            // The accept loops hold the executor: cancel them so that
            // dropping it ends the connections and frees the store.
            for t in tasks {
                t.cancel().await;
            }
        }));
    });
    Ok((
        server,
        Running {
            stop: Some(stop_tx),
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
    run(Mode::StartTls, "smol starttls");
}

#[test]
fn imap_transcripts_over_imaps() {
    run(Mode::Imaps, "smol imaps");
}

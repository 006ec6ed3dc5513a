//! The SMTP transcripts over real TCP (STARTTLS) and TLS (submissions)
//! against the tokio runtime: a fresh localserve (the shared library
//! set-up, tokio accept loops on a current-thread runtime in a thread) in
//! a temporary directory for every transcript.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use moxide::listen::Security;
use moxide::localserve::{self, Options, Prepared};
use moxide_conformance::smtp_loopback::{self, SmtpServer};
use moxide_engine::smtp::Role;
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

fn start() -> Result<(SmtpServer, Running), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut prepared = localserve::prepare(Options {
        dir: Some(dir.path().to_path_buf()),
        imap_port: Some(0),
        imaps_port: Some(0),
    })?;
    let find = |p: &Prepared, role: Role, s: Security| -> Result<SocketAddr, String> {
        p.smtp_listeners
            .iter()
            .filter(|b| b.role == role && b.security == s && b.addr.is_ipv4())
            .find_map(|b| b.listener.local_addr().ok())
            .ok_or_else(|| format!("no IPv4 {role:?} {s:?} listener"))
    };
    let server = SmtpServer {
        smtp: find(&prepared, Role::Inbound, Security::StartTls)?,
        submission: find(&prepared, Role::Submission, Security::StartTls)?,
        submissions: find(&prepared, Role::Submission, Security::Implicit)?,
        store: prepared.store.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let acceptor = tokio_rustls::TlsAcceptor::from(prepared.tls.clone());
    let inbound = Arc::new(prepared.smtp_factory(Role::Inbound));
    let submission = Arc::new(prepared.smtp_factory(Role::Submission));
    let listeners = std::mem::take(&mut prepared.smtp_listeners);
    let stop = Arc::new(Notify::new());
    let stopped = stop.clone();
    let thread = std::thread::spawn(move || {
        rt.block_on(async {
            for b in listeners {
                match tokio::net::TcpListener::from_std(b.listener) {
                    Ok(l) => {
                        let make = match b.role {
                            Role::Inbound => inbound.clone(),
                            Role::Submission => submission.clone(),
                        };
                        let accept =
                            moxide_tokio::serve::accept_loop(l, b.security, acceptor.clone(), make);
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

#[test]
fn smtp_transcripts_over_tokio() {
    let transcripts = moxide_conformance::smtp::smtp_transcripts().unwrap();
    assert!(!transcripts.is_empty(), "no transcripts found");
    let results = smtp_loopback::run_all(&transcripts, start);
    let failed = moxide_conformance::report("smtp tokio", &results);
    assert!(
        failed.is_empty(),
        "failed transcripts:\n{}",
        failed.join("\n")
    );
}

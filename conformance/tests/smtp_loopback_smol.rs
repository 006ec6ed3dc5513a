//! The SMTP transcripts over real TCP (STARTTLS) and TLS (submissions)
//! against the smol runtime: a fresh localserve (library set-up, smol
//! accept loops on a thread) in a temporary directory for every
//! transcript.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use moxide::listen::Security;
use moxide::localserve::{self, Options, Prepared};
use moxide::serve;
use moxide_conformance::smtp_loopback::{self, SmtpServer};
use moxide_engine::smtp::Role;

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
    let ex = Arc::new(smol::Executor::new());
    let acceptor = futures_rustls::TlsAcceptor::from(prepared.tls.clone());
    let inbound = Arc::new(prepared.smtp_factory(Role::Inbound));
    let submission = Arc::new(prepared.smtp_factory(Role::Submission));
    let mut tasks = Vec::new();
    for b in std::mem::take(&mut prepared.smtp_listeners) {
        let l = serve::async_listener(b.listener).map_err(|e| e.to_string())?;
        let make = match b.role {
            Role::Inbound => inbound.clone(),
            Role::Submission => submission.clone(),
        };
        tasks.push(ex.spawn(serve::accept_loop(
            ex.clone(),
            l,
            b.security,
            acceptor.clone(),
            make,
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

#[test]
fn smtp_transcripts_over_smol() {
    let transcripts = moxide_conformance::smtp::smtp_transcripts().unwrap();
    assert!(!transcripts.is_empty(), "no transcripts found");
    let results = smtp_loopback::run_all(&transcripts, start);
    let failed = moxide_conformance::report("smtp smol", &results);
    assert!(
        failed.is_empty(),
        "failed transcripts:\n{}",
        failed.join("\n")
    );
}

//! The IMAP transcripts over real TCP (STARTTLS) and TLS (IMAPS) against
//! the smol runtime: a fresh localserve (library set-up, smol accept loops on a thread) in a temporary directory
//! for every transcript.

#[path = "common/runtimes.rs"]
mod runtimes;

use std::sync::Arc;

use moxide::listen::Security;
use moxide_conformance::loopback::{self, Mode, Server};
use runtimes::{Listener, Running, find, prepare, serve_smol};

fn start() -> Result<(Server, Running), String> {
    let (mut prepared, dir) = prepare()?;
    let on = |s: Security| {
        let what = format!("{s:?}");
        find(
            &prepared.listeners,
            move |b| (b.security == s).then_some(&b.listener),
            &what,
        )
    };
    let server = Server {
        imap: on(Security::StartTls)?,
        imaps: on(Security::Implicit)?,
    };
    let make = Arc::new(prepared.session_factory());
    let listeners = std::mem::take(&mut prepared.listeners)
        .into_iter()
        .map(|b| Listener {
            listener: b.listener,
            addr: b.addr,
            security: b.security,
            make: make.clone(),
        })
        .collect();
    Ok((server, serve_smol(prepared, dir, listeners)?))
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

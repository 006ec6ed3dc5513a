//! The SMTP transcripts over real TCP (STARTTLS) and TLS (submissions)
//! against the smol runtime: a fresh localserve (library set-up, smol accept loops on a thread) in a temporary
//! directory for every transcript.

#[path = "common/runtimes.rs"]
mod runtimes;

use std::sync::Arc;

use moxide::listen::Security;
use moxide_conformance::smtp_loopback::{self, SmtpServer};
use moxide_engine::smtp::Role;
use runtimes::{Listener, Running, find, prepare, serve_smol};

fn start() -> Result<(SmtpServer, Running), String> {
    let (mut prepared, dir) = prepare()?;
    let on = |role: Role, s: Security| {
        let what = format!("{role:?} {s:?}");
        find(
            &prepared.smtp_listeners,
            move |b| (b.role == role && b.security == s).then_some(&b.listener),
            &what,
        )
    };
    let server = SmtpServer {
        smtp: on(Role::Inbound, Security::StartTls)?,
        submission: on(Role::Submission, Security::StartTls)?,
        submissions: on(Role::Submission, Security::Implicit)?,
        store: prepared.store.clone(),
    };
    let inbound = Arc::new(prepared.smtp_factory(Role::Inbound));
    let submission = Arc::new(prepared.smtp_factory(Role::Submission));
    let listeners = std::mem::take(&mut prepared.smtp_listeners)
        .into_iter()
        .map(|b| Listener {
            listener: b.listener,
            addr: b.addr,
            security: b.security,
            make: match b.role {
                Role::Inbound => inbound.clone(),
                Role::Submission => submission.clone(),
            },
        })
        .collect();
    Ok((server, serve_smol(prepared, dir, listeners)?))
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

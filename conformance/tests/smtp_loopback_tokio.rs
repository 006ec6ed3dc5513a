//! The SMTP transcripts over real TCP (STARTTLS) and TLS (submissions)
//! against the tokio runtime: a fresh localserve (library set-up, tokio accept loops on a current-thread runtime in a thread) in a temporary
//! directory for every transcript.

#[path = "common/runtimes.rs"]
mod runtimes;

use runtimes::{Tokio, run_smtp};

#[test]
fn smtp_transcripts_over_tokio() {
    run_smtp::<Tokio>();
}

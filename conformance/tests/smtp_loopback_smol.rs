//! The SMTP transcripts over real TCP (STARTTLS) and TLS (submissions)
//! against the smol runtime: a fresh localserve (library set-up, smol accept loops on a thread) in a temporary
//! directory for every transcript.

#[path = "common/runtimes.rs"]
mod runtimes;

use runtimes::{Smol, run_smtp};

#[test]
fn smtp_transcripts_over_smol() {
    run_smtp::<Smol>();
}

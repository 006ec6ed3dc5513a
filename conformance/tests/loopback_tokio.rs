//! The IMAP transcripts over real TCP (STARTTLS) and TLS (IMAPS) against
//! the tokio runtime: a fresh localserve (library set-up, tokio accept loops on a current-thread runtime in a thread) in a temporary directory
//! for every transcript.

#[path = "common/runtimes.rs"]
mod runtimes;

use moxide_conformance::loopback::Mode;
use runtimes::{Tokio, run_imap};

#[test]
fn imap_transcripts_over_starttls() {
    run_imap::<Tokio>(Mode::StartTls, "starttls");
}

#[test]
fn imap_transcripts_over_imaps() {
    run_imap::<Tokio>(Mode::Imaps, "imaps");
}

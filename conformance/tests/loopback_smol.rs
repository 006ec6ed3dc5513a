//! The IMAP transcripts over real TCP (STARTTLS) and TLS (IMAPS) against
//! the smol runtime: a fresh localserve (library set-up, smol accept loops on a thread) in a temporary directory
//! for every transcript.

#[path = "common/runtimes.rs"]
mod runtimes;

use moxide_conformance::loopback::Mode;
use runtimes::{Smol, run_imap};

#[test]
fn imap_transcripts_over_starttls() {
    run_imap::<Smol>(Mode::StartTls, "starttls");
}

#[test]
fn imap_transcripts_over_imaps() {
    run_imap::<Smol>(Mode::Imaps, "imaps");
}

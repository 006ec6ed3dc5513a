//! `moxide localserve` end to end: the binary in a temporary directory on
//! unusual loopback ports, driven by Python's imaplib (IMAPS and STARTTLS),
//! `openssl s_client` when installed, restarts, a taken port and SIGINT.
//! The client tests skip, saying so, only when python3 is missing.

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::{BIN, run_moxide};

include!("cases/localserve.rs");

#[test]
fn version_prints_the_package_version() {
    let out = run_moxide(["version"], b"");
    assert!(out.success());
    assert_eq!(
        out.stdout,
        format!("moxide {}\n", env!("CARGO_PKG_VERSION"))
    );
}

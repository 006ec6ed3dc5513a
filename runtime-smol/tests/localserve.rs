//! `moxide localserve` end to end: the binary in a temporary directory on
//! unusual loopback ports, driven by Python's imaplib (IMAPS and STARTTLS),
//! `openssl s_client` when installed, restarts, a taken port and SIGINT.
//! The client tests skip, saying so, only when python3 is missing.

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

include!("cases/localserve.rs");

#[test]
fn version_prints_the_package_version() {
    let out = Command::new(BIN).arg("version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("moxide {}\n", env!("CARGO_PKG_VERSION"))
    );
}

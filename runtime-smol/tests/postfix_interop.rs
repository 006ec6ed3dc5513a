//! Interop with Postfix (the Debian package) as a foreign MTA on loopback
//! (issue 7): a private Postfix instance (tests/common/postfix.rs) relays
//! a message into `moxide localserve` over mandatory STARTTLS, and the
//! message is read back over IMAPS with Python's imaplib, byte for byte.
//!
//! Needs postfix, root (Postfix's master) and python3; skips, saying so,
//! without them, and fails under `CI=true`.

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;
#[path = "common/postfix.rs"]
mod postfix;

include!("cases/postfix_interop.rs");

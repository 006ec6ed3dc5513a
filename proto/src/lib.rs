//! moxide protocol core: codecs and sans-IO state machines.
//!
//! Nothing in this crate performs I/O, reads a clock or spawns work: bytes and
//! the current time come in as arguments, bytes and requests go out through
//! `poll_*` methods (see `docs/DESIGN.md`, "The Conn contract").
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod authres;
pub mod conn;
pub mod dane;
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod imap;
pub mod iprev;
pub mod message;
pub mod mtasts;
pub mod sasl;
pub mod secret;
pub mod smtp;
pub mod spf;
pub mod tls_key;
pub mod tlsrpt;

//! SCRAM-SHA-256-PLUS with tls-exporter channel binding (RFC 5802, RFC
//! 9266) against `moxide localserve`, over IMAPS and after STARTTLS: the
//! binding the runtime hands the session must be the one the client's TLS
//! stack exports, and a wrong binding must fail.

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

include!("cases/scram_plus.rs");

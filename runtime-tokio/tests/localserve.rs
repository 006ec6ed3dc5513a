//! `moxide-tokio localserve` end to end: the same cases as the smol
//! binary's (Python imaplib over IMAPS and STARTTLS, `openssl s_client`,
//! restart, taken port, SIGINT), included from runtime-smol/tests.

const BIN: &str = env!("CARGO_BIN_EXE_moxide-tokio");

#[path = "../../runtime-smol/tests/common/mod.rs"]
mod common;

include!("../../runtime-smol/tests/cases/localserve.rs");

//! `moxide-tokio localserve` SMTP end to end: the same cases as the smol
//! binary's, included from runtime-smol/tests.

const BIN: &str = env!("CARGO_BIN_EXE_moxide-tokio");

#[path = "../../runtime-smol/tests/common/mod.rs"]
mod common;

include!("../../runtime-smol/tests/cases/smtp.rs");

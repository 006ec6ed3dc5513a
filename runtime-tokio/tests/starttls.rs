//! STARTTLS over `moxide-tokio localserve`: the same cases as the smol
//! binary's.

const BIN: &str = env!("CARGO_BIN_EXE_moxide-tokio");

#[path = "../../runtime-smol/tests/common/mod.rs"]
mod common;

include!("../../runtime-smol/tests/cases/starttls.rs");

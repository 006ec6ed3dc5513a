//! Interop with Postfix over `moxide-tokio localserve`: the same cases as
//! the smol binary's (runtime-smol/tests/cases/postfix_interop.rs).

const BIN: &str = env!("CARGO_BIN_EXE_moxide-tokio");

#[path = "../../runtime-smol/tests/common/mod.rs"]
mod common;
#[path = "../../runtime-smol/tests/common/postfix.rs"]
mod postfix;

include!("../../runtime-smol/tests/cases/postfix_interop.rs");

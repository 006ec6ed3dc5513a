//! TLS client-certificate login against `moxide-tokio localserve` on
//! submission: the same cases as the smol binary's, included from
//! runtime-smol/tests.
#![allow(dead_code)] // helpers of the IMAP cases

const BIN: &str = env!("CARGO_BIN_EXE_moxide-tokio");

#[path = "../../runtime-smol/tests/common/mod.rs"]
mod common;

include!("../../runtime-smol/tests/cases/client_cert_common.rs");
include!("../../runtime-smol/tests/cases/client_cert_submission.rs");

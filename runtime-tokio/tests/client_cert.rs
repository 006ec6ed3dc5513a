//! TLS client-certificate login against `moxide-tokio localserve` over
//! IMAP: the same cases as the smol binary's, included from
//! runtime-smol/tests.

const BIN: &str = env!("CARGO_BIN_EXE_moxide-tokio");

#[path = "../../runtime-smol/tests/common/mod.rs"]
mod common;

include!("../../runtime-smol/tests/cases/client_cert_common.rs");
include!("../../runtime-smol/tests/cases/client_cert.rs");

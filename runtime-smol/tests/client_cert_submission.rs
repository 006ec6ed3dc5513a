//! TLS client-certificate login against `moxide localserve` on
//! submission: no AUTH needed, one AUTH for the same account, 538 without
//! TLS (cases shared with moxide-tokio).
#![allow(dead_code)] // helpers of the IMAP cases

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

include!("cases/client_cert_common.rs");
include!("cases/client_cert_submission.rs");

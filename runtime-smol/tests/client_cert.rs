//! TLS client-certificate login against `moxide localserve` over IMAP:
//! PREAUTH, AUTHENTICATE EXTERNAL, password logins on a certificate
//! connection (cases shared with moxide-tokio).

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

include!("cases/client_cert_common.rs");
include!("cases/client_cert.rs");

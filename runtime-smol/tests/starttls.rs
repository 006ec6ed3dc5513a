//! STARTTLS over `moxide localserve`: the runtime keeps no plaintext input
//! across the TLS upgrade.

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

include!("cases/starttls.rs");

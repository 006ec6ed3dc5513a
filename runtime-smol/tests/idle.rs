//! IDLE over `moxide localserve`: a change committed by one connection
//! wakes another connection's task (the storage notify hook).

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

include!("cases/idle.rs");

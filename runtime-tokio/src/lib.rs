//! moxide on tokio: the listeners and drive loop of the `moxide-tokio`
//! binary. The runtime-independent set-up (`localserve`, `tls`, `listen`,
//! `session`) comes from the `moxide` crate.

pub mod drive;
pub mod idle;
#[cfg(test)]
#[path = "../../runtime-smol/src/line_conn.rs"]
mod line_conn;
pub mod outbound;
pub mod queue_runner;
pub mod serve;
#[cfg(test)]
mod serve_tests;

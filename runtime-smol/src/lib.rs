//! moxide on smol: the listeners, TLS and drive loop of the `moxide`
//! binary, and the runtime-independent parts the tokio binary shares
//! (`localserve` set-up, `tls`, `listen`, `session`).

#[cfg(test)]
extern crate self as moxide;

pub mod blocking_pool;
pub mod cli_backup;
pub mod cli_dane;
pub mod cli_dkim;
pub mod cli_dmarc;
pub mod cli_dns;
pub mod cli_mtasts;
pub mod cli_queue;
pub mod cli_spf;
pub mod cli_verifydata;
pub mod config_cli;
pub mod ctl;
pub mod dns;
pub mod drive;
pub mod drive_policy;
pub mod host_slots;
pub mod https;
pub mod idle;
#[cfg(test)]
mod line_conn;
pub mod listen;
pub mod localserve;
pub mod outbound;
pub mod queue_drive;
pub mod queue_runner;
pub mod sendmail;
pub mod serve;
pub mod serve_cmd;
#[cfg(test)]
mod serve_tests;
pub mod session;
pub mod tls;
pub mod tls_client;

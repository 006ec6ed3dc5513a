//! moxide engine: application logic shared by both runtimes.
//!
//! [`imap::Session`] is the IMAP session: it executes every command the
//! protocol core ([`moxide_proto::imap::server::ServerConn`]) parses against
//! the storage ([`moxide_storage`]), and is itself a sans-IO
//! [`moxide_proto::conn::Conn`] that a runtime drives.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
pub mod config;
pub mod delivery;
pub mod imap;
pub mod mtasts;
pub mod queue;
mod sasl_key;
pub mod smtp;

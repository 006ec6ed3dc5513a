//! IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) wire layer with the
//! extensions moxide advertises.
//!
//! - [`core`]: shared syntax: tags, atoms, strings, numbers, sequence sets,
//!   flags, dates, mailbox names, and their encoders.
//! - [`utf7`]: modified UTF-7 mailbox names (RFC 3501 5.1.3) for rev1 clients.
//! - [`cmd`]: one file per client command: its types, parser and encoder.
//! - [`resp`]: server responses: types, encoder and parser.
//! - [`frame`]: splitting a client byte stream into commands and literals.
//! - [`server`]: `ServerConn`, the sans-IO server connection.

pub mod cmd;
pub mod core;
pub mod frame;
pub mod resp;
pub mod server;
pub mod utf7;

//! SMTP server side (RFC 5321) with the extensions moxide offers:
//! PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING and
//! BINARYMIME, STARTTLS, REQUIRETLS, LIMITS and AUTH (submission).
//!
//! - [`address`]: paths, mailboxes, domains, address literals.
//! - [`command`]: commands and their parameters: types and parser.
//! - [`reply`]: replies with enhanced status codes, standard replies.
//! - [`data`]: DATA dot-unstuffing and end detection (smuggling-safe).
//! - [`server`]: [`SmtpServer`], the sans-IO server connection.

pub mod address;
pub mod client;
pub mod command;
pub mod data;
mod ehlo;
pub mod params;
pub mod reply;
pub mod server;

pub use address::{AddressLiteral, ForwardPath, Host, Mailbox, ReversePath};
pub use command::{Body, Command, CommandError, MailParams, Notify, Orcpt, RcptParams, Ret};
pub use reply::Reply;
pub use server::{AbortReason, Awaiting, SmtpConfig, SmtpEvent, SmtpServer};

//! The SMTP client side (RFC 5321) for delivering one message to one server:
//! [`ClientConn`], a sans-IO connection that greets, negotiates TLS
//! (RFC 3207), authenticates (RFC 4954, for smarthosts), sends the
//! transaction with PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME
//! (RFC 6152), SMTPUTF8 (RFC 6531), CHUNKING/BINARYMIME (RFC 3030) and
//! REQUIRETLS (RFC 8689), and reports a result per recipient.
//!
//! - [`reply_reader`]: incremental reply framing with limits.
//! - [`extensions`]: the EHLO capability list.
//! - [`sasl`]: the client side of the SASL mechanisms.
//! - [`data`]: DATA dot-stuffing.
//! - [`conn`]: the state machine.

mod conn;
mod data;
mod extensions;
mod reply_reader;
mod sasl;
mod transaction;

pub use conn::{ClientConn, DATA_PIECE};
pub use data::DotStuffer;
pub use extensions::Extensions;
pub use reply_reader::{MAX_REPLY_LINE, MAX_REPLY_LINES, ReplyError, ReplyReader};
pub use sasl::scram_client_proof;

use std::time::Duration;

use super::reply::Reply;
use crate::conn::TlsInfo;
use crate::dane::DanePolicy;
use crate::sasl::Mechanism;
use crate::secret::Secret;

pub use super::params::Body;
pub use crate::conn::TlsFailure;

/// How one connection is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The name we greet with in EHLO/HELO (our host name).
    pub ehlo_name: String,
    /// Whether and how TLS is used.
    pub tls: TlsPolicy,
    /// TLS from the start, before the greeting (submissions, port 465,
    /// RFC 8314). The runtime is asked for the handshake first.
    pub implicit_tls: bool,
    /// Authenticate before the transaction (smarthost submission).
    pub auth: Option<ClientAuth>,
    /// How long each step may take.
    pub timeouts: Timeouts,
}

/// Whether STARTTLS is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTls {
    /// Never, even when offered (after an earlier handshake failure).
    Never,
    /// When the server offers it; otherwise the message goes in plaintext.
    Opportunistic,
    /// Always: without STARTTLS offered, or when it or the handshake fails,
    /// the attempt fails and the message is never sent in plaintext.
    Required,
}

/// How the runtime verifies the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// Any certificate (opportunistic TLS); the handshake signature is
    /// still verified.
    Any,
    /// WebPKI: a chain to a trusted root, valid for `server_name`.
    Pkix { server_name: String },
    /// DANE (RFC 7672) with the TLSA records of the host; `server_name` is
    /// the SNI.
    Dane {
        policy: DanePolicy,
        server_name: String,
    },
}

/// The TLS policy of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPolicy {
    pub starttls: StartTls,
    pub verify: Verify,
}

/// Credentials for AUTH (RFC 4954).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    pub username: String,
    pub password: Secret<String>,
    /// Mechanisms we may use. The strongest one the server offers is taken
    /// (order of [`Mechanism::ALL`]); PLAIN and LOGIN only over TLS, the
    /// -PLUS variants only with a TLS exporter. EXTERNAL is never used.
    pub mechanisms: Vec<Mechanism>,
}

/// The message's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path; `""` is the null path `<>` (DSNs).
    pub mail_from: String,
    /// Forward paths, in the order results are reported.
    pub recipients: Vec<String>,
    /// The message needs SMTPUTF8 (UTF-8 in headers). Non-ASCII addresses
    /// need it too and set it implicitly.
    pub smtputf8: bool,
    /// The body type: 8-bit data needs 8BITMIME, binary data BINARYMIME and
    /// CHUNKING.
    pub body: Body,
    /// REQUIRETLS (RFC 8689): only over TLS to a server that offers it.
    pub requiretls: bool,
}

/// Timeouts of RFC 5321 4.5.3.2, and ours for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// The 220 greeting: 5 minutes (4.5.3.2.1).
    pub greeting: Duration,
    /// EHLO, HELO, STARTTLS, AUTH steps: 5 minutes.
    pub command: Duration,
    /// MAIL: 5 minutes (4.5.3.2.2).
    pub mail: Duration,
    /// Each RCPT: 5 minutes (4.5.3.2.3).
    pub rcpt: Duration,
    /// The 354 to DATA: 2 minutes (4.5.3.2.4).
    pub data_init: Duration,
    /// No progress writing message data: 3 minutes (4.5.3.2.5). Checked
    /// by the output the runtime takes; the runtime SHOULD also give up on
    /// a write that makes no progress for this long.
    pub data_block: Duration,
    /// The reply after the end of the data: 10 minutes (4.5.3.2.6).
    pub data_end: Duration,
    /// The reply to QUIT. Short: the message is already handled.
    pub quit: Duration,
    /// The TLS handshake; applied by the runtime.
    pub tls_handshake: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MIN: u64 = 60;
        Timeouts {
            greeting: Duration::from_secs(5 * MIN),
            command: Duration::from_secs(5 * MIN),
            mail: Duration::from_secs(5 * MIN),
            rcpt: Duration::from_secs(5 * MIN),
            data_init: Duration::from_secs(2 * MIN),
            data_block: Duration::from_secs(3 * MIN),
            data_end: Duration::from_secs(10 * MIN),
            quit: Duration::from_secs(10),
            tls_handshake: Duration::from_secs(MIN),
        }
    }
}

/// The result of one connection, from [`ClientConn::outcome`] once it has
/// closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Every recipient of the envelope, in order, with its result.
    pub recipients: Vec<(String, RcptResult)>,
    /// What ended the attempt early, if anything. Recipients without a
    /// final result are [`RcptResult::NotAttempted`]; this error says why.
    pub error: Option<ClientError>,
    /// The TLS session, when TLS was established.
    pub tls: Option<TlsInfo>,
    /// The server's greeting.
    pub greeting: Option<Reply>,
    /// The extension lines of the last EHLO reply (keyword and parameters
    /// as sent, without the first line).
    pub extensions: Vec<String>,
}

impl Delivery {
    /// Whether every recipient got the message.
    pub fn all_delivered(&self) -> bool {
        self.error.is_none()
            && self
                .recipients
                .iter()
                .all(|(_, r)| matches!(r, RcptResult::Delivered(_)))
    }
}

/// What happened for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptResult {
    /// The server took the message for this recipient; the reply after the
    /// data.
    Delivered(Reply),
    /// The server refused the recipient, or the message after accepting the
    /// recipient. `permanent`: 5xx, except 552 to RCPT, which is temporary
    /// (RFC 5321 4.5.3.1.10).
    Failed { reply: Reply, permanent: bool },
    /// No final answer for this recipient: the attempt stopped before (see
    /// [`Delivery::error`]).
    NotAttempted,
}

/// The step an attempt failed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The TCP connection (set by the runtime, [`ClientConn::connect_failed`]).
    Connect,
    Greeting,
    Ehlo,
    StartTls,
    /// The TLS handshake.
    Tls,
    Auth,
    /// MAIL, or the checks before it (size, extensions the message needs).
    Mail,
    Rcpt,
    /// The DATA command.
    Data,
    /// The reply after the message data (DATA or BDAT LAST).
    DataEnd,
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub stage: Stage,
    /// Retrying cannot help: a 5xx reply, or a local decision such as a
    /// message over the server's SIZE limit.
    pub permanent: bool,
    /// The server's reply; for a local decision the status it is reported
    /// as (e.g. `552 5.3.4` for a message over the SIZE limit), its text
    /// starting with `local:`.
    pub reply: Option<Reply>,
    /// What went wrong, for logs and DSNs.
    pub detail: String,
    /// For TLS failures: the RFC 8460 result.
    pub tls_failure: Option<TlsFailure>,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.permanent {
            "permanent"
        } else {
            "temporary"
        };
        write!(f, "{kind} error at {:?}: {}", self.stage, self.detail)
    }
}

impl std::error::Error for ClientError {}

//! The `Conn` contract shared by every sans-IO connection (IMAP server, SMTP
//! server, SMTP client). See `docs/DESIGN.md`.
//!
//! After any `handle_*` call the caller MUST drain [`Conn::poll_transmit`],
//! then [`Conn::poll_action`] until it returns `None`, then read
//! [`Conn::poll_timeout`]. Input may be split at any byte; the result is the
//! same as for the whole input. After a fatal error every call is a no-op.

use std::fmt;
use std::time::{Duration, Instant};

/// Identifies a request the connection made, so its answer can be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NeedId(pub u64);

/// Something the connection needs from the runtime that involves the network.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Need {
    /// Not used by the IMAP server.
    None,
    /// A DNS lookup, answered with [`Answer::Dns`]. The runtime passes it to
    /// its stub resolver (shared cache, its own deadline).
    Dns(crate::dns::Query),
    /// An HTTPS GET, answered with [`Answer::Https`] (MTA-STS policy fetch,
    /// RFC 8461 3.3).
    Https(HttpsRequest),
    /// A TLS handshake as client on the connection's socket (SMTP client:
    /// after `220` to STARTTLS, or before the greeting for implicit TLS),
    /// answered with [`Answer::TlsHandshake`]. Everything drained from
    /// `poll_transmit` before this request MUST be sent first; the
    /// connection wants no input until the answer. The runtime verifies the
    /// server as the connection's TLS policy says.
    TlsHandshake,
}

/// The runtime's answer to a [`Need`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// The empty answer to [`Need::None`].
    None,
    /// The outcome of a [`Need::Dns`].
    Dns(crate::dns::Lookup),
    /// The outcome of a [`Need::Https`].
    Https(Result<HttpsResponse, HttpsError>),
    /// The outcome of a [`Need::TlsHandshake`].
    TlsHandshake(Result<TlsInfo, TlsFailure>),
}

/// An established client TLS session, for logs, reports and SCRAM -PLUS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// The protocol version, e.g. `TLSv1_3`.
    pub protocol: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The `tls-exporter` channel binding (RFC 9266), when the session can
    /// export keying material securely.
    pub exporter: Option<crate::secret::Secret<Vec<u8>>>,
}

/// A failed client TLS handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFailure {
    /// The RFC 8460 4.3 result type, e.g. `certificate-not-trusted`,
    /// `tlsa-invalid`, `validation-failure`.
    pub result_type: String,
    /// What went wrong, for logs and admins.
    pub detail: String,
}

/// An HTTPS GET of `url` (`https://host[:port]/path`). The runtime MUST
/// verify the server's certificate for the URL's host against its trusted
/// roots (PKIX), MUST NOT follow redirects (a 3xx is the response), MUST
/// give up after `timeout` (connecting, TLS, request and body together)
/// and MUST stop reading and fail once the body of a 200 response exceeds
/// `max_body` bytes (the body of any other status is cut at `max_body`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsRequest {
    pub url: String,
    pub max_body: usize,
    pub timeout: Duration,
}

/// The response to an [`HttpsRequest`], whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsResponse {
    pub status: u16,
    /// The `Content-Type` header as sent, if any.
    pub content_type: Option<String>,
    /// At most the request's `max_body` bytes.
    pub body: Vec<u8>,
}

/// Why an [`HttpsRequest`] got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsError {
    pub kind: HttpsErrorKind,
    /// What went wrong, for logs and admins.
    pub detail: String,
}

/// The step at which an [`HttpsRequest`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpsErrorKind {
    /// The URL is not `https://host[:port]/path`.
    Url,
    /// The host name did not resolve to an address.
    Dns,
    /// No TCP connection to any address.
    Connect,
    /// The server's certificate is not valid for the host (PKIX).
    Certificate,
    /// The TLS handshake failed otherwise.
    Tls,
    /// The HTTP exchange failed (malformed response, connection closed).
    Http,
    /// The body is larger than `max_body`.
    TooLarge,
    /// The request took longer than its `timeout`.
    Timeout,
}

impl HttpsError {
    pub fn new(kind: HttpsErrorKind, detail: impl Into<String>) -> HttpsError {
        HttpsError {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for HttpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for HttpsError {}

/// What the connection asks the runtime to do besides sending bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Perform a network request and answer it through `handle_answer`.
    Need(NeedId, Need),
    /// Send everything already drained from `poll_transmit`, then start the
    /// TLS handshake as server. Input buffered before the switch has been
    /// discarded by the connection (STARTTLS injection, RFC 3207 / RFC 9051 6.2.1).
    StartTls,
    /// Send everything already drained, then close the connection.
    Close,
}

/// A sans-IO connection. Time comes in as `now`; the connection never reads a
/// clock and never blocks.
pub trait Conn {
    /// Bytes received from the peer.
    fn handle_input(&mut self, now: Instant, bytes: &[u8]);
    /// The peer closed its sending side.
    fn handle_eof(&mut self, now: Instant);
    /// The deadline returned by `poll_timeout` passed. A spurious call is a no-op.
    fn handle_timeout(&mut self, now: Instant);
    /// The answer to an earlier [`Action::Need`].
    fn handle_answer(&mut self, now: Instant, id: NeedId, answer: Answer);
    /// Appends bytes to send to `out`.
    fn poll_transmit(&mut self, out: &mut Vec<u8>);
    /// The next action for the runtime, if any.
    fn poll_action(&mut self) -> Option<Action>;
    /// When `handle_timeout` must be called next, if ever.
    fn poll_timeout(&self) -> Option<Instant>;
    /// False when the connection wants no more input for now (backpressure).
    fn wants_read(&self) -> bool;
}

//! Configuration of a server connection, with the defaults of RFC 5321
//! 4.5.3 and mox.

use std::time::Duration;

/// Configuration of one server connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Our host name, in the greeting and the EHLO reply.
    pub hostname: String,
    /// A submission port: AUTH is offered and required before MAIL.
    pub submission: bool,
    /// The connection runs over TLS from the start (implicit TLS).
    pub tls: bool,
    /// STARTTLS can be offered (a certificate is configured).
    pub tls_available: bool,
    /// Channel-binding data is available once TLS runs, so -PLUS SASL
    /// mechanisms are offered over TLS.
    pub channel_binding: bool,
    /// Largest message in octets (SIZE, RFC 1870). Default 100 MiB.
    pub max_message_size: u64,
    /// Most recipients per transaction (LIMITS RCPTMAX, RFC 9422). Default 1000.
    pub max_recipients: u32,
    /// Offer AUTH without TLS (localserve on loopback only).
    pub allow_plain_auth_without_tls: bool,
    /// Errors before `421` and close. Default 10.
    pub max_errors: u32,
    /// Buffered pipelined input above which `wants_read` turns false while
    /// the caller works on an event. Default 64 KiB.
    pub max_backlog: usize,
    /// Waiting for a command: 5 minutes (RFC 5321 4.5.3.2.7).
    pub timeout_command: Duration,
    /// Waiting for the next data block: 3 minutes (RFC 5321 4.5.3.2.5).
    pub timeout_data: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            hostname: "localhost".to_string(),
            submission: false,
            tls: false,
            tls_available: false,
            channel_binding: true,
            max_message_size: 100 * 1024 * 1024,
            max_recipients: 1000,
            allow_plain_auth_without_tls: false,
            max_errors: 10,
            max_backlog: 64 * 1024,
            timeout_command: Duration::from_secs(5 * 60),
            timeout_data: Duration::from_secs(3 * 60),
        }
    }
}

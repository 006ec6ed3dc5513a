//! What a runtime's drive loop needs from a connection besides
//! [`Conn`]: the change-notification hook and the STARTTLS hand-over.

use std::sync::Arc;
use std::time::Instant;

use moxide_proto::conn::Conn;

/// A sans-IO connection a runtime can drive.
pub trait Session: Conn + Send + 'static {
    /// Registers the callback that wakes the connection's task when storage
    /// reports a change (the callback only wakes; see `handle_changes`).
    fn set_wake(&mut self, wake: Arc<dyn Fn() + Send + Sync>);
    /// Called on the connection's task after the wake callback fired.
    fn handle_changes(&mut self, now: Instant);
    /// The TLS handshake after `Action::StartTls` completed, with the
    /// channel binding of the new TLS session and the fingerprint of the
    /// client certificate's key (`None` without a certificate).
    fn tls_established(&mut self, tls_exporter: Option<Vec<u8>>, client_key: Option<String>);
}

impl Session for moxide_engine::imap::Session {
    fn set_wake(&mut self, wake: Arc<dyn Fn() + Send + Sync>) {
        self.set_notify(wake);
    }
    fn handle_changes(&mut self, now: Instant) {
        moxide_engine::imap::Session::handle_changes(self, now);
    }
    fn tls_established(&mut self, tls_exporter: Option<Vec<u8>>, client_key: Option<String>) {
        moxide_engine::imap::Session::tls_established(self, tls_exporter, client_key);
    }
}

/// SMTP sessions get no change notifications: the wake hook is a no-op.
impl Session for moxide_engine::smtp::SmtpSession {
    fn set_wake(&mut self, _wake: Arc<dyn Fn() + Send + Sync>) {}
    fn handle_changes(&mut self, _now: Instant) {}
    fn tls_established(&mut self, tls_exporter: Option<Vec<u8>>, client_key: Option<String>) {
        moxide_engine::smtp::SmtpSession::tls_established(self, tls_exporter, client_key);
    }
}

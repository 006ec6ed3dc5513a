//! The SMTP test client shared by the engine's SMTP tests: one
//! [`SmtpSession`] fed text at a fixed instant, its output returned as text
//! after every action it asks for has been taken.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Instant;

use moxide_engine::smtp::{NonceSource, PeerInfo, SmtpConfig, SmtpSession, WallClock};
use moxide_proto::conn::Conn;
use moxide_storage::Store;

pub struct SmtpClient {
    pub s: SmtpSession,
    pub now: Instant,
}

impl SmtpClient {
    /// A session for `peer` whose wall clock reads `unix_at` at `start`;
    /// nothing is sent yet (the first `send("")` returns the greeting).
    pub fn new(
        cfg: Arc<SmtpConfig>,
        store: Arc<Store>,
        peer: PeerInfo,
        unix_at: i64,
        start: Instant,
        nonce: NonceSource,
    ) -> SmtpClient {
        let s = SmtpSession::new(
            cfg,
            store,
            peer,
            WallClock {
                unix_at,
                instant_at: start,
            },
            nonce,
        );
        SmtpClient { s, now: start }
    }

    /// Feeds `input`, takes every action the session asks for, and returns
    /// what it wrote.
    pub fn send(&mut self, input: &str) -> String {
        self.s.handle_input(self.now, input.as_bytes());
        let mut out = Vec::new();
        self.s.poll_transmit(&mut out);
        while self.s.poll_action().is_some() {}
        String::from_utf8(out).unwrap()
    }
}

/// A peer without TLS or a client key.
pub fn plain_peer(ip: &str) -> PeerInfo {
    PeerInfo {
        ip: ip.parse().unwrap(),
        tls: false,
        tls_exporter: None,
        client_key: None,
    }
}

//! Test harness for `ClientConn`: scripted server bytes in, the exact bytes
//! the client sends out. Included by the `smtp_client*` test files with
//! `#[path]`.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId, TlsFailure, TlsInfo};
use moxide_proto::secret::Secret;
use moxide_proto::smtp::client::{
    Body, ClientConfig, ClientConn, Delivery, Envelope, StartTls, Timeouts, TlsPolicy, Verify,
};

/// A client and the clock it runs on.
pub struct Client {
    pub c: ClientConn,
    pub now: Instant,
    /// Actions seen, in order.
    pub actions: Vec<Action>,
}

pub fn config(starttls: StartTls) -> ClientConfig {
    ClientConfig {
        ehlo_name: "client.example".to_string(),
        tls: TlsPolicy {
            starttls,
            verify: Verify::Any,
        },
        implicit_tls: false,
        auth: None,
        timeouts: Timeouts::default(),
    }
}

pub fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope {
        mail_from: from.to_string(),
        recipients: to.iter().map(|s| s.to_string()).collect(),
        smtputf8: false,
        body: Body::SevenBit,
        requiretls: false,
    }
}

pub const MESSAGE: &[u8] = b"Subject: hi\r\n\r\n.dot line\r\nbye\r\n";

pub fn tls_info() -> TlsInfo {
    TlsInfo {
        protocol: "TLSv1_3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
        exporter: Some(Secret::new(vec![7u8; 32])),
    }
}

impl Client {
    pub fn new(cfg: ClientConfig, env: Envelope, message: &[u8]) -> Client {
        let now = Instant::now();
        let mut c = ClientConn::new(now, cfg, env, Arc::from(message));
        c.set_sasl_nonce("rOprNGfwEbeRWgbNEkqO".into());
        let mut client = Client {
            c,
            now,
            actions: Vec::new(),
        };
        client.drain();
        client
    }

    /// Everything the client sends now (data pieces included), as text.
    pub fn drain(&mut self) -> String {
        let mut out = Vec::new();
        loop {
            let before = out.len();
            self.c.poll_transmit(&mut out);
            if out.len() == before {
                break;
            }
        }
        while let Some(a) = self.c.poll_action() {
            self.actions.push(a);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Server bytes in (`\n` turned into CRLF), client bytes out.
    pub fn server(&mut self, s: &str) -> String {
        self.raw(s.replace('\n', "\r\n").as_bytes())
    }

    pub fn raw(&mut self, bytes: &[u8]) -> String {
        self.c.handle_input(self.now, bytes);
        self.drain()
    }

    pub fn eof(&mut self) -> String {
        self.c.handle_eof(self.now);
        self.drain()
    }

    /// Moves the clock and fires the timer if due.
    pub fn advance(&mut self, d: Duration) -> String {
        self.now += d;
        if self.c.poll_timeout().is_some_and(|t| t <= self.now) {
            self.c.handle_timeout(self.now);
        }
        self.drain()
    }

    /// The id of the pending handshake request; panics if there is none.
    pub fn handshake_id(&self) -> NeedId {
        match self.actions.last() {
            Some(Action::Need(id, Need::TlsHandshake)) => *id,
            other => panic!("no handshake request, last action {other:?}"),
        }
    }

    pub fn handshake(&mut self, result: Result<TlsInfo, TlsFailure>) -> String {
        let id = self.handshake_id();
        self.c
            .handle_answer(self.now, id, Answer::TlsHandshake(result));
        self.drain()
    }

    pub fn closed(&self) -> bool {
        self.actions.last() == Some(&Action::Close)
    }

    pub fn outcome(&self) -> &Delivery {
        assert!(self.closed(), "not closed: {:?}", self.actions);
        self.c.outcome().expect("outcome after close")
    }
}

/// An EHLO reply with these extension lines.
pub fn ehlo(ext: &[&str]) -> String {
    let mut lines = vec!["mx.example"];
    lines.extend_from_slice(ext);
    let n = lines.len();
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("250{}{l}\n", if i + 1 == n { ' ' } else { '-' }))
        .collect()
}

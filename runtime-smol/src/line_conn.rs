//! A line-based test connection for the drive loops of both runtimes
//! (compiled only in tests; the tokio crate includes this file).

use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide::session::Session;
use moxide_engine::imap::PeerInfo;
use moxide_proto::conn::{Action, Answer, Conn, NeedId};

/// A line-based connection: greets with `HELLO tls=…`, answers `starttls`,
/// `quit`, `later` (a `TICK` 50 ms later), `poke` (wakes itself from
/// another thread, answered by `CHANGED`), `exporter`, and echoes the rest.
pub struct LineConn {
    peer: PeerInfo,
    input: Vec<u8>,
    out: Vec<u8>,
    actions: Vec<Action>,
    timer: Option<Instant>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
    closed: bool,
}

impl LineConn {
    pub fn new(peer: PeerInfo) -> LineConn {
        let out = format!("HELLO tls={}\r\n", peer.tls).into_bytes();
        LineConn {
            peer,
            input: Vec::new(),
            out,
            actions: Vec::new(),
            timer: None,
            wake: None,
            closed: false,
        }
    }

    fn line(&mut self, now: Instant, line: &str) {
        match line {
            "starttls" => {
                self.out.extend_from_slice(b"OK begin TLS\r\n");
                self.actions.push(Action::StartTls);
                // Input after STARTTLS is discarded (RFC 3207).
                self.input.clear();
            }
            "quit" => {
                self.out.extend_from_slice(b"BYE\r\n");
                self.actions.push(Action::Close);
                self.closed = true;
            }
            "later" => self.timer = Some(now + Duration::from_millis(50)),
            "poke" => {
                let wake = self.wake.clone();
                std::thread::spawn(move || wake.into_iter().for_each(|w| w()));
            }
            "exporter" => {
                let hex: String = self
                    .peer
                    .tls_exporter
                    .iter()
                    .flatten()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                self.out.extend(format!("EXPORTER {hex}\r\n").bytes());
            }
            other => self
                .out
                .extend(format!("ECHO {other} tls={}\r\n", self.peer.tls).bytes()),
        }
    }
}

impl Conn for LineConn {
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        while !self.closed {
            let Some(i) = self.input.iter().position(|&b| b == b'\n') else {
                break;
            };
            let line: Vec<u8> = self.input.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line).trim_end().to_string();
            self.line(now, &line);
            if matches!(self.actions.last(), Some(Action::StartTls)) {
                break;
            }
        }
    }
    fn handle_eof(&mut self, _now: Instant) {
        self.out.extend_from_slice(b"EOF SEEN\r\n");
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.timer.is_some_and(|t| t <= now) {
            self.timer = None;
            self.out.extend_from_slice(b"TICK\r\n");
        }
    }
    fn handle_answer(&mut self, _now: Instant, _id: NeedId, _answer: Answer) {}
    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
    }
    fn poll_action(&mut self) -> Option<Action> {
        (!self.actions.is_empty()).then(|| self.actions.remove(0))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.timer
    }
    fn wants_read(&self) -> bool {
        !self.closed
    }
}

impl Session for LineConn {
    fn set_wake(&mut self, wake: Arc<dyn Fn() + Send + Sync>) {
        self.wake = Some(wake);
    }
    fn handle_changes(&mut self, _now: Instant) {
        self.out.extend_from_slice(b"CHANGED\r\n");
    }
    fn tls_established(&mut self, tls_exporter: Option<Vec<u8>>, client_key: Option<String>) {
        self.peer.tls = true;
        self.peer.tls_exporter = tls_exporter;
        self.peer.client_key = client_key;
    }
}

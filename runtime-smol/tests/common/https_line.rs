//! A line protocol for the drive-loop tests of `Need::Https` (both
//! runtimes): each input line is a URL; the connection asks the runtime to
//! GET it and writes `URL STATUS BODY` or `URL error KIND` per answer.
//! After EOF it closes once every request was answered. Include it with
//! `#[path = ".../common/https_line.rs"] mod https_line;`.
#![allow(dead_code)] // each test crate uses a part

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide::session::Session;
use moxide_proto::conn::{Action, Answer, Conn, HttpsRequest, Need, NeedId};

#[derive(Default)]
pub struct HttpsLine {
    input: Vec<u8>,
    out: Vec<u8>,
    actions: VecDeque<Action>,
    asked: Vec<(NeedId, String)>,
    next: u64,
    eof: bool,
}

impl Conn for HttpsLine {
    fn handle_input(&mut self, _now: Instant, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        while let Some(i) = self.input.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.input.drain(..=i).collect();
            let url = String::from_utf8_lossy(&line).trim().to_string();
            let id = NeedId(self.next);
            self.next += 1;
            self.asked.push((id, url.clone()));
            let req = HttpsRequest {
                url,
                max_body: 1000,
                timeout: Duration::from_secs(10),
            };
            self.actions.push_back(Action::Need(id, Need::Https(req)));
        }
    }
    fn handle_eof(&mut self, _now: Instant) {
        self.eof = true;
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn handle_answer(&mut self, _now: Instant, id: NeedId, answer: Answer) {
        let Some(pos) = self.asked.iter().position(|(i, _)| *i == id) else {
            return;
        };
        let (_, url) = self.asked.remove(pos);
        let text = match answer {
            Answer::Https(Ok(r)) => format!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
            Answer::Https(Err(e)) => format!("error {:?}", e.kind),
            other => format!("unexpected {other:?}"),
        };
        self.out
            .extend_from_slice(format!("{url} {text}\r\n").as_bytes());
    }
    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
    }
    fn poll_action(&mut self) -> Option<Action> {
        if let Some(a) = self.actions.pop_front() {
            return Some(a);
        }
        (self.eof && self.asked.is_empty()).then_some(Action::Close)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn wants_read(&self) -> bool {
        !self.eof
    }
}

impl Session for HttpsLine {
    fn set_wake(&mut self, _wake: Arc<dyn Fn() + Send + Sync>) {}
    fn handle_changes(&mut self, _now: Instant) {}
    fn tls_established(&mut self, _e: Option<Vec<u8>>, _k: Option<String>) {}
}

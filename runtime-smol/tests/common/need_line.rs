//! A line protocol for the drive-loop tests of a connection's `Need`s
//! (both runtimes): each input line is a request that the connection turns
//! into a need with its `ask` function; each answer goes back as the
//! request line, a space and the answer as its `show` function writes it,
//! CRLF. After EOF it closes once every request was answered. Included by
//! `https_line.rs` and the DNS drive test.
#![allow(dead_code)] // each test crate uses a part

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use moxide::session::Session;
use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId};

pub struct NeedLine {
    ask: fn(String) -> Need,
    show: fn(Answer) -> String,
    input: Vec<u8>,
    out: Vec<u8>,
    actions: VecDeque<Action>,
    asked: Vec<(NeedId, String)>,
    next: u64,
    eof: bool,
}

impl NeedLine {
    /// A connection asking `ask(line)` for every input line and writing
    /// `show(answer)` after it.
    pub fn new(ask: fn(String) -> Need, show: fn(Answer) -> String) -> NeedLine {
        NeedLine {
            ask,
            show,
            input: Vec::new(),
            out: Vec::new(),
            actions: VecDeque::new(),
            asked: Vec::new(),
            next: 0,
            eof: false,
        }
    }
}

impl Conn for NeedLine {
    fn handle_input(&mut self, _now: Instant, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        while let Some(i) = self.input.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.input.drain(..=i).collect();
            let request = String::from_utf8_lossy(&line).trim().to_string();
            let id = NeedId(self.next);
            self.next += 1;
            self.asked.push((id, request.clone()));
            self.actions
                .push_back(Action::Need(id, (self.ask)(request)));
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
        let (_, request) = self.asked.remove(pos);
        let text = (self.show)(answer);
        self.out
            .extend_from_slice(format!("{request} {text}\r\n").as_bytes());
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

impl Session for NeedLine {
    fn set_wake(&mut self, _wake: Arc<dyn Fn() + Send + Sync>) {}
    fn handle_changes(&mut self, _now: Instant) {}
    fn tls_established(&mut self, _e: Option<Vec<u8>>, _k: Option<String>) {}
}

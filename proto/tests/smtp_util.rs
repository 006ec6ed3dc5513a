//! Test harness for `SmtpServer`: a scripted caller (the policy an engine
//! would apply) and a transcript runner (`C:` lines in, `S:` lines out).
//! Included by the `smtp_*` test files with `#[path]`.
#![allow(dead_code)]

use std::time::Instant;

use moxide_proto::conn::{Action, Conn};
use moxide_proto::sasl::{MechanismContext, PasswordSecrets};
use moxide_proto::smtp::{ForwardPath, Reply, SmtpConfig, SmtpEvent, SmtpServer};

/// A connection driven by a caller that accepts everything except
/// recipients named in `reject_rcpt` (550 5.1.1), and knows the accounts
/// in `accounts`.
pub struct Harness {
    pub srv: SmtpServer,
    pub now: Instant,
    /// Events in order, adjacent `DataChunk`s joined.
    pub events: Vec<SmtpEvent>,
    pub actions: Vec<Action>,
    /// Messages whose `DataEnd` was accepted.
    pub messages: Vec<Vec<u8>>,
    current: Vec<u8>,
    pub reject_rcpt: Vec<String>,
    pub accounts: Vec<(String, PasswordSecrets)>,
    pub ctx: MechanismContext,
    out: Vec<u8>,
}

impl Harness {
    pub fn new(cfg: SmtpConfig) -> Harness {
        let now = Instant::now();
        Harness {
            srv: SmtpServer::new(cfg, now),
            now,
            events: Vec::new(),
            actions: Vec::new(),
            messages: Vec::new(),
            current: Vec::new(),
            reject_rcpt: vec!["Green".to_string()],
            accounts: Vec::new(),
            ctx: MechanismContext {
                nonce: b"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".to_vec(),
                challenge: b"<1896.697170952@postoffice.reston.mci.net>".to_vec(),
                ..MechanismContext::default()
            },
            out: Vec::new(),
        }
    }

    /// Answers every pending event as the scripted caller.
    pub fn drive(&mut self) {
        while let Some(ev) = self.srv.poll_event() {
            match &ev {
                SmtpEvent::Ehlo { .. }
                | SmtpEvent::MailFrom { .. }
                | SmtpEvent::DataStart { .. }
                | SmtpEvent::Auth { .. } => self.srv.accept(),
                SmtpEvent::RcptTo { to, .. } => {
                    let name = match to {
                        ForwardPath::Mailbox(m) => m.local_part.clone(),
                        ForwardPath::Postmaster => "postmaster".to_string(),
                    };
                    if self.reject_rcpt.contains(&name) {
                        self.srv
                            .reject(Reply::with(550, (5, 1, 1), "no such user here"));
                    } else {
                        self.srv.accept();
                    }
                }
                SmtpEvent::DataChunk(d) => self.current.extend_from_slice(d),
                SmtpEvent::DataEnd => {
                    self.messages.push(std::mem::take(&mut self.current));
                    self.srv.accept();
                }
                SmtpEvent::DataAborted(_) => self.current.clear(),
                SmtpEvent::AuthStart { .. } => self.srv.start_auth(self.ctx.clone()),
                SmtpEvent::NeedSecrets { username } => {
                    let s = self
                        .accounts
                        .iter()
                        .find(|(u, _)| u == username)
                        .map(|(_, s)| s.clone());
                    self.srv.provide_secrets(s);
                }
                _ => {}
            }
            if let (SmtpEvent::DataChunk(d), Some(SmtpEvent::DataChunk(prev))) =
                (&ev, self.events.last_mut())
            {
                prev.extend_from_slice(d);
            } else {
                self.events.push(ev);
            }
        }
        self.srv.poll_transmit(&mut self.out);
        while let Some(a) = self.srv.poll_action() {
            self.actions.push(a);
        }
    }

    /// Output written since the last call.
    pub fn take_output(&mut self) -> String {
        self.drive();
        String::from_utf8_lossy(&std::mem::take(&mut self.out)).into_owned()
    }

    /// Feeds bytes and returns the output they caused.
    pub fn input(&mut self, bytes: &[u8]) -> String {
        self.srv.handle_input(self.now, bytes);
        self.take_output()
    }

    /// Feeds `s` with `\n` turned into CRLF.
    pub fn lines(&mut self, s: &str) -> String {
        self.input(s.replace('\n', "\r\n").as_bytes())
    }

    pub fn eof(&mut self) -> String {
        self.srv.handle_eof(self.now);
        self.take_output()
    }

    /// Runs a transcript. Consecutive `C:` lines are sent in one input (a
    /// pipelined batch), each with CRLF; the `S:` lines after them must be
    /// exactly the output. `S:` lines before any `C:` check the greeting.
    pub fn transcript(&mut self, script: &str) {
        let mut c = String::new();
        let mut s = String::new();
        let mut last_was_s = false;
        for raw in script.lines() {
            let line = raw.trim_start();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("C:") {
                if last_was_s {
                    self.check(&c, &s);
                    c.clear();
                    s.clear();
                }
                c.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                c.push_str("\r\n");
                last_was_s = false;
            } else if let Some(rest) = line.strip_prefix("S:") {
                s.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                s.push_str("\r\n");
                last_was_s = true;
            } else {
                panic!("bad transcript line {raw:?}");
            }
        }
        self.check(&c, &s);
    }

    fn check(&mut self, c: &str, s: &str) {
        let got = if c.is_empty() {
            self.take_output()
        } else {
            self.input(c.as_bytes())
        };
        assert_eq!(got, s, "after C: {c:?}");
    }
}

/// The EHLO reply of a default port-25 connection named `mx.example`.
pub fn ehlo_25(extra: &[&str]) -> String {
    let mut lines = vec![
        "mx.example",
        "PIPELINING",
        "SIZE 104857600",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "BINARYMIME",
    ];
    lines.extend_from_slice(extra);
    lines.push("LIMITS RCPTMAX=1000");
    let n = lines.len();
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("S: 250{}{l}\n", if i + 1 == n { ' ' } else { '-' }))
        .collect()
}

pub fn mx() -> SmtpConfig {
    SmtpConfig {
        hostname: "mx.example".to_string(),
        ..SmtpConfig::default()
    }
}

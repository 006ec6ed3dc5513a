//! Runs an [`SmtpTranscript`] over an [`SmtpDriver`] (the bare core or
//! sockets) and records the exchange for the snapshot: the IMAP runner's
//! rules (a run stops at the first difference, nothing may be left unread,
//! the greeting is taken silently unless `S:` lines check it) with SMTP's
//! SASL challenges (`334 base64`), the `@port` and `@stored` steps, and
//! the stored messages at the end.

use crate::pattern;
use crate::runner::{Driver, Outcome, render};
use crate::scram::{self, ClientFirst};
use crate::smtp::{Port, SmtpStep, SmtpTranscript};
use crate::transcript::{Computed, Step};

/// What an SMTP transcript needs from its connections besides [`Driver`].
pub trait SmtpDriver: Driver {
    /// Connections opened from now on go to `port`.
    fn set_port(&mut self, port: Port);
    /// How many messages the store holds (every account and mailbox).
    fn stored_count(&mut self) -> Result<usize, String>;
    /// Every stored message as snapshot lines (the core); empty where the
    /// store's contents vary from run to run (a real server's clock).
    fn stored_dump(&mut self) -> Result<Vec<String>, String>;
    /// `seconds` pass without client input (`@wait`); drivers on a real
    /// clock refuse.
    fn wait(&mut self, seconds: u64) -> Result<(), String> {
        Err(format!("@wait {seconds}: not supported by this driver"))
    }
}

struct Run<'a, D: SmtpDriver> {
    t: &'a SmtpTranscript,
    d: D,
    log: Vec<String>,
    current: usize,
    logged_session: usize,
    opened: Vec<usize>,
    skip_greeting: bool,
    /// SCRAM client-first per connection.
    scram: Vec<(usize, ClientFirst)>,
    /// The text of the last `334` challenge per connection.
    challenge: Vec<(usize, String)>,
}

/// Runs `t` over `d`. Stops at the first difference.
pub fn run<D: SmtpDriver>(t: &SmtpTranscript, d: D) -> Outcome {
    let mut r = Run {
        t,
        d,
        log: Vec::new(),
        current: 1,
        logged_session: 1,
        opened: Vec::new(),
        skip_greeting: false,
        scram: Vec::new(),
        challenge: Vec::new(),
    };
    let mut failure = r.steps().err();
    for n in r.opened.clone() {
        let rest = r.d.pending_lines(n);
        for l in &rest {
            r.log_line(n, format!("S: {}", render(l)));
        }
        if failure.is_none() && !rest.is_empty() {
            failure = Some(format!(
                "session {n}: {} unexpected line(s) at the end, first: {}",
                rest.len(),
                render(&rest[0])
            ));
        }
    }
    if failure.is_none() {
        failure = r.d.finish().err();
    }
    match r.d.stored_dump() {
        Ok(lines) => r.log.extend(lines),
        Err(e) => {
            failure.get_or_insert(format!("reading the stored messages: {e}"));
        }
    }
    Outcome {
        failure,
        log: r.log,
    }
}

/// The value of `list` for connection `n`.
fn of<T: Clone>(list: &[(usize, T)], n: usize) -> Option<T> {
    list.iter().find(|(s, _)| *s == n).map(|(_, v)| v.clone())
}

fn set<T>(list: &mut Vec<(usize, T)>, n: usize, v: T) {
    list.retain(|(s, _)| *s != n);
    list.push((n, v));
}

impl<D: SmtpDriver> Run<'_, D> {
    fn log_line(&mut self, session: usize, line: String) {
        if session != self.logged_session {
            self.log.push(format!("@session {session}"));
            self.logged_session = session;
        }
        self.log.push(line);
    }

    fn ensure_open(&mut self) -> Result<(), String> {
        if !self.opened.contains(&self.current) {
            self.d.open(self.current)?;
            self.opened.push(self.current);
            self.skip_greeting = !self.d.greeting_visible();
        }
        Ok(())
    }

    /// Opens the current connection before a client line: a greeting the
    /// transcript does not check is taken and logged as is.
    fn open_skipping_greeting(&mut self) -> Result<(), String> {
        if self.opened.contains(&self.current) {
            return Ok(());
        }
        self.ensure_open()?;
        if !self.skip_greeting {
            let n = self.current;
            match self.d.next_line(n)? {
                Some(g) => self.log_line(n, format!("S: {}", render(&g))),
                None => return Err(format!("session {n}: no greeting")),
            }
        }
        Ok(())
    }

    fn steps(&mut self) -> Result<(), String> {
        let t = self.t;
        for step in &t.steps {
            match step {
                SmtpStep::Port(p) => self.d.set_port(*p),
                SmtpStep::Stored(want) => {
                    let got = self.d.stored_count()?;
                    self.log.push(format!("@stored {got}"));
                    if got != *want {
                        return Err(format!("@stored {want}: the store holds {got} messages"));
                    }
                }
                SmtpStep::Wait(seconds) => {
                    self.log.push(format!("@wait {seconds}"));
                    self.d.wait(*seconds)?;
                }
                SmtpStep::Line(Step::Session(n)) => {
                    self.current = *n;
                    self.skip_greeting = false;
                }
                SmtpStep::Line(Step::Send(bytes)) => {
                    self.open_skipping_greeting()?;
                    self.skip_greeting = false;
                    self.send(bytes)?;
                }
                SmtpStep::Line(Step::SendComputed {
                    prefix,
                    suffix,
                    what,
                }) => {
                    self.open_skipping_greeting()?;
                    self.skip_greeting = false;
                    self.send_computed(prefix, suffix, what)?;
                }
                SmtpStep::Line(Step::Eof) => {
                    self.open_skipping_greeting()?;
                    let n = self.current;
                    self.log_line(n, "@eof".to_string());
                    self.d.eof(n)?;
                }
                SmtpStep::Line(Step::Expect(p)) => {
                    self.ensure_open()?;
                    if self.skip_greeting {
                        continue;
                    }
                    self.expect(p)?;
                }
            }
        }
        Ok(())
    }

    fn send_computed(&mut self, prefix: &str, suffix: &str, what: &Computed) -> Result<(), String> {
        let n = self.current;
        let challenge =
            of(&self.challenge, n).ok_or("a computed response before the server's 334 line")?;
        let (value, shown) = match what {
            Computed::ScramFinal => {
                let first =
                    of(&self.scram, n).ok_or("{{scram-final}} without a SCRAM start before it")?;
                let cb = self.d.tls_exporter(n);
                let password = &self.t.meta.scram_password;
                let fin = scram::client_final(&first, &challenge, password, cb.as_deref())?;
                (fin, "{{scram-final}}".to_string())
            }
            Computed::CramMd5 { user } => (
                scram::cram_md5(user, &challenge, &self.t.meta.scram_password)?,
                format!("{{{{cram-md5 {user}}}}}"),
            ),
        };
        // Derived from random salts or the clock: logged masked.
        self.log_line(n, format!("C: {prefix}{shown}{suffix}"));
        self.d
            .send(n, format!("{prefix}{value}{suffix}\r\n").as_bytes())
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let n = self.current;
        self.observe_scram(n, bytes);
        // One log line per client line; a piece without CRLF as C~.
        let mut rest = bytes;
        while !rest.is_empty() {
            match rest.windows(2).position(|w| w == b"\r\n") {
                Some(i) => {
                    self.log_line(n, format!("C: {}", render(&rest[..i])));
                    rest = &rest[i + 2..];
                }
                None => {
                    self.log_line(n, format!("C~ {}", render(rest)));
                    rest = &[];
                }
            }
        }
        self.d.send(n, bytes)
    }

    /// Remembers a SCRAM start: `AUTH SCRAM-SHA-…` with or without its
    /// initial response, or the client-first message on a line of its own
    /// (RFC 4954 4), as the IMAP form [`scram::observe`] reads it.
    fn observe_scram(&mut self, n: usize, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let line = match text.get(..5) {
            Some(p) if p.eq_ignore_ascii_case("AUTH ") => {
                format!("x AUTHENTICATE {}", text.get(5..).unwrap_or_default())
            }
            _ => text.into_owned(),
        };
        let prev = of(&self.scram, n);
        if let Some(c) = scram::observe(line.as_bytes(), prev.as_ref()) {
            set(&mut self.scram, n, c);
        }
    }

    /// `S: {{ehlo}}`: a whole positive EHLO reply (`250-` lines, then a
    /// `250 ` line), logged as its first line and the number of lines, so
    /// that only the capability transcripts pin the list.
    fn expect_ehlo(&mut self) -> Result<(), String> {
        let n = self.current;
        let mut count = 0;
        loop {
            let Some(line) = self.d.next_line(n)? else {
                return Err(format!(
                    "session {n}: expected an EHLO reply, the server sent nothing"
                ));
            };
            count += 1;
            let text = render(&line);
            if text.starts_with("250 ") {
                self.log_line(n, format!("S: {{{{ehlo}}}} ({count} lines)"));
                return Ok(());
            }
            if !text.starts_with("250-") {
                self.log_line(n, format!("S: {text}"));
                return Err(format!(
                    "session {n}: expected an EHLO reply (250), got\n    {text}"
                ));
            }
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), String> {
        if p == "{{ehlo}}" {
            return self.expect_ehlo();
        }
        let n = self.current;
        let Some(line) = self.d.next_line(n)? else {
            return Err(format!(
                "session {n}: expected {p:?}, the server sent nothing"
            ));
        };
        let text = render(&line);
        // RFC 4954 4: a challenge is `334 base64` (or `334` alone).
        if let Some(c) = text.strip_prefix("334 ").or((text == "334").then_some("")) {
            set(&mut self.challenge, n, c.to_string());
        }
        match pattern::matches(p, &text) {
            Some(norm) => {
                self.log_line(n, format!("S: {norm}"));
                Ok(())
            }
            None => {
                self.log_line(n, format!("S: {text}"));
                Err(format!("session {n}: expected\n    {p}\n  got\n    {text}"))
            }
        }
    }
}

//! Runs a [`Transcript`] over a [`Driver`] (the bare core or a socket) and
//! records what happened for the snapshot.

use crate::pattern;
use crate::scram::{self, ClientFirst};
use crate::transcript::{Computed, Step, Transcript};

/// Connections a transcript talks over. Connections are numbered from 1.
pub trait Driver {
    /// Opens connection `n`. When [`Driver::greeting_visible`] is true the
    /// greeting is the first line [`Driver::next_line`] returns.
    fn open(&mut self, n: usize) -> Result<(), String>;
    /// Sends client bytes on connection `n`.
    fn send(&mut self, n: usize, bytes: &[u8]) -> Result<(), String>;
    /// The next line the server sent on connection `n`, without CRLF;
    /// `None` if it sent none (the core: nothing buffered; a socket: none
    /// within its timeout, or the connection closed).
    fn next_line(&mut self, n: usize) -> Result<Option<Vec<u8>>, String>;
    /// Lines received on connection `n` and not yet taken, without waiting.
    fn pending_lines(&mut self, n: usize) -> Vec<Vec<u8>>;
    /// Whether the greeting reaches the transcript (false over STARTTLS:
    /// the driver consumed the greeting before the TLS handshake).
    fn greeting_visible(&self) -> bool;
    /// Checks done after the transcript (the core: the store's
    /// consistency check); an error fails the run.
    fn finish(&mut self) -> Result<(), String>;
    /// The tls-exporter channel binding of connection `n` (RFC 9266), for
    /// SCRAM -PLUS.
    fn tls_exporter(&mut self, n: usize) -> Option<Vec<u8>>;
    /// The client ends its input on connection `n` (`@eof`); later sends
    /// on it fail. Drivers without it refuse the step.
    fn eof(&mut self, n: usize) -> Result<(), String> {
        Err(format!("session {n}: @eof is not supported by this driver"))
    }
}

/// Takes the first CRLF-ended line out of `received`; the line without
/// its CRLF, or `None` (nothing taken) when no line is complete.
pub(crate) fn take_line(received: &mut Vec<u8>) -> Option<Vec<u8>> {
    let i = received.windows(2).position(|w| w == b"\r\n")?;
    let line = received[..i].to_vec();
    received.drain(..i + 2);
    Some(line)
}

/// Empties `received`: its complete lines, then the unended rest as a
/// last line if there is one.
pub(crate) fn take_all(received: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(l) = take_line(received) {
        out.push(l);
    }
    if !received.is_empty() {
        out.push(std::mem::take(received));
    }
    out
}

/// The result of one run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The first difference from the transcript, if any.
    pub failure: Option<String>,
    /// The exchange as the snapshot records it.
    pub log: Vec<String>,
}

impl Outcome {
    /// The snapshot text: the exchange, then the failure if any.
    pub fn snapshot(&self) -> String {
        let mut s = self.log.join("\n");
        if let Some(f) = &self.failure {
            s.push_str("\n# FAILED: ");
            s.push_str(f);
        }
        s.push('\n');
        s
    }
}

/// Renders server or client bytes as one printable line: control bytes
/// and invalid UTF-8 as `\xNN`.
pub fn render(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if (c as u32) < 0x20 || c == '\x7f' {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Replaces the list of a `[CAPABILITY …]` response code by `…`: only the
/// transcripts about capabilities pin the list in their snapshots.
pub fn mask_capabilities(line: &str) -> String {
    let Some(start) = line.find("[CAPABILITY ") else {
        return line.to_string();
    };
    let from = start + "[CAPABILITY ".len();
    match line[from..].find(']') {
        Some(end) => format!("{}…{}", &line[..from], &line[from + end..]),
        None => line.to_string(),
    }
}

struct Run<'a, D: Driver> {
    t: &'a Transcript,
    d: &'a mut D,
    log: Vec<String>,
    current: usize,
    logged_session: usize,
    opened: Vec<usize>,
    skip_greeting: bool,
    scram: Vec<(usize, ClientFirst)>,
    last_plus: Vec<(usize, String)>,
    /// Replay of a transcript without `S:` lines: every server line is
    /// logged before each client send and at the end, none is unexpected.
    echo: bool,
}

/// Runs `t` over `d`. Stops at the first difference.
pub fn run<D: Driver>(t: &Transcript, d: &mut D) -> Outcome {
    run_mode(t, d, false)
}

/// As [`run`], but when `t` has no `S:` lines every line the server sends
/// is logged (before each client send and at the end) instead of being a
/// difference: the exchange of a client-only transcript.
pub fn run_echo<D: Driver>(t: &Transcript, d: &mut D) -> Outcome {
    let echo = !t.steps.iter().any(|s| matches!(s, Step::Expect(_)));
    run_mode(t, d, echo)
}

fn run_mode<D: Driver>(t: &Transcript, d: &mut D, echo: bool) -> Outcome {
    let mut r = Run {
        t,
        d,
        log: Vec::new(),
        current: 1,
        logged_session: 1,
        opened: Vec::new(),
        skip_greeting: false,
        scram: Vec::new(),
        last_plus: Vec::new(),
        echo,
    };
    let mut failure = r.steps().err();
    if failure.is_none() && echo {
        r.flush();
    }
    if failure.is_none() {
        // Nothing may be left over.
        for n in r.opened.clone() {
            let rest = r.d.pending_lines(n);
            if !rest.is_empty() {
                for l in &rest {
                    r.log_line(n, format!("S: {}", render(l)));
                }
                failure = Some(format!(
                    "session {n}: {} unexpected line(s) at the end, first: {}",
                    rest.len(),
                    render(&rest[0])
                ));
                break;
            }
        }
    } else {
        for n in r.opened.clone() {
            for l in r.d.pending_lines(n) {
                r.log_line(n, format!("S: {}", render(&l)));
            }
        }
    }
    if failure.is_none() {
        failure = r.d.finish().err();
    }
    Outcome {
        failure,
        log: r.log,
    }
}

impl<D: Driver> Run<'_, D> {
    fn log_line(&mut self, session: usize, line: String) {
        if session != self.logged_session {
            self.log.push(format!("@session {session}"));
            self.logged_session = session;
        }
        self.log.push(line);
    }

    /// Logs every line received and not yet taken, on every connection
    /// (echo mode), remembering `+` lines for computed responses.
    fn flush(&mut self) {
        for n in self.opened.clone() {
            for l in self.d.pending_lines(n) {
                let text = render(&l);
                if let Some(plus) = text.strip_prefix("+ ") {
                    self.last_plus.retain(|(s, _)| *s != n);
                    self.last_plus.push((n, plus.to_string()));
                }
                self.log_line(n, format!("S: {text}"));
            }
        }
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
                Some(g) => self.log_line(n, format!("S: {}", mask_capabilities(&render(&g)))),
                None => return Err(format!("session {n}: no greeting")),
            }
        }
        Ok(())
    }

    fn steps(&mut self) -> Result<(), String> {
        let t = self.t;
        for step in &t.steps {
            match step {
                Step::Session(n) => {
                    self.current = *n;
                    self.skip_greeting = false;
                }
                Step::Send(bytes) => {
                    self.open_skipping_greeting()?;
                    if self.echo {
                        self.flush();
                    }
                    self.skip_greeting = false;
                    self.send(bytes)?;
                }
                Step::SendComputed {
                    prefix,
                    suffix,
                    what,
                } => {
                    self.open_skipping_greeting()?;
                    if self.echo {
                        self.flush();
                    }
                    let n = self.current;
                    let plus = self
                        .last_plus
                        .iter()
                        .find(|(s, _)| *s == n)
                        .map(|(_, p)| p.clone())
                        .ok_or("a computed response before the server's + line")?;
                    let (value, shown) = match what {
                        Computed::ScramFinal => {
                            let first = self
                                .scram
                                .iter()
                                .find(|(s, _)| *s == n)
                                .map(|(_, c)| c.clone())
                                .ok_or("{{scram-final}} without a SCRAM start before it")?;
                            let cb = self.d.tls_exporter(n);
                            let fin = scram::client_final(
                                &first,
                                &plus,
                                &t.scram_password,
                                cb.as_deref(),
                            )?;
                            (fin, "{{scram-final}}".to_string())
                        }
                        Computed::CramMd5 { user } => (
                            scram::cram_md5(user, &plus, &t.scram_password)?,
                            format!("{{{{cram-md5 {user}}}}}"),
                        ),
                    };
                    let line = format!("{prefix}{value}{suffix}\r\n");
                    // Derived from random salts or the clock: logged masked.
                    self.log_line(n, format!("C: {prefix}{shown}{suffix}"));
                    self.d.send(n, line.as_bytes())?;
                }
                Step::Eof => {
                    self.open_skipping_greeting()?;
                    if self.echo {
                        self.flush();
                    }
                    let n = self.current;
                    self.log_line(n, "@eof".to_string());
                    self.d.eof(n)?;
                }
                Step::Expect(p) => {
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

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let n = self.current;
        let prev = self
            .scram
            .iter()
            .find(|(s, _)| *s == n)
            .map(|(_, c)| c.clone());
        if let Some(c) = scram::observe(bytes, prev.as_ref()) {
            self.scram.retain(|(s, _)| *s != n);
            self.scram.push((n, c));
        }
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

    fn expect(&mut self, p: &str) -> Result<(), String> {
        let n = self.current;
        let Some(line) = self.d.next_line(n)? else {
            return Err(format!(
                "session {n}: expected {p:?}, the server sent nothing"
            ));
        };
        let text = render(&line);
        if let Some(plus) = text.strip_prefix("+ ") {
            self.last_plus.retain(|(s, _)| *s != n);
            self.last_plus.push((n, plus.to_string()));
        }
        match pattern::matches(p, &text) {
            Some(norm) => {
                let norm = if p.contains("CAPABILITY") {
                    norm
                } else {
                    mask_capabilities(&norm)
                };
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

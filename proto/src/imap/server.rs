//! `ServerConn`: the sans-IO IMAP server connection (RFC 9051).
//!
//! The connection frames client input ([`crate::imap::frame`]), parses
//! commands, tracks the protocol state and hands the caller typed
//! [`Event`]s; the caller answers with typed responses through
//! [`ServerConn::send`]. It follows the [`Conn`] contract: `handle_*` in,
//! `poll_*` out, time only from the `now` arguments, no I/O.
//!
//! Calling contract:
//! - After any `handle_*` call and after answering events, drain
//!   [`Conn::poll_transmit`], then [`Conn::poll_action`], then read
//!   [`Conn::poll_timeout`].
//! - Commands are handed out one at a time: after an [`Event::Command`] (or
//!   the first [`Event::AppendBegin`]) no further command is parsed until the
//!   caller completes it by sending its tagged status response (OK, NO or
//!   BAD). Pipelined input stays buffered; [`Conn::wants_read`] turns false
//!   when the backlog passes `max_backlog`.
//! - A tagged status completes the command in flight, whatever its tag; any
//!   events of that command not yet polled are dropped, and the rest of an
//!   APPEND's literal data is discarded unparsed.
//! - The connection infers state changes from the caller's responses: OK to
//!   LOGIN/AUTHENTICATE, SELECT/EXAMINE, CLOSE/UNSELECT, LOGOUT, STARTTLS,
//!   COMPRESS; `* ENABLED` listing IMAP4rev2 or UTF8=ACCEPT; `* PREAUTH`;
//!   `* BYE` (closes, after the tagged OK when the command is LOGOUT).
//! - Commands not allowed in the current state are refused with
//!   `tag BAD` by the connection itself, without an event.
//! - After `Action::Close` every call is a no-op (pending output can still be
//!   drained, and events queued before the close can still be polled).

mod compress;
mod input;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_append;
#[cfg(test)]
mod tests_prop;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::conn::{Action, Answer, Conn, NeedId};
use crate::imap::cmd::{AppendHead, Command, MessageHead};
use crate::imap::core::{Ctx, Tag};
use crate::imap::frame::{FrameLimits, Framer};
use crate::imap::resp::{Continue, Response};
use crate::secret::Secret;

use compress::{Deflater, Inflater};
use state::{InFlight, Wait};

/// How much streamed APPEND data may wait in the event queue before the
/// connection stops reading more of it from its buffer.
const APPEND_QUEUE_MAX: usize = 64 * 1024;

/// Configuration of a server connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Longest command line without CRLF and literals. Default 64 KiB: RFC
    /// 9051 4 asks servers to take at least 8192 octets, and long UID sets
    /// from clients that do not use ranges (or SEARCHRES) exceed that.
    pub max_line: usize,
    /// Largest non-APPEND command, lines and literals together. Default 1 MiB.
    pub max_command: usize,
    /// Largest APPEND/REPLACE message (APPENDLIMIT, RFC 7889). Default 100 MiB.
    pub max_append: u64,
    /// LITERAL+ (true, default) or LITERAL- (RFC 7888).
    pub literal_plus: bool,
    /// Buffered pipelined input above which `wants_read` returns false while
    /// the caller works on a command. Default 64 KiB.
    pub max_backlog: usize,
    /// Inactivity allowed before authentication. Default 30 s (as mox).
    pub timeout_unauth: Duration,
    /// Inactivity allowed after authentication. Default 30 min (RFC 9051 5.4).
    pub timeout_auth: Duration,
    /// Inactivity allowed during IDLE. Default 30 min (RFC 2177 3).
    pub timeout_idle: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_line: 64 * 1024,
            max_command: 1024 * 1024,
            max_append: 100 * 1024 * 1024,
            literal_plus: true,
            max_backlog: 64 * 1024,
            timeout_unauth: Duration::from_secs(30),
            timeout_auth: Duration::from_secs(30 * 60),
            timeout_idle: Duration::from_secs(30 * 60),
        }
    }
}

/// The protocol state (RFC 9051 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Before LOGIN/AUTHENTICATE.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected; `read_only` after EXAMINE or `[READ-ONLY]`.
    Selected {
        /// The mailbox was opened read-only.
        read_only: bool,
    },
    /// LOGOUT completed; the connection is closing.
    Logout,
}

/// What the connection asks the caller to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A parsed command allowed in the current state (everything except
    /// streamed APPEND/REPLACE). Complete it with a tagged status. For IDLE,
    /// send a continuation (`+ idling`) to start idling; for AUTHENTICATE,
    /// call [`ServerConn::auth_challenge`] for each challenge.
    Command(Command),
    /// An APPEND/REPLACE message literal is announced (the first one starts
    /// the command). Call [`ServerConn::accept_append`] to receive the data,
    /// or refuse the command with a tagged NO/BAD.
    AppendBegin {
        /// Tag, command kind and mailbox.
        head: AppendHead,
        /// Flags, date, literal size and form of this message.
        message: MessageHead,
    },
    /// Message data as it arrived. Concatenated, the chunks of one message
    /// hold exactly its literal's bytes; chunk boundaries follow the input.
    AppendData(Vec<u8>),
    /// The message's data is complete. With `last`, the command is complete
    /// and waits for its tagged status; otherwise an `AppendBegin` follows.
    AppendEnd {
        /// No more messages in this command.
        last: bool,
    },
    /// The client's (base64-decoded) response to an AUTHENTICATE challenge.
    AuthResponse(Secret<Vec<u8>>),
    /// The client cancelled AUTHENTICATE with `*`; answer with tagged BAD
    /// (RFC 9051 6.2.2).
    AuthCancel,
    /// The client ended IDLE with DONE; answer with tagged OK.
    IdleDone,
    /// The connection ended the command in flight itself with a tagged BAD
    /// or NO (malformed continuation data, a MULTIAPPEND message over the
    /// limit, IDLE ended by something other than DONE). Drop its state (for
    /// APPEND: every message received so far) and send no tagged response.
    Aborted {
        /// The command's tag.
        tag: Tag,
        /// What the connection answered.
        reason: String,
    },
}

/// Deadlines, from the `now` arguments only.
#[derive(Debug, Clone, Copy)]
struct Timer {
    /// The latest `now` seen.
    last_now: Instant,
    /// Start of the current inactivity period.
    base: Instant,
    /// The period restarts at the next `now` (set when the caller finished
    /// work whose duration the connection cannot see).
    rearm: bool,
}

/// The sans-IO IMAP server connection; see the module documentation.
#[derive(Debug)]
pub struct ServerConn {
    cfg: ServerConfig,
    state: ServerState,
    ctx: Ctx,
    framer: Framer,
    inflight: Option<InFlight>,
    events: VecDeque<Event>,
    /// Bytes of APPEND data waiting in `events`.
    queued_data: usize,
    out: Vec<u8>,
    deflate: Option<Deflater>,
    inflate: Option<Inflater>,
    actions: VecDeque<Action>,
    closed: bool,
    timer: Timer,
}

impl ServerConn {
    /// A new connection in not-authenticated state. The caller sends the
    /// greeting (`* OK`, or `* PREAUTH`, which moves to authenticated state).
    pub fn new(cfg: ServerConfig, now: Instant) -> Self {
        let framer = Framer::new(FrameLimits {
            max_line: cfg.max_line,
            max_command: cfg.max_command,
            max_append: cfg.max_append,
            literal_plus: cfg.literal_plus,
        });
        let ctx = Ctx {
            utf8: false,
            literal_plus: cfg.literal_plus,
        };
        ServerConn {
            cfg,
            state: ServerState::NotAuthenticated,
            ctx,
            framer,
            inflight: None,
            events: VecDeque::new(),
            queued_data: 0,
            out: Vec::new(),
            deflate: None,
            inflate: None,
            actions: VecDeque::new(),
            closed: false,
            timer: Timer {
                last_now: now,
                base: now,
                rearm: false,
            },
        }
    }

    /// The protocol state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// The syntax context for parsing and encoding (UTF-8 once enabled).
    pub fn ctx(&self) -> Ctx {
        self.ctx
    }

    /// The tag of the command in flight, if any.
    pub fn in_flight(&self) -> Option<&Tag> {
        self.inflight.as_ref().map(|f| &f.tag)
    }

    /// True once COMPRESS=DEFLATE is active.
    pub fn is_compressed(&self) -> bool {
        self.deflate.is_some()
    }

    /// Capacity of the input buffer plus queued APPEND data: the memory the
    /// connection holds for input (for monitoring and memory-bound tests).
    pub fn buffer_capacity(&self) -> usize {
        self.framer.capacity() + self.queued_data + self.inflate.as_ref().map_or(0, |z| z.pending())
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.events.pop_front()?;
        if let Event::AppendData(d) = &ev {
            self.queued_data = self.queued_data.saturating_sub(d.len());
        }
        self.pump();
        Some(ev)
    }

    /// Encodes and queues a response with the current context, and infers
    /// state changes from it (see the module documentation).
    pub fn send(&mut self, resp: &Response) {
        if self.closed {
            return;
        }
        let mut bytes = Vec::new();
        resp.encode(&mut bytes, self.ctx);
        self.write(&bytes);
        self.observe(resp);
        self.pump();
    }

    /// Queues pre-encoded bytes (a streamed FETCH literal); no inference.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if !self.closed {
            self.write(bytes);
        }
    }

    /// Sends an AUTHENTICATE challenge (`+ base64`) and waits for the
    /// client's response line ([`Event::AuthResponse`] or
    /// [`Event::AuthCancel`]).
    pub fn auth_challenge(&mut self, challenge: &[u8]) {
        self.send(&Response::Continue(Continue::Base64(challenge.to_vec())));
    }

    /// Accepts the message announced by the last [`Event::AppendBegin`]:
    /// writes the `+` continuation for a synchronising literal and starts
    /// delivering [`Event::AppendData`].
    pub fn accept_append(&mut self) {
        if self.closed {
            return;
        }
        let Some(f) = self.inflight.as_mut() else {
            return;
        };
        if f.wait != Wait::AppendAccept {
            return;
        }
        f.wait = Wait::AppendData;
        self.timer.rearm = true;
        if self.framer.accept_literal() {
            self.write(b"+ Ready for literal data\r\n");
        }
        self.pump();
    }

    /// Appends bytes to the output, compressed once COMPRESS is active.
    fn write(&mut self, bytes: &[u8]) {
        match self.deflate.as_mut() {
            Some(z) => z.write(bytes, &mut self.out),
            None => self.out.extend_from_slice(bytes),
        }
    }

    /// Queues `Close`; from now on every call is a no-op. Events queued
    /// before stay pollable: dropping them would depend on how the input was
    /// split (whether the caller had polled them before the closing bytes
    /// arrived).
    fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.actions.push_back(Action::Close);
        }
    }

    /// Writes `* BYE text` and closes.
    fn bye(&mut self, text: &str) {
        let mut line = b"* BYE ".to_vec();
        line.extend_from_slice(text.as_bytes());
        line.extend_from_slice(b"\r\n");
        self.write(&line);
        self.close();
    }

    /// The inactivity period that applies now, or None while the caller
    /// works on a command.
    fn inactivity_limit(&self) -> Option<Duration> {
        let wait = self.inflight.as_ref().map(|f| f.wait);
        match wait {
            Some(Wait::IdleLine) => Some(self.cfg.timeout_idle),
            Some(Wait::Caller | Wait::AppendAccept) => None,
            None | Some(Wait::AuthLine | Wait::AppendData) => match self.state {
                ServerState::NotAuthenticated => Some(self.cfg.timeout_unauth),
                _ => Some(self.cfg.timeout_auth),
            },
        }
    }

    /// True when framing can go on without the caller.
    fn can_progress(&self) -> bool {
        match self.inflight.as_ref().map(|f| f.wait) {
            None | Some(Wait::AuthLine | Wait::IdleLine) => true,
            Some(Wait::AppendData) => self.queued_data < APPEND_QUEUE_MAX,
            Some(Wait::Caller | Wait::AppendAccept) => false,
        }
    }

    /// Runs framing and decompression until neither can go on.
    fn pump(&mut self) {
        while !self.closed && (self.step() || self.inflate_step()) {}
    }

    /// Inflates a chunk of compressed input into the framer, if there is
    /// room. Returns true when it made progress.
    fn inflate_step(&mut self) -> bool {
        let room = self.can_progress() || self.framer.buffered() < self.cfg.max_backlog;
        let Some(z) = self.inflate.as_mut() else {
            return false;
        };
        if !room || z.pending() == 0 {
            return false;
        }
        let mut chunk = Vec::new();
        match z.inflate(&mut chunk) {
            Ok(progress) => {
                self.framer.push(&chunk);
                progress
            }
            Err(()) => {
                self.bye("invalid compressed data");
                false
            }
        }
    }

    /// Handles one frame if the state allows. Returns true on progress.
    fn step(&mut self) -> bool {
        if !self.can_progress() {
            return false;
        }
        match self.inflight.as_ref().map(|f| f.wait) {
            Some(Wait::AuthLine) => match self.framer.next_line() {
                Some(line) => {
                    self.on_auth_line(line);
                    true
                }
                None => false,
            },
            Some(Wait::IdleLine) => match self.framer.next_line() {
                Some(line) => {
                    self.on_idle_line(line);
                    true
                }
                None => false,
            },
            _ => match self.framer.next(self.ctx) {
                Some(frame) => {
                    self.on_frame(frame);
                    true
                }
                None => false,
            },
        }
    }

    fn set_wait(&mut self, wait: Wait) {
        if let Some(f) = self.inflight.as_mut() {
            f.wait = wait;
        }
    }
}

impl Conn for ServerConn {
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.closed {
            return;
        }
        self.timer = Timer {
            last_now: now,
            base: now,
            rearm: false,
        };
        match self.inflate.as_mut() {
            Some(z) => z.push(bytes),
            None => self.framer.push(bytes),
        }
        self.pump();
    }

    fn handle_eof(&mut self, now: Instant) {
        if !self.closed {
            self.timer.last_now = now;
            self.close();
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.timer.last_now = now;
        if self.timer.rearm {
            self.timer.base = now;
            self.timer.rearm = false;
            return;
        }
        if let Some(limit) = self.inactivity_limit()
            && now.saturating_duration_since(self.timer.base) >= limit
        {
            self.bye("autologout; idle for too long");
        }
    }

    fn handle_answer(&mut self, _now: Instant, _id: NeedId, _answer: Answer) {}

    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        if let Some(z) = self.deflate.as_mut() {
            z.flush(&mut self.out);
        }
        out.append(&mut self.out);
        // A big response (FETCH) must not keep its buffer allocated on a
        // connection that then sits idle.
        if self.out.capacity() > 8 * 1024 {
            self.out = Vec::new();
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        if self.timer.rearm {
            return Some(self.timer.last_now);
        }
        self.inactivity_limit()
            .and_then(|d| self.timer.base.checked_add(d))
    }

    fn wants_read(&self) -> bool {
        if self.closed {
            return false;
        }
        let pending = self.framer.buffered() + self.inflate.as_ref().map_or(0, |z| z.pending());
        self.can_progress() || pending < self.cfg.max_backlog
    }
}

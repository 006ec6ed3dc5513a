//! `SmtpServer`: the sans-IO SMTP server connection (RFC 5321) for inbound
//! mail (port 25) and submission (RFC 6409).
//!
//! The connection frames and parses client input, enforces the command
//! sequence and the limits, and hands policy decisions to the caller as
//! [`SmtpEvent`]s. It follows the [`Conn`] contract: `handle_*` in,
//! `poll_*` out, time only from the `now` arguments, no I/O.
//!
//! Calling contract:
//! - After any `handle_*` call and after answering an event, drain
//!   [`Conn::poll_transmit`], then [`Conn::poll_action`], then read
//!   [`Conn::poll_timeout`]; take events with [`SmtpServer::poll_event`].
//! - Events that ask a question ([`SmtpServer::awaiting`] is `Some`) MUST be
//!   answered: `Ehlo`, `MailFrom`, `RcptTo`, `DataStart`, `DataEnd` and
//!   `Auth` with [`SmtpServer::accept`], [`SmtpServer::accept_with`] or
//!   [`SmtpServer::reject`]; `AuthStart` with [`SmtpServer::start_auth`] or
//!   `reject`; `NeedSecrets` with [`SmtpServer::provide_secrets`]. Until
//!   then no further command is processed (PIPELINING, RFC 2920: commands
//!   are handled in order, their replies queued in order); input stays
//!   buffered and [`Conn::wants_read`] turns false past `max_backlog`.
//! - `DataEnd` MUST be answered only after the message is stored durably.
//!   `DataAborted` ends the transaction without a message: discard what was
//!   received.
//! - Replies the connection writes itself carry enhanced status codes
//!   (RFC 2034, RFC 3463; always on, as mox). Syntax, sequence and
//!   authentication errors count; at `max_errors` the connection writes
//!   `421 4.7.0` and closes. Replies from the caller never count.
//! - After `Action::Close` every call is a no-op (pending output and
//!   events can still be taken).

mod answer;
mod auth;
mod config;
mod input;

pub use config::SmtpConfig;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::address::{ForwardPath, Host, ReversePath};
use super::command::{Body, MailParams, RcptParams};
use super::data::DotDecoder;
use super::reply::Reply;
use crate::conn::{Action, Answer, Conn, NeedId};
use crate::sasl::{Mechanism, SaslError, ServerMechanism};
use crate::secret::Secret;

/// How much message data may wait in the event queue before the
/// connection stops decoding more of it.
const DATA_QUEUE_MAX: usize = 64 * 1024;

/// Input decoded per step in DATA/BDAT, so events stay small.
const DATA_STEP: usize = 64 * 1024;

/// Command lines: 1000 octets with CRLF (RFC 5321 4.5.3.1.4, 4.5.3.1.6).
pub const MAX_LINE: usize = 1000;

/// AUTH command and SASL response lines: 12288 octets (RFC 4954 4).
pub const MAX_AUTH_LINE: usize = 12288;

/// Why a transaction ended without a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortReason {
    /// The client closed the connection (or sent QUIT) before the end of
    /// the data.
    Eof,
    /// The connection closed for a protocol error (too many errors, an
    /// unreadable BDAT command).
    ProtocolError,
    /// The data timed out.
    Timeout,
    /// The message exceeded the size limit; `552` was sent.
    TooBig,
    /// The message held a bare CR or LF; `500 5.5.2` was sent.
    BareLineEnding,
}

/// What the connection tells the caller, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpEvent {
    /// EHLO (`extended`) or HELO. Answer; `accept` writes the capability
    /// list. Any transaction was reset (RFC 5321 4.1.4): discard its data.
    Ehlo {
        /// The client's domain or address literal.
        name: Host,
        /// EHLO rather than HELO.
        extended: bool,
    },
    /// MAIL FROM; answer. `accept` starts the transaction (`250 2.1.0`).
    MailFrom {
        /// The reverse path (`None` is `<>`).
        from: ReversePath,
        /// Its parameters.
        params: MailParams,
    },
    /// RCPT TO; answer. `accept` adds the recipient (`250 2.1.5`).
    RcptTo {
        /// The recipient.
        to: ForwardPath,
        /// Its parameters.
        params: RcptParams,
    },
    /// DATA, or the first BDAT of the transaction (`chunking`); answer.
    /// Rejecting ends the transaction (a refused BDAT chunk is read and
    /// dropped before the reply).
    DataStart {
        /// The message comes in BDAT chunks.
        chunking: bool,
    },
    /// Message bytes: dot-unstuffed, lines ending in CRLF (for BDAT: the
    /// chunk bytes as sent). Chunk boundaries follow the input.
    DataChunk(Vec<u8>),
    /// The message is complete; store it durably, then answer (`accept`
    /// writes `250 2.0.0`). The transaction ends with the answer.
    DataEnd,
    /// The transaction ended without a message; discard what was received.
    DataAborted(AbortReason),
    /// RSET: the transaction was reset; discard any message data of it.
    Reset,
    /// AUTH with this mechanism (offered and allowed here); answer with
    /// [`SmtpServer::start_auth`] (fresh nonce and challenge, channel
    /// bindings) or `reject`.
    AuthStart {
        /// The mechanism.
        mechanism: Mechanism,
    },
    /// The SASL exchange needs the account's secrets; answer with
    /// [`SmtpServer::provide_secrets`].
    NeedSecrets {
        /// The authentication identity the client claims.
        username: String,
    },
    /// The SASL exchange succeeded; answer (`accept` writes `235 2.7.0`
    /// and marks the connection authenticated).
    Auth {
        /// The mechanism used.
        mechanism: Mechanism,
        /// The authenticated identity.
        authcid: String,
        /// The requested authorisation identity; the caller decides whether
        /// `authcid` may act as it.
        authzid: Option<String>,
    },
    /// The SASL exchange failed or was cancelled; the error reply was sent.
    AuthFailed {
        /// The mechanism.
        mechanism: Mechanism,
        /// The identity claimed, when known.
        username: Option<String>,
        /// Why (`None` when the client cancelled).
        error: Option<SaslError>,
    },
    /// STARTTLS: `220` was sent and `Action::StartTls` follows; the session
    /// was reset to before EHLO (RFC 3207 4.2): discard any transaction.
    StartTls,
    /// QUIT: `221` was sent and the connection closes.
    Quit,
}

/// Which question the connection waits for the caller to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    /// [`SmtpEvent::Ehlo`].
    Ehlo,
    /// [`SmtpEvent::MailFrom`].
    MailFrom,
    /// [`SmtpEvent::RcptTo`].
    RcptTo,
    /// [`SmtpEvent::DataStart`].
    DataStart,
    /// [`SmtpEvent::DataEnd`].
    DataEnd,
    /// [`SmtpEvent::AuthStart`].
    AuthStart,
    /// [`SmtpEvent::NeedSecrets`].
    Secrets,
    /// [`SmtpEvent::Auth`].
    Auth,
}

/// A question in flight, with what the answer needs.
#[derive(Debug)]
enum Question {
    Ehlo {
        extended: bool,
    },
    Mail {
        smtputf8: bool,
        body: Option<Body>,
    },
    Rcpt,
    DataStart {
        bdat: Option<(u64, bool)>,
    },
    DataEnd,
    AuthStart {
        mechanism: Mechanism,
        initial: Option<Secret<Vec<u8>>>,
    },
    Secrets,
    Auth,
}

impl Question {
    fn kind(&self) -> Awaiting {
        match self {
            Question::Ehlo { .. } => Awaiting::Ehlo,
            Question::Mail { .. } => Awaiting::MailFrom,
            Question::Rcpt => Awaiting::RcptTo,
            Question::DataStart { .. } => Awaiting::DataStart,
            Question::DataEnd => Awaiting::DataEnd,
            Question::AuthStart { .. } => Awaiting::AuthStart,
            Question::Secrets => Awaiting::Secrets,
            Question::Auth => Awaiting::Auth,
        }
    }
}

/// Where BDAT chunk bytes go.
#[derive(Debug, Clone)]
enum Sink {
    /// To the caller as `DataChunk`s.
    Deliver,
    /// Dropped; then `reply` is written, the transaction ends, and
    /// `abort` (if any) is reported.
    Discard {
        reply: Reply,
        error: bool,
        abort: Option<AbortReason>,
    },
}

/// What the connection reads next.
#[derive(Debug)]
enum Mode {
    /// Command lines.
    Command,
    /// Nothing until the caller answers.
    Caller(Question),
    /// A SASL response line; `success` holds the outcome waiting for the
    /// client's empty answer to SCRAM's server-final message.
    AuthLine {
        success: Option<(String, Option<String>)>,
    },
    /// DATA message bytes.
    Data,
    /// BDAT chunk bytes.
    Bdat {
        size: u64,
        remaining: u64,
        last: bool,
        sink: Sink,
    },
}

/// The mail transaction (RFC 5321 3.3), after an accepted MAIL.
#[derive(Debug, Clone, Default)]
struct Txn {
    smtputf8: bool,
    body: Option<Body>,
    rcpts: u32,
    /// Octets announced by BDAT commands so far, once BDAT was used.
    bdat: Option<u64>,
    /// DATA is being read with this decoder, and the octets so far.
    data: Option<(DotDecoder, u64)>,
}

/// Deadlines, from the `now` arguments only.
#[derive(Debug, Clone, Copy)]
struct Timer {
    last_now: Instant,
    base: Instant,
    /// The period restarts at the next `now` (set when the caller finished
    /// work whose duration the connection cannot see).
    rearm: bool,
}

/// The sans-IO SMTP server connection; see the module documentation.
pub struct SmtpServer {
    cfg: SmtpConfig,
    tls: bool,
    helo: Option<(Host, bool)>,
    /// The EHLO/HELO name waiting for the caller's answer.
    pending_helo: Option<Host>,
    authenticated: Option<String>,
    /// Authenticated by the TLS client certificate's key (issue 8): MAIL
    /// is allowed without AUTH, and one AUTH still is.
    key_authenticated: Option<String>,
    /// A TLS client certificate was presented: EXTERNAL is offered.
    client_certificate: bool,
    txn: Option<Txn>,
    mode: Mode,
    sasl: Option<ServerMechanism>,
    sasl_user: Option<String>,
    buf: Vec<u8>,
    pos: usize,
    /// Dropping the rest of a line that was too long.
    skipping: bool,
    errors: u32,
    events: VecDeque<SmtpEvent>,
    queued_data: usize,
    out: Vec<u8>,
    actions: VecDeque<Action>,
    closed: bool,
    timer: Timer,
}

impl std::fmt::Debug for SmtpServer {
    /// Shows the state and buffer sizes, never buffered input (it may hold
    /// AUTH data).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("tls", &self.tls)
            .field("helo", &self.helo)
            .field("authenticated", &self.authenticated)
            .field("awaiting", &self.awaiting())
            .field("in_transaction", &self.txn.is_some())
            .field("buffered", &self.buffered())
            .field("queued_events", &self.events.len())
            .field("errors", &self.errors)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl SmtpServer {
    /// A new connection; the `220` greeting is queued.
    pub fn new(cfg: SmtpConfig, now: Instant) -> SmtpServer {
        let tls = cfg.tls;
        let mut s = SmtpServer {
            cfg,
            tls,
            helo: None,
            pending_helo: None,
            authenticated: None,
            key_authenticated: None,
            client_certificate: false,
            txn: None,
            mode: Mode::Command,
            sasl: None,
            sasl_user: None,
            buf: Vec::new(),
            pos: 0,
            skipping: false,
            errors: 0,
            events: VecDeque::new(),
            queued_data: 0,
            out: Vec::new(),
            actions: VecDeque::new(),
            closed: false,
            timer: Timer {
                last_now: now,
                base: now,
                rearm: false,
            },
        };
        // RFC 5321 4.2: the greeting names the server.
        let greeting = format!("{} ESMTP moxide", s.cfg.hostname);
        s.write(&Reply::new(220, None, greeting));
        s
    }

    /// The configuration.
    pub fn config(&self) -> &SmtpConfig {
        &self.cfg
    }

    /// True once TLS runs (implicit, or after STARTTLS).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The authenticated identity, after a successful AUTH.
    pub fn authenticated(&self) -> Option<&str> {
        self.authenticated.as_deref()
    }

    /// The EHLO/HELO name and whether it was EHLO.
    pub fn helo(&self) -> Option<(&Host, bool)> {
        self.helo.as_ref().map(|(h, e)| (h, *e))
    }

    /// The question the caller must answer, if any.
    pub fn awaiting(&self) -> Option<Awaiting> {
        match &self.mode {
            Mode::Caller(q) => Some(q.kind()),
            _ => None,
        }
    }

    /// Protocol errors counted so far.
    pub fn error_count(&self) -> u32 {
        self.errors
    }

    /// Input buffer capacity plus queued message data: the memory held for
    /// input (for monitoring and memory-bound tests).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity() + self.queued_data
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SmtpEvent> {
        let ev = self.events.pop_front()?;
        if let SmtpEvent::DataChunk(d) = &ev {
            self.queued_data = self.queued_data.saturating_sub(d.len());
        }
        self.pump();
        Some(ev)
    }

    /// The capability inputs of this connection now.
    fn offer(&self) -> super::ehlo::Offer<'_> {
        super::ehlo::Offer {
            hostname: &self.cfg.hostname,
            max_message_size: self.cfg.max_message_size,
            max_recipients: self.cfg.max_recipients,
            starttls: self.cfg.tls_available && !self.tls,
            tls: self.tls,
            auth: self.auth_offered(),
            plus: self.plus_offered(),
        }
    }

    /// AUTH is offered: submission only, not yet authenticated, and over
    /// TLS unless configured otherwise (localserve).
    fn auth_offered(&self) -> bool {
        self.cfg.submission
            && self.authenticated.is_none()
            && (self.tls || self.cfg.allow_plain_auth_without_tls)
    }

    /// The EHLO reply: [`super::ehlo::ehlo_reply`], with EXTERNAL first in
    /// the AUTH line when a TLS client certificate was presented (issue 8).
    pub(super) fn ehlo_reply(&self) -> Reply {
        let mut reply = super::ehlo::ehlo_reply(self.offer());
        if self.tls && self.client_certificate {
            for line in &mut reply.lines {
                if let Some(rest) = line.strip_prefix("AUTH ") {
                    *line = format!("AUTH EXTERNAL {rest}");
                }
            }
        }
        reply
    }

    /// The connection's TLS handshake carried a client certificate (or
    /// not): EXTERNAL is offered in EHLO only with one (issue 8).
    pub fn set_client_certificate(&mut self, present: bool) {
        self.client_certificate = present;
    }

    /// Marks the connection authenticated by its TLS client key as
    /// `identity` (issue 8): MAIL is accepted without AUTH, and one AUTH is
    /// still allowed (the caller checks it names the same account).
    /// `None` clears it. STARTTLS clears it too.
    pub fn set_key_authenticated(&mut self, identity: Option<String>) {
        self.key_authenticated = identity;
    }

    /// -PLUS mechanisms are offered: TLS with channel binding.
    fn plus_offered(&self) -> bool {
        self.tls && self.cfg.channel_binding
    }

    fn write(&mut self, reply: &Reply) {
        reply.encode(&mut self.out);
    }

    /// Writes an error reply and counts it; closes at `max_errors`.
    fn error(&mut self, reply: Reply) {
        self.write(&reply);
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.cfg.max_errors {
            let r = Reply::too_many_errors(&self.cfg.hostname);
            self.write(&r);
            self.close();
        }
    }

    /// Queues `Close`; from now on every call is a no-op.
    fn close(&mut self) {
        if !self.closed {
            if self.in_data() {
                self.abort_txn(AbortReason::ProtocolError);
            }
            self.closed = true;
            self.buf = Vec::new();
            self.pos = 0;
            self.actions.push_back(Action::Close);
        }
    }

    fn push_event(&mut self, ev: SmtpEvent) {
        if let SmtpEvent::DataChunk(d) = &ev {
            self.queued_data += d.len();
        }
        self.events.push_back(ev);
    }

    /// Asks the caller a question.
    fn ask(&mut self, ev: SmtpEvent, q: Question) {
        self.push_event(ev);
        self.mode = Mode::Caller(q);
    }

    /// The transaction ends without a message: tells the caller when it
    /// had started receiving data.
    fn abort_txn(&mut self, reason: AbortReason) {
        self.txn = None;
        if matches!(
            self.mode,
            Mode::Data | Mode::Bdat { .. } | Mode::Caller(Question::DataStart { .. })
        ) {
            self.mode = Mode::Command;
        }
        self.push_event(SmtpEvent::DataAborted(reason));
    }

    /// True while data is being received (DATA, or a BDAT sequence).
    fn in_data(&self) -> bool {
        match self.mode {
            Mode::Data | Mode::Bdat { .. } | Mode::Caller(Question::DataStart { .. }) => {
                self.txn.is_some()
            }
            Mode::Caller(Question::DataEnd) => false,
            Mode::Caller(_) | Mode::Command | Mode::AuthLine { .. } => {
                self.txn.as_ref().is_some_and(|t| t.bdat.is_some())
            }
        }
    }

    /// The inactivity period that applies now, or None while the caller
    /// works on a question.
    fn inactivity_limit(&self) -> Option<Duration> {
        match self.mode {
            Mode::Caller(_) => None,
            Mode::Data | Mode::Bdat { .. } => Some(self.cfg.timeout_data),
            Mode::Command | Mode::AuthLine { .. } => Some(self.cfg.timeout_command),
        }
    }

    /// True when input can be processed without the caller.
    fn can_progress(&self) -> bool {
        match self.mode {
            Mode::Caller(_) => false,
            Mode::Data | Mode::Bdat { .. } => self.queued_data < DATA_QUEUE_MAX,
            Mode::Command | Mode::AuthLine { .. } => true,
        }
    }

    /// Bytes received and not yet processed.
    fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Processes input until the caller is needed or input runs out.
    fn pump(&mut self) {
        while !self.closed && self.can_progress() && self.step() {}
        // Compact the buffer once the consumed part dominates.
        if self.pos > 0 && (self.pos >= self.buf.len() || self.pos > 64 * 1024) {
            self.buf.drain(..self.pos);
            self.pos = 0;
            // Give back the memory of a large read once it is consumed.
            if self.buf.capacity() > 4 * DATA_STEP && self.buf.len() < DATA_STEP {
                self.buf.shrink_to(DATA_STEP);
            }
        }
    }
}

impl Conn for SmtpServer {
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.closed {
            return;
        }
        self.timer = Timer {
            last_now: now,
            base: now,
            rearm: false,
        };
        self.buf.extend_from_slice(bytes);
        self.pump();
    }

    fn handle_eof(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.timer.last_now = now;
        // A message not yet complete is never delivered.
        if self.in_data() {
            self.abort_txn(AbortReason::Eof);
        }
        self.close();
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
            if self.in_data() {
                self.abort_txn(AbortReason::Timeout);
            }
            let r = Reply::timeout(&self.cfg.hostname);
            self.write(&r);
            self.close();
        }
    }

    fn handle_answer(&mut self, _now: Instant, _id: NeedId, _answer: Answer) {}

    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
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
        !self.closed && (self.can_progress() || self.buffered() < self.cfg.max_backlog)
    }
}

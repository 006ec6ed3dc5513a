//! `ClientConn`: one SMTP client connection delivering one message
//! (RFC 5321 3, 4.1), sans-IO.
//!
//! Calling contract (besides the [`Conn`] one):
//! - Make one with [`ClientConn::new`] when the TCP connection is up (or
//!   call [`ClientConn::connect_failed`] when it could not be made), set
//!   the SCRAM nonce with [`ClientConn::set_sasl_nonce`] when `auth` may
//!   use SCRAM, then drive it.
//! - `Action::Need(id, Need::TlsHandshake)`: send everything drained so
//!   far, run the TLS handshake as client with the verifier of
//!   [`ClientConfig::tls`](super::ClientConfig), and answer
//!   `Answer::TlsHandshake`. No input is wanted meanwhile.
//! - Message data is handed out by `poll_transmit` in pieces of
//!   [`DATA_PIECE`] octets; call it again whenever the previous output was
//!   written. Its progress is checked every `timeouts.data_block`.
//! - `Action::Close` ends the connection; then [`ClientConn::outcome`]
//!   has the result. Every later call is a no-op.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::data::DotStuffer;
use super::extensions::Extensions;
use super::reply_reader::{ReplyReader, escape};
use super::sasl::{ClientMechanism, Next};
use super::{
    ClientConfig, ClientError, Delivery, Envelope, RcptResult, Stage, StartTls, TlsFailure,
};
use crate::conn::{Action, Answer, Conn, Need, NeedId, TlsInfo};
use crate::sasl::Mechanism;
use crate::smtp::reply::Reply;

/// Message octets encoded per `poll_transmit` call.
pub const DATA_PIECE: usize = 64 * 1024;

/// Where the conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the runtime's TLS handshake.
    Handshake {
        before_greeting: bool,
    },
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    /// Replies to transaction commands are expected (`pending`).
    Transaction,
    Quit,
    Done,
}

/// A transaction reply expected, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    Mail,
    Rcpt(usize),
    /// The reply to DATA (354 wanted).
    Data,
    /// The reply to a lone `.` ending a DATA that should not have started.
    Dot,
    /// The reply to `BDAT n LAST` and its data.
    Bdat,
    /// The reply after the dot-stuffed message.
    DataEnd,
    /// The reply to RSET between two transactions.
    Rset,
}

impl Expect {
    /// The stage of the command this reply answers.
    pub(super) fn stage(self) -> Stage {
        match self {
            Expect::Mail | Expect::Rset => Stage::Mail,
            Expect::Rcpt(_) => Stage::Rcpt,
            Expect::Data | Expect::Dot => Stage::Data,
            Expect::Bdat | Expect::DataEnd => Stage::DataEnd,
        }
    }
}

/// Message data being handed out.
#[derive(Debug)]
pub(super) struct DataOut {
    pub(super) offset: usize,
    /// `None`: BDAT, the octets as they are.
    pub(super) stuffer: Option<DotStuffer>,
}

/// One SMTP client connection; see the module documentation.
#[derive(Debug)]
pub struct ClientConn {
    pub(super) cfg: ClientConfig,
    pub(super) env: Envelope,
    pub(super) message: Arc<[u8]>,
    /// `<addr>` for MAIL; `None` when the reverse path is unusable.
    pub(super) mail_from: Result<String, String>,
    /// `<addr>` per recipient, or why it cannot be sent.
    pub(super) rcpts: Vec<Result<String, String>>,
    /// Whether an address needs SMTPUTF8.
    pub(super) utf8_addresses: bool,
    pub(super) reader: ReplyReader,
    pub(super) phase: Phase,
    pub(super) out: Vec<u8>,
    pub(super) data: Option<DataOut>,
    /// Data was taken by `poll_transmit` since the last progress check.
    pub(super) data_progress: bool,
    /// All data was handed out; the data-end deadline starts at the next
    /// call that brings the time.
    pub(super) arm_data_end: bool,
    pub(super) actions: VecDeque<Action>,
    pub(super) deadline: Option<Instant>,
    next_need: u64,
    pub(super) ext: Extensions,
    pub(super) tls: Option<TlsInfo>,
    pub(super) greeting: Option<Reply>,
    pub(super) pending: VecDeque<Expect>,
    pub(super) pipelined: bool,
    /// The reply to MAIL of the current transaction.
    pub(super) mail_reply: Option<Reply>,
    pub(super) rcpt_replies: Vec<Option<Reply>>,
    /// The MAIL command with its parameters (the same for every
    /// transaction).
    pub(super) mail_line: String,
    /// The recipients (indices) of the current transaction: all of them,
    /// or at most LIMITS RCPTMAX usable ones (RFC 9422 4.2).
    pub(super) batch: std::ops::Range<usize>,
    /// Results of recipients whose transaction has ended.
    pub(super) settled: Vec<Option<RcptResult>>,
    /// MAIL commands sent on this connection (for LIMITS MAILMAX).
    pub(super) transactions: u32,
    /// The final reply for the accepted recipients (after the data, or a
    /// refused DATA command).
    pub(super) final_reply: Option<Reply>,
    pub(super) error: Option<ClientError>,
    sasl_nonce: Option<String>,
    auth: Option<ClientMechanism>,
    outcome: Option<Delivery>,
    /// The time of the latest call that brought one.
    pub(super) now: Instant,
}

impl ClientConn {
    /// A connection to deliver `message` with `env`, over a TCP connection
    /// that was just established at `now`.
    pub fn new(now: Instant, cfg: ClientConfig, env: Envelope, message: Arc<[u8]>) -> ClientConn {
        let mut utf8_addresses = false;
        let mail_from = if env.mail_from.is_empty() {
            Ok("<>".to_string())
        } else {
            encode_path(&env.mail_from, &mut utf8_addresses)
        };
        let rcpts = env
            .recipients
            .iter()
            .map(|r| encode_path(r, &mut utf8_addresses))
            .collect();
        let n = env.recipients.len();
        let mut c = ClientConn {
            cfg,
            env,
            message,
            mail_from,
            rcpts,
            utf8_addresses,
            reader: ReplyReader::new(),
            phase: Phase::Greeting,
            out: Vec::new(),
            data: None,
            data_progress: false,
            arm_data_end: false,
            actions: VecDeque::new(),
            deadline: None,
            next_need: 0,
            ext: Extensions::default(),
            tls: None,
            greeting: None,
            pending: VecDeque::new(),
            pipelined: false,
            mail_reply: None,
            rcpt_replies: vec![None; n],
            mail_line: String::new(),
            batch: 0..0,
            settled: vec![None; n],
            transactions: 0,
            final_reply: None,
            error: None,
            sasl_nonce: None,
            auth: None,
            outcome: None,
            now,
        };
        if c.cfg.implicit_tls {
            c.request_handshake(true);
        } else {
            c.deadline = Some(now + c.cfg.timeouts.greeting);
        }
        c
    }

    /// The configuration (the runtime reads the TLS policy from it).
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The nonce for SCRAM (printable ASCII without `,`, e.g. 24 random
    /// octets in base64). Without one, SCRAM mechanisms fail.
    pub fn set_sasl_nonce(&mut self, nonce: String) {
        self.sasl_nonce = Some(nonce);
    }

    /// The result, once the connection has closed.
    pub fn outcome(&self) -> Option<&Delivery> {
        self.outcome.as_ref()
    }

    /// Whether the connection has closed.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The TCP connection could not be made: the attempt ends with a
    /// temporary [`Stage::Connect`] error.
    pub fn connect_failed(&mut self, detail: impl Into<String>) {
        if self.phase == Phase::Done {
            return;
        }
        self.out.clear();
        self.fail_close(ClientError {
            stage: Stage::Connect,
            permanent: false,
            reply: None,
            detail: detail.into(),
            tls_failure: None,
        });
    }

    /// Reading or writing failed at `now` (connection reset, TLS error):
    /// the attempt ends with a temporary error at the current stage; after
    /// QUIT was sent it simply ends.
    pub fn network_error(&mut self, now: Instant, detail: impl Into<String>) {
        if self.phase == Phase::Done {
            return;
        }
        self.arm(now);
        self.out.clear();
        if self.phase == Phase::Quit {
            return self.finish();
        }
        let err = self.local_error(detail);
        self.fail_close(err);
    }

    fn request_handshake(&mut self, before_greeting: bool) {
        let id = NeedId(self.next_need);
        self.next_need += 1;
        self.phase = Phase::Handshake { before_greeting };
        self.deadline = None;
        self.actions.push_back(Action::Need(id, Need::TlsHandshake));
    }

    /// Queues a command line.
    pub(super) fn send(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// The step the conversation is at, for errors.
    fn stage(&self) -> Stage {
        match self.phase {
            Phase::Handshake { .. } => Stage::Tls,
            Phase::Greeting => Stage::Greeting,
            Phase::Ehlo | Phase::Helo => Stage::Ehlo,
            Phase::StartTls => Stage::StartTls,
            Phase::Auth => Stage::Auth,
            Phase::Transaction if self.data.is_some() => Stage::Data,
            Phase::Transaction => self.pending.front().map_or(Stage::Mail, |e| e.stage()),
            Phase::Quit | Phase::Done => Stage::DataEnd,
        }
    }

    /// An error at the current stage, without a reply.
    pub(super) fn local_error(&self, detail: impl Into<String>) -> ClientError {
        ClientError {
            stage: self.stage(),
            permanent: false,
            reply: None,
            detail: detail.into(),
            tls_failure: None,
        }
    }

    /// An error from a reply at the current stage: permanent for 5xx.
    pub(super) fn reply_error(&self, reply: Reply, what: &str) -> ClientError {
        ClientError {
            stage: self.stage(),
            permanent: reply.code >= 500,
            detail: format!("{what}: {}", show(&reply)),
            reply: Some(reply),
            tls_failure: None,
        }
    }

    /// Records `err` and ends the connection without QUIT (it is out of
    /// sync or gone).
    pub(super) fn fail_close(&mut self, err: ClientError) {
        self.error.get_or_insert(err);
        self.data = None;
        self.finish();
    }

    /// Records `err` and ends the session politely with QUIT, or without
    /// when the server already said it closes (421, RFC 5321 3.8).
    pub(super) fn fail_then_quit(&mut self, err: ClientError) {
        let closing = err.reply.as_ref().is_some_and(|r| r.code == 421);
        self.error.get_or_insert(err);
        if closing {
            self.finish();
        } else {
            self.quit_at(None);
        }
    }

    /// Sends QUIT (RFC 5321 4.1.1.10) and waits briefly for its reply.
    pub(super) fn quit_at(&mut self, now: Option<Instant>) {
        if self.data.is_some() {
            // Data still owed: QUIT would be taken as message data.
            self.data = None;
            return self.finish();
        }
        self.send("QUIT");
        self.phase = Phase::Quit;
        self.pending.clear();
        self.arm_data_end = false;
        self.deadline = Some(now.unwrap_or(self.now) + self.cfg.timeouts.quit);
    }

    /// Builds the outcome and asks the runtime to close.
    pub(super) fn finish(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        self.deadline = None;
        self.pending.clear();
        let recipients = self
            .env
            .recipients
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), self.result_of(i)))
            .collect();
        self.outcome = Some(Delivery {
            recipients,
            error: self.error.clone(),
            tls: self.tls.clone(),
            greeting: self.greeting.clone(),
            extensions: self.ext.lines.clone(),
        });
        self.actions.push_back(Action::Close);
    }

    /// The result for recipient `i`: of its transaction when that ended,
    /// else from the replies gathered so far.
    fn result_of(&self, i: usize) -> RcptResult {
        match self.settled.get(i) {
            Some(Some(r)) => r.clone(),
            _ => self.current_result(i),
        }
    }

    /// The result for recipient `i` from the replies of the current
    /// transaction.
    pub(super) fn current_result(&self, i: usize) -> RcptResult {
        if let Some(Err(why)) = self.rcpts.get(i) {
            return RcptResult::Failed {
                reply: Reply::with(553, (5, 1, 3), format!("local: {why}")),
                permanent: true,
            };
        }
        let mail_ok = self.mail_reply.as_ref().is_some_and(|r| r.code / 100 == 2);
        let Some(Some(rcpt)) = self.rcpt_replies.get(i).filter(|_| mail_ok) else {
            return RcptResult::NotAttempted;
        };
        if rcpt.code / 100 != 2 {
            // RFC 5321 4.5.3.1.10: 552 to RCPT means too many recipients.
            return RcptResult::Failed {
                reply: rcpt.clone(),
                permanent: rcpt.code >= 500 && rcpt.code != 552,
            };
        }
        match &self.final_reply {
            Some(r) if r.code / 100 == 2 => RcptResult::Delivered(r.clone()),
            Some(r) => RcptResult::Failed {
                reply: r.clone(),
                permanent: r.code >= 500,
            },
            None => RcptResult::NotAttempted,
        }
    }

    /// Starts the data-end deadline if all data was handed out.
    fn arm(&mut self, now: Instant) {
        self.now = now;
        if self.arm_data_end {
            self.arm_data_end = false;
            self.deadline = Some(now + self.cfg.timeouts.data_end);
        }
    }

    fn on_reply(&mut self, now: Instant, reply: Reply) {
        match self.phase {
            Phase::Greeting => {
                self.greeting = Some(reply.clone());
                if reply.code == 220 {
                    self.ehlo(now);
                } else if reply.code / 100 == 4 || reply.code / 100 == 5 {
                    // RFC 5321 3.1: 554 means no service; say QUIT.
                    let err = self.reply_error(reply, "greeting refused");
                    self.fail_then_quit(err);
                } else {
                    let err = self.reply_error(reply, "unexpected greeting");
                    self.fail_close(err);
                }
            }
            Phase::Ehlo => match reply.code {
                250 => {
                    self.ext = Extensions::parse(reply.lines.get(1..).unwrap_or_default());
                    self.after_ehlo(now);
                }
                // RFC 5321 4.1.4: an old server; HELO it is.
                500 | 502 => {
                    let line = format!("HELO {}", self.cfg.ehlo_name);
                    self.send(&line);
                    self.phase = Phase::Helo;
                    self.deadline = Some(now + self.cfg.timeouts.command);
                }
                _ => {
                    let err = self.reply_error(reply, "EHLO refused");
                    self.fail_then_quit(err);
                }
            },
            Phase::Helo => {
                if reply.code == 250 {
                    self.ext = Extensions::default();
                    self.after_ehlo(now);
                } else {
                    let err = self.reply_error(reply, "HELO refused");
                    self.fail_then_quit(err);
                }
            }
            Phase::StartTls => self.on_starttls_reply(now, reply),
            Phase::Auth => self.on_auth_reply(now, reply),
            Phase::Transaction => self.on_transaction_reply(now, reply),
            Phase::Quit => self.finish(),
            Phase::Handshake { .. } | Phase::Done => {}
        }
    }

    fn ehlo(&mut self, now: Instant) {
        let line = format!("EHLO {}", self.cfg.ehlo_name);
        self.send(&line);
        self.phase = Phase::Ehlo;
        self.deadline = Some(now + self.cfg.timeouts.command);
    }

    /// After EHLO/HELO: STARTTLS when the policy says so, then AUTH, then
    /// the transaction.
    fn after_ehlo(&mut self, now: Instant) {
        if self.tls.is_none() && self.cfg.tls.starttls != StartTls::Never {
            if self.ext.starttls {
                self.send("STARTTLS");
                self.phase = Phase::StartTls;
                self.deadline = Some(now + self.cfg.timeouts.command);
                return;
            }
            if self.cfg.tls.starttls == StartTls::Required {
                let err = ClientError {
                    stage: Stage::StartTls,
                    permanent: false,
                    reply: None,
                    detail: "TLS is required but the server does not offer STARTTLS".into(),
                    tls_failure: Some(TlsFailure {
                        result_type: "starttls-not-supported".into(),
                        detail: "STARTTLS not in the EHLO reply".into(),
                    }),
                };
                self.fail_then_quit(err);
                return;
            }
        }
        self.after_tls(now);
    }

    fn after_tls(&mut self, now: Instant) {
        if self.cfg.auth.is_some() {
            self.start_auth(now);
        } else {
            self.start_transaction(now);
        }
    }

    fn on_starttls_reply(&mut self, now: Instant, reply: Reply) {
        if reply.code == 220 {
            // RFC 3207 6: anything after the 220 before the handshake is
            // an injection attempt; it must not be read as TLS or SMTP.
            if self.reader.has_buffered() {
                let err = self.local_error(
                    "the server sent data after its 220 to STARTTLS (command injection?)",
                );
                self.fail_close(err);
                return;
            }
            self.request_handshake(false);
            return;
        }
        if self.cfg.tls.starttls == StartTls::Required || reply.code == 421 {
            let mut err = self.reply_error(reply, "STARTTLS refused");
            err.permanent = false;
            err.tls_failure = Some(TlsFailure {
                result_type: "starttls-not-supported".into(),
                detail: err.detail.clone(),
            });
            self.fail_then_quit(err);
            return;
        }
        // Opportunistic: the session goes on in plaintext (RFC 3207 4.1).
        self.after_tls(now);
    }

    fn on_handshake(&mut self, now: Instant, result: Result<TlsInfo, TlsFailure>) {
        let Phase::Handshake { before_greeting } = self.phase else {
            return;
        };
        match result {
            Ok(info) => {
                self.tls = Some(info);
                if before_greeting {
                    self.phase = Phase::Greeting;
                    self.deadline = Some(now + self.cfg.timeouts.greeting);
                } else {
                    // RFC 3207 4.2: forget what was learned; EHLO again.
                    self.ext = Extensions::default();
                    self.ehlo(now);
                }
            }
            Err(f) => {
                let err = ClientError {
                    stage: Stage::Tls,
                    permanent: false,
                    reply: None,
                    detail: format!("TLS handshake failed: {}: {}", f.result_type, f.detail),
                    tls_failure: Some(f),
                };
                self.fail_close(err);
            }
        }
    }

    /// AUTH with the strongest mechanism both sides allow (RFC 4954 4).
    fn start_auth(&mut self, now: Instant) {
        let Some(auth) = self.cfg.auth.clone() else {
            return;
        };
        let exporter = self
            .tls
            .as_ref()
            .and_then(|t| t.exporter.as_ref())
            .map(|e| e.expose().clone());
        let usable = |m: &Mechanism| {
            auth.mechanisms.contains(m)
                && self.ext.auth.contains(m)
                && (!m.is_plaintext() || self.tls.is_some())
                && (!m.is_plus() || exporter.is_some())
        };
        let Some(mechanism) = Mechanism::ALL.into_iter().find(usable) else {
            let offered: Vec<&str> = self.ext.auth.iter().map(|m| m.name()).collect();
            let detail = format!(
                "no usable AUTH mechanism: the server offers [{}]{}",
                offered.join(" "),
                if self.tls.is_none() {
                    " without TLS (PLAIN and LOGIN need TLS)"
                } else {
                    ""
                }
            );
            let mut err = self.local_error(detail);
            err.stage = Stage::Auth;
            self.fail_then_quit(err);
            return;
        };
        let cb_flag_y = exporter.is_some()
            && auth.mechanisms.iter().any(|m| m.is_plus())
            && !self.ext.auth.iter().any(|m| m.is_plus());
        let mut mech = ClientMechanism::new(mechanism, &auth.username, &auth.password);
        let nonce = self.sasl_nonce.clone().unwrap_or_default();
        self.phase = Phase::Auth;
        self.deadline = Some(now + self.cfg.timeouts.command);
        match mech.initial(&nonce, exporter.as_deref(), cb_flag_y) {
            Ok(Some(initial)) if initial.expose().is_empty() => {
                self.send(&format!("AUTH {} =", mechanism.name()));
            }
            Ok(Some(initial)) => {
                let line = format!("AUTH {} {}", mechanism.name(), B64.encode(initial.expose()));
                self.send(&line);
            }
            Ok(None) => self.send(&format!("AUTH {}", mechanism.name())),
            Err(e) => {
                let err = self.local_error(format!("{}: {e}", mechanism.name()));
                self.fail_then_quit(err);
                return;
            }
        }
        self.auth = Some(mech);
    }

    fn on_auth_reply(&mut self, now: Instant, reply: Reply) {
        let Some(mut mech) = self.auth.take() else {
            return;
        };
        match reply.code {
            235 if mech.complete() => self.start_transaction(now),
            235 => {
                let err = self.reply_error(reply, "server ended AUTH before proving itself");
                self.fail_close(err);
            }
            334 => {
                let text = reply.lines.first().map(String::as_str).unwrap_or_default();
                let step = B64
                    .decode(text.trim())
                    .map_err(|_| {
                        format!(
                            "malformed base64 in challenge {:?}",
                            escape(text.as_bytes())
                        )
                    })
                    .and_then(|challenge| mech.step(&challenge));
                match step {
                    Ok(Next::Respond(data)) => {
                        let line = B64.encode(data.expose());
                        self.send(&line);
                    }
                    // SCRAM's server-final came as a challenge: an empty
                    // response, then 235.
                    Ok(Next::Done) => self.send(""),
                    Err(e) => {
                        let err = self.local_error(format!("AUTH aborted: {e}"));
                        self.fail_close(err);
                        return;
                    }
                }
                self.deadline = Some(now + self.cfg.timeouts.command);
                self.auth = Some(mech);
            }
            _ => {
                let err = self.reply_error(reply, "AUTH failed");
                self.fail_then_quit(err);
            }
        }
    }
}

impl ClientConn {
    /// Whether the next reply answers data not yet handed out: it is read
    /// only after all data went out (a server answers the data after it).
    fn holding(&self) -> bool {
        self.data.is_some() && matches!(self.pending.front(), Some(Expect::Bdat | Expect::DataEnd))
    }

    /// Handles every complete reply buffered, in order.
    fn read_replies(&mut self, now: Instant) {
        loop {
            if matches!(self.phase, Phase::Done | Phase::Handshake { .. }) || self.holding() {
                return;
            }
            match self.reader.next_reply() {
                Ok(Some(reply)) => self.on_reply(now, reply),
                Ok(None) => return,
                Err(e) => {
                    let err = self.local_error(format!("protocol error: {e}"));
                    return self.fail_close(err);
                }
            }
        }
    }
}

/// `<addr>` for a path, or why it cannot be used. Sets `utf8` for a
/// non-ASCII address.
fn encode_path(addr: &str, utf8: &mut bool) -> Result<String, String> {
    use crate::smtp::address::{Cursor, mailbox};
    let mut c = Cursor::new(addr.as_bytes());
    match mailbox(&mut c) {
        Ok(m) if c.at_end() => {
            if !m.is_ascii() {
                *utf8 = true;
            }
            Ok(format!("<{m}>"))
        }
        Ok(_) => Err(format!(
            "bad address syntax in \"{}\"",
            escape(addr.as_bytes())
        )),
        Err(e) => Err(format!("bad address \"{}\": {e}", escape(addr.as_bytes()))),
    }
}

/// A reply on one line for error texts.
pub(super) fn show(reply: &Reply) -> String {
    let text = reply.lines.join(" / ");
    match reply.enhanced {
        Some((c, s, d)) => format!("{} {c}.{s}.{d} {text}", reply.code),
        None => format!("{} {text}", reply.code),
    }
}

impl Conn for ClientConn {
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.phase == Phase::Done {
            return;
        }
        self.arm(now);
        if let Phase::Handshake { .. } = self.phase {
            let err = self.local_error("input received while the TLS handshake was due");
            self.fail_close(err);
            return;
        }
        self.reader.push(bytes);
        self.read_replies(now);
    }

    fn handle_eof(&mut self, now: Instant) {
        if self.phase == Phase::Done {
            return;
        }
        self.arm(now);
        if self.phase == Phase::Quit {
            self.finish();
            return;
        }
        let err = self.local_error("the server closed the connection");
        self.fail_close(err);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Done {
            return;
        }
        self.arm(now);
        if self.deadline.is_none_or(|d| now < d) {
            return;
        }
        if self.phase == Phase::Quit {
            self.finish();
            return;
        }
        if self.data.is_some() && self.data_progress {
            // RFC 5321 4.5.3.2.5: the data made progress; check again.
            self.data_progress = false;
            self.deadline = Some(now + self.cfg.timeouts.data_block);
            return;
        }
        let err = self.local_error(if self.data.is_some() {
            "timeout: message data made no progress".to_string()
        } else {
            format!("timeout waiting for the reply ({:?})", self.stage())
        });
        self.fail_close(err);
    }

    fn handle_answer(&mut self, now: Instant, _id: NeedId, answer: Answer) {
        if self.phase == Phase::Done {
            return;
        }
        self.arm(now);
        if let Answer::TlsHandshake(result) = answer {
            self.on_handshake(now, result);
        }
    }

    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
        if self.transmit_data(out) {
            // Replies held while data was owed can be read now.
            let now = self.now;
            self.read_replies(now);
            out.append(&mut self.out);
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn wants_read(&self) -> bool {
        let closed_or_tls = matches!(self.phase, Phase::Done | Phase::Handshake { .. });
        // Backpressure: a held reply is read only after the data.
        let held = self.holding() && self.reader.has_buffered();
        !(closed_or_tls || held)
    }
}

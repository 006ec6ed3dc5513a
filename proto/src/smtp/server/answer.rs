//! The caller's answers to the connection's questions and their effect on
//! the session (RFC 5321 3.3: the transaction starts with an accepted MAIL,
//! ends with the reply to the end of data).

use super::{Mode, Question, Sink, SmtpServer, Txn};
use crate::smtp::data::DotDecoder;
use crate::smtp::ehlo;
use crate::smtp::reply::Reply;

impl SmtpServer {
    /// Answers the question in flight positively with the standard reply.
    /// A no-op for `AuthStart`/`Secrets` or without a question.
    pub fn accept(&mut self) {
        let reply = match &self.mode {
            Mode::Caller(Question::Ehlo { extended: true }) => self.ehlo_reply(),
            Mode::Caller(Question::Ehlo { extended: false }) => {
                ehlo::helo_reply(&self.cfg.hostname)
            }
            Mode::Caller(Question::Mail { .. }) => Reply::sender_ok(),
            Mode::Caller(Question::Rcpt) => Reply::recipient_ok(),
            Mode::Caller(Question::DataStart { bdat: None }) => Reply::start_data(),
            Mode::Caller(Question::DataStart { bdat: Some(_) }) => Reply::ok(),
            Mode::Caller(Question::DataEnd) => Reply::message_accepted(),
            Mode::Caller(Question::Auth) => Reply::auth_ok(),
            _ => return,
        };
        self.answer(true, reply);
    }

    /// Answers positively with the caller's reply (e.g. `250 2.0.0 queued
    /// as X` for `DataEnd`). For EHLO the capability list is used instead;
    /// for the `DataStart` of BDAT no reply is due (the chunk's reply
    /// follows its bytes), so `reply` is unused.
    pub fn accept_with(&mut self, reply: Reply) {
        match &self.mode {
            Mode::Caller(Question::Ehlo { .. }) => self.accept(),
            Mode::Caller(_) => self.answer(true, reply),
            _ => {}
        }
    }

    /// Refuses the question in flight with `reply`. For `AuthStart` the
    /// exchange does not start; for `NeedSecrets` this acts as
    /// `provide_secrets(None)` (the connection answers `535`).
    pub fn reject(&mut self, reply: Reply) {
        if matches!(self.mode, Mode::Caller(Question::Secrets)) {
            // Refusing the secrets lookup fails the exchange.
            return self.provide_secrets(None);
        }
        if matches!(self.mode, Mode::Caller(_)) {
            self.answer(false, reply);
        }
    }

    /// Writes the answer and applies its effect on the session.
    fn answer(&mut self, ok: bool, reply: Reply) {
        if self.closed {
            return;
        }
        let Mode::Caller(q) = std::mem::replace(&mut self.mode, Mode::Command) else {
            return;
        };
        self.timer.rearm = true;
        match q {
            Question::Ehlo { extended } => {
                self.write(&reply);
                let name = self.pending_helo.take();
                if let (true, Some(name)) = (ok, name) {
                    self.helo = Some((name, extended));
                }
            }
            Question::Mail { smtputf8, body } => {
                self.write(&reply);
                if ok {
                    self.txn = Some(Txn {
                        smtputf8,
                        body,
                        ..Txn::default()
                    });
                }
            }
            Question::Rcpt => {
                self.write(&reply);
                if let (true, Some(t)) = (ok, self.txn.as_mut()) {
                    t.rcpts = t.rcpts.saturating_add(1);
                }
            }
            Question::DataStart { bdat: None } => {
                self.write(&reply);
                match (ok, self.txn.as_mut()) {
                    (true, Some(t)) => {
                        t.data = Some((DotDecoder::new(), 0));
                        self.mode = Mode::Data;
                    }
                    _ => self.txn = None,
                }
            }
            Question::DataStart {
                bdat: Some((size, last)),
            } => {
                let sink = if ok {
                    if let Some(t) = self.txn.as_mut() {
                        t.bdat = Some(size);
                    }
                    Sink::Deliver
                } else {
                    Sink::Discard {
                        reply,
                        error: false,
                        abort: None,
                    }
                };
                self.mode = Mode::Bdat {
                    size,
                    remaining: size,
                    last,
                    sink,
                };
            }
            Question::DataEnd => {
                self.write(&reply);
                self.txn = None;
            }
            Question::AuthStart { .. } | Question::Secrets => {
                self.write(&reply);
                self.sasl = None;
            }
            Question::Auth => {
                self.write(&reply);
                if ok {
                    self.authenticated = self.sasl_user.take();
                }
                self.sasl = None;
            }
        }
        self.pump();
    }
}

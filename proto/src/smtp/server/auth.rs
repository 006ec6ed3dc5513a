//! AUTH on submission (RFC 4954) over the SASL mechanisms of
//! [`crate::sasl`]: challenges as `334 base64`, `*` cancels, SCRAM's
//! server-final message as one more challenge answered by an empty line.

use base64::Engine as _;

use super::input::Line;
use super::{Mode, Question, SmtpEvent, SmtpServer};
use crate::sasl::{Mechanism, MechanismContext, PasswordSecrets, SaslError, ServerMechanism, Step};
use crate::secret::Secret;
use crate::smtp::command::decode_sasl;
use crate::smtp::reply::Reply;

impl SmtpServer {
    /// `AUTH mechanism [initial-response]`: checks the session, then asks
    /// the caller ([`SmtpEvent::AuthStart`]).
    pub(super) fn on_auth(&mut self, name: &str, initial: Option<Secret<Vec<u8>>>) {
        if !self.cfg.submission {
            return self.error(Reply::bad_sequence(
                "authentication only allowed on submission ports",
            ));
        }
        if self.authenticated.is_some() {
            return self.error(Reply::bad_sequence("already authenticated"));
        }
        if self.helo.is_none() {
            return self.error(Reply::bad_sequence("send EHLO first"));
        }
        // RFC 4954 4: not during a mail transaction.
        if self.txn.is_some() {
            return self.error(Reply::bad_sequence(
                "AUTH not allowed during a mail transaction",
            ));
        }
        if !self.tls && !self.cfg.allow_plain_auth_without_tls {
            return self.error(Reply::encryption_required());
        }
        // RFC 4954 6: EXTERNAL needs the TLS client certificate, so TLS.
        if !self.tls && name.eq_ignore_ascii_case("EXTERNAL") {
            return self.error(Reply::encryption_required());
        }
        let plus = self.plus_offered();
        let Some(mechanism) = Mechanism::from_name(name).filter(|m| plus || !m.is_plus()) else {
            return self.error(Reply::mechanism_unsupported());
        };
        self.ask(
            SmtpEvent::AuthStart { mechanism },
            Question::AuthStart { mechanism, initial },
        );
    }

    /// Answers [`SmtpEvent::AuthStart`]: runs the exchange with `ctx`
    /// (fresh SCRAM nonce and CRAM-MD5 challenge, this connection's
    /// channel bindings). `plus_advertised` is set by the connection.
    pub fn start_auth(&mut self, mut ctx: MechanismContext) {
        if self.closed || !matches!(self.mode, Mode::Caller(Question::AuthStart { .. })) {
            return;
        }
        let Mode::Caller(Question::AuthStart { mechanism, initial }) =
            std::mem::replace(&mut self.mode, Mode::Command)
        else {
            return;
        };
        self.timer.rearm = true;
        ctx.plus_advertised = self.plus_offered();
        let mut m = ServerMechanism::new(mechanism, ctx);
        let step = m.start(initial.as_ref().map(|s| s.expose().as_slice()));
        self.sasl = Some(m);
        self.sasl_user = None;
        self.on_step(step);
        self.pump();
    }

    /// Answers [`SmtpEvent::NeedSecrets`] (`None`: no such account).
    pub fn provide_secrets(&mut self, secrets: Option<PasswordSecrets>) {
        if self.closed || !matches!(self.mode, Mode::Caller(Question::Secrets)) {
            return;
        }
        self.mode = Mode::Command;
        self.timer.rearm = true;
        let step = match self.sasl.as_mut() {
            Some(m) => m.provide_secrets(secrets),
            None => Step::Failure(SaslError::OutOfOrder),
        };
        self.on_step(step);
        self.pump();
    }

    fn on_step(&mut self, step: Step) {
        match step {
            Step::Challenge(data) => {
                self.challenge(&data);
                self.mode = Mode::AuthLine { success: None };
            }
            Step::NeedSecrets { authcid, .. } => {
                self.sasl_user = Some(authcid.clone());
                self.ask(
                    SmtpEvent::NeedSecrets { username: authcid },
                    Question::Secrets,
                );
            }
            Step::Success {
                authcid,
                authzid,
                final_data,
            } => {
                self.sasl_user = Some(authcid.clone());
                match final_data {
                    Some(data) => {
                        self.challenge(&data);
                        self.mode = Mode::AuthLine {
                            success: Some((authcid, authzid)),
                        };
                    }
                    None => self.auth_success(authcid, authzid),
                }
            }
            Step::Failure(e) => self.auth_failure(Some(e)),
        }
    }

    /// `334 base64` (RFC 4954 4).
    fn challenge(&mut self, data: &[u8]) {
        let text = base64::engine::general_purpose::STANDARD.encode(data);
        self.write(&Reply::new(334, None, text));
    }

    fn mechanism(&self) -> Mechanism {
        self.sasl
            .as_ref()
            .map_or(Mechanism::Plain, ServerMechanism::mechanism)
    }

    fn auth_success(&mut self, authcid: String, authzid: Option<String>) {
        let mechanism = self.mechanism();
        self.ask(
            SmtpEvent::Auth {
                mechanism,
                authcid,
                authzid,
            },
            Question::Auth,
        );
    }

    /// Ends the exchange with `535 5.7.8` (bad credentials), `501 5.5.2`
    /// (malformed data) or `501 5.0.0` (cancelled, `error` None).
    fn auth_failure(&mut self, error: Option<SaslError>) {
        let mechanism = self.mechanism();
        self.sasl = None;
        self.mode = Mode::Command;
        let reply = match &error {
            None => Reply::auth_cancelled(),
            Some(SaslError::Malformed(_) | SaslError::InvalidUtf8) => {
                Reply::with(501, (5, 5, 2), "malformed authentication data")
            }
            Some(_) => Reply::auth_failed(),
        };
        let username = self.sasl_user.take();
        self.push_event(SmtpEvent::AuthFailed {
            mechanism,
            username,
            error,
        });
        self.error(reply);
    }

    /// The client's answer to a `334` challenge.
    pub(super) fn on_auth_line(&mut self, line: Line) {
        let Mode::AuthLine { success } = std::mem::replace(&mut self.mode, Mode::Command) else {
            return;
        };
        let data = match line {
            Line::Ok(l) if l == b"*" => return self.auth_failure(None),
            Line::Ok(l) => l,
            Line::TooLong | Line::Bare => {
                return self.auth_failure(Some(SaslError::Malformed("invalid response line")));
            }
        };
        if let Some((authcid, authzid)) = success {
            // The answer to the server-final message is empty.
            if data.is_empty() {
                return self.auth_success(authcid, authzid);
            }
            return self.auth_failure(Some(SaslError::Malformed("expected an empty response")));
        }
        let Some(decoded) = decode_sasl(&data) else {
            return self.auth_failure(Some(SaslError::Malformed("invalid base64")));
        };
        let step = match self.sasl.as_mut() {
            Some(m) => m.step(&decoded),
            None => Step::Failure(SaslError::OutOfOrder),
        };
        self.on_step(step);
    }
}

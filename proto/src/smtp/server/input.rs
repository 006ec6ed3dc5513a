//! Client input: command-line framing (CRLF only, 1000-octet limit),
//! command dispatch with the sequence rules of RFC 5321 3.3 and 4.1.4, and
//! the reading of DATA and BDAT message bytes.

use super::{
    AbortReason, DATA_STEP, MAX_AUTH_LINE, MAX_LINE, Mode, Question, Sink, SmtpEvent, SmtpServer,
};
use crate::conn::Action;
use crate::smtp::command::{Body, Command, CommandError, parse_command};
use crate::smtp::reply::Reply;

/// One framed line.
pub(super) enum Line {
    /// The line without its CRLF.
    Ok(Vec<u8>),
    /// Over the length limit; the rest of it is skipped.
    TooLong,
    /// Ended by a bare LF or held a bare CR.
    Bare,
}

impl SmtpServer {
    /// Handles one unit of input. Returns true on progress.
    pub(super) fn step(&mut self) -> bool {
        if self.skipping {
            return self.skip_line();
        }
        match self.mode {
            Mode::Command => match self.next_line(false) {
                Some(Line::Ok(l)) => {
                    self.on_command(&l);
                    true
                }
                Some(Line::TooLong) => {
                    self.error(Reply::line_too_long());
                    true
                }
                Some(Line::Bare) => {
                    self.error(Reply::bare_line_ending());
                    true
                }
                None => false,
            },
            Mode::AuthLine { .. } => match self.next_line(true) {
                Some(line) => {
                    self.on_auth_line(line);
                    true
                }
                None => false,
            },
            Mode::Data => self.data_step(),
            Mode::Bdat { .. } => self.bdat_step(),
            Mode::Caller(_) => false,
        }
    }

    /// Drops input up to and including the next LF.
    fn skip_line(&mut self) -> bool {
        let avail = self.buf.get(self.pos..).unwrap_or_default();
        match avail.iter().position(|&b| b == b'\n') {
            Some(j) => {
                self.pos += j + 1;
                self.skipping = false;
                true
            }
            None => {
                self.pos = self.buf.len();
                false
            }
        }
    }

    /// Frames the next line. Lines end only at CRLF; the limit counts the
    /// CRLF (RFC 5321 4.5.3.1.4), and is 12288 for AUTH lines (RFC 4954 4).
    pub(super) fn next_line(&mut self, auth: bool) -> Option<Line> {
        let avail = self.buf.get(self.pos..).unwrap_or_default();
        let auth = auth
            || avail
                .get(..5)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"AUTH "));
        let max = if auth { MAX_AUTH_LINE } else { MAX_LINE };
        match avail.iter().position(|&b| b == b'\n') {
            Some(j) => {
                let line = avail.get(..j).unwrap_or_default();
                self.pos += j + 1;
                if j + 1 > max {
                    return Some(Line::TooLong);
                }
                // RFC 5321 2.3.8: CRLF only; a bare CR or LF is refused.
                let Some(content) = line.strip_suffix(b"\r") else {
                    return Some(Line::Bare);
                };
                if content.contains(&b'\r') {
                    return Some(Line::Bare);
                }
                Some(Line::Ok(content.to_vec()))
            }
            None if avail.len() > max => {
                self.pos = self.buf.len();
                self.skipping = true;
                Some(Line::TooLong)
            }
            None => None,
        }
    }

    fn on_command(&mut self, line: &[u8]) {
        let cmd = match parse_command(line) {
            Ok(c) => c,
            Err(CommandError::Unknown) => return self.error(Reply::unknown_command()),
            Err(CommandError::Syntax(t)) => return self.error(Reply::syntax(t)),
            Err(CommandError::UnsupportedParameter(n)) => {
                return self.error(Reply::unsupported_parameter(&n));
            }
            Err(CommandError::BadBdat) => {
                // The chunk size is unknown, so its bytes cannot be told
                // from commands: the connection cannot continue.
                self.write(&Reply::syntax("invalid BDAT command"));
                let r = Reply::cannot_continue(&self.cfg.hostname);
                self.write(&r);
                return self.close();
            }
        };
        match cmd {
            Command::Ehlo(name) => self.on_helo(name, true),
            Command::Helo(name) => self.on_helo(name, false),
            Command::Mail { from, params } => {
                if self.helo.is_none() {
                    return self.error(Reply::bad_sequence("send EHLO or HELO first"));
                }
                if self.cfg.submission
                    && self.authenticated.is_none()
                    && self.key_authenticated.is_none()
                {
                    return self.error(Reply::auth_required());
                }
                if self.txn.is_some() {
                    return self.error(Reply::bad_sequence("nested MAIL command"));
                }
                if !params.smtputf8 && from.as_ref().is_some_and(|m| !m.is_ascii()) {
                    return self.error(Reply::utf8_without_smtputf8());
                }
                if params.requiretls && !self.tls {
                    return self.error(Reply::requiretls_without_tls());
                }
                // RFC 1870 6.1: a declared size over the limit is refused.
                if params.size.is_some_and(|s| s > self.cfg.max_message_size) {
                    return self.write(&Reply::too_big());
                }
                let q = Question::Mail {
                    smtputf8: params.smtputf8,
                    body: params.body,
                };
                self.ask(SmtpEvent::MailFrom { from, params }, q);
            }
            Command::Rcpt { to, params } => {
                let Some(t) = self.txn.as_ref() else {
                    return self.error(Reply::bad_sequence("need MAIL before RCPT"));
                };
                if t.bdat.is_some() {
                    return self.error(Reply::bad_sequence("RCPT after BDAT"));
                }
                if !t.smtputf8 && !to.is_ascii() {
                    return self.error(Reply::utf8_without_smtputf8());
                }
                if t.rcpts >= self.cfg.max_recipients {
                    return self.write(&Reply::too_many_recipients());
                }
                self.ask(SmtpEvent::RcptTo { to, params }, Question::Rcpt);
            }
            Command::Data => {
                let Some(t) = self.txn.as_ref() else {
                    return self.error(Reply::bad_sequence("need MAIL before DATA"));
                };
                // RFC 3030 2 and 3: not after BDAT, not with BINARYMIME.
                if t.bdat.is_some() {
                    return self.error(Reply::bad_sequence("DATA after BDAT"));
                }
                if t.body == Some(Body::BinaryMime) {
                    return self.error(Reply::bad_sequence("BODY=BINARYMIME requires BDAT"));
                }
                if t.rcpts == 0 {
                    return self.error(Reply::no_recipients());
                }
                self.ask(
                    SmtpEvent::DataStart { chunking: false },
                    Question::DataStart { bdat: None },
                );
            }
            Command::Bdat { size, last } => self.on_bdat(size, last),
            Command::Rset => {
                self.txn = None;
                self.write(&Reply::ok());
                self.push_event(SmtpEvent::Reset);
            }
            Command::Noop => self.write(&Reply::ok()),
            Command::Quit => {
                self.write(&Reply::bye());
                if self.in_data() {
                    self.abort_txn(AbortReason::Eof);
                }
                self.push_event(SmtpEvent::Quit);
                self.close();
            }
            // RFC 5321 3.5.3: 252 when not verifying; EXPN is not offered.
            Command::Vrfy(_) => self.write(&Reply::cannot_verify()),
            Command::Expn(_) => self.write(&Reply::expn_not_implemented()),
            Command::Help => self.write(&Reply::help()),
            Command::StartTls => self.on_starttls(),
            Command::Auth { mechanism, initial } => self.on_auth(&mechanism, initial),
        }
    }

    /// EHLO or HELO: asks the caller. RFC 5321 4.1.4: any transaction is
    /// reset.
    fn on_helo(&mut self, name: crate::smtp::address::Host, extended: bool) {
        self.txn = None;
        self.pending_helo = Some(name.clone());
        self.ask(
            SmtpEvent::Ehlo { name, extended },
            Question::Ehlo { extended },
        );
    }

    /// RFC 3207 4: `220`, then TLS; input already received is discarded
    /// (command injection) and the session returns to before EHLO (4.2).
    fn on_starttls(&mut self) {
        if self.tls {
            return self.error(Reply::bad_sequence("TLS already active"));
        }
        if !self.cfg.tls_available {
            return self.error(Reply::with(502, (5, 5, 1), "STARTTLS not available"));
        }
        if self.helo.is_none() {
            return self.error(Reply::bad_sequence("send EHLO first"));
        }
        self.write(&Reply::tls_ready());
        self.buf.clear();
        self.pos = 0;
        self.skipping = false;
        self.txn = None;
        self.helo = None;
        self.authenticated = None;
        self.key_authenticated = None;
        self.client_certificate = false;
        self.tls = true;
        self.push_event(SmtpEvent::StartTls);
        self.actions.push_back(Action::StartTls);
    }

    /// `BDAT size [LAST]` (RFC 3030 2): the chunk follows the line, so a
    /// refused chunk is still read (and dropped) before the reply.
    fn on_bdat(&mut self, size: u64, last: bool) {
        let discard = |reply: Reply, error: bool, abort: Option<AbortReason>| Mode::Bdat {
            size,
            remaining: size,
            last,
            sink: Sink::Discard {
                reply,
                error,
                abort,
            },
        };
        let max = self.cfg.max_message_size;
        let Some(t) = self.txn.as_mut() else {
            self.mode = discard(Reply::bad_sequence("need MAIL before BDAT"), true, None);
            return;
        };
        if t.rcpts == 0 {
            self.mode = discard(Reply::no_recipients(), true, None);
            return;
        }
        let total = t.bdat.unwrap_or(0).saturating_add(size);
        if total > max {
            self.mode = discard(Reply::too_big(), false, Some(AbortReason::TooBig));
            return;
        }
        if t.bdat.is_none() {
            return self.ask(
                SmtpEvent::DataStart { chunking: true },
                Question::DataStart {
                    bdat: Some((size, last)),
                },
            );
        }
        t.bdat = Some(total);
        self.mode = Mode::Bdat {
            size,
            remaining: size,
            last,
            sink: Sink::Deliver,
        };
    }

    /// Reads BDAT chunk bytes.
    fn bdat_step(&mut self) -> bool {
        let avail = self.buffered();
        let Mode::Bdat {
            remaining, sink, ..
        } = &mut self.mode
        else {
            return false;
        };
        if *remaining == 0 {
            self.finish_chunk();
            return true;
        }
        let n = (*remaining).min(avail as u64).min(DATA_STEP as u64) as usize;
        if n == 0 {
            return false;
        }
        *remaining -= n as u64;
        let deliver = matches!(sink, Sink::Deliver);
        let start = self.pos;
        self.pos += n;
        if deliver {
            let chunk = self.buf.get(start..start + n).unwrap_or_default().to_vec();
            self.push_event(SmtpEvent::DataChunk(chunk));
        }
        true
    }

    /// A BDAT chunk was read to its end.
    fn finish_chunk(&mut self) {
        let Mode::Bdat {
            size, last, sink, ..
        } = std::mem::replace(&mut self.mode, Mode::Command)
        else {
            return;
        };
        self.timer.rearm = true;
        match sink {
            Sink::Deliver if last => self.ask(SmtpEvent::DataEnd, Question::DataEnd),
            Sink::Deliver => self.write(&Reply::chunk_received(size)),
            Sink::Discard {
                reply,
                error,
                abort,
            } => {
                self.txn = None;
                if let Some(reason) = abort {
                    self.push_event(SmtpEvent::DataAborted(reason));
                }
                if error {
                    self.error(reply);
                } else {
                    self.write(&reply);
                }
            }
        }
    }

    /// Decodes DATA message bytes; at the end asks for `DataEnd`, or
    /// refuses the message (bare CR/LF: `500 5.5.2`; over the size limit:
    /// `552 5.3.4`) once it was read to its end.
    fn data_step(&mut self) -> bool {
        let max = self.cfg.max_message_size;
        let end = self.buf.len().min(self.pos + DATA_STEP);
        let avail = self.buf.get(self.pos..end).unwrap_or_default();
        if avail.is_empty() {
            return false;
        }
        let Some((dec, total)) = self.txn.as_mut().and_then(|t| t.data.as_mut()) else {
            self.mode = Mode::Command;
            return true;
        };
        let mut out = Vec::new();
        let (n, done) = dec.decode(avail, &mut out);
        let before = *total;
        *total = before.saturating_add(out.len() as u64);
        let total = *total;
        let bare = dec.bare_line_ending();
        self.pos += n;
        // Deliver at most `max` octets: the rest is read and dropped.
        let room = usize::try_from(max.saturating_sub(before)).unwrap_or(usize::MAX);
        out.truncate(room);
        if !out.is_empty() {
            self.push_event(SmtpEvent::DataChunk(out));
        }
        if done {
            self.mode = Mode::Command;
            self.timer.rearm = true;
            if bare {
                self.abort_txn(AbortReason::BareLineEnding);
                self.error(Reply::bare_line_ending_in_data());
            } else if total > max {
                self.abort_txn(AbortReason::TooBig);
                self.write(&Reply::too_big());
            } else {
                if let Some(t) = self.txn.as_mut() {
                    t.data = None;
                }
                self.ask(SmtpEvent::DataEnd, Question::DataEnd);
            }
        }
        true
    }
}

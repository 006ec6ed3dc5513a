//! The mail transaction of [`ClientConn`] (RFC 5321 3.3): the checks
//! before MAIL, MAIL with its parameters, RCPT per recipient, and the data
//! by DATA (dot-stuffed) or BDAT LAST (RFC 3030), pipelined when the
//! server offers PIPELINING (RFC 2920 3.1: MAIL, every RCPT and DATA or
//! BDAT in one write).
//!
//! LIMITS (RFC 9422): when the server announces RCPTMAX, a transaction has
//! at most that many recipients and the rest follow in further
//! transactions on the same connection (4.2), each with the same MAIL and
//! message, after an RSET when the server may still hold the previous
//! one; at most MAILMAX transactions, the recipients left over are not
//! attempted (retried on another connection).

use std::time::Instant;

use super::conn::{ClientConn, DATA_PIECE, DataOut, Expect, Phase};
use super::data::DotStuffer;
use super::{Body, ClientError, RcptResult, Stage};
use crate::smtp::reply::Reply;

impl ClientConn {
    /// A failure decided locally before MAIL, reported as `reply`.
    fn refuse(&mut self, permanent: bool, code: u16, enhanced: (u8, u16, u16), detail: String) {
        let err = ClientError {
            stage: Stage::Mail,
            permanent,
            reply: Some(Reply::with(code, enhanced, format!("local: {detail}"))),
            detail,
            tls_failure: None,
        };
        self.fail_then_quit(err);
    }

    /// Checks what the message needs against what the server offers, then
    /// sends MAIL (and with PIPELINING everything up to DATA/BDAT).
    pub(super) fn start_transaction(&mut self, now: Instant) {
        self.phase = Phase::Transaction;
        let ext = self.ext.clone();
        let size = self.message.len() as u64;
        // RFC 8689 4.1: REQUIRETLS only over TLS, to a server offering it.
        if self.env.requiretls && (self.tls.is_none() || !ext.requiretls) {
            let why = if self.tls.is_none() {
                "REQUIRETLS: the connection is not TLS"
            } else {
                "REQUIRETLS: the server does not offer REQUIRETLS"
            };
            return self.refuse(true, 550, (5, 7, 30), why.into());
        }
        let smtputf8 = self.env.smtputf8 || self.utf8_addresses;
        // RFC 6531 3.4: no downgrade; the message cannot go this way.
        if smtputf8 && !ext.smtputf8 {
            let why = "the message needs SMTPUTF8, which the server does not offer";
            return self.refuse(true, 554, (5, 6, 7), why.into());
        }
        match self.env.body {
            // RFC 3030 3: BINARYMIME only with CHUNKING.
            Body::BinaryMime if !(ext.binarymime && ext.chunking) => {
                let why =
                    "the message is binary; the server does not offer BINARYMIME and CHUNKING";
                return self.refuse(true, 554, (5, 6, 3), why.into());
            }
            // RFC 6152 3: without 8BITMIME, 8-bit data is not delivered.
            Body::EightBitMime if !ext.eightbitmime => {
                let why = "the message has 8-bit data; the server does not offer 8BITMIME";
                return self.refuse(true, 554, (5, 6, 3), why.into());
            }
            _ => {}
        }
        // RFC 1870 6.
        if let Some(max) = ext.max_size()
            && size > max
        {
            let why = format!("message of {size} octets over the server's SIZE limit of {max}");
            return self.refuse(true, 552, (5, 3, 4), why);
        }
        let from = match &self.mail_from {
            Ok(from) => from.clone(),
            Err(why) => {
                let why = why.clone();
                return self.refuse(true, 553, (5, 1, 7), format!("reverse path: {why}"));
            }
        };
        if self.rcpts.iter().all(Result::is_err) {
            // Every recipient has its own (local) failure.
            self.quit_at(Some(now));
            return;
        }
        let mut mail = format!("MAIL FROM:{from}");
        if ext.size.is_some() {
            mail.push_str(&format!(" SIZE={size}"));
        }
        match self.env.body {
            Body::BinaryMime => mail.push_str(" BODY=BINARYMIME"),
            Body::EightBitMime => mail.push_str(" BODY=8BITMIME"),
            Body::SevenBit if ext.eightbitmime => mail.push_str(" BODY=7BIT"),
            Body::SevenBit => {}
        }
        if smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        if self.env.requiretls {
            mail.push_str(" REQUIRETLS");
        }
        self.mail_line = mail;
        self.pipelined = ext.pipelining;
        self.begin_batch(now);
    }

    /// MAIL for the next recipients: all that are left, or at most
    /// RCPTMAX usable ones (RFC 9422 4.2); with PIPELINING their RCPTs and
    /// DATA/BDAT go along. QUIT when no usable recipient is left.
    fn begin_batch(&mut self, now: Instant) {
        let start = self.batch.end;
        let max = self
            .ext
            .rcpt_max
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let (mut end, mut usable) = (start, 0usize);
        while usable < max
            && let Some(r) = self.rcpts.get(end)
        {
            usable += usize::from(r.is_ok());
            end += 1;
        }
        if usable == 0 {
            return self.quit_at(Some(now));
        }
        self.batch = start..end;
        self.mail_reply = None;
        self.final_reply = None;
        self.transactions = self.transactions.saturating_add(1);
        let mail = self.mail_line.clone();
        self.send(&mail);
        self.pending.push_back(Expect::Mail);
        self.deadline = Some(now + self.cfg.timeouts.mail);
        if self.pipelined {
            for i in self.batch.clone() {
                self.send_rcpt(i);
            }
            self.send_data_command(now);
        }
    }

    /// The current transaction is over: its recipients' results are
    /// final. Then the next batch (after RSET unless the server answered
    /// the data with 2xx and so holds no transaction, RFC 5321 4.1.1.5),
    /// or QUIT after an error, after the last recipient, or at MAILMAX.
    fn end_transaction(&mut self, now: Instant, completed: bool) {
        for i in self.batch.clone() {
            let r: RcptResult = self.current_result(i);
            if let Some(slot) = self.settled.get_mut(i) {
                *slot = Some(r);
            }
        }
        let more = self
            .rcpts
            .get(self.batch.end..)
            .is_some_and(|rest| rest.iter().any(Result::is_ok));
        if self.error.is_some() || !more {
            return self.quit_at(Some(now));
        }
        if let Some(max) = self.ext.mail_max
            && self.transactions >= max
        {
            self.error = Some(ClientError {
                stage: Stage::Mail,
                permanent: false,
                reply: None,
                detail: format!(
                    "the server takes {max} transactions per connection (LIMITS MAILMAX); the other recipients wait for another connection"
                ),
                tls_failure: None,
            });
            return self.quit_at(Some(now));
        }
        if completed {
            return self.begin_batch(now);
        }
        self.send("RSET");
        self.pending.push_back(Expect::Rset);
        if self.pipelined {
            // RFC 2920 3.1: RSET may go anywhere in a pipelined group.
            self.begin_batch(now);
        } else {
            self.deadline = Some(now + self.cfg.timeouts.command);
        }
    }

    /// RCPT for recipient `i` when its address is usable.
    fn send_rcpt(&mut self, i: usize) -> bool {
        let Some(Ok(to)) = self.rcpts.get(i) else {
            return false;
        };
        let line = format!("RCPT TO:{to}");
        self.send(&line);
        self.pending.push_back(Expect::Rcpt(i));
        true
    }

    /// DATA, or `BDAT n LAST` with the message.
    fn send_data_command(&mut self, now: Instant) {
        if self.ext.chunking {
            // RFC 3030 2: the whole message as the last chunk.
            let line = format!("BDAT {} LAST", self.message.len());
            self.send(&line);
            self.pending.push_back(Expect::Bdat);
            self.start_data(now, None);
        } else {
            self.send("DATA");
            self.pending.push_back(Expect::Data);
        }
    }

    fn start_data(&mut self, now: Instant, stuffer: Option<DotStuffer>) {
        self.data = Some(DataOut { offset: 0, stuffer });
        self.data_progress = false;
        self.deadline = Some(now + self.cfg.timeouts.data_block);
    }

    /// Hands out the next piece of message data; true when that was the
    /// last.
    pub(super) fn transmit_data(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(d) = self.data.as_mut() else {
            return false;
        };
        let end = d.offset.saturating_add(DATA_PIECE).min(self.message.len());
        let piece = self.message.get(d.offset..end).unwrap_or_default();
        match d.stuffer.as_mut() {
            Some(s) => s.encode(piece, out),
            None => out.extend_from_slice(piece),
        }
        d.offset = end;
        self.data_progress = true;
        if end >= self.message.len() {
            if let Some(s) = d.stuffer.as_mut() {
                s.finish(out);
            }
            self.data = None;
            // Waiting for the last reply from now on (RFC 5321 4.5.3.2.6).
            if self.pending.back() == Some(&Expect::DataEnd)
                || self.pending.back() == Some(&Expect::Bdat)
            {
                self.arm_data_end = true;
            }
            return true;
        }
        false
    }

    fn mail_refused(&self, reply: Reply) -> ClientError {
        let mut err = self.reply_error(reply, "MAIL refused");
        err.stage = Stage::Mail;
        err
    }

    /// Whether a recipient of the current transaction was accepted.
    fn rcpt_accepted(&self) -> bool {
        self.rcpt_replies
            .get(self.batch.clone())
            .unwrap_or_default()
            .iter()
            .any(|r| r.as_ref().is_some_and(|r| r.code / 100 == 2))
    }

    pub(super) fn on_transaction_reply(&mut self, now: Instant, reply: Reply) {
        let Some(expect) = self.pending.pop_front() else {
            let err = self.reply_error(reply, "unexpected reply");
            return self.fail_close(err);
        };
        if reply.code == 421 {
            // RFC 5321 3.8: the server is closing, in answer to `expect`.
            let mut err = self.reply_error(reply, "server closing");
            err.stage = expect.stage();
            return self.fail_close(err);
        }
        if self.data.is_some() && matches!(expect, Expect::Bdat | Expect::DataEnd) {
            let err = self.reply_error(reply, "reply before the end of the message data");
            return self.fail_close(err);
        }
        match expect {
            Expect::Mail => {
                let ok = reply.code / 100 == 2;
                self.mail_reply = Some(reply.clone());
                if !ok && !self.pipelined {
                    let err = self.mail_refused(reply);
                    return self.fail_then_quit(err);
                }
                if !self.pipelined {
                    self.next_rcpt(now, self.batch.start);
                }
            }
            Expect::Rcpt(i) => {
                let refused_more = i > self.batch.start && matches!(reply.code, 452 | 552);
                if let Some(slot) = self.rcpt_replies.get_mut(i) {
                    *slot = Some(reply.clone());
                }
                if !self.pipelined {
                    if refused_more && self.rcpt_accepted() {
                        // RFC 5321 4.5.3.1.10: no more recipients in this
                        // transaction; the rest of it get the same answer.
                        let rest = i + 1..self.batch.end;
                        for slot in self.rcpt_replies.get_mut(rest).unwrap_or_default() {
                            *slot = Some(reply.clone());
                        }
                        return self.after_rcpts(now);
                    }
                    self.next_rcpt(now, i + 1);
                }
            }
            Expect::Data => self.on_data_reply(now, reply),
            Expect::Dot => self.end_transaction(now, reply.code / 100 == 2),
            Expect::Bdat => {
                if self.pipelined && self.mail_reply.as_ref().is_some_and(|r| r.code / 100 != 2) {
                    let mail = self.mail_reply.clone().unwrap_or(reply);
                    let err = self.mail_refused(mail);
                    return self.fail_then_quit(err);
                }
                let completed = reply.code / 100 == 2;
                if self.rcpt_accepted() {
                    self.final_reply = Some(reply);
                }
                self.end_transaction(now, completed);
            }
            Expect::DataEnd => {
                let completed = reply.code / 100 == 2;
                self.final_reply = Some(reply);
                self.end_transaction(now, completed);
            }
            Expect::Rset => {
                if reply.code / 100 != 2 {
                    let err = self.reply_error(reply, "RSET refused");
                    self.error.get_or_insert(err);
                    if !self.pipelined {
                        return self.quit_at(Some(now));
                    }
                } else if !self.pipelined {
                    self.begin_batch(now);
                }
            }
        }
        if let Some(next) = self.pending.front()
            && self.data.is_none()
            && self.phase == Phase::Transaction
        {
            let t = &self.cfg.timeouts;
            let timeout = match next {
                Expect::Mail => t.mail,
                Expect::Rset => t.command,
                Expect::Rcpt(_) => t.rcpt,
                Expect::Data => t.data_init,
                Expect::Dot | Expect::Bdat | Expect::DataEnd => t.data_end,
            };
            if !self.arm_data_end {
                self.deadline = Some(now + timeout);
            }
        }
    }

    /// RCPT for the first usable recipient of the batch from `i` (no
    /// PIPELINING).
    fn next_rcpt(&mut self, now: Instant, i: usize) {
        for j in i..self.batch.end {
            if self.send_rcpt(j) {
                self.deadline = Some(now + self.cfg.timeouts.rcpt);
                return;
            }
        }
        self.after_rcpts(now);
    }

    /// All RCPT replies are in (no PIPELINING): the data, or no data when
    /// no recipient was accepted (RFC 5321 3.3).
    fn after_rcpts(&mut self, now: Instant) {
        if self.rcpt_accepted() {
            self.send_data_command(now);
            self.deadline = Some(now + self.cfg.timeouts.data_init);
            if self.data.is_some() {
                self.deadline = Some(now + self.cfg.timeouts.data_block);
            }
        } else {
            self.end_transaction(now, false);
        }
    }

    /// The reply to DATA; with PIPELINING the MAIL and RCPT replies are in
    /// too.
    fn on_data_reply(&mut self, now: Instant, reply: Reply) {
        let mail_ok = self.mail_reply.as_ref().is_some_and(|r| r.code / 100 == 2);
        let go = mail_ok && self.rcpt_accepted();
        if !go {
            // RFC 2920 3.1: a server may take DATA without recipients;
            // end that empty message at once.
            if reply.code == 354 {
                self.send(".");
                self.pending.push_back(Expect::Dot);
                self.deadline = Some(now + self.cfg.timeouts.data_end);
            }
            if !mail_ok {
                let mail = self.mail_reply.clone().unwrap_or_else(|| reply.clone());
                let err = self.mail_refused(mail);
                self.error.get_or_insert(err);
            }
            if reply.code != 354 {
                self.end_transaction(now, false);
            }
            return;
        }
        if reply.code != 354 {
            // The recipients were accepted; the refusal is their answer.
            self.final_reply = Some(reply);
            return self.end_transaction(now, false);
        }
        self.pending.push_back(Expect::DataEnd);
        self.start_data(now, Some(DotStuffer::new()));
    }
}

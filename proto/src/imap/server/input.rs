//! Handling of framed client input: commands (parsed, checked against the
//! state), APPEND messages, AUTHENTICATE response lines and IDLE's DONE.

use base64::Engine;

use super::state::{self, InFlight, Pending, Wait};
use super::{Event, ServerConn};
use crate::imap::cmd::{self, AppendHead, CommandError, MessageHead};
use crate::imap::core::Tag;
use crate::imap::frame::{Frame, LineFrame, Reject};
use crate::secret::Secret;

impl ServerConn {
    pub(super) fn on_frame(&mut self, frame: Frame) {
        match frame {
            Frame::Command(bytes) => self.on_command(&bytes),
            Frame::Continue => self.write(b"+ Ready for literal data\r\n"),
            Frame::Reject(r) => self.reject(r),
            Frame::AppendBegin(head, message) => self.on_append_begin(head, message),
            Frame::AppendData(d) => {
                self.queued_data += d.len();
                self.events.push_back(Event::AppendData(d));
            }
            Frame::AppendEnd { last } => {
                if let (true, Some(f)) = (last, self.inflight.as_mut()) {
                    f.wait = Wait::Caller;
                }
                self.events.push_back(Event::AppendEnd { last });
            }
            Frame::Fatal(text) => self.bye(text),
        }
    }

    /// Writes a framing refusal; if it ends the command in flight (a
    /// MULTIAPPEND message refused), tells the caller.
    pub(super) fn reject(&mut self, r: Reject) {
        let mut line = Vec::new();
        r.write(&mut line);
        self.write(&line);
        if let Some(f) = self.inflight.take() {
            // Events already queued stay: dropping them would depend on
            // how the input was split.
            self.events.push_back(Event::Aborted {
                tag: f.tag,
                reason: r.text,
            });
            self.timer.rearm = true;
        }
    }

    /// Ends the command in flight with `tag BAD text` from the connection.
    fn abort_inflight(&mut self, text: &str) {
        if let Some(f) = self.inflight.as_ref() {
            let tag = f.tag.clone();
            self.reject(Reject {
                tag: Some(tag),
                too_big: false,
                text: text.to_string(),
            });
        }
    }

    fn on_command(&mut self, bytes: &[u8]) {
        let parsed = cmd::parse_command(bytes, self.ctx);
        let command = match parsed {
            Ok((n, c)) if n == bytes.len() => c,
            Ok((_, c)) => {
                let r = bad(Some(c.tag), "unexpected data after the command");
                return self.reject(r);
            }
            Err(CommandError::Incomplete) => {
                let tag = crate::imap::core::string::tag(bytes).ok().map(|(_, t)| t);
                return self.reject(bad(tag, "incomplete command"));
            }
            Err(CommandError::Invalid { tag, failure }) => {
                return self.reject(bad(tag, failure.to_string()));
            }
        };
        if let Err(text) = state::allowed(self.state, command.body.state(), command.body.name()) {
            return self.reject(bad(Some(command.tag), text));
        }
        self.inflight = Some(InFlight {
            tag: command.tag.clone(),
            kind: Pending::of(&command.body),
            wait: Wait::Caller,
        });
        self.events.push_back(Event::Command(command));
    }

    fn on_append_begin(&mut self, head: AppendHead, message: MessageHead) {
        if self.inflight.is_none() {
            let (req, name) = state::append_req(&head);
            if let Err(text) = state::allowed(self.state, req, name) {
                self.framer.abort();
                return self.reject(bad(Some(head.tag), text));
            }
            self.inflight = Some(InFlight {
                tag: head.tag.clone(),
                kind: Pending::Other,
                wait: Wait::AppendAccept,
            });
        } else if let Some(f) = self.inflight.as_mut() {
            f.wait = Wait::AppendAccept;
        }
        self.events.push_back(Event::AppendBegin { head, message });
    }

    pub(super) fn on_auth_line(&mut self, line: LineFrame) {
        let LineFrame::Line(line) = line else {
            return self.abort_inflight("line too long");
        };
        if line == b"*" {
            self.set_wait(Wait::Caller);
            return self.events.push_back(Event::AuthCancel);
        }
        match base64::engine::general_purpose::STANDARD.decode(&line) {
            Ok(data) => {
                self.set_wait(Wait::Caller);
                self.events
                    .push_back(Event::AuthResponse(Secret::new(data)));
            }
            Err(_) => self.abort_inflight("invalid base64 in authentication response"),
        }
    }

    pub(super) fn on_idle_line(&mut self, line: LineFrame) {
        match line {
            LineFrame::Line(l) if l.eq_ignore_ascii_case(b"DONE") => {
                self.set_wait(Wait::Caller);
                self.events.push_back(Event::IdleDone);
            }
            LineFrame::Line(_) => self.abort_inflight("expected DONE to end IDLE"),
            LineFrame::TooLong => self.abort_inflight("line too long"),
        }
    }
}

fn bad(tag: Option<Tag>, text: impl Into<String>) -> Reject {
    Reject {
        tag,
        too_big: false,
        text: text.into(),
    }
}

//! Streaming APPEND/REPLACE message literals (RFC 9051 6.3.12, RFC 3502
//! MULTIAPPEND, RFC 6855 UTF8 form, RFC 3516 literal8, RFC 8508 REPLACE):
//! the message head starts a message, its data is handed out as it arrives,
//! and the bytes after it end the command or start the next message.

use super::{Announce, Frame, Framer, LITERAL_MINUS_MAX, Mode, Reject, announcement};
use crate::imap::cmd::{self, AppendHead, MessageHead};
use crate::imap::core::Ctx;

impl Framer {
    /// An APPEND/REPLACE message literal is announced at `buf[..end]`.
    pub(super) fn begin_message(
        &mut self,
        end: usize,
        head: AppendHead,
        msg: MessageHead,
        ann: Announce,
    ) -> Frame {
        let len = msg.literal.len;
        let tag = Some(head.tag.clone());
        if len > self.limits.max_append {
            let reject = Reject {
                tag,
                too_big: true,
                text: format!("message larger than {} octets", self.limits.max_append),
            };
            return self.refuse(end, Some(ann), reject);
        }
        if msg.literal.non_sync && !self.limits.literal_plus && len > LITERAL_MINUS_MAX {
            let text = "non-synchronizing literal over 4096 octets (LITERAL-)";
            return self.refuse(end, Some(ann), Reject::bad(tag, text));
        }
        self.consume(end);
        self.mode = Mode::AppendWait {
            len,
            non_sync: msg.literal.non_sync,
            utf8: msg.utf8,
        };
        self.append = Some(head.clone());
        Frame::AppendBegin(head, msg)
    }

    /// After a message's data: `[")"] CRLF` ends the command, another
    /// message head continues it (RFC 3502), anything else is refused.
    pub(super) fn append_tail(&mut self, ctx: Ctx, utf8: bool) -> Option<Frame> {
        let tag = self.append.as_ref().map(|h| h.tag.clone());
        let Some(lf) = self.find_lf() else {
            if self.line_overflows() {
                self.append = None;
                self.start_long_line(false, true, tag);
                return self.next(ctx);
            }
            return None;
        };
        let end = lf + 1;
        let ann = announcement(self.buf.get(..end).unwrap_or_default());
        if self.line_too_long(lf) {
            return Some(self.refuse(end, ann, Reject::bad(tag, "line too long")));
        }
        let line = self.buf.get(..end).unwrap_or_default();
        let rest = if utf8 {
            match line.strip_prefix(b")") {
                Some(r) => r,
                None => {
                    let text = "expected ')' after UTF8 message literal";
                    return Some(self.refuse(end, ann, Reject::bad(tag, text)));
                }
            }
        } else {
            line
        };
        if rest == b"\r\n" {
            self.consume(end);
            self.append = None;
            self.mode = Mode::Lines;
            return Some(Frame::AppendEnd { last: true });
        }
        let parsed = cmd::append::append_message_head(ctx)(rest);
        match (parsed, ann, self.append.clone()) {
            (Ok(([], msg)), Some(ann), Some(head)) => {
                let next = self.begin_message(end, head, msg, ann);
                if matches!(next, Frame::AppendBegin(..)) {
                    self.queued = Some(next);
                    Some(Frame::AppendEnd { last: false })
                } else {
                    Some(next)
                }
            }
            (Err(nom::Err::Error(e) | nom::Err::Failure(e)), ann, _) => {
                let text = e.into_failure(rest).to_string();
                Some(self.refuse(end, ann, Reject::bad(tag, text)))
            }
            (_, ann, _) => {
                let text = "expected end of line or another message after message data";
                Some(self.refuse(end, ann, Reject::bad(tag, text)))
            }
        }
    }
}

/// If `prefix` (a command so far, ending with a literal announcement) is an
/// APPEND/REPLACE whose message literal is announced here, its heads.
pub(super) fn append_start(prefix: &[u8], ctx: Ctx) -> Option<(AppendHead, MessageHead)> {
    let (rest, head) = cmd::append::append_head(ctx)(prefix).ok()?;
    let (rest, msg) = cmd::append::append_message_head(ctx)(rest).ok()?;
    rest.is_empty().then_some((head, msg))
}

//! Framing of a client byte stream into commands (RFC 9051 2.2, 4.3, 7.5):
//! lines, literals and streamed APPEND message data.
//!
//! [`Framer`] accumulates one command at a time in one buffer. At each
//! literal announcement (`{n}`, `{n+}`, `~{n}` at a line end) it asks
//! [`cmd::parse_command`] about the command so far:
//! - a valid prefix (`Incomplete`) within the limits reads the literal into
//!   the command; a synchronising literal gets a [`Frame::Continue`] (`+`,
//!   RFC 9051 7.5) first;
//! - an invalid prefix is refused with a tagged BAD and the parser's reason.
//!   The client does not send a synchronising literal's data without `+`, so
//!   the next line is a new command; a non-synchronising literal's bytes do
//!   come and are skipped, with the rest of the command ("poisoned");
//! - a literal over the limits is refused without `+` the same way: BAD, or
//!   `NO [TOOBIG]` for an APPEND message (RFC 7889); with LITERAL- (RFC 7888
//!   4) a non-synchronising literal over 4096 octets gets BAD.
//!
//! A line longer than `max_line` is discarded to its LF without being parsed
//! and then refused with BAD (if it ends in `{n+}`, the n bytes are skipped
//! too). The only unrecoverable case is a non-synchronising literal whose
//! length is not a number64: its end cannot be found, so the framer reports
//! [`Frame::Fatal`] and the connection closes with `* BYE`.
//!
//! APPEND and REPLACE message literals (RFC 9051 6.3.12, RFC 3502, RFC 6855,
//! RFC 3516, RFC 8508) are not buffered: [`Frame::AppendBegin`] announces a
//! message, and after [`Framer::accept_literal`] the data comes out as
//! [`Frame::AppendData`] chunks of whatever input arrived, then
//! [`Frame::AppendEnd`].
//!
//! Lines end at LF; a missing CR is reported by the parser as a syntax error.

use crate::imap::cmd::{self, AppendHead, CommandError, MessageHead};
use crate::imap::core::string::tag as parse_tag;
use crate::imap::core::{Ctx, Tag};

use buffer::InBuf;

/// With LITERAL- a non-synchronising literal may hold at most this many
/// octets (RFC 7888 4).
pub const LITERAL_MINUS_MAX: u64 = 4096;

/// How many trailing bytes of a discarded long line are kept to recognise a
/// literal announcement at its end (`~{` + 19 digits + `+}` CRLF fits).
const ANNOUNCE_TAIL: usize = 32;

/// The limits the framer enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Longest line, without CRLF and without literal data.
    pub max_line: usize,
    /// Longest non-APPEND command: all its lines and literals.
    pub max_command: usize,
    /// Largest APPEND/REPLACE message literal (APPENDLIMIT, RFC 7889).
    pub max_append: u64,
    /// LITERAL+ (true) or LITERAL- (false) is advertised (RFC 7888).
    pub literal_plus: bool,
}

/// A refusal the connection writes as `tag BAD text`, `* BAD text` (no tag
/// could be read) or `tag NO [TOOBIG] text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The command's tag, when one could be read.
    pub tag: Option<Tag>,
    /// `NO [TOOBIG]` (an APPEND message over the limit) instead of BAD.
    pub too_big: bool,
    /// What was wrong.
    pub text: String,
}

impl Reject {
    fn bad(tag: Option<Tag>, text: impl Into<String>) -> Self {
        Reject {
            tag,
            too_big: false,
            text: text.into(),
        }
    }

    /// Writes the response line.
    pub fn write(&self, out: &mut Vec<u8>) {
        match &self.tag {
            Some(t) => out.extend_from_slice(t.as_str().as_bytes()),
            None => out.push(b'*'),
        }
        if self.too_big {
            out.extend_from_slice(b" NO [TOOBIG] ");
        } else {
            out.extend_from_slice(b" BAD ");
        }
        // The text is ours; keep it on one line whatever it holds.
        out.extend(self.text.bytes().filter(|b| *b != b'\r' && *b != b'\n'));
        out.extend_from_slice(b"\r\n");
    }
}

/// One step of framing output. `Debug` shows the size of commands and data,
/// not their bytes (a command may hold a password).
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole command, lines and literals inline, for `parse_command`.
    Command(Vec<u8>),
    /// Write `+ Ready for literal data` (RFC 9051 7.5).
    Continue,
    /// The command was refused; its remaining bytes are being discarded.
    Reject(Reject),
    /// An APPEND/REPLACE message literal is announced. Call
    /// [`Framer::accept_literal`] to receive its data or [`Framer::abort`]
    /// to refuse it.
    AppendBegin(AppendHead, MessageHead),
    /// Some message data, as it arrived.
    AppendData(Vec<u8>),
    /// A message's data and what follows it were read; `last` when the
    /// command's final CRLF came, else another [`Frame::AppendBegin`] follows
    /// (MULTIAPPEND, RFC 3502).
    AppendEnd {
        /// The command is complete.
        last: bool,
    },
    /// Framing cannot continue; close with `* BYE` and this text.
    Fatal(&'static str),
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Command(b) => write!(f, "Command({} bytes)", b.len()),
            Frame::Continue => f.write_str("Continue"),
            Frame::Reject(r) => f.debug_tuple("Reject").field(r).finish(),
            Frame::AppendBegin(h, m) => f.debug_tuple("AppendBegin").field(h).field(m).finish(),
            Frame::AppendData(d) => write!(f, "AppendData({} bytes)", d.len()),
            Frame::AppendEnd { last } => f.debug_struct("AppendEnd").field("last", last).finish(),
            Frame::Fatal(t) => f.debug_tuple("Fatal").field(t).finish(),
        }
    }
}

/// A line read in line mode (AUTHENTICATE responses, IDLE's DONE). `Debug`
/// shows sizes only (SASL responses carry credentials).
#[derive(Clone, PartialEq, Eq)]
pub enum LineFrame {
    /// The line without its line ending.
    Line(Vec<u8>),
    /// The line is over `max_line`; its bytes are being discarded.
    TooLong,
}

impl std::fmt::Debug for LineFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineFrame::Line(l) => write!(f, "Line({} bytes)", l.len()),
            LineFrame::TooLong => f.write_str("TooLong"),
        }
    }
}

/// A literal announcement at a line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Announce {
    /// None when the length is not a number64.
    len: Option<u64>,
    non_sync: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// Scanning lines of a command; `buf[..line_start]` holds its earlier
    /// lines and literals.
    Lines,
    /// Reading literal data up to `end` (an offset in `buf`).
    Literal { end: usize },
    /// A refused command: skip `skip` bytes, then lines up to the command end.
    Poison { skip: u64 },
    /// Discarding a line over the limit up to its LF.
    LongLine {
        tag: Option<Tag>,
        /// The refusal was already reported.
        rejected: bool,
        /// A literal announcement at its end continues the command.
        literals: bool,
        tail: Vec<u8>,
    },
    /// An APPEND message was announced; waiting for accept or abort.
    AppendWait {
        len: u64,
        non_sync: bool,
        utf8: bool,
    },
    /// Streaming message data.
    AppendData { remaining: u64, utf8: bool },
    /// After message data: `[")"] CRLF` or the next message head.
    AppendTail { utf8: bool },
    /// After a fatal framing error.
    Dead,
}

/// Splits client input into commands; see the module documentation.
#[derive(Debug)]
pub struct Framer {
    limits: FrameLimits,
    buf: InBuf,
    mode: Mode,
    /// Start of the current line in `buf`.
    line_start: usize,
    /// Where the search for the line's LF resumes.
    scan: usize,
    /// The APPEND/REPLACE command being streamed.
    append: Option<AppendHead>,
    /// A frame decided together with the previous one.
    queued: Option<Frame>,
}

impl Framer {
    /// A framer with these limits and an empty buffer.
    pub fn new(limits: FrameLimits) -> Self {
        Framer {
            limits,
            buf: InBuf::default(),
            mode: Mode::Lines,
            line_start: 0,
            scan: 0,
            append: None,
            queued: None,
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.mode != Mode::Dead {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes buffered and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Capacity of the input buffer (for memory bound tests).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// True between commands (nothing of a command read yet).
    pub fn at_command_start(&self) -> bool {
        self.mode == Mode::Lines && self.line_start == 0 && self.queued.is_none()
    }

    /// True while message data is being streamed.
    pub fn in_append_data(&self) -> bool {
        matches!(self.mode, Mode::AppendData { .. } | Mode::AppendTail { .. })
    }

    /// Drops all buffered input and any partial command (STARTTLS and
    /// COMPRESS: what came before the switch is not trusted, RFC 9051 6.2.1).
    pub fn discard_input(&mut self) {
        self.buf.release();
        self.line_start = 0;
        self.scan = 0;
        self.append = None;
        self.queued = None;
        if self.mode != Mode::Dead {
            self.mode = Mode::Lines;
        }
    }

    /// Accepts the announced APPEND message literal. Returns true when it is
    /// synchronising, so the caller must write the `+` continuation.
    pub fn accept_literal(&mut self) -> bool {
        if let Mode::AppendWait {
            len,
            non_sync,
            utf8,
        } = self.mode
        {
            self.mode = Mode::AppendData {
                remaining: len,
                utf8,
            };
            return !non_sync;
        }
        false
    }

    /// The command being streamed was answered (refused) by the server:
    /// discard its remaining bytes without parsing them. A synchronising
    /// literal that was not accepted is not sent by the client, so the
    /// command ends there.
    pub fn abort(&mut self) {
        self.append = None;
        self.queued = None;
        self.mode = match self.mode {
            Mode::AppendWait {
                len,
                non_sync: true,
                ..
            } => Mode::Poison { skip: len },
            Mode::AppendWait { .. } => Mode::Lines,
            Mode::AppendData { remaining, .. } => Mode::Poison { skip: remaining },
            Mode::AppendTail { .. } => Mode::Poison { skip: 0 },
            ref m => m.clone(),
        };
    }

    /// Finds the LF ending the current line; returns its offset.
    fn find_lf(&mut self) -> Option<usize> {
        let from = self.scan.max(self.line_start);
        match self.buf.get(from..)?.iter().position(|b| *b == b'\n') {
            Some(p) => Some(from + p),
            None => {
                self.scan = self.buf.len();
                None
            }
        }
    }

    /// True when the unterminated current line is already over the limit.
    fn line_overflows(&self) -> bool {
        // One more byte may be the CR of the CRLF.
        self.buf.len().saturating_sub(self.line_start) > self.limits.max_line.saturating_add(1)
    }

    fn line_too_long(&self, lf: usize) -> bool {
        let line = self.buf.get(self.line_start..lf).unwrap_or_default();
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        content.len() > self.limits.max_line
    }

    /// The tag at the start of the buffer, if one can be read. Only the
    /// bytes through the current line's first `max_line + 2` are looked at,
    /// so the answer does not depend on how much of a long line arrived.
    fn leading_tag(&self) -> Option<Tag> {
        let upto = self
            .line_start
            .saturating_add(self.limits.max_line)
            .saturating_add(2)
            .min(self.buf.len());
        match parse_tag(self.buf.get(..upto).unwrap_or_default()) {
            Ok((rest, t)) if rest.first() == Some(&b' ') => Some(t),
            _ => None,
        }
    }

    /// Removes the first `n` bytes of the buffer and resets line tracking.
    fn consume(&mut self, n: usize) -> Vec<u8> {
        let taken = self.buf.take_front(n);
        self.line_start = 0;
        self.scan = 0;
        taken
    }

    /// Starts discarding a line that is over the limit.
    fn start_long_line(&mut self, rejected: bool, literals: bool, tag: Option<Tag>) {
        let tail_from = self.buf.len().saturating_sub(ANNOUNCE_TAIL);
        let tail = self.buf.get(tail_from..).unwrap_or_default().to_vec();
        self.buf.clear();
        self.line_start = 0;
        self.scan = 0;
        self.mode = Mode::LongLine {
            tag,
            rejected,
            literals,
            tail,
        };
    }

    /// The command so far was refused; what happens to the rest depends on
    /// the literal announced at the end of its last line.
    fn refuse(&mut self, consumed: usize, ann: Option<Announce>, reject: Reject) -> Frame {
        self.consume(consumed);
        self.append = None;
        match ann {
            Some(Announce {
                non_sync: true,
                len: None,
            }) => {
                // Refuse the command, then give up on the connection.
                let fatal = self.fatal();
                self.queued = Some(fatal);
                Frame::Reject(reject)
            }
            Some(Announce {
                non_sync: true,
                len: Some(n),
            }) => {
                self.mode = Mode::Poison { skip: n };
                Frame::Reject(reject)
            }
            _ => {
                self.mode = Mode::Lines;
                Frame::Reject(reject)
            }
        }
    }

    fn fatal(&mut self) -> Frame {
        self.mode = Mode::Dead;
        self.buf.release();
        Frame::Fatal("literal size too large to skip; closing")
    }

    /// Reads the next frame of a command, or None when more input is needed
    /// or an announced APPEND message waits for accept/abort.
    pub fn next(&mut self, ctx: Ctx) -> Option<Frame> {
        if let Some(f) = self.queued.take() {
            return Some(f);
        }
        loop {
            if let Err(f) = self.discard() {
                return f;
            }
            match self.mode {
                Mode::Dead => return self.queued.take(),
                Mode::AppendWait { .. } => return None,
                Mode::Poison { .. } | Mode::LongLine { .. } => return None,
                Mode::Literal { end } => {
                    if self.buf.len() < end {
                        return None;
                    }
                    self.line_start = end;
                    self.scan = end;
                    self.mode = Mode::Lines;
                }
                Mode::Lines => return self.next_line_of_command(ctx),
                Mode::AppendData { remaining, utf8 } => {
                    if remaining == 0 {
                        self.mode = Mode::AppendTail { utf8 };
                        continue;
                    }
                    if self.buf.is_empty() {
                        return None;
                    }
                    let avail = u64::try_from(self.buf.len()).unwrap_or(u64::MAX);
                    let n = remaining.min(avail);
                    let data = self.consume(usize::try_from(n).unwrap_or(usize::MAX));
                    self.mode = Mode::AppendData {
                        remaining: remaining - n,
                        utf8,
                    };
                    return Some(Frame::AppendData(data));
                }
                Mode::AppendTail { utf8 } => return self.append_tail(ctx, utf8),
            }
        }
    }

    /// Lines mode: completes the current line and decides what it means.
    fn next_line_of_command(&mut self, ctx: Ctx) -> Option<Frame> {
        let Some(lf) = self.find_lf() else {
            if self.line_overflows() {
                let tag = self.leading_tag();
                self.start_long_line(false, true, tag);
                return self.next(ctx);
            }
            return None;
        };
        let end = lf + 1;
        if self.line_too_long(lf) {
            let tag = self.leading_tag();
            let ann = announcement(self.buf.get(self.line_start..end).unwrap_or_default());
            return Some(self.refuse(end, ann, Reject::bad(tag, "line too long")));
        }
        let ann = announcement(self.buf.get(self.line_start..end).unwrap_or_default());
        if end > self.limits.max_command {
            let tag = self.leading_tag();
            return Some(self.refuse(end, ann, Reject::bad(tag, "command too long")));
        }
        let Some(ann) = ann else {
            // The command is complete.
            return Some(Frame::Command(self.consume(end)));
        };
        let prefix = self.buf.get(..end).unwrap_or_default();
        if let Some((head, msg)) = append::append_start(prefix, ctx) {
            return Some(self.begin_message(end, head, msg, ann));
        }
        match cmd::parse_command(prefix, ctx) {
            Err(CommandError::Invalid { tag, failure }) => {
                Some(self.refuse(end, Some(ann), Reject::bad(tag, failure.to_string())))
            }
            Err(CommandError::Incomplete) | Ok(_) => {
                let tag = self.leading_tag();
                let Some(n) = ann.len else {
                    return Some(self.refuse(
                        end,
                        Some(ann),
                        Reject::bad(tag, "literal too large"),
                    ));
                };
                let lit_end = usize::try_from(n)
                    .ok()
                    .and_then(|n| end.checked_add(n))
                    .filter(|e| *e <= self.limits.max_command);
                let Some(lit_end) = lit_end else {
                    return Some(self.refuse(end, Some(ann), Reject::bad(tag, "command too long")));
                };
                if ann.non_sync && !self.limits.literal_plus && n > LITERAL_MINUS_MAX {
                    let text = "non-synchronizing literal over 4096 octets (LITERAL-)";
                    return Some(self.refuse(end, Some(ann), Reject::bad(tag, text)));
                }
                self.mode = Mode::Literal { end: lit_end };
                self.line_start = end;
                self.scan = end;
                if ann.non_sync {
                    self.next(ctx)
                } else {
                    Some(Frame::Continue)
                }
            }
        }
    }

    /// Reads one line in line mode (between commands only).
    pub fn next_line(&mut self) -> Option<LineFrame> {
        // Finish discarding first; in line mode nothing is reported.
        if self.discard().is_err() || !self.at_command_start() {
            return None;
        }
        let Some(lf) = self.find_lf() else {
            if self.line_overflows() {
                self.start_long_line(true, false, None);
                return Some(LineFrame::TooLong);
            }
            return None;
        };
        let too_long = self.line_too_long(lf);
        let mut line = self.consume(lf + 1);
        if too_long {
            return Some(LineFrame::TooLong);
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(LineFrame::Line(line))
    }
}

/// Recognises `["~"] "{" digits ["+"] "}" CRLF` at the end of `line`.
fn announcement(line: &[u8]) -> Option<Announce> {
    let body = line.strip_suffix(b"}\r\n")?;
    let (body, non_sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, true),
        None => (body, false),
    };
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let open = body.len().checked_sub(digits + 1)?;
    if digits == 0 || body.get(open) != Some(&b'{') {
        return None;
    }
    let len = body
        .get(open + 1..)
        .unwrap_or_default()
        .iter()
        .try_fold(0u64, |v, d| {
            v.checked_mul(10)?
                .checked_add(u64::from(d - b'0'))
                .filter(|v| *v <= i64::MAX as u64)
        });
    Some(Announce { len, non_sync })
}

mod append;
mod buffer;
mod discard;
#[cfg(test)]
mod tests;

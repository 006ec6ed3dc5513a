//! `APPEND` (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502), BINARY literal8
//! (RFC 3516), UTF8=ACCEPT's `UTF8 (~{n})` (RFC 6855 4) and `[UID] REPLACE`
//! (RFC 8508).
//!
//! Besides the whole-command parser, this file offers the pieces a streaming
//! server needs to take message data without buffering a whole APPEND:
//! [`append_head`] reads `tag SP APPEND SP mailbox` (or the REPLACE
//! equivalent), then [`append_message_head`] reads each message's options up
//! to and including its literal's CRLF. After the data comes `)` when the
//! head had `utf8` set, then either CRLF (end) or another message head.

use super::CommandBody;
use super::syntax::{expect, flags as flag_list, word};
use crate::imap::core::date::date_time;
use crate::imap::core::flag::write_flag_list;
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::seq::seq_number;
use crate::imap::core::string::{LiteralHead, literal_head, tag, write_literal, write_literal8};
use crate::imap::core::{
    Ctx, DateTime, Flag, IResult, Mailbox, ParseError, SeqNum, Tag, byte, keyword, sp, write_number,
};

/// Which command an [`AppendHead`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendKind {
    /// `APPEND`: one or more messages follow.
    Append,
    /// `[UID] REPLACE n`: exactly one message follows (RFC 8508).
    Replace {
        /// `UID REPLACE`.
        uid: bool,
        /// The message being replaced.
        target: SeqNum,
    },
}

/// `tag SP "APPEND" SP mailbox` or `tag SP ["UID" SP] "REPLACE" SP n SP mailbox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendHead {
    /// The command tag.
    pub tag: Tag,
    /// APPEND or REPLACE.
    pub kind: AppendKind,
    /// Destination mailbox.
    pub mailbox: Mailbox,
}

/// One message's options and literal announcement:
/// `[SP flag-list] [SP date-time] SP (literal-head / "UTF8" SP "(" literal8-head)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHead {
    /// Flags to set (empty when none were given).
    pub flags: Vec<Flag>,
    /// The internal date to use.
    pub date: Option<DateTime>,
    /// The literal that carries the message.
    pub literal: LiteralHead,
    /// The `UTF8 (…)` form: a `)` follows the data.
    pub utf8: bool,
}

impl MessageHead {
    /// Checks message data against its literal kind: NUL is only allowed in
    /// a literal8 (RFC 9051 4.3, RFC 3516 4.2).
    pub fn check_data(&self, data: &[u8]) -> Result<(), &'static str> {
        if !self.literal.binary && memchr_nul(data) {
            return Err("NUL is not allowed in a literal");
        }
        Ok(())
    }
}

fn memchr_nul(data: &[u8]) -> bool {
    // Chunked so the compiler vectorises the scan; APPEND data is the bulk of
    // client traffic.
    data.chunks(64)
        .any(|c| c.iter().fold(false, |acc, b| acc | (*b == 0)))
}

/// How the message was sent; the data is the literal's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendData {
    /// `{n}`: no NUL.
    Literal(Vec<u8>),
    /// `~{n}` (RFC 3516): any octets.
    Literal8(Vec<u8>),
    /// `UTF8 (~{n})` (RFC 6855): a message with UTF-8 headers.
    Utf8(Vec<u8>),
}

impl AppendData {
    /// The message octets.
    pub fn bytes(&self) -> &[u8] {
        match self {
            AppendData::Literal(d) | AppendData::Literal8(d) | AppendData::Utf8(d) => d,
        }
    }
}

/// One message of an APPEND or REPLACE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags (empty when none were given).
    pub flags: Vec<Flag>,
    /// Internal date.
    pub date: Option<DateTime>,
    /// The message.
    pub data: AppendData,
}

const NOT_APPEND: &str = "not an APPEND or REPLACE command";

fn replace_target(i: &[u8]) -> IResult<'_, SeqNum> {
    let (i, ()) = sp(i)?;
    expect(i, "expected a message number", seq_number(i))
}

fn mailbox_arg(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Mailbox> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        expect(i, "expected a mailbox name", mailbox(ctx)(i))
    }
}

/// Parses `tag SP "APPEND" SP mailbox` (or `tag SP ["UID" SP] "REPLACE" SP
/// seq-number SP mailbox`), stopping before the first message head. Fails
/// with a recoverable error when the command is not APPEND/REPLACE.
pub fn append_head(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, AppendHead> {
    move |i: &[u8]| {
        let (i, t) = tag(i)?;
        let (i, ()) = sp(i)?;
        let (rest, w) = word(i).map_err(|e| match e {
            nom::Err::Incomplete(n) => nom::Err::Incomplete(n),
            _ => ParseError::fail(i, NOT_APPEND),
        })?;
        let (rest, kind) = if w.eq_ignore_ascii_case(b"APPEND") {
            (rest, AppendKind::Append)
        } else if w.eq_ignore_ascii_case(b"REPLACE") {
            let (rest, target) = replace_target(rest)?;
            (rest, AppendKind::Replace { uid: false, target })
        } else if w.eq_ignore_ascii_case(b"UID") {
            let (rest, ()) = sp(rest).map_err(|_| ParseError::fail(i, NOT_APPEND))?;
            let (rest, ()) = keyword("REPLACE")(rest).map_err(|e| match e {
                nom::Err::Incomplete(n) => nom::Err::Incomplete(n),
                _ => ParseError::fail(i, NOT_APPEND),
            })?;
            let (rest, target) = replace_target(rest)?;
            (rest, AppendKind::Replace { uid: true, target })
        } else {
            return Err(ParseError::fail(i, NOT_APPEND));
        };
        let (rest, mailbox) = mailbox_arg(ctx)(rest)?;
        Ok((
            rest,
            AppendHead {
                tag: t,
                kind,
                mailbox,
            },
        ))
    }
}

/// Parses `[SP flag-list] [SP date-time] SP (literal-head / "UTF8" SP "("
/// literal8-head)`, up to and including the literal's CRLF.
pub fn append_message_head(_ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, MessageHead> {
    move |i: &[u8]| {
        let (mut i, ()) = sp(i)?;
        let mut flags = Vec::new();
        if let Some(b'(') = i.first() {
            let (rest, f) = flag_list(i)?;
            let (rest, ()) = sp(rest)?;
            flags = f;
            i = rest;
        }
        let mut date = None;
        if let Some(b'"') = i.first() {
            let (rest, d) = date_time(i)?;
            let (rest, ()) = sp(rest)?;
            date = Some(d);
            i = rest;
        }
        let (i, literal, utf8) = match i.first() {
            Some(b'{') | Some(b'~') => {
                let (rest, head) = literal_head(i)?;
                (rest, head, false)
            }
            Some(b'U') | Some(b'u') => {
                let (rest, ()) =
                    expect(i, "expected a literal with the message", keyword("UTF8")(i))?;
                let (rest, ()) = sp(rest)?;
                let (rest, ()) = byte(b'(')(rest)?;
                let (rest, head) = expect(rest, "expected a literal8 (~{n})", literal_head(rest))?;
                (rest, head, true)
            }
            Some(_) => return Err(ParseError::fail(i, "expected a literal with the message")),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        };
        Ok((
            i,
            MessageHead {
                flags,
                date,
                literal,
                utf8,
            },
        ))
    }
}

/// A whole message: head, data and the `)` of the UTF8 form.
fn append_message(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, AppendMessage> {
    move |i: &[u8]| {
        let (rest, head) = append_message_head(ctx)(i)?;
        let len = usize::try_from(head.literal.len)
            .map_err(|_| ParseError::fail(i, "literal too large"))?;
        if rest.len() < len {
            return Err(nom::Err::Incomplete(nom::Needed::new(len - rest.len())));
        }
        let (data, rest) = rest.split_at(len);
        head.check_data(data).map_err(|e| ParseError::fail(i, e))?;
        let rest = if head.utf8 { byte(b')')(rest)?.0 } else { rest };
        let data = data.to_vec();
        let data = if head.utf8 {
            AppendData::Utf8(data)
        } else if head.literal.binary {
            AppendData::Literal8(data)
        } else {
            AppendData::Literal(data)
        };
        Ok((
            rest,
            AppendMessage {
                flags: head.flags,
                date: head.date,
                data,
            },
        ))
    }
}

/// `SP mailbox 1*append-message` after `APPEND`.
pub(crate) fn append_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, mailbox) = mailbox_arg(ctx)(i)?;
        let (mut i, m) = append_message(ctx)(i)?;
        let mut messages = vec![m];
        loop {
            match i.first() {
                Some(b' ') => {
                    let (rest, m) = append_message(ctx)(i)?;
                    messages.push(m);
                    i = rest;
                }
                None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
                Some(_) => return Ok((i, CommandBody::Append { mailbox, messages })),
            }
        }
    }
}

/// `SP seq-number SP mailbox append-message` after `[UID] REPLACE`.
pub(crate) fn replace_args(ctx: Ctx, uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, target) = replace_target(i)?;
        let (i, mailbox) = mailbox_arg(ctx)(i)?;
        let (i, message) = append_message(ctx)(i)?;
        Ok((
            i,
            CommandBody::Replace {
                uid,
                target,
                mailbox,
                message,
            },
        ))
    }
}

fn write_message(out: &mut Vec<u8>, m: &AppendMessage, ctx: Ctx) {
    if !m.flags.is_empty() {
        out.push(b' ');
        write_flag_list(out, &m.flags);
    }
    if let Some(d) = &m.date {
        out.push(b' ');
        d.write(out);
    }
    out.push(b' ');
    match &m.data {
        AppendData::Literal(d) => write_literal(out, d, ctx.literal_plus),
        AppendData::Literal8(d) => write_literal8(out, d, ctx.literal_plus),
        AppendData::Utf8(d) => {
            out.extend_from_slice(b"UTF8 (");
            write_literal8(out, d, ctx.literal_plus);
            out.push(b')');
        }
    }
}

/// Writes `APPEND mailbox message…`.
pub(crate) fn write_append(out: &mut Vec<u8>, m: &Mailbox, messages: &[AppendMessage], ctx: Ctx) {
    out.extend_from_slice(b"APPEND ");
    write_mailbox(out, m, ctx);
    for msg in messages {
        write_message(out, msg, ctx);
    }
}

/// Writes `[UID] REPLACE n mailbox message`.
pub(crate) fn write_replace(
    out: &mut Vec<u8>,
    uid: bool,
    target: SeqNum,
    m: &Mailbox,
    message: &AppendMessage,
    ctx: Ctx,
) {
    out.extend_from_slice(if uid { b"UID REPLACE " } else { b"REPLACE " });
    match target {
        SeqNum::Value(v) => write_number(out, v),
        SeqNum::Last => out.push(b'*'),
    }
    out.push(b' ');
    write_mailbox(out, m, ctx);
    write_message(out, message, ctx);
}

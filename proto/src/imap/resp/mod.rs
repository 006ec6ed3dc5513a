//! Server responses (RFC 9051 7, RFC 3501 7 and the extensions moxide
//! advertises): types, an encoder for the server and a streaming parser for
//! round trips, fuzzing and a future client.
//!
//! - [`Response`]: one response line (with any literals it carries): a
//!   [`Status`] (tagged or untagged OK/NO/BAD, untagged PREAUTH/BYE), untagged
//!   [`Data`], or a continuation request ([`Continue`]).
//! - [`Response::encode`] appends the wire form including the final CRLF.
//!   Responses never use non-synchronising literals (`{n+}` is for clients,
//!   RFC 7888), whatever `ctx.literal_plus` says.
//! - [`parse_response`] parses one response from a buffer holding it whole
//!   (lines and literals). It follows the core streaming contract: a valid
//!   prefix gives [`ResponseError::Incomplete`], anything else
//!   [`ResponseError::Invalid`] with what was expected.
//! - For FETCH responses whose last item is megabytes of message data, see
//!   [`fetch::encode_fetch_head`], which lets the caller stream the literal.

pub mod body;
pub mod code;
pub mod data;
pub mod envelope;
pub mod fetch;
pub mod list;
pub mod namespace_id_quota;
pub mod search;
pub mod thread;

#[cfg(test)]
pub(crate) mod strategy;
#[cfg(test)]
mod tests_examples;
#[cfg(test)]
mod tests_robustness;

use std::borrow::Cow;

use base64::Engine;

use super::core::error::{IResult, ParseError, ParseFailure};
use super::core::string::{atom_str, tag};
use super::core::{Ctx, Tag, byte, sp};

pub use body::{Body, BodyExtension, BodyFields, Disposition, ExtTail, MultiExt, SingleExt};
pub use code::Code;
pub use data::Data;
pub use data::StatusValue;
pub use envelope::{Address, Envelope};
pub use fetch::{FetchItem, FetchLiteral, encode_fetch_head, encode_fetch_tail};
pub use list::{ListData, ListExtItem, MailboxAttr};
pub use namespace_id_quota::{NamespaceDesc, Namespaces, QuotaResource};
pub use search::{ESearch, ESearchItem};
pub use thread::Thread;

/// Nesting deeper than this (BODYSTRUCTURE parts, THREAD lists, body
/// extension lists) is refused by the parser so hostile input cannot exhaust
/// the stack.
pub const MAX_DEPTH: usize = 64;

/// A server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// A status response (RFC 9051 7.1).
    Status(Status),
    /// Untagged data (RFC 9051 7.2–7.5).
    Data(Data),
    /// A continuation request (RFC 9051 7.6).
    Continue(Continue),
}

/// The kind of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH` (untagged only)
    PreAuth,
    /// `BYE` (untagged only)
    Bye,
}

impl StatusKind {
    /// The keyword on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Ok => "OK",
            StatusKind::No => "NO",
            StatusKind::Bad => "BAD",
            StatusKind::PreAuth => "PREAUTH",
            StatusKind::Bye => "BYE",
        }
    }
}

/// A status response: `tag|* OK|NO|BAD|PREAUTH|BYE [code] text`.
///
/// `text` must not contain CR, LF or NUL; the constructors replace them by
/// spaces, and the encoder does too for values built by hand. With no code,
/// a text beginning with `[` reads back as a response code, so do not start
/// one that way. RFC 3501 requires a non-empty text; give one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The tag of the command this completes; None for untagged (`*`).
    /// PREAUTH and BYE are always untagged.
    pub tag: Option<Tag>,
    /// OK, NO, BAD, PREAUTH or BYE.
    pub kind: StatusKind,
    /// The response code in brackets, if any.
    pub code: Option<Code>,
    /// Human-readable text.
    pub text: String,
}

/// Replaces CR, LF and NUL (never allowed in `text`) by spaces.
pub fn sanitize_text(text: impl Into<String>) -> String {
    let text = text.into();
    if text.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        text.replace(['\r', '\n', '\0'], " ")
    } else {
        text
    }
}

impl Status {
    fn new(
        tag: Option<Tag>,
        kind: StatusKind,
        code: Option<Code>,
        text: impl Into<String>,
    ) -> Self {
        Status {
            tag,
            kind,
            code,
            text: sanitize_text(text),
        }
    }

    /// `tag OK [code] text` (or untagged with `tag` None).
    pub fn ok(tag: Option<Tag>, code: Option<Code>, text: impl Into<String>) -> Self {
        Self::new(tag, StatusKind::Ok, code, text)
    }

    /// `tag NO [code] text`.
    pub fn no(tag: Option<Tag>, code: Option<Code>, text: impl Into<String>) -> Self {
        Self::new(tag, StatusKind::No, code, text)
    }

    /// `tag BAD [code] text`.
    pub fn bad(tag: Option<Tag>, code: Option<Code>, text: impl Into<String>) -> Self {
        Self::new(tag, StatusKind::Bad, code, text)
    }

    /// `* PREAUTH [code] text`.
    pub fn preauth(code: Option<Code>, text: impl Into<String>) -> Self {
        Self::new(None, StatusKind::PreAuth, code, text)
    }

    /// `* BYE [code] text`.
    pub fn bye(code: Option<Code>, text: impl Into<String>) -> Self {
        Self::new(None, StatusKind::Bye, code, text)
    }

    /// Appends the wire form with CRLF.
    pub fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        let ctx = server_ctx(ctx);
        match (&self.tag, self.kind) {
            (Some(t), StatusKind::Ok | StatusKind::No | StatusKind::Bad) => {
                out.extend_from_slice(t.as_str().as_bytes())
            }
            _ => out.push(b'*'),
        }
        out.push(b' ');
        out.extend_from_slice(self.kind.as_str().as_bytes());
        if let Some(c) = &self.code {
            out.extend_from_slice(b" [");
            c.encode(out, ctx);
            out.push(b']');
        }
        if !self.text.is_empty() {
            out.push(b' ');
            write_text(out, &self.text);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// A continuation request (RFC 9051 7.6): `+ text` or `+ base64`.
///
/// Parsing decides by content: an empty line or one that is valid canonical
/// base64 (no spaces, padded) is [`Continue::Base64`], anything else
/// [`Continue::Text`]. So `Text("")` or a text such as `"abcd"` reads back as
/// `Base64`; give continuation texts a space (`"Ready for literal"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continue {
    /// `+ text` (CR/LF/NUL replaced by spaces when encoding).
    Text(String),
    /// `+ base64`: a SASL challenge; an empty one is written `+ ` CRLF.
    Base64(Vec<u8>),
}

impl Continue {
    /// Appends the wire form with CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"+ ");
        match self {
            Continue::Text(t) => write_text(out, t),
            Continue::Base64(b) => {
                let s = base64::engine::general_purpose::STANDARD.encode(b);
                out.extend_from_slice(s.as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Why [`parse_response`] returned no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The buffer is a valid prefix of a response: more bytes are needed.
    #[error("incomplete response")]
    Incomplete,
    /// The bytes are not a valid response.
    #[error("invalid response: {0}")]
    Invalid(ParseFailure),
}

impl Response {
    /// Appends the wire form, including the final CRLF and any literals.
    pub fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        match self {
            Response::Status(s) => s.encode(out, ctx),
            Response::Data(d) => d.encode(out, ctx),
            Response::Continue(c) => c.encode(out),
        }
    }
}

impl From<Status> for Response {
    fn from(s: Status) -> Self {
        Response::Status(s)
    }
}

impl From<Data> for Response {
    fn from(d: Data) -> Self {
        Response::Data(d)
    }
}

impl From<Continue> for Response {
    fn from(c: Continue) -> Self {
        Response::Continue(c)
    }
}

/// Parses one response from the start of `input`, returning the number of
/// bytes it took (through its final CRLF) and the response.
pub fn parse_response(input: &[u8], ctx: Ctx) -> Result<(usize, Response), ResponseError> {
    match response(input, ctx) {
        Ok((rest, r)) => Ok((input.len() - rest.len(), r)),
        Err(nom::Err::Incomplete(_)) => Err(ResponseError::Incomplete),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            Err(ResponseError::Invalid(e.into_failure(input)))
        }
    }
}

fn response(i: &[u8], ctx: Ctx) -> IResult<'_, Response> {
    match i.first() {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b'+') => continue_req(&i[1..]),
        Some(b'*') => {
            let (i, ()) = sp(&i[1..])?;
            untagged(i, ctx)
        }
        Some(_) => {
            let (i, t) = tag(i)?;
            let (i, ()) = sp(i)?;
            let (rest, word) = atom_str(i)?;
            let kind = match word.to_ascii_uppercase().as_str() {
                "OK" => StatusKind::Ok,
                "NO" => StatusKind::No,
                "BAD" => StatusKind::Bad,
                _ => return Err(ParseError::fail(i, "expected OK, NO or BAD")),
            };
            let (rest, (code, text)) = resp_text(rest, ctx)?;
            Ok((
                rest,
                Response::Status(Status {
                    tag: Some(t),
                    kind,
                    code,
                    text,
                }),
            ))
        }
    }
}

fn untagged(i: &[u8], ctx: Ctx) -> IResult<'_, Response> {
    if i.first().is_some_and(u8::is_ascii_digit) {
        return data::numbered(i, ctx).map(|(r, d)| (r, Response::Data(d)));
    }
    let (rest, word) = atom_str(i)?;
    let kind = match word.to_ascii_uppercase().as_str() {
        "OK" => StatusKind::Ok,
        "NO" => StatusKind::No,
        "BAD" => StatusKind::Bad,
        "PREAUTH" => StatusKind::PreAuth,
        "BYE" => StatusKind::Bye,
        _ => return data::named(i, word, rest, ctx).map(|(r, d)| (r, Response::Data(d))),
    };
    let (rest, (code, text)) = resp_text(rest, ctx)?;
    Ok((
        rest,
        Response::Status(Status {
            tag: None,
            kind,
            code,
            text,
        }),
    ))
}

/// After the status keyword: `[SP ["[" resp-text-code "]"] [SP text]] CRLF`.
fn resp_text(i: &[u8], ctx: Ctx) -> IResult<'_, (Option<Code>, String)> {
    if let None | Some(b'\r') = i.first() {
        let (rest, ()) = super::core::crlf(i)?;
        return Ok((rest, (None, String::new())));
    }
    let (i, ()) = sp(i)?;
    if let Some(b'[') = i.first() {
        let (i, c) = code::code(&i[1..], ctx)?;
        let (i, ()) = byte(b']')(i)?;
        let i = match i.first() {
            Some(b' ') => &i[1..],
            _ => i,
        };
        let (i, text) = text_line(i)?;
        return Ok((i, (Some(c), text)));
    }
    let (i, text) = text_line(i)?;
    Ok((i, (None, text)))
}

/// `text` up to and including CRLF (RFC 9051 9: any CHAR or UTF-8 except
/// CR, LF and NUL). Invalid UTF-8 is replaced lossily.
pub(crate) fn text_line(i: &[u8]) -> IResult<'_, String> {
    match i.iter().position(|b| matches!(b, b'\r' | b'\n' | 0)) {
        None => Err(nom::Err::Incomplete(nom::Needed::new(2))),
        Some(n) => {
            let (rest, ()) = super::core::crlf(&i[n..])?;
            Ok((rest, lossy(Cow::Borrowed(&i[..n]))))
        }
    }
}

fn continue_req(i: &[u8]) -> IResult<'_, Response> {
    let i = match i.first() {
        Some(b' ') => &i[1..],
        _ => i,
    };
    let (rest, text) = text_line(i)?;
    let c = match decode_base64_line(&text) {
        Some(b) => Continue::Base64(b),
        None => Continue::Text(text),
    };
    Ok((rest, Response::Continue(c)))
}

/// The bytes of a continuation line that is empty or canonical base64.
pub(crate) fn decode_base64_line(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    if !text.len().is_multiple_of(4) || text.bytes().any(|b| b == b' ') {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Writes text with CR, LF and NUL replaced by spaces.
pub(crate) fn write_text(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        out.push(if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        });
    }
}

/// Response encoders never write `{n+}`.
pub(crate) fn server_ctx(ctx: Ctx) -> Ctx {
    Ctx {
        literal_plus: false,
        ..ctx
    }
}

/// Parsed string content as text, invalid UTF-8 replaced lossily.
pub(crate) fn lossy(v: Cow<'_, [u8]>) -> String {
    match v {
        Cow::Borrowed(b) => String::from_utf8_lossy(b).into_owned(),
        Cow::Owned(b) => match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        },
    }
}

/// Whether `s` is an atom (RFC 9051 9).
pub(crate) fn is_atom(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(super::core::string::is_atom_char)
}

/// Writes `s` as an atom when it is one, else as a quoted string (for places
/// whose grammar is `atom / quoted`, such as charsets).
pub(crate) fn write_atom_or_quoted(out: &mut Vec<u8>, s: &str) {
    if is_atom(s) && !s.eq_ignore_ascii_case("NIL") {
        out.extend_from_slice(s.as_bytes());
    } else {
        write_quoted_clean(out, s);
    }
}

/// Writes a quoted string, escaping `"` and `\` and writing CR, LF and NUL
/// (never allowed in a quoted string) as spaces. No allocation.
pub(crate) fn write_quoted_clean(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            b'\r' | b'\n' | 0 => out.push(b' '),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// `*(SP atom)` as strings, up to (not including) the CRLF or `]`.
pub(crate) fn atoms_after(mut i: &[u8]) -> IResult<'_, Vec<String>> {
    let mut v = Vec::new();
    while let Some(b' ') = i.first() {
        let (rest, a) = atom_str(&i[1..])?;
        v.push(a.to_string());
        i = rest;
    }
    if i.is_empty() {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    Ok((i, v))
}

/// Writes ` atom` for each entry that is an atom (others are dropped: they
/// cannot be written where an atom is required).
pub(crate) fn write_atoms(out: &mut Vec<u8>, items: &[String]) {
    for s in items.iter().filter(|s| is_atom(s)) {
        out.push(b' ');
        out.extend_from_slice(s.as_bytes());
    }
}

//! Tags, atoms, quoted strings and literals (RFC 9051 4.1–4.3, 9), their
//! parsers and encoders.
//!
//! Parsed strings are returned as `Cow<[u8]>` content: quoting and literal
//! framing are wire details that values do not keep. Encoders pick the form
//! from the content: an atom when allowed, else a quoted string, else a
//! literal (8-bit data without UTF-8 mode, CR, LF, NUL, or long values).

use std::borrow::Cow;
use std::fmt;

use super::error::{IResult, ParseError};
use super::{Ctx, byte, number64};

/// Quoted strings longer than this are written as literals; clients handle
/// either, and long quoted strings are harder on line-length limits.
pub const MAX_QUOTED: usize = 1024;

/// `ATOM-CHAR` (RFC 9051 9): any CHAR except atom-specials.
pub fn is_atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR` (RFC 9051 9): ATOM-CHAR or `]`.
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// `tag-char`: ASTRING-CHAR except `+`.
pub fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// A command tag (RFC 9051 2.2.1): `1*<any ASTRING-CHAR except "+">`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Tag {
    type Error = &'static str;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        if !s.is_empty() && s.bytes().all(is_tag_char) {
            Ok(Tag(s.to_string()))
        } else {
            Err("a tag is 1 or more characters, none of them special")
        }
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An atom (RFC 9051 4.1): 1*ATOM-CHAR.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(String);

impl Atom {
    /// The atom text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Atom {
    type Error = &'static str;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        if !s.is_empty() && s.bytes().all(is_atom_char) {
            Ok(Atom(s.to_string()))
        } else {
            Err("an atom is 1 or more characters, none of them special")
        }
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({})", self.0)
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn take_while1<'a>(
    i: &'a [u8],
    pred: impl Fn(u8) -> bool,
    what: &'static str,
) -> IResult<'a, &'a [u8]> {
    let n = i.iter().take_while(|&&b| pred(b)).count();
    if n == i.len() {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    if n == 0 {
        return Err(ParseError::fail(i, what));
    }
    Ok((&i[n..], &i[..n]))
}

/// `tag` (RFC 9051 9).
pub fn tag(i: &[u8]) -> IResult<'_, Tag> {
    let (rest, t) = take_while1(i, is_tag_char, "expected a tag")?;
    // Only ASCII passes is_tag_char.
    Ok((rest, Tag(String::from_utf8_lossy(t).into_owned())))
}

/// `atom` (RFC 9051 9), as an [`Atom`].
pub fn atom(i: &[u8]) -> IResult<'_, Atom> {
    let (rest, a) = atom_str(i)?;
    Ok((rest, Atom(a.to_string())))
}

/// `atom` as a borrowed `&str` (always ASCII).
pub fn atom_str(i: &[u8]) -> IResult<'_, &str> {
    let (rest, a) = take_while1(i, is_atom_char, "expected an atom")?;
    let s = std::str::from_utf8(a).map_err(|_| ParseError::fail(i, "expected an atom"))?;
    Ok((rest, s))
}

/// `1*ASTRING-CHAR`.
fn astring_atom(i: &[u8]) -> IResult<'_, &[u8]> {
    take_while1(i, is_astring_char, "expected a string")
}

/// `quoted` (RFC 9051 9): `DQUOTE *QUOTED-CHAR DQUOTE`, with `\"` and `\\`
/// escapes. 8-bit bytes are accepted only when `ctx.utf8` (and must then be
/// valid UTF-8); CR, LF and NUL never.
pub fn quoted(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Cow<'_, [u8]>> {
    move |i: &[u8]| {
        let (body, ()) = byte(b'"')(i)?;
        let mut escaped = false;
        let mut has_escape = false;
        for (n, &b) in body.iter().enumerate() {
            if escaped {
                if b != b'"' && b != b'\\' {
                    return Err(ParseError::fail(
                        &body[n..],
                        "only \\\" and \\\\ may be escaped",
                    ));
                }
                escaped = false;
                continue;
            }
            match b {
                b'\\' => {
                    escaped = true;
                    has_escape = true;
                }
                b'"' => {
                    let raw = &body[..n];
                    if !ctx.utf8 && raw.iter().any(|b| *b >= 0x80) {
                        return Err(ParseError::fail(i, "8-bit characters need a literal"));
                    }
                    if ctx.utf8 && std::str::from_utf8(raw).is_err() {
                        return Err(ParseError::fail(i, "invalid UTF-8 in quoted string"));
                    }
                    let v = if has_escape {
                        Cow::Owned(unescape(raw))
                    } else {
                        Cow::Borrowed(raw)
                    };
                    return Ok((&body[n + 1..], v));
                }
                b'\r' | b'\n' | 0 => {
                    return Err(ParseError::fail(
                        &body[n..],
                        "CR, LF and NUL are not allowed in a quoted string",
                    ));
                }
                _ => {}
            }
        }
        Err(nom::Err::Incomplete(nom::Needed::new(1)))
    }
}

fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(raw.len());
    let mut escaped = false;
    for &b in raw {
        if !escaped && b == b'\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        v.push(b);
    }
    v
}

/// The announcement that starts a literal: `{n}`, `{n+}` (RFC 7888) or, with
/// `~` before it, a literal8 (RFC 3516), followed by CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiteralHead {
    /// Number of octets that follow the CRLF.
    pub len: u64,
    /// `{n+}`: the client does not wait for a continuation.
    pub non_sync: bool,
    /// `~{n}`: literal8, may contain NUL.
    pub binary: bool,
}

/// Parses a literal announcement including its CRLF: `["~"] "{" number64
/// ["+"] "}" CRLF`.
pub fn literal_head(i: &[u8]) -> IResult<'_, LiteralHead> {
    let (i, binary) = match i.first() {
        Some(b'~') => (&i[1..], true),
        _ => (i, false),
    };
    let (i, ()) = byte(b'{')(i)?;
    let (i, len) = number64(i)?;
    let (i, non_sync) = match i.first() {
        Some(b'+') => (&i[1..], true),
        _ => (i, false),
    };
    let (i, ()) = byte(b'}')(i)?;
    let (i, ()) = super::crlf(i)?;
    Ok((
        i,
        LiteralHead {
            len,
            non_sync,
            binary,
        },
    ))
}

/// `literal` (RFC 9051 9): the announcement, CRLF and the octets. NUL is
/// refused (it needs literal8); `literal8` is accepted only when `binary_ok`.
pub fn literal_data(binary_ok: bool) -> impl Fn(&[u8]) -> IResult<'_, &[u8]> {
    move |i: &[u8]| {
        let (rest, head) = literal_head(i)?;
        if head.binary && !binary_ok {
            return Err(ParseError::fail(i, "literal8 is not allowed here"));
        }
        let len =
            usize::try_from(head.len).map_err(|_| ParseError::fail(i, "literal too large"))?;
        if rest.len() < len {
            return Err(nom::Err::Incomplete(nom::Needed::new(len - rest.len())));
        }
        let data = &rest[..len];
        if !head.binary && data.contains(&0) {
            return Err(ParseError::fail(i, "NUL is not allowed in a literal"));
        }
        Ok((&rest[len..], data))
    }
}

/// `string` (RFC 9051 9): quoted or literal.
pub fn string(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Cow<'_, [u8]>> {
    move |i: &[u8]| match i.first() {
        Some(b'"') => quoted(ctx)(i),
        Some(b'{') => literal_data(false)(i).map(|(r, d)| (r, Cow::Borrowed(d))),
        Some(_) => Err(ParseError::fail(i, "expected a quoted string or literal")),
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
    }
}

/// `astring` (RFC 9051 9): `1*ASTRING-CHAR / string`.
pub fn astring(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Cow<'_, [u8]>> {
    move |i: &[u8]| match i.first() {
        Some(b'"') | Some(b'{') => string(ctx)(i),
        _ => astring_atom(i).map(|(r, a)| (r, Cow::Borrowed(a))),
    }
}

/// `nstring` (RFC 9051 9): `string / nil`.
pub fn nstring(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Option<Cow<'_, [u8]>>> {
    move |i: &[u8]| match i.first() {
        Some(b'n') | Some(b'N') => {
            let (r, ()) = super::keyword("NIL")(i)?;
            Ok((r, None))
        }
        _ => string(ctx)(i).map(|(r, s)| (r, Some(s))),
    }
}

/// Converts parsed string content to UTF-8 text, refusing invalid UTF-8.
pub fn utf8<'a>(at: &'a [u8], v: Cow<'_, [u8]>) -> Result<String, nom::Err<ParseError<'a>>> {
    match v {
        Cow::Borrowed(b) => std::str::from_utf8(b).map(str::to_string),
        Cow::Owned(b) => String::from_utf8(b).map_err(|e| e.utf8_error()),
    }
    .map_err(|_| ParseError::fail(at, "invalid UTF-8"))
}

fn quotable(s: &[u8], ctx: Ctx) -> bool {
    s.len() <= MAX_QUOTED
        && !s.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
        && (s.is_ascii() || (ctx.utf8 && std::str::from_utf8(s).is_ok()))
}

/// Writes `s` as a quoted string when possible, else as a literal.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], ctx: Ctx) {
    if quotable(s, ctx) {
        write_quoted(out, s);
    } else {
        write_literal(out, s, ctx.literal_plus);
    }
}

/// Writes `s` as an atom when it is one (and not `NIL`, which would read as
/// nil in an nstring position), else as a string.
pub fn write_astring(out: &mut Vec<u8>, s: &[u8], ctx: Ctx) {
    if !s.is_empty() && s.iter().all(|&b| is_astring_char(b)) && !s.eq_ignore_ascii_case(b"NIL") {
        out.extend_from_slice(s);
    } else {
        write_string(out, s, ctx);
    }
}

/// Writes `NIL` or the string.
pub fn write_nstring(out: &mut Vec<u8>, s: Option<&[u8]>, ctx: Ctx) {
    match s {
        Some(s) => write_string(out, s, ctx),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Writes a quoted string, escaping `"` and `\`. The caller ensures the
/// content is quotable (no CR, LF, NUL).
pub fn write_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Writes a literal `{n}` CRLF data (or `{n+}` when `non_sync`).
pub fn write_literal(out: &mut Vec<u8>, s: &[u8], non_sync: bool) {
    out.push(b'{');
    super::write_number(out, s.len() as u64);
    if non_sync {
        out.push(b'+');
    }
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(s);
}

/// Writes a literal8 `~{n}` CRLF data (RFC 3516).
pub fn write_literal8(out: &mut Vec<u8>, s: &[u8], non_sync: bool) {
    out.push(b'~');
    write_literal(out, s, non_sync);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    #[test]
    fn parse_strings() {
        let c = Ctx::REV1;
        assert_eq!(astring(c)(b"abc ").unwrap().1.as_ref(), b"abc");
        assert_eq!(astring(c)(b"a]c ").unwrap().1.as_ref(), b"a]c");
        assert_eq!(astring(c)(b"\"a\\\"b\" ").unwrap().1.as_ref(), b"a\"b");
        assert!(astring(c)(b"{3}\r\na\0b ").is_err());
        assert_eq!(astring(c)(b"{3}\r\nabc ").unwrap().1.as_ref(), b"abc");
        assert_eq!(astring(c)(b"{3+}\r\nabc ").unwrap().1.as_ref(), b"abc");
        assert!(matches!(
            astring(c)(b"{3}\r\nab"),
            Err(nom::Err::Incomplete(_))
        ));
        assert!(matches!(astring(c)(b"\"abc"), Err(nom::Err::Incomplete(_))));
        assert!(astring(c)(b"\"a\\bc\" ").is_err());
        assert!(astring(c)(b"\"\xc3\xa9\" ").is_err());
        assert_eq!(
            astring(Ctx::UTF8)(b"\"\xc3\xa9\" ").unwrap().1.as_ref(),
            "é".as_bytes()
        );
        assert!(astring(Ctx::UTF8)(b"\"\xff\" ").is_err());
        assert_eq!(nstring(c)(b"nil ").unwrap().1, None);
        assert!(astring(c)(b"(abc").is_err());
    }

    #[test]
    fn encode_picks_form() {
        let c = Ctx::REV1;
        assert_eq!(enc(|o| write_astring(o, b"INBOX", c)), b"INBOX");
        assert_eq!(enc(|o| write_astring(o, b"", c)), b"\"\"");
        assert_eq!(enc(|o| write_astring(o, b"NIL", c)), b"\"NIL\"");
        assert_eq!(enc(|o| write_astring(o, b"a b\"", c)), b"\"a b\\\"\"");
        assert_eq!(enc(|o| write_astring(o, b"a\r\nb", c)), b"{4}\r\na\r\nb");
        assert_eq!(
            enc(|o| write_astring(o, "é".as_bytes(), c)),
            b"{2}\r\n\xc3\xa9"
        );
        assert_eq!(
            enc(|o| write_astring(o, "é".as_bytes(), Ctx::UTF8)),
            b"\"\xc3\xa9\""
        );
        let lp = Ctx {
            literal_plus: true,
            ..c
        };
        assert_eq!(enc(|o| write_string(o, b"\n", lp)), b"{1+}\r\n\n");
        assert_eq!(enc(|o| write_literal8(o, b"\0", false)), b"~{1}\r\n\0");
    }

    #[test]
    fn tags() {
        assert_eq!(tag(b"a001 ").unwrap().1.as_str(), "a001");
        assert!(tag(b"+ ").is_err());
        assert!(Tag::try_from("a+b").is_err());
        assert!(Tag::try_from("a]b").is_ok());
        assert!(Atom::try_from("a]b").is_err());
    }
}

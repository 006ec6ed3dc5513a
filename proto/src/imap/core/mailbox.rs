//! Mailbox names on the wire (RFC 9051 5.1, 9 `mailbox`, `list-mailbox`).
//!
//! Values hold the name as UTF-8 text. Without UTF-8 mode (`Ctx::utf8`), names
//! are modified UTF-7 on the wire (RFC 3501 5.1.3) and converted here.
//! `INBOX` in any case is normalised to `INBOX` (RFC 9051 5.1).

use std::fmt;

use super::Ctx;
use super::error::{IResult, ParseError};
use super::string::{astring, is_atom_char, string, utf8, write_astring};
use crate::imap::utf7;

/// A mailbox name as UTF-8 text; `INBOX` is always upper case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mailbox(String);

impl Mailbox {
    /// A mailbox name; `inbox` in any case becomes `INBOX`.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        if name.eq_ignore_ascii_case("INBOX") {
            Mailbox("INBOX".to_string())
        } else {
            Mailbox(name)
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the INBOX.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailbox({:?})", self.0)
    }
}

impl From<&str> for Mailbox {
    fn from(s: &str) -> Self {
        Mailbox::new(s)
    }
}

/// Turns wire bytes of a name into text: modified UTF-7 decoding without
/// UTF-8 mode, UTF-8 validation always.
fn decode_name<'a>(at: &'a [u8], raw: &[u8], ctx: Ctx) -> Result<String, nom::Err<ParseError<'a>>> {
    let text = utf8(at, std::borrow::Cow::Borrowed(raw))?;
    if ctx.utf8 || !text.is_ascii() {
        // Non-ASCII from a rev1 client: accept it as UTF-8 (Dovecot and mox
        // do the same) rather than refuse a name the user can read.
        return Ok(text);
    }
    utf7::decode(&text).map_err(|_| ParseError::fail(at, "invalid modified UTF-7 in mailbox name"))
}

/// `mailbox` (RFC 9051 9): `"INBOX" / astring`.
pub fn mailbox(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Mailbox> {
    move |i: &[u8]| {
        let (rest, raw) = astring(ctx)(i)?;
        let name = decode_name(i, &raw, ctx)?;
        Ok((rest, Mailbox::new(name)))
    }
}

/// `list-char` (RFC 9051 9): ATOM-CHAR / list-wildcards / resp-specials.
fn is_list_char(b: u8) -> bool {
    is_atom_char(b) || b == b'%' || b == b'*' || b == b']'
}

/// `list-mailbox` (RFC 9051 9): `1*list-char / string`, a LIST pattern that
/// may hold the wildcards `%` and `*`. Returned as UTF-8 text.
pub fn list_mailbox(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, String> {
    move |i: &[u8]| {
        let (rest, raw) = match i.first() {
            Some(b'"') | Some(b'{') => string(ctx)(i)?,
            Some(_) => {
                let n = i.iter().take_while(|&&b| is_list_char(b)).count();
                if n == i.len() {
                    return Err(nom::Err::Incomplete(nom::Needed::new(1)));
                }
                if n == 0 {
                    return Err(ParseError::fail(i, "expected a mailbox pattern"));
                }
                (&i[n..], std::borrow::Cow::Borrowed(&i[..n]))
            }
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        };
        Ok((rest, decode_name(i, &raw, ctx)?))
    }
}

/// Writes a mailbox name (modified UTF-7 unless UTF-8 mode).
pub fn write_mailbox(out: &mut Vec<u8>, name: &Mailbox, ctx: Ctx) {
    write_name(out, name.as_str(), ctx);
}

/// Writes a mailbox name or LIST pattern given as text, encoded for `ctx`.
/// Patterns keep `%` and `*`, which make them a quoted string.
pub fn write_name(out: &mut Vec<u8>, name: &str, ctx: Ctx) {
    if ctx.utf8 {
        write_astring(out, name.as_bytes(), ctx);
    } else {
        write_astring(out, utf7::encode(name).as_bytes(), ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let (_, m) = mailbox(Ctx::REV1)(b"inbox ").unwrap();
        assert!(m.is_inbox());
        let (_, m) = mailbox(Ctx::REV1)(b"~peter/mail/&U,BTFw-/&ZeVnLIqe- ").unwrap();
        assert_eq!(m.as_str(), "~peter/mail/台北/日本語");
        let (_, m) = mailbox(Ctx::UTF8)(b"&U,BTFw- ").unwrap();
        assert_eq!(m.as_str(), "&U,BTFw-");
        assert!(mailbox(Ctx::REV1)(b"&Jjo ").is_err());
        let mut out = Vec::new();
        write_mailbox(&mut out, &Mailbox::new("台北 x"), Ctx::REV1);
        assert_eq!(out, b"\"&U,BTFw- x\"");
        out.clear();
        write_mailbox(&mut out, &Mailbox::new("台北"), Ctx::UTF8);
        assert_eq!(out, "\"台北\"".as_bytes());
        assert_eq!(list_mailbox(Ctx::REV1)(b"foo/%/* ").unwrap().1, "foo/%/*");
        out.clear();
        write_name(&mut out, "foo/%", Ctx::REV1);
        assert_eq!(out, b"\"foo/%\"");
    }
}

//! Syntax shared by commands and responses (RFC 9051 section 9, "Formal
//! Syntax"): tags, atoms, numbers, strings and literals, sequence sets, flags,
//! dates and mailbox names, each with its nom parser and its encoder.
//!
//! Parsers are *streaming*: they run on a buffer that holds a whole command or
//! response (all lines and literals), and return `Err::Incomplete` when the
//! buffer is a valid prefix that needs more bytes. The framer relies on this to
//! decide whether a synchronising literal may get its `+` continuation.
//!
//! Encoders append to a `Vec<u8>` and choose the string form (atom, quoted or
//! literal) from the content; see [`string`].

pub mod date;
pub mod error;
pub mod flag;
pub mod mailbox;
pub mod section;
pub mod seq;
pub mod string;

pub use date::{Date, DateTime};
pub use error::{IResult, ParseError, ParseFailure};
pub use flag::{Flag, FlagFetch, FlagPerm};
pub use mailbox::Mailbox;
pub use section::{Section, SectionText, StatusAttr};
pub use seq::{SeqNum, SeqRange, SequenceSet, UidSet};
pub use string::{Atom, Tag};

/// How a connection speaks: decided at connect time and by ENABLE.
///
/// Parsers and encoders take it so mailbox names and 8-bit strings are handled
/// as the client expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ctx {
    /// UTF-8 mailbox names and UTF-8 in quoted strings (IMAP4rev2 enabled, or
    /// UTF8=ACCEPT, RFC 6855). When false, mailbox names on the wire are
    /// modified UTF-7 (RFC 3501 5.1.3) and 8-bit data goes in literals.
    pub utf8: bool,
    /// The client may send non-synchronising literals (`{n+}`); set by the
    /// server when it advertises LITERAL+ (RFC 7888). Encoders of client
    /// commands use `{n+}` when this is set.
    pub literal_plus: bool,
}

impl Ctx {
    /// IMAP4rev1 without extensions enabled: modified UTF-7 names.
    pub const REV1: Ctx = Ctx {
        utf8: false,
        literal_plus: false,
    };
    /// IMAP4rev2 (or UTF8=ACCEPT) enabled: UTF-8 names and strings.
    pub const UTF8: Ctx = Ctx {
        utf8: true,
        literal_plus: false,
    };
}

/// `SP` (RFC 9051 9).
pub fn sp(i: &[u8]) -> IResult<'_, ()> {
    match i.first() {
        Some(b' ') => Ok((&i[1..], ())),
        Some(_) => Err(ParseError::fail(i, "expected a space")),
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
    }
}

/// `CRLF` (RFC 9051 9). A bare LF is not accepted.
pub fn crlf(i: &[u8]) -> IResult<'_, ()> {
    match i {
        [b'\r', b'\n', rest @ ..] => Ok((rest, ())),
        [b'\r'] | [] => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        _ => Err(ParseError::fail(i, "expected end of line")),
    }
}

/// Consumes the exact bytes `word`, case-insensitively (IMAP keywords are
/// case-insensitive, RFC 9051 9 note 1).
pub fn keyword<'a>(word: &'static str) -> impl Fn(&'a [u8]) -> IResult<'a, ()> {
    move |i: &'a [u8]| {
        let w = word.as_bytes();
        let n = w.len().min(i.len());
        if !i[..n].eq_ignore_ascii_case(&w[..n]) {
            return Err(ParseError::fail(i, word));
        }
        if n < w.len() {
            return Err(nom::Err::Incomplete(nom::Needed::new(w.len() - n)));
        }
        Ok((&i[n..], ()))
    }
}

/// A single byte `c`.
pub fn byte<'a>(c: u8) -> impl Fn(&'a [u8]) -> IResult<'a, ()> {
    move |i: &'a [u8]| match i.first() {
        Some(&b) if b == c => Ok((&i[1..], ())),
        Some(_) => Err(ParseError::fail(i, char_name(c))),
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
    }
}

fn char_name(c: u8) -> &'static str {
    match c {
        b'(' => "expected '('",
        b')' => "expected ')'",
        b'[' => "expected '['",
        b']' => "expected ']'",
        b'<' => "expected '<'",
        b'>' => "expected '>'",
        b'.' => "expected '.'",
        b':' => "expected ':'",
        b'"' => "expected '\"'",
        b'{' => "expected '{'",
        b'}' => "expected '}'",
        b'*' => "expected '*'",
        b'+' => "expected '+'",
        b'=' => "expected '='",
        b'$' => "expected '$'",
        b'~' => "expected '~'",
        b'\\' => "expected '\\'",
        _ => "unexpected character",
    }
}

/// `number` (RFC 9051 9): 1*DIGIT fitting in 32 bits.
pub fn number(i: &[u8]) -> IResult<'_, u32> {
    let (rest, v) = number64(i)?;
    u32::try_from(v)
        .map(|v| (rest, v))
        .map_err(|_| ParseError::fail(i, "number too large for 32 bits"))
}

/// `nz-number` (RFC 9051 9): a number that is not zero.
pub fn nz_number(i: &[u8]) -> IResult<'_, u32> {
    let (rest, v) = number(i)?;
    if v == 0 {
        return Err(ParseError::fail(i, "expected a non-zero number"));
    }
    Ok((rest, v))
}

/// `number64` (RFC 9051 9): 1*DIGIT up to 2^63-1.
pub fn number64(i: &[u8]) -> IResult<'_, u64> {
    let digits = i.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        if i.is_empty() {
            return Err(nom::Err::Incomplete(nom::Needed::new(1)));
        }
        return Err(ParseError::fail(i, "expected a number"));
    }
    if digits == i.len() {
        // More digits may follow.
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    let mut v: u64 = 0;
    for &d in &i[..digits] {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .filter(|v| *v <= i64::MAX as u64)
            .ok_or_else(|| ParseError::fail(i, "number too large"))?;
    }
    Ok((&i[digits..], v))
}

/// `nz-number64`: a non-zero number64 (mod-sequence-value, RFC 7162 7).
pub fn nz_number64(i: &[u8]) -> IResult<'_, u64> {
    let (rest, v) = number64(i)?;
    if v == 0 {
        return Err(ParseError::fail(i, "expected a non-zero number"));
    }
    Ok((rest, v))
}

/// Writes a decimal number.
pub fn write_number(out: &mut Vec<u8>, n: impl Into<u64>) {
    let mut buf = [0u8; 20];
    let mut n: u64 = n.into();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[pos..]);
}

/// A parenthesised, space-separated list of at least `min` items:
/// `"(" [item *(SP item)] ")"`.
pub fn paren_list<'a, T>(
    min: usize,
    mut item: impl FnMut(&'a [u8]) -> IResult<'a, T>,
) -> impl FnMut(&'a [u8]) -> IResult<'a, Vec<T>> {
    move |i: &'a [u8]| {
        let (mut i, ()) = byte(b'(')(i)?;
        let mut items = Vec::new();
        if let Ok((rest, ())) = byte(b')')(i) {
            if min > 0 {
                return Err(ParseError::fail(i, "expected a non-empty list"));
            }
            return Ok((rest, items));
        }
        loop {
            let (rest, v) = item(i)?;
            items.push(v);
            match rest.first() {
                Some(b' ') => i = &rest[1..],
                Some(b')') => {
                    if items.len() < min {
                        return Err(ParseError::fail(rest, "list too short"));
                    }
                    return Ok((&rest[1..], items));
                }
                Some(_) => return Err(ParseError::fail(rest, "expected ' ' or ')' in list")),
                None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(b"123 ").unwrap(), (&b" "[..], 123));
        assert!(matches!(number(b"123"), Err(nom::Err::Incomplete(_))));
        assert!(matches!(number(b"4294967296 "), Err(nom::Err::Error(_))));
        assert!(matches!(nz_number(b"0 "), Err(nom::Err::Error(_))));
        assert_eq!(
            number64(b"9223372036854775807)").unwrap().1,
            i64::MAX as u64
        );
        assert!(number64(b"9223372036854775808)").is_err());
        let mut v = Vec::new();
        write_number(&mut v, 0u32);
        v.push(b' ');
        write_number(&mut v, u64::MAX);
        assert_eq!(v, b"0 18446744073709551615");
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(keyword("FETCH")(b"fEtCh ").unwrap().0, b" ");
        assert!(matches!(
            keyword("FETCH")(b"FET"),
            Err(nom::Err::Incomplete(_))
        ));
        assert!(keyword("FETCH")(b"FEX").is_err());
    }

    #[test]
    fn lists() {
        let (rest, v) = paren_list(0, number)(b"(1 2 3) ").unwrap();
        assert_eq!((rest, v), (&b" "[..], vec![1, 2, 3]));
        assert_eq!(paren_list(0, number)(b"() ").unwrap().1, Vec::<u32>::new());
        assert!(paren_list(1, number)(b"() ").is_err());
        assert!(paren_list(0, number)(b"(1,2) ").is_err());
    }
}

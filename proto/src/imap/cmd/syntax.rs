//! Small syntax helpers shared by the command parsers: command and option
//! words, error shaping, and the charset argument.

use crate::imap::core::flag::{flag, flag_list};
use crate::imap::core::string::{astring, is_atom_char, utf8, write_astring};
use crate::imap::core::{Ctx, Flag, IResult, ParseError};

/// A command name, option or attribute word: `1*(ALPHA / DIGIT / "." / "-")`.
/// Returns Incomplete when the word runs to the end of the buffer.
pub(crate) fn word(i: &[u8]) -> IResult<'_, &[u8]> {
    let n = i
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'.' || **b == b'-')
        .count();
    if n == i.len() {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    if n == 0 {
        return Err(ParseError::fail(i, "expected a word"));
    }
    Ok((&i[n..], &i[..n]))
}

/// Longest word [`upper`] converts; longer words match no keyword.
pub(crate) const MAX_KEYWORD: usize = 24;

/// `w` in upper case, in `buf` (no allocation on the hot path). Words longer
/// than [`MAX_KEYWORD`] come back empty, which matches no keyword.
pub(crate) fn upper<'b>(w: &[u8], buf: &'b mut [u8; MAX_KEYWORD]) -> &'b [u8] {
    let Some(dst) = buf.get_mut(..w.len()) else {
        return &[];
    };
    for (d, s) in dst.iter_mut().zip(w) {
        *d = s.to_ascii_uppercase();
    }
    dst
}

/// Makes a recoverable error fatal: once a command (or option) is
/// recognised, `alt`-style fallbacks must not hide the specific reason.
pub(crate) fn cut<'a, T>(r: IResult<'a, T>) -> IResult<'a, T> {
    r.map_err(|e| match e {
        nom::Err::Error(e) => nom::Err::Failure(e),
        e => e,
    })
}

/// Replaces a recoverable error's text with `expected` (positioned at `at`)
/// when it is a generic "expected …" error at `at` itself; errors that say
/// something specific ("8-bit characters need a literal", "no such date") or
/// that arose further in are kept, as are Incomplete and Failure.
pub(crate) fn expect<'a, T>(
    at: &'a [u8],
    expected: &'static str,
    r: IResult<'a, T>,
) -> IResult<'a, T> {
    r.map_err(|e| match e {
        nom::Err::Error(e)
            if e.input.len() == at.len()
                && (e.expected.starts_with("expected") || e.expected.starts_with("unexpected")) =>
        {
            ParseError::fail(at, expected)
        }
        e => e,
    })
}

/// Whether the next bytes are `SP` then `c`; Incomplete when the buffer ends
/// before that can be decided.
pub(crate) fn peek_sp_byte(i: &[u8], c: u8) -> Result<bool, nom::Err<ParseError<'_>>> {
    match i {
        [] | [b' '] => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        [b' ', b, ..] => Ok(*b == c),
        _ => Ok(false),
    }
}

/// Whether the next bytes are `SP` then the word `w` (case-insensitive) ended
/// by a non-word byte. Incomplete when the buffer ends before that is known.
pub(crate) fn peek_sp_word<'a>(i: &'a [u8], w: &str) -> Result<bool, nom::Err<ParseError<'a>>> {
    match i {
        [] => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        [b' ', rest @ ..] => match word(rest) {
            Ok((_, got)) => Ok(got.eq_ignore_ascii_case(w.as_bytes())),
            Err(nom::Err::Incomplete(n)) => {
                let k = rest.len().min(w.len());
                if rest[..k].eq_ignore_ascii_case(&w.as_bytes()[..k]) {
                    Err(nom::Err::Incomplete(n))
                } else {
                    Ok(false)
                }
            }
            Err(_) => Ok(false),
        },
        _ => Ok(false),
    }
}

/// `flag-list` (RFC 9051 9) with "expected a flag" instead of the atom
/// parser's "expected an atom" (e.g. for `\*`, which only servers send).
pub(crate) fn flags(i: &[u8]) -> IResult<'_, Vec<Flag>> {
    flag_list(i).map_err(flag_error)
}

/// One `flag`, with the same error text as [`flags`].
pub(crate) fn one_flag(i: &[u8]) -> IResult<'_, Flag> {
    flag(i).map_err(flag_error)
}

fn flag_error(e: nom::Err<ParseError<'_>>) -> nom::Err<ParseError<'_>> {
    match e {
        nom::Err::Error(e) if e.expected == "expected an atom" => {
            ParseError::fail(e.input, "expected a flag")
        }
        e => e,
    }
}

/// `charset` (RFC 9051 9): `atom / quoted`, as text.
pub(crate) fn charset(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, String> {
    move |i: &[u8]| {
        let (rest, v) = expect(i, "expected a charset name", astring(ctx)(i))?;
        Ok((rest, utf8(i, v)?))
    }
}

/// Writes a charset name as an atom or quoted string.
pub(crate) fn write_charset(out: &mut Vec<u8>, name: &str, ctx: Ctx) {
    if !name.is_empty() && name.bytes().all(is_atom_char) && !name.eq_ignore_ascii_case("NIL") {
        out.extend_from_slice(name.as_bytes());
    } else {
        write_astring(out, name.as_bytes(), ctx);
    }
}

/// An astring as UTF-8 text (user names, quota roots, ID fields).
pub(crate) fn astring_text(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, String> {
    move |i: &[u8]| {
        let (rest, v) = astring(ctx)(i)?;
        Ok((rest, utf8(i, v)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(word(b"BODY.PEEK[").unwrap(), (&b"["[..], &b"BODY.PEEK"[..]));
        assert!(matches!(word(b"NOOP"), Err(nom::Err::Incomplete(_))));
        assert!(word(b"(x").is_err());
        assert!(peek_sp_word(b" RETURN (", "RETURN").unwrap());
        assert!(!peek_sp_word(b" RETURNS (", "RETURN").unwrap());
        assert!(matches!(
            peek_sp_word(b" RET", "RETURN"),
            Err(nom::Err::Incomplete(_))
        ));
        assert!(!peek_sp_word(b" ALL", "RETURN").unwrap());
        assert!(peek_sp_byte(b" (", b'(').unwrap());
    }
}

//! Reading search strings in the command's charset (RFC 9051 6.4.4, RFC 6855
//! 3): UTF-8 and US-ASCII natively, other charsets through mail-parser's
//! decoders. An unknown charset is an error the server answers with
//! `NO [BADCHARSET (UTF-8)]`.

use std::fmt;

use mail_parser::decoders::charsets::map::charset_decoder;

use super::search_key::SearchKey;
use crate::imap::core::Ctx;

/// Why search strings could not be converted to UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CharsetError {
    /// The charset is unknown, or not allowed in UTF-8 mode (RFC 6855 3):
    /// answer `NO [BADCHARSET (UTF-8)]`.
    Unsupported(String),
    /// A string is not valid in its charset (invalid UTF-8): answer `BAD`.
    Invalid,
}

impl fmt::Display for CharsetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CharsetError::Unsupported(c) => write!(f, "unsupported charset {c}"),
            CharsetError::Invalid => f.write_str("search string is not valid in its charset"),
        }
    }
}

impl std::error::Error for CharsetError {}

fn is_utf8_name(c: &str) -> bool {
    c.eq_ignore_ascii_case("UTF-8") || c.eq_ignore_ascii_case("UTF8")
}

fn is_ascii_name(c: &str) -> bool {
    c.eq_ignore_ascii_case("US-ASCII") || c.eq_ignore_ascii_case("ASCII")
}

/// A function turning raw bytes into UTF-8.
enum Decoder {
    Utf8,
    Other(fn(&[u8]) -> String),
}

impl Decoder {
    fn for_charset(charset: Option<&str>, ctx: Ctx) -> Result<Decoder, CharsetError> {
        let Some(c) = charset else {
            return Ok(Decoder::Utf8);
        };
        if is_utf8_name(c) || is_ascii_name(c) {
            // US-ASCII is a subset of UTF-8; clients that say US-ASCII and
            // send 8-bit mean UTF-8.
            return Ok(Decoder::Utf8);
        }
        if ctx.utf8 {
            // RFC 6855 3: only UTF-8 (and its subset US-ASCII) in UTF-8 mode.
            return Err(CharsetError::Unsupported(c.to_string()));
        }
        charset_decoder(c.as_bytes())
            .map(Decoder::Other)
            .ok_or_else(|| CharsetError::Unsupported(c.to_string()))
    }

    fn decode(&self, s: &mut Vec<u8>) -> Result<(), CharsetError> {
        match self {
            Decoder::Utf8 => {
                if std::str::from_utf8(s).is_err() {
                    return Err(CharsetError::Invalid);
                }
            }
            Decoder::Other(f) => {
                if !s.is_ascii() {
                    *s = f(s).into_bytes();
                }
            }
        }
        Ok(())
    }
}

/// Checks that `charset` can be used (for SORT/THREAD/SEARCH CHARSET) without
/// converting anything.
pub fn check_charset(charset: Option<&str>, ctx: Ctx) -> Result<(), CharsetError> {
    Decoder::for_charset(charset, ctx).map(|_| ())
}

/// Returns `keys` with every string (BCC, BODY, CC, FROM, HEADER name and
/// value, SUBJECT, TEXT, TO) converted from `charset` to UTF-8. No charset
/// means UTF-8 (RFC 9051) or US-ASCII (RFC 3501); both read as UTF-8.
pub fn decode_search_strings(
    keys: &[SearchKey],
    charset: Option<&str>,
    ctx: Ctx,
) -> Result<Vec<SearchKey>, CharsetError> {
    let decoder = Decoder::for_charset(charset, ctx)?;
    let mut out = keys.to_vec();
    for k in &mut out {
        decode_key(k, &decoder)?;
    }
    Ok(out)
}

fn decode_key(k: &mut SearchKey, d: &Decoder) -> Result<(), CharsetError> {
    use SearchKey as K;
    match k {
        K::Bcc(s) | K::Body(s) | K::Cc(s) | K::From(s) | K::Subject(s) | K::Text(s) | K::To(s) => {
            d.decode(s)
        }
        K::Header(n, v) => {
            d.decode(n)?;
            d.decode(v)
        }
        K::Not(k) => decode_key(k, d),
        K::Or(a, b) => {
            decode_key(a, d)?;
            decode_key(b, d)
        }
        K::And(keys) => keys.iter_mut().try_for_each(|k| decode_key(k, d)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets() {
        let keys = vec![
            SearchKey::Subject(b"caf\xe9".to_vec()),
            SearchKey::Not(Box::new(SearchKey::Header(b"X".to_vec(), b"\xe9".to_vec()))),
        ];
        let d = decode_search_strings(&keys, Some("ISO-8859-1"), Ctx::REV1).unwrap();
        assert_eq!(d[0], SearchKey::Subject("café".as_bytes().to_vec()));
        assert_eq!(
            d[1],
            SearchKey::Not(Box::new(SearchKey::Header(
                b"X".to_vec(),
                "é".as_bytes().to_vec()
            )))
        );
        assert_eq!(
            decode_search_strings(&keys, Some("UTF-8"), Ctx::REV1),
            Err(CharsetError::Invalid)
        );
        assert_eq!(
            decode_search_strings(&keys, Some("x-unknown"), Ctx::REV1),
            Err(CharsetError::Unsupported("x-unknown".into()))
        );
        assert_eq!(
            decode_search_strings(&keys, Some("ISO-8859-1"), Ctx::UTF8),
            Err(CharsetError::Unsupported("ISO-8859-1".into()))
        );
        let ok = vec![SearchKey::From("é".as_bytes().to_vec())];
        assert_eq!(decode_search_strings(&ok, None, Ctx::UTF8).unwrap(), ok);
        assert_eq!(
            decode_search_strings(&ok, Some("us-ascii"), Ctx::REV1).unwrap(),
            ok
        );
        assert!(check_charset(Some("KOI8-R"), Ctx::REV1).is_ok());
    }
}

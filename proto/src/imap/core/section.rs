//! Body section specifiers (RFC 9051 6.4.5 `section`) shared by FETCH
//! commands and FETCH responses, and status attribute names (RFC 9051 6.3.11)
//! shared by STATUS commands and responses.

use super::error::{IResult, ParseError};
use super::string::{astring, utf8, write_astring};
use super::{Ctx, byte, keyword, nz_number, paren_list, sp, write_number};

/// The text part of a section: what of the (sub)message to return.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (name …)`: field names as given.
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (name …)`
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`
    Text,
    /// `MIME`: only after a part number.
    Mime,
}

/// `section-spec` without the brackets: a part path (`1.2.3`, empty for the
/// whole message) and an optional text specifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// Part numbers, each ≥ 1; empty for the top-level message.
    pub part: Vec<u32>,
    /// What to return of that part; None = the whole part.
    pub text: Option<SectionText>,
}

fn header_list(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Vec<String>> {
    move |i: &[u8]| {
        paren_list(1, |i| {
            let (r, v) = astring(ctx)(i)?;
            Ok((r, utf8(i, v)?))
        })(i)
    }
}

fn section_text(ctx: Ctx, after_part: bool) -> impl Fn(&[u8]) -> IResult<'_, SectionText> {
    move |i: &[u8]| {
        let word_len = i
            .iter()
            .take_while(|b| b.is_ascii_alphabetic() || **b == b'.')
            .count();
        if word_len == i.len() {
            return Err(nom::Err::Incomplete(nom::Needed::new(1)));
        }
        let word = i[..word_len].to_ascii_uppercase();
        let rest = &i[word_len..];
        match word.as_slice() {
            b"HEADER" => Ok((rest, SectionText::Header)),
            b"TEXT" => Ok((rest, SectionText::Text)),
            b"MIME" if after_part => Ok((rest, SectionText::Mime)),
            b"HEADER.FIELDS" => {
                let (rest, ()) = sp(rest)?;
                let (rest, l) = header_list(ctx)(rest)?;
                Ok((rest, SectionText::HeaderFields(l)))
            }
            b"HEADER.FIELDS.NOT" => {
                let (rest, ()) = sp(rest)?;
                let (rest, l) = header_list(ctx)(rest)?;
                Ok((rest, SectionText::HeaderFieldsNot(l)))
            }
            _ => Err(ParseError::fail(
                i,
                "expected HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME",
            )),
        }
    }
}

/// `section` (RFC 9051 9): `"[" [section-spec] "]"`.
pub fn section(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Section> {
    move |i: &[u8]| {
        let (mut i, ()) = byte(b'[')(i)?;
        let mut s = Section::default();
        if let Some(b']') = i.first() {
            return Ok((&i[1..], s));
        }
        loop {
            match i.first() {
                Some(b) if b.is_ascii_digit() => {
                    let (r, n) = nz_number(i)?;
                    s.part.push(n);
                    match r.first() {
                        Some(b'.') => i = &r[1..],
                        _ => {
                            i = r;
                            break;
                        }
                    }
                }
                Some(_) => {
                    let (r, t) = section_text(ctx, !s.part.is_empty())(i)?;
                    s.text = Some(t);
                    i = r;
                    break;
                }
                None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            }
        }
        let (i, ()) = byte(b']')(i)?;
        Ok((i, s))
    }
}

/// `section-binary` (RFC 3516): `"[" [section-part] "]"`, part numbers only.
pub fn section_binary(i: &[u8]) -> IResult<'_, Vec<u32>> {
    let (mut i, ()) = byte(b'[')(i)?;
    let mut part = Vec::new();
    if let Some(b']') = i.first() {
        return Ok((&i[1..], part));
    }
    loop {
        let (r, n) = nz_number(i)?;
        part.push(n);
        match r.first() {
            Some(b'.') => i = &r[1..],
            _ => {
                let (r, ()) = byte(b']')(r)?;
                return Ok((r, part));
            }
        }
    }
}

/// Writes `[part.TEXT]` etc., with the brackets.
pub fn write_section(out: &mut Vec<u8>, s: &Section, ctx: Ctx) {
    out.push(b'[');
    write_part(out, &s.part);
    if let Some(t) = &s.text {
        if !s.part.is_empty() {
            out.push(b'.');
        }
        let (word, fields): (&[u8], Option<&Vec<String>>) = match t {
            SectionText::Header => (b"HEADER", None),
            SectionText::Text => (b"TEXT", None),
            SectionText::Mime => (b"MIME", None),
            SectionText::HeaderFields(f) => (b"HEADER.FIELDS", Some(f)),
            SectionText::HeaderFieldsNot(f) => (b"HEADER.FIELDS.NOT", Some(f)),
        };
        out.extend_from_slice(word);
        if let Some(f) = fields {
            out.extend_from_slice(b" (");
            for (n, name) in f.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_astring(out, name.as_bytes(), ctx);
            }
            out.push(b')');
        }
    }
    out.push(b']');
}

/// Writes part numbers joined by dots (nothing for an empty path).
pub fn write_part(out: &mut Vec<u8>, part: &[u32]) {
    for (n, p) in part.iter().enumerate() {
        if n > 0 {
            out.push(b'.');
        }
        write_number(out, *p);
    }
}

/// A STATUS attribute (RFC 9051 6.3.11, RFC 7162 HIGHESTMODSEQ, RFC 8438
/// SIZE, RFC 7889 APPENDLIMIT, rev1 RECENT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusAttr {
    /// `MESSAGES`
    Messages,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED`
    Deleted,
    /// `SIZE`
    Size,
    /// `RECENT` (rev1)
    Recent,
    /// `HIGHESTMODSEQ`
    HighestModSeq,
    /// `APPENDLIMIT`
    AppendLimit,
}

impl StatusAttr {
    /// Every attribute, in a stable order.
    pub const ALL: [StatusAttr; 9] = [
        StatusAttr::Messages,
        StatusAttr::UidNext,
        StatusAttr::UidValidity,
        StatusAttr::Unseen,
        StatusAttr::Deleted,
        StatusAttr::Size,
        StatusAttr::Recent,
        StatusAttr::HighestModSeq,
        StatusAttr::AppendLimit,
    ];

    /// The attribute name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusAttr::Messages => "MESSAGES",
            StatusAttr::UidNext => "UIDNEXT",
            StatusAttr::UidValidity => "UIDVALIDITY",
            StatusAttr::Unseen => "UNSEEN",
            StatusAttr::Deleted => "DELETED",
            StatusAttr::Size => "SIZE",
            StatusAttr::Recent => "RECENT",
            StatusAttr::HighestModSeq => "HIGHESTMODSEQ",
            StatusAttr::AppendLimit => "APPENDLIMIT",
        }
    }
}

/// `status-att` (RFC 9051 9).
pub fn status_attr(i: &[u8]) -> IResult<'_, StatusAttr> {
    for a in StatusAttr::ALL {
        let name = a.as_str();
        if let Ok((r, ())) = keyword(name)(i) {
            // The name must end here (UIDNEXT vs UIDNEXTX).
            match r.first() {
                Some(b) if b.is_ascii_alphanumeric() => continue,
                None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
                _ => return Ok((r, a)),
            }
        }
    }
    if i.len() < 13 && i.iter().all(|b| b.is_ascii_alphabetic()) {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    Err(ParseError::fail(i, "unknown STATUS attribute"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(input: &[u8]) -> Vec<u8> {
        let (rest, s) = section(Ctx::REV1)(input).unwrap();
        assert_eq!(rest, b" ");
        let mut out = Vec::new();
        write_section(&mut out, &s, Ctx::REV1);
        out
    }

    #[test]
    fn sections() {
        assert_eq!(rt(b"[] "), b"[]");
        assert_eq!(rt(b"[1.2.3] "), b"[1.2.3]");
        assert_eq!(
            rt(b"[header.fields (date FROM)] "),
            b"[HEADER.FIELDS (date FROM)]"
        );
        assert_eq!(rt(b"[4.2.MIME] "), b"[4.2.MIME]");
        assert_eq!(
            rt(b"[3.HEADER.FIELDS.NOT (X)] "),
            b"[3.HEADER.FIELDS.NOT (X)]"
        );
        assert!(section(Ctx::REV1)(b"[MIME] ").is_err());
        assert!(section(Ctx::REV1)(b"[HEADER.FIELDS ()] ").is_err());
        assert!(section(Ctx::REV1)(b"[0] ").is_err());
        assert_eq!(section_binary(b"[1.2] ").unwrap().1, vec![1, 2]);
    }

    #[test]
    fn status_attrs() {
        assert_eq!(status_attr(b"uidnext ").unwrap().1, StatusAttr::UidNext);
        assert_eq!(
            status_attr(b"UIDVALIDITY)").unwrap().1,
            StatusAttr::UidValidity
        );
        assert!(status_attr(b"UIDNEXTX ").is_err());
        assert!(matches!(status_attr(b"UIDN"), Err(nom::Err::Incomplete(_))));
    }
}

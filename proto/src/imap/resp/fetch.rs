//! FETCH responses (RFC 9051 7.5.2; RFC 3516 BINARY; RFC 7162 MODSEQ; RFC
//! 8514 SAVEDATE; RFC 8970 PREVIEW), and the streaming form for large
//! message data ([`encode_fetch_head`]).

use super::super::core::date::date_time;
use super::super::core::error::{IResult, ParseError};
use super::super::core::flag::{FlagFetch, flag_fetch, write_flag_fetch};
use super::super::core::section::{section, section_binary, write_part, write_section};
use super::super::core::string::{
    literal_data, nstring, write_literal8, write_nstring, write_string,
};
use super::super::core::{
    Ctx, DateTime, Section, byte, keyword, number, number64, nz_number, paren_list, sp,
    write_number,
};
use super::body::{Body, body};
use super::envelope::{Envelope, NString, envelope};
use super::{lossy, server_ctx};

/// One data item of a FETCH response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    /// `FLAGS (flag …)`, `\Recent` included for rev1.
    Flags(Vec<FlagFetch>),
    /// `UID n`
    Uid(u32),
    /// `INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz"`
    InternalDate(DateTime),
    /// `RFC822.SIZE n`
    Rfc822Size(u64),
    /// `RFC822 nstring` (rev1): the whole message.
    Rfc822(NString),
    /// `RFC822.HEADER nstring` (rev1)
    Rfc822Header(NString),
    /// `RFC822.TEXT nstring` (rev1)
    Rfc822Text(NString),
    /// `ENVELOPE (…)`
    Envelope(Box<Envelope>),
    /// `BODY (…)`: the structure without extension data (any `ext` in the
    /// value is not written).
    Body(Box<Body>),
    /// `BODYSTRUCTURE (…)`: the structure with extension data.
    BodyStructure(Box<Body>),
    /// `BODY[section]<origin> nstring`. Message data must not contain NUL
    /// (use BINARY for that).
    BodySection {
        /// The section.
        section: Section,
        /// `<origin>`: first octet returned of a partial fetch.
        origin: Option<u32>,
        /// The data.
        data: NString,
    },
    /// `BINARY[part]<origin> (nstring / literal8)`: written as a literal8
    /// (`~{n}`) when the data holds NUL, else as a string (RFC 3516).
    Binary {
        /// Part numbers (empty for the whole message).
        part: Vec<u32>,
        /// `<origin>` of a partial fetch.
        origin: Option<u32>,
        /// The decoded data.
        data: NString,
    },
    /// `BINARY.SIZE[part] n` (RFC 3516).
    BinarySize {
        /// Part numbers.
        part: Vec<u32>,
        /// Decoded size in octets.
        size: u32,
    },
    /// `MODSEQ (n)` (RFC 7162).
    ModSeq(u64),
    /// `SAVEDATE date-time / NIL` (RFC 8514).
    SaveDate(Option<DateTime>),
    /// `PREVIEW nstring` (RFC 8970).
    Preview(Option<String>),
}

/// The last item of a FETCH response whose literal data the caller writes
/// itself (see [`encode_fetch_head`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchLiteral<'a> {
    /// `RFC822`
    Rfc822,
    /// `RFC822.HEADER`
    Rfc822Header,
    /// `RFC822.TEXT`
    Rfc822Text,
    /// `BODY[section]<origin>`
    BodySection {
        /// The section.
        section: &'a Section,
        /// `<origin>` of a partial fetch.
        origin: Option<u32>,
    },
    /// `BINARY[part]<origin>`; `literal8` selects `~{n}` (the data holds NUL).
    Binary {
        /// Part numbers.
        part: &'a [u32],
        /// `<origin>` of a partial fetch.
        origin: Option<u32>,
        /// Write `~{n}` instead of `{n}`.
        literal8: bool,
    },
}

fn write_origin(out: &mut Vec<u8>, origin: Option<u32>) {
    if let Some(o) = origin {
        out.push(b'<');
        write_number(out, o);
        out.push(b'>');
    }
}

fn write_literal_name(out: &mut Vec<u8>, item: &FetchLiteral<'_>, ctx: Ctx) {
    match item {
        FetchLiteral::Rfc822 => out.extend_from_slice(b"RFC822"),
        FetchLiteral::Rfc822Header => out.extend_from_slice(b"RFC822.HEADER"),
        FetchLiteral::Rfc822Text => out.extend_from_slice(b"RFC822.TEXT"),
        FetchLiteral::BodySection { section, origin } => {
            out.extend_from_slice(b"BODY");
            write_section(out, section, ctx);
            write_origin(out, *origin);
        }
        FetchLiteral::Binary { part, origin, .. } => {
            out.extend_from_slice(b"BINARY[");
            write_part(out, part);
            out.push(b']');
            write_origin(out, *origin);
        }
    }
}

/// Writes everything of `* seq FETCH (items… NAME {len}` CRLF: the items of
/// `before` (written as [`Data::Fetch`](super::Data::Fetch) would), then
/// `item`'s name and a literal announcement of `len` octets (`~{len}` for a
/// literal8 BINARY item).
///
/// Contract: the caller MUST then write exactly `len` octets of data and
/// then call [`encode_fetch_tail`] (which writes `)` CRLF). The data must
/// not hold NUL unless it is a BINARY item with `literal8` set. Responses
/// never use `{n+}`. Head, data and tail together are byte-identical to the
/// plain encoding of the same items whenever that one writes the data as a
/// literal (it does for data with CR or LF, i.e. any message text, and for
/// data over 1024 octets); otherwise they are an equivalent encoding.
pub fn encode_fetch_head(
    out: &mut Vec<u8>,
    seq: u32,
    before: &[FetchItem],
    item: FetchLiteral<'_>,
    len: u64,
    ctx: Ctx,
) {
    let ctx = server_ctx(ctx);
    out.extend_from_slice(b"* ");
    write_number(out, seq);
    out.extend_from_slice(b" FETCH (");
    for it in before {
        write_item(out, it, ctx);
        out.push(b' ');
    }
    write_literal_name(out, &item, ctx);
    out.push(b' ');
    if let FetchLiteral::Binary { literal8: true, .. } = item {
        out.push(b'~');
    }
    out.push(b'{');
    write_number(out, len);
    out.extend_from_slice(b"}\r\n");
}

/// Ends a FETCH response started by [`encode_fetch_head`]: `)` CRLF.
pub fn encode_fetch_tail(out: &mut Vec<u8>) {
    out.extend_from_slice(b")\r\n");
}

/// Appends `seq FETCH (items)` without the `* ` and CRLF.
pub(crate) fn write_fetch(out: &mut Vec<u8>, seq: u32, items: &[FetchItem], ctx: Ctx) {
    write_number(out, seq);
    out.extend_from_slice(b" FETCH (");
    for (n, it) in items.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        write_item(out, it, ctx);
    }
    out.push(b')');
}

/// Appends one item.
fn write_item(out: &mut Vec<u8>, item: &FetchItem, ctx: Ctx) {
    match item {
        FetchItem::Flags(flags) => {
            out.extend_from_slice(b"FLAGS (");
            for (n, f) in flags.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_flag_fetch(out, f);
            }
            out.push(b')');
        }
        FetchItem::Uid(u) => {
            out.extend_from_slice(b"UID ");
            write_number(out, *u);
        }
        FetchItem::InternalDate(d) => {
            out.extend_from_slice(b"INTERNALDATE ");
            d.write(out);
        }
        FetchItem::Rfc822Size(n) => {
            out.extend_from_slice(b"RFC822.SIZE ");
            write_number(out, *n);
        }
        FetchItem::Rfc822(d) | FetchItem::Rfc822Header(d) | FetchItem::Rfc822Text(d) => {
            out.extend_from_slice(match item {
                FetchItem::Rfc822(_) => b"RFC822 ",
                FetchItem::Rfc822Header(_) => b"RFC822.HEADER ",
                _ => b"RFC822.TEXT ",
            });
            write_nstring(out, d.as_deref(), ctx);
        }
        FetchItem::Envelope(e) => {
            out.extend_from_slice(b"ENVELOPE ");
            e.encode(out, ctx);
        }
        FetchItem::Body(b) => {
            out.extend_from_slice(b"BODY ");
            b.encode(out, false, ctx);
        }
        FetchItem::BodyStructure(b) => {
            out.extend_from_slice(b"BODYSTRUCTURE ");
            b.encode(out, true, ctx);
        }
        FetchItem::BodySection {
            section,
            origin,
            data,
        } => {
            out.extend_from_slice(b"BODY");
            write_section(out, section, ctx);
            write_origin(out, *origin);
            out.push(b' ');
            write_nstring(out, data.as_deref(), ctx);
        }
        FetchItem::Binary { part, origin, data } => {
            out.extend_from_slice(b"BINARY[");
            write_part(out, part);
            out.push(b']');
            write_origin(out, *origin);
            out.push(b' ');
            match data {
                Some(d) if d.contains(&0) => write_literal8(out, d, false),
                Some(d) => write_string(out, d, ctx),
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchItem::BinarySize { part, size } => {
            out.extend_from_slice(b"BINARY.SIZE[");
            write_part(out, part);
            out.extend_from_slice(b"] ");
            write_number(out, *size);
        }
        FetchItem::ModSeq(m) => {
            out.extend_from_slice(b"MODSEQ (");
            write_number(out, *m);
            out.push(b')');
        }
        FetchItem::SaveDate(d) => {
            out.extend_from_slice(b"SAVEDATE ");
            match d {
                Some(d) => d.write(out),
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchItem::Preview(p) => {
            out.extend_from_slice(b"PREVIEW ");
            write_nstring(out, p.as_deref().map(str::as_bytes), ctx);
        }
    }
}

fn origin(i: &[u8]) -> IResult<'_, Option<u32>> {
    match i.first() {
        Some(b'<') => {
            let (i, n) = number(&i[1..])?;
            let (i, ()) = byte(b'>')(i)?;
            Ok((i, Some(n)))
        }
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        _ => Ok((i, None)),
    }
}

fn data(i: &[u8], ctx: Ctx) -> IResult<'_, NString> {
    nstring(ctx)(i).map(|(r, v)| (r, v.map(|c| c.into_owned())))
}

/// One `msg-att` item.
fn item(i: &[u8], ctx: Ctx) -> IResult<'_, FetchItem> {
    let n = i
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'.')
        .count();
    if n == i.len() {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    let name = i[..n].to_ascii_uppercase();
    let r = &i[n..];
    let bracket = r.first() == Some(&b'[');
    match (name.as_slice(), bracket) {
        (b"BODY", true) => {
            let (r, section) = section(ctx)(r)?;
            let (r, origin) = origin(r)?;
            let (r, ()) = sp(r)?;
            let (r, data) = data(r, ctx)?;
            return Ok((
                r,
                FetchItem::BodySection {
                    section,
                    origin,
                    data,
                },
            ));
        }
        (b"BINARY", true) => {
            let (r, part) = section_binary(r)?;
            let (r, origin) = origin(r)?;
            let (r, ()) = sp(r)?;
            let (r, data) = match r.first() {
                Some(b'~') => literal_data(true)(r).map(|(r, d)| (r, Some(d.to_vec())))?,
                _ => data(r, ctx)?,
            };
            return Ok((r, FetchItem::Binary { part, origin, data }));
        }
        (b"BINARY.SIZE", true) => {
            let (r, part) = section_binary(r)?;
            let (r, ()) = sp(r)?;
            let (r, size) = number(r)?;
            return Ok((r, FetchItem::BinarySize { part, size }));
        }
        (_, true) => return Err(ParseError::fail(i, "unknown FETCH data item")),
        _ => {}
    }
    let (r, ()) = sp(r)?;
    let (r, it) = match name.as_slice() {
        b"FLAGS" => paren_list(0, flag_fetch)(r).map(|(r, f)| (r, FetchItem::Flags(f)))?,
        b"UID" => nz_number(r).map(|(r, u)| (r, FetchItem::Uid(u)))?,
        b"INTERNALDATE" => date_time(r).map(|(r, d)| (r, FetchItem::InternalDate(d)))?,
        b"RFC822.SIZE" => number64(r).map(|(r, n)| (r, FetchItem::Rfc822Size(n)))?,
        b"RFC822" => data(r, ctx).map(|(r, d)| (r, FetchItem::Rfc822(d)))?,
        b"RFC822.HEADER" => data(r, ctx).map(|(r, d)| (r, FetchItem::Rfc822Header(d)))?,
        b"RFC822.TEXT" => data(r, ctx).map(|(r, d)| (r, FetchItem::Rfc822Text(d)))?,
        b"ENVELOPE" => envelope(r, ctx).map(|(r, e)| (r, FetchItem::Envelope(Box::new(e))))?,
        b"BODY" => body(r, ctx, 0).map(|(r, mut b)| {
            b.strip_extensions();
            (r, FetchItem::Body(Box::new(b)))
        })?,
        b"BODYSTRUCTURE" => {
            body(r, ctx, 0).map(|(r, b)| (r, FetchItem::BodyStructure(Box::new(b))))?
        }
        b"MODSEQ" => {
            let (r, ()) = byte(b'(')(r)?;
            let (r, m) = number64(r)?;
            let (r, ()) = byte(b')')(r)?;
            (r, FetchItem::ModSeq(m))
        }
        b"SAVEDATE" => match r.first() {
            Some(b'N' | b'n') => keyword("NIL")(r).map(|(r, ())| (r, FetchItem::SaveDate(None)))?,
            _ => date_time(r).map(|(r, d)| (r, FetchItem::SaveDate(Some(d))))?,
        },
        b"PREVIEW" => nstring(ctx)(r).map(|(r, p)| (r, FetchItem::Preview(p.map(lossy))))?,
        _ => return Err(ParseError::fail(i, "unknown FETCH data item")),
    };
    Ok((r, it))
}

/// `msg-att` (RFC 9051 9): `"(" item *(SP item) ")"`.
pub(crate) fn msg_att(i: &[u8], ctx: Ctx) -> IResult<'_, Vec<FetchItem>> {
    paren_list(1, |i| item(i, ctx))(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::resp::{Data, Response, parse_response};

    #[test]
    fn streamed_head_matches_plain_encoding() {
        let section = Section::default();
        let before = vec![FetchItem::Uid(7), FetchItem::ModSeq(9)];
        let mut plain = Vec::new();
        let mut items = before.clone();
        items.push(FetchItem::BodySection {
            section: section.clone(),
            origin: None,
            data: Some(b"Subject: x\r\n\r\nbody\r\n".to_vec()),
        });
        Response::Data(Data::Fetch { seq: 3, items }).encode(&mut plain, Ctx::REV1);
        let mut streamed = Vec::new();
        encode_fetch_head(
            &mut streamed,
            3,
            &before,
            FetchLiteral::BodySection {
                section: &section,
                origin: None,
            },
            20,
            Ctx::REV1,
        );
        assert_eq!(streamed, b"* 3 FETCH (UID 7 MODSEQ (9) BODY[] {20}\r\n");
        streamed.extend_from_slice(b"Subject: x\r\n\r\nbody\r\n");
        encode_fetch_tail(&mut streamed);
        assert_eq!(streamed, plain);

        let mut b = Vec::new();
        encode_fetch_head(
            &mut b,
            1,
            &[],
            FetchLiteral::Binary {
                part: &[1, 2],
                origin: Some(5),
                literal8: true,
            },
            2,
            Ctx::UTF8,
        );
        b.extend_from_slice(b"\0x");
        encode_fetch_tail(&mut b);
        assert_eq!(b, b"* 1 FETCH (BINARY[1.2]<5> ~{2}\r\n\0x)\r\n");
        let (_, r) = parse_response(&b, Ctx::UTF8).unwrap();
        assert_eq!(
            r,
            Response::Data(Data::Fetch {
                seq: 1,
                items: vec![FetchItem::Binary {
                    part: vec![1, 2],
                    origin: Some(5),
                    data: Some(b"\0x".to_vec())
                }]
            })
        );
    }

    #[test]
    fn bad_items() {
        for line in [
            &b"* 1 FETCH ()\r\n"[..],
            b"* 1 FETCH (FOO 1)\r\n",
            b"* 1 FETCH (UID x)\r\n",
            b"* 1 FETCH (BODY[1] {3}\r\na\0b)\r\n",
            b"* 1 FETCH (MODSEQ 5)\r\n",
        ] {
            assert!(
                matches!(
                    parse_response(line, Ctx::REV1),
                    Err(crate::imap::resp::ResponseError::Invalid(_))
                ),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(
            parse_response(b"* 1 FETCH (BODY[] {10}\r\nabc", Ctx::REV1),
            Err(crate::imap::resp::ResponseError::Incomplete)
        );
    }
}

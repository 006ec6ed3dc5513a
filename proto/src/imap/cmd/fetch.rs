//! `[UID] FETCH set attrs [(CHANGEDSINCE n [VANISHED])]` (RFC 9051 6.4.5)
//! with BINARY (RFC 3516), CONDSTORE/QRESYNC (RFC 7162), SAVEDATE (RFC 8514)
//! and PREVIEW (RFC 8970).

use super::CommandBody;
use super::syntax::{MAX_KEYWORD, cut, expect, peek_sp_byte, upper, word};
use crate::imap::core::section::{section, section_binary, write_part, write_section};
use crate::imap::core::seq::{sequence_set, write_sequence_set};
use crate::imap::core::{
    Ctx, IResult, ParseError, Section, SequenceSet, byte, number64, nz_number64, sp, write_number,
};

/// A FETCH data item (RFC 9051 6.4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttr {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822` (rev1)
    Rfc822,
    /// `RFC822.HEADER`
    Rfc822Header,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822.TEXT` (rev1)
    Rfc822Text,
    /// `BODY` (structure without extensions)
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `BODY[section]<origin.count>` / `BODY.PEEK[…]`
    BodySection {
        /// `BODY.PEEK`: do not set `\Seen`.
        peek: bool,
        /// The section.
        section: Section,
        /// `<origin.count>`
        partial: Option<(u64, u64)>,
    },
    /// `BINARY[part]<origin.count>` / `BINARY.PEEK[…]` (RFC 3516)
    Binary {
        /// `BINARY.PEEK`
        peek: bool,
        /// Part numbers (empty: the whole message).
        part: Vec<u32>,
        /// `<origin.count>`
        partial: Option<(u64, u64)>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516)
    BinarySize(Vec<u32>),
    /// `MODSEQ` (RFC 7162)
    ModSeq,
    /// `SAVEDATE` (RFC 8514)
    SaveDate,
    /// `PREVIEW` / `PREVIEW (LAZY)` (RFC 8970)
    Preview {
        /// `(LAZY)`: only if cheap.
        lazy: bool,
    },
}

/// The FETCH macros (RFC 9051 6.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchMacro {
    /// `ALL` = FLAGS INTERNALDATE RFC822.SIZE ENVELOPE
    All,
    /// `FAST` = FLAGS INTERNALDATE RFC822.SIZE
    Fast,
    /// `FULL` = ALL + BODY
    Full,
}

impl FetchMacro {
    /// The items the macro stands for.
    pub fn expand(self) -> Vec<FetchAttr> {
        let mut v = vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
        ];
        if self != FetchMacro::Fast {
            v.push(FetchAttr::Envelope);
        }
        if self == FetchMacro::Full {
            v.push(FetchAttr::Body);
        }
        v
    }
}

/// What FETCH asks for: a macro or a list of items. A single item without
/// parentheses is a one-item list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttrs {
    /// `ALL`, `FAST` or `FULL`.
    Macro(FetchMacro),
    /// One or more items.
    List(Vec<FetchAttr>),
}

/// A FETCH or UID FETCH command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchCommand {
    /// UID FETCH.
    pub uid: bool,
    /// Messages.
    pub set: SequenceSet,
    /// Items.
    pub attrs: FetchAttrs,
    /// `CHANGEDSINCE n` (RFC 7162 3.1.4).
    pub changed_since: Option<u64>,
    /// `VANISHED` (RFC 7162 3.2.6).
    pub vanished: bool,
}

const EXPECTED_ATTR: &str = "expected a fetch attribute";

/// `"<" number64 "." nz-number64 ">"`, if present.
fn partial(i: &[u8]) -> IResult<'_, Option<(u64, u64)>> {
    match i.first() {
        Some(b'<') => {
            let (i, origin) = number64(&i[1..])?;
            let (i, ()) = byte(b'.')(i)?;
            let (i, count) = nz_number64(i)?;
            let (i, ()) = byte(b'>')(i)?;
            Ok((i, Some((origin, count))))
        }
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        _ => Ok((i, None)),
    }
}

/// `fetch-att` (RFC 9051 9 and extensions).
pub fn fetch_attr(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, FetchAttr> {
    move |i: &[u8]| {
        let (rest, w) = expect(i, EXPECTED_ATTR, word(i))?;
        let simple = match w.len() {
            3 if w.eq_ignore_ascii_case(b"UID") => Some(FetchAttr::Uid),
            5 if w.eq_ignore_ascii_case(b"FLAGS") => Some(FetchAttr::Flags),
            6 if w.eq_ignore_ascii_case(b"RFC822") => Some(FetchAttr::Rfc822),
            6 if w.eq_ignore_ascii_case(b"MODSEQ") => Some(FetchAttr::ModSeq),
            8 if w.eq_ignore_ascii_case(b"ENVELOPE") => Some(FetchAttr::Envelope),
            8 if w.eq_ignore_ascii_case(b"SAVEDATE") => Some(FetchAttr::SaveDate),
            11 if w.eq_ignore_ascii_case(b"RFC822.SIZE") => Some(FetchAttr::Rfc822Size),
            11 if w.eq_ignore_ascii_case(b"RFC822.TEXT") => Some(FetchAttr::Rfc822Text),
            12 if w.eq_ignore_ascii_case(b"INTERNALDATE") => Some(FetchAttr::InternalDate),
            13 if w.eq_ignore_ascii_case(b"RFC822.HEADER") => Some(FetchAttr::Rfc822Header),
            13 if w.eq_ignore_ascii_case(b"BODYSTRUCTURE") => Some(FetchAttr::BodyStructure),
            _ => None,
        };
        if let Some(a) = simple {
            return Ok((rest, a));
        }
        let mut buf = [0; MAX_KEYWORD];
        let upper = upper(w, &mut buf);
        match upper {
            b"BODY" | b"BODY.PEEK" => {
                let peek = upper.len() > 4;
                if !peek && rest.first() != Some(&b'[') {
                    if rest.is_empty() {
                        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
                    }
                    return Ok((rest, FetchAttr::Body));
                }
                let (rest, section) = cut(section(ctx)(rest))?;
                let (rest, partial) = cut(partial(rest))?;
                Ok((
                    rest,
                    FetchAttr::BodySection {
                        peek,
                        section,
                        partial,
                    },
                ))
            }
            b"BINARY" | b"BINARY.PEEK" => {
                let (rest, part) = cut(section_binary(rest))?;
                let (rest, partial) = cut(partial(rest))?;
                Ok((
                    rest,
                    FetchAttr::Binary {
                        peek: upper.len() > 6,
                        part,
                        partial,
                    },
                ))
            }
            b"BINARY.SIZE" => {
                let (rest, part) = cut(section_binary(rest))?;
                Ok((rest, FetchAttr::BinarySize(part)))
            }
            b"PREVIEW" => {
                // RFC 8970 7: "PREVIEW" [SP "(" "LAZY" ")"]. A following "("
                // may also open the fetch modifiers: look for LAZY.
                if peek_sp_byte(rest, b'(')? {
                    let after = &rest[2..];
                    let n = after.len().min(5);
                    if after[..n].eq_ignore_ascii_case(&b"LAZY)"[..n]) {
                        if n < 5 {
                            return Err(nom::Err::Incomplete(nom::Needed::new(5 - n)));
                        }
                        return Ok((&after[5..], FetchAttr::Preview { lazy: true }));
                    }
                }
                Ok((rest, FetchAttr::Preview { lazy: false }))
            }
            _ => Err(ParseError::fail(i, EXPECTED_ATTR)),
        }
    }
}

fn fetch_attrs(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, FetchAttrs> {
    move |i: &[u8]| {
        if let Some(b'(') = i.first() {
            let mut attrs = Vec::new();
            let mut i = &i[1..];
            loop {
                let (rest, a) = fetch_attr(ctx)(i)?;
                attrs.push(a);
                match rest.first() {
                    Some(b' ') => i = &rest[1..],
                    Some(b')') => return Ok((&rest[1..], FetchAttrs::List(attrs))),
                    Some(_) => {
                        return Err(ParseError::fail(
                            rest,
                            "expected ' ' or ')' after fetch attribute",
                        ));
                    }
                    None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
                }
            }
        }
        if let Ok((rest, w)) = word(i) {
            let m = if w.eq_ignore_ascii_case(b"ALL") {
                Some(FetchMacro::All)
            } else if w.eq_ignore_ascii_case(b"FAST") {
                Some(FetchMacro::Fast)
            } else if w.eq_ignore_ascii_case(b"FULL") {
                Some(FetchMacro::Full)
            } else {
                None
            };
            if let Some(m) = m {
                return Ok((rest, FetchAttrs::Macro(m)));
            }
        }
        let (rest, a) = fetch_attr(ctx)(i)?;
        Ok((rest, FetchAttrs::List(vec![a])))
    }
}

/// `SP "(" fetch-modifier *(SP fetch-modifier) ")"` (RFC 7162 3.1.4.1, 3.2.6).
fn fetch_modifiers(i: &[u8]) -> IResult<'_, (Option<u64>, bool)> {
    const EXPECTED: &str = "expected CHANGEDSINCE or VANISHED";
    let (mut i, ()) = byte(b'(')(i)?;
    let (mut changed, mut vanished) = (None, false);
    loop {
        let (rest, w) = expect(i, EXPECTED, word(i))?;
        if w.eq_ignore_ascii_case(b"CHANGEDSINCE") {
            let (rest, ()) = sp(rest)?;
            let (rest, n) = expect(rest, "expected a mod-sequence", nz_number64(rest))?;
            changed = Some(n);
            i = rest;
        } else if w.eq_ignore_ascii_case(b"VANISHED") {
            vanished = true;
            i = rest;
        } else {
            return Err(ParseError::fail(i, EXPECTED));
        }
        match i.first() {
            Some(b' ') => i = &i[1..],
            Some(b')') => return Ok((&i[1..], (changed, vanished))),
            Some(_) => {
                return Err(ParseError::fail(
                    i,
                    "expected ' ' or ')' after fetch modifier",
                ));
            }
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
    }
}

/// `SP sequence-set SP (macro / fetch-att / "(" fetch-att… ")")
/// [SP fetch-modifiers]` after `[UID] FETCH`.
pub(crate) fn fetch_args(ctx: Ctx, uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, set) = sequence_set(i)?;
        let (i, ()) = sp(i)?;
        let (i, attrs) = fetch_attrs(ctx)(i)?;
        let (i, (changed_since, vanished)) = if peek_sp_byte(i, b'(')? {
            let (rest, m) = fetch_modifiers(&i[1..])?;
            // RFC 7162 3.2.6: VANISHED only in UID FETCH, with CHANGEDSINCE.
            if m.1 && !(uid && m.0.is_some()) {
                return Err(ParseError::fail(
                    &i[1..],
                    "VANISHED needs UID FETCH and CHANGEDSINCE",
                ));
            }
            (rest, m)
        } else {
            (i, (None, false))
        };
        Ok((
            i,
            CommandBody::Fetch(FetchCommand {
                uid,
                set,
                attrs,
                changed_since,
                vanished,
            }),
        ))
    }
}

fn write_partial(out: &mut Vec<u8>, p: Option<(u64, u64)>) {
    if let Some((origin, count)) = p {
        out.push(b'<');
        write_number(out, origin);
        out.push(b'.');
        write_number(out, count);
        out.push(b'>');
    }
}

impl FetchAttr {
    /// Writes the item as a client requests it.
    pub fn write(&self, out: &mut Vec<u8>, ctx: Ctx) {
        let name: &[u8] = match self {
            FetchAttr::Envelope => b"ENVELOPE",
            FetchAttr::Flags => b"FLAGS",
            FetchAttr::InternalDate => b"INTERNALDATE",
            FetchAttr::Rfc822 => b"RFC822",
            FetchAttr::Rfc822Header => b"RFC822.HEADER",
            FetchAttr::Rfc822Size => b"RFC822.SIZE",
            FetchAttr::Rfc822Text => b"RFC822.TEXT",
            FetchAttr::Body => b"BODY",
            FetchAttr::BodyStructure => b"BODYSTRUCTURE",
            FetchAttr::Uid => b"UID",
            FetchAttr::ModSeq => b"MODSEQ",
            FetchAttr::SaveDate => b"SAVEDATE",
            FetchAttr::Preview { lazy: false } => b"PREVIEW",
            FetchAttr::Preview { lazy: true } => b"PREVIEW (LAZY)",
            FetchAttr::BodySection {
                peek,
                section,
                partial,
            } => {
                out.extend_from_slice(if *peek { b"BODY.PEEK" } else { b"BODY" });
                write_section(out, section, ctx);
                write_partial(out, *partial);
                return;
            }
            FetchAttr::Binary {
                peek,
                part,
                partial,
            } => {
                out.extend_from_slice(if *peek { b"BINARY.PEEK[" } else { b"BINARY[" });
                write_part(out, part);
                out.push(b']');
                write_partial(out, *partial);
                return;
            }
            FetchAttr::BinarySize(part) => {
                out.extend_from_slice(b"BINARY.SIZE[");
                write_part(out, part);
                out.push(b']');
                return;
            }
        };
        out.extend_from_slice(name);
    }
}

impl FetchCommand {
    /// Writes `[UID] FETCH …`; item lists always in parentheses.
    pub fn write(&self, out: &mut Vec<u8>, ctx: Ctx) {
        if self.uid {
            out.extend_from_slice(b"UID ");
        }
        out.extend_from_slice(b"FETCH ");
        write_sequence_set(out, &self.set);
        out.push(b' ');
        match &self.attrs {
            FetchAttrs::Macro(FetchMacro::All) => out.extend_from_slice(b"ALL"),
            FetchAttrs::Macro(FetchMacro::Fast) => out.extend_from_slice(b"FAST"),
            FetchAttrs::Macro(FetchMacro::Full) => out.extend_from_slice(b"FULL"),
            FetchAttrs::List(attrs) => {
                out.push(b'(');
                for (n, a) in attrs.iter().enumerate() {
                    if n > 0 {
                        out.push(b' ');
                    }
                    a.write(out, ctx);
                }
                out.push(b')');
            }
        }
        if self.changed_since.is_some() || self.vanished {
            out.extend_from_slice(b" (");
            if let Some(n) = self.changed_since {
                out.extend_from_slice(b"CHANGEDSINCE ");
                write_number(out, n);
                if self.vanished {
                    out.push(b' ');
                }
            }
            if self.vanished {
                out.extend_from_slice(b"VANISHED");
            }
            out.push(b')');
        }
    }
}

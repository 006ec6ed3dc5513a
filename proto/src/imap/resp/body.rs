//! The BODY and BODYSTRUCTURE fetch items (RFC 9051 7.5.2, 9 `body`).
//!
//! One type, [`Body`], serves both: BODY is written without extension data,
//! BODYSTRUCTURE with it. When extension data is present the encoder always
//! writes all of md5/params, disposition, language and location (NIL where
//! absent); the parser accepts any prefix of them and fills the rest as
//! absent, so `parse(encode(x)) == x`.

use super::super::core::error::{IResult, ParseError};
use super::super::core::string::{nstring, string, write_nstring, write_string};
use super::super::core::{Ctx, byte, keyword, number, number64, sp, write_number};
use super::MAX_DEPTH;
use super::envelope::{Envelope, NString, envelope, ns};
use super::lossy;

/// A body structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `body-type-basic`: any single part that is not text or message/rfc822
    /// (nor message/global). `media_type` must not be `TEXT`, nor `MESSAGE`
    /// with subtype `RFC822`/`GLOBAL` (those read back as the other forms).
    Basic {
        /// Media type, e.g. `APPLICATION`.
        media_type: String,
        /// Media subtype, e.g. `PDF`.
        subtype: String,
        /// The common fields.
        fields: BodyFields,
        /// Extension data (BODYSTRUCTURE only).
        ext: Option<SingleExt>,
    },
    /// `body-type-text`: `TEXT/subtype` with a line count.
    Text {
        /// Media subtype, e.g. `PLAIN`.
        subtype: String,
        /// The common fields.
        fields: BodyFields,
        /// Number of lines.
        lines: u64,
        /// Extension data (BODYSTRUCTURE only).
        ext: Option<SingleExt>,
    },
    /// `body-type-msg`: `MESSAGE/RFC822` or `MESSAGE/GLOBAL` with the
    /// enclosed message's envelope and structure.
    Message {
        /// `RFC822` or `GLOBAL`.
        subtype: String,
        /// The common fields.
        fields: BodyFields,
        /// Envelope of the enclosed message.
        envelope: Box<Envelope>,
        /// Structure of the enclosed message.
        body: Box<Body>,
        /// Number of lines.
        lines: u64,
        /// Extension data (BODYSTRUCTURE only).
        ext: Option<SingleExt>,
    },
    /// `body-type-mpart`: one or more parts and the multipart subtype.
    Multipart {
        /// The parts (not empty).
        parts: Vec<Body>,
        /// Media subtype, e.g. `MIXED`.
        subtype: String,
        /// Extension data (BODYSTRUCTURE only).
        ext: Option<MultiExt>,
    },
}

/// `body-fields` (RFC 9051 9).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyFields {
    /// Content-Type parameters (empty is NIL).
    pub params: Vec<(String, String)>,
    /// Content-ID.
    pub id: NString,
    /// Content-Description.
    pub description: NString,
    /// Content-Transfer-Encoding, e.g. `7BIT`.
    pub encoding: String,
    /// Size of the body in octets (as encoded).
    pub octets: u32,
}

/// Extension data of a single part: MD5 and the common tail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SingleExt {
    /// Content-MD5.
    pub md5: NString,
    /// Disposition, language, location, further extensions.
    pub tail: ExtTail,
}

/// Extension data of a multipart: its Content-Type parameters and the tail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiExt {
    /// Content-Type parameters (empty is NIL).
    pub params: Vec<(String, String)>,
    /// Disposition, language, location, further extensions.
    pub tail: ExtTail,
}

/// The extension fields shared by single parts and multiparts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtTail {
    /// Content-Disposition; None is NIL.
    pub disposition: Option<Disposition>,
    /// Content-Language tags: empty is NIL, one is written as a string, more
    /// as a list.
    pub language: Vec<String>,
    /// Content-Location.
    pub location: NString,
    /// Further `body-extension` values (future extensions).
    pub extensions: Vec<BodyExtension>,
}

/// `body-fld-dsp`: a disposition type and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    /// `inline`, `attachment`, …
    pub kind: String,
    /// Parameters (empty is NIL).
    pub params: Vec<(String, String)>,
}

/// `body-extension` (RFC 9051 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyExtension {
    /// A string or NIL.
    NString(NString),
    /// A number.
    Number(u64),
    /// A parenthesised list (not empty).
    List(Vec<BodyExtension>),
}

fn write_params(out: &mut Vec<u8>, params: &[(String, String)], ctx: Ctx) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (n, (k, v)) in params.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        write_string(out, k.as_bytes(), ctx);
        out.push(b' ');
        write_string(out, v.as_bytes(), ctx);
    }
    out.push(b')');
}

fn write_fields(out: &mut Vec<u8>, f: &BodyFields, ctx: Ctx) {
    write_params(out, &f.params, ctx);
    out.push(b' ');
    write_nstring(out, f.id.as_deref(), ctx);
    out.push(b' ');
    write_nstring(out, f.description.as_deref(), ctx);
    out.push(b' ');
    write_string(out, f.encoding.as_bytes(), ctx);
    out.push(b' ');
    write_number(out, f.octets);
}

fn write_extension(out: &mut Vec<u8>, e: &BodyExtension, ctx: Ctx) {
    match e {
        BodyExtension::NString(s) => write_nstring(out, s.as_deref(), ctx),
        BodyExtension::Number(n) => write_number(out, *n),
        BodyExtension::List(l) => {
            out.push(b'(');
            for (n, x) in l.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_extension(out, x, ctx);
            }
            out.push(b')');
        }
    }
}

fn write_tail(out: &mut Vec<u8>, t: &ExtTail, ctx: Ctx) {
    out.push(b' ');
    match &t.disposition {
        None => out.extend_from_slice(b"NIL"),
        Some(d) => {
            out.push(b'(');
            write_string(out, d.kind.as_bytes(), ctx);
            out.push(b' ');
            write_params(out, &d.params, ctx);
            out.push(b')');
        }
    }
    out.push(b' ');
    match t.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => write_string(out, one.as_bytes(), ctx),
        many => {
            out.push(b'(');
            for (n, l) in many.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_string(out, l.as_bytes(), ctx);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    write_nstring(out, t.location.as_deref(), ctx);
    for e in &t.extensions {
        out.push(b' ');
        write_extension(out, e, ctx);
    }
}

fn write_single_ext(out: &mut Vec<u8>, ext: &Option<SingleExt>, extensible: bool, ctx: Ctx) {
    if let (true, Some(e)) = (extensible, ext) {
        out.push(b' ');
        write_nstring(out, e.md5.as_deref(), ctx);
        write_tail(out, &e.tail, ctx);
    }
}

impl Body {
    /// Appends `(…)`: with extension data when `extensible` (BODYSTRUCTURE),
    /// without (BODY).
    pub fn encode(&self, out: &mut Vec<u8>, extensible: bool, ctx: Ctx) {
        out.push(b'(');
        match self {
            Body::Basic {
                media_type,
                subtype,
                fields,
                ext,
            } => {
                write_string(out, media_type.as_bytes(), ctx);
                out.push(b' ');
                write_string(out, subtype.as_bytes(), ctx);
                out.push(b' ');
                write_fields(out, fields, ctx);
                write_single_ext(out, ext, extensible, ctx);
            }
            Body::Text {
                subtype,
                fields,
                lines,
                ext,
            } => {
                out.extend_from_slice(b"\"TEXT\" ");
                write_string(out, subtype.as_bytes(), ctx);
                out.push(b' ');
                write_fields(out, fields, ctx);
                out.push(b' ');
                write_number(out, *lines);
                write_single_ext(out, ext, extensible, ctx);
            }
            Body::Message {
                subtype,
                fields,
                envelope,
                body,
                lines,
                ext,
            } => {
                out.extend_from_slice(b"\"MESSAGE\" ");
                write_string(out, subtype.as_bytes(), ctx);
                out.push(b' ');
                write_fields(out, fields, ctx);
                out.push(b' ');
                envelope.encode(out, ctx);
                out.push(b' ');
                body.encode(out, extensible, ctx);
                out.push(b' ');
                write_number(out, *lines);
                write_single_ext(out, ext, extensible, ctx);
            }
            Body::Multipart {
                parts,
                subtype,
                ext,
            } => {
                for p in parts {
                    p.encode(out, extensible, ctx);
                }
                out.push(b' ');
                write_string(out, subtype.as_bytes(), ctx);
                if let (true, Some(e)) = (extensible, ext) {
                    out.push(b' ');
                    write_params(out, &e.params, ctx);
                    write_tail(out, &e.tail, ctx);
                }
            }
        }
        out.push(b')');
    }
}

impl Body {
    /// Removes extension data at every level. BODY is the non-extensible
    /// form (RFC 9051 7.5.2): a BODY that a server sent with extension data
    /// is read as if it had none, which is also what the encoder writes.
    pub fn strip_extensions(&mut self) {
        match self {
            Body::Basic { ext, .. } | Body::Text { ext, .. } => *ext = None,
            Body::Message { body, ext, .. } => {
                *ext = None;
                body.strip_extensions();
            }
            Body::Multipart { parts, ext, .. } => {
                *ext = None;
                for p in parts {
                    p.strip_extensions();
                }
            }
        }
    }
}

fn text(i: &[u8], ctx: Ctx) -> IResult<'_, String> {
    string(ctx)(i).map(|(r, v)| (r, lossy(v)))
}

fn is_nil(i: &[u8]) -> bool {
    matches!(i.first(), Some(b'N' | b'n'))
}

/// `body-fld-param`: `"(" string SP string *(SP string SP string) ")" / nil`.
fn params(i: &[u8], ctx: Ctx) -> IResult<'_, Vec<(String, String)>> {
    if is_nil(i) {
        let (r, ()) = keyword("NIL")(i)?;
        return Ok((r, Vec::new()));
    }
    super::super::core::paren_list(1, |i| {
        let (i, k) = text(i, ctx)?;
        let (i, ()) = sp(i)?;
        let (i, v) = text(i, ctx)?;
        Ok((i, (k, v)))
    })(i)
}

fn fields(i: &[u8], ctx: Ctx) -> IResult<'_, BodyFields> {
    let (i, params) = params(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, id) = ns(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, description) = ns(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, encoding) = text(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, octets) = number(i)?;
    Ok((
        i,
        BodyFields {
            params,
            id,
            description,
            encoding,
            octets,
        },
    ))
}

fn extension(i: &[u8], ctx: Ctx, depth: usize) -> IResult<'_, BodyExtension> {
    if depth > MAX_DEPTH {
        return Err(ParseError::cut(i, "body extension nested too deeply"));
    }
    match i.first() {
        Some(b'(') => super::super::core::paren_list(1, |i| extension(i, ctx, depth + 1))(i)
            .map(|(r, l)| (r, BodyExtension::List(l))),
        Some(b) if b.is_ascii_digit() => number64(i).map(|(r, n)| (r, BodyExtension::Number(n))),
        _ => nstring(ctx)(i).map(|(r, s)| (r, BodyExtension::NString(s.map(|c| c.into_owned())))),
    }
}

/// `[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`.
fn tail(i: &[u8], ctx: Ctx, depth: usize) -> IResult<'_, ExtTail> {
    let mut t = ExtTail::default();
    let Some(b' ') = i.first() else {
        return Ok((i, t));
    };
    let i = &i[1..];
    let (i, dsp) = if is_nil(i) {
        keyword("NIL")(i).map(|(r, ())| (r, None))?
    } else {
        let (i, ()) = byte(b'(')(i)?;
        let (i, kind) = text(i, ctx)?;
        let (i, ()) = sp(i)?;
        let (i, p) = params(i, ctx)?;
        let (i, ()) = byte(b')')(i)?;
        (i, Some(Disposition { kind, params: p }))
    };
    t.disposition = dsp;
    let Some(b' ') = i.first() else {
        return Ok((i, t));
    };
    let i = &i[1..];
    let (i, lang) = match i.first() {
        Some(b'(') => super::super::core::paren_list(1, |i| text(i, ctx))(i)?,
        _ => {
            let (i, l) = nstring(ctx)(i)?;
            (i, l.map(lossy).into_iter().collect())
        }
    };
    t.language = lang;
    let Some(b' ') = i.first() else {
        return Ok((i, t));
    };
    let (mut i, loc) = ns(&i[1..], ctx)?;
    t.location = loc;
    while let Some(b' ') = i.first() {
        let (r, e) = extension(&i[1..], ctx, depth + 1)?;
        t.extensions.push(e);
        i = r;
    }
    Ok((i, t))
}

fn single_ext(i: &[u8], ctx: Ctx, depth: usize) -> IResult<'_, Option<SingleExt>> {
    let Some(b' ') = i.first() else {
        return Ok((i, None));
    };
    let (i, md5) = ns(&i[1..], ctx)?;
    let (i, tail) = tail(i, ctx, depth)?;
    Ok((i, Some(SingleExt { md5, tail })))
}

/// `body` (RFC 9051 9) at nesting `depth`, extension data accepted for both
/// BODY and BODYSTRUCTURE.
pub(crate) fn body(i: &[u8], ctx: Ctx, depth: usize) -> IResult<'_, Body> {
    if depth > MAX_DEPTH {
        return Err(ParseError::cut(i, "body structure nested too deeply"));
    }
    let (i, ()) = byte(b'(')(i)?;
    if let Some(b'(') = i.first() {
        let mut parts = Vec::new();
        let mut i = i;
        loop {
            let (r, p) = body(i, ctx, depth + 1)?;
            parts.push(p);
            let r = match (r.first(), r.get(1)) {
                (Some(b' '), Some(b'(')) => &r[1..],
                _ => r,
            };
            match r.first() {
                Some(b'(') => i = r,
                _ => {
                    i = r;
                    break;
                }
            }
        }
        let (i, ()) = sp(i)?;
        let (i, subtype) = text(i, ctx)?;
        let (i, ext) = match i.first() {
            Some(b' ') => {
                let (i, p) = params(&i[1..], ctx)?;
                let (i, tail) = tail(i, ctx, depth)?;
                (i, Some(MultiExt { params: p, tail }))
            }
            _ => (i, None),
        };
        let (i, ()) = byte(b')')(i)?;
        return Ok((
            i,
            Body::Multipart {
                parts,
                subtype,
                ext,
            },
        ));
    }
    let (i, media_type) = text(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, subtype) = text(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, f) = fields(i, ctx)?;
    let is_msg = media_type.eq_ignore_ascii_case("MESSAGE")
        && (subtype.eq_ignore_ascii_case("RFC822") || subtype.eq_ignore_ascii_case("GLOBAL"));
    let (i, b) = if media_type.eq_ignore_ascii_case("TEXT") {
        let (i, ()) = sp(i)?;
        let (i, lines) = number64(i)?;
        let (i, ext) = single_ext(i, ctx, depth)?;
        (
            i,
            Body::Text {
                subtype,
                fields: f,
                lines,
                ext,
            },
        )
    } else if is_msg {
        let (i, ()) = sp(i)?;
        let (i, env) = envelope(i, ctx)?;
        let (i, ()) = sp(i)?;
        let (i, inner) = body(i, ctx, depth + 1)?;
        let (i, ()) = sp(i)?;
        let (i, lines) = number64(i)?;
        let (i, ext) = single_ext(i, ctx, depth)?;
        (
            i,
            Body::Message {
                subtype,
                fields: f,
                envelope: Box::new(env),
                body: Box::new(inner),
                lines,
                ext,
            },
        )
    } else {
        let (i, ext) = single_ext(i, ctx, depth)?;
        (
            i,
            Body::Basic {
                media_type,
                subtype,
                fields: f,
                ext,
            },
        )
    };
    let (i, ()) = byte(b')')(i)?;
    Ok((i, b))
}

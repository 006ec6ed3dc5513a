//! NAMESPACE (RFC 2342, RFC 9051 7.3.3), ID (RFC 2971) and QUOTA/QUOTAROOT
//! (RFC 9208 5) responses.

use super::super::core::error::{IResult, ParseError};
use super::super::core::mailbox::{mailbox, write_mailbox};
use super::super::core::string::{
    astring, atom_str, nstring, quoted, string, write_astring, write_nstring, write_quoted,
    write_string,
};
use super::super::core::{
    Atom, Ctx, Mailbox, byte, keyword, number64, paren_list, sp, write_number,
};
use super::data::Data;
use super::lossy;
use crate::imap::utf7;

/// The three namespace lists; None is written `NIL`, a list is not empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Namespaces {
    /// The user's own mailboxes.
    pub personal: Option<Vec<NamespaceDesc>>,
    /// Other users' mailboxes.
    pub other: Option<Vec<NamespaceDesc>>,
    /// Shared mailboxes.
    pub shared: Option<Vec<NamespaceDesc>>,
}

/// One namespace: `(prefix delimiter [extensions])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceDesc {
    /// Name prefix (mailbox-name text; modified UTF-7 on the wire without
    /// UTF-8 mode).
    pub prefix: String,
    /// Hierarchy delimiter; None is NIL.
    pub delimiter: Option<char>,
    /// `Namespace-Response-Extension`s: a name and a non-empty value list.
    pub extensions: Vec<(String, Vec<String>)>,
}

/// A QUOTA resource (RFC 9208 5.1): name, usage and limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaResource {
    /// `STORAGE`, `MESSAGE`, `MAILBOX`, `ANNOTATION-STORAGE` or another atom.
    pub name: Atom,
    /// Current usage (STORAGE in units of 1024 octets).
    pub usage: u64,
    /// The limit.
    pub limit: u64,
}

impl Namespaces {
    /// Appends `NAMESPACE a b c` without CRLF.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        out.extend_from_slice(b"NAMESPACE");
        for list in [&self.personal, &self.other, &self.shared] {
            out.push(b' ');
            match list {
                None => out.extend_from_slice(b"NIL"),
                Some(descs) => {
                    out.push(b'(');
                    for d in descs {
                        d.encode(out, ctx);
                    }
                    out.push(b')');
                }
            }
        }
    }
}

impl NamespaceDesc {
    fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        out.push(b'(');
        if ctx.utf8 {
            write_string(out, self.prefix.as_bytes(), ctx);
        } else {
            write_string(out, utf7::encode(&self.prefix).as_bytes(), ctx);
        }
        out.push(b' ');
        match self.delimiter {
            Some(c) => {
                let mut buf = [0u8; 4];
                write_quoted(out, c.encode_utf8(&mut buf).as_bytes());
            }
            None => out.extend_from_slice(b"NIL"),
        }
        for (name, values) in &self.extensions {
            out.push(b' ');
            write_string(out, name.as_bytes(), ctx);
            out.extend_from_slice(b" (");
            for (n, v) in values.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_string(out, v.as_bytes(), ctx);
            }
            out.push(b')');
        }
        out.push(b')');
    }
}

fn text_string(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, String> {
    move |i: &[u8]| string(ctx)(i).map(|(r, v)| (r, lossy(v)))
}

fn namespace_desc(i: &[u8], ctx: Ctx) -> IResult<'_, NamespaceDesc> {
    let (i, ()) = byte(b'(')(i)?;
    let at = i;
    let (i, raw) = text_string(ctx)(i)?;
    let prefix = if ctx.utf8 || !raw.is_ascii() {
        raw
    } else {
        utf7::decode(&raw).map_err(|_| ParseError::fail(at, "invalid modified UTF-7 in prefix"))?
    };
    let (i, ()) = sp(i)?;
    let (mut i, delimiter) = match i.first() {
        Some(b'"') => {
            let (r, v) = quoted(ctx)(i)?;
            let s = lossy(v);
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => (r, Some(c)),
                _ => return Err(ParseError::fail(i, "expected a one-character delimiter")),
            }
        }
        _ => {
            let (r, ()) = keyword("NIL")(i)?;
            (r, None)
        }
    };
    let mut extensions = Vec::new();
    loop {
        match i.first() {
            Some(b')') => {
                return Ok((
                    &i[1..],
                    NamespaceDesc {
                        prefix,
                        delimiter,
                        extensions,
                    },
                ));
            }
            Some(b' ') => {
                let (r, name) = text_string(ctx)(&i[1..])?;
                let (r, ()) = sp(r)?;
                let (r, values) = paren_list(1, text_string(ctx))(r)?;
                extensions.push((name, values));
                i = r;
            }
            Some(_) => return Err(ParseError::fail(i, "expected ' ' or ')' in namespace")),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
    }
}

/// `Namespace`: `nil / "(" 1*Namespace-Descr ")"`.
fn namespace(i: &[u8], ctx: Ctx) -> IResult<'_, Option<Vec<NamespaceDesc>>> {
    if let Some(b'N' | b'n') = i.first() {
        let (r, ()) = keyword("NIL")(i)?;
        return Ok((r, None));
    }
    let (mut i, ()) = byte(b'(')(i)?;
    let mut v = Vec::new();
    loop {
        let (r, d) = namespace_desc(i, ctx)?;
        v.push(d);
        match r.first() {
            Some(b')') => return Ok((&r[1..], Some(v))),
            Some(_) => i = r,
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
    }
}

/// After `NAMESPACE`: three namespaces.
pub(crate) fn namespace_data(i: &[u8], ctx: Ctx) -> IResult<'_, Data> {
    let (i, ()) = sp(i)?;
    let (i, personal) = namespace(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, other) = namespace(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, shared) = namespace(i, ctx)?;
    Ok((
        i,
        Data::Namespace(Namespaces {
            personal,
            other,
            shared,
        }),
    ))
}

/// Appends `ID (…)` or `ID NIL` without CRLF.
pub(crate) fn encode_id(out: &mut Vec<u8>, params: Option<&[(String, Option<String>)]>, ctx: Ctx) {
    out.extend_from_slice(b"ID ");
    match params {
        None => out.extend_from_slice(b"NIL"),
        Some(params) => {
            out.push(b'(');
            for (n, (k, v)) in params.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_string(out, k.as_bytes(), ctx);
                out.push(b' ');
                write_nstring(out, v.as_deref().map(str::as_bytes), ctx);
            }
            out.push(b')');
        }
    }
}

fn id_param(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, (String, Option<String>)> {
    move |i: &[u8]| {
        let (i, k) = text_string(ctx)(i)?;
        let (i, ()) = sp(i)?;
        let (i, v) = nstring(ctx)(i)?;
        Ok((i, (k, v.map(lossy))))
    }
}

/// After `ID`: `SP ("(" [string SP nstring *(SP string SP nstring)] ")" / nil)`.
pub(crate) fn id_data(i: &[u8], ctx: Ctx) -> IResult<'_, Data> {
    let (i, ()) = sp(i)?;
    if let Some(b'N' | b'n') = i.first() {
        let (r, ()) = keyword("NIL")(i)?;
        return Ok((r, Data::Id(None)));
    }
    let (i, params) = paren_list(0, id_param(ctx))(i)?;
    Ok((i, Data::Id(Some(params))))
}

/// Appends `QUOTA root (name usage limit …)` without CRLF.
pub(crate) fn encode_quota(out: &mut Vec<u8>, root: &str, resources: &[QuotaResource], ctx: Ctx) {
    out.extend_from_slice(b"QUOTA ");
    write_astring(out, root.as_bytes(), ctx);
    out.extend_from_slice(b" (");
    for (n, r) in resources.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(r.name.as_str().as_bytes());
        out.push(b' ');
        write_number(out, r.usage);
        out.push(b' ');
        write_number(out, r.limit);
    }
    out.push(b')');
}

fn quota_resource(i: &[u8]) -> IResult<'_, QuotaResource> {
    let (i, name) = atom_str(i)?;
    let name = Atom::try_from(name).map_err(|_| ParseError::fail(i, "expected a resource name"))?;
    let (i, ()) = sp(i)?;
    let (i, usage) = number64(i)?;
    let (i, ()) = sp(i)?;
    let (i, limit) = number64(i)?;
    Ok((i, QuotaResource { name, usage, limit }))
}

/// After `QUOTA`: `SP quota-root-name SP quota-list`.
pub(crate) fn quota_data(i: &[u8], ctx: Ctx) -> IResult<'_, Data> {
    let (i, ()) = sp(i)?;
    let (i, root) = astring(ctx)(i)?;
    let (i, ()) = sp(i)?;
    let (i, resources) = paren_list(1, quota_resource)(i)?;
    Ok((
        i,
        Data::Quota {
            root: lossy(root),
            resources,
        },
    ))
}

/// Appends `QUOTAROOT mailbox root …` without CRLF.
pub(crate) fn encode_quota_root(out: &mut Vec<u8>, mailbox: &Mailbox, roots: &[String], ctx: Ctx) {
    out.extend_from_slice(b"QUOTAROOT ");
    write_mailbox(out, mailbox, ctx);
    for r in roots {
        out.push(b' ');
        write_astring(out, r.as_bytes(), ctx);
    }
}

/// After `QUOTAROOT`: `SP mailbox *(SP quota-root-name)`.
pub(crate) fn quota_root_data(i: &[u8], ctx: Ctx) -> IResult<'_, Data> {
    let (mut i, ()) = sp(i)?;
    let (r, mailbox) = mailbox(ctx)(i)?;
    i = r;
    let mut roots = Vec::new();
    loop {
        match i.first() {
            Some(b' ') => {
                let (r, root) = astring(ctx)(&i[1..])?;
                roots.push(lossy(root));
                i = r;
            }
            Some(_) => return Ok((i, Data::QuotaRoot { mailbox, roots })),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::resp::{Response, parse_response};

    fn rt(line: &[u8]) -> Response {
        let (n, r) = parse_response(line, Ctx::REV1).unwrap();
        assert_eq!(n, line.len());
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(line));
        r
    }

    #[test]
    fn namespace_lines() {
        // RFC 2342 5 / RFC 9051 6.3.10
        let r = rt(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
        assert_eq!(
            r,
            Response::Data(Data::Namespace(Namespaces {
                personal: Some(vec![NamespaceDesc {
                    prefix: String::new(),
                    delimiter: Some('/'),
                    extensions: vec![]
                }]),
                other: None,
                shared: None
            }))
        );
        rt(b"* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\")(\"#ftp/\" \"/\")(\"#news.\" \".\"))\r\n");
        rt(b"* NAMESPACE ((\"\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL\r\n");
        rt(b"* NAMESPACE ((\"&ZeVnLIqe-/\" NIL)) NIL NIL\r\n");
    }

    #[test]
    fn id_and_quota_lines() {
        rt(b"* ID NIL\r\n");
        rt(b"* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"support-url\" NIL)\r\n");
        // RFC 9208 4.1
        let r = rt(b"* QUOTA \"\" (STORAGE 10 512)\r\n");
        assert_eq!(
            r,
            Response::Data(Data::Quota {
                root: String::new(),
                resources: vec![QuotaResource {
                    name: Atom::try_from("STORAGE").unwrap(),
                    usage: 10,
                    limit: 512
                }]
            })
        );
        rt(b"* QUOTAROOT INBOX \"\"\r\n");
        rt(b"* QUOTAROOT comp.mail.mime\r\n");
        rt(b"* QUOTA !partition/sda4 (STORAGE 104 10923847 MESSAGE 10 100)\r\n");
        assert!(parse_response(b"* QUOTA \"\" ()\r\n", Ctx::REV1).is_err());
    }
}

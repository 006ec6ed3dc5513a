//! LIST and LSUB responses (RFC 9051 7.3.1, RFC 3501 7.2.3, RFC 5258
//! LIST-EXTENDED, RFC 6154 SPECIAL-USE).

use super::super::core::error::{IResult, ParseError};
use super::super::core::mailbox::{mailbox, write_mailbox};
use super::super::core::string::{astring, atom_str, quoted, write_quoted};
use super::super::core::{Atom, Ctx, Mailbox, byte, keyword, paren_list, sp};
use super::lossy;

/// A mailbox attribute in a LIST response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailboxAttr {
    /// `\Noinferiors`
    NoInferiors,
    /// `\Noselect`
    NoSelect,
    /// `\Marked`
    Marked,
    /// `\Unmarked`
    Unmarked,
    /// `\NonExistent` (RFC 5258)
    NonExistent,
    /// `\Subscribed` (RFC 5258)
    Subscribed,
    /// `\Remote` (RFC 5258)
    Remote,
    /// `\HasChildren` (RFC 3348)
    HasChildren,
    /// `\HasNoChildren` (RFC 3348)
    HasNoChildren,
    /// `\All` (RFC 6154)
    All,
    /// `\Archive`
    Archive,
    /// `\Drafts`
    Drafts,
    /// `\Flagged`
    Flagged,
    /// `\Junk`
    Junk,
    /// `\Sent`
    Sent,
    /// `\Trash`
    Trash,
    /// Any other `\atom`, kept without the backslash. Must not be one of the
    /// names above in any case (it would read back as that attribute).
    Extension(Atom),
}

const NAMED: [(&str, MailboxAttr); 16] = [
    ("Noinferiors", MailboxAttr::NoInferiors),
    ("Noselect", MailboxAttr::NoSelect),
    ("Marked", MailboxAttr::Marked),
    ("Unmarked", MailboxAttr::Unmarked),
    ("NonExistent", MailboxAttr::NonExistent),
    ("Subscribed", MailboxAttr::Subscribed),
    ("Remote", MailboxAttr::Remote),
    ("HasChildren", MailboxAttr::HasChildren),
    ("HasNoChildren", MailboxAttr::HasNoChildren),
    ("All", MailboxAttr::All),
    ("Archive", MailboxAttr::Archive),
    ("Drafts", MailboxAttr::Drafts),
    ("Flagged", MailboxAttr::Flagged),
    ("Junk", MailboxAttr::Junk),
    ("Sent", MailboxAttr::Sent),
    ("Trash", MailboxAttr::Trash),
];

impl MailboxAttr {
    /// The attribute name without the backslash.
    pub fn name(&self) -> &str {
        match self {
            MailboxAttr::Extension(a) => a.as_str(),
            known => NAMED
                .iter()
                .find(|(_, a)| a == known)
                .map_or("Noselect", |(n, _)| *n),
        }
    }

    /// The attribute for a name without the backslash (case-insensitive).
    pub fn from_name(name: &str) -> Option<MailboxAttr> {
        if let Some((_, a)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Some(a.clone());
        }
        Atom::try_from(name).ok().map(MailboxAttr::Extension)
    }
}

/// An extended data item of a LIST response (RFC 5258 `mbox-list-extended`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListExtItem {
    /// `CHILDINFO ("SUBSCRIBED" …)` (RFC 5258 3.5); not empty.
    ChildInfo(Vec<String>),
    /// `OLDNAME (mailbox)` (RFC 9051 6.3.9, after RENAME).
    OldName(Mailbox),
}

/// The body of a LIST or LSUB response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListData {
    /// Mailbox attributes.
    pub attrs: Vec<MailboxAttr>,
    /// Hierarchy delimiter; None is NIL (flat namespace).
    pub delimiter: Option<char>,
    /// The mailbox name.
    pub mailbox: Mailbox,
    /// Extended items (LIST only; none are written for LSUB).
    pub extended: Vec<ListExtItem>,
}

impl ListData {
    /// Appends `(attrs) delim mailbox [(ext …)]` without CRLF.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        out.push(b'(');
        for (n, a) in self.attrs.iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            out.push(b'\\');
            out.extend_from_slice(a.name().as_bytes());
        }
        out.extend_from_slice(b") ");
        match self.delimiter {
            Some(c) => {
                let mut buf = [0u8; 4];
                write_quoted(out, c.encode_utf8(&mut buf).as_bytes());
            }
            None => out.extend_from_slice(b"NIL"),
        }
        out.push(b' ');
        write_mailbox(out, &self.mailbox, ctx);
        if !self.extended.is_empty() {
            out.extend_from_slice(b" (");
            for (n, e) in self.extended.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                match e {
                    ListExtItem::ChildInfo(opts) => {
                        out.extend_from_slice(b"CHILDINFO (");
                        for (k, o) in opts.iter().enumerate() {
                            if k > 0 {
                                out.push(b' ');
                            }
                            super::write_quoted_clean(out, o);
                        }
                        out.push(b')');
                    }
                    ListExtItem::OldName(m) => {
                        out.extend_from_slice(b"OLDNAME (");
                        write_mailbox(out, m, ctx);
                        out.push(b')');
                    }
                }
            }
            out.push(b')');
        }
    }
}

/// `mbx-list-flag`: `"\" atom`.
fn mailbox_attr(i: &[u8]) -> IResult<'_, MailboxAttr> {
    let (r, ()) = byte(b'\\')(i)?;
    let (r, name) = atom_str(r)?;
    MailboxAttr::from_name(name)
        .map(|a| (r, a))
        .ok_or_else(|| ParseError::fail(i, "expected a mailbox attribute"))
}

/// `QUOTED-CHAR` in quotes, or NIL.
fn delimiter(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Option<char>> {
    move |i: &[u8]| match i.first() {
        Some(b'"') => {
            let (r, v) = quoted(ctx)(i)?;
            let s = lossy(v);
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok((r, Some(c))),
                _ => Err(ParseError::fail(i, "expected a one-character delimiter")),
            }
        }
        _ => {
            let (r, ()) = keyword("NIL")(i)
                .map_err(|e| e.map(|_| ParseError::new(i, "expected a delimiter or NIL")))?;
            Ok((r, None))
        }
    }
}

fn ext_item(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, ListExtItem> {
    move |i: &[u8]| {
        // `mbox-list-extended-item-tag = astring` (RFC 5258): servers quote it.
        let (r, name) = astring(ctx)(i)?;
        let (r, ()) = sp(r)?;
        match lossy(name).to_ascii_uppercase().as_str() {
            "CHILDINFO" => {
                let (r, opts) = paren_list(1, |i| quoted(ctx)(i).map(|(r, v)| (r, lossy(v))))(r)?;
                Ok((r, ListExtItem::ChildInfo(opts)))
            }
            "OLDNAME" => {
                let (r, ()) = byte(b'(')(r)?;
                let (r, m) = mailbox(ctx)(r)?;
                let (r, ()) = byte(b')')(r)?;
                Ok((r, ListExtItem::OldName(m)))
            }
            _ => Err(ParseError::fail(i, "expected CHILDINFO or OLDNAME")),
        }
    }
}

/// `mailbox-list` (RFC 9051 9) after `LIST SP`/`LSUB SP`, up to the CRLF;
/// extended items only when `extended`.
pub(crate) fn list_data(i: &[u8], ctx: Ctx, extended: bool) -> IResult<'_, ListData> {
    let (i, attrs) = paren_list(0, mailbox_attr)(i)?;
    let (i, ()) = sp(i)?;
    let (i, delimiter) = delimiter(ctx)(i)?;
    let (i, ()) = sp(i)?;
    let (i, mailbox) = mailbox(ctx)(i)?;
    let (i, ext) = match i.first() {
        Some(b' ') if extended => paren_list(0, ext_item(ctx))(&i[1..])?,
        _ => (i, Vec::new()),
    };
    Ok((
        i,
        ListData {
            attrs,
            delimiter,
            mailbox,
            extended: ext,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::resp::{Data, Response, parse_response};

    #[test]
    fn list_lines() {
        let line =
            b"* LIST (\\Noselect \\HasChildren) \"/\" ~/Mail/foo (CHILDINFO (\"SUBSCRIBED\"))\r\n";
        let (n, r) = parse_response(line, Ctx::REV1).unwrap();
        assert_eq!(n, line.len());
        let Response::Data(Data::List(l)) = &r else {
            panic!("{r:?}")
        };
        assert_eq!(
            l.attrs,
            vec![MailboxAttr::NoSelect, MailboxAttr::HasChildren]
        );
        assert_eq!(l.delimiter, Some('/'));
        assert_eq!(l.mailbox.as_str(), "~/Mail/foo");
        assert_eq!(
            l.extended,
            vec![ListExtItem::ChildInfo(vec!["SUBSCRIBED".into()])]
        );
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(out, line);

        let line = b"* LIST () NIL INBOX (OLDNAME (\"a b\"))\r\n";
        let (_, r) = parse_response(line, Ctx::REV1).unwrap();
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(out, line);
        assert!(parse_response(b"* LIST (Noselect) \"/\" x\r\n", Ctx::REV1).is_err());
        assert!(parse_response(b"* LIST () \"ab\" x\r\n", Ctx::REV1).is_err());
    }
}

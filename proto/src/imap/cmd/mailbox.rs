//! Mailbox commands: `SELECT` and `EXAMINE` (RFC 9051 6.3.2–6.3.3) with the
//! CONDSTORE and QRESYNC select parameters (RFC 7162 3.1.8, 3.2.5), and
//! mailbox management: `CREATE` (with RFC 6154 CREATE-SPECIAL-USE),
//! `DELETE`, `RENAME`, `SUBSCRIBE`, `UNSUBSCRIBE` (RFC 9051 6.3.4–6.3.8).

use super::CommandBody;
use super::syntax::{cut, expect, word};
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::seq::{sequence_set, write_sequence_set};
use crate::imap::core::string::atom;
use crate::imap::core::{
    Atom, Ctx, IResult, Mailbox, ParseError, SequenceSet, byte, nz_number, nz_number64, paren_list,
    sp, write_number,
};

fn mailbox_arg(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Mailbox> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        expect(i, "expected a mailbox name", mailbox(ctx)(i))
    }
}

/// `\`-attribute of a USE list, returned without the backslash.
fn use_attr(i: &[u8]) -> IResult<'_, Atom> {
    let (i, ()) = expect(
        i,
        "expected a special-use attribute like \\Drafts",
        byte(b'\\')(i),
    )?;
    expect(i, "expected a special-use attribute like \\Drafts", atom(i))
}

/// `SP mailbox [SP "(" "USE" SP "(" use-attr… ")" ")"]` (RFC 6154 6,
/// RFC 4466 create-params).
pub(crate) fn create_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, mailbox) = mailbox_arg(ctx)(i)?;
        let (i, special_use) = match i.first() {
            Some(b' ') => {
                let (rest, ()) = byte(b'(')(&i[1..])?;
                let (rest, w) = expect(rest, "expected USE", word(rest))?;
                if !w.eq_ignore_ascii_case(b"USE") {
                    return Err(ParseError::cut(&i[2..], "expected USE"));
                }
                let (rest, ()) = sp(rest)?;
                let (rest, attrs) = cut(paren_list(0, use_attr)(rest))?;
                let (rest, ()) = byte(b')')(rest)?;
                (rest, attrs)
            }
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            Some(_) => (i, Vec::new()),
        };
        Ok((
            i,
            CommandBody::Create {
                mailbox,
                special_use,
            },
        ))
    }
}

/// `SP mailbox` after `DELETE`.
pub(crate) fn delete_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| mailbox_arg(ctx)(i).map(|(r, m)| (r, CommandBody::Delete(m)))
}

/// `SP mailbox` after `SUBSCRIBE`.
pub(crate) fn subscribe_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| mailbox_arg(ctx)(i).map(|(r, m)| (r, CommandBody::Subscribe(m)))
}

/// `SP mailbox` after `UNSUBSCRIBE`.
pub(crate) fn unsubscribe_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| mailbox_arg(ctx)(i).map(|(r, m)| (r, CommandBody::Unsubscribe(m)))
}

/// `SP mailbox SP mailbox` after `RENAME`.
pub(crate) fn rename_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, from) = mailbox_arg(ctx)(i)?;
        let (i, to) = mailbox_arg(ctx)(i)?;
        Ok((i, CommandBody::Rename { from, to }))
    }
}

/// Writes `CREATE name [(USE (\attr…))]`.
pub(crate) fn write_create(out: &mut Vec<u8>, m: &Mailbox, special_use: &[Atom], ctx: Ctx) {
    out.extend_from_slice(b"CREATE ");
    write_mailbox(out, m, ctx);
    if !special_use.is_empty() {
        out.extend_from_slice(b" (USE (");
        for (n, a) in special_use.iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            out.push(b'\\');
            out.extend_from_slice(a.as_str().as_bytes());
        }
        out.extend_from_slice(b"))");
    }
}

/// Writes `NAME mailbox` (DELETE, SUBSCRIBE, UNSUBSCRIBE).
pub(crate) fn write_simple(out: &mut Vec<u8>, name: &str, m: &Mailbox, ctx: Ctx) {
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    write_mailbox(out, m, ctx);
}

/// Writes `RENAME from to`.
pub(crate) fn write_rename(out: &mut Vec<u8>, from: &Mailbox, to: &Mailbox, ctx: Ctx) {
    out.extend_from_slice(b"RENAME ");
    write_mailbox(out, from, ctx);
    out.push(b' ');
    write_mailbox(out, to, ctx);
}

/// Parameters after the mailbox name of SELECT/EXAMINE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectParams {
    /// `CONDSTORE` (RFC 7162 3.1.8).
    pub condstore: bool,
    /// `QRESYNC (…)` (RFC 7162 3.2.5).
    pub qresync: Option<QResync>,
}

/// `QRESYNC (uidvalidity modseq [known-uids] [(seqs uids)])` (RFC 7162 3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QResync {
    /// The UIDVALIDITY the client last saw.
    pub uid_validity: u32,
    /// The last known mod-sequence.
    pub modseq: u64,
    /// UIDs the client knows (no `*`).
    pub known_uids: Option<SequenceSet>,
    /// Sequence numbers and the UIDs the client has for them.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// `SP mailbox [SP "(" select-param *(SP select-param) ")"]`.
pub(crate) fn select_args(ctx: Ctx, examine: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, mailbox) = expect(i, "expected a mailbox name", mailbox(ctx)(i))?;
        let (i, params) = match i.first() {
            Some(b' ') => select_params(&i[1..])?,
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            Some(_) => (i, SelectParams::default()),
        };
        let body = if examine {
            CommandBody::Examine { mailbox, params }
        } else {
            CommandBody::Select { mailbox, params }
        };
        Ok((i, body))
    }
}

fn select_params(i: &[u8]) -> IResult<'_, SelectParams> {
    let (mut i, ()) = byte(b'(')(i)?;
    let mut p = SelectParams::default();
    loop {
        let (rest, w) = expect(i, "expected CONDSTORE or QRESYNC", word(i))?;
        if w.eq_ignore_ascii_case(b"CONDSTORE") {
            p.condstore = true;
            i = rest;
        } else if w.eq_ignore_ascii_case(b"QRESYNC") {
            let (rest, ()) = sp(rest)?;
            let (rest, q) = cut(qresync(rest))?;
            p.qresync = Some(q);
            i = rest;
        } else {
            return Err(ParseError::cut(i, "expected CONDSTORE or QRESYNC"));
        }
        match i.first() {
            Some(b' ') => i = &i[1..],
            Some(b')') => return Ok((&i[1..], p)),
            Some(_) => {
                return Err(ParseError::cut(
                    i,
                    "expected ' ' or ')' after select parameter",
                ));
            }
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
    }
}

fn qresync(i: &[u8]) -> IResult<'_, QResync> {
    let (i, ()) = byte(b'(')(i)?;
    let (i, uid_validity) = expect(i, "expected a UIDVALIDITY", nz_number(i))?;
    let (i, ()) = sp(i)?;
    let (mut i, modseq) = expect(i, "expected a mod-sequence", nz_number64(i))?;
    let mut q = QResync {
        uid_validity,
        modseq,
        known_uids: None,
        seq_match: None,
    };
    if let Some(b' ') = i.first() {
        let rest = &i[1..];
        if rest.first() != Some(&b'(') {
            let (rest, set) = expect(rest, "expected known UIDs", sequence_set(rest))?;
            q.known_uids = Some(set);
            i = rest;
        }
    }
    if let Some(b' ') = i.first() {
        let (rest, ()) = byte(b'(')(&i[1..])?;
        let (rest, seqs) = expect(rest, "expected a sequence set", sequence_set(rest))?;
        let (rest, ()) = sp(rest)?;
        let (rest, uids) = expect(rest, "expected a UID set", sequence_set(rest))?;
        let (rest, ()) = byte(b')')(rest)?;
        q.seq_match = Some((seqs, uids));
        i = rest;
    }
    let (i, ()) = byte(b')')(i)?;
    Ok((i, q))
}

/// Writes `SELECT`/`EXAMINE` (given as `name`) with its parameters.
pub(crate) fn write_select(
    out: &mut Vec<u8>,
    name: &str,
    mailbox: &Mailbox,
    params: &SelectParams,
    ctx: Ctx,
) {
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    write_mailbox(out, mailbox, ctx);
    if !params.condstore && params.qresync.is_none() {
        return;
    }
    out.extend_from_slice(b" (");
    if params.condstore {
        out.extend_from_slice(b"CONDSTORE");
    }
    if let Some(q) = &params.qresync {
        if params.condstore {
            out.push(b' ');
        }
        out.extend_from_slice(b"QRESYNC (");
        write_number(out, q.uid_validity);
        out.push(b' ');
        write_number(out, q.modseq);
        if let Some(k) = &q.known_uids {
            out.push(b' ');
            write_sequence_set(out, k);
        }
        if let Some((s, u)) = &q.seq_match {
            out.extend_from_slice(b" (");
            write_sequence_set(out, s);
            out.push(b' ');
            write_sequence_set(out, u);
            out.push(b')');
        }
        out.push(b')');
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::super::parse_command;
    use super::*;
    fn body(line: &[u8]) -> CommandBody {
        parse_command(line, Ctx::REV1).unwrap().1.body
    }

    #[test]
    fn mailbox_commands() {
        assert_eq!(
            body(b"A003 CREATE owatagusiam/\r\n"),
            CommandBody::Create {
                mailbox: Mailbox::new("owatagusiam/"),
                special_use: vec![]
            }
        );
        assert_eq!(
            body(b"t1 CREATE \"Important Messages\" (USE (\\Important))\r\n"),
            CommandBody::Create {
                mailbox: Mailbox::new("Important Messages"),
                special_use: vec![Atom::try_from("Important").unwrap()]
            }
        );
        assert_eq!(
            body(b"A683 RENAME blurdybloop sarasoop\r\n"),
            CommandBody::Rename {
                from: Mailbox::new("blurdybloop"),
                to: Mailbox::new("sarasoop")
            }
        );
        assert_eq!(
            body(b"A002 SUBSCRIBE #news.comp.mail.mime\r\n"),
            CommandBody::Subscribe(Mailbox::new("#news.comp.mail.mime"))
        );
        assert_eq!(
            body(b"A002 UNSUBSCRIBE x\r\n"),
            CommandBody::Unsubscribe(Mailbox::new("x"))
        );
        assert_eq!(
            body(b"A682 DELETE foo\r\n"),
            CommandBody::Delete(Mailbox::new("foo"))
        );
    }

    #[test]
    fn select_params_parse() {
        let (_, c) = parse_command(b"A142 SELECT INBOX\r\n", Ctx::REV1).unwrap();
        assert_eq!(
            c.body,
            CommandBody::Select {
                mailbox: Mailbox::new("INBOX"),
                params: SelectParams::default()
            }
        );
        let (_, c) = parse_command(b"a EXAMINE x (CONDSTORE)\r\n", Ctx::REV1).unwrap();
        assert_eq!(
            c.body,
            CommandBody::Examine {
                mailbox: Mailbox::new("x"),
                params: SelectParams {
                    condstore: true,
                    qresync: None
                }
            }
        );
        let (_, c) =
            parse_command(b"B02 SELECT m (QRESYNC (1 2 (1:3 4:6)))\r\n", Ctx::REV1).unwrap();
        let CommandBody::Select { params, .. } = c.body else {
            panic!("not select")
        };
        let q = params.qresync.unwrap();
        assert_eq!(q.known_uids, None);
        assert_eq!(
            q.seq_match,
            Some((SequenceSet::range(1, 3), SequenceSet::range(4, 6)))
        );
        assert!(parse_command(b"a SELECT x (FOO)\r\n", Ctx::REV1).is_err());
    }
}

//! `SELECT` and `EXAMINE` (RFC 9051 6.3.2–6.3.3) with the CONDSTORE and
//! QRESYNC select parameters (RFC 7162 3.1.8, 3.2.5).

use super::CommandBody;
use super::syntax::{cut, expect, word};
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::seq::{sequence_set, write_sequence_set};
use crate::imap::core::{
    Ctx, IResult, Mailbox, ParseError, SequenceSet, byte, nz_number, nz_number64, sp, write_number,
};

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

//! Commands with small arguments: `ENABLE` (RFC 5161), `ID` (RFC 2971),
//! `COMPRESS` (RFC 4978), `UID EXPUNGE` (RFC 4315, RFC 9051 6.4.9) and the
//! QUOTA commands (RFC 9208 4.1): `GETQUOTA root`, `GETQUOTAROOT mailbox`,
//! `SETQUOTA root (resource limit …)`. The argument-less commands
//! (CAPABILITY, NOOP, LOGOUT, CHECK, CLOSE, UNSELECT, EXPUNGE, IDLE,
//! NAMESPACE, STARTTLS) are handled in the dispatcher.

use super::CommandBody;
use super::syntax::{astring_text, cut, expect};
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::seq::{sequence_set, write_sequence_set};
use crate::imap::core::string::{
    atom, nstring, string, utf8, write_astring, write_nstring, write_string,
};
use crate::imap::core::{
    Atom, Ctx, IResult, Mailbox, ParseError, SequenceSet, keyword, number64, paren_list, sp,
    write_number,
};

/// `1*(SP capability)` after `ENABLE` (RFC 5161 4).
pub(crate) fn enable_args(mut i: &[u8]) -> IResult<'_, CommandBody> {
    let mut caps = Vec::new();
    loop {
        match i.first() {
            Some(b' ') => {
                let (rest, cap) = expect(&i[1..], "expected a capability name", atom(&i[1..]))?;
                caps.push(cap);
                i = rest;
            }
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            Some(_) if caps.is_empty() => {
                return Err(ParseError::fail(i, "expected a capability name"));
            }
            Some(_) => return Ok((i, CommandBody::Enable(caps))),
        }
    }
}

/// `SP id-params-list` after `ID` (RFC 2971 4): `"(" *(string SP nstring)
/// ")" / nil`.
pub(crate) fn id_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        match i.first() {
            Some(b'(') => {}
            Some(b'n') | Some(b'N') => {
                let (i, ()) = expect(i, "expected NIL or '('", keyword("NIL")(i))?;
                return Ok((i, CommandBody::Id(None)));
            }
            Some(_) => return Err(ParseError::fail(i, "expected NIL or '('")),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
        let mut i = &i[1..];
        let mut params = Vec::new();
        if let Some(b')') = i.first() {
            // RFC 2971 4: `"(" *(string SP nstring) ")"` may be empty.
            return Ok((&i[1..], CommandBody::Id(Some(params))));
        }
        loop {
            let (rest, k) = expect(i, "expected an ID field name", string(ctx)(i))?;
            let key = utf8(i, k)?;
            let (rest, ()) = sp(rest)?;
            let (after, v) = expect(rest, "expected an ID field value", nstring(ctx)(rest))?;
            let value = match v {
                Some(v) => Some(utf8(rest, v)?),
                None => None,
            };
            params.push((key, value));
            match after.first() {
                Some(b' ') => i = &after[1..],
                Some(b')') => return Ok((&after[1..], CommandBody::Id(Some(params)))),
                Some(_) => return Err(ParseError::fail(after, "expected ' ' or ')' in ID list")),
                None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            }
        }
    }
}

/// `SP algorithm` after `COMPRESS` (RFC 4978 3).
pub(crate) fn compress_args(i: &[u8]) -> IResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, a) = expect(i, "expected a compression mechanism", atom(i))?;
    Ok((i, CommandBody::Compress(a)))
}

/// `SP sequence-set` after `UID EXPUNGE`.
pub(crate) fn uid_expunge_args(i: &[u8]) -> IResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, set) = cut(sequence_set(i))?;
    Ok((i, CommandBody::UidExpunge(set)))
}

/// Writes `ENABLE cap…`.
pub(crate) fn write_enable(out: &mut Vec<u8>, caps: &[Atom]) {
    out.extend_from_slice(b"ENABLE");
    for c in caps {
        out.push(b' ');
        out.extend_from_slice(c.as_str().as_bytes());
    }
}

/// Writes `ID NIL` or `ID ("k" "v" …)`.
pub(crate) fn write_id(out: &mut Vec<u8>, params: Option<&[(String, Option<String>)]>, ctx: Ctx) {
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

/// Writes `COMPRESS mech`.
pub(crate) fn write_compress(out: &mut Vec<u8>, mech: &Atom) {
    out.extend_from_slice(b"COMPRESS ");
    out.extend_from_slice(mech.as_str().as_bytes());
}

/// Writes `UID EXPUNGE set`.
pub(crate) fn write_uid_expunge(out: &mut Vec<u8>, set: &SequenceSet) {
    out.extend_from_slice(b"UID EXPUNGE ");
    write_sequence_set(out, set);
}

/// `SP quota-root` after `GETQUOTA`.
pub(crate) fn getquota_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, root) = expect(i, "expected a quota root", astring_text(ctx)(i))?;
        Ok((i, CommandBody::GetQuota(root)))
    }
}

/// `SP mailbox` after `GETQUOTAROOT`.
pub(crate) fn getquotaroot_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, m) = expect(i, "expected a mailbox name", mailbox(ctx)(i))?;
        Ok((i, CommandBody::GetQuotaRoot(m)))
    }
}

fn setquota_resource(i: &[u8]) -> IResult<'_, (Atom, u64)> {
    let (i, name) = expect(i, "expected a quota resource name", atom(i))?;
    let (i, ()) = sp(i)?;
    let (i, limit) = expect(i, "expected a quota limit", number64(i))?;
    Ok((i, (name, limit)))
}

/// `SP quota-root SP "(" [setquota-resource *(SP setquota-resource)] ")"`.
pub(crate) fn setquota_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, root) = expect(i, "expected a quota root", astring_text(ctx)(i))?;
        let (i, ()) = sp(i)?;
        let (i, limits) = cut(paren_list(0, setquota_resource)(i))?;
        Ok((i, CommandBody::SetQuota { root, limits }))
    }
}

/// Writes `GETQUOTA root`.
pub(crate) fn write_getquota(out: &mut Vec<u8>, root: &str, ctx: Ctx) {
    out.extend_from_slice(b"GETQUOTA ");
    write_astring(out, root.as_bytes(), ctx);
}

/// Writes `GETQUOTAROOT mailbox`.
pub(crate) fn write_getquotaroot(out: &mut Vec<u8>, m: &Mailbox, ctx: Ctx) {
    out.extend_from_slice(b"GETQUOTAROOT ");
    write_mailbox(out, m, ctx);
}

/// Writes `SETQUOTA root (NAME n …)`.
pub(crate) fn write_setquota(out: &mut Vec<u8>, root: &str, limits: &[(Atom, u64)], ctx: Ctx) {
    out.extend_from_slice(b"SETQUOTA ");
    write_astring(out, root.as_bytes(), ctx);
    out.extend_from_slice(b" (");
    for (n, (name, limit)) in limits.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.push(b' ');
        write_number(out, *limit);
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
    fn small_commands() {
        assert_eq!(
            body(b"t ENABLE CONDSTORE QRESYNC\r\n"),
            CommandBody::Enable(vec![
                Atom::try_from("CONDSTORE").unwrap(),
                Atom::try_from("QRESYNC").unwrap()
            ])
        );
        assert_eq!(body(b"a023 ID NIL\r\n"), CommandBody::Id(None));
        assert_eq!(
            body(b"a023 ID (\"name\" \"sodr\" \"version\" NIL)\r\n"),
            CommandBody::Id(Some(vec![
                ("name".into(), Some("sodr".into())),
                ("version".into(), None)
            ]))
        );
        assert_eq!(
            body(b"a COMPRESS DEFLATE\r\n"),
            CommandBody::Compress(Atom::try_from("DEFLATE").unwrap())
        );
        assert_eq!(
            body(b"A003 UID EXPUNGE 3000:3002\r\n"),
            CommandBody::UidExpunge(SequenceSet::range(3000, 3002))
        );
        assert!(parse_command(b"t ENABLE\r\n", Ctx::REV1).is_err());
    }

    #[test]
    fn quota() {
        assert_eq!(
            body(b"G0001 GETQUOTA \"!partition/sda4\"\r\n"),
            CommandBody::GetQuota("!partition/sda4".into())
        );
        assert_eq!(
            body(b"G0002 GETQUOTAROOT INBOX\r\n"),
            CommandBody::GetQuotaRoot(Mailbox::new("INBOX"))
        );
        assert_eq!(
            body(b"S0000 SETQUOTA \"#user/alice\" (STORAGE 510)\r\n"),
            CommandBody::SetQuota {
                root: "#user/alice".into(),
                limits: vec![(Atom::try_from("STORAGE").unwrap(), 510)]
            }
        );
    }
}

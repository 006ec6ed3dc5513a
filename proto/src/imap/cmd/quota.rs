//! QUOTA commands (RFC 9208 4.1): `GETQUOTA root`, `GETQUOTAROOT mailbox`,
//! `SETQUOTA root (resource limit …)`.

use super::CommandBody;
use super::syntax::{astring_text, cut, expect};
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::string::{atom, write_astring};
use crate::imap::core::{Atom, Ctx, IResult, Mailbox, number64, paren_list, sp, write_number};

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

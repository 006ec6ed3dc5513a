//! `STATUS mailbox (attr…)` (RFC 9051 6.3.11) with HIGHESTMODSEQ (RFC 7162),
//! SIZE (RFC 8438), APPENDLIMIT (RFC 7889) and rev1's RECENT.

use super::CommandBody;
use super::syntax::{cut, expect};
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::section::status_attr;
use crate::imap::core::{Ctx, IResult, Mailbox, StatusAttr, paren_list, sp};

/// `SP mailbox SP "(" status-att *(SP status-att) ")"` after `STATUS`.
pub(crate) fn status_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, mailbox) = expect(i, "expected a mailbox name", mailbox(ctx)(i))?;
        let (i, ()) = sp(i)?;
        let (i, attrs) = cut(expect(
            i,
            "expected a list of STATUS attributes",
            paren_list(1, status_attr)(i),
        ))?;
        Ok((i, CommandBody::Status { mailbox, attrs }))
    }
}

/// Writes `(ATTR ATTR …)`.
pub(crate) fn write_attrs(out: &mut Vec<u8>, attrs: &[StatusAttr]) {
    out.push(b'(');
    for (n, a) in attrs.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(a.as_str().as_bytes());
    }
    out.push(b')');
}

/// Writes `STATUS mailbox (attr…)`.
pub(crate) fn write_status(out: &mut Vec<u8>, m: &Mailbox, attrs: &[StatusAttr], ctx: Ctx) {
    out.extend_from_slice(b"STATUS ");
    write_mailbox(out, m, ctx);
    out.push(b' ');
    write_attrs(out, attrs);
}

#[cfg(test)]
mod tests {
    use super::super::parse_command;
    use super::*;

    #[test]
    fn status() {
        assert_eq!(
            parse_command(b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n", Ctx::REV1)
                .unwrap()
                .1
                .body,
            CommandBody::Status {
                mailbox: Mailbox::new("blurdybloop"),
                attrs: vec![StatusAttr::UidNext, StatusAttr::Messages]
            }
        );
        assert_eq!(
            parse_command(
                b"A STATUS x (HIGHESTMODSEQ SIZE APPENDLIMIT DELETED)\r\n",
                Ctx::REV1
            )
            .unwrap()
            .1
            .body,
            CommandBody::Status {
                mailbox: Mailbox::new("x"),
                attrs: vec![
                    StatusAttr::HighestModSeq,
                    StatusAttr::Size,
                    StatusAttr::AppendLimit,
                    StatusAttr::Deleted
                ]
            }
        );
        assert!(parse_command(b"A STATUS x ()\r\n", Ctx::REV1).is_err());
    }
}

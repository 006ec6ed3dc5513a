//! The STATUS response (RFC 9051 7.3.2; RFC 7162 HIGHESTMODSEQ, RFC 8438
//! SIZE, RFC 7889 APPENDLIMIT which may be NIL).

use super::super::core::error::IResult;
use super::super::core::mailbox::{mailbox, write_mailbox};
use super::super::core::section::status_attr;
use super::super::core::{
    Ctx, Mailbox, StatusAttr, keyword, number64, paren_list, sp, write_number,
};
use super::data::Data;

/// One `status-att-val`: an attribute and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusValue {
    /// The attribute.
    pub attr: StatusAttr,
    /// Its value; None is written `NIL` (only meaningful for APPENDLIMIT:
    /// no limit, RFC 7889).
    pub value: Option<u64>,
}

/// Appends `STATUS mailbox (attr value …)` without CRLF.
pub(crate) fn encode_status(out: &mut Vec<u8>, mailbox: &Mailbox, items: &[StatusValue], ctx: Ctx) {
    out.extend_from_slice(b"STATUS ");
    write_mailbox(out, mailbox, ctx);
    out.extend_from_slice(b" (");
    for (n, v) in items.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(v.attr.as_str().as_bytes());
        out.push(b' ');
        match v.value {
            Some(x) => write_number(out, x),
            None => out.extend_from_slice(b"NIL"),
        }
    }
    out.push(b')');
}

fn status_att_val(i: &[u8]) -> IResult<'_, StatusValue> {
    let (i, attr) = status_attr(i)?;
    let (i, ()) = sp(i)?;
    let (i, value) = match i.first() {
        Some(b'N') | Some(b'n') => {
            let (i, ()) = keyword("NIL")(i)?;
            (i, None)
        }
        _ => {
            let (i, v) = number64(i)?;
            (i, Some(v))
        }
    };
    Ok((i, StatusValue { attr, value }))
}

/// After `STATUS`: `SP mailbox SP "(" [status-att-val *(SP …)] ")"`.
pub(crate) fn status_data(i: &[u8], ctx: Ctx) -> IResult<'_, Data> {
    let (i, ()) = sp(i)?;
    let (i, mailbox) = mailbox(ctx)(i)?;
    let (i, ()) = sp(i)?;
    let (i, items) = paren_list(0, status_att_val)(i)?;
    Ok((i, Data::Status { mailbox, items }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::resp::{Response, parse_response};

    #[test]
    fn status_lines() {
        // RFC 9051 6.3.11
        let line = b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n";
        let (n, r) = parse_response(line, Ctx::REV1).unwrap();
        assert_eq!(n, line.len());
        assert_eq!(
            r,
            Response::Data(Data::Status {
                mailbox: Mailbox::new("blurdybloop"),
                items: vec![
                    StatusValue {
                        attr: StatusAttr::Messages,
                        value: Some(231)
                    },
                    StatusValue {
                        attr: StatusAttr::UidNext,
                        value: Some(44292)
                    },
                ]
            })
        );
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(out, line);
        let line = b"* STATUS INBOX (APPENDLIMIT NIL SIZE 12345678901 HIGHESTMODSEQ 7)\r\n";
        let (_, r) = parse_response(line, Ctx::REV1).unwrap();
        out.clear();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(out, line);
        assert!(parse_response(b"* STATUS INBOX (FOO 1)\r\n", Ctx::REV1).is_err());
    }
}

//! Mailbox management: `CREATE` (with RFC 6154 CREATE-SPECIAL-USE),
//! `DELETE`, `RENAME`, `SUBSCRIBE`, `UNSUBSCRIBE` (RFC 9051 6.3.4–6.3.8).

use super::CommandBody;
use super::syntax::{cut, expect, word};
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::string::atom;
use crate::imap::core::{Atom, Ctx, IResult, Mailbox, ParseError, byte, paren_list, sp};

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
}

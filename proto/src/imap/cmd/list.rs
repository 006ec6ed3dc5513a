//! `LIST` (RFC 9051 6.3.9) with LIST-EXTENDED selection and return options
//! (RFC 5258), LIST-STATUS (RFC 5819) and SPECIAL-USE (RFC 6154), rev1's
//! `LSUB` (RFC 3501 6.3.9), and `STATUS` (RFC 9051 6.3.11) with HIGHESTMODSEQ
//! (RFC 7162), SIZE (RFC 8438), APPENDLIMIT (RFC 7889) and rev1's RECENT.

use super::CommandBody;
use super::syntax::{MAX_KEYWORD, cut, expect, peek_sp_word, upper, word};
use crate::imap::core::mailbox::{list_mailbox, mailbox, write_mailbox, write_name};
use crate::imap::core::section::status_attr;
use crate::imap::core::{Ctx, IResult, Mailbox, ParseError, StatusAttr, paren_list, sp};

/// A LIST command: `LIST [(select-opts)] reference patterns [RETURN (…)]`.
/// Empty option lists are not written, so `LIST () "" x RETURN ()` and
/// `LIST "" x` are the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCommand {
    /// Selection options (RFC 5258 3.1), in the order given.
    pub selection: Vec<ListSelect>,
    /// Reference name (`""` for none).
    pub reference: Mailbox,
    /// One or more patterns (several only with LIST-EXTENDED).
    pub patterns: Vec<String>,
    /// Return options (RFC 5258 3.2, RFC 5819, RFC 6154).
    pub returns: Vec<ListReturn>,
}

/// A LIST selection option (RFC 5258 3.1, RFC 6154 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListSelect {
    /// `SUBSCRIBED`
    Subscribed,
    /// `REMOTE`
    Remote,
    /// `RECURSIVEMATCH`
    RecursiveMatch,
    /// `SPECIAL-USE`
    SpecialUse,
}

/// A LIST return option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListReturn {
    /// `SUBSCRIBED` (RFC 5258)
    Subscribed,
    /// `CHILDREN` (RFC 5258)
    Children,
    /// `SPECIAL-USE` (RFC 6154)
    SpecialUse,
    /// `STATUS (attr…)` (RFC 5819)
    Status(Vec<StatusAttr>),
}

impl ListSelect {
    /// The option name.
    pub fn as_str(self) -> &'static str {
        match self {
            ListSelect::Subscribed => "SUBSCRIBED",
            ListSelect::Remote => "REMOTE",
            ListSelect::RecursiveMatch => "RECURSIVEMATCH",
            ListSelect::SpecialUse => "SPECIAL-USE",
        }
    }
}

fn list_select(i: &[u8]) -> IResult<'_, ListSelect> {
    const EXPECTED: &str = "expected SUBSCRIBED, REMOTE, RECURSIVEMATCH or SPECIAL-USE";
    let (rest, w) = expect(i, EXPECTED, word(i))?;
    for s in [
        ListSelect::Subscribed,
        ListSelect::Remote,
        ListSelect::RecursiveMatch,
        ListSelect::SpecialUse,
    ] {
        if w.eq_ignore_ascii_case(s.as_str().as_bytes()) {
            return Ok((rest, s));
        }
    }
    Err(ParseError::fail(i, EXPECTED))
}

fn list_return(i: &[u8]) -> IResult<'_, ListReturn> {
    const EXPECTED: &str = "expected SUBSCRIBED, CHILDREN, SPECIAL-USE or STATUS";
    let (rest, w) = expect(i, EXPECTED, word(i))?;
    let mut buf = [0; MAX_KEYWORD];
    match upper(w, &mut buf) {
        b"SUBSCRIBED" => Ok((rest, ListReturn::Subscribed)),
        b"CHILDREN" => Ok((rest, ListReturn::Children)),
        b"SPECIAL-USE" => Ok((rest, ListReturn::SpecialUse)),
        b"STATUS" => {
            let (rest, ()) = sp(rest)?;
            let (rest, attrs) = paren_list(1, status_attr)(rest)?;
            Ok((rest, ListReturn::Status(attrs)))
        }
        _ => Err(ParseError::fail(i, EXPECTED)),
    }
}

/// `[SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`.
pub(crate) fn list_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (mut i, ()) = sp(i)?;
        let mut selection = Vec::new();
        if let Some(b'(') = i.first() {
            let (rest, s) = cut(paren_list(0, list_select)(i))?;
            // RFC 5258 3.1: RECURSIVEMATCH modifies a base option
            // (SUBSCRIBED); alone it is a syntax error.
            if s.contains(&ListSelect::RecursiveMatch) && !s.contains(&ListSelect::Subscribed) {
                return Err(ParseError::cut(i, "RECURSIVEMATCH needs SUBSCRIBED"));
            }
            selection = s;
            let (rest, ()) = sp(rest)?;
            i = rest;
        }
        let (i, reference) = expect(i, "expected a reference name", mailbox(ctx)(i))?;
        let (i, ()) = sp(i)?;
        let (mut i, patterns) = match i.first() {
            Some(b'(') => cut(paren_list(1, list_mailbox(ctx))(i))?,
            _ => {
                let (rest, p) = expect(i, "expected a mailbox pattern", list_mailbox(ctx)(i))?;
                (rest, vec![p])
            }
        };
        let mut returns = Vec::new();
        if peek_sp_word(i, "RETURN")? {
            let rest = &i[7..];
            let (rest, ()) = sp(rest)?;
            let (rest, r) = cut(paren_list(0, list_return)(rest))?;
            returns = r;
            i = rest;
        }
        Ok((
            i,
            CommandBody::List(ListCommand {
                selection,
                reference,
                patterns,
                returns,
            }),
        ))
    }
}

/// `SP mailbox SP list-mailbox` after `LSUB`.
pub(crate) fn lsub_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, reference) = expect(i, "expected a reference name", mailbox(ctx)(i))?;
        let (i, ()) = sp(i)?;
        let (i, pattern) = expect(i, "expected a mailbox pattern", list_mailbox(ctx)(i))?;
        Ok((i, CommandBody::Lsub { reference, pattern }))
    }
}

/// Writes a `LIST` command.
pub(crate) fn write_list(out: &mut Vec<u8>, l: &ListCommand, ctx: Ctx) {
    out.extend_from_slice(b"LIST ");
    if !l.selection.is_empty() {
        out.push(b'(');
        for (n, s) in l.selection.iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(s.as_str().as_bytes());
        }
        out.extend_from_slice(b") ");
    }
    write_mailbox(out, &l.reference, ctx);
    out.push(b' ');
    if l.patterns.len() == 1 {
        write_name(out, &l.patterns[0], ctx);
    } else {
        out.push(b'(');
        for (n, p) in l.patterns.iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            write_name(out, p, ctx);
        }
        out.push(b')');
    }
    if !l.returns.is_empty() {
        out.extend_from_slice(b" RETURN (");
        for (n, r) in l.returns.iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            match r {
                ListReturn::Subscribed => out.extend_from_slice(b"SUBSCRIBED"),
                ListReturn::Children => out.extend_from_slice(b"CHILDREN"),
                ListReturn::SpecialUse => out.extend_from_slice(b"SPECIAL-USE"),
                ListReturn::Status(attrs) => {
                    out.extend_from_slice(b"STATUS ");
                    write_attrs(out, attrs);
                }
            }
        }
        out.push(b')');
    }
}

/// Writes `LSUB reference pattern`.
pub(crate) fn write_lsub(out: &mut Vec<u8>, reference: &Mailbox, pattern: &str, ctx: Ctx) {
    out.extend_from_slice(b"LSUB ");
    write_mailbox(out, reference, ctx);
    out.push(b' ');
    write_name(out, pattern, ctx);
}

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
    fn list(line: &[u8]) -> ListCommand {
        match parse_command(line, Ctx::REV1).unwrap().1.body {
            CommandBody::List(l) => l,
            b => panic!("not LIST: {b:?}"),
        }
    }

    #[test]
    fn lists() {
        let l = list(b"A101 LIST \"\" \"\"\r\n");
        assert_eq!(l.reference, Mailbox::new(""));
        assert_eq!(l.patterns, vec![String::new()]);
        let l = list(b"A102 LIST #news.comp.mail.misc \"\"\r\n");
        assert_eq!(l.reference, Mailbox::new("#news.comp.mail.misc"));
        let l = list(b"A202 LIST ~/Mail/ %\r\n");
        assert_eq!(l.patterns, vec!["%".to_string()]);
        let l = list(b"A02 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"a\" \"b*\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n");
        assert_eq!(
            l.selection,
            vec![ListSelect::Subscribed, ListSelect::RecursiveMatch]
        );
        assert_eq!(l.patterns, vec!["a".to_string(), "b*".to_string()]);
        assert_eq!(
            l.returns,
            vec![
                ListReturn::Children,
                ListReturn::Status(vec![StatusAttr::Messages, StatusAttr::Unseen])
            ]
        );
        let l = list(b"t1 LIST \"\" \"%\" RETURN (SPECIAL-USE)\r\n");
        assert_eq!(l.returns, vec![ListReturn::SpecialUse]);
        assert_eq!(
            parse_command(b"A LSUB \"#news.\" \"comp.mail.*\"\r\n", Ctx::REV1)
                .unwrap()
                .1
                .body,
            CommandBody::Lsub {
                reference: Mailbox::new("#news."),
                pattern: "comp.mail.*".into()
            }
        );
        assert!(parse_command(b"A LIST (FOO) \"\" x\r\n", Ctx::REV1).is_err());
    }

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

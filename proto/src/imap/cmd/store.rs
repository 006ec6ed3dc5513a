//! Commands that change messages: `[UID] STORE set [(UNCHANGEDSINCE n)]
//! [+|-]FLAGS[.SILENT] flags` (RFC 9051 6.4.6, RFC 7162 3.1.3), `[UID] COPY`
//! (RFC 9051 6.4.7) and `[UID] MOVE` (RFC 9051 6.4.8, RFC 6851).

use super::CommandBody;
use super::syntax::{expect, flags as flag_list, one_flag as flag, word};
use crate::imap::core::flag::write_flag_list;
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::seq::{sequence_set, write_sequence_set};
use crate::imap::core::{
    Ctx, Flag, IResult, Mailbox, ParseError, SequenceSet, byte, keyword, number64, sp, write_number,
};

/// How STORE changes the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMode {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// A STORE or UID STORE command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCommand {
    /// UID STORE.
    pub uid: bool,
    /// Messages to change.
    pub set: SequenceSet,
    /// `(UNCHANGEDSINCE n)` (RFC 7162 3.1.3); 0 is allowed.
    pub unchanged_since: Option<u64>,
    /// Replace, add or remove.
    pub mode: StoreMode,
    /// `.SILENT`: no untagged FETCH for the change.
    pub silent: bool,
    /// The flags.
    pub flags: Vec<Flag>,
}

fn store_modifiers(i: &[u8]) -> IResult<'_, u64> {
    let (i, ()) = byte(b'(')(i)?;
    let (i, ()) = expect(i, "expected UNCHANGEDSINCE", keyword("UNCHANGEDSINCE")(i))?;
    let (i, ()) = sp(i)?;
    let (i, n) = number64(i)?;
    let (i, ()) = byte(b')')(i)?;
    Ok((i, n))
}

const EXPECTED_ITEM: &str = "expected FLAGS, +FLAGS or -FLAGS, optionally with .SILENT";

/// `SP sequence-set [SP store-modifiers] SP store-att-flags` after STORE.
pub(crate) fn store_args(uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, set) = sequence_set(i)?;
        let (i, ()) = sp(i)?;
        let (i, unchanged_since) = match i.first() {
            Some(b'(') => {
                let (i, n) = store_modifiers(i)?;
                let (i, ()) = sp(i)?;
                (i, Some(n))
            }
            _ => (i, None),
        };
        let (i, mode) = match i.first() {
            Some(b'+') => (&i[1..], StoreMode::Add),
            Some(b'-') => (&i[1..], StoreMode::Remove),
            Some(_) => (i, StoreMode::Replace),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        };
        let at = i;
        let (i, w) = expect(at, EXPECTED_ITEM, word(i))?;
        let silent = if w.eq_ignore_ascii_case(b"FLAGS") {
            false
        } else if w.eq_ignore_ascii_case(b"FLAGS.SILENT") {
            true
        } else {
            return Err(ParseError::fail(at, EXPECTED_ITEM));
        };
        let (i, ()) = sp(i)?;
        // RFC 9051 9: flag-list / (flag *(SP flag))
        let (i, flags) = match i.first() {
            Some(b'(') => flag_list(i)?,
            _ => {
                let (mut i, f) = flag(i)?;
                let mut flags = vec![f];
                while let Some(b' ') = i.first() {
                    let (rest, f) = flag(&i[1..])?;
                    flags.push(f);
                    i = rest;
                }
                if i.is_empty() {
                    return Err(nom::Err::Incomplete(nom::Needed::new(1)));
                }
                (i, flags)
            }
        };
        Ok((
            i,
            CommandBody::Store(StoreCommand {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            }),
        ))
    }
}

impl StoreCommand {
    /// Writes `[UID] STORE …`.
    pub fn write(&self, out: &mut Vec<u8>) {
        if self.uid {
            out.extend_from_slice(b"UID ");
        }
        out.extend_from_slice(b"STORE ");
        write_sequence_set(out, &self.set);
        out.push(b' ');
        if let Some(n) = self.unchanged_since {
            out.extend_from_slice(b"(UNCHANGEDSINCE ");
            write_number(out, n);
            out.extend_from_slice(b") ");
        }
        match self.mode {
            StoreMode::Replace => {}
            StoreMode::Add => out.push(b'+'),
            StoreMode::Remove => out.push(b'-'),
        }
        out.extend_from_slice(b"FLAGS");
        if self.silent {
            out.extend_from_slice(b".SILENT");
        }
        out.push(b' ');
        write_flag_list(out, &self.flags);
    }
}

fn set_and_mailbox(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, (SequenceSet, Mailbox)> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, set) = sequence_set(i)?;
        let (i, ()) = sp(i)?;
        let (i, m) = expect(i, "expected a mailbox name", mailbox(ctx)(i))?;
        Ok((i, (set, m)))
    }
}

/// `SP sequence-set SP mailbox` after `[UID] COPY`.
pub(crate) fn copy_args(ctx: Ctx, uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, (set, mailbox)) = set_and_mailbox(ctx)(i)?;
        Ok((i, CommandBody::Copy { uid, set, mailbox }))
    }
}

/// `SP sequence-set SP mailbox` after `[UID] MOVE`.
pub(crate) fn move_args(ctx: Ctx, uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, (set, mailbox)) = set_and_mailbox(ctx)(i)?;
        Ok((i, CommandBody::Move { uid, set, mailbox }))
    }
}

/// Writes `[UID] COPY|MOVE set mailbox`; `name` includes the UID prefix.
pub(crate) fn write_copy_move(
    out: &mut Vec<u8>,
    name: &str,
    set: &SequenceSet,
    m: &Mailbox,
    ctx: Ctx,
) {
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    write_sequence_set(out, set);
    out.push(b' ');
    write_mailbox(out, m, ctx);
}

#[cfg(test)]
mod tests {
    use super::super::parse_command;
    use super::*;
    use crate::imap::core::Ctx;

    fn store(line: &[u8]) -> StoreCommand {
        match parse_command(line, Ctx::REV1).unwrap().1.body {
            CommandBody::Store(s) => s,
            b => panic!("not STORE: {b:?}"),
        }
    }

    #[test]
    fn stores() {
        assert_eq!(
            store(b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n"),
            StoreCommand {
                uid: false,
                set: SequenceSet::range(2, 4),
                unchanged_since: None,
                mode: StoreMode::Add,
                silent: false,
                flags: vec![Flag::Deleted]
            }
        );
        let s = store(b"a UID STORE 1 -flags.silent \\Seen \\Draft\r\n");
        assert_eq!(s.mode, StoreMode::Remove);
        assert!(s.silent && s.uid);
        assert_eq!(s.flags, vec![Flag::Seen, Flag::Draft]);
        let s = store(b"a STORE 1 (UNCHANGEDSINCE 0) FLAGS ()\r\n");
        assert_eq!(s.unchanged_since, Some(0));
        assert_eq!(s.flags, vec![]);
        assert!(parse_command(b"a STORE 1 +FLAG (\\Seen)\r\n", Ctx::REV1).is_err());
    }

    #[test]
    fn copy_move() {
        assert_eq!(
            parse_command(b"A003 COPY 2:4 MEETING\r\n", Ctx::REV1)
                .unwrap()
                .1
                .body,
            CommandBody::Copy {
                uid: false,
                set: SequenceSet::range(2, 4),
                mailbox: Mailbox::new("MEETING")
            }
        );
        assert_eq!(
            parse_command(b"a UID MOVE 42:69 foo\r\n", Ctx::REV1)
                .unwrap()
                .1
                .body,
            CommandBody::Move {
                uid: true,
                set: SequenceSet::range(42, 69),
                mailbox: Mailbox::new("foo")
            }
        );
        assert_eq!(
            parse_command(b"a MOVE $ Trash\r\n", Ctx::REV1)
                .unwrap()
                .1
                .body,
            CommandBody::Move {
                uid: false,
                set: SequenceSet::LastResult,
                mailbox: Mailbox::new("Trash")
            }
        );
    }
}

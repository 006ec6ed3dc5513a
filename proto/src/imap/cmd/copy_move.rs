//! `[UID] COPY` (RFC 9051 6.4.7) and `[UID] MOVE` (RFC 9051 6.4.8, RFC 6851).

use super::CommandBody;
use super::syntax::expect;
use crate::imap::core::mailbox::{mailbox, write_mailbox};
use crate::imap::core::seq::{sequence_set, write_sequence_set};
use crate::imap::core::{Ctx, IResult, Mailbox, SequenceSet, sp};

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

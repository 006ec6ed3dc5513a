//! MOVE and UID MOVE (RFC 6851, RFC 9051 6.4.8): COPYUID in an untagged OK
//! before the EXPUNGE (or VANISHED) responses.

use moxide_proto::imap::core::{Mailbox, SequenceSet, Tag};
use moxide_proto::imap::resp::{Code, Response, Status};

use super::copy::{copyuid, destination};
use crate::imap::Session;

/// [UID] MOVE set mailbox.
pub(crate) fn run(s: &mut Session, tag: Tag, uid: bool, set: &SequenceSet, m: &Mailbox) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(sel) = s.sel.as_ref() else {
        return s.bad(tag, "no mailbox selected");
    };
    if sel.read_only {
        return s.no(tag, Some(Code::Cannot), "mailbox is read-only");
    }
    let from = sel.id;
    let uids = match sel.resolve_uids(set, uid) {
        Ok(u) => u,
        Err(e) => return s.bad(tag, e.text()),
    };
    let dest = match destination(&acct, m) {
        Ok(Some(d)) => d,
        Ok(None) => return s.no(tag, Some(Code::TryCreate), "no such mailbox"),
        Err(e) => return s.store_error(tag, e, "MOVE"),
    };
    if dest.id == from {
        return s.no(
            tag,
            Some(Code::Cannot),
            "source and destination are the same",
        );
    }
    if uids.is_empty() {
        return s.ok(tag, None, "no messages moved");
    }
    let moved = match acct.move_messages(from, &uids, dest.id) {
        Ok(c) => c,
        Err(e) => return s.store_error(tag, e, "MOVE"),
    };
    if moved.uids.is_empty() {
        return s.ok(tag, None, "no messages moved");
    }
    s.send(Response::Status(Status::ok(
        None,
        Some(copyuid(moved.uidvalidity, &moved.uids)),
        "moved",
    )));
    let gone: Vec<u32> = moved.uids.iter().map(|p| p.0).collect();
    let qresync = s.ext.qresync;
    if let Some(sel) = s.sel.as_mut() {
        for d in sel.remove_expunged(&gone, qresync) {
            s.data(d);
        }
    }
    s.ok(tag, None, "MOVE completed");
}

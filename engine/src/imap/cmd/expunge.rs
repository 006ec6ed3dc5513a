//! EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 9051 6.4.9, RFC 4315
//! 2.1): `n EXPUNGE` per message, or VANISHED with QRESYNC (RFC 7162
//! 3.2.10).

use moxide_proto::imap::core::{SequenceSet, Tag};
use moxide_proto::imap::resp::Code;
use moxide_storage::ExpungeSet;

use crate::imap::Session;

/// EXPUNGE (`set` None) or UID EXPUNGE set.
pub(crate) fn run(s: &mut Session, tag: Tag, set: Option<&SequenceSet>) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(sel) = s.sel.as_ref() else {
        return s.bad(tag, "no mailbox selected");
    };
    if sel.read_only {
        return s.no(tag, Some(Code::Cannot), "mailbox is read-only");
    }
    let id = sel.id;
    let uids = match set {
        None => None,
        Some(set) => match sel.resolve_uids(set, true) {
            Ok(u) => Some(u),
            Err(e) => return s.bad(tag, e.text()),
        },
    };
    let which = match &uids {
        None => ExpungeSet::AllDeleted,
        Some(u) => ExpungeSet::DeletedIn(u),
    };
    let gone = match acct.expunge(id, which) {
        Ok(g) => g,
        Err(e) => return s.store_error(tag, e, "EXPUNGE"),
    };
    let qresync = s.ext.qresync;
    if let Some(sel) = s.sel.as_mut() {
        for d in sel.remove_expunged(&gone, qresync) {
            s.data(d);
        }
    }
    s.ok(tag, None, "EXPUNGE completed");
}

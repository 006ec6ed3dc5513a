//! CLOSE (RFC 9051 6.4.1: expunge silently, then deselect) and UNSELECT
//! (RFC 9051 6.4.2: deselect without expunging).

use moxide_proto::imap::core::Tag;
use moxide_storage::ExpungeSet;

use crate::imap::Session;

/// CLOSE: silently removes `\Deleted` messages unless read-only.
pub(crate) fn close(s: &mut Session, tag: Tag) {
    let Some(sel) = s.sel.take() else {
        return s.bad(tag, "no mailbox selected");
    };
    if !sel.read_only
        && let Some(acct) = s.account()
        && let Err(e) = acct.expunge(sel.id, ExpungeSet::AllDeleted)
    {
        return s.store_error(tag, e, "CLOSE expunge");
    }
    s.ok(tag, None, "CLOSE completed");
}

/// UNSELECT.
pub(crate) fn unselect(s: &mut Session, tag: Tag) {
    s.sel = None;
    s.ok(tag, None, "UNSELECT completed");
}

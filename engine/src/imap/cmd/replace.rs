//! REPLACE and UID REPLACE (RFC 8508): the new message is received like
//! APPEND (see `append`), then added to the destination and the replaced
//! message expunged from the selected mailbox in one storage commit
//! ([`moxide_storage::Account::replace`]): both happen at one modseq, or
//! neither does (RFC 8508 3.4: the operation is atomic).

use moxide_proto::imap::core::{Tag, UidSet};
use moxide_proto::imap::resp::{Code, Response, Status};
use moxide_storage::NewMessage;

use crate::imap::Session;

/// Commits a REPLACE whose new message (`msgs`, exactly one) was received
/// for `mailbox`: replaces `old` of the selected mailbox and answers.
pub(crate) fn commit(s: &mut Session, tag: Tag, mailbox: u32, msgs: &[NewMessage<'_>], old: u32) {
    let [msg] = msgs else {
        return s.bad(tag, "REPLACE takes exactly one message");
    };
    let (Some(acct), Some(selected)) = (s.account(), s.sel.as_ref().map(|x| x.id)) else {
        return s.bad(tag, "no mailbox selected");
    };
    let r = match acct.replace(mailbox, msg, selected, old) {
        Ok(r) => r,
        Err(e) => return s.store_error(tag, e, "REPLACE"),
    };
    // RFC 8508 3.3: APPENDUID goes in an untagged OK, before the expunge.
    s.send(Response::Status(Status::ok(
        None,
        Some(Code::AppendUid {
            uid_validity: r.added.uidvalidity,
            uids: UidSet::from_sorted([r.added.uid]),
        }),
        "replacement message added",
    )));
    let qresync = s.ext.qresync;
    if let Some(sel) = s.sel.as_mut() {
        for d in sel.remove_expunged(&r.expunged, qresync) {
            s.data(d);
        }
    }
    s.ok(tag, None, "REPLACE completed");
}

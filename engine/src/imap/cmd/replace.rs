//! REPLACE and UID REPLACE (RFC 8508): the new message is appended like
//! APPEND (see `append`), then the replaced one is expunged from the
//! selected mailbox. The two steps are separate commits: a crash between
//! them leaves both messages, never neither.

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Code, Response, Status};
use moxide_storage::ExpungeSet;

use crate::imap::Session;

/// Completes a REPLACE whose new message was added (`appenduid`): expunge
/// `old` and answer.
pub(crate) fn finish(s: &mut Session, tag: Tag, appenduid: Code, old: u32) {
    // RFC 8508 3.3: APPENDUID goes in an untagged OK.
    s.send(Response::Status(Status::ok(
        None,
        Some(appenduid),
        "replacement message added",
    )));
    let (Some(acct), Some(mb)) = (s.account(), s.sel.as_ref().map(|x| x.id)) else {
        return s.bad(tag, "no mailbox selected");
    };
    let gone = match acct.expunge(mb, ExpungeSet::Uids(&[old])) {
        Ok(g) => g,
        Err(e) => return s.store_error(tag, e, "REPLACE expunge"),
    };
    let qresync = s.ext.qresync;
    if let Some(sel) = s.sel.as_mut() {
        for d in sel.remove_expunged(&gone, qresync) {
            s.data(d);
        }
    }
    s.ok(tag, None, "REPLACE completed");
}

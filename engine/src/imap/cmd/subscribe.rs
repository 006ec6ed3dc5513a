//! SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8).

use moxide_proto::imap::core::{Mailbox, Tag};
use moxide_proto::imap::resp::Code;

use super::storage_name;
use crate::imap::Session;

/// SUBSCRIBE (`on`) or UNSUBSCRIBE a mailbox.
pub(crate) fn run(s: &mut Session, tag: Tag, m: &Mailbox, on: bool) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(name) = storage_name(m) else {
        return s.no(tag, Some(Code::NonExistent), "no such mailbox");
    };
    let what = if on { "SUBSCRIBE" } else { "UNSUBSCRIBE" };
    match acct.set_subscribed(&name, on) {
        Ok(_) => s.ok(tag, None, &format!("{what} completed")),
        Err(e) => s.store_error(tag, e, what),
    }
}

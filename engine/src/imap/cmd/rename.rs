//! RENAME (RFC 9051 6.3.6): children move along; renaming INBOX moves its
//! messages to the new mailbox and leaves INBOX empty.

use moxide_proto::imap::core::{Mailbox, Tag};
use moxide_proto::imap::resp::Code;

use super::storage_name;
use crate::imap::Session;

/// RENAME from to.
pub(crate) fn run(s: &mut Session, tag: Tag, from: &Mailbox, to: &Mailbox) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let (Some(f), Some(t)) = (storage_name(from), storage_name(to)) else {
        return s.no(tag, Some(Code::Cannot), "invalid mailbox name");
    };
    match acct.rename_mailbox(&f, &t) {
        Ok(mb) => {
            if let Some(sel) = s.sel.as_mut()
                && sel.name == f
            {
                sel.name = mb.name;
            }
            s.ok(tag, None, "RENAME completed")
        }
        Err(e) => s.store_error(tag, e, "RENAME"),
    }
}

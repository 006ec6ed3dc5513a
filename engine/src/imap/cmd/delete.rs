//! DELETE (RFC 9051 6.3.4). INBOX cannot be deleted; a mailbox with
//! children is refused with HASCHILDREN (RFC 9051 6.3.4, 7.1), as storage
//! refuses to delete it.

use moxide_proto::imap::core::{Mailbox, Tag};
use moxide_proto::imap::resp::Code;
use moxide_storage::mailbox_name;

use super::storage_name;
use crate::imap::Session;

/// DELETE name.
pub(crate) fn run(s: &mut Session, tag: Tag, m: &Mailbox) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(name) = storage_name(m) else {
        return s.no(tag, Some(Code::NonExistent), "no such mailbox");
    };
    if mailbox_name::is_inbox(&name) {
        return s.no(tag, Some(Code::Cannot), "INBOX cannot be deleted");
    }
    let all = match acct.mailboxes() {
        Ok(all) => all,
        Err(e) => return s.store_error(tag, e, "DELETE"),
    };
    let live = || all.iter().filter(|mb| !mb.deleted);
    // By id: the selected mailbox may have been renamed (with a parent)
    // since it was selected.
    let selected = s.sel.as_ref().map(|sel| sel.id);
    if live().any(|mb| mb.name == name && Some(mb.id) == selected) {
        return s.no(tag, Some(Code::InUse), "mailbox is selected");
    }
    // RFC 9051 6.3.4: "The NO response SHOULD include the HASCHILDREN
    // response code".
    if live().any(|mb| mailbox_name::is_descendant(&mb.name, &name)) {
        return s.no(tag, Some(Code::HasChildren), "mailbox has children");
    }
    match acct.delete_mailbox(&name) {
        Ok(()) => s.ok(tag, None, "DELETE completed"),
        Err(e) => s.store_error(tag, e, "DELETE"),
    }
}

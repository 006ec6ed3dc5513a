//! COPY and UID COPY (RFC 9051 6.4.7) with COPYUID (RFC 4315 3).

use moxide_proto::imap::core::{Mailbox, SequenceSet, Tag, UidSet};
use moxide_proto::imap::resp::Code;
use moxide_storage::{Account, Mailbox as StoredMailbox, StoreError};

use super::storage_name;
use crate::imap::Session;

/// The destination mailbox, `Ok(None)` when it does not exist (answer NO
/// [TRYCREATE], RFC 9051 6.4.7).
pub(crate) fn destination(
    acct: &Account,
    m: &Mailbox,
) -> Result<Option<StoredMailbox>, StoreError> {
    let Some(name) = storage_name(m) else {
        return Ok(None);
    };
    match acct.mailbox(&name) {
        Ok(mb) => Ok(Some(mb)),
        Err(StoreError::NoSuchMailbox(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The COPYUID code for (source, destination) UID pairs.
pub(crate) fn copyuid(uidvalidity: u32, pairs: &[(u32, u32)]) -> Code {
    Code::CopyUid {
        uid_validity: uidvalidity,
        source: UidSet::from_sorted(pairs.iter().map(|p| p.0)),
        dest: UidSet::from_sorted(pairs.iter().map(|p| p.1)),
    }
}

/// [UID] COPY set mailbox.
pub(crate) fn run(s: &mut Session, tag: Tag, uid: bool, set: &SequenceSet, m: &Mailbox) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(sel) = s.sel.as_ref() else {
        return s.bad(tag, "no mailbox selected");
    };
    let from = sel.id;
    let uids = match sel.resolve_uids(set, uid) {
        Ok(u) => u,
        Err(e) => return s.bad(tag, e.text()),
    };
    let dest = match destination(&acct, m) {
        Ok(Some(d)) => d,
        Ok(None) => return s.no(tag, Some(Code::TryCreate), "no such mailbox"),
        Err(e) => return s.store_error(tag, e, "COPY"),
    };
    if uids.is_empty() {
        return s.ok(tag, None, "no messages copied");
    }
    match acct.copy(from, &uids, dest.id) {
        Ok(c) if c.uids.is_empty() => s.ok(tag, None, "no messages copied"),
        Ok(c) => {
            let code = copyuid(c.uidvalidity, &c.uids);
            s.ok(tag, Some(code), "COPY completed")
        }
        Err(e) => s.store_error(tag, e, "COPY"),
    }
}

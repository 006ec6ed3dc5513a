//! STATUS (RFC 9051 6.3.11) with SIZE (RFC 8438), HIGHESTMODSEQ (RFC 7162)
//! and APPENDLIMIT (RFC 7889); also used by LIST-STATUS.

use moxide_proto::imap::core::{Mailbox, StatusAttr, Tag};
use moxide_proto::imap::resp::{Code, Data, StatusValue};
use moxide_storage::Mailbox as StoredMailbox;

use super::storage_name;
use crate::imap::Session;

/// The values of `attrs` for a mailbox.
pub(crate) fn values(s: &Session, mb: &StoredMailbox, attrs: &[StatusAttr]) -> Vec<StatusValue> {
    attrs
        .iter()
        .map(|&attr| {
            let value = match attr {
                StatusAttr::Messages => mb.counts.exists(),
                StatusAttr::UidNext => u64::from(mb.uidnext),
                StatusAttr::UidValidity => u64::from(mb.uidvalidity),
                StatusAttr::Unseen => mb.counts.unseen,
                StatusAttr::Deleted => mb.counts.deleted,
                StatusAttr::Size => mb.counts.size,
                StatusAttr::Recent => 0,
                StatusAttr::HighestModSeq => mb.modseq.max(1),
                StatusAttr::AppendLimit => s.cfg.append_limit(),
            };
            StatusValue {
                attr,
                value: Some(value),
            }
        })
        .collect()
}

/// STATUS mailbox (attrs). The response names the mailbox as the client
/// spelled it (INBOX in any case is `INBOX`, RFC 9051 5.1), as Dovecot
/// does, so a client matches it to its command byte for byte; RFC 9051
/// 6.3.11 gives no rule (its example echoes the argument). mox answers
/// its stored name instead.
pub(crate) fn run(s: &mut Session, tag: Tag, m: &Mailbox, attrs: &[StatusAttr]) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(name) = storage_name(m) else {
        return s.no(tag, Some(Code::NonExistent), "no such mailbox");
    };
    if attrs.contains(&StatusAttr::HighestModSeq) {
        s.ext.condstore = true;
    }
    match acct.mailbox(&name) {
        Ok(mb) => {
            let items = values(s, &mb, attrs);
            s.data(Data::Status {
                mailbox: m.clone(),
                items,
            });
            s.ok(tag, None, "STATUS completed");
        }
        Err(e) => s.store_error(tag, e, "STATUS"),
    }
}

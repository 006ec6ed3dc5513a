//! Streaming reads of a mailbox's message records in UID order, for
//! answers too large to build in memory (FETCH 1:*): a visitor sees one
//! record at a time and stops the scan when it has enough. The flags-only
//! scan reads the flags index (`crate::flags_index`), not the records.

use std::ops::{ControlFlow, RangeInclusive};

use serde::Deserialize;

use crate::account::Account;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::records::{self, Flags, Message};

/// The flags of one message record (UID FETCH … (FLAGS), SELECT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagsView<'a> {
    /// UID in the mailbox.
    pub uid: u32,
    /// Modseq of the last change.
    pub modseq: u64,
    /// Tombstone marker.
    pub expunged: bool,
    /// System flags.
    pub flags: Flags,
    /// Keywords, lower case, sorted.
    pub keywords: Vec<&'a str>,
}

/// The leading fields of a [`Message`] record, in its field order: postcard
/// decodes them and leaves the rest of the bytes unread.
#[derive(Deserialize)]
pub(crate) struct FlagsHead<'a> {
    _msg_id: u64,
    modseq: u64,
    _createseq: u64,
    expunged: bool,
    flags: Flags,
    #[serde(borrow)]
    keywords: Vec<&'a str>,
}

impl<'a> FlagsHead<'a> {
    /// The flags of the record of `uid`.
    pub(crate) fn view(self, uid: u32) -> FlagsView<'a> {
        FlagsView {
            uid,
            modseq: self.modseq,
            expunged: self.expunged,
            flags: self.flags,
            keywords: self.keywords,
        }
    }
}

impl Account {
    /// Visits the message records (tombstones included) with UIDs in
    /// `uids`, ascending, until `f` breaks.
    pub fn scan_records(
        &self,
        mailbox: u32,
        uids: RangeInclusive<u32>,
        mut f: impl FnMut(Message) -> ControlFlow<()>,
    ) -> Result<()> {
        let a = self.shared.id;
        let lo = keys::msg(a, mailbox, *uids.start());
        let hi = keys::msg(a, mailbox, *uids.end());
        for kv in self.store.ks.msgs.range(lo..=hi) {
            let (k, v) = kv.into_inner()?;
            let uid = keys::be_u32(&k, 8).ok_or_else(|| StoreError::corrupt("message key"))?;
            let mut m: Message = records::decode(&v, || {
                format!("message record mailbox #{mailbox} uid {uid}")
            })?;
            m.mailbox = mailbox;
            m.uid = uid;
            if f(m).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Visits the flags of the message records (tombstones included) with
    /// UIDs in `uids`, ascending, until `f` breaks. They come from the
    /// flags index, which mirrors the records exactly.
    pub fn scan_flags(
        &self,
        mailbox: u32,
        uids: RangeInclusive<u32>,
        f: impl FnMut(FlagsView<'_>) -> ControlFlow<()>,
    ) -> Result<()> {
        self.scan_flags_index(mailbox, uids, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewAccount, NewMessage, Store, StoreConfig};

    #[test]
    fn flags_view_matches_the_full_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let acct = store.create_account("a", NewAccount::default()).unwrap();
        let inbox = acct.mailbox("INBOX").unwrap();
        for (i, kw) in [
            vec![],
            vec!["$Junk".to_string(), "work".to_string()],
            vec![],
        ]
        .into_iter()
        .enumerate()
        {
            let data = format!("Subject: {i}\r\n\r\nx\r\n");
            acct.deliver(
                inbox.id,
                &NewMessage {
                    data: data.as_bytes(),
                    flags: if i == 1 { Flags::SEEN } else { Flags::NONE },
                    keywords: kw,
                    received: 5,
                    saved: 7,
                    ..Default::default()
                },
            )
            .unwrap();
        }
        acct.expunge(inbox.id, crate::ExpungeSet::Uids(&[3]))
            .unwrap();
        let full = acct.records_in(inbox.id, 1..=u32::MAX).unwrap();
        let mut got = Vec::new();
        acct.scan_flags(inbox.id, 1..=u32::MAX, |v| {
            got.push((v.uid, v.modseq, v.expunged, v.flags, v.keywords.join(" ")));
            ControlFlow::Continue(())
        })
        .unwrap();
        let want: Vec<_> = full
            .iter()
            .map(|m| (m.uid, m.modseq, m.expunged, m.flags, m.keywords.join(" ")))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got[1], (2, 4, false, Flags::SEEN, "$junk work".to_string()));
        assert!(got[2].2);
        // Breaking stops the scan; the range bounds it.
        let mut uids = Vec::new();
        acct.scan_records(inbox.id, 2..=3, |m| {
            uids.push(m.uid);
            ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(uids, vec![2]);
    }
}

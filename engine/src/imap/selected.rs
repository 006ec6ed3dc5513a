//! The selected mailbox: the UID ↔ sequence number mapping the client
//! knows, and the untagged updates that bring it up to date with changes
//! committed by any session (RFC 9051 5.2, 7.4.1, 7.5.1; RFC 7162 3.2.10
//! VANISHED).

use moxide_proto::imap::core::seq::SequenceSet;
use moxide_proto::imap::core::{Flag, UidSet};
use moxide_proto::imap::resp::{Data, FetchItem};
use moxide_storage::Change;

use super::Session;
use super::convert;
use super::uid_runs::UidRuns;

/// State of the selected mailbox.
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    /// Mailbox id in storage.
    pub(crate) id: u32,
    /// Normalised storage name.
    pub(crate) name: String,
    /// EXAMINE, or SELECT of a mailbox that cannot be written.
    pub(crate) read_only: bool,
    /// UIDs the client knows, ascending; sequence number = index + 1.
    /// Run-length encoded: a mailbox with contiguous UIDs costs a few bytes.
    pub(crate) uids: UidRuns,
    /// Keywords of the mailbox as last announced in FLAGS.
    pub(crate) keywords: Vec<String>,
    /// The result of the last `SEARCH RETURN (SAVE)` as UIDs; empty after
    /// SELECT (RFC 5182 2.1, RFC 9051 6.4.4.1).
    pub(crate) saved: Vec<u32>,
}

/// Why a sequence set could not be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetError {
    /// A sequence number above the number of messages (RFC 9051 9).
    BadSeq,
}

impl SetError {
    /// Text of the BAD response.
    pub(crate) fn text(self) -> &'static str {
        match self {
            SetError::BadSeq => "invalid message sequence number",
        }
    }
}

impl Selected {
    /// Sequence number of a UID the client knows.
    pub(crate) fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids
            .position(uid)
            .and_then(|i| u32::try_from(i + 1).ok())
    }

    /// Number of messages the client knows.
    pub(crate) fn exists(&self) -> u32 {
        u32::try_from(self.uids.len()).unwrap_or(u32::MAX)
    }

    /// Resolves a sequence set (`uid`: of UIDs) to indexes into `uids`,
    /// ascending without duplicates. UIDs not in the mailbox are skipped
    /// (RFC 9051 6.4.9); sequence numbers above the count are an error.
    pub(crate) fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, SetError> {
        let ranges = match set {
            SequenceSet::LastResult => {
                let mut v: Vec<usize> = self
                    .saved
                    .iter()
                    .filter_map(|&u| self.uids.position(u))
                    .collect();
                v.sort_unstable();
                v.dedup();
                return Ok(v);
            }
            SequenceSet::Ranges(r) => r,
        };
        let mut out = Vec::new();
        if uid {
            let largest = self.uids.last().unwrap_or(0);
            for r in ranges {
                let (lo, hi) = r.bounds(largest);
                let start = self.uids.rank(lo);
                let end = self.uids.count_le(hi);
                out.extend(start..end);
            }
        } else {
            let largest = self.exists();
            for r in ranges {
                let (lo, hi) = r.bounds(largest);
                if lo == 0 || hi > largest {
                    return Err(SetError::BadSeq);
                }
                out.extend((lo as usize - 1)..(hi as usize));
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Resolves a set to UIDs (see [`Selected::resolve`]).
    pub(crate) fn resolve_uids(&self, set: &SequenceSet, uid: bool) -> Result<Vec<u32>, SetError> {
        Ok(self
            .resolve(set, uid)?
            .into_iter()
            .filter_map(|i| self.uids.get(i))
            .collect())
    }

    /// Removes UIDs expunged by this session and returns the responses
    /// announcing it: `n EXPUNGE` each, or one `VANISHED` with QRESYNC.
    pub(crate) fn remove_expunged(&mut self, uids: &[u32], qresync: bool) -> Vec<Data> {
        let gone = self.uids.remove(uids);
        if gone.is_empty() {
            return Vec::new();
        }
        if qresync {
            return vec![Data::Vanished {
                earlier: false,
                uids: UidSet::from_sorted(gone.into_iter().map(|g| g.0)),
            }];
        }
        // Removed in ascending order: each earlier removal moved the later
        // ones down by one (RFC 9051 7.5.1).
        gone.iter()
            .enumerate()
            .map(|(k, &(_, idx))| Data::Expunge(u32::try_from(idx - k + 1).unwrap_or(u32::MAX)))
            .collect()
    }
}

impl Session {
    /// Sends the untagged updates for changes committed since the last
    /// call (RFC 9051 7.4.1 EXISTS, 7.5.1 EXPUNGE, 7.5.2 FETCH FLAGS).
    /// Nothing is sent while the command in progress forbids expunges;
    /// the changes then wait in the feed.
    pub(crate) fn flush_updates(&mut self) {
        if (!self.expunge_ok && self.idle.is_none()) || self.fetch.is_some() {
            return;
        }
        let Some(user) = self.user.as_mut() else {
            return;
        };
        let changes = user.reader.poll();
        let own = std::mem::take(&mut self.own_modseqs);
        let Some(sel) = self.sel.as_mut() else {
            return;
        };
        if changes.is_empty() {
            return;
        }
        let qresync = self.ext.qresync;
        let condstore = self.ext.condstore;
        let mut announced = sel.uids.len();
        let mut out = Vec::new();
        for ch in changes {
            match ch {
                Change::MessageAdded { mailbox, uid, .. } if mailbox == sel.id => {
                    // Already known (read at SELECT) when not above the last.
                    sel.uids.push(uid);
                }
                Change::Expunged { mailbox, uids, .. } if mailbox == sel.id => {
                    let mut gone = Vec::new();
                    // Ascending by UID: the k-th removal finds the set k
                    // shorter below it.
                    for (k, (uid, old)) in sel.uids.remove(&uids).into_iter().enumerate() {
                        let idx = old - k;
                        if idx >= announced {
                            // Added and removed before the client heard of it.
                            continue;
                        }
                        announced -= 1;
                        if qresync {
                            gone.push(uid);
                        } else {
                            out.push(Data::Expunge(u32::try_from(idx + 1).unwrap_or(u32::MAX)));
                        }
                    }
                    if !gone.is_empty() {
                        out.push(Data::Vanished {
                            earlier: false,
                            uids: UidSet::from_sorted(gone),
                        });
                    }
                }
                Change::FlagsChanged {
                    mailbox,
                    uid,
                    modseq,
                    flags,
                    keywords,
                } if mailbox == sel.id => {
                    if own.contains(&modseq) {
                        continue;
                    }
                    let Some(idx) = sel.uids.position(uid) else {
                        continue;
                    };
                    if idx >= announced {
                        announced = sel.uids.len();
                        out.push(Data::Exists(u32::try_from(announced).unwrap_or(u32::MAX)));
                    }
                    let mut items = vec![
                        FetchItem::Uid(uid),
                        FetchItem::Flags(convert::flag_fetch(flags, &keywords)),
                    ];
                    if condstore {
                        items.push(FetchItem::ModSeq(modseq));
                    }
                    out.push(Data::Fetch {
                        seq: u32::try_from(idx + 1).unwrap_or(u32::MAX),
                        items,
                    });
                }
                Change::MailboxRenamed { mailbox, new, .. } if mailbox == sel.id => {
                    sel.name = new;
                }
                Change::MailboxKeywords { mailbox, keywords }
                    if mailbox == sel.id && keywords != sel.keywords =>
                {
                    sel.keywords = keywords;
                    out.push(Data::Flags(convert::mailbox_flags(&sel.keywords)));
                }
                _ => {}
            }
        }
        if sel.uids.len() != announced {
            out.push(Data::Exists(sel.exists()));
        }
        for d in out {
            self.data(d);
        }
    }
}

/// The system flags every mailbox allows.
pub(crate) fn system_flags() -> Vec<Flag> {
    vec![
        Flag::Seen,
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Draft,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use moxide_proto::imap::core::seq::sequence_set;

    fn sel(uids: Vec<u32>) -> Selected {
        Selected {
            id: 1,
            name: "Inbox".into(),
            read_only: false,
            uids: UidRuns::from_sorted(&uids),
            keywords: Vec::new(),
            saved: Vec::new(),
        }
    }

    fn set(s: &str) -> SequenceSet {
        let input = format!("{s} ");
        sequence_set(input.as_bytes()).unwrap().1
    }

    #[test]
    fn resolve_sets() {
        let s = sel(vec![3, 5, 9, 10]);
        assert_eq!(s.resolve(&set("1:*"), false), Ok(vec![0, 1, 2, 3]));
        assert_eq!(s.resolve(&set("4,2"), false), Ok(vec![1, 3]));
        assert_eq!(s.resolve(&set("5"), false), Err(SetError::BadSeq));
        assert_eq!(s.resolve_uids(&set("4:9"), true), Ok(vec![5, 9]));
        assert_eq!(s.resolve_uids(&set("20:*"), true), Ok(vec![10]));
        assert_eq!(s.resolve_uids(&set("11"), true), Ok(vec![]));
        assert_eq!(s.resolve(&SequenceSet::LastResult, true), Ok(vec![]));
        let e = sel(vec![]);
        assert_eq!(e.resolve(&set("1:*"), false), Err(SetError::BadSeq));
        assert_eq!(e.resolve(&set("1:*"), true), Ok(vec![]));
    }

    #[test]
    fn expunge_numbers_follow_removals() {
        let mut s = sel(vec![3, 5, 9, 10]);
        let out = s.remove_expunged(&[5, 10], false);
        assert_eq!(out, vec![Data::Expunge(2), Data::Expunge(3)]);
        assert_eq!(s.uids.iter().collect::<Vec<_>>(), vec![3, 9]);
        let out = s.remove_expunged(&[3, 9], true);
        assert_eq!(
            out,
            vec![Data::Vanished {
                earlier: false,
                uids: UidSet(vec![(3, 3), (9, 9)])
            }]
        );
    }
}

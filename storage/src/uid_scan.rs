//! What SELECT needs of a mailbox's message records, read from the flags
//! index (`crate::flags_index`) rather than the records: the live UIDs as
//! runs of consecutive UIDs, and the first message without `\Seen`
//! (RFC 3501 7.1 `[UNSEEN n]`). When the mailbox's counts say that every
//! UID below UIDNEXT is live (no expunge ever happened), the runs are known
//! without reading anything.

use std::ops::ControlFlow;

use crate::account::Account;
use crate::error::Result;
use crate::records::{Flags, Mailbox};

/// Appends `uid` (above every UID already in `runs`) to ascending,
/// non-adjacent inclusive runs.
fn push_run(runs: &mut Vec<(u32, u32)>, uid: u32) {
    match runs.last_mut() {
        Some(last) if last.1.checked_add(1) == Some(uid) => last.1 = uid,
        _ => runs.push((uid, uid)),
    }
}

impl Account {
    /// The live UIDs of `mb` as ascending, inclusive, non-adjacent runs
    /// (`[(1, 50000)]` for a mailbox that never lost a message). `mb` is
    /// the mailbox as just read with [`Account::mailbox`]: when its counts
    /// cover every UID below its UIDNEXT (UIDs are unique and below
    /// UIDNEXT, so then each one is live), no record is read; otherwise
    /// the flags index is scanned.
    pub fn uid_runs(&self, mb: &Mailbox) -> Result<Vec<(u32, u32)>> {
        let live = mb.counts.total.saturating_add(mb.counts.deleted);
        let below_next = u64::from(mb.uidnext.saturating_sub(1));
        if live == below_next {
            return Ok(if live == 0 {
                Vec::new()
            } else {
                vec![(1, mb.uidnext - 1)]
            });
        }
        let mut runs = Vec::new();
        self.scan_flags_index(mb.id, 0..=u32::MAX, |v| {
            if !v.expunged {
                push_run(&mut runs, v.uid);
            }
            ControlFlow::Continue(())
        })?;
        runs.shrink_to_fit();
        Ok(runs)
    }

    /// UID of the first live message of `mb` without `\Seen`, if any. No
    /// scan when the counts say every message is seen; otherwise the scan
    /// of the flags index stops at the first match.
    pub fn first_unseen(&self, mb: &Mailbox) -> Result<Option<u32>> {
        if mb.counts.unseen == 0 {
            return Ok(None);
        }
        let mut found = None;
        self.scan_flags_index(mb.id, 0..=u32::MAX, |v| {
            if !v.expunged && !v.flags.contains(Flags::SEEN) {
                found = Some(v.uid);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{self, Message};
    use crate::{ExpungeSet, FlagOp, NewAccount, NewMessage, Store, StoreConfig};

    fn account() -> (tempfile::TempDir, Account) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let a = s
            .create_account(
                "mjl",
                NewAccount {
                    addresses: vec!["mjl@example.org".into()],
                    password: None,
                    ..NewAccount::default()
                },
            )
            .unwrap();
        (dir, a)
    }

    fn add(a: &Account, mb: u32, n: u32, flags: Flags) {
        let data: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("Subject: {i}\r\n\r\nbody {i}\r\n").into_bytes())
            .collect();
        let msgs: Vec<NewMessage<'_>> = data
            .iter()
            .map(|d| NewMessage {
                data: d,
                prefix: Vec::new(),
                flags,
                keywords: Vec::new(),
                received: 1_700_000_000,
                received_tz: 0,
                saved: 1_700_000_000,
            })
            .collect();
        a.import(mb, &msgs).unwrap();
    }

    /// The record head the flags index upgrade decodes.
    #[test]
    fn record_head_matches_full_decode() {
        let m = Message {
            msg_id: 300_000_000_000,
            modseq: 129,
            createseq: 1,
            expunged: true,
            flags: Flags::SEEN.with(Flags::DRAFT),
            keywords: vec!["$junk".into()],
            received: -5,
            received_tz: -60,
            saved: 9,
            size: 70_000,
            ..Message::default()
        };
        let head = |v: &[u8]| {
            records::decode::<crate::scan::FlagsHead<'_>>(v, || "m".into()).map(|h| {
                let v = h.view(4);
                (v.uid, v.modseq, v.expunged, v.flags, v.keywords.join(" "))
            })
        };
        let v = records::encode(&m).unwrap();
        assert_eq!(
            head(&v).unwrap(),
            (4, 129, true, Flags(17), "$junk".to_string())
        );
        let m = Message {
            expunged: false,
            flags: Flags::NONE,
            keywords: vec![],
            ..m
        };
        let v = records::encode(&m).unwrap();
        assert_eq!(head(&v).unwrap(), (4, 129, false, Flags(0), String::new()));
        assert!(head(&v[..3]).is_err());
    }

    #[test]
    fn runs_and_first_unseen() {
        let (_d, a) = account();
        let inbox = a.mailbox("Inbox").unwrap();
        assert_eq!(a.uid_runs(&inbox).unwrap(), Vec::<(u32, u32)>::new());
        assert_eq!(a.first_unseen(&inbox).unwrap(), None);
        add(&a, inbox.id, 6, Flags::SEEN);
        add(&a, inbox.id, 4, Flags::NONE);
        let mb = a.mailbox("Inbox").unwrap();
        // Every UID below UIDNEXT is live: the shortcut.
        assert_eq!(a.uid_runs(&mb).unwrap(), vec![(1, 10)]);
        assert_eq!(a.first_unseen(&mb).unwrap(), Some(7));
        // Expunge 2, 3 and 7 (the first unseen) and 10: scanned.
        a.store_flags(
            mb.id,
            &[2, 3, 7, 10],
            FlagOp::Add,
            Flags::DELETED,
            &[],
            None,
        )
        .unwrap();
        assert_eq!(
            a.expunge(mb.id, ExpungeSet::AllDeleted).unwrap(),
            vec![2, 3, 7, 10]
        );
        let mb = a.mailbox("Inbox").unwrap();
        assert_eq!(a.uid_runs(&mb).unwrap(), vec![(1, 1), (4, 6), (8, 9)]);
        assert_eq!(a.first_unseen(&mb).unwrap(), Some(8));
        // All seen: no scan, no answer.
        a.store_flags(mb.id, &[8, 9], FlagOp::Add, Flags::SEEN, &[], None)
            .unwrap();
        let mb = a.mailbox("Inbox").unwrap();
        assert_eq!(a.first_unseen(&mb).unwrap(), None);
        // The same as the full decode.
        assert_eq!(a.uids(mb.id).unwrap(), vec![1, 4, 5, 6, 8, 9]);
    }

    #[test]
    fn push_run_merges_adjacent_only() {
        let mut r = Vec::new();
        for u in [1, 2, 3, 5, 7, 8, u32::MAX] {
            push_run(&mut r, u);
        }
        assert_eq!(r, vec![(1, 3), (5, 5), (7, 8), (u32::MAX, u32::MAX)]);
    }
}

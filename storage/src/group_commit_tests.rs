//! Tests of the group commit: concurrent deliveries stored exactly once,
//! one commit for a batch, member refusals, shared failures.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::{Account, Added, NewAccount, NewMessage, SpecialUse, Store, StoreConfig, StoreError};

fn store_with(quota: i64) -> (tempfile::TempDir, Store, Account) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let acct = store
        .create_account(
            "a",
            NewAccount {
                addresses: vec!["a@example.org".into()],
                quota,
                ..NewAccount::default()
            },
        )
        .unwrap();
    (dir, store, acct)
}

fn message(tag: &str, body_len: usize) -> Vec<u8> {
    let mut m = format!("Message-ID: <{tag}@example.org>\r\nSubject: {tag}\r\n\r\n").into_bytes();
    m.extend(std::iter::repeat_n(b'x', body_len));
    m.extend_from_slice(b"\r\n");
    m
}

fn new<'a>(data: &'a [u8], prefix: &str) -> NewMessage<'a> {
    NewMessage {
        data,
        prefix: prefix.as_bytes().to_vec(),
        received: 1_700_000_000,
        saved: 1_700_000_000,
        ..Default::default()
    }
}

/// Waits until the account's queue holds `n` messages.
fn wait_pending(acct: &Account, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while crate::store::lock(&acct.shared.group.state).pending.len() != n {
        assert!(
            Instant::now() < deadline,
            "queue never reached {n} messages"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Delivers `msgs` (mailbox, data) as one batch: the test holds the
/// writer lock while the first caller (the leader) waits for it and the
/// others queue in order; `before_release` runs with the lock held.
fn one_batch(
    acct: &Account,
    msgs: Vec<(u32, Vec<u8>)>,
    before_release: impl FnOnce(&crate::records::AccountState),
) -> Vec<Result<Added, StoreError>> {
    let guard = crate::store::lock(&acct.shared.write);
    let mut handles = Vec::new();
    for (i, (mb, data)) in msgs.into_iter().enumerate() {
        let a = acct.clone();
        handles.push(std::thread::spawn(move || {
            a.deliver_grouped(mb, &new(&data, &format!("X-N: {i}\r\n")))
        }));
        wait_pending(acct, i + 1);
    }
    before_release(&guard);
    drop(guard);
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// 8 threads deliver 25 messages each, to two mailboxes: every message is
/// stored exactly once with the UID, modseq and size its caller got back;
/// UIDs are dense, counts, UIDNEXT, disk usage and the highest modseq add
/// up, and the consistency check finds nothing.
#[test]
fn concurrent_deliveries_are_stored_exactly_once() {
    let (_dir, store, acct) = store_with(0);
    let inbox = acct.mailbox("Inbox").unwrap().id;
    let other = acct.create_mailbox("Other", SpecialUse::NONE).unwrap().id;
    let (threads, per_thread) = (8, 25);
    let results: Vec<(u32, Vec<u8>, Added)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let acct = &acct;
                s.spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            let mb = if (t + i) % 3 == 0 { other } else { inbox };
                            let data = message(&format!("t{t}-{i}"), 100 + i);
                            let added =
                                acct.deliver_grouped(mb, &new(&data, "X-P: 1\r\n")).unwrap();
                            (mb, data, added)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), threads * per_thread);
    let mut total_size = 0u64;
    for mb in [inbox, other] {
        let mine: BTreeMap<u32, (&Vec<u8>, &Added)> = results
            .iter()
            .filter(|(m, _, _)| *m == mb)
            .map(|(_, d, a)| (a.uid, (d, a)))
            .collect();
        let n = results.iter().filter(|(m, _, _)| *m == mb).count();
        // No UID handed out twice, and the stored UIDs are 1..=n.
        assert_eq!(mine.len(), n);
        let stored = acct.messages_in(mb, 1..=u32::MAX).unwrap();
        assert_eq!(
            stored.iter().map(|m| m.uid).collect::<Vec<_>>(),
            (1..=n as u32).collect::<Vec<_>>()
        );
        let mut last_modseq = 0;
        for m in &stored {
            let (data, added) = mine[&m.uid];
            assert_eq!(m.modseq, added.modseq);
            // A later UID never has an earlier commit.
            assert!(m.modseq >= last_modseq);
            last_modseq = m.modseq;
            let mut want = b"X-P: 1\r\n".to_vec();
            want.extend_from_slice(data);
            assert_eq!(acct.read_message(m).unwrap(), want);
            assert_eq!(m.size, want.len() as u64);
            total_size += m.size;
        }
        let mailbox = acct.mailbox_by_id(mb).unwrap();
        assert_eq!(mailbox.uidnext, n as u32 + 1);
        assert_eq!(mailbox.counts.total, n as u64);
        assert_eq!(mailbox.modseq, last_modseq);
    }
    let max = results.iter().map(|(_, _, a)| a.modseq).max().unwrap();
    assert_eq!(acct.highest_modseq(), max);
    assert_eq!(acct.quota().unwrap().usage, total_size);
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
}

/// Messages queued while the leader waits for the writer lock are stored
/// by its one commit: one modseq, UIDs in arrival order.
#[test]
fn a_batch_is_one_commit() {
    let (_dir, store, acct) = store_with(0);
    let inbox = acct.mailbox("Inbox").unwrap().id;
    let before = acct.highest_modseq();
    let msgs: Vec<_> = (0..3)
        .map(|i| (inbox, message(&format!("m{i}"), 10)))
        .collect();
    let r = one_batch(&acct, msgs.clone(), |_| {});
    let added: Vec<Added> = r.into_iter().map(Result::unwrap).collect();
    let uv = acct.mailbox("Inbox").unwrap().uidvalidity;
    let m = before + 1;
    assert_eq!(
        added,
        (1..=3)
            .map(|uid| Added {
                uidvalidity: uv,
                uid,
                modseq: m
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(acct.highest_modseq(), m);
    for (i, stored) in acct.messages_in(inbox, 1..=3).unwrap().iter().enumerate() {
        let mut want = format!("X-N: {i}\r\n").into_bytes();
        want.extend_from_slice(&msgs[i].1);
        assert_eq!(acct.read_message(stored).unwrap(), want);
    }
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
}

/// A file write that fails for one member fails the whole batch: every
/// member gets the error, no record, file, UID or usage of the batch
/// remains, and the next delivery gets UID 1.
#[test]
fn a_shared_failure_fails_every_member_and_stores_nothing() {
    let (dir, store, acct) = store_with(0);
    let inbox = acct.mailbox("Inbox").unwrap().id;
    let msgs: Vec<_> = (0..3)
        .map(|i| (inbox, message(&format!("m{i}"), 10)))
        .collect();
    let root = dir.path().to_path_buf();
    let id = acct.shared.id;
    let mut first = 0;
    let mut blocker = std::path::PathBuf::new();
    let r = one_batch(&acct, msgs, |state| {
        first = state.next_msg_id;
        // The second member's file cannot be created: a directory is there.
        blocker = crate::files::msg_path(&root, id, first + 1);
        std::fs::create_dir_all(&blocker).unwrap();
    });
    for res in &r {
        match res {
            Err(StoreError::Io {
                op: "create", path, ..
            }) => assert_eq!(path, &blocker),
            other => panic!("want the create error for every member, got {other:?}"),
        }
    }
    assert!(acct.messages_in(inbox, 1..=u32::MAX).unwrap().is_empty());
    assert!(!crate::files::msg_path(&root, id, first).exists());
    assert!(!crate::files::msg_path(&root, id, first + 2).exists());
    assert_eq!(acct.quota().unwrap().usage, 0);
    std::fs::remove_dir(&blocker).unwrap();
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
    let data = message("after", 10);
    let added = acct.deliver_grouped(inbox, &new(&data, "")).unwrap();
    assert_eq!(added.uid, 1);
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
}

/// A member over quota (counting the members before it) or for a missing
/// mailbox is refused alone; the others of the batch are stored.
#[test]
fn a_member_refusal_fails_only_that_member() {
    let a = message("a", 100);
    let big = message("big", 300);
    let c = message("c", 50);
    let limit = (a.len() + c.len() + 20) as i64;
    let (_dir, store, acct) = store_with(limit);
    let inbox = acct.mailbox("Inbox").unwrap().id;
    let msgs = vec![
        (inbox, a.clone()),
        (inbox, big.clone()),
        (999, c.clone()),
        (inbox, c.clone()),
    ];
    let r = one_batch(&acct, msgs, |_| {});
    let a_size = a.len() as u64 + "X-N: 0\r\n".len() as u64;
    let big_size = big.len() as u64 + "X-N: 1\r\n".len() as u64;
    let c_size = c.len() as u64 + "X-N: 3\r\n".len() as u64;
    match &r[1] {
        Err(StoreError::OverQuota {
            limit: l,
            usage,
            needed,
        }) => {
            assert_eq!((*l, *usage, *needed), (limit as u64, a_size, big_size));
        }
        other => panic!("want over quota, got {other:?}"),
    }
    assert!(matches!(&r[2], Err(StoreError::NoSuchMailbox(n)) if n == "#999"));
    let (ra, rc) = (r[0].as_ref().unwrap(), r[3].as_ref().unwrap());
    assert_eq!((ra.uid, rc.uid), (1, 2));
    assert_eq!(ra.modseq, rc.modseq);
    assert_eq!(acct.quota().unwrap().usage, a_size + c_size);
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
}

//! Unit tests of message operations: deliver/read, tombstones, flags with
//! UNCHANGEDSINCE, copy/move, the changes feed and delayed erasure, import,
//! reopen, and damage reports.

mod common;

use common::{account, assert_consistent, msg, new_msg};
use moxide_storage::{
    Change, ExpungeSet, FlagOp, Flags, NewAccount, NewMessage, SpecialUse, Store, StoreConfig,
    StoreError,
};

#[test]
fn deliver_and_read_back() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("INBOX").unwrap();
    let data = msg(1);
    let mut nm = new_msg(&data);
    nm.prefix = b"Received: from x\r\n".to_vec();
    let added = a.deliver(inbox.id, &nm).unwrap();
    assert_eq!((added.uidvalidity, added.uid, added.modseq), (1, 1, 3));
    let m = a.message(inbox.id, 1).unwrap();
    assert_eq!(m.size, (data.len() + 18) as u64);
    assert_eq!(
        (m.received, m.received_tz, m.saved),
        (1_700_000_000, 60, 1_700_000_001)
    );
    let full = a.read_message(&m).unwrap();
    let mut want = b"Received: from x\r\n".to_vec();
    want.extend_from_slice(&data);
    assert_eq!(full, want);
    // Ranges across the prefix/file boundary and past the end.
    assert_eq!(a.read_range(&m, 10, 20).unwrap(), want[10..30].to_vec());
    assert_eq!(
        a.read_range(&m, m.size - 3, 100).unwrap(),
        want[want.len() - 3..].to_vec()
    );
    assert_eq!(a.read_range(&m, m.size + 5, 10).unwrap(), Vec::<u8>::new());
    let st = a.structure(&m).unwrap();
    assert_eq!(st.message_id(), Some("m1@example.org"));
    assert_eq!(
        a.by_message_id("<m1@example.org>").unwrap(),
        vec![(inbox.id, 1)]
    );
    let mb = a.mailbox_by_id(inbox.id).unwrap();
    assert_eq!(
        (
            mb.counts.total,
            mb.counts.unseen,
            mb.counts.unread,
            mb.counts.size
        ),
        (1, 1, 1, m.size)
    );
    assert_eq!(mb.uidnext, 2);
    assert_eq!(a.quota().unwrap().usage, m.size);
    assert_consistent(&s);
}

#[test]
fn expunge_leaves_tombstones_for_qresync() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    for n in 1..=4 {
        let d = msg(n);
        a.deliver(inbox, &new_msg(&d)).unwrap();
    }
    let after_add = a.highest_modseq();
    let st = a
        .store_flags(inbox, &[2, 3, 99], FlagOp::Add, Flags::DELETED, &[], None)
        .unwrap();
    assert_eq!(
        st.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![2, 3]
    );
    // UID EXPUNGE only removes \Deleted messages in the set.
    assert_eq!(
        a.expunge(inbox, ExpungeSet::DeletedIn(&[1, 2])).unwrap(),
        vec![2]
    );
    assert_eq!(a.expunge(inbox, ExpungeSet::AllDeleted).unwrap(), vec![3]);
    assert_eq!(a.uids(inbox).unwrap(), vec![1, 4]);
    assert_eq!(a.vanished_since(inbox, after_add).unwrap(), vec![2, 3]);
    assert_eq!(
        a.vanished_since(inbox, a.highest_modseq()).unwrap(),
        Vec::<u32>::new()
    );
    let changed: Vec<u32> = a
        .changed_since(inbox, after_add)
        .unwrap()
        .iter()
        .map(|m| m.uid)
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    // Tombstones keep uid and modseq; uidnext is not reused.
    let recs = a.records_in(inbox, 1..=10).unwrap();
    assert_eq!(
        recs.iter().map(|m| (m.uid, m.expunged)).collect::<Vec<_>>(),
        vec![(1, false), (2, true), (3, true), (4, false)]
    );
    assert!(matches!(
        a.message(inbox, 2),
        Err(StoreError::NoSuchMessage { uid: 2, .. })
    ));
    let d = msg(5);
    assert_eq!(a.deliver(inbox, &new_msg(&d)).unwrap().uid, 5);
    assert!(a.by_message_id("m2@example.org").unwrap().is_empty());
    assert_consistent(&s);
}

#[test]
fn flags_with_unchangedsince_report_modified() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    for n in 1..=3 {
        let d = msg(n);
        a.deliver(inbox, &new_msg(&d)).unwrap();
    }
    let base = a.highest_modseq();
    a.store_flags(inbox, &[2], FlagOp::Add, Flags::FLAGGED, &[], None)
        .unwrap();
    let out = a
        .store_flags(
            inbox,
            &[1, 2, 3],
            FlagOp::Add,
            Flags::SEEN,
            &["$Junk".to_string()],
            Some(base),
        )
        .unwrap();
    assert_eq!(out.modified, vec![2]);
    assert_eq!(
        out.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![1, 3]
    );
    let m1 = a.message(inbox, 1).unwrap();
    assert_eq!(
        (m1.flags, m1.keywords.clone(), m1.modseq),
        (Flags::SEEN, vec!["$junk".to_string()], out.modseq)
    );
    assert_eq!(
        a.mailbox_by_id(inbox).unwrap().keywords,
        vec!["$junk".to_string()]
    );
    // No change, no new modseq.
    let again = a
        .store_flags(inbox, &[1], FlagOp::Add, Flags::SEEN, &[], None)
        .unwrap();
    assert!(again.changed.is_empty());
    assert_eq!(a.message(inbox, 1).unwrap().modseq, out.modseq);
    let mb = a.mailbox_by_id(inbox).unwrap();
    assert_eq!((mb.counts.unseen, mb.counts.unread), (1, 1));
    assert!(matches!(
        a.store_flags(
            inbox,
            &[1],
            FlagOp::Add,
            Flags::NONE,
            &["a b".to_string()],
            None
        ),
        Err(StoreError::InvalidKeyword {
            reason: "not an atom",
            ..
        })
    ));
    assert_eq!(
        a.changed_since(inbox, base)
            .unwrap()
            .iter()
            .map(|m| m.uid)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_consistent(&s);
}

#[test]
fn copy_and_move() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    let arch = a.create_mailbox("Archive", SpecialUse::ARCHIVE).unwrap();
    for n in 1..=3 {
        let d = msg(n);
        a.deliver(inbox, &new_msg(&d)).unwrap();
    }
    let c = a.copy(inbox, &[3, 1, 42], arch.id).unwrap();
    assert_eq!(
        (c.uidvalidity, c.uids.clone()),
        (arch.uidvalidity, vec![(1, 1), (3, 2)])
    );
    let usage = a.quota().unwrap().usage;
    let m = a.move_messages(inbox, &[2, 3], arch.id).unwrap();
    assert_eq!(m.uids, vec![(2, 3), (3, 4)]);
    assert_eq!(a.quota().unwrap().usage, usage);
    assert_eq!(a.uids(inbox).unwrap(), vec![1]);
    assert_eq!(a.uids(arch.id).unwrap(), vec![1, 2, 3, 4]);
    let moved = a.message(arch.id, 3).unwrap();
    assert_eq!(a.read_message(&moved).unwrap(), msg(2));
    assert_eq!(
        a.by_message_id("m3@example.org").unwrap(),
        vec![(arch.id, 2), (arch.id, 4)]
    );
    // Expunging a copy leaves the other intact.
    a.expunge(arch.id, ExpungeSet::Uids(&[2])).unwrap();
    assert_eq!(
        a.read_message(&a.message(arch.id, 4).unwrap()).unwrap(),
        msg(3)
    );
    assert_consistent(&s);
}

#[test]
fn changes_feed_and_delayed_erase() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    let d = msg(1);
    a.deliver(inbox, &new_msg(&d)).unwrap();
    let mut r = a.subscribe();
    let woken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = woken.clone();
    r.set_notify(std::sync::Arc::new(move || {
        w.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    let m = a.message(inbox, 1).unwrap();
    let out = a.expunge(inbox, ExpungeSet::Uids(&[1])).unwrap();
    assert_eq!(out, vec![1]);
    assert_eq!(woken.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The reader has not seen the expunge: the message can still be read.
    assert_eq!(a.read_message(&m).unwrap(), d);
    assert_consistent(&s);
    let changes = r.poll();
    let modseq = a.highest_modseq();
    assert_eq!(
        changes,
        vec![
            Change::Expunged {
                mailbox: inbox,
                uids: vec![1],
                modseq
            },
            Change::MailboxCounts {
                mailbox: inbox,
                counts: a.mailbox_by_id(inbox).unwrap().counts
            },
        ]
    );
    // Now it is erased.
    assert!(matches!(
        a.read_message(&m),
        Err(StoreError::NoSuchMessage { uid: 1, .. })
    ));
    assert!(r.poll().is_empty());
    assert_consistent(&s);
    // Without readers, erasure is immediate; dropping a reader releases files.
    let d2 = msg(2);
    a.deliver(inbox, &new_msg(&d2)).unwrap();
    let m2 = a.message(inbox, 2).unwrap();
    a.expunge(inbox, ExpungeSet::Uids(&[2])).unwrap();
    assert!(a.read_message(&m2).is_err() || !r.poll().is_empty());
    drop(r);
    assert!(a.read_message(&m2).is_err());
    assert_consistent(&s);
}

#[test]
fn import_is_one_group_commit() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    let datas: Vec<Vec<u8>> = (1..=50).map(msg).collect();
    let msgs: Vec<NewMessage<'_>> = datas.iter().map(|d| new_msg(d)).collect();
    let before = a.highest_modseq();
    let added = a.import(inbox, &msgs).unwrap();
    assert_eq!(added.len(), 50);
    assert!(added.iter().all(|x| x.modseq == before + 1));
    assert_eq!(added.last().unwrap().uid, 50);
    assert_eq!(
        a.read_message(&a.message(inbox, 37).unwrap()).unwrap(),
        msg(37)
    );
    assert_consistent(&s);
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let a = s.create_account("x", NewAccount::default()).unwrap();
        let inbox = a.mailbox("Inbox").unwrap().id;
        let d = msg(1);
        a.deliver(inbox, &new_msg(&d)).unwrap();
        a.store_flags(inbox, &[1], FlagOp::Replace, Flags::SEEN, &[], None)
            .unwrap();
    }
    let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let a = s.account("x").unwrap();
    let inbox = a.mailbox("Inbox").unwrap();
    assert_eq!(inbox.counts.unseen, 0);
    assert_eq!(a.message(inbox.id, 1).unwrap().flags, Flags::SEEN);
    assert_eq!(a.highest_modseq(), 4);
    assert_consistent(&s);
}

#[test]
fn consistency_check_reports_damage() {
    let (d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    for n in 1..=2 {
        let m = msg(n);
        a.deliver(inbox, &new_msg(&m)).unwrap();
    }
    let acct_dir = d
        .path()
        .join("accounts")
        .join(a.id().to_string())
        .join("msg")
        .join("0");
    // Truncate one file, remove another, add a stray one.
    std::fs::write(acct_dir.join("1"), b"short").unwrap();
    std::fs::remove_file(acct_dir.join("2")).unwrap();
    std::fs::write(acct_dir.join("77"), b"stray").unwrap();
    let p = s.check_consistency().unwrap();
    let want_size = msg(1).len();
    assert_eq!(
        p,
        vec![
            format!(
                "account \"mjl\": mailbox \"Inbox\" uid 1: size {want_size} but prefix 0 + file 5 = 5 (file accounts/{id}/msg/0/1)",
                id = a.id()
            ),
            format!(
                "account \"mjl\": mailbox \"Inbox\" uid 2: message file accounts/{}/msg/0/2 of message id 2 missing",
                a.id()
            ),
            format!(
                "account \"mjl\": orphan file accounts/{}/msg/0/77: message id 77 is not a live message",
                a.id()
            ),
        ]
    );
    let m2 = a.message(inbox, 2).unwrap();
    assert!(matches!(
        a.read_message(&m2),
        Err(StoreError::Io { op: "open", .. })
    ));
}

#[test]
fn damaged_database_gives_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let a = s.create_account("x", NewAccount::default()).unwrap();
        let d = msg(1);
        a.deliver(a.mailbox("Inbox").unwrap().id, &new_msg(&d))
            .unwrap();
    }
    // A damaged message record: written behind the store's back with fjall.
    {
        let db = fjall::Database::builder(dir.path().join("db"))
            .open()
            .unwrap();
        let msgs = db
            .keyspace("msgs", fjall::KeyspaceCreateOptions::default)
            .unwrap();
        let mut key = 1u32.to_be_bytes().to_vec(); // account 1
        key.extend_from_slice(&1u32.to_be_bytes()); // mailbox 1 (Inbox)
        key.extend_from_slice(&1u32.to_be_bytes()); // uid 1
        assert!(msgs.get(&key).unwrap().is_some());
        msgs.insert(key, vec![0xffu8; 3]).unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    {
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let a = s.account("x").unwrap();
        let inbox = a.mailbox("Inbox").unwrap().id;
        match a.message(inbox, 1) {
            Err(StoreError::Corrupt { what }) => assert!(
                what.starts_with("message record mailbox #1 uid 1: "),
                "{what}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.check_consistency(),
            Err(StoreError::Corrupt { .. })
        ));
    }
    // Damaged database files: open fails with a database error.
    fn smash(p: &std::path::Path) {
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                smash(&e.path());
            } else {
                std::fs::write(e.path(), vec![0xa5u8; 64]).unwrap();
            }
        }
    }
    smash(&dir.path().join("db"));
    match Store::open(dir.path(), StoreConfig::default()) {
        Err(StoreError::Db(e)) => assert!(e.to_string().contains("InvalidVersion"), "{e}"),
        other => panic!("{other:?}"),
    }
}

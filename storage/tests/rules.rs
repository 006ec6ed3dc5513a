//! Unit tests of the storage rules: Inbox rename, naming, quota, tombstones,
//! UIDVALIDITY on name reuse, flags, copy/move, the changes feed and erasure.

mod common;

use common::{account, assert_consistent, msg, new_msg};
use moxide_storage::{
    Change, ExpungeSet, FlagOp, Flags, NewAccount, NewMessage, SpecialUse, Store, StoreConfig,
    StoreError,
};

#[test]
fn new_account_has_inbox_and_modseq_starts_at_2() {
    let (_d, s, a) = account();
    let mbs = a.mailboxes().unwrap();
    assert_eq!(mbs.len(), 1);
    assert_eq!(mbs[0].name, "Inbox");
    assert_eq!(mbs[0].uidvalidity, 1);
    assert_eq!(mbs[0].uidnext, 1);
    // The first change of an account gets modseq 2 (as mox).
    assert_eq!(mbs[0].createseq, 2);
    assert_eq!(a.highest_modseq(), 2);
    assert_eq!(
        s.account_for_address("MJL@example.org").unwrap().as_deref(),
        Some("mjl")
    );
    assert!(a.settings().unwrap().has_password);
    let secrets = a.password_secrets().unwrap().unwrap();
    assert!(secrets.verify_plain("test1234"));
    assert!(!secrets.verify_plain("test12345"));
    a.set_password("other").unwrap();
    assert!(a.password_secrets().unwrap().unwrap().verify_plain("other"));
    assert_consistent(&s);
}

#[test]
fn account_errors() {
    let (_d, s, _a) = account();
    assert!(
        matches!(s.create_account("mjl", NewAccount::default()), Err(StoreError::AccountExists(n)) if n == "mjl")
    );
    assert!(matches!(s.account("nobody"), Err(StoreError::NoSuchAccount(n)) if n == "nobody"));
    assert!(matches!(
        s.create_account("", NewAccount::default()),
        Err(StoreError::InvalidAccountName { .. })
    ));
    let r = s.create_account(
        "other",
        NewAccount {
            addresses: vec!["Mjl@Example.org".into()],
            ..Default::default()
        },
    );
    match r {
        Err(StoreError::AddressInUse { address, account }) => {
            assert_eq!(
                (address.as_str(), account.as_str()),
                ("mjl@example.org", "mjl")
            );
        }
        other => panic!("{other:?}"),
    }
}

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
fn mailbox_naming_rules() {
    let (_d, s, a) = account();
    for (name, reason) in [
        ("", "empty name"),
        ("a//b", "has an empty hierarchy element (//)"),
        ("a/../b", "has a . or .. hierarchy element"),
        ("/a", "starts with /"),
        ("x/", "ends with /"),
    ] {
        match a.create_mailbox(name, SpecialUse::NONE) {
            Err(StoreError::InvalidMailboxName { name: n, reason: r }) => {
                assert_eq!((n.as_str(), r), (name, reason))
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
    assert!(
        matches!(a.create_mailbox("inBOX", SpecialUse::NONE), Err(StoreError::MailboxExists(n)) if n == "Inbox")
    );
    let sub = a.create_mailbox("inbox/Sub", SpecialUse::NONE).unwrap();
    assert_eq!(sub.name, "Inbox/Sub");
    // Parents are created.
    a.create_mailbox("a/b/c", SpecialUse::NONE).unwrap();
    let names: Vec<String> = a.mailboxes().unwrap().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["Inbox", "Inbox/Sub", "a", "a/b", "a/b/c"]);
    // NFC: the decomposed and composed forms are one mailbox.
    a.create_mailbox("caf\u{65}\u{301}", SpecialUse::NONE)
        .unwrap();
    assert_eq!(a.mailbox("caf\u{e9}").unwrap().name, "caf\u{e9}");
    assert_consistent(&s);
}

#[test]
fn inbox_rename_moves_messages_with_new_uids() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    a.create_mailbox("Inbox/Child", SpecialUse::NONE).unwrap();
    for n in 1..=3 {
        let d = msg(n);
        a.deliver(inbox, &new_msg(&d)).unwrap();
    }
    a.expunge(inbox, ExpungeSet::Uids(&[1])).unwrap();
    let old = a.mailbox_by_id(inbox).unwrap();
    let target = a.rename_mailbox("INBOX", "Old/Mail").unwrap();
    assert_eq!(target.name, "Old/Mail");
    assert_ne!(target.uidvalidity, old.uidvalidity);
    assert_eq!(a.uids(target.id).unwrap(), vec![1, 2]);
    assert_eq!(target.uidnext, 3);
    assert_eq!(target.counts.total, 2);
    let m = a.message(target.id, 1).unwrap();
    assert_eq!(
        a.structure(&m).unwrap().message_id(),
        Some("m2@example.org")
    );
    // Inbox stays, empty, same uidvalidity, and its child stays where it was.
    let inbox_now = a.mailbox("Inbox").unwrap();
    assert_eq!(
        (inbox_now.id, inbox_now.uidvalidity, inbox_now.uidnext),
        (inbox, old.uidvalidity, 4)
    );
    assert_eq!(inbox_now.counts.exists(), 0);
    assert!(a.uids(inbox).unwrap().is_empty());
    assert_eq!(a.vanished_since(inbox, old.modseq).unwrap(), vec![2, 3]);
    assert!(a.mailbox("Inbox/Child").is_ok());
    assert!(a.mailbox("Old").is_ok());
    assert_consistent(&s);
}

#[test]
fn rename_takes_children_along() {
    let (_d, s, a) = account();
    let c = a.create_mailbox("a/b/c", SpecialUse::NONE).unwrap();
    a.create_mailbox("ab", SpecialUse::NONE).unwrap();
    let r = a.rename_mailbox("a", "x/y").unwrap();
    assert_eq!(r.name, "x/y");
    let names: Vec<String> = a.mailboxes().unwrap().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["Inbox", "ab", "x", "x/y", "x/y/b", "x/y/b/c"]);
    let c2 = a.mailbox("x/y/b/c").unwrap();
    assert_eq!((c2.id, c2.uidvalidity), (c.id, c.uidvalidity));
    assert!(matches!(
        a.rename_mailbox("x", "x/z"),
        Err(StoreError::MailboxNotAllowed { .. })
    ));
    assert!(matches!(a.rename_mailbox("x", "ab"), Err(StoreError::MailboxExists(n)) if n == "ab"));
    assert!(
        matches!(a.rename_mailbox("nope", "q"), Err(StoreError::NoSuchMailbox(n)) if n == "nope")
    );
    assert_consistent(&s);
}

#[test]
fn uidvalidity_changes_when_a_name_is_reused() {
    let (_d, s, a) = account();
    let first = a.create_mailbox("Lists", SpecialUse::NONE).unwrap();
    let d = msg(1);
    a.deliver(first.id, &new_msg(&d)).unwrap();
    a.delete_mailbox("Lists").unwrap();
    assert!(matches!(
        a.mailbox("Lists"),
        Err(StoreError::NoSuchMailbox(_))
    ));
    let second = a.create_mailbox("Lists", SpecialUse::NONE).unwrap();
    assert_ne!(second.id, first.id);
    assert!(second.uidvalidity > first.uidvalidity);
    assert_eq!(second.uidnext, 1);
    assert_eq!(a.quota().unwrap().usage, 0);
    // Deleting Inbox or a parent is refused.
    assert!(matches!(
        a.delete_mailbox("inbox"),
        Err(StoreError::MailboxNotAllowed {
            reason: "Inbox cannot be deleted",
            ..
        })
    ));
    a.create_mailbox("p/q", SpecialUse::NONE).unwrap();
    assert!(matches!(
        a.delete_mailbox("p"),
        Err(StoreError::MailboxNotAllowed {
            reason: "has child mailboxes",
            ..
        })
    ));
    assert_consistent(&s);
}

#[test]
fn quota_refusal_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(
        dir.path(),
        StoreConfig {
            quota_default: 300,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let a = s.create_account("q", NewAccount::default()).unwrap();
    let inbox = a.mailbox("Inbox").unwrap().id;
    let small = vec![b'x'; 200];
    a.deliver(inbox, &new_msg(&small)).unwrap();
    let before = a.highest_modseq();
    match a.deliver(inbox, &new_msg(&small)) {
        Err(StoreError::OverQuota {
            limit,
            usage,
            needed,
        }) => assert_eq!((limit, usage, needed), (300, 200, 200)),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.highest_modseq(), before);
    assert_eq!(a.uids(inbox).unwrap(), vec![1]);
    assert_consistent(&s); // no orphan file left behind
    // Copy is refused too.
    assert!(matches!(
        a.copy(inbox, &[1], inbox),
        Err(StoreError::OverQuota { .. })
    ));
    // Override: negative = unlimited, positive = own limit.
    a.set_quota(-1).unwrap();
    a.deliver(inbox, &new_msg(&small)).unwrap();
    assert_eq!(a.quota().unwrap().limit, None);
    a.set_quota(1000).unwrap();
    assert_eq!(a.quota().unwrap().limit, Some(1000));
    assert_eq!(a.quota().unwrap().usage, 400);
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
                "account \"mjl\": mailbox \"Inbox\" uid 1: size {want_size} but prefix 0 + file 5 = 5"
            ),
            "account \"mjl\": mailbox \"Inbox\" uid 2: file of message id 2 missing".to_string(),
            "account \"mjl\": orphan file for message id 77".to_string(),
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

#[test]
fn subscriptions_outlive_mailboxes() {
    let (_d, s, a) = account();
    a.create_mailbox("Lists", SpecialUse::NONE).unwrap();
    a.set_subscribed("Lists", true).unwrap();
    a.set_subscribed("Future", true).unwrap();
    assert!(a.mailbox("Lists").unwrap().subscribed);
    assert_eq!(a.subscriptions().unwrap(), ["Future", "Inbox", "Lists"]);
    // RFC 9051 6.3.7: deleting a mailbox does not remove its subscription.
    a.delete_mailbox("Lists").unwrap();
    assert_eq!(a.subscriptions().unwrap(), ["Future", "Inbox", "Lists"]);
    // A mailbox created under a subscribed name is subscribed.
    assert!(
        a.create_mailbox("Future", SpecialUse::NONE)
            .unwrap()
            .subscribed
    );
    // Rename moves the subscription; one on the target name applies.
    a.rename_mailbox("Future", "Past").unwrap();
    assert_eq!(a.subscriptions().unwrap(), ["Inbox", "Lists", "Past"]);
    a.create_mailbox("Other", SpecialUse::NONE).unwrap();
    a.rename_mailbox("Other", "Lists").unwrap();
    assert!(a.mailbox("Lists").unwrap().subscribed);
    a.set_subscribed("Lists", false).unwrap();
    assert!(!a.mailbox("Lists").unwrap().subscribed);
    assert_eq!(a.subscriptions().unwrap(), ["Inbox", "Past"]);
    assert_consistent(&s);
}

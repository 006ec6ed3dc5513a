//! REPLACE (RFC 8508) in storage: the new message and the expunge of the
//! old one are one commit at one modseq.

mod common;

use common::{account, assert_consistent, msg, new_msg};
use moxide_storage::{Change, NewAccount, SpecialUse, Store, StoreConfig, StoreError};

#[test]
fn replace_adds_and_expunges_at_one_modseq() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("INBOX").unwrap();
    let (m1, m2) = (msg(1), msg(2));
    a.deliver(inbox.id, &new_msg(&m1)).unwrap();
    let before = a.highest_modseq();
    let mut feed = a.subscribe();
    let r = a.replace(inbox.id, &new_msg(&m2), inbox.id, 1).unwrap();
    assert_eq!((r.added.uid, r.expunged.clone()), (2, vec![1]));
    assert_eq!(r.added.modseq, before + 1);
    assert_eq!(a.highest_modseq(), before + 1);
    // The old one is a tombstone of the same modseq; the new one is live.
    let old = a.records_in(inbox.id, 1..=1).unwrap();
    assert!(old[0].expunged);
    assert_eq!(old[0].modseq, before + 1);
    let new = a.message(inbox.id, 2).unwrap();
    assert_eq!((new.modseq, new.createseq), (before + 1, before + 1));
    assert_eq!(a.read_message(&new).unwrap(), m2);
    assert_eq!(a.vanished_since(inbox.id, before).unwrap(), vec![1]);
    let mb = a.mailbox_by_id(inbox.id).unwrap();
    assert_eq!((mb.counts.total, mb.modseq), (1, before + 1));
    assert_eq!(a.quota().unwrap().usage, new.size);
    // One publication carries both changes.
    let changes = feed.poll();
    assert!(changes.iter().any(
        |c| matches!(c, Change::MessageAdded { uid: 2, modseq, .. } if *modseq == before + 1)
    ));
    assert!(changes.iter().any(|c| matches!(c, Change::Expunged { uids, modseq, .. } if uids == &vec![1] && *modseq == before + 1)));
    assert_consistent(&s);
}

#[test]
fn replace_into_another_mailbox_and_of_a_gone_message() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("INBOX").unwrap();
    let drafts = a.create_mailbox("Drafts2", SpecialUse::NONE).unwrap();
    let m1 = msg(1);
    a.deliver(inbox.id, &new_msg(&m1)).unwrap();
    let r = a
        .replace(drafts.id, &new_msg(&msg(2)), inbox.id, 1)
        .unwrap();
    assert_eq!((r.added.uid, r.expunged.clone()), (1, vec![1]));
    assert_eq!(a.mailbox_by_id(inbox.id).unwrap().counts.exists(), 0);
    assert_eq!(a.mailbox_by_id(drafts.id).unwrap().counts.exists(), 1);
    // The replaced message is already gone: the new one is still added.
    let r = a
        .replace(drafts.id, &new_msg(&msg(3)), inbox.id, 1)
        .unwrap();
    assert_eq!((r.added.uid, r.expunged), (2, Vec::new()));
    assert_consistent(&s);
}

#[test]
fn replace_over_quota_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path(), StoreConfig::default()).unwrap();
    let m1 = msg(1);
    let a = s
        .create_account(
            "q",
            NewAccount {
                quota: (m1.len() + 10) as i64,
                ..Default::default()
            },
        )
        .unwrap();
    let inbox = a.mailbox("INBOX").unwrap();
    a.deliver(inbox.id, &new_msg(&m1)).unwrap();
    // Replacing frees the old message's size: a message of similar size fits.
    let r = a.replace(inbox.id, &new_msg(&msg(2)), inbox.id, 1).unwrap();
    assert_eq!(r.expunged, vec![1]);
    let modseq = a.highest_modseq();
    let big = vec![b'x'; m1.len() * 3];
    match a.replace(inbox.id, &new_msg(&big), inbox.id, 2) {
        Err(StoreError::OverQuota { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(a.highest_modseq(), modseq);
    assert!(!a.records_in(inbox.id, 2..=2).unwrap()[0].expunged);
    assert_consistent(&s);
}

//! Several threads share one store: writers of one account are serialised,
//! readers see committed data, every reader gets every change in order.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{account, assert_consistent, msg, new_msg};
use moxide_storage::{Account, Change, FlagOp, Flags, Store, StoreError};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn store_and_account_are_send_and_sync() {
    assert_send_sync::<Store>();
    assert_send_sync::<Account>();
    assert_send_sync::<moxide_storage::ChangeReader>();
}

#[test]
fn parallel_writers_and_readers() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    let mut r1 = a.subscribe();
    let mut r2 = a.subscribe();
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    r2.set_notify(Arc::new(move || {
        w.fetch_add(1, Ordering::SeqCst);
    }));
    std::thread::scope(|sc| {
        for t in 0..4u32 {
            let a = s.account("mjl").unwrap();
            sc.spawn(move || {
                for i in 0..10 {
                    let d = msg(t * 100 + i);
                    let added = a.deliver(inbox, &new_msg(&d)).unwrap();
                    a.store_flags(inbox, &[added.uid], FlagOp::Add, Flags::SEEN, &[], None)
                        .unwrap();
                    // Readers see what was committed.
                    assert_eq!(a.message(inbox, added.uid).unwrap().flags, Flags::SEEN);
                }
            });
        }
    });
    let c1 = r1.poll();
    let c2 = r2.poll();
    assert_eq!(c1, c2);
    assert_eq!(wakes.load(Ordering::SeqCst), 80);
    let added: Vec<u32> = c1
        .iter()
        .filter_map(|c| {
            if let Change::MessageAdded { uid, .. } = c {
                Some(*uid)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(added, (1..=40).collect::<Vec<_>>());
    // Modseqs in the feed increase strictly from commit to commit.
    let modseqs: Vec<u64> = c1
        .iter()
        .filter_map(|c| match c {
            Change::MessageAdded { modseq, .. } | Change::FlagsChanged { modseq, .. } => {
                Some(*modseq)
            }
            _ => None,
        })
        .collect();
    assert!(modseqs.windows(2).all(|w| w[0] < w[1]), "{modseqs:?}");
    assert_eq!(a.mailbox_by_id(inbox).unwrap().counts.total, 40);
    assert_consistent(&s);
}

#[test]
fn unknown_ids_give_typed_errors_and_write_nothing() {
    let (_d, s, a) = account();
    let d = msg(1);
    assert!(
        matches!(a.deliver(999, &new_msg(&d)), Err(StoreError::NoSuchMailbox(n)) if n == "#999")
    );
    assert!(matches!(
        a.mailbox_by_id(999),
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        a.message(1, 5),
        Err(StoreError::NoSuchMessage { uid: 5, .. })
    ));
    assert!(matches!(
        a.copy(1, &[1], 999),
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        a.store_flags(999, &[1], FlagOp::Add, Flags::SEEN, &[], None),
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        a.deliver(
            1,
            &moxide_storage::NewMessage {
                keywords: vec!["bad word".into()],
                ..new_msg(&d)
            }
        ),
        Err(StoreError::InvalidKeyword { .. })
    ));
    assert_eq!(a.highest_modseq(), 2);
    assert_consistent(&s);
}

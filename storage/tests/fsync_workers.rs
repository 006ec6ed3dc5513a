//! Deliveries one at a time reuse the fsync helper thread instead of
//! starting a thread per message (each delivery's file and bucket directory
//! are synced from two threads at once). Alone in its test binary: the
//! thread count is per process.

use moxide_storage::{NewAccount, NewMessage, Store, StoreConfig, fsync_workers_started};

#[test]
fn a_hundred_deliveries_start_one_fsync_worker() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    store
        .create_account(
            "mox",
            NewAccount {
                addresses: vec!["mox@localhost".into()],
                password: None,
                quota: 0,
                default_mailboxes: true,
            },
        )
        .unwrap();
    let acct = store.account("mox").unwrap();
    let inbox = acct.mailbox("Inbox").unwrap().id;
    assert_eq!(fsync_workers_started(), 0);
    for i in 0..100u32 {
        let data = format!("Subject: m{i}\r\n\r\nbody {i}\r\n").into_bytes();
        let msg = NewMessage {
            data: &data,
            prefix: Vec::new(),
            flags: Default::default(),
            keywords: Vec::new(),
            received: 1_700_000_000,
            received_tz: 0,
            saved: 1_700_000_000,
        };
        let added = if i % 2 == 0 {
            acct.deliver(inbox, &msg).unwrap()
        } else {
            acct.deliver_grouped(inbox, &msg).unwrap()
        };
        assert_eq!(added.uid, i + 1);
    }
    // The first delivery started the worker; the other 99 handed their
    // directory fsync to it while it waited (it ends only after 2 s idle).
    assert_eq!(fsync_workers_started(), 1);
    let stored = acct.messages_in(inbox, 1..=u32::MAX).unwrap();
    assert_eq!(stored.len(), 100);
    let last = acct.read_message(&stored[99]).unwrap();
    assert_eq!(last, b"Subject: m99\r\n\r\nbody 99\r\n");
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
}

//! Store::shrink_idle: memtables flushed, nothing lost, nothing replayed on
//! the next open.

mod common;

use common::{account, assert_consistent, msg, new_msg};
use moxide_storage::{FlagOp, Flags, Store, StoreConfig};

/// Adds `n` messages in groups of 100; returns their contents by UID - 1.
fn fill(acct: &moxide_storage::Account, mailbox: u32, n: u32) -> Vec<Vec<u8>> {
    let data: Vec<Vec<u8>> = (1..=n).map(msg).collect();
    for chunk in data.chunks(100) {
        let msgs: Vec<_> = chunk.iter().map(|d| new_msg(d)).collect();
        acct.import(mailbox, &msgs).unwrap();
    }
    data
}

/// The memtable bytes once fjall's worker has done its accounting (it
/// frees a flushed memtable's bytes just after removing it).
fn settled_memtable_bytes(store: &Store) -> u64 {
    for _ in 0..200 {
        if store.memtable_bytes() == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    store.memtable_bytes()
}

fn assert_all_readable(acct: &moxide_storage::Account, mailbox: u32, data: &[Vec<u8>]) {
    let recs = acct.messages_in(mailbox, 1..=u32::MAX).unwrap();
    assert_eq!(recs.len(), data.len());
    for (i, m) in recs.iter().enumerate() {
        assert_eq!(m.uid as usize, i + 1);
        assert_eq!(acct.read_message(m).unwrap(), data[i], "uid {}", m.uid);
        let mid = format!("m{}@example.org", i + 1);
        assert_eq!(acct.structure(m).unwrap().message_id(), Some(mid.as_str()));
    }
}

#[test]
fn shrink_flushes_memtables_and_keeps_every_message() {
    let (dir, store, acct) = account();
    let inbox = acct.mailbox("INBOX").unwrap().id;
    let data = fill(&acct, inbox, 1000);
    // Flag changes too, so the shrink covers overwritten records.
    acct.store_flags(inbox, &[1, 2, 3], FlagOp::Add, Flags::FLAGGED, &[], None)
        .unwrap();
    assert!(store.memtable_bytes() > 0);

    let report = store.shrink_idle().unwrap();
    // meta (account state, mailbox), msgs, modseq, content and msgid all
    // had writes.
    assert_eq!(report.keyspaces_flushed, 5);
    assert!(report.memtable_bytes_before > 100_000, "{report:?}");
    assert_eq!(settled_memtable_bytes(&store), 0);
    assert_all_readable(&acct, inbox, &data);
    assert_consistent(&store);

    // Nothing to flush now.
    let seqno = store.write_seqno();
    let again = store.shrink_idle().unwrap();
    assert_eq!(again.keyspaces_flushed, 0);
    assert_eq!(again.memtable_bytes_before, 0);
    assert_eq!(store.write_seqno(), seqno);

    // Writes after a shrink land in fresh memtables.
    let more = msg(1001);
    acct.deliver(inbox, &new_msg(&more)).unwrap();
    assert!(store.memtable_bytes() > 0);
    store.shrink_idle().unwrap();
    assert_eq!(settled_memtable_bytes(&store), 0);
    let mut all = data;
    all.push(more);
    assert_all_readable(&acct, inbox, &all);

    drop(acct);
    drop(store);
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    // Everything was in tables: the journal replay filled no memtable.
    assert_eq!(store.memtable_bytes(), 0);
    let acct = store.account("mjl").unwrap();
    assert_all_readable(&acct, inbox, &all);
    let flagged = acct.message(inbox, 2).unwrap();
    assert!(flagged.flags.contains(Flags::FLAGGED));
    assert!(
        !acct
            .message(inbox, 4)
            .unwrap()
            .flags
            .contains(Flags::FLAGGED)
    );
    assert_consistent(&store);
}

#[test]
fn reopen_without_shrink_replays_the_journal_into_memtables() {
    // The contrast to the test above: what shrink_idle saves at start.
    let (dir, store, acct) = account();
    let inbox = acct.mailbox("INBOX").unwrap().id;
    let data = fill(&acct, inbox, 300);
    let before = store.memtable_bytes();
    assert!(before > 0);
    drop(acct);
    drop(store);
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(store.memtable_bytes() > 0);
    let acct = store.account("mjl").unwrap();
    assert_all_readable(&acct, inbox, &data);
    store.shrink_idle().unwrap();
    assert_eq!(settled_memtable_bytes(&store), 0);
    assert_consistent(&store);
}

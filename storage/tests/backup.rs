//! `Store::backup_to` while the store is in use: a thread keeps delivering
//! during the backup; the copy is consistent, holds every message the
//! snapshot lists byte for byte (no more: none half-written), keeps
//! expunged messages that wait for erasure, and refuses a non-empty
//! destination.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use common::{account, assert_consistent, msg, new_msg};
use moxide_storage::{ExpungeSet, Store, StoreConfig, StoreError};

#[test]
fn backup_while_delivering_is_consistent_and_byte_exact() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    for n in 1..=20 {
        a.deliver(inbox, &new_msg(&msg(n))).unwrap();
    }
    // UIDs 1 and 2 expunged while a reader has not seen it: their files
    // wait for erasure, and the backup must carry them.
    let reader = a.subscribe();
    a.expunge(inbox, ExpungeSet::Uids(&[1, 2])).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU32::new(20));
    let writer = {
        let (a, stop, delivered) = (a.clone(), stop.clone(), delivered.clone());
        std::thread::spawn(move || {
            let mut n = 21;
            while !stop.load(Ordering::SeqCst) {
                a.deliver(inbox, &new_msg(&msg(n))).unwrap();
                delivered.store(n, Ordering::SeqCst);
                n += 1;
            }
        })
    };
    // Let some deliveries run before and during the backup.
    while delivered.load(Ordering::SeqCst) < 25 {
        std::thread::yield_now();
    }
    let dest = tempfile::tempdir().unwrap();
    let data = dest.path().join("data");
    let report = s.backup_to(&data).unwrap();
    let at_end = delivered.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    drop(reader);
    assert_consistent(&s);

    let b = Store::open(&data, StoreConfig::default()).unwrap();
    let problems = b.check_consistency().unwrap();
    assert_eq!(problems, Vec::<String>::new());
    let ba = b.account("mjl").unwrap();
    let bmb = ba.mailbox("Inbox").unwrap();
    let copied = ba.messages_in(bmb.id, 1..=u32::MAX).unwrap();
    let live: Vec<_> = copied.iter().filter(|m| !m.expunged).collect();
    // UIDs 3..=n without gaps, n at least what was delivered before the
    // backup started and at most what was delivered when it ended (plus
    // one committed but not yet counted).
    let last = live.last().unwrap().uid;
    assert!(
        (25..=at_end + 1).contains(&last),
        "last uid {last}, at end {at_end}"
    );
    assert_eq!(
        live.iter().map(|m| m.uid).collect::<Vec<_>>(),
        (3..=last).collect::<Vec<_>>()
    );
    assert_eq!(bmb.counts.total, u64::from(last - 2));
    for m in &live {
        let want = msg(m.uid);
        assert_eq!(ba.read_message(m).unwrap(), want, "uid {}", m.uid);
        let orig = a.message(inbox, m.uid).unwrap();
        assert_eq!(a.read_message(&orig).unwrap(), want);
    }
    // Files: the 18 live ones and the 2 waiting for erasure, hard-linked
    // on this file system; the backup store erased the two when opened.
    assert_eq!(report.message_files, u64::from(last - 2) + 2);
    assert_eq!(report.linked, report.message_files);
    assert_eq!((report.queue_files, report.bytes_copied), (0, 0));
    assert!(report.missing.is_empty());
    assert!(report.db_entries > u64::from(last));
}

#[test]
fn destination_must_be_new_or_empty() {
    let (_d, s, _a) = account();
    let dest = tempfile::tempdir().unwrap();
    // An empty directory is fine.
    let empty = dest.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    s.backup_to(&empty).unwrap();
    // A second backup into it is refused, and leaves it as it was.
    let before = std::fs::read_dir(&empty).unwrap().count();
    match s.backup_to(&empty) {
        Err(StoreError::Io { op, path, source }) => {
            assert_eq!((op, path.as_path()), ("back up into", empty.as_path()));
            assert_eq!(source.to_string(), "the directory is not empty");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), before);
}

#[test]
fn missing_source_files_are_reported_unless_their_erasure_was_cut_short() {
    let (d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    for n in 1..=3 {
        a.deliver(inbox, &new_msg(&msg(n))).unwrap();
    }
    let bucket = d.path().join(format!("accounts/{}/msg/0", a.id()));
    // UID 1: expunged, its file gone but its erase records left (a crash
    // between removing the file and committing the erasure).
    let reader = a.subscribe();
    a.expunge(inbox, ExpungeSet::Uids(&[1])).unwrap();
    std::fs::remove_file(bucket.join("1")).unwrap();
    // UID 2: live, its file lost.
    std::fs::remove_file(bucket.join("2")).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let data = dest.path().join("data");
    let report = s.backup_to(&data).unwrap();
    drop(reader);
    let rel2 = std::path::PathBuf::from(format!("accounts/{}/msg/0/2", a.id()));
    assert_eq!(report.missing, vec![rel2.clone()]);
    assert_eq!((report.message_files, report.linked), (1, 1));
    let b = Store::open(&data, StoreConfig::default()).unwrap();
    assert_eq!(
        b.check_consistency().unwrap(),
        vec![format!(
            "account \"mjl\": mailbox \"Inbox\" uid 2: message file {} of message id 2 missing",
            rel2.display()
        )]
    );
}

#[test]
fn across_file_systems_files_are_copied() {
    use std::os::unix::fs::MetadataExt;
    let (d, s, a) = account();
    let other = std::path::Path::new("/dev/shm");
    let dev = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.dev()).ok();
    if dev(other).is_none() || dev(other) == dev(d.path()) {
        eprintln!("skipped: /dev/shm is not another file system here");
        return;
    }
    let inbox = a.mailbox("Inbox").unwrap().id;
    let mut bytes = 0;
    for n in 1..=3 {
        bytes += msg(n).len() as u64;
        a.deliver(inbox, &new_msg(&msg(n))).unwrap();
    }
    let dest = tempfile::tempdir_in(other).unwrap();
    let data = dest.path().join("data");
    let report = s.backup_to(&data).unwrap();
    assert_eq!(
        (report.message_files, report.linked, report.bytes_copied),
        (3, 0, bytes)
    );
    let b = Store::open(&data, StoreConfig::default()).unwrap();
    assert_eq!(b.check_consistency().unwrap(), Vec::<String>::new());
    let ba = b.account("mjl").unwrap();
    for m in ba.messages_in(inbox, 1..=u32::MAX).unwrap() {
        assert_eq!(ba.read_message(&m).unwrap(), msg(m.uid));
    }
}

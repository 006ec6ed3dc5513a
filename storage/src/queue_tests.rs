use super::*;
use crate::StoreConfig;

const MSG: &[u8] = b"From: a@a.test\r\nSubject: hi\r\n\r\nhello\r\n";

fn new_entry(domain: &str, rcpts: &[&str]) -> NewQueueEntry {
    NewQueueEntry {
        sender_account: Some("a".into()),
        mail_from: "a@a.test".into(),
        domain: domain.into(),
        recipients: rcpts.iter().map(|r| r.to_string()).collect(),
        prefix: b"Received: x\r\n".to_vec(),
        smtputf8: false,
        body: QueueBody::SevenBit,
        requiretls: None,
        transport: None,
        hold: false,
    }
}

fn file_path(dir: &std::path::Path, id: u64) -> std::path::PathBuf {
    dir.join("queue").join(id.to_string())
}

#[test]
fn add_list_modify_remove_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let added = s
        .queue_add(
            1000,
            MSG,
            &[
                new_entry("B.test.", &["x@b.test", "y@B.TEST"]),
                new_entry("c.test", &["z@c.test"]),
            ],
        )
        .unwrap();
    assert_eq!(added.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(added[0].file_id, 1);
    assert_eq!(added[1].file_id, 1);
    assert_eq!(added[0].domain, "b.test");
    assert_eq!(added[0].size, 13 + MSG.len() as u64);
    assert_eq!((added[0].created, added[0].next_attempt), (1000, 1000));
    assert_eq!(added[0].recipients[1].address, "y@B.TEST");
    assert_eq!(added[0].recipients[1].state, RcptState::Pending);
    assert_eq!(std::fs::read(file_path(dir.path(), 1)).unwrap(), MSG);
    assert_eq!(
        s.queue_message(&added[1]).unwrap(),
        [b"Received: x\r\n".as_slice(), MSG].concat()
    );
    assert!(s.check_queue().unwrap().is_empty());

    // Filters.
    let ids = |f: &QueueFilter| {
        s.queue_list(f)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&QueueFilter::default()), vec![1, 2]);
    let by_domain = QueueFilter {
        domain: Some("C.TEST".into()),
        ..Default::default()
    };
    assert_eq!(ids(&by_domain), vec![2]);
    let by_id = QueueFilter {
        ids: vec![2, 9, 1],
        ..Default::default()
    };
    assert_eq!(ids(&by_id), vec![1, 2]);

    // Hold one; a Keep changes nothing.
    let ch = s
        .queue_modify(&by_domain, |e| {
            e.hold = true;
            QueueChange::Update
        })
        .unwrap();
    assert_eq!(ch.len(), 1);
    let none = s
        .queue_modify(&QueueFilter::default(), |e| {
            e.attempts = 99;
            QueueChange::Keep
        })
        .unwrap();
    assert!(none.is_empty());
    let held = QueueFilter {
        hold: Some(true),
        ..Default::default()
    };
    assert_eq!(ids(&held), vec![2]);
    assert_eq!(s.queue_get(1).unwrap().unwrap().attempts, 0);

    // Removing entry 1 keeps the file entry 2 still needs.
    s.queue_modify(&by_id_of(1), |_| QueueChange::Remove)
        .unwrap();
    assert!(file_path(dir.path(), 1).exists());
    assert!(s.check_queue().unwrap().is_empty());
    drop(s);

    // Durable: reopen, remove the last entry, the file goes.
    let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let e2 = s.queue_get(2).unwrap().unwrap();
    assert!(e2.hold);
    let removed = s
        .queue_modify(&by_id_of(2), |_| QueueChange::Remove)
        .unwrap();
    assert_eq!(removed[0].0.id, 2);
    assert!(!file_path(dir.path(), 1).exists());
    assert!(s.queue_list(&QueueFilter::default()).unwrap().is_empty());
    assert!(s.check_queue().unwrap().is_empty());

    // Ids are not reused.
    let again = s
        .queue_add(2000, MSG, &[new_entry("d.test", &["u@d.test"])])
        .unwrap();
    assert_eq!((again[0].id, again[0].file_id), (3, 3));
}

fn by_id_of(id: u64) -> QueueFilter {
    QueueFilter {
        ids: vec![id],
        ..Default::default()
    }
}

#[test]
fn missing_file_and_orphans_reported_and_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
    s.queue_add(1, MSG, &[new_entry("b.test", &["x@b.test"])])
        .unwrap();
    std::fs::remove_file(file_path(dir.path(), 1)).unwrap();
    let p = s.check_queue().unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0],
        format!(
            "queue entry 1: message file {} is missing",
            file_path(dir.path(), 1).display()
        )
    );
    // The entry is still listed (never dropped silently) and its file
    // state is visible.
    let e = s.queue_get(1).unwrap().unwrap();
    assert!(!s.queue_file_exists(&e).unwrap());
    assert!(s.queue_message(&e).is_err());

    // A file from a crash before the commit (id >= next) is cleaned up; a
    // file below the next id without an entry is reported.
    std::fs::write(file_path(dir.path(), 2), b"left over").unwrap();
    std::fs::write(file_path(dir.path(), 7), b"left over").unwrap();
    assert_eq!(s.queue_cleanup().unwrap(), 2);
    assert!(!file_path(dir.path(), 7).exists());
    std::fs::write(file_path(dir.path(), 1), MSG).unwrap();
    assert!(s.check_queue().unwrap().is_empty());
    s.queue_modify(&by_id_of(1), |_| QueueChange::Remove)
        .unwrap();
    std::fs::write(file_path(dir.path(), 1), MSG).unwrap();
    assert_eq!(
        s.check_queue().unwrap(),
        vec![format!(
            "queue file {} belongs to no entry",
            file_path(dir.path(), 1).display()
        )]
    );
    // The store-wide check includes the queue.
    assert_eq!(s.check_consistency().unwrap().len(), 1);
}

#[test]
fn finished_and_pending() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let mut e = s
        .queue_add(1, MSG, &[new_entry("b.test", &["x@b.test", "y@b.test"])])
        .unwrap()
        .remove(0);
    assert!(!e.finished());
    e.recipients[0].state = RcptState::Delivered;
    assert_eq!(e.pending().count(), 1);
    e.recipients[1].state = RcptState::Failed;
    assert!(!e.finished());
    e.recipients[1].dsn_done = true;
    assert!(e.finished());
}

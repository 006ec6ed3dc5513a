//! The queue on a temporary store with a fake clock: retry times, limits,
//! hold, admin operations and the DSNs that arrive in the sender's Inbox.

use std::sync::Arc;

use moxide_proto::smtp::{Body, Reply};
use moxide_storage::{NewAccount, QueueBody, RcptState, Store, StoreConfig};

use super::*;

const T0: i64 = 1_704_164_645; // Tue, 02 Jan 2024 03:04:05 +0000
const MSG: &[u8] = b"From: <a@a.test>\r\nTo: <x@b.test>\r\nSubject: hi\r\nMessage-ID: <m1@a.test>\r\n\r\nhello\r\n";
const PREFIX: &[u8] = b"Received: by mail.a.test\r\n";

fn setup() -> (tempfile::TempDir, Arc<Queue>) {
    setup_with(QueueConfig::new("mail.a.test"))
}

fn setup_with(cfg: QueueConfig) -> (tempfile::TempDir, Arc<Queue>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    store
        .create_account(
            "a",
            NewAccount {
                addresses: vec!["a@a.test".into()],
                ..NewAccount::default()
            },
        )
        .unwrap();
    let q = Arc::new(Queue::new(Arc::new(store), cfg).unwrap());
    (dir, q)
}

fn outgoing(rcpts: &[&str]) -> NewOutgoing<'static> {
    NewOutgoing {
        sender_account: Some("a".into()),
        mail_from: "a@a.test".into(),
        recipients: rcpts.iter().map(|r| r.to_string()).collect(),
        prefix: PREFIX.to_vec(),
        message: MSG,
        smtputf8: false,
        body: QueueBody::SevenBit,
        requiretls: None,
        transport: None,
    }
}

/// The Inbox of account `a`: every message as stored.
fn inbox(q: &Queue) -> Vec<String> {
    let acct = q.store().account("a").unwrap();
    let mb = acct.mailbox("Inbox").unwrap();
    acct.messages_in(mb.id, 1..=u32::MAX)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(acct.read_message(m).unwrap()).unwrap())
        .collect()
}

fn temporary(job: &Job, detail: &str) -> JobResult {
    JobResult::all_temporary(job, detail)
}

fn all_ids(q: &Queue) -> Vec<u64> {
    q.list(&Filter::default())
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect()
}

#[test]
fn add_groups_by_domain_and_job_has_everything() {
    let (_d, q) = setup();
    let notified = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = notified.clone();
    q.set_notify(Box::new(move || {
        n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    let mut m = outgoing(&["x@b.test", "z@C.test", "y@B.TEST", "x@b.test"]);
    m.requiretls = Some(false);
    m.smtputf8 = true;
    m.body = QueueBody::EightBitMime;
    let ids = q.add(T0, m).unwrap();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(notified.load(std::sync::atomic::Ordering::SeqCst), 1);
    let es = q.list(&Filter::default()).unwrap();
    assert_eq!(es[0].domain, "b.test");
    let rc: Vec<&str> = es[0]
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(rc, vec!["x@b.test", "y@B.TEST"]);
    assert_eq!(es[1].domain, "c.test");
    assert_eq!(es[0].file_id, es[1].file_id);

    let mut s = Scheduler::new(q.clone());
    assert_eq!(s.poll_timeout(), Some(i64::MIN));
    s.handle_timeout(T0);
    let j1 = s.poll_action().unwrap();
    let j2 = s.poll_action().unwrap();
    assert!(s.poll_action().is_none());
    assert_eq!(
        j1,
        Job {
            id: 1,
            domain: "b.test".into(),
            mail_from: "a@a.test".into(),
            recipients: vec!["x@b.test".into(), "y@B.TEST".into()],
            message: Arc::from([PREFIX, MSG].concat()),
            smtputf8: true,
            body: Body::EightBitMime,
            requiretls: Some(false),
            transport: None,
            attempt: 1,
        }
    );
    assert_eq!((j2.id, j2.domain.as_str()), (2, "c.test"));
    // Both attempts are on disk before the jobs are out.
    let e1 = q.store().queue_get(1).unwrap().unwrap();
    assert_eq!(
        (e1.attempts, e1.last_attempt, e1.next_attempt),
        (1, Some(T0), T0 + 450)
    );
    // Nothing else due: no wake-up while both run.
    assert_eq!(s.poll_timeout(), None);

    // Both delivered: entries and the shared file are gone, no DSN.
    s.handle_result(
        T0 + 5,
        1,
        JobResult {
            recipients: vec![
                ("X@b.test".into(), RcptResult::Delivered),
                ("y@b.test".into(), RcptResult::Delivered),
            ],
            ..JobResult::default()
        },
    );
    assert_eq!(all_ids(&q), vec![2]);
    s.handle_result(T0 + 6, 2, JobResult::all_temporary(&j2, "x"));
    let e2 = q.store().queue_get(2).unwrap().unwrap();
    s.handle_result(
        T0 + 7,
        2,
        JobResult {
            recipients: vec![("z@C.test".into(), RcptResult::Delivered)],
            ..JobResult::default()
        },
    );
    assert!(all_ids(&q).is_empty());
    assert!(!q.store().queue_file_exists(&e2).unwrap());
    assert!(inbox(&q).is_empty());
    assert!(q.store().check_consistency().unwrap().is_empty());

    assert!(matches!(
        q.add(T0, outgoing(&["nodomain"])),
        Err(QueueError::BadRecipient(_))
    ));
    assert!(matches!(
        q.add(T0, outgoing(&[])),
        Err(QueueError::NoRecipients)
    ));
    assert!(all_ids(&q).is_empty());
}

/// Every retry time of the schedule, one delay DSN after the 5th failed
/// attempt, and the failure DSN after the last attempt at 5 days.
#[test]
fn retry_schedule_delay_dsn_and_expiry() {
    let (_d, q) = setup();
    q.add(T0, outgoing(&["x@b.test"])).unwrap();
    let mut s = Scheduler::new(q.clone());
    let mut times = Vec::new();
    let mut now = T0;
    loop {
        s.handle_timeout(now);
        let Some(job) = s.poll_action() else { break };
        times.push(now - T0);
        let reply = Reply::with(451, (4, 3, 0), "try later");
        s.handle_result(
            now + 2,
            job.id,
            JobResult {
                recipients: vec![(
                    "x@b.test".into(),
                    RcptResult::Temporary {
                        detail: "451 4.3.0 try later".into(),
                        reply: Some(reply),
                    },
                )],
                remote_mta: Some("mx.b.test".into()),
                error: None,
            },
        );
        // The result makes the scheduler look again right away; nothing
        // is due then, so it sleeps until the next attempt.
        assert_eq!(s.poll_timeout(), Some(now + 2));
        s.handle_timeout(now + 2);
        assert!(s.poll_action().is_none());
        if all_ids(&q).is_empty() {
            assert_eq!(s.poll_timeout(), None);
            break;
        }
        let next = s.poll_timeout().unwrap();
        // An early timeout does nothing.
        s.handle_timeout(next - 1);
        assert!(s.poll_action().is_none());
        if times.len() == 5 {
            let dsns = inbox(&q);
            assert_eq!(dsns.len(), 1, "delay DSN after the 5th attempt");
            assert!(dsns[0].contains("Subject: mail delivery delayed\r\n"));
            assert!(dsns[0].contains("Action: delayed\r\nStatus: 4.3.0\r\nRemote-MTA: dns; mx.b.test\r\nDiagnostic-Code: smtp; 451 4.3.0 try later\r\n"));
            assert!(dsns[0].contains("Will-Retry-Until: Sun, 07 Jan 2024 03:04:05 +0000\r\n"));
        }
        now = next;
    }
    assert_eq!(
        times,
        vec![
            0, 450, 1350, 3150, 6750, 13950, 28350, 57150, 114750, 172350, 229950, 287550, 345150,
            402750, 432000
        ]
    );
    let msgs = inbox(&q);
    assert_eq!(msgs.len(), 2, "one delay DSN, one failure DSN");
    let f = &msgs[1];
    let want_head = format!(
        "From: <postmaster@mail.a.test>\r\nTo: <a@a.test>\r\nSubject: mail delivery failed\r\nMessage-ID: <dsn-failed-1-{}@mail.a.test>\r\nReferences: <m1@a.test>\r\n",
        T0 + 432_002
    );
    assert!(f.starts_with(&want_head), "{f}");
    assert!(f.contains("Content-Type: multipart/report; report-type=delivery-status; boundary="));
    assert!(f.contains(
        "<x@b.test>: gave up after 15 attempts over 120 hours; last error: 451 4.3.0 try later\r\n"
    ));
    assert!(f.contains("Reporting-MTA: dns; mail.a.test\r\nArrival-Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n\r\nFinal-Recipient: rfc822; x@b.test\r\nAction: failed\r\nStatus: 5.3.0\r\nRemote-MTA: dns; mx.b.test\r\nDiagnostic-Code: smtp; 451 4.3.0 try later\r\nLast-Attempt-Date: Sun, 07 Jan 2024 03:04:05 +0000\r\n"), "{f}");
    assert!(f.contains("Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 7bit\r\n\r\nReceived: by mail.a.test\r\nFrom: <a@a.test>\r\nTo: <x@b.test>\r\nSubject: hi\r\nMessage-ID: <m1@a.test>\r\n\r\n--"));
    assert!(q.store().check_consistency().unwrap().is_empty());
}

#[test]
fn limits_per_domain_and_total() {
    let mut cfg = QueueConfig::new("mail.a.test");
    cfg.limits = Limits {
        per_domain: 1,
        total: 2,
    };
    let (_d, q) = setup_with(cfg);
    q.add(T0, outgoing(&["x@b.test"])).unwrap();
    q.add(T0, outgoing(&["y@b.test"])).unwrap();
    q.add(T0, outgoing(&["z@c.test"])).unwrap();
    q.add(T0, outgoing(&["w@d.test"])).unwrap();
    let mut s = Scheduler::new(q.clone());
    s.handle_timeout(T0);
    let ids: Vec<u64> = std::iter::from_fn(|| s.poll_action())
        .map(|j| j.id)
        .collect();
    // Entry 2 waits for entry 1 (same domain); entry 4 for the total.
    assert_eq!(ids, vec![1, 3]);
    assert_eq!(s.running(), 2);
    s.handle_result(
        T0 + 1,
        1,
        JobResult {
            recipients: vec![("x@b.test".into(), RcptResult::Delivered)],
            ..JobResult::default()
        },
    );
    s.handle_timeout(s.poll_timeout().unwrap());
    let ids: Vec<u64> = std::iter::from_fn(|| s.poll_action())
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec![2]);
    // Entry 4 was never started: still attempt 0.
    assert_eq!(q.store().queue_get(4).unwrap().unwrap().attempts, 0);
}

#[test]
fn hold_unhold_schedule_drop() {
    let (dir, q) = setup();
    q.add(T0, outgoing(&["x@b.test"])).unwrap();
    q.add(T0, outgoing(&["y@c.test"])).unwrap();
    let by_domain = Filter {
        domain: Some("b.test".into()),
        ..Filter::default()
    };
    let held = q.hold(&by_domain).unwrap();
    assert_eq!(held.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1]);
    assert!(q.hold(&by_domain).unwrap().is_empty(), "already held");
    let mut s = Scheduler::new(q.clone());
    s.handle_timeout(T0);
    let j = s.poll_action().unwrap();
    assert_eq!(j.id, 2);
    assert!(s.poll_action().is_none());
    s.handle_result(T0 + 1, 2, temporary(&j, "connection refused"));
    s.handle_timeout(T0 + 1);
    // The held entry sets no timer; entry 2 is due at T0 + 450.
    assert_eq!(s.poll_timeout(), Some(T0 + 450));

    let e2 = q.store().queue_get(2).unwrap().unwrap();
    assert_eq!(e2.last_error.as_deref(), Some("connection refused"));
    assert_eq!(
        e2.recipients[0].last_error.as_deref(),
        Some("connection refused")
    );
    assert_eq!(e2.recipients[0].state, RcptState::Pending);

    // Schedule entry 2 for now, release entry 1.
    let by_id = Filter {
        ids: vec![2],
        ..Filter::default()
    };
    assert_eq!(q.schedule(&by_id, T0 + 10).unwrap().len(), 1);
    assert_eq!(q.unhold(&Filter::default()).unwrap().len(), 1);
    s.handle_timeout(T0 + 10);
    let ids: Vec<u64> = std::iter::from_fn(|| s.poll_action())
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec![1, 2]);

    // Drop: gone without a DSN, and the file with the last entry.
    let file = dir.path().join("queue").join("2");
    assert!(file.exists());
    let dropped = q.drop_entries(&Filter::default()).unwrap();
    assert_eq!(dropped.len(), 2);
    assert!(!file.exists());
    assert!(all_ids(&q).is_empty());
    assert!(inbox(&q).is_empty());
    // A late result of a dropped entry is ignored.
    s.handle_result(T0 + 20, 1, temporary(&j, "x"));
    assert!(all_ids(&q).is_empty());
    assert!(matches!(q.dump(1), Err(QueueError::NotFound(1))));
    assert!(q.store().check_consistency().unwrap().is_empty());
}

#[test]
fn fail_sends_dsn_and_removes() {
    let (_d, q) = setup();
    q.add(T0, outgoing(&["x@b.test", "y@b.test"])).unwrap();
    assert_eq!(q.dump(1).unwrap(), [PREFIX, MSG].concat());
    let failed = q.fail(T0 + 60, &Filter::default()).unwrap();
    assert_eq!(failed.len(), 1);
    assert!(all_ids(&q).is_empty());
    let msgs = inbox(&q);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert!(m.contains("<x@b.test>: delivery given up by the administrator\r\n<y@b.test>: delivery given up by the administrator\r\n"));
    assert!(m.contains("Final-Recipient: rfc822; x@b.test\r\nAction: failed\r\nStatus: 5.0.0\r\n"));
    assert!(m.contains("Final-Recipient: rfc822; y@b.test\r\nAction: failed\r\nStatus: 5.0.0\r\n"));
    assert!(!m.contains("Last-Attempt-Date"), "never attempted");
    assert!(q.store().check_consistency().unwrap().is_empty());
}

/// A permanent error for one recipient gives a DSN for it at once; the
/// other is retried alone.
#[test]
fn permanent_for_one_recipient_temporary_for_other() {
    let (_d, q) = setup();
    q.add(T0, outgoing(&["x@b.test", "y@b.test"])).unwrap();
    let mut s = Scheduler::new(q.clone());
    s.handle_timeout(T0);
    let j = s.poll_action().unwrap();
    s.handle_result(
        T0 + 3,
        j.id,
        JobResult {
            recipients: vec![
                (
                    "x@b.test".into(),
                    RcptResult::Permanent {
                        detail: "no such user".into(),
                        reply: Some(Reply::with(550, (5, 1, 1), "no such user")),
                    },
                ),
                (
                    "y@b.test".into(),
                    RcptResult::Temporary {
                        detail: "mailbox busy".into(),
                        reply: Some(Reply::new(450, None, "busy")),
                    },
                ),
            ],
            remote_mta: Some("mx.b.test".into()),
            error: None,
        },
    );
    let msgs = inbox(&q);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].contains("\r\n\r\nFinal-Recipient: rfc822; x@b.test\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.b.test\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\nLast-Attempt-Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n"));
    assert!(!msgs[0].contains("rfc822; y@b.test"));
    let e = q.store().queue_get(1).unwrap().unwrap();
    assert_eq!(e.recipients[0].state, RcptState::Failed);
    assert!(e.recipients[0].dsn_done);
    assert_eq!(e.recipients[1].state, RcptState::Pending);
    s.handle_timeout(T0 + 450);
    let j2 = s.poll_action().unwrap();
    assert_eq!(j2.recipients, vec!["y@b.test".to_string()]);
    assert_eq!(j2.attempt, 2);
    s.handle_result(
        T0 + 451,
        j2.id,
        JobResult {
            recipients: vec![("y@b.test".into(), RcptResult::Delivered)],
            ..JobResult::default()
        },
    );
    assert!(all_ids(&q).is_empty());
    assert_eq!(inbox(&q).len(), 1);
}

/// No DSN for the null sender or without a sender account.
#[test]
fn no_dsn_for_null_sender() {
    let (_d, q) = setup();
    let mut m = outgoing(&["x@b.test"]);
    m.mail_from = String::new();
    q.add(T0, m).unwrap();
    let mut m = outgoing(&["x@c.test"]);
    m.sender_account = None;
    q.add(T0, m).unwrap();
    let mut s = Scheduler::new(q.clone());
    s.handle_timeout(T0);
    while let Some(j) = s.poll_action() {
        s.handle_result(T0 + 1, j.id, JobResult::all_permanent(&j, "rejected"));
    }
    assert!(all_ids(&q).is_empty());
    assert!(inbox(&q).is_empty());
}

/// A missing message file: no job, the attempt fails temporarily and the
/// entry stays, listed with the problem.
#[test]
fn missing_file_keeps_entry_visible() {
    let (dir, q) = setup();
    q.add(T0, outgoing(&["x@b.test"])).unwrap();
    std::fs::remove_file(dir.path().join("queue").join("1")).unwrap();
    let mut s = Scheduler::new(q.clone());
    s.handle_timeout(T0);
    assert!(s.poll_action().is_none());
    let e = q.store().queue_get(1).unwrap().unwrap();
    assert_eq!(e.attempts, 1);
    assert!(
        e.last_error
            .as_deref()
            .unwrap()
            .starts_with("reading the queued message failed: read ")
    );
    assert_eq!(s.poll_timeout(), Some(T0 + 450));
    let text = listing::format_list(q.store(), &[e], false).unwrap();
    assert!(text.contains("  MESSAGE FILE MISSING (queue/1): cannot be delivered; `moxide queue fail --id 1` or `drop --id 1`\n"), "{text}");
}

#[test]
fn listing_text() {
    let (_d, q) = setup();
    let mut m = outgoing(&["x@b.test"]);
    m.requiretls = Some(true);
    q.add(T0, m).unwrap();
    q.hold(&Filter::default()).unwrap();
    let es = q.list(&Filter::default()).unwrap();
    assert_eq!(
        listing::format_list(q.store(), &es, false).unwrap(),
        format!(
            "1 from a@a.test to b.test (1 recipient), {} bytes, ON HOLD\n  account a, queued Tue, 02 Jan 2024 03:04:05 +0000\n  attempts 0, last never, next Tue, 02 Jan 2024 03:04:05 +0000\n  sevenbit, requiretls\n  x@b.test pending\n",
            PREFIX.len() + MSG.len()
        )
    );
    assert_eq!(
        listing::format_list(q.store(), &[], true).unwrap(),
        "no matching queue entries\n"
    );
    assert_eq!(listing::summary("held", &es), "held 1 entry: 1\n");
    assert_eq!(
        listing::summary("held", &[]),
        "held no entries (none matched)\n"
    );
}

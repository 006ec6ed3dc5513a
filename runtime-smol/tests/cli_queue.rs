//! `moxide queue …` as an admin runs it on a localserve directory and on a
//! `moxide serve` configuration: exact output and exit statuses, the queue
//! in the store afterwards, and an entry whose message file is gone
//! reported by `list` and `dump` rather than hidden.

use std::path::Path;
use std::sync::Arc;

use moxide_engine::queue::{Filter, NewOutgoing, Queue, QueueConfig};
use moxide_storage::{QueueBody, Store, StoreConfig};

#[path = "common/cli.rs"]
mod cli;

use cli::run_moxide;

/// Tue, 14 Nov 2023 22:13:20 +0000.
const T0: i64 = 1_700_000_000;

/// (stdout, stderr, exit code; -1 for a signal) of `moxide queue ARGS`.
fn queue(args: &[&str]) -> (String, String, i32) {
    let (out, err, code) = run_moxide(["queue"].iter().chain(args), b"").parts();
    (out, err, code.unwrap_or(-1))
}

fn ok(s: &str) -> (String, String, i32) {
    (s.to_string(), String::new(), 0)
}

fn err(s: &str) -> (String, String, i32) {
    (String::new(), format!("moxide queue: {s}\n"), 1)
}

/// Queues one message from mox@localhost for two recipient domains
/// (entries 1 and 2, sharing file 1) and one for c.test (entry 3, file 3)
/// in the store at `data`.
fn fill(data: &Path) {
    let store = Store::open(data, StoreConfig::default()).unwrap();
    let q = Queue::new(Arc::new(store), QueueConfig::new("localhost")).unwrap();
    let msg = NewOutgoing {
        sender_account: Some("mox".into()),
        mail_from: "mox@localhost".into(),
        recipients: vec!["x@a.test".into(), "y@b.test".into(), "z@a.test".into()],
        prefix: b"Received: by localhost\r\n".to_vec(),
        message: b"Subject: hi\r\n\r\nbody\r\n",
        smtputf8: false,
        body: QueueBody::SevenBit,
        requiretls: None,
        transport: None,
    };
    assert_eq!(q.add(T0, msg.clone()).unwrap(), vec![1, 2]);
    let other = NewOutgoing {
        recipients: vec!["w@c.test".into()],
        requiretls: Some(true),
        transport: Some("relay".into()),
        ..msg
    };
    assert_eq!(q.add(T0 + 60, other).unwrap(), vec![3]);
    q.store().persist().unwrap();
}

const ENTRY_1: &str = "1 from mox@localhost to a.test (2 recipients), 45 bytes
  account mox, queued Tue, 14 Nov 2023 22:13:20 +0000
  attempts 0, last never, next Tue, 14 Nov 2023 22:13:20 +0000
  sevenbit
  x@a.test pending
  z@a.test pending
";

const ENTRY_2: &str = "2 from mox@localhost to b.test (1 recipient), 45 bytes
  account mox, queued Tue, 14 Nov 2023 22:13:20 +0000
  attempts 0, last never, next Tue, 14 Nov 2023 22:13:20 +0000
  sevenbit
  y@b.test pending
";

const ENTRY_3: &str = "3 from mox@localhost to c.test (1 recipient), 45 bytes
  account mox, queued Tue, 14 Nov 2023 22:14:20 +0000
  attempts 0, last never, next Tue, 14 Nov 2023 22:14:20 +0000
  sevenbit, requiretls, transport relay
  w@c.test pending
";

#[test]
fn list_filter_hold_schedule_drop_dump_in_a_localserve_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // An empty queue (the directory's store is created with localserve's
    // account).
    assert_eq!(queue(&["--dir", d, "list"]), ok("queue is empty\n"));
    fill(&dir.path().join("data"));

    assert_eq!(
        queue(&["--dir", d, "list"]),
        ok(&format!("{ENTRY_1}{ENTRY_2}{ENTRY_3}"))
    );
    assert_eq!(
        queue(&["--dir", d, "list", "--domain", "A.TEST."]),
        ok(ENTRY_1)
    );
    assert_eq!(
        queue(&["--dir", d, "list", "--id", "3", "--id", "2"]),
        ok(&format!("{ENTRY_2}{ENTRY_3}"))
    );
    assert_eq!(
        queue(&["--dir", d, "list", "--domain", "nowhere.test"]),
        ok("no matching queue entries\n")
    );

    // Mutations need a selection.
    assert_eq!(
        queue(&["--dir", d, "hold"]),
        err("hold: select entries with --id N or --domain DOMAIN, or --all for every entry")
    );
    assert_eq!(
        queue(&["--dir", d, "hold", "--domain", "b.test"]),
        ok("held 1 entry: 2\n")
    );
    assert_eq!(
        queue(&["--dir", d, "hold", "--all"]),
        ok("held 2 entries: 1, 3\n")
    );
    assert_eq!(
        queue(&["--dir", d, "list", "--not-held"]),
        ok("no matching queue entries\n")
    );
    assert_eq!(
        queue(&["--dir", d, "unhold", "--id", "1", "--id", "3"]),
        ok("released 2 entries: 1, 3\n")
    );
    assert_eq!(
        queue(&["--dir", d, "list", "--held"]),
        ok(&ENTRY_2.replacen("45 bytes\n", "45 bytes, ON HOLD\n", 1))
    );
    assert_eq!(
        queue(&["--dir", d, "schedule", "--id", "3", "--at", "1700086400"]),
        ok("next attempt at Wed, 15 Nov 2023 22:13:20 +0000 for 1 entry: 3\n")
    );
    assert_eq!(
        queue(&["--dir", d, "schedule", "--id", "3", "--in", "5x"]),
        err("duration \"5x\": unit must be s, m, h or d")
    );
    assert_eq!(
        queue(&["--dir", d, "list", "--id", "3"]),
        ok(&ENTRY_3.replace(
            "next Tue, 14 Nov 2023 22:14:20 +0000",
            "next Wed, 15 Nov 2023 22:13:20 +0000"
        ))
    );

    // The message as it would be sent: prefix, then the file.
    assert_eq!(
        queue(&["--dir", d, "dump", "--id", "2"]),
        ok("Received: by localhost\r\nSubject: hi\r\n\r\nbody\r\n")
    );
    assert_eq!(
        queue(&["--dir", d, "dump", "--id", "9"]),
        err("no queue entry with id 9")
    );

    // Entry 3's file disappears (a disk problem, a careless admin): list
    // says so loudly, dump names the file, and nothing is dropped.
    std::fs::remove_file(dir.path().join("data/queue/3")).unwrap();
    assert_eq!(
        queue(&["--dir", d, "list", "--id", "3"]),
        ok(&format!(
            "{}  MESSAGE FILE MISSING (queue/3): cannot be delivered; `moxide queue fail --id 3` or `drop --id 3`\n",
            ENTRY_3.replace(
                "next Tue, 14 Nov 2023 22:14:20 +0000",
                "next Wed, 15 Nov 2023 22:13:20 +0000"
            )
        ))
    );
    let (out, e, code) = queue(&["--dir", d, "dump", "--id", "3"]);
    assert_eq!((out.as_str(), code), ("", 1));
    assert!(
        e.starts_with("moxide queue: message file queue/3 of entry 3 is missing"),
        "{e}"
    );

    // drop removes entries without a DSN; the shared file stays while
    // entry 1 still needs it.
    assert_eq!(
        queue(&["--dir", d, "drop", "--id", "2", "--id", "3"]),
        ok("dropped 2 entries: 2, 3\n")
    );
    assert!(dir.path().join("data/queue/1").exists());
    assert_eq!(queue(&["--dir", d, "list"]), ok(ENTRY_1));

    // fail: the sender gets a failure DSN in its Inbox, the entry and its
    // file go.
    assert_eq!(
        queue(&["--dir", d, "fail", "--domain", "a.test"]),
        ok("failed (DSN to the sender) 1 entry: 1\n")
    );
    assert_eq!(queue(&["--dir", d, "list"]), ok("queue is empty\n"));
    assert!(!dir.path().join("data/queue/1").exists());
    let store = Store::open(dir.path().join("data"), StoreConfig::default()).unwrap();
    let q = Queue::new(Arc::new(store), QueueConfig::new("localhost")).unwrap();
    assert!(q.list(&Filter::default()).unwrap().is_empty());
    let mox = q.store().account("mox").unwrap();
    let inbox = mox.mailbox("Inbox").unwrap();
    assert_eq!(inbox.counts.total, 1, "one DSN in mox's Inbox");
    let dsn = mox.messages_in(inbox.id, 1..=u32::MAX).unwrap();
    let text = String::from_utf8(mox.read_message(&dsn[0]).unwrap()).unwrap();
    assert!(text.contains("x@a.test"), "{text}");
    assert!(
        text.contains("delivery given up by the administrator"),
        "{text}"
    );
}

#[test]
fn queue_of_a_configuration_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.pem"), "x").unwrap();
    std::fs::write(d.join("k.pem"), "x").unwrap();
    std::fs::write(
        d.join("moxide.toml"),
        "hostname = \"mail.a.test\"\ndata_dir = \"data\"\n[[listeners]]\nips = [\"127.0.0.1\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nimaps = 0\n",
    )
    .unwrap();
    std::fs::write(d.join("domains.toml"), "[domains.\"a.test\"]\n").unwrap();
    let cfg = d.join("moxide.toml");
    let cfg = cfg.to_str().unwrap();
    assert_eq!(queue(&["--config", cfg, "list"]), ok("queue is empty\n"));
    fill(&d.join("data"));
    assert_eq!(
        queue(&["--config", cfg, "list", "--domain", "b.test"]),
        ok(ENTRY_2)
    );
    // Errors name what is wrong.
    assert_eq!(
        queue(&["--dir", "/nonexistent/q", "list"]),
        err(
            "/nonexistent/q: no such directory (start `moxide localserve --dir /nonexistent/q` once to create it)"
        )
    );
    let missing = d.join("none.toml");
    assert_eq!(
        queue(&["--config", missing.to_str().unwrap(), "list"]),
        err(&format!(
            "{}: no such file (write one; `moxide serve --example-config` prints an example)",
            missing.display()
        ))
    );
    let (_, e, code) = queue(&["--config", cfg, "--dir", "/x", "list"]);
    assert_eq!(code, 2);
    assert!(e.contains("cannot be used with"), "{e}");
}

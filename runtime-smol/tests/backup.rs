//! `moxide backup` of a running localserve (through its control socket)
//! and of a stopped one: the exact report, a copy that verifies clean, the
//! configuration files with their permissions, a localserve started on the
//! backup serving the same messages over IMAPS, and a destination that is
//! not empty refused.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use moxide_storage::NewMessage;

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/smtp_reply.rs"]
mod smtp_reply;

use cli::{BIN, run_moxide};
use common::{Server, free_ports, imaps_inbox};

/// (stdout, stderr, exit code; -1 for a signal) of `moxide ARGS`.
fn moxide(args: &[&std::ffi::OsStr]) -> (String, String, i32) {
    let (out, err, code) = run_moxide(args, b"").parts();
    (out, err, code.unwrap_or(-1))
}

fn backup(dir: &Path, dest: &Path) -> (String, String, i32) {
    moxide(&[
        "backup".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        dest.as_os_str(),
    ])
}

/// A localserve directory (moxide.toml, TLS key and certificate, data)
/// whose Inbox has three messages; returns their total size.
fn fill(dir: &Path) -> u64 {
    let (store, _) = moxide::localserve::open_store(dir).unwrap();
    moxide::localserve::load_or_create_config(dir).unwrap();
    moxide::tls::load_or_create_self_signed(&dir.join("tls")).unwrap();
    let acct = store.account("mox").unwrap();
    let inbox = acct.mailbox("Inbox").unwrap().id;
    let mut bytes = 0;
    for n in 1..=3 {
        let data = format!(
            "From: a@example.org\r\nSubject: backup {n}\r\nMessage-ID: <b{n}@example.org>\r\n\r\nbody {n}\r\n"
        );
        bytes += data.len() as u64;
        let m = NewMessage {
            data: data.as_bytes(),
            received: 1_700_000_000,
            ..NewMessage::default()
        };
        acct.deliver(inbox, &m).unwrap();
    }
    store.persist().unwrap();
    bytes
}

/// The report with the database's entry count (which depends on the
/// schema) replaced by N.
fn masked(out: &str) -> String {
    out.lines()
        .map(|l| match l.strip_prefix("database: ") {
            Some(rest) => {
                let (n, tail) = rest.split_once(' ').unwrap();
                assert!(n.parse::<u64>().unwrap() > 0, "{l}");
                format!("database: N {tail}\n")
            }
            None => format!("{l}\n"),
        })
        .collect()
}

fn want(how: &str, dir: &Path, dest: &Path, bytes: u64) -> String {
    format!(
        "backing up {how}
database: N entries as of one instant, into {dest}/data/db
message files: 3, queue files: 0 (3 hard-linked, 0 copied with 0 bytes)
config: 3 files from {dir} into {dest}
verified: 1 account, 6 mailboxes, 3 messages ({bytes} bytes), 0 queue entries: 0 problems
backup in {dest}
",
        dir = dir.display(),
        dest = dest.display()
    )
}

#[test]
fn backup_of_a_running_localserve_serves_the_same_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ls");
    std::fs::create_dir(&dir).unwrap();
    let bytes = fill(&dir);
    let (imap, imaps) = free_ports();
    let server = Server::start(&dir, imap, imaps);
    let before = imaps_inbox(&dir, imaps);
    assert!(before.contains("* 3 EXISTS\r\n"), "{before}");

    let dest = tmp.path().join("backup");
    let (out, err, code) = backup(&dir, &dest);
    assert_eq!(
        (masked(&out), err.as_str(), code),
        (
            want(
                "the running server's data (control socket)",
                &dir,
                &dest,
                bytes
            ),
            "",
            0
        )
    );
    let (status, _) = server.interrupt();
    assert!(status.success());

    // The TLS key keeps its permissions; the copy verifies clean.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&dest.join("tls/key.pem")),
        mode(&dir.join("tls/key.pem"))
    );
    assert_eq!(
        std::fs::read(dest.join("moxide.toml")).unwrap(),
        std::fs::read(dir.join("moxide.toml")).unwrap()
    );
    let (out, _, code) = moxide(&["verifydata".as_ref(), dest.as_os_str()]);
    assert_eq!(
        (out, code),
        (
            format!(
                "1 account, 6 mailboxes, 3 messages ({bytes} bytes), 0 queue entries: 0 problems\n"
            ),
            0
        )
    );

    // localserve on the backup: the same mailbox, byte for byte.
    let (imap2, imaps2) = free_ports();
    let restored = Server::start(&dest, imap2, imaps2);
    assert_eq!(imaps_inbox(&dest, imaps2), before);
    drop(restored);
}

#[test]
fn backup_of_a_stopped_localserve_and_a_used_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ls");
    std::fs::create_dir(&dir).unwrap();
    let bytes = fill(&dir);
    // A backup directory inside the localserve directory is left out of
    // the configuration copy.
    let dest = dir.join("backup-1");
    let (out, err, code) = backup(&dir, &dest);
    assert_eq!(
        (masked(&out), err.as_str(), code),
        (
            want("the data of a stopped server", &dir, &dest, bytes),
            "",
            0
        )
    );
    assert!(!dest.join("backup-1").exists());

    let (out, err, code) = backup(&dir, &dest);
    assert_eq!(
        (out.as_str(), err, code),
        (
            "",
            format!(
                "moxide backup: {}: the destination exists and is not empty\n",
                dest.display()
            ),
            2
        )
    );
    let inside = dir.join("data").join("b");
    let (_, err, code) = backup(&dir, &inside);
    assert_eq!(
        (err, code),
        (
            format!(
                "moxide backup: {}: the backup cannot go inside the data directory {}\n",
                inside.display(),
                dir.join("data").display()
            ),
            2
        )
    );
    let none = tmp.path().join("none");
    let (_, err, code) = backup(&none, &tmp.path().join("b2"));
    assert_eq!(
        (err, code),
        (
            format!(
                "moxide backup: {}: not a localserve directory with data (no data/db/ in it)\n",
                none.display()
            ),
            2
        )
    );
}

/// Queues a message for two domains (entries 1 and 2, sharing file 1) and
/// one for a third (entry 3, file 3) in the store at `data`.
fn queue_some(data: &Path) {
    use moxide_engine::queue::{NewOutgoing, Queue, QueueConfig};
    let store = moxide_storage::Store::open(data, moxide_storage::StoreConfig::default()).unwrap();
    let q = Queue::new(std::sync::Arc::new(store), QueueConfig::new("mail.a.test")).unwrap();
    let msg = NewOutgoing {
        sender_account: None,
        mail_from: "postmaster@a.test".into(),
        recipients: vec!["x@b.test".into(), "y@c.test".into()],
        prefix: b"Received: by mail.a.test\r\n".to_vec(),
        message: b"Subject: hi\r\n\r\nbody\r\n",
        smtputf8: false,
        body: moxide_storage::QueueBody::SevenBit,
        requiretls: None,
        transport: None,
    };
    assert_eq!(q.add(1_700_000_000, msg.clone()).unwrap(), vec![1, 2]);
    let other = NewOutgoing {
        recipients: vec!["z@d.test".into()],
        ..msg
    };
    assert_eq!(q.add(1_700_000_060, other).unwrap(), vec![3]);
    q.store().persist().unwrap();
}

#[test]
fn backup_of_a_stopped_serve_configuration_with_a_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("etc");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("c.pem"), "x").unwrap();
    std::fs::write(d.join("k.pem"), "x").unwrap();
    let toml = |data: &str| {
        format!(
            "hostname = \"mail.a.test\"\ndata_dir = \"{data}\"\n[[listeners]]\nips = [\"127.0.0.1\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nimaps = 0\n"
        )
    };
    std::fs::write(d.join("moxide.toml"), toml("data")).unwrap();
    std::fs::write(d.join("domains.toml"), "[domains.\"a.test\"]\n").unwrap();
    queue_some(&d.join("data"));
    let cfg = d.join("moxide.toml");
    let list = |cfg: &Path| {
        moxide(&[
            "queue".as_ref(),
            "--config".as_ref(),
            cfg.as_os_str(),
            "list".as_ref(),
        ])
    };
    let listing = list(&cfg);
    assert_eq!((listing.2, listing.0.lines().count() > 10), (0, true));

    let dest = tmp.path().join("b");
    let (out, err, code) = moxide(&[
        "backup".as_ref(),
        "--config".as_ref(),
        cfg.as_os_str(),
        dest.as_os_str(),
    ]);
    assert_eq!(
        (masked(&out), err.as_str(), code),
        (
            format!(
                "backing up the data of a stopped server
database: N entries as of one instant, into {dest}/data/db
message files: 0, queue files: 2 (2 hard-linked, 0 copied with 0 bytes)
config: 4 files from {d} into {dest}
verified: 0 accounts, 0 mailboxes, 0 messages (0 bytes), 3 queue entries: 0 problems
backup in {dest}
",
                d = d.display(),
                dest = dest.display()
            ),
            "",
            0
        )
    );
    // The backup is a configuration to run from: the same queue.
    assert_eq!(list(&dest.join("moxide.toml")), listing);

    // A data directory elsewhere: the report says the copy's data_dir
    // still names it.
    let d2 = tmp.path().join("etc2");
    std::fs::create_dir(&d2).unwrap();
    let data2 = tmp.path().join("var");
    std::fs::write(d2.join("c.pem"), "x").unwrap();
    std::fs::write(d2.join("k.pem"), "x").unwrap();
    std::fs::write(d2.join("moxide.toml"), toml(data2.to_str().unwrap())).unwrap();
    std::fs::write(d2.join("domains.toml"), "[domains.\"a.test\"]\n").unwrap();
    queue_some(&data2);
    let dest2 = tmp.path().join("b2");
    let (out, _, code) = moxide(&[
        "backup".as_ref(),
        "--config".as_ref(),
        d2.join("moxide.toml").as_os_str(),
        dest2.as_os_str(),
    ]);
    assert_eq!(code, 0);
    let note = format!(
        "note: data_dir of the copied moxide.toml still names {}; point it at {}/data to run from the backup\n",
        data2.display(),
        dest2.display()
    );
    assert!(out.contains(&note), "{out}");
}

/// Delivers messages to mox@localhost over SMTP on `port`, one
/// transaction after another on one connection, until `stop`; `done`
/// counts those the server accepted (250 after the data).
fn keep_delivering(
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::Arc<std::sync::atomic::AtomicU32>,
) {
    use std::io::BufReader;
    use std::sync::atomic::Ordering;
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut r = BufReader::new(s);
    let mut exchange = |line: &str| smtp_reply::exchange(&mut r, line);
    assert!(exchange("").starts_with("220 "));
    assert!(exchange("EHLO client.test\r\n").starts_with("250"));
    let mut n = 1;
    while !stop.load(Ordering::SeqCst) {
        assert!(exchange("MAIL FROM:<a@example.org>\r\n").starts_with("250"));
        assert!(exchange("RCPT TO:<mox@localhost>\r\n").starts_with("250"));
        assert!(exchange("DATA\r\n").starts_with("354"));
        let msg = format!(
            "From: a@example.org\r\nSubject: during the backup {n}\r\nMessage-ID: <d{n}@example.org>\r\n\r\nbody {n}\r\n.\r\n"
        );
        let reply = exchange(&msg);
        assert!(reply.starts_with("250"), "{reply}");
        done.store(n, Ordering::SeqCst);
        n += 1;
    }
    exchange("QUIT\r\n");
}

/// The FETCH responses of an [`imaps_inbox`] transcript.
fn fetches(transcript: &str) -> &str {
    let start = transcript.find("* 1 FETCH").unwrap();
    let end = transcript.find("\r\nc OK").unwrap();
    &transcript[start..end]
}

#[test]
fn backup_of_a_running_localserve_while_mail_arrives() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ls");
    std::fs::create_dir(&dir).unwrap();
    fill(&dir);
    let (imap, imaps) = free_ports();
    let server = Server::start(&dir, imap, imaps);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU32::new(0));
    let sender = {
        let (port, stop, done) = (server.smtp, stop.clone(), done.clone());
        std::thread::spawn(move || keep_delivering(port, stop, done))
    };
    while done.load(Ordering::SeqCst) < 3 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before = done.load(Ordering::SeqCst);
    let dest = tmp.path().join("backup");
    let (out, err, code) = backup(&dir, &dest);
    let during = done.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    sender.join().unwrap();
    assert_eq!((err.as_str(), code), ("", 0), "{out}");
    assert!(
        out.starts_with("backing up the running server's data (control socket)\n"),
        "{out}"
    );
    assert!(out.contains(" 0 queue entries: 0 problems\n"), "{out}");
    let source = imaps_inbox(&dir, imaps);
    let (status, _) = server.interrupt();
    assert!(status.success());

    let (out, _, code) = moxide(&["verifydata".as_ref(), dest.as_os_str()]);
    assert!(
        out.ends_with(" 0 queue entries: 0 problems\n") && code == 0,
        "{out}"
    );
    let (imap2, imaps2) = free_ports();
    let restored = Server::start(&dest, imap2, imaps2);
    let copy = imaps_inbox(&dest, imaps2);
    drop(restored);
    // The backup holds the first messages of the source, byte for byte:
    // at least those delivered before it started, at most those delivered
    // by the time it ended (plus one accepted but not yet counted).
    let n = fetches(&copy).matches(" FETCH (").count() as u32;
    assert!(
        (3 + before..=3 + during + 1).contains(&n),
        "{n} messages, {before} delivered before, {during} by the end"
    );
    assert!(
        fetches(&source).starts_with(fetches(&copy)),
        "source:\n{source}\ncopy:\n{copy}"
    );
}

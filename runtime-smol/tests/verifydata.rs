//! `moxide verifydata` on real data directories: a clean localserve store
//! passes with the exact summary; a deleted, a truncated and a stray
//! message file are each reported with their exact line and exit status 1;
//! a data directory a server runs on, and a directory that is none, are
//! refused with exit status 2.

use std::path::Path;

use moxide_storage::NewMessage;

#[path = "common/cli.rs"]
mod cli;

use cli::run_moxide;

/// (stdout, stderr, exit code) of `moxide verifydata DIR`.
fn verifydata(dir: &Path) -> (String, String, i32) {
    verifydata_args(&[dir.as_os_str()])
}

/// (stdout, stderr, exit code; -1 for a signal) of `moxide verifydata
/// ARGS`.
fn verifydata_args(args: &[&std::ffi::OsStr]) -> (String, String, i32) {
    let verifydata: &std::ffi::OsStr = "verifydata".as_ref();
    let (out, err, code) = run_moxide([verifydata].iter().chain(args), b"").parts();
    (out, err, code.unwrap_or(-1))
}

fn message(n: u32) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\nbody {n}\r\n").into_bytes()
}

const PREFIX: &[u8] = b"Received: from example.org by localhost\r\n";

/// A localserve directory whose account `mox` has three messages in its
/// Inbox, the second with a prefix; returns the account id and the sum of
/// the message sizes.
fn fill(dir: &Path) -> (u32, u64) {
    let (store, created) = moxide::localserve::open_store(dir).unwrap();
    assert!(created);
    let acct = store.account("mox").unwrap();
    let inbox = acct.mailbox("Inbox").unwrap().id;
    let mut bytes = 0;
    for n in 1..=3 {
        let data = message(n);
        let prefix = if n == 2 { PREFIX.to_vec() } else { Vec::new() };
        bytes += (data.len() + prefix.len()) as u64;
        acct.deliver(
            inbox,
            &NewMessage {
                data: &data,
                prefix,
                received: 1_700_000_000,
                ..NewMessage::default()
            },
        )
        .unwrap();
    }
    store.persist().unwrap();
    (acct.id(), bytes)
}

#[test]
fn clean_store_passes_and_damage_is_reported_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let (id, bytes) = fill(dir.path());
    let summary = format!(
        "1 account, 6 mailboxes, 3 messages ({bytes} bytes), 0 queue entries: 0 problems\n"
    );
    // The localserve directory and its data directory are both accepted.
    assert_eq!(verifydata(dir.path()), (summary.clone(), String::new(), 0));
    let data = dir.path().join("data");
    assert_eq!(verifydata(&data), (summary.clone(), String::new(), 0));
    // As for the other admin commands: --dir DIR, --config PATH.
    assert_eq!(
        verifydata_args(&["--dir".as_ref(), dir.path().as_os_str()]),
        (summary.clone(), String::new(), 0)
    );
    let etc = tempfile::tempdir().unwrap();
    for f in ["c.pem", "k.pem"] {
        std::fs::write(etc.path().join(f), "x").unwrap();
    }
    std::fs::write(etc.path().join("domains.toml"), "[domains.\"a.test\"]\n").unwrap();
    let cfg = etc.path().join("moxide.toml");
    std::fs::write(
        &cfg,
        format!(
            "hostname = \"mail.a.test\"\ndata_dir = \"{}\"\n[[listeners]]\nips = [\"127.0.0.1\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nimaps = 0\n",
            data.display()
        ),
    )
    .unwrap();
    assert_eq!(
        verifydata_args(&["--config".as_ref(), cfg.as_os_str()]),
        (summary, String::new(), 0)
    );
    let (out, err, code) =
        verifydata_args(&[data.as_os_str(), "--dir".as_ref(), dir.path().as_os_str()]);
    assert_eq!((out.as_str(), code), ("", 2));
    assert!(err.contains("cannot be used with"), "{err}");

    let bucket = data.join(format!("accounts/{id}/msg/0"));
    std::fs::remove_file(bucket.join("1")).unwrap();
    std::fs::write(bucket.join("2"), b"From: a@example.org\r\n").unwrap();
    std::fs::write(bucket.join("9"), b"stray").unwrap();
    std::fs::write(bucket.join("notes.txt"), b"stray").unwrap();
    // Beside the buckets, and in the wrong bucket (8192 and up go in 1/).
    std::fs::write(data.join(format!("accounts/{id}/msg/README")), b"x").unwrap();
    std::fs::write(bucket.join("8193"), b"stray").unwrap();
    // An account directory of no account.
    std::fs::create_dir_all(data.join("accounts/77/msg/0")).unwrap();
    let size2 = PREFIX.len() + message(2).len();
    let want = [
        format!(
            "account \"mox\": mailbox \"Inbox\" uid 1: message file accounts/{id}/msg/0/1 of message id 1 missing"
        ),
        format!(
            "account \"mox\": mailbox \"Inbox\" uid 2: size {size2} but prefix {} + file 21 = {} (file accounts/{id}/msg/0/2)",
            PREFIX.len(),
            PREFIX.len() + 21
        ),
        format!("account \"mox\": unexpected file accounts/{id}/msg/0/notes.txt"),
        format!("account \"mox\": unexpected file accounts/{id}/msg/0/8193"),
        format!("account \"mox\": unexpected file accounts/{id}/msg/README"),
        "accounts/77: belongs to no account (left by an interrupted account removal?)".to_string(),
        format!(
            "account \"mox\": orphan file accounts/{id}/msg/0/9: message id 9 is not a live message"
        ),
    ];
    let (out, err, code) = verifydata(dir.path());
    assert_eq!((err.as_str(), code), ("", 1));
    let mut lines: Vec<&str> = out.lines().collect();
    let last = lines.pop().unwrap();
    assert_eq!(
        last,
        format!("1 account, 6 mailboxes, 3 messages ({bytes} bytes), 0 queue entries: 7 problems")
    );
    // Problems of the file walk come in directory order: compare sorted.
    lines.sort_unstable();
    let mut want_sorted: Vec<&str> = want.iter().map(String::as_str).collect();
    want_sorted.sort_unstable();
    assert_eq!(lines, want_sorted);
    // The per-message lines come first, in UID order.
    assert!(out.starts_with(&format!("{}\n{}\n", want[0], want[1])));
}

#[test]
fn running_server_and_non_data_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let data = dir.path().join("data");
    // A server of this data directory answers on its control socket.
    let sock = moxide::ctl::CtlSocket::bind(&data).unwrap();
    let (out, err, code) = verifydata(dir.path());
    assert_eq!(
        (out.as_str(), err, code),
        (
            "",
            format!(
                "moxide verifydata: {}: a server is running on this data directory; stop it first, or verify a backup (`moxide backup DEST`, then `moxide verifydata DEST`)\n",
                data.display()
            ),
            2
        )
    );
    drop(sock);
    // A process holding the database (without a control socket).
    let held = moxide_storage::Store::open(&data, moxide_storage::StoreConfig::default()).unwrap();
    let (_, err, code) = verifydata(&data);
    assert_eq!(code, 2);
    assert!(err.contains(": a server is running on this data directory; stop it first"));
    drop(held);

    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        verifydata(empty.path()),
        (
            String::new(),
            format!(
                "moxide verifydata: {}: not a moxide data directory (neither db/ nor data/db/ is in it)\n",
                empty.path().display()
            ),
            2
        )
    );
    let missing = empty.path().join("nothing");
    assert_eq!(
        verifydata(&missing),
        (
            String::new(),
            format!(
                "moxide verifydata: {}: no such directory\n",
                missing.display()
            ),
            2
        )
    );
}

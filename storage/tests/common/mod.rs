//! Shared test helpers.
#![allow(dead_code)]

use moxide_storage::{Account, Flags, NewAccount, NewMessage, Store, StoreConfig};

/// A store in a fresh temporary directory.
pub fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
    (dir, s)
}

/// A store with account "mjl" (address mjl@example.org) and only Inbox.
pub fn account() -> (tempfile::TempDir, Store, Account) {
    let (d, s) = store();
    let a = s
        .create_account(
            "mjl",
            NewAccount {
                addresses: vec!["mjl@example.org".into()],
                password: Some("test1234".into()),
                ..NewAccount::default()
            },
        )
        .unwrap();
    (d, s, a)
}

/// A small message with a Message-ID derived from `n`.
pub fn msg(n: u32) -> Vec<u8> {
    format!(
        "From: <a@example.org>\r\nTo: <mjl@example.org>\r\nSubject: test {n}\r\nMessage-ID: <m{n}@example.org>\r\n\r\nbody of message {n}\r\n"
    )
    .into_bytes()
}

/// A NewMessage over `data` with fixed times.
pub fn new_msg(data: &[u8]) -> NewMessage<'_> {
    NewMessage {
        data,
        prefix: Vec::new(),
        flags: Flags::NONE,
        keywords: Vec::new(),
        received: 1_700_000_000,
        received_tz: 60,
        saved: 1_700_000_001,
    }
}

/// Fail with every problem the consistency check reports.
pub fn assert_consistent(s: &Store) {
    let problems = s.check_consistency().unwrap();
    assert!(
        problems.is_empty(),
        "consistency problems:\n{}",
        problems.join("\n")
    );
}

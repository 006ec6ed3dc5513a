//! What both engine benches (`imap_session`, `fetch_cpu`) share: the
//! account they import into, the bulk import, an IMAP session over the
//! store, feeding it one command, and the thread's CPU clock.
#![allow(dead_code)] // each bench uses a part

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use moxide_engine::imap::{ImapConfig, PeerInfo, Session, WallClock};
use moxide_proto::conn::Conn;
use moxide_storage::{Account, NewAccount, NewMessage, Store};

/// CPU time of this thread in ns (`/proc/thread-self/schedstat`): the
/// session runs on it, so a difference is the server's CPU per command.
/// Yields first: the kernel brings the figure up to date when the thread
/// is scheduled, otherwise it may lag by up to a tick.
pub fn thread_cpu_ns() -> u64 {
    std::thread::yield_now();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The account `mox@localhost` / `moxmoxmox` with the default mailboxes.
pub fn create_mox_account(store: &Store) -> Account {
    store
        .create_account(
            "mox",
            NewAccount {
                addresses: vec!["mox@localhost".into()],
                password: Some("moxmoxmox".into()),
                quota: 0,
                default_mailboxes: true,
            },
        )
        .expect("account")
}

/// Imports `bodies` into the account's Inbox, 500 per transaction.
pub fn import_into_inbox(acct: &Account, bodies: &[String]) {
    let inbox = acct.mailbox("Inbox").expect("inbox");
    for chunk in bodies.chunks(500) {
        let msgs: Vec<NewMessage<'_>> = chunk
            .iter()
            .map(|m| NewMessage {
                data: m.as_bytes(),
                ..Default::default()
            })
            .collect();
        acct.import(inbox.id, &msgs).expect("import");
    }
}

/// An IMAP session on `store` from 127.0.0.1 without TLS, plaintext
/// login allowed, its clock starting at `now`.
pub fn session(store: Store, now: Instant) -> Session {
    let cfg = Arc::new(ImapConfig {
        allow_plaintext_auth: true,
        ..ImapConfig::default()
    });
    Session::new(
        cfg,
        Arc::new(store),
        PeerInfo {
            ip: "127.0.0.1".parse::<IpAddr>().expect("ip"),
            tls: false,
            tls_exporter: None,
            client_key: None,
        },
        WallClock {
            unix_at: 1_700_000_000,
            instant_at: now,
        },
        Box::new(|| [1; 18]),
    )
}

/// Feeds `tag cmd` and drains the output until the tagged response;
/// returns the bytes written and whether the tagged response was OK.
pub fn run(s: &mut Session, now: Instant, tag: &str, cmd: &str) -> (usize, bool) {
    s.handle_input(now, format!("{tag} {cmd}\r\n").as_bytes());
    let ok = format!("{tag} OK");
    let mut total = 0;
    let mut buf = Vec::new();
    let mut tail: Vec<u8> = Vec::new();
    loop {
        buf.clear();
        s.poll_transmit(&mut buf);
        if buf.is_empty() {
            return (total, false);
        }
        total += buf.len();
        // The tagged response is the last line of the last chunk: look at
        // the tail only, so the harness adds little to the CPU measured.
        tail.clear();
        tail.extend_from_slice(&buf[buf.len().saturating_sub(4096)..]);
        let text = String::from_utf8_lossy(&tail);
        let last = text.trim_end().rsplit("\r\n").next().unwrap_or_default();
        if last.starts_with(&format!("{tag} ")) {
            return (total, last.starts_with(&ok));
        }
    }
}

//! IMAP session throughput on the bare core: FETCH of a whole mailbox
//! (metadata and full messages), SEARCH TEXT over every message, STORE
//! on all. Prints figures; run with `cargo bench -p moxide-engine`
//! (`MESSAGES=50000` for a bigger mailbox, `FLAGS_ROUNDS=N` to repeat the
//! `UID FETCH 1:* (FLAGS)` that runs first, `FLAGS_ONLY=1` to run only
//! the flags commands, e.g. under a profiler). The flags commands report
//! the CPU time of the thread (`/proc/thread-self/schedstat`), the best
//! of the rounds: the session runs on this thread, so that is the
//! server's CPU per command.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use moxide_engine::imap::{ImapConfig, PeerInfo, Session, WallClock};
use moxide_proto::conn::Conn;
use moxide_storage::{NewAccount, NewMessage, Store, StoreConfig};

fn message(i: usize) -> String {
    format!(
        "From: Sender {i} <s{i}@example.org>\r\nTo: mox@localhost\r\nSubject: message number {i}\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{i}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(30)
    )
}

/// CPU time of the calling thread in nanoseconds (0 where unavailable).
/// The kernel brings a running thread's figure up to date when it is
/// scheduled, so the thread yields first.
fn thread_cpu_ns() -> u64 {
    std::thread::yield_now();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Feeds a command and drains the output until the tagged response.
fn run(s: &mut Session, now: Instant, cmd: &str) -> usize {
    s.handle_input(now, format!("{cmd}\r\n").as_bytes());
    let tag = cmd.split(' ').next().unwrap_or_default().to_string();
    let mut total = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        s.poll_transmit(&mut buf);
        if buf.is_empty() {
            break;
        }
        total += buf.len();
        // The tagged response ends the output: look at its tail only, so
        // the harness adds little to the CPU time measured.
        let tail = &buf[buf.len().saturating_sub(256)..];
        let text = String::from_utf8_lossy(tail);
        if text.contains(&format!("\r\n{tag} OK")) || text.starts_with(&format!("{tag} OK")) {
            break;
        }
    }
    total
}

fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let messages = env("MESSAGES", 5000);
    let flags_rounds = env("FLAGS_ROUNDS", 5);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreConfig::default()).expect("open");
    let acct = store
        .create_account(
            "mox",
            NewAccount {
                addresses: vec!["mox@localhost".into()],
                password: Some("moxmoxmox".into()),
                quota: 0,
                default_mailboxes: true,
            },
        )
        .expect("account");
    let inbox = acct.mailbox("Inbox").expect("inbox");
    let bodies: Vec<String> = (0..messages).map(message).collect();
    let t = Instant::now();
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
    println!("import {messages} messages: {:?}", t.elapsed());
    // Into tables, as a server's store is once its memtables were flushed.
    store.flush().expect("flush");

    let now = Instant::now();
    let cfg = Arc::new(ImapConfig {
        allow_plaintext_auth: true,
        ..ImapConfig::default()
    });
    let mut s = Session::new(
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
    );
    run(&mut s, now, "a0 NOOP");
    run(&mut s, now, "a1 LOGIN mox moxmoxmox");
    run(&mut s, now, "a2 SELECT INBOX");
    // The best of `flags_rounds`: the bulk of a client's resynchronisation.
    for cmd in [
        "c1 UID FETCH 1:* (FLAGS)",
        "c2 FETCH 1:* (FLAGS)",
        "c3 UID FETCH 1:* (FLAGS MODSEQ)",
        "c4 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
    ] {
        let (mut best, mut best_cpu) = (f64::MAX, u64::MAX);
        let mut bytes = 0;
        for _ in 0..flags_rounds {
            let (t, cpu) = (Instant::now(), thread_cpu_ns());
            bytes = run(&mut s, now, cmd);
            best_cpu = best_cpu.min(thread_cpu_ns().saturating_sub(cpu));
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{cmd:45} {:>8.1} ms  {:>9} bytes out  {:>8.0} msg/s  {:>6.2} ms CPU (best of {flags_rounds})",
            best * 1000.0,
            bytes,
            messages as f64 / best,
            best_cpu as f64 / 1e6
        );
    }
    if env("FLAGS_ONLY", 0) == 1 {
        return;
    }
    for cmd in [
        "b1 FETCH 1:* (UID FLAGS RFC822.SIZE)",
        "b2 FETCH 1:* (ENVELOPE BODYSTRUCTURE)",
        "b3 UID FETCH 1:* BODY.PEEK[]",
        "b4 SEARCH TEXT \"number 4999\"",
        "b5 UID SEARCH UNSEEN",
        "b6 STORE 1:* +FLAGS.SILENT (\\Seen)",
        "b7 SORT (SUBJECT) UTF-8 ALL",
    ] {
        let t = Instant::now();
        let bytes = run(&mut s, now, cmd);
        let el = t.elapsed();
        println!(
            "{cmd:45} {:>8.1} ms  {:>9} bytes out  {:>8.0} msg/s",
            el.as_secs_f64() * 1000.0,
            bytes,
            messages as f64 / el.as_secs_f64()
        );
    }
}

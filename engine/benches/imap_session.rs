//! IMAP session throughput on the bare core: FETCH of a whole mailbox
//! (metadata and full messages), SEARCH TEXT over every message, STORE
//! on all. Prints figures; run with `cargo bench -p moxide-engine`
//! (`MESSAGES=50000` for a bigger mailbox, `FLAGS_ROUNDS=N` to repeat the
//! `UID FETCH 1:* (FLAGS)` that runs first, `FLAGS_ONLY=1` to run only
//! the flags commands, e.g. under a profiler). The flags commands report
//! the CPU time of the thread (`/proc/thread-self/schedstat`), the best
//! of the rounds: the session runs on this thread, so that is the
//! server's CPU per command.

use std::time::Instant;

use moxide_engine::imap::Session;
use moxide_storage::{Store, StoreConfig};

mod common;
use common::{create_mox_account, import_into_inbox, session, thread_cpu_ns};

fn message(i: usize) -> String {
    format!(
        "From: Sender {i} <s{i}@example.org>\r\nTo: mox@localhost\r\nSubject: message number {i}\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{i}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(30)
    )
}

/// CPU time of the calling thread in nanoseconds (0 where unavailable).
/// The kernel brings a running thread's figure up to date when it is
/// scheduled, so the thread yields first.
/// Feeds `TAG COMMAND` (one string) and drains the output until the
/// tagged response; returns the bytes written.
fn run(s: &mut Session, now: Instant, line: &str) -> usize {
    let (tag, cmd) = line.split_once(' ').unwrap_or((line, ""));
    common::run(s, now, tag, cmd).0
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
    let acct = create_mox_account(&store);
    let bodies: Vec<String> = (0..messages).map(message).collect();
    let t = Instant::now();
    import_into_inbox(&acct, &bodies);
    println!("import {messages} messages: {:?}", t.elapsed());
    // Into tables, as a server's store is once its memtables were flushed.
    store.flush().expect("flush");

    let now = Instant::now();
    let mut s = session(store, now);
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

//! Storage benchmark (run by hand: `cargo bench -p moxide-storage`).
//!
//! - bulk import of N (default 100,000) 10 KB messages, messages/s
//!   (target: 5,000/s or more);
//! - metadata on disk: database directory size / message bytes (target: at
//!   most 10%);
//! - opening the store and the account and listing its mailboxes, in a fresh
//!   process: time (target: under 50 ms) and memory (target: under 20 MB).
//!
//! `MOXIDE_BENCH_N` sets N; `MOXIDE_BENCH_DIR` a directory to use (default: a
//! temporary directory).

use std::path::Path;
use std::time::Instant;

use moxide_storage::{Flags, NewAccount, NewMessage, Store, StoreConfig};

const SIZE: usize = 10 * 1024;

fn message(n: u32) -> Vec<u8> {
    let mut m = format!(
        "Date: Mon, 30 Nov 2026 03:00:00 +0000\r\nFrom: Sender {n} <sender{}@example.org>\r\nTo: Receiver <rcpt@example.com>\r\n\
         Subject: Benchmark message number {n}\r\nMessage-ID: <bench{n}.{}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n",
        n % 97,
        n.wrapping_mul(2_654_435_761)
    )
    .into_bytes();
    let mut i = 0u32;
    while m.len() < SIZE {
        let line = format!(
            "Line {i} of message {n}: the quick brown fox jumps over the lazy dog {}.\r\n",
            n ^ i
        );
        m.extend_from_slice(line.as_bytes());
        i += 1;
    }
    m.truncate(SIZE - 2);
    m.extend_from_slice(b"\r\n");
    m
}

fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Bytes allocated on disk under `p` (fjall preallocates its journal, so
/// file lengths overstate it).
fn dir_size(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            total += if md.is_dir() {
                dir_size(&e.path())
            } else {
                md.blocks() * 512
            };
        }
    }
    total
}

/// Child mode: open the store, then the account (and list its mailboxes),
/// reporting time and memory of each step.
fn open_only(dir: &str) {
    let rss0 = status_kb("VmRSS:");
    let t = Instant::now();
    let store = Store::open(dir, StoreConfig::default()).unwrap();
    let t_store = t.elapsed();
    let rss1 = status_kb("VmRSS:");
    let t = Instant::now();
    let acct = store.account("bench").unwrap();
    let mbs = acct.mailboxes().unwrap();
    let inbox = acct.mailbox("Inbox").unwrap();
    let t_acct = t.elapsed();
    let rss2 = status_kb("VmRSS:");
    let t = Instant::now();
    let uids = acct.uids(inbox.id).unwrap();
    let t_uids = t.elapsed();
    let hwm = status_kb("VmHWM:");
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "open: store {:.1} ms (RSS +{:.1} MB), account + {} mailbox(es) with counts ({} messages) {:.2} ms (RSS +{:.2} MB); total {:.1} ms, RSS +{:.1} MB, peak {:.1} MB",
        t_store.as_secs_f64() * 1e3,
        mb(rss1.saturating_sub(rss0)),
        mbs.len(),
        inbox.counts.exists(),
        t_acct.as_secs_f64() * 1e3,
        mb(rss2.saturating_sub(rss1)),
        (t_store + t_acct).as_secs_f64() * 1e3,
        mb(rss2.saturating_sub(rss0)),
        mb(hwm),
    );
    println!(
        "select: UID list of {} messages in {:.1} ms",
        uids.len(),
        t_uids.as_secs_f64() * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--open-only") {
        open_only(&args[i + 1]);
        return;
    }
    let n: u32 = std::env::var("MOXIDE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var("MOXIDE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_path_buf());
    {
        let store = Store::open(&dir, StoreConfig::default()).unwrap();
        let acct = store
            .create_account("bench", NewAccount::default())
            .unwrap();
        let inbox = acct.mailbox("Inbox").unwrap().id;
        let chunk = 1000u32;
        let mut total_bytes = 0u64;
        let mut gen_time = 0.0;
        let t = Instant::now();
        let mut i = 0;
        while i < n {
            let g = Instant::now();
            let datas: Vec<Vec<u8>> = (i..(i + chunk).min(n)).map(message).collect();
            gen_time += g.elapsed().as_secs_f64();
            let msgs: Vec<NewMessage<'_>> = datas
                .iter()
                .map(|d| NewMessage {
                    data: d,
                    prefix: Vec::new(),
                    flags: Flags::NONE,
                    keywords: Vec::new(),
                    received: 1_700_000_000,
                    received_tz: 0,
                    saved: 1_700_000_000,
                })
                .collect();
            total_bytes += datas.iter().map(|d| d.len() as u64).sum::<u64>();
            acct.import(inbox, &msgs).unwrap();
            i += chunk;
        }
        let secs = t.elapsed().as_secs_f64() - gen_time;
        println!(
            "import: {n} messages of {} bytes in {secs:.2} s = {:.0} messages/s ({:.1} MB/s); generating them took {gen_time:.2} s (not counted)",
            SIZE,
            f64::from(n) / secs,
            total_bytes as f64 / secs / 1e6
        );
        let db_now = dir_size(&dir.join("db"));
        store.flush().unwrap();
        drop(acct);
        drop(store);
        // Reopen once so fjall drops journals whose memtables are flushed.
        let store = Store::open(&dir, StoreConfig::default()).unwrap();
        drop(store);
        let db = dir_size(&dir.join("db"));
        let files = dir_size(&dir.join("accounts"));
        println!(
            "disk: message files {:.1} MB, database {:.1} MB = {:.2}% of message bytes (right after import, journals included: {:.1} MB = {:.2}%)",
            files as f64 / 1e6,
            db as f64 / 1e6,
            db as f64 * 100.0 / total_bytes as f64,
            db_now as f64 / 1e6,
            db_now as f64 * 100.0 / total_bytes as f64,
        );
    }
    let exe = std::env::current_exe().unwrap();
    for _ in 0..3 {
        let out = std::process::Command::new(&exe)
            .arg("--open-only")
            .arg(&dir)
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
}

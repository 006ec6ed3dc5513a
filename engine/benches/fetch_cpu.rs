//! Server CPU per bulk IMAP command through the engine session, for issue
//! 4's comparison with Dovecot: `FETCH 1:* (ENVELOPE)`, a Thunderbird-like
//! header sync, `SEARCH TEXT` and `SEARCH SUBJECT`, each run `ROUNDS` times (default 5),
//! printing the CPU time of the session thread (from
//! `/proc/thread-self/schedstat`, nanoseconds) per run, the best and the
//! median, and the response size.
//!
//! `STORE=DIR` benchmarks a copy of a moxide data directory (one with
//! `db/` and `accounts/`, e.g. `/work/targets/mem/store50k/data`, kept by
//! `bench/imap-vs-dovecot/run.sh` with `KEEP=1`: the benchmark's messages);
//! the copy is made in a temporary directory, so DIR is never modified
//! (`COPY=DIR2`: copy to DIR2 instead and keep it; a later run with the
//! same `COPY` reuses it without copying, e.g. under a profiler).
//! Without it, `MESSAGES` (default 5000) generated messages with varied
//! headers are imported first. `USER_NAME`/`PASS` (default `mox@localhost` /
//! `moxmoxmox`), `ONLY=substring` runs only the matching commands (e.g.
//! `ONLY=ENVELOPE` under `perf record`).
//!
//!     STORE=/work/targets/mem/store50k/data ONLY=ENVELOPE \
//!         cargo bench -p moxide-engine --bench fetch_cpu

use std::path::Path;
use std::time::Instant;

use moxide_storage::{Store, StoreConfig};

mod common;
use common::{create_mox_account, import_into_inbox, run, session, thread_cpu_ns};

/// The commands measured, in order.
const COMMANDS: &[&str] = &[
    "UID FETCH 1:* (FLAGS)",
    "FETCH 1:* (ENVELOPE)",
    "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)",
    "UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])",
    "SEARCH TEXT zanzibarqua",
    "SEARCH SUBJECT zanzibarqua",
];

/// CPU time of the calling thread in nanoseconds (first field of
/// `/proc/thread-self/schedstat`).
/// Copies a directory tree (regular files and directories).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

const NAMES: &[&str] = &[
    "Anna Schmidt",
    "Bob O'Neill",
    "Chloé Martin",
    "Dmitri Ivanov",
    "Eve Johnson",
    "Fatima Zahra",
];
const SUBJECTS: &[&str] = &[
    "Quarterly figures",
    "Re: lunch on friday",
    "Fwd: travel plans",
    "Build broken again",
    "Minutes of the meeting",
];

/// One address with a display name, RFC 2047-encoded when not ASCII.
fn addr(i: usize) -> String {
    let n = NAMES[i % NAMES.len()];
    let local = n.split(' ').next().unwrap_or("x").to_lowercase();
    let dom = ["example.org", "example.com", "mail.example.net"][i % 3];
    if n.is_ascii() {
        format!("\"{n}\" <{local}{i}@{dom}>")
    } else {
        let q: String = n.bytes().map(|b| format!("={b:02X}")).collect();
        format!("=?utf-8?Q?{q}?= <{local}{i}@{dom}>")
    }
}

/// A generated message: varied From/To/Cc/Subject/In-Reply-To, 2-6 KB of
/// text; one in a hundred has the word the SEARCH looks for.
fn message(i: usize) -> String {
    let mut m = format!(
        "Date: Mon, {} Nov 2026 10:{:02}:00 +0100\r\nFrom: {}\r\nTo: {}, {}\r\n",
        1 + i % 28,
        i % 60,
        addr(i),
        addr(i * 7 + 1),
        addr(i * 13 + 2)
    );
    if i.is_multiple_of(3) {
        m.push_str(&format!("Cc: {}\r\n", addr(i + 5)));
    }
    m.push_str(&format!(
        "Subject: {} #{i}\r\nMessage-ID: <{i}.{:x}@mail.example.com>\r\n",
        SUBJECTS[i % SUBJECTS.len()],
        i * 2_654_435_761
    ));
    if i % 2 == 1 {
        m.push_str(&format!("In-Reply-To: <{}.0@mail.example.com>\r\n", i / 2));
    }
    m.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    let words = if i % 100 == 37 {
        "zanzibarqua lorem ipsum "
    } else {
        "lorem ipsum dolor sit amet "
    };
    let line = format!("{}\r\n", words.repeat(60 / words.len() + 1));
    for _ in 0..(30 + i % 60) {
        m.push_str(&line);
    }
    m
}

/// A store with the messages to benchmark, in `dir`.
fn prepare(dir: &Path) -> Store {
    if let Ok(src) = std::env::var("STORE") {
        let t = Instant::now();
        let kept = std::env::var("COPY").ok();
        let dir = kept.as_deref().map_or(dir, Path::new);
        if kept.is_none() || !dir.exists() {
            copy_tree(Path::new(&src), dir).expect("copy STORE");
        }
        let store = Store::open(dir, StoreConfig::default()).expect("open");
        println!("copied and opened {src}: {:?}", t.elapsed());
        return store;
    }
    let messages = std::env::var("MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000usize);
    let store = Store::open(dir, StoreConfig::default()).expect("open");
    let acct = create_mox_account(&store);
    let t = Instant::now();
    let bodies: Vec<String> = (0..messages).map(message).collect();
    import_into_inbox(&acct, &bodies);
    println!("imported {messages} messages: {:?}", t.elapsed());
    store
}

fn main() {
    let env = |name: &str| std::env::var(name).ok();
    let rounds: usize = env("ROUNDS").and_then(|v| v.parse().ok()).unwrap_or(5);
    let only = env("ONLY");
    let user = env("USER_NAME").unwrap_or_else(|| "mox@localhost".into());
    let pass = env("PASS").unwrap_or_else(|| "moxmoxmox".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let store = prepare(dir.path());
    // Into tables, as a server's store is once it was idle.
    store.flush().expect("flush");

    let now = Instant::now();
    let mut s = session(store, now);
    run(&mut s, now, "a0", "NOOP");
    let (_, ok) = run(&mut s, now, "a1", &format!("LOGIN {user} {pass}"));
    assert!(ok, "LOGIN {user} failed (USER_NAME, PASS)");
    let (_, ok) = run(&mut s, now, "a2", "SELECT INBOX");
    assert!(ok, "SELECT INBOX failed");
    for cmd in COMMANDS {
        if only.as_deref().is_some_and(|o| !cmd.contains(o)) {
            continue;
        }
        let mut cpu = Vec::new();
        let mut bytes = 0;
        for r in 0..rounds {
            let c0 = thread_cpu_ns();
            let (b, ok) = run(&mut s, now, &format!("r{r}"), cmd);
            cpu.push(thread_cpu_ns() - c0);
            assert!(ok, "{cmd} failed");
            bytes = b;
        }
        cpu.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        let short: String = cmd.chars().take(60).collect();
        println!(
            "{short:60} cpu best {:>8.1} ms  median {:>8.1} ms  {bytes:>9} bytes",
            ms(cpu[0]),
            ms(cpu[cpu.len() / 2]),
        );
    }
}

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

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use moxide_engine::imap::{ImapConfig, PeerInfo, Session, WallClock};
use moxide_proto::conn::Conn;
use moxide_storage::{NewAccount, NewMessage, Store, StoreConfig};

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
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Feeds a command and drains the output until the tagged response;
/// returns the bytes written and whether the tagged response was OK.
fn run(s: &mut Session, now: Instant, tag: &str, cmd: &str) -> (usize, bool) {
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
        // The tagged response is the last line of the last chunk.
        tail.clear();
        tail.extend_from_slice(&buf[buf.len().saturating_sub(4096)..]);
        let text = String::from_utf8_lossy(&tail);
        let last = text.trim_end().rsplit("\r\n").next().unwrap_or_default();
        if last.starts_with(&format!("{tag} ")) {
            return (total, last.starts_with(&ok));
        }
    }
}

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
    let t = Instant::now();
    let bodies: Vec<String> = (0..messages).map(message).collect();
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

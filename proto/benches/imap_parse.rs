//! Parsing speed of client IMAP traffic.
//!
//! Run: `cargo bench -p moxide-proto --bench imap_parse`.
//!
//! 1. A client session, bytes-weighted as a real one: SELECT, UID FETCH of
//!    flags and header fields, UID SEARCH, STORE, NOOP, IDLE, and APPENDs of
//!    10–50 KB messages. Reported in MB/s (target: ≥ 200 MB/s).
//! 2. A FETCH-heavy mix of line-only commands, reported in commands/s.
//!
//! Both are measured through `parse_command` on whole commands, and through
//! `ServerConn::handle_input` (framing + parsing + events) on the session as
//! one byte stream fed in 16 KiB reads, answering each command with a tagged
//! OK as a server would.

use std::hint::black_box;
use std::time::{Duration, Instant};

use moxide_proto::conn::Conn;
use moxide_proto::imap::cmd::{CommandBody, parse_command};
use moxide_proto::imap::core::{Ctx, Tag};
use moxide_proto::imap::resp::{Continue, Response, Status};
use moxide_proto::imap::server::{Event, ServerConfig, ServerConn};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A plausible message of about `size` bytes: headers and text lines.
fn message(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(size + 100);
    m.extend_from_slice(
        b"From: Alice Example <alice@example.org>\r\nTo: bob@example.net\r\n\
Subject: Quarterly report draft\r\nDate: Mon, 7 Feb 2024 21:52:25 -0800\r\n\
Message-ID: <20240207215225.12345@example.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    const WORDS: [&[u8]; 12] = [
        b"the",
        b"report",
        b"numbers",
        b"quarter",
        b"meeting",
        b"please",
        b"review",
        b"attached",
        b"growth",
        b"budget",
        b"team",
        b"thanks",
    ];
    while m.len() < size {
        let mut line = 0;
        while line < 72 {
            let w = WORDS[rng.below(WORDS.len() as u64) as usize];
            m.extend_from_slice(w);
            m.push(b' ');
            line += w.len() + 1;
        }
        m.extend_from_slice(b"\r\n");
    }
    m
}

fn line_commands(rng: &mut Rng, tag: &mut u32, out: &mut Vec<Vec<u8>>) {
    let mut t = || {
        *tag += 1;
        format!("a{tag}")
    };
    let uid = 1000 + rng.below(50_000);
    let lines = [
        format!("{} NOOP\r\n", t()),
        format!("{} UID FETCH {}:* (FLAGS)\r\n", t(), uid),
        format!(
            "{} UID FETCH {}:{} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
            t(),
            uid,
            uid + 50
        ),
        format!(
            "{} UID FETCH {} (UID RFC822.SIZE BODYSTRUCTURE BODY.PEEK[])\r\n",
            t(),
            uid
        ),
        format!(
            "{} UID SEARCH UNDELETED SINCE 1-Feb-2024 NOT FROM \"Smith\"\r\n",
            t()
        ),
        format!("{} UID STORE {} +FLAGS.SILENT (\\Seen)\r\n", t(), uid),
        format!(
            "{} UID FETCH 1:* (FLAGS) (CHANGEDSINCE {})\r\n",
            t(),
            9_000_000 + uid
        ),
        format!("{} IDLE\r\n", t()),
    ];
    out.extend(lines.into_iter().map(String::into_bytes));
}

/// A session: a SELECT, then rounds of line commands with an APPEND of a
/// 10–50 KB message every few rounds.
fn session() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut tag = 0;
    let mut cmds = vec![b"a0 SELECT INBOX (CONDSTORE)\r\n".to_vec()];
    for round in 0..60 {
        line_commands(&mut rng, &mut tag, &mut cmds);
        if round % 3 == 0 {
            let size = 10_000 + rng.below(40_000) as usize;
            let msg = message(&mut rng, size);
            tag += 1;
            let mut c = format!(
                "a{tag} APPEND Sent (\\Seen) \"07-Feb-2024 21:52:25 -0800\" {{{}+}}\r\n",
                msg.len()
            )
            .into_bytes();
            c.extend_from_slice(&msg);
            c.extend_from_slice(b"\r\n");
            cmds.push(c);
        }
    }
    cmds
}

/// Parses every command `rounds` times; returns the time taken.
fn run(cmds: &[Vec<u8>], rounds: usize) -> Duration {
    let ctx = Ctx {
        utf8: false,
        literal_plus: true,
    };
    let start = Instant::now();
    for _ in 0..rounds {
        for c in cmds {
            match parse_command(black_box(c), ctx) {
                Ok((n, cmd)) => {
                    black_box((n, cmd));
                }
                Err(e) => panic!(
                    "{:?}: {e:?}",
                    String::from_utf8_lossy(&c[..c.len().min(80)])
                ),
            }
        }
    }
    start.elapsed()
}

/// The session as one client byte stream: IDLE is followed by DONE.
fn stream(cmds: &[Vec<u8>]) -> Vec<u8> {
    let mut s = Vec::new();
    for c in cmds {
        s.extend_from_slice(c);
        if c.ends_with(b" IDLE\r\n") {
            s.extend_from_slice(b"DONE\r\n");
        }
    }
    s
}

/// Feeds `input` to a fresh ServerConn in 16 KiB reads, answering every
/// command; returns the number of commands completed.
fn serve(input: &[u8], out: &mut Vec<u8>) -> usize {
    let now = Instant::now();
    let mut conn = ServerConn::new(ServerConfig::default(), now);
    conn.send(&Response::Status(Status::preauth(None, "ready")));
    let mut done = 0;
    let mut append_tag: Option<Tag> = None;
    let mut idle_tag: Option<Tag> = None;
    for chunk in input.chunks(16 * 1024) {
        conn.handle_input(now, chunk);
        while let Some(ev) = conn.poll_event() {
            let ok = |conn: &mut ServerConn, tag: Tag| {
                conn.send(&Response::Status(Status::ok(Some(tag), None, "done")));
            };
            match ev {
                Event::Command(c) if c.body == CommandBody::Idle => {
                    idle_tag = Some(c.tag);
                    conn.send(&Response::Continue(Continue::Text("idling".into())));
                }
                Event::Command(c) => {
                    black_box(&c.body);
                    ok(&mut conn, c.tag);
                    done += 1;
                }
                Event::IdleDone => {
                    if let Some(t) = idle_tag.take() {
                        ok(&mut conn, t);
                        done += 1;
                    }
                }
                Event::AppendBegin { head, message } => {
                    black_box(&message);
                    append_tag = Some(head.tag);
                    conn.accept_append();
                }
                Event::AppendData(d) => {
                    black_box(d.len());
                }
                Event::AppendEnd { last: true } => {
                    if let Some(t) = append_tag.take() {
                        ok(&mut conn, t);
                        done += 1;
                    }
                }
                Event::AppendEnd { last: false } => {}
                other => panic!("unexpected event {other:?}"),
            }
            out.clear();
            conn.poll_transmit(out);
        }
        out.clear();
        conn.poll_transmit(out);
        assert!(conn.wants_read(), "connection stopped reading");
    }
    done
}

/// Runs `f` long enough (≥ 1 s) for a stable figure; returns (rounds, time).
fn measure_with(mut f: impl FnMut(usize) -> Duration) -> (usize, Duration) {
    f(3);
    let mut rounds = 8;
    loop {
        let d = f(rounds);
        if d >= Duration::from_secs(1) {
            return (rounds, d);
        }
        rounds *= 2;
    }
}

fn measure(cmds: &[Vec<u8>]) -> (usize, Duration) {
    measure_with(|rounds| run(cmds, rounds))
}

fn measure_conn(input: &[u8], expect_commands: usize) -> (usize, Duration) {
    let mut out = Vec::new();
    measure_with(|rounds| {
        let start = Instant::now();
        for _ in 0..rounds {
            let n = serve(black_box(input), &mut out);
            assert_eq!(n, expect_commands, "commands completed");
        }
        start.elapsed()
    })
}

fn main() {
    let cmds = session();
    let bytes: usize = cmds.iter().map(Vec::len).sum();
    let appends = cmds.iter().filter(|c| c.len() > 1000).count();
    let (rounds, d) = measure(&cmds);
    let mbps = (bytes * rounds) as f64 / d.as_secs_f64() / 1e6;
    println!(
        "session mix: {} commands ({} APPENDs of 10-50 KB), {:.1} KB per session",
        cmds.len(),
        appends,
        bytes as f64 / 1e3
    );
    println!("session mix via parse_command: {mbps:.0} MB/s (target >= 200 MB/s)");
    let input = stream(&cmds);
    let (rounds, d) = measure_conn(&input, cmds.len());
    println!(
        "session mix via ServerConn::handle_input: {:.0} MB/s (target >= 200 MB/s)",
        (input.len() * rounds) as f64 / d.as_secs_f64() / 1e6
    );

    let fetch_heavy: Vec<Vec<u8>> = cmds.iter().filter(|c| c.len() <= 1000).cloned().collect();
    let (rounds, d) = measure(&fetch_heavy);
    let n = fetch_heavy.len() * rounds;
    let line_bytes: usize = fetch_heavy.iter().map(Vec::len).sum::<usize>() * rounds;
    println!(
        "line-only FETCH-heavy mix via parse_command: {:.0} commands/s ({:.0} MB/s)",
        n as f64 / d.as_secs_f64(),
        line_bytes as f64 / d.as_secs_f64() / 1e6
    );
    let input = stream(&fetch_heavy);
    let (rounds, d) = measure_conn(&input, fetch_heavy.len());
    println!(
        "line-only FETCH-heavy mix via ServerConn::handle_input: {:.0} commands/s ({:.0} MB/s)",
        (fetch_heavy.len() * rounds) as f64 / d.as_secs_f64(),
        (input.len() * rounds) as f64 / d.as_secs_f64() / 1e6
    );
}

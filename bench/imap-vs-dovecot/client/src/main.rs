//! imapbench: a small std-only IMAP load client for comparing moxide with
//! Dovecot (see ../README.md). Blocking sockets, one thread per connection,
//! so the client does little work per byte and is not the bottleneck.
//!
//! Subcommands (ADDR is host:port; PID is the server's (master) pid, whose
//! process tree is sampled for CPU time: per process in ns from its
//! CPU-time clock, and in clock ticks from /proc/P/stat; see
//! [`CpuSample`]):
//!   append ADDR USER PASS MAILBOX COUNT CONNS PID
//!       APPEND COUNT generated messages over CONNS connections, pipelined
//!       with LITERAL+ (non-synchronising literals) when advertised.
//!   cmd ADDR USER PASS MAILBOX REPEAT PID COMMAND [RESET]
//!       SELECT MAILBOX, then REPEAT times: send RESET untimed (if given),
//!       wait until the server is quiet, then time COMMAND from sending to
//!       its tagged OK; its server CPU is sampled before sending and
//!       20 ms after the OK.
//!   quiet PID MAX_SECS
//!       wait until PID's tree uses under 1% CPU over a second (at most
//!       MAX_SECS); prints how long that took.
//!   idle ADDR USER PASS MAILBOX N THREADS [MAX_SECS]
//!       open N connections, LOGIN, SELECT, IDLE (stop opening more after
//!       MAX_SECS); print READY and the count; hold them until stdin is
//!       closed.
//!   mem PID
//!       RSS and PSS summed over PID and its descendants.
//!   maildir DIR COUNT
//!       write the same COUNT messages as `append` into the Maildir DIR
//!       (LF line ends, every third `:2,S`), to fill a Dovecot mailbox
//!       without APPEND.
//!   gen N
//!       write message N to stdout (to inspect the generated mail).

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::process::exit;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The word SEARCH TEXT looks for; it is in 1% of generated messages.
const RARE_WORD: &str = "zanzibarqua";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let r = match args.get(1).map(String::as_str) {
        Some("append") if args.len() == 9 => cmd_append(&args[2..]),
        Some("cmd") if args.len() == 9 || args.len() == 10 => cmd_cmd(&args[2..]),
        Some("idle") if args.len() == 8 || args.len() == 9 => cmd_idle(&args[2..]),
        Some("mem") if args.len() == 3 => {
            let pid: u32 = args[2].parse().unwrap_or(0);
            let (rss, pss, n) = tree_mem(pid);
            println!("rss_kb={rss} pss_kb={pss} procs={n}");
            Ok(())
        }
        Some("maildir") if args.len() == 4 => cmd_maildir(&args[2..]),
        Some("quiet") if args.len() == 4 => cmd_quiet(&args[2..]),
        Some("gen") if args.len() == 3 => {
            let n: usize = args[2].parse().unwrap_or(0);
            io::stdout()
                .write_all(&gen_message(n))
                .map_err(|e| e.to_string())
        }
        _ => Err("usage: see the doc comment of src/main.rs".to_string()),
    };
    if let Err(e) = r {
        eprintln!("imapbench: {e}");
        exit(1);
    }
}

// ---------------------------------------------------------------- /proc

/// (pid, ppid, utime+stime ticks, rss pages) for every process.
fn all_procs() -> Vec<(u32, u32, u64, u64)> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(s) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = s.rfind(')') else { continue };
        let f: Vec<&str> = s[close + 2..].split(' ').collect();
        // After ")": state(3) ppid(4) ... utime(14) stime(15) ... rss(24).
        let g = |i: usize| {
            f.get(i - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        out.push((pid, g(4) as u32, g(14) + g(15), g(24)));
    }
    out
}

/// PID and all its descendants.
fn tree(pid: u32) -> Vec<(u32, u64, u64)> {
    let procs = all_procs();
    let mut kids: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, p) in procs.iter().enumerate() {
        kids.entry(p.1).or_default().push(i);
    }
    let mut out = Vec::new();
    let mut stack: Vec<usize> = procs.iter().position(|p| p.0 == pid).into_iter().collect();
    while let Some(i) = stack.pop() {
        let p = procs[i];
        out.push((p.0, p.2, p.3));
        if let Some(k) = kids.get(&p.0) {
            stack.extend(k);
        }
    }
    out
}

/// CPU used so far by PID's process tree, sampled two ways:
/// - `ns`: CPU time of every process in the tree in nanoseconds, by pid:
///   the process's CPU-time clock (`clock_gettime` on its
///   `CPUCLOCK_SCHED` process clock, the scheduler's run time summed over
///   all its threads, exited ones included). Where that clock cannot be
///   read, the sum of the first field of /proc/P/task/T/schedstat over the
///   live threads (which misses threads that exited).
/// - `ticks`: utime+stime of every process (/proc/P/stat) in clock ticks
///   (10 ms): coarse, kept as a cross-check.
///
/// A process that exits between two samples takes its CPU time with it
/// (both figures); [`CpuDelta::lost`] counts them.
struct CpuSample {
    ns: HashMap<u32, u64>,
    ticks: u64,
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

/// CPU time of process `pid` (all threads, exited ones included) in ns,
/// from its process CPU-time clock: Linux encodes the clock of process P
/// as `(!P << 3) | 2` (CPUCLOCK_SCHED, not per-thread), what
/// `clock_getcpuclockid` returns.
fn process_cpu_ns(pid: u32) -> Option<u64> {
    // 0 would be this process's clock, and the encoding needs the pid to
    // fit in 29 bits: Linux pids are at most 4,194,304 (PID_MAX_LIMIT).
    if pid == 0 || pid > 4_194_304 {
        return None;
    }
    let pid = pid as i32;
    let clock = (!pid << 3) | 2;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer;
    // this layout is the 64-bit Linux one (x86_64, aarch64).
    let r = unsafe { clock_gettime(clock, &mut ts) };
    (r == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// Run time of the live threads of `pid` in ns, from schedstat.
fn threads_cpu_ns(pid: u32) -> Option<u64> {
    let rd = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0;
    for e in rd.flatten() {
        let path = e.path().join("schedstat");
        if let Some(ns) = fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        {
            sum += ns;
        }
    }
    Some(sum)
}

/// Takes a [`CpuSample`] of PID's process tree.
fn cpu_sample(pid: u32) -> CpuSample {
    let t = tree(pid);
    let ns = t
        .iter()
        .filter_map(|(p, _, _)| Some((*p, process_cpu_ns(*p).or_else(|| threads_cpu_ns(*p))?)))
        .collect();
    CpuSample {
        ns,
        ticks: t.iter().map(|p| p.1).sum(),
    }
}

/// CPU used between two samples of the same tree.
struct CpuDelta {
    /// Sum over the processes of `after` of their CPU time since `before`
    /// (all of it for a process that is new in `after`), in ns.
    ns: u64,
    /// The clock-tick difference, in ms (multiples of 10).
    tick_ms: f64,
    /// Processes in `before` that are gone in `after`: their CPU time
    /// between the samples is missing from both figures.
    lost: usize,
    /// Processes in `after`.
    procs: usize,
}

impl CpuSample {
    fn since(&self, before: &CpuSample) -> CpuDelta {
        let ns = self
            .ns
            .iter()
            .map(|(pid, ns)| ns.saturating_sub(before.ns.get(pid).copied().unwrap_or(0)))
            .sum();
        let lost = before
            .ns
            .keys()
            .filter(|pid| !self.ns.contains_key(pid))
            .count();
        CpuDelta {
            ns,
            // CLK_TCK is 100 on Linux/x86_64 and arm64.
            tick_ms: self.ticks.saturating_sub(before.ticks) as f64 * 10.0,
            lost,
            procs: self.ns.len(),
        }
    }
}

/// Waits until PID's tree used less than `max_ns` of CPU in a `window`
/// (background work of an earlier command finished), at most `limit`.
/// Returns whether it got quiet.
fn wait_quiet(pid: u32, window: Duration, max_ns: u64, limit: Duration) -> bool {
    let start = Instant::now();
    let mut prev = cpu_sample(pid);
    loop {
        thread::sleep(window);
        let now = cpu_sample(pid);
        if now.since(&prev).ns < max_ns {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        prev = now;
    }
}

/// (RSS kB, PSS kB, process count) over PID's process tree.
fn tree_mem(pid: u32) -> (u64, u64, usize) {
    let t = tree(pid);
    let mut rss = 0;
    let mut pss = 0;
    for (p, _, _) in &t {
        if let Ok(s) = fs::read_to_string(format!("/proc/{p}/smaps_rollup")) {
            for l in s.lines() {
                let kb = |l: &str| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                if l.starts_with("Rss:") {
                    rss += kb(l);
                } else if l.starts_with("Pss:") {
                    pss += kb(l);
                }
            }
        }
    }
    (rss, pss, t.len())
}

// ---------------------------------------------------------------- IMAP

/// A connection: buffered reader and writer on one socket.
struct Conn {
    r: BufReader<TcpStream>,
    w: BufWriter<TcpStream>,
    tag: usize,
    caps: String,
}

impl Conn {
    fn connect(addr: &str) -> Result<Conn, String> {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        s.set_nodelay(true).ok();
        let w = BufWriter::with_capacity(256 * 1024, s.try_clone().map_err(|e| e.to_string())?);
        let mut c = Conn {
            r: BufReader::with_capacity(256 * 1024, s),
            w,
            tag: 0,
            caps: String::new(),
        };
        let greet = c.line()?;
        if !greet.starts_with(b"* OK") {
            return Err(format!("greeting: {}", String::from_utf8_lossy(&greet)));
        }
        c.caps = String::from_utf8_lossy(&greet).to_uppercase();
        Ok(c)
    }

    /// Reads one logical response line, literals included; without CRLF.
    fn line(&mut self) -> Result<Vec<u8>, String> {
        read_logical_line(&mut self.r)
    }

    /// Sends a command and reads to its tagged response; returns the
    /// untagged line count and the tagged line. Errors unless OK.
    fn run(&mut self, cmd: &str) -> Result<(usize, Vec<u8>), String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        write!(self.w, "{tag} {cmd}\r\n").map_err(|e| e.to_string())?;
        self.w.flush().map_err(|e| e.to_string())?;
        self.read_tagged(&tag, cmd)
    }

    fn read_tagged(&mut self, tag: &str, cmd: &str) -> Result<(usize, Vec<u8>), String> {
        let mut n = 0;
        let prefix = format!("{tag} ");
        loop {
            let l = self.line()?;
            if l.starts_with(prefix.as_bytes()) {
                if !l[prefix.len()..].starts_with(b"OK") {
                    return Err(format!("{cmd}: {}", String::from_utf8_lossy(&l)));
                }
                return Ok((n, l));
            }
            if l.starts_with(b"* CAPABILITY") {
                self.caps = String::from_utf8_lossy(&l).to_uppercase();
            }
            n += 1;
        }
    }

    fn login(&mut self, user: &str, pass: &str) -> Result<(), String> {
        let (_, t) = self.run(&format!("LOGIN {user} {pass}"))?;
        let t = String::from_utf8_lossy(&t).to_uppercase();
        if t.contains("[CAPABILITY") {
            self.caps = t;
        } else {
            self.run("CAPABILITY")?;
        }
        Ok(())
    }
}

/// Reads a line; while it ends in a literal `{n}` or `{n+}`, appends the n
/// literal bytes and the continuation line.
fn read_logical_line<R: BufRead>(r: &mut R) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let start = out.len();
        let n = r.read_until(b'\n', &mut out).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        while out.last() == Some(&b'\n') || out.last() == Some(&b'\r') {
            out.pop();
        }
        let seg = &out[start..];
        let lit = if seg.last() == Some(&b'}') {
            seg.iter().rposition(|&b| b == b'{').and_then(|o| {
                let inner = &seg[o + 1..seg.len() - 1];
                let inner = inner.strip_suffix(b"+").unwrap_or(inner);
                std::str::from_utf8(inner).ok()?.parse::<usize>().ok()
            })
        } else {
            None
        };
        match lit {
            Some(len) => {
                let old = out.len();
                out.resize(old + len, 0);
                r.read_exact(&mut out[old..]).map_err(|e| e.to_string())?;
            }
            None => return Ok(out),
        }
    }
}

// ---------------------------------------------------------------- messages

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const FIRST: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoë",
];
const LAST: &[&str] = &[
    "Smith", "Jones", "Müller", "García", "Rossi", "Dubois", "Novak", "Kowalski", "Jansen",
    "Nguyen", "O'Brien", "Svensson",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example.net",
    "lists.example.com",
    "corp.example",
];
const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "meeting",
    "report",
    "quarterly",
    "budget",
    "server",
    "release",
    "draft",
    "please",
    "review",
    "attached",
    "schedule",
    "project",
    "update",
    "deadline",
    "customer",
    "invoice",
    "thanks",
    "regards",
    "question",
    "about",
    "next",
    "week",
    "monday",
    "friday",
    "team",
    "network",
    "storage",
    "backup",
    "failure",
    "restore",
    "proposal",
    "contract",
    "design",
    "document",
    "feedback",
    "change",
    "request",
    "ticket",
    "issue",
    "fixed",
    "deploy",
    "production",
    "staging",
    "database",
    "migration",
    "latency",
    "throughput",
    "mailbox",
    "message",
    "folder",
    "search",
    "index",
    "cache",
    "memory",
    "performance",
    "benchmark",
    "result",
    "summary",
    "agenda",
    "minutes",
    "decision",
    "action",
    "item",
    "owner",
    "status",
    "green",
    "yellow",
    "red",
    "blocked",
    "waiting",
    "approved",
    "rejected",
    "holiday",
    "office",
];
const SUBJ: &[&str] = &[
    "Quarterly report",
    "Meeting notes",
    "Re: budget review",
    "Fwd: contract draft",
    "Server maintenance",
    "Release planning",
    "Invoice",
    "Question about the schedule",
    "Weekly status",
    "Backup failure",
    "Re: Re: design feedback",
    "Holiday schedule",
];

fn person(r: &mut Rng) -> String {
    let f = r.pick(FIRST);
    let l = r.pick(LAST);
    let d = r.pick(DOMAINS);
    let local =
        format!("{}.{}", f.to_lowercase(), l.to_lowercase()).replace(['\'', 'ü', 'í', 'ë'], "");
    if f.is_ascii() && l.is_ascii() {
        if l.contains('\'') {
            format!("\"{f} {l}\" <{local}@{d}>")
        } else {
            format!("{f} {l} <{local}@{d}>")
        }
    } else {
        // RFC 2047 encoded-word for non-ASCII display names.
        let name = format!("{f} {l}");
        let hex: String = name.bytes().map(|b| format!("={b:02X}")).collect();
        format!("=?utf-8?Q?{hex}?= <{local}@{d}>")
    }
}

/// Message `n` (deterministic): 2-10 KB, varied headers, text/plain or
/// multipart/alternative; 1% contain [`RARE_WORD`] in the body.
fn gen_message(n: usize) -> Vec<u8> {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1).wrapping_mul(0x1234_5678_9ABC_DEF1));
    for _ in 0..4 {
        r.next();
    }
    let mut m = String::with_capacity(12 * 1024);
    let day = 1 + n % 28;
    let (hh, mm, ss) = (r.below(24), r.below(60), r.below(60));
    m.push_str(&format!(
        "Return-Path: <bounce-{n}@{}>\r\nReceived: from mx{}.example.net (mx{}.example.net [192.0.2.{}])\r\n\tby mail.example.com with ESMTPS id {n:08x}\r\n\tfor <mox@localhost>; Mon, {day} Nov 2026 {hh:02}:{mm:02}:{ss:02} +0000\r\n",
        r.pick(DOMAINS), r.below(9), r.below(9), 1 + r.below(250)
    ));
    m.push_str(&format!(
        "Date: Mon, {day} Nov 2026 {hh:02}:{mm:02}:{ss:02} +0100\r\n"
    ));
    m.push_str(&format!("From: {}\r\n", person(&mut r)));
    let nto = 1 + r.below(3);
    let to: Vec<String> = (0..nto).map(|_| person(&mut r)).collect();
    m.push_str(&format!("To: {}\r\n", to.join(",\r\n ")));
    if r.below(3) == 0 {
        m.push_str(&format!("Cc: {}\r\n", person(&mut r)));
    }
    m.push_str(&format!("Subject: {} #{n}\r\n", r.pick(SUBJ)));
    m.push_str(&format!(
        "Message-ID: <{n}.{:x}@mail.example.com>\r\n",
        r.next()
    ));
    if n > 0 && r.below(2) == 0 {
        let p = r.below(n);
        m.push_str(&format!(
            "In-Reply-To: <{p}.0@mail.example.com>\r\nReferences: <{p}.0@mail.example.com>\r\n"
        ));
    }
    if r.below(4) == 0 {
        m.push_str("List-Id: <team.lists.example.com>\r\nPrecedence: list\r\n");
    }
    m.push_str("MIME-Version: 1.0\r\n");
    let target = 2048 + r.below(8 * 1024);
    let mut body = String::with_capacity(target + 100);
    let mut line = 0;
    let rare_at = if n % 100 == 37 {
        Some(target / 2)
    } else {
        None
    };
    while body.len() < target {
        let w = r.pick(WORDS);
        body.push_str(w);
        line += w.len() + 1;
        if let Some(at) = rare_at {
            if body.len() >= at && !body.contains(RARE_WORD) {
                body.push(' ');
                body.push_str(RARE_WORD);
            }
        }
        if line > 70 {
            body.push_str("\r\n");
            line = 0;
        } else {
            body.push(' ');
        }
    }
    body.push_str("\r\n");
    if r.below(3) == 0 {
        let b = format!("b{n:x}{:x}", r.next());
        m.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n"
        ));
        m.push_str(&format!(
            "--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n--{b}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>{}</p></body></html>\r\n--{b}--\r\n",
            body.get(..body.len().min(600)).unwrap_or("")
        ));
    } else {
        m.push_str(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        );
        m.push_str(&body);
    }
    m.into_bytes()
}

// ---------------------------------------------------------------- commands

fn cmd_append(a: &[String]) -> Result<(), String> {
    let (addr, user, pass, mailbox) = (&a[0], &a[1], &a[2], &a[3]);
    let count: usize = a[4].parse().map_err(|_| "COUNT")?;
    let conns: usize = a[5].parse().map_err(|_| "CONNS")?;
    let pid: u32 = a[6].parse().map_err(|_| "PID")?;
    // Generate first, so generation is not timed.
    let msgs: Arc<Vec<Vec<u8>>> = Arc::new((0..count).map(gen_message).collect());
    let total_bytes: usize = msgs.iter().map(Vec::len).sum();
    let mut cs = Vec::new();
    for _ in 0..conns {
        let mut c = Conn::connect(addr)?;
        c.login(user, pass)?;
        cs.push(c);
    }
    let literal_plus = cs[0].caps.contains("LITERAL+");
    let cpu0 = cpu_sample(pid);
    let t0 = Instant::now();
    let mut hs = Vec::new();
    for (ci, mut c) in cs.into_iter().enumerate() {
        let msgs = msgs.clone();
        let mailbox = mailbox.clone();
        hs.push(thread::spawn(move || -> Result<Conn, String> {
            let mine: Vec<usize> = (ci..msgs.len()).step_by(conns).collect();
            if literal_plus {
                let ws = c.w.get_ref().try_clone().map_err(|e| e.to_string())?;
                let m2 = msgs.clone();
                let idx = mine.clone();
                let mb = mailbox.clone();
                let writer = thread::spawn(move || -> Result<(), String> {
                    let mut w = BufWriter::with_capacity(256 * 1024, ws);
                    for (k, &i) in idx.iter().enumerate() {
                        let flags = if i % 3 == 0 { "(\\Seen) " } else { "" };
                        write!(w, "a{k} APPEND {mb} {flags}{{{}+}}\r\n", m2[i].len())
                            .map_err(|e| e.to_string())?;
                        w.write_all(&m2[i]).map_err(|e| e.to_string())?;
                        w.write_all(b"\r\n").map_err(|e| e.to_string())?;
                    }
                    w.flush().map_err(|e| e.to_string())
                });
                for k in 0..mine.len() {
                    c.read_tagged(&format!("a{k}"), "APPEND")?;
                }
                writer.join().map_err(|_| "writer panicked")??;
            } else {
                for (k, &i) in mine.iter().enumerate() {
                    let flags = if i % 3 == 0 { "(\\Seen) " } else { "" };
                    write!(
                        c.w,
                        "a{k} APPEND {mailbox} {flags}{{{}}}\r\n",
                        msgs[i].len()
                    )
                    .map_err(|e| e.to_string())?;
                    c.w.flush().map_err(|e| e.to_string())?;
                    let l = c.line()?;
                    if !l.starts_with(b"+") {
                        return Err(format!("APPEND: {}", String::from_utf8_lossy(&l)));
                    }
                    c.w.write_all(&msgs[i]).map_err(|e| e.to_string())?;
                    c.w.write_all(b"\r\n").map_err(|e| e.to_string())?;
                    c.w.flush().map_err(|e| e.to_string())?;
                    c.read_tagged(&format!("a{k}"), "APPEND")?;
                }
            }
            Ok(c)
        }));
    }
    let mut done = Vec::new();
    for h in hs {
        done.push(h.join().map_err(|_| "conn panicked")??);
    }
    let secs = t0.elapsed().as_secs_f64();
    thread::sleep(SETTLE);
    let cpu = cpu_sample(pid).since(&cpu0);
    for mut c in done {
        let _ = c.run("LOGOUT");
    }
    let cpu_ms = cpu.ns as f64 / 1e6;
    println!(
        "op=APPEND mailbox={mailbox} count={count} conns={conns} literal_plus={literal_plus} bytes={total_bytes} secs={secs:.3} msgs_per_s={:.0} cpu_s={:.2} cpu_ms={cpu_ms:.1} cpu_tick_ms={:.0} cpu_ms_per_msg={:.3} procs_lost={}",
        count as f64 / secs,
        cpu.tick_ms / 1000.0,
        cpu.tick_ms,
        cpu_ms / count.max(1) as f64,
        cpu.lost
    );
    Ok(())
}

/// How long to wait after a tagged OK before sampling the server's CPU:
/// the server may still be finishing its write and releasing memory.
const SETTLE: Duration = Duration::from_millis(20);

/// The median of a non-empty list (the upper one of an even count).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The smallest value of a non-empty list.
fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Comma-separated values with `prec` decimals.
fn list(v: &[f64], prec: usize) -> String {
    v.iter()
        .map(|x| format!("{x:.prec$}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn cmd_cmd(a: &[String]) -> Result<(), String> {
    let (addr, user, pass, mailbox) = (&a[0], &a[1], &a[2], &a[3]);
    let repeat: usize = a[4]
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or("REPEAT must be a number > 0")?;
    let pid: u32 = a[5].parse().map_err(|_| "PID")?;
    let command = &a[6];
    let reset = a.get(7).filter(|s| !s.is_empty());
    let t0 = Instant::now();
    let mut c = Conn::connect(addr)?;
    c.login(user, pass)?;
    let login_secs = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    c.run(&format!("SELECT {mailbox}"))?;
    let select_secs = t0.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let (mut cpu_ms, mut tick_ms, mut late_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut lost, mut unquiet, mut procs) = (0, 0, 0);
    let mut untagged = 0;
    let mut bytes_in = 0usize;
    for _ in 0..repeat {
        if let Some(r) = reset {
            c.run(r)?;
        }
        // Start from a quiet server, so that the CPU of the reset, of the
        // LOGIN and SELECT or of background work is not counted: at most
        // 1 ms of CPU in 50 ms (waits 3 s at most, then counts it).
        if !wait_quiet(
            pid,
            Duration::from_millis(50),
            1_000_000,
            Duration::from_secs(3),
        ) {
            unquiet += 1;
        }
        let cpu0 = cpu_sample(pid);
        let t0 = Instant::now();
        c.tag += 1;
        let tag = format!("t{}", c.tag);
        write!(c.w, "{tag} {command}\r\n").map_err(|e| e.to_string())?;
        c.w.flush().map_err(|e| e.to_string())?;
        let prefix = format!("{tag} ");
        let mut n = 0;
        let mut b = 0;
        loop {
            let l = c.line()?;
            b += l.len() + 2;
            if l.starts_with(prefix.as_bytes()) {
                if !l[prefix.len()..].starts_with(b"OK") {
                    return Err(format!("{command}: {}", String::from_utf8_lossy(&l)));
                }
                break;
            }
            if l.starts_with(b"* SEARCH") {
                // Count the numbers in the SEARCH result (Dovecot may send
                // `* OK Searched N% of the mailbox` progress lines first).
                n += l.split(|&x| x == b' ').count().saturating_sub(2);
                continue;
            }
            n += 1;
        }
        times.push(t0.elapsed().as_secs_f64());
        thread::sleep(SETTLE);
        let cpu1 = cpu_sample(pid);
        let d = cpu1.since(&cpu0);
        cpu_ms.push(d.ns as f64 / 1e6);
        tick_ms.push(d.tick_ms);
        lost += d.lost;
        procs = d.procs;
        // What the server still used in the 100 ms after the sample: near
        // zero when SETTLE was long enough.
        thread::sleep(Duration::from_millis(100));
        late_ms.push(cpu_sample(pid).since(&cpu1).ns as f64 / 1e6);
        untagged = n;
        bytes_in = b;
    }
    let _ = c.run("LOGOUT");
    println!(
        "op={command:?} untagged={untagged} bytes={bytes_in} secs_median={:.4} secs_min={:.4} secs_all={} cpu_s_median={:.2} cpu_ms_median={:.1} cpu_ms_all={} cpu_tick_ms_median={:.0} cpu_late_ms_median={:.1} procs_lost={lost} unquiet={unquiet} procs={procs} login_secs={login_secs:.4} select_secs={select_secs:.4}",
        median(&times),
        min(&times),
        list(&times, 3),
        median(&tick_ms) / 1000.0,
        median(&cpu_ms),
        list(&cpu_ms, 1),
        median(&tick_ms),
        median(&late_ms),
    );
    Ok(())
}

fn cmd_idle(a: &[String]) -> Result<(), String> {
    let (addr, user, pass, mailbox) = (a[0].clone(), a[1].clone(), a[2].clone(), a[3].clone());
    let n: usize = a[4].parse().map_err(|_| "N")?;
    let threads: usize = a[5].parse().map_err(|_| "THREADS")?;
    let max_secs: f64 = match a.get(6) {
        Some(v) => v.parse().map_err(|_| "MAX_SECS")?,
        None => f64::INFINITY,
    };
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for _ in 0..threads {
        let (addr, user, pass, mailbox, next) = (
            addr.clone(),
            user.clone(),
            pass.clone(),
            mailbox.clone(),
            next.clone(),
        );
        hs.push(thread::spawn(move || -> (Vec<Conn>, Option<String>) {
            let mut mine = Vec::new();
            let open = || -> Result<Conn, String> {
                let mut c = Conn::connect(&addr)?;
                c.login(&user, &pass)?;
                c.run(&format!("SELECT {mailbox}"))?;
                write!(c.w, "i IDLE\r\n").map_err(|e| e.to_string())?;
                c.w.flush().map_err(|e| e.to_string())?;
                loop {
                    let l = c.line()?;
                    if l.starts_with(b"+") {
                        return Ok(c);
                    }
                    if l.starts_with(b"i ") {
                        return Err(format!("IDLE: {}", String::from_utf8_lossy(&l)));
                    }
                }
            };
            while start.elapsed().as_secs_f64() < max_secs
                && next.fetch_add(1, Ordering::SeqCst) < n
            {
                match open() {
                    Ok(c) => mine.push(c),
                    // Keep what is open; report the first failure.
                    Err(e) => return (mine, Some(e)),
                }
            }
            (mine, None)
        }));
    }
    let mut all = Vec::new();
    let mut err = None;
    for h in hs {
        let (v, e) = h.join().map_err(|_| "idle thread panicked")?;
        all.extend(v);
        if e.is_some() {
            err = e;
        }
    }
    println!(
        "READY {} secs={:.1}{}",
        all.len(),
        start.elapsed().as_secs_f64(),
        err.map(|e| format!(" error={e:?}")).unwrap_or_default()
    );
    io::stdout().flush().ok();
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    drop(all);
    Ok(())
}

fn cmd_quiet(a: &[String]) -> Result<(), String> {
    let pid: u32 = a[0].parse().map_err(|_| "PID")?;
    let max: f64 = a[1]
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .ok_or("MAX_SECS")?;
    let t0 = Instant::now();
    let quiet = wait_quiet(
        pid,
        Duration::from_secs(1),
        10_000_000,
        Duration::from_secs_f64(max),
    );
    println!("quiet={quiet} secs={:.1}", t0.elapsed().as_secs_f64());
    Ok(())
}

fn cmd_maildir(a: &[String]) -> Result<(), String> {
    let dir = std::path::Path::new(&a[0]);
    let count: usize = a[1].parse().map_err(|_| "COUNT")?;
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
    }
    for i in 0..count {
        let m = gen_message(i);
        let mut lf = Vec::with_capacity(m.len());
        for (k, &b) in m.iter().enumerate() {
            if !(b == b'\r' && m.get(k + 1) == Some(&b'\n')) {
                lf.push(b);
            }
        }
        let flags = if i % 3 == 0 { "S" } else { "" };
        let name = format!(
            "{}.M{i}P1.bench,S={}:2,{flags}",
            1_700_000_000 + i,
            lf.len()
        );
        fs::write(dir.join("cur").join(name), &lf).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ns: &[(u32, u64)], ticks: u64) -> CpuSample {
        CpuSample {
            ns: ns.iter().copied().collect(),
            ticks,
        }
    }

    #[test]
    fn delta_counts_new_processes_fully_and_lost_ones_not() {
        let before = sample(&[(10, 1_000_000), (11, 5_000_000)], 7);
        // 10 used 2.5 ms, 11 exited, 12 is new with 0.5 ms.
        let after = sample(&[(10, 3_500_000), (12, 500_000)], 9);
        let d = after.since(&before);
        assert_eq!(d.ns, 3_000_000);
        assert_eq!(d.lost, 1);
        assert_eq!(d.procs, 2);
        assert_eq!(d.tick_ms, 20.0);
    }

    #[test]
    fn process_clock_counts_this_process_and_its_exited_threads() {
        let me = std::process::id();
        let t0 = process_cpu_ns(me).expect("own process clock");
        // A thread that uses 30 ms of CPU (by its own schedstat, whatever
        // the load) and exits.
        let own = || -> u64 {
            let s = fs::read_to_string("/proc/thread-self/schedstat").unwrap();
            s.split_whitespace().next().unwrap().parse().unwrap()
        };
        thread::spawn(move || {
            let start = own();
            let mut x = 0u64;
            while own() - start < 30_000_000 {
                for _ in 0..10_000 {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                }
            }
            std::hint::black_box(x);
        })
        .join()
        .unwrap();
        let used = process_cpu_ns(me).unwrap() - t0;
        assert!(
            (30_000_000..1_000_000_000).contains(&used),
            "{used} ns for a thread that used 30 ms"
        );
        // The live threads' schedstat sum no longer has that thread.
        let threads = threads_cpu_ns(me).unwrap();
        assert!(threads < process_cpu_ns(me).unwrap());
        // A pid that does not exist has no clock; 0 and pids past Linux's
        // limit are refused, not read as another clock.
        assert!(std::path::Path::new("/proc/sys/kernel/pid_max").exists());
        let pid_max: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(process_cpu_ns(pid_max), None);
        assert_eq!(process_cpu_ns(0), None);
        assert_eq!(process_cpu_ns(i32::MAX as u32), None);
    }

    #[test]
    fn median_min_and_list() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 4.0);
        assert_eq!(min(&[3.0, 1.5, 2.0]), 1.5);
        assert_eq!(list(&[1.0, 2.25], 1), "1.0,2.2");
    }

    #[test]
    fn logical_line_includes_literals() {
        let mut r = BufReader::new(&b"* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\nt1 OK done\r\n"[..]);
        assert_eq!(
            read_logical_line(&mut r).unwrap(),
            b"* 1 FETCH (BODY[] {5}ab\r\nc)".to_vec()
        );
        assert_eq!(read_logical_line(&mut r).unwrap(), b"t1 OK done".to_vec());
        assert!(read_logical_line(&mut r).is_err());
    }
}

//! The stub resolver and its smol driver against a real DNS server on
//! loopback: a dnslib (PyPI) server started by the test, with names that
//! misbehave on purpose (truncation, wrong ids, duplicates, SERVFAIL), a
//! UDP socket that never answers and a closed port. Skips only when python3
//! is missing; a missing dnslib is a failure (CI installs it: `.ci/run`).

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use moxide::dns::Resolver;
use moxide_proto::dns::{
    Evaluate, Failure, Lookup, LookupId, Poll, Query, Rdata, RecordType, Records, ResolverConfig,
};

#[path = "common/cli.rs"]
mod cli;

use cli::run_moxide;

/// The server. Answers (TTLs as written):
/// a.test A 192.0.2.1 (300), AAAA 2001:db8::1; mx.test MX 10 a.test, 20 b.test;
/// txt.test TXT "v=spf1 ip4:192.0.2.0/24" " -all"; _25._tcp.a.test TLSA 3 1 1 abcdef;
/// 1.2.0.192.in-addr.arpa PTR a.test; www.test CNAME web.test (100) CNAME
/// a.test (50), chain and A in one answer; alias.test CNAME a.test alone (no
/// SOA: the resolver must ask for a.test); secure.test A 192.0.2.9 with AD and an RRSIG;
/// big.test TXT 10×200 bytes (TC over UDP); wrongid.test A: first a reply
/// with another id (192.0.2.66), then the right one (192.0.2.2); wrongq.test:
/// first a reply for another question; dup.test A 192.0.2.3 sent twice;
/// cached.test A 192.0.2.5; servfail.test SERVFAIL; other names NXDOMAIN, other types NODATA, both
/// with SOA minimum 120. `count.NAME TXT` tells how many queries for NAME
/// (over UDP/TCP) arrived. Prints "PORT <port> <dead port> <v6 yes|no>".
const SERVER: &str = r#"
import os, socket, struct, sys, threading
from collections import Counter
from dnslib import DNSRecord, RR, QTYPE, RCODE, A, AAAA, MX, TXT, CNAME, PTR, SOA, TLSA, RRSIG

seen = Counter()
lock = threading.Lock()
SOA_RR = RR("test.", QTYPE.SOA, ttl=600,
            rdata=SOA("ns.test.", "hostmaster.test.", (1, 3600, 600, 86400, 120)))

def rr(name, rtype, rdata, ttl=300):
    return RR(name, getattr(QTYPE, rtype), rdata=rdata, ttl=ttl)

DATA = {
    ("a.test", "A"): [rr("a.test", "A", A("192.0.2.1"))],
    ("a.test", "AAAA"): [rr("a.test", "AAAA", AAAA("2001:db8::1"))],
    ("mx.test", "MX"): [rr("mx.test", "MX", MX("a.test.", 10)), rr("mx.test", "MX", MX("b.test.", 20))],
    ("txt.test", "TXT"): [rr("txt.test", "TXT", TXT([b"v=spf1 ip4:192.0.2.0/24", b" -all"]))],
    ("_25._tcp.a.test", "TLSA"): [rr("_25._tcp.a.test", "TLSA", TLSA(3, 1, 1, bytes.fromhex("abcdef")))],
    ("1.2.0.192.in-addr.arpa", "PTR"): [rr("1.2.0.192.in-addr.arpa", "PTR", PTR("a.test."))],
    ("secure.test", "A"): [rr("secure.test", "A", A("192.0.2.9"))],
    ("dup.test", "A"): [rr("dup.test", "A", A("192.0.2.3"))],
    ("cached.test", "A"): [rr("cached.test", "A", A("192.0.2.5"))],
    ("wrongid.test", "A"): [rr("wrongid.test", "A", A("192.0.2.2"))],
    ("wrongq.test", "A"): [rr("wrongq.test", "A", A("192.0.2.4"))],
    ("big.test", "TXT"): [rr("big.test", "TXT", TXT([bytes([65 + i]) * 200 for i in range(10)]))],
}
NAMES = {n for (n, _) in DATA} | {"www.test", "web.test", "alias.test", "servfail.test", "b.test"}

def answer(req, tcp):
    name = str(req.q.qname).rstrip(".").lower()
    rtype = QTYPE[req.q.qtype]
    r = req.reply()
    r.header.aa = 0
    if name.startswith("count.") and rtype == "TXT":
        with lock:
            n = seen[name[6:]]
        r.add_answer(rr(name, "TXT", TXT(str(n)), ttl=0))
        return [r]
    with lock:
        seen[name] += 1
    if name == "servfail.test":
        r.header.rcode = RCODE.SERVFAIL
        return [r]
    if name == "www.test":
        r.add_answer(rr("www.test", "CNAME", CNAME("web.test."), ttl=100))
        r.add_answer(rr("web.test", "CNAME", CNAME("a.test."), ttl=50))
        name = "a.test"
    elif name == "alias.test":
        r.add_answer(rr("alias.test", "CNAME", CNAME("a.test."), ttl=100))
        return [r]
    recs = DATA.get((name, rtype))
    if recs:
        for x in recs:
            r.add_answer(x)
    elif name in NAMES:
        r.add_auth(SOA_RR)
    else:
        r.header.rcode = RCODE.NXDOMAIN
        r.add_auth(SOA_RR)
    if name == "secure.test":
        # As a validating resolver answers a DO query: AD and the signature.
        r.header.ad = 1
        r.add_answer(RR("secure.test", QTYPE.RRSIG, ttl=300, rdata=RRSIG(
            QTYPE.A, 13, 2, 300, 1700000000, 1690000000, 12345, "test.", b"\x01" * 64)))
    if name == "big.test" and not tcp:
        r = req.reply()
        r.header.aa = 0
        r.header.tc = 1
    if name == "wrongid.test" and not tcp:
        bad = req.reply()
        bad.header.id = (req.header.id + 1) % 65536
        bad.add_answer(rr("wrongid.test", "A", A("192.0.2.66")))
        return [bad, r]
    if name == "wrongq.test" and not tcp:
        other = DNSRecord.question("other.test", "A")
        bad = other.reply()
        bad.header.id = req.header.id
        bad.add_answer(rr("other.test", "A", A("192.0.2.67")))
        return [bad, r]
    if name == "dup.test":
        return [r, r]
    return [r]

def serve_udp(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        try:
            for r in answer(DNSRecord.parse(data), False):
                sock.sendto(r.pack(), peer)
        except Exception as e:
            print("udp error", e, file=sys.stderr)

def serve_tcp_conn(conn):
    with conn:
        while True:
            head = conn.recv(2, socket.MSG_WAITALL)
            if len(head) < 2:
                return
            (n,) = struct.unpack("!H", head)
            data = conn.recv(n, socket.MSG_WAITALL)
            for r in answer(DNSRecord.parse(data), True):
                b = r.pack()
                conn.sendall(struct.pack("!H", len(b)) + b)

def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn,), daemon=True).start()

def bind(family, host):
    for _ in range(50):
        u = socket.socket(family, socket.SOCK_DGRAM)
        u.bind((host, 0))
        port = u.getsockname()[1]
        t = socket.socket(family, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind((host, port))
        except OSError:
            u.close(); t.close(); continue
        t.listen(16)
        return u, t, port
    raise SystemExit("no free port")

u4, t4, port = bind(socket.AF_INET, "127.0.0.1")
socks = [(u4, t4)]
v6 = "no"
try:
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::1", port))
    t6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    t6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t6.bind(("::1", port)); t6.listen(16)
    socks.append((u6, t6)); v6 = "yes"
except OSError:
    pass
dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dead.bind(("127.0.0.1", 0))
for u, t in socks:
    threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
    threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
print("PORT", port, dead.getsockname()[1], v6, flush=True)
sys.stdin.read()  # the test process ended
os._exit(0)
"#;

struct Server {
    live: SocketAddr,
    dead: SocketAddr,
    v6: Option<SocketAddr>,
    _child: Mutex<Child>,
}

/// The shared server, or `None` (test skipped) without python3.
fn server() -> Option<&'static Server> {
    static SERVER_CELL: OnceLock<Option<Server>> = OnceLock::new();
    SERVER_CELL.get_or_init(start).as_ref()
}

fn start() -> Option<Server> {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIP: python3 is not installed; the DNS loopback tests need it (and dnslib)");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", SERVER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words.first(),
        Some(&"PORT"),
        "the dnslib server did not start (is dnslib installed? python3 -m pip install dnslib)"
    );
    let port: u16 = words[1].parse().unwrap();
    let dead: u16 = words[2].parse().unwrap();
    // Keep stdin open: the server exits when this process does.
    std::mem::forget(child.stdin.take());
    Some(Server {
        live: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        dead: SocketAddr::from((Ipv4Addr::LOCALHOST, dead)),
        v6: (words[3] == "yes").then(|| SocketAddr::from((Ipv6Addr::LOCALHOST, port))),
        _child: Mutex::new(child),
    })
}

fn lookup(r: &Resolver, name: &str, rtype: RecordType) -> Lookup {
    smol::block_on(r.lookup(Query::new(name, rtype)))
}

fn records(canonical: &str, data: Vec<Rdata>, ttl: u32, authentic: bool) -> Lookup {
    Lookup::Records(Records {
        canonical: canonical.into(),
        data,
        ttl,
        authentic,
    })
}

/// How many queries for `name` the server received.
fn seen(s: &Server, name: &str) -> u32 {
    // A fresh resolver: count answers have TTL 0 anyway.
    let r = Resolver::with_servers(vec![s.live]);
    let l = lookup(&r, &format!("count.{name}"), RecordType::Txt);
    let txt = l
        .data()
        .first()
        .and_then(Rdata::txt_joined)
        .expect("count answer");
    String::from_utf8(txt).unwrap().parse().unwrap()
}

#[test]
fn record_types_over_udp() {
    let Some(s) = server() else { return };
    let r = Resolver::with_servers(vec![s.live]);
    let mx = |preference, exchange: &str| Rdata::Mx {
        preference,
        exchange: exchange.into(),
    };
    let cases: Vec<(&str, RecordType, Vec<Rdata>)> = vec![
        (
            "A.Test.",
            RecordType::A,
            vec![Rdata::A(Ipv4Addr::new(192, 0, 2, 1))],
        ),
        (
            "a.test",
            RecordType::Aaaa,
            vec![Rdata::Aaaa("2001:db8::1".parse().unwrap())],
        ),
        (
            "mx.test",
            RecordType::Mx,
            vec![mx(10, "a.test"), mx(20, "b.test")],
        ),
        (
            "txt.test",
            RecordType::Txt,
            vec![Rdata::Txt(vec![
                b"v=spf1 ip4:192.0.2.0/24".to_vec(),
                b" -all".to_vec(),
            ])],
        ),
        (
            "_25._tcp.a.test",
            RecordType::Tlsa,
            vec![Rdata::Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data: vec![0xab, 0xcd, 0xef],
            }],
        ),
        (
            "1.2.0.192.in-addr.arpa",
            RecordType::Ptr,
            vec![Rdata::Ptr("a.test".into())],
        ),
    ];
    for (name, rtype, data) in cases {
        let canonical = name.trim_end_matches('.').to_ascii_lowercase();
        assert_eq!(
            lookup(&r, name, rtype),
            records(&canonical, data, 300, false),
            "{name} {rtype}"
        );
    }
}

#[test]
fn cname_chains_nxdomain_nodata_and_ad() {
    let Some(s) = server() else { return };
    let r = Resolver::with_servers(vec![s.live]);
    let a1 = vec![Rdata::A(Ipv4Addr::new(192, 0, 2, 1))];
    // The whole chain in one answer: TTL is the chain's smallest.
    assert_eq!(
        lookup(&r, "www.test", RecordType::A),
        records("a.test", a1.clone(), 50, false)
    );
    // The chain ends at a name the server did not resolve: asked next.
    assert_eq!(
        lookup(&r, "alias.test", RecordType::A),
        records("a.test", a1, 100, false)
    );
    assert_eq!(
        lookup(&r, "nx.test", RecordType::A),
        Lookup::NxDomain { authentic: false }
    );
    assert_eq!(
        lookup(&r, "a.test", RecordType::Txt),
        Lookup::NoData { authentic: false }
    );
    assert_eq!(
        lookup(&r, "secure.test", RecordType::A),
        records(
            "secure.test",
            vec![Rdata::A(Ipv4Addr::new(192, 0, 2, 9))],
            300,
            true
        )
    );
    assert_eq!(
        lookup(&r, "servfail.test", RecordType::A),
        Lookup::Failed(Failure::ServFail)
    );
}

#[test]
fn truncation_falls_back_to_tcp() {
    let Some(s) = server() else { return };
    let r = Resolver::with_servers(vec![s.live]);
    let want: Vec<Vec<u8>> = (0..10u8).map(|i| vec![b'A' + i; 200]).collect();
    assert_eq!(
        lookup(&r, "big.test", RecordType::Txt),
        records("big.test", vec![Rdata::Txt(want)], 300, false)
    );
    // Once over UDP (truncated), once over TCP.
    assert_eq!(seen(s, "big.test"), 2);
}

#[test]
fn wrong_id_wrong_question_and_duplicates_ignored() {
    let Some(s) = server() else { return };
    let r = Resolver::with_servers(vec![s.live]);
    let a = |ip: [u8; 4]| vec![Rdata::A(Ipv4Addr::from(ip))];
    assert_eq!(
        lookup(&r, "wrongid.test", RecordType::A),
        records("wrongid.test", a([192, 0, 2, 2]), 300, false)
    );
    assert_eq!(
        lookup(&r, "wrongq.test", RecordType::A),
        records("wrongq.test", a([192, 0, 2, 4]), 300, false)
    );
    assert_eq!(
        lookup(&r, "dup.test", RecordType::A),
        records("dup.test", a([192, 0, 2, 3]), 300, false)
    );
    // The duplicate left nothing behind: the next lookups work.
    assert_eq!(
        lookup(&r, "a.test", RecordType::A).data(),
        a([192, 0, 2, 1]).as_slice()
    );
}

#[test]
fn cache_and_coalescing_spare_queries() {
    let Some(s) = server() else { return };
    // cached.test is asked by this test only.
    let r = Resolver::with_servers(vec![s.live]);
    let (x, y) = smol::block_on(futures_lite::future::zip(
        r.lookup(Query::new("cached.test", RecordType::A)),
        r.lookup(Query::new("cached.test", RecordType::A)),
    ));
    assert_eq!(
        x,
        records(
            "cached.test",
            vec![Rdata::A(Ipv4Addr::new(192, 0, 2, 5))],
            300,
            false
        )
    );
    assert_eq!(x, y);
    let Lookup::Records(again) = lookup(&r, "cached.test", RecordType::A) else {
        panic!("cached answer expected")
    };
    assert_eq!(again.data, vec![Rdata::A(Ipv4Addr::new(192, 0, 2, 5))]);
    assert!(again.ttl <= 300 && again.ttl >= 298, "{}", again.ttl);
    assert_eq!(seen(s, "cached.test"), 1);
}

#[test]
fn dead_server_then_next_server() {
    let Some(s) = server() else { return };
    let mut config = ResolverConfig::with_servers(vec![s.dead, s.live]);
    // 2 s over 2 servers × 2 attempts: the live server is asked at 0.5 s.
    config.lookup_timeout = Duration::from_secs(2);
    let r = Resolver::with_config(config);
    let t0 = Instant::now();
    let l = lookup(&r, "a.test", RecordType::A);
    let took = t0.elapsed();
    assert_eq!(l.data(), &[Rdata::A(Ipv4Addr::new(192, 0, 2, 1))]);
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[test]
fn closed_port_moves_on_at_once() {
    let Some(s) = server() else { return };
    let closed = {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.local_addr().unwrap()
    };
    let mut config = ResolverConfig::with_servers(vec![closed, s.live]);
    config.lookup_timeout = Duration::from_secs(4);
    let r = Resolver::with_config(config);
    let t0 = Instant::now();
    let l = lookup(&r, "a.test", RecordType::A);
    assert_eq!(l.data(), &[Rdata::A(Ipv4Addr::new(192, 0, 2, 1))]);
    // ICMP port unreachable: no waiting for the 1 s attempt timeout.
    assert!(
        t0.elapsed() < Duration::from_millis(800),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn silent_server_times_out_within_the_deadline() {
    let Some(s) = server() else { return };
    let mut config = ResolverConfig::with_servers(vec![s.dead]);
    config.lookup_timeout = Duration::from_millis(600);
    let r = Resolver::with_config(config);
    let t0 = Instant::now();
    assert_eq!(
        lookup(&r, "a.test", RecordType::A),
        Lookup::Failed(Failure::Timeout)
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(590) && took < Duration::from_millis(1200),
        "{took:?}"
    );
}

#[test]
fn ipv6_nameserver() {
    let Some(s) = server() else { return };
    let Some(v6) = s.v6 else {
        eprintln!("SKIP part: ::1 not available in this environment");
        return;
    };
    let r = Resolver::with_servers(vec![v6]);
    assert_eq!(
        lookup(&r, "a.test", RecordType::Aaaa).data(),
        &[Rdata::Aaaa("2001:db8::1".parse().unwrap())]
    );
}

/// Asks for two lookups at once and returns both; gives up at `deadline`.
struct Both {
    deadline: Instant,
    asked: u32,
    got: Vec<(u32, Lookup)>,
}

impl Evaluate for Both {
    type Output = Result<Vec<(u32, Lookup)>, &'static str>;
    fn poll(&mut self, now: Instant) -> Poll<Self::Output> {
        if self.got.len() == 2 {
            let mut got = std::mem::take(&mut self.got);
            got.sort_by_key(|(id, _)| *id);
            return Poll::Ready(Ok(got));
        }
        if now >= self.deadline {
            return Poll::Ready(Err("temperror"));
        }
        if self.asked < 2 {
            self.asked += 1;
            let q = if self.asked == 1 {
                Query::new("a.test", RecordType::A)
            } else {
                Query::new("mx.test", RecordType::Mx)
            };
            return Poll::Lookup(LookupId(self.asked), q);
        }
        Poll::Pending
    }
    fn handle_answer(&mut self, _now: Instant, id: LookupId, answer: Lookup) {
        self.got.push((id.0, answer));
    }
    fn deadline(&self) -> Option<Instant> {
        Some(self.deadline)
    }
}

#[test]
fn evaluate_runs_lookups_and_honours_the_deadline() {
    let Some(s) = server() else { return };
    let r = Resolver::with_servers(vec![s.live]);
    let ev = Both {
        deadline: Instant::now() + Duration::from_secs(5),
        asked: 0,
        got: Vec::new(),
    };
    let got = smol::block_on(r.evaluate(ev)).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, 1);
    assert_eq!(got[0].1.data(), &[Rdata::A(Ipv4Addr::new(192, 0, 2, 1))]);
    assert_eq!(got[1].0, 2);
    assert_eq!(got[1].1.data().len(), 2);

    // A silent server: the evaluator's own deadline ends it.
    let r = Resolver::with_servers(vec![s.dead]);
    let t0 = Instant::now();
    let ev = Both {
        deadline: t0 + Duration::from_millis(300),
        asked: 0,
        got: Vec::new(),
    };
    assert_eq!(smol::block_on(r.evaluate(ev)), Err("temperror"));
    assert!(t0.elapsed() < Duration::from_millis(1000));
}

#[test]
fn cli_dns_lookup() {
    let Some(s) = server() else { return };
    let run = |args: &[&str]| {
        let resolver = s.live.to_string();
        let (out, err, code) =
            run_moxide(args.iter().chain(&["--resolver", &resolver]), b"").parts();
        (code, out, err)
    };
    let (code, out, err) = run(&["dns", "lookup", "mx", "mx.test"]);
    assert_eq!(err, "");
    assert_eq!(
        out,
        "query: mx.test MX\n\
         result: 2 records, TTL 300 s\n\
         dnssec: not authentic (no AD bit: unsigned, or the resolver does not validate)\n\
         mx.test MX 10 a.test.\n\
         mx.test MX 20 b.test.\n"
    );
    assert_eq!(code, Some(0));
    let (code, out, _) = run(&["dns", "lookup", "A", "secure.test"]);
    assert_eq!(
        out,
        "query: secure.test A\n\
         result: 1 record, TTL 300 s\n\
         dnssec: authentic (the resolver validated it with DNSSEC: AD bit set)\n\
         secure.test A 192.0.2.9\n"
    );
    assert_eq!(code, Some(0));
    let (code, out, _) = run(&["dns", "lookup", "TXT", "nx.test"]);
    assert_eq!(
        out,
        "query: nx.test TXT\n\
         result: NXDOMAIN: nx.test does not exist\n\
         dnssec: not authentic (no AD bit: unsigned, or the resolver does not validate)\n"
    );
    assert_eq!(code, Some(1));
    let (code, out, _) = run(&["dns", "lookup", "TXT", "a.test"]);
    assert_eq!(
        out.lines().nth(1),
        Some("result: NODATA: a.test exists but has no TXT records")
    );
    assert_eq!(code, Some(1));
    let (code, _, err) = run(&["dns", "lookup", "SRV", "a.test"]);
    assert!(err.contains("unknown type \"SRV\""), "{err}");
    assert_eq!(code, Some(2));
    let _ = std::io::stdout().flush();
}

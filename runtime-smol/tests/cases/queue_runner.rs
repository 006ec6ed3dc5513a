// Queue runner cases shared by both runtimes' tests; included by
// tests/queue_runner.rs of each crate, which defines BIN, mod common,
// mod python_server and `start_runner(queue, cfg) -> Runner` on its
// runtime (`Runner::stop`).
//
// Each case queues a message with `Queue::add` on a real store in a
// temporary directory and lets the runner deliver it over real TCP on
// 127.0.0.1, with DNS from a dnslib zone (recipient domains resolve to
// 127.0.0.1; the transport's port override picks the server).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use moxide::queue_runner::RunnerConfig;
use moxide_engine::delivery::{AddressPolicy, DeliveryConfig, Transport};
use moxide_engine::queue::{Entry, Filter, NewOutgoing, Queue, QueueConfig};
use moxide_storage::{NewAccount, QueueBody, RcptState, Store, StoreConfig};

use crate::common::{Server, free_ports, imaps_inbox};

/// The zone: names ending in secure.test are answered with the AD bit
/// (DNSSEC-verified as far as the resolver knows); other names NXDOMAIN,
/// other types of known names NODATA.
const ZONE: &str = r#"
import socket, sys, threading, os
from dnslib import DNSRecord, RR, QTYPE, RCODE, A, MX, TXT

DATA = {
    ("direct.test", "A"): [A("127.0.0.1")],
    ("reject.test", "A"): [A("127.0.0.1")],
    ("refused.test", "A"): [A("127.0.0.1")],
    ("secure.test", "MX"): [MX("mx.secure.test", 10)],
    ("mx.secure.test", "A"): [A("127.0.0.1")],
    # MTA-STS (cases/queue_runner_mtasts.rs): the policy host and the MX,
    # localhost, which localserve's certificate names.
    ("sts.test", "MX"): [MX("localhost", 10)],
    ("_mta-sts.sts.test", "TXT"): [TXT(b"v=STSv1; id=20261130T1;")],
    ("mta-sts.sts.test", "A"): [A("127.0.0.1")],
    ("localhost", "A"): [A("127.0.0.1")],
}
NAMES = {n for (n, _) in DATA}

def serve(u):
    while True:
        data, peer = u.recvfrom(4096)
        req = DNSRecord.parse(data)
        name = str(req.q.qname).rstrip(".").lower()
        rtype = QTYPE[req.q.qtype]
        reply = req.reply()
        if name.endswith("secure.test"):
            reply.header.ad = 1
        if (name, rtype) in DATA:
            for rd in DATA[(name, rtype)]:
                reply.add_answer(RR(name, req.q.qtype, rdata=rd, ttl=60))
        elif name not in NAMES:
            reply.header.rcode = RCODE.NXDOMAIN
        u.sendto(reply.pack(), peer)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
threading.Thread(target=serve, args=(u,), daemon=True).start()
print("PORT", u.getsockname()[1], flush=True)
sys.stdin.read()
os._exit(0)
"#;

/// Points the process's resolver at the zone once; `false` (the test
/// skips) without python3.
fn dns() -> bool {
    static CELL: OnceLock<bool> = OnceLock::new();
    *CELL.get_or_init(|| match python_server::start(ZONE) {
        Some(addr) => {
            let r = moxide::dns::Resolver::with_servers(vec![addr]);
            assert!(moxide::dns::install_shared(r).is_ok(), "resolver already set");
            true
        }
        None => false,
    })
}

const MSG: &str = "From: <a@a.test>\r\nSubject: runner test\r\nMessage-ID: <m1@a.test>\r\n\r\n.dot line\r\nbody\r\n";
const PREFIX: &str = "Received: by mail.a.test\r\n";

/// A store with account `a` (a@a.test) and its queue.
fn queue() -> (tempfile::TempDir, Arc<Queue>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    store
        .create_account(
            "a",
            NewAccount {
                addresses: vec!["a@a.test".into()],
                ..NewAccount::default()
            },
        )
        .unwrap();
    let q = Queue::new(Arc::new(store), QueueConfig::new("mail.a.test")).unwrap();
    (dir, Arc::new(q))
}

/// Direct delivery to `port` of the MX hosts, loopback allowed.
fn config(port: u16) -> RunnerConfig {
    let mut delivery = DeliveryConfig::new("mail.a.test");
    delivery.addresses = AddressPolicy {
        allow_loopback: true,
        ..delivery.addresses
    };
    delivery.timeouts.quit = Duration::from_secs(2);
    let mut cfg = RunnerConfig::new(delivery);
    cfg.transport_for = Arc::new(move |_| Transport::Direct { port });
    cfg
}

fn add(q: &Queue, rcpt: &str, requiretls: Option<bool>) -> i64 {
    add_message(q, "a@a.test", rcpt, requiretls, MSG)
}

/// Queues `msg` (account a's) from `from` for `rcpt`; returns the time it
/// was queued.
fn add_message(q: &Queue, from: &str, rcpt: &str, requiretls: Option<bool>, msg: &str) -> i64 {
    let now = unix_now();
    let ids = q
        .add(
            now,
            NewOutgoing {
                sender_account: Some("a".into()),
                mail_from: from.into(),
                recipients: vec![rcpt.into()],
                prefix: PREFIX.as_bytes().to_vec(),
                message: msg.as_bytes(),
                smtputf8: false,
                body: QueueBody::SevenBit,
                requiretls,
                transport: None,
            },
        )
        .unwrap();
    assert_eq!(ids, vec![1]);
    now
}

fn unix_now() -> i64 {
    moxide::queue_drive::unix_now()
}

fn entries(q: &Queue) -> Vec<Entry> {
    q.list(&Filter::default()).unwrap()
}

/// Waits (at most 8 s) until `done` holds for the queue's entries.
fn wait_for(q: &Queue, what: &str, done: impl Fn(&[Entry]) -> bool) -> Vec<Entry> {
    let start = Instant::now();
    loop {
        let es = entries(q);
        if done(&es) {
            return es;
        }
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "{what}: still {es:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every message in account `a`'s Inbox.
fn sender_inbox(q: &Queue) -> Vec<String> {
    let acct = q.store().account("a").unwrap();
    let mb = acct.mailbox("Inbox").unwrap();
    acct.messages_in(mb.id, 1..=u32::MAX)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(acct.read_message(m).unwrap()).unwrap())
        .collect()
}

/// An SMTP server on 127.0.0.1 answering from a script: the greeting
/// after `greet` (never when `None`), the EHLO reply as given, 250 to
/// MAIL and RSET, `rcpt` to RCPT, 221 to QUIT. Records every command line
/// it gets, and `<connect>` / `<closed>` when a client connects and when
/// it closes the connection.
struct Scripted {
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

fn scripted(ehlo: &'static str, rcpt: &'static str) -> Scripted {
    scripted_after(Some(Duration::ZERO), ehlo, rcpt)
}

fn scripted_after(greet: Option<Duration>, ehlo: &'static str, rcpt: &'static str) -> Scripted {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let rec = lines.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut w) = conn else { return };
            rec.lock().unwrap().push("<connect>".to_string());
            let mut r = BufReader::new(w.try_clone().unwrap());
            if let Some(d) = greet {
                std::thread::sleep(d);
                w.write_all(b"220 scripted.test ESMTP\r\n").unwrap();
            }
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    rec.lock().unwrap().push("<closed>".to_string());
                    break;
                }
                let cmd = line.trim_end().to_string();
                rec.lock().unwrap().push(cmd.clone());
                let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
                let reply = match verb.as_str() {
                    "EHLO" => ehlo,
                    "MAIL" | "RSET" => "250 2.0.0 ok\r\n",
                    "RCPT" => rcpt,
                    "QUIT" => "221 2.0.0 bye\r\n",
                    _ => "500 5.5.2 not in the script\r\n",
                };
                let _ = w.write_all(reply.as_bytes());
                if verb == "QUIT" {
                    break;
                }
            }
        }
    });
    Scripted { port, lines }
}

impl Scripted {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (at most 8 s) until the server has recorded `what`.
    fn wait_for(&self, what: &str) {
        let start = Instant::now();
        while !self.lines().iter().any(|l| l == what) {
            assert!(
                start.elapsed() < Duration::from_secs(8),
                "no {what}: {:?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn delivers_over_starttls_and_empties_the_queue() {
    if !dns() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let (_qdir, q) = queue();
    let runner = start_runner(q.clone(), config(server.smtp));
    // The runner has looked at the empty queue and sleeps without a
    // timer: only the queue's notify can start this delivery.
    std::thread::sleep(Duration::from_millis(300));
    add(&q, "bob@direct.test", None);
    wait_for(&q, "delivery", |es| es.is_empty());
    runner.stop();

    let mailbox = imaps_inbox(dir.path(), imaps);
    // The prefix and message as queued (dot-stuffing undone), after the
    // receiving server's own Received header, which says TLS was used.
    let sent = format!("{PREFIX}{MSG}");
    assert!(mailbox.contains(&sent), "not delivered as sent:\n{mailbox}");
    assert!(
        mailbox.contains("with ESMTPS"),
        "not received over TLS:\n{mailbox}"
    );
    assert!(sender_inbox(&q).is_empty(), "no DSN expected");
    drop(server);
}

#[test]
fn permanent_rejection_gives_a_failure_dsn_and_no_entry() {
    if !dns() {
        return;
    }
    let s = scripted(
        "250-scripted.test\r\n250 8BITMIME\r\n",
        "550 5.1.1 no such user here\r\n",
    );
    let (_qdir, q) = queue();
    let runner = start_runner(q.clone(), config(s.port));
    add(&q, "bob@reject.test", None);
    wait_for(&q, "failure", |es| es.is_empty());
    runner.stop();

    assert_eq!(
        s.lines(),
        vec![
            "<connect>",
            "EHLO mail.a.test",
            "MAIL FROM:<a@a.test> BODY=7BIT",
            "RCPT TO:<bob@reject.test>",
            "QUIT"
        ]
    );
    let inbox = sender_inbox(&q);
    assert_eq!(inbox.len(), 1, "{inbox:#?}");
    let dsn = &inbox[0];
    for want in [
        "From: <postmaster@mail.a.test>\r\n",
        "To: <a@a.test>\r\n",
        "Subject: mail delivery failed\r\n",
        "<bob@reject.test>: 550 5.1.1 no such user here\r\n",
        "Final-Recipient: rfc822; bob@reject.test\r\n",
        "Action: failed\r\n",
        "Status: 5.1.1\r\n",
        "Remote-MTA: dns; reject.test\r\n",
        "Diagnostic-Code: smtp; 550 5.1.1 no such user here\r\n",
        // The header of the message, as attached.
        "Received: by mail.a.test\r\nFrom: <a@a.test>\r\nSubject: runner test\r\n",
    ] {
        assert!(dsn.contains(want), "{want:?} missing in the DSN:\n{dsn}");
    }
}

/// Queues a message for `rcpt` (REQUIRETLS as `requiretls`), runs the
/// runner with every domain's mail sent to `port` until the attempt is
/// booked as failed, and checks what a temporary failure books: one
/// attempt, made while the runner ran, the next one 7.5 minutes (450 s)
/// later, the one recipient still pending, no DSN. Returns the entry.
fn one_temporary_failure(port: u16, rcpt: &str, requiretls: Option<bool>) -> Entry {
    let (_qdir, q) = queue();
    let runner = start_runner(q.clone(), config(port));
    let t0 = add(&q, rcpt, requiretls);
    let mut es = wait_for(&q, "booked failure", |es| {
        es.first().is_some_and(|e| e.last_error.is_some())
    });
    let t1 = unix_now();
    runner.stop();

    let e = es.remove(0);
    assert_eq!(e.attempts, 1);
    let last = e.last_attempt.unwrap();
    assert!((t0..=t1).contains(&last), "{last} not in {t0}..={t1}");
    assert_eq!(e.next_attempt, last + 450);
    assert_eq!(e.recipients.len(), 1);
    assert_eq!(e.recipients[0].state, RcptState::Pending);
    assert!(sender_inbox(&q).is_empty(), "no DSN expected");
    e
}

#[test]
fn refused_connection_is_retried_after_7_5_minutes() {
    if !dns() {
        return;
    }
    let closed = free_ports().0;
    let e = one_temporary_failure(closed, "bob@refused.test", None);
    let want = format!(
        "refused.test: connecting to 127.0.0.1:{closed}: Connection refused (os error 111)"
    );
    assert_eq!(e.last_error.as_deref(), Some(want.as_str()));
}

#[test]
fn requiretls_to_a_server_without_starttls_sends_nothing() {
    if !dns() {
        return;
    }
    let s = scripted(
        "250-scripted.test\r\n250-8BITMIME\r\n250 REQUIRETLS\r\n",
        "250 2.1.5 ok\r\n",
    );
    let e = one_temporary_failure(s.port, "bob@secure.test", Some(true));
    // The server heard EHLO and QUIT, never MAIL: nothing in plaintext.
    assert_eq!(s.lines(), vec!["<connect>", "EHLO mail.a.test", "QUIT"]);
    assert_eq!(
        e.last_error.as_deref(),
        Some("mx.secure.test: TLS is required but the server does not offer STARTTLS")
    );
}

#[test]
fn stop_lets_the_running_attempt_finish_and_books_it() {
    if !dns() {
        return;
    }
    // The greeting comes 1.5 s after the connection, the recipient is
    // refused: the attempt is still running when stop is called.
    let s = scripted_after(
        Some(Duration::from_millis(1500)),
        "250 scripted.test\r\n",
        "550 5.1.1 no such user here\r\n",
    );
    let (_qdir, q) = queue();
    let runner = start_runner(q.clone(), config(s.port));
    add(&q, "bob@reject.test", None);
    s.wait_for("<connect>");
    let t = Instant::now();
    runner.stop();
    assert!(t.elapsed() >= Duration::from_millis(1000), "{:?}", t.elapsed());
    // Booked before stop returned: no entry, the failure DSN delivered.
    assert_eq!(entries(&q), vec![]);
    let inbox = sender_inbox(&q);
    assert_eq!(inbox.len(), 1, "{inbox:#?}");
    assert!(inbox[0].contains("Diagnostic-Code: smtp; 550 5.1.1 no such user here\r\n"));
}

#[test]
fn dropping_the_runner_abandons_the_attempt_and_keeps_the_entry() {
    if !dns() {
        return;
    }
    // A server that never greets: the attempt waits until it is dropped.
    let s = scripted_after(None, "", "");
    let (_qdir, q) = queue();
    let runner = start_runner(q.clone(), config(s.port));
    let t0 = add(&q, "bob@reject.test", None);
    s.wait_for("<connect>");
    runner.abandon();
    // The connection is closed, nothing was sent.
    s.wait_for("<closed>");
    assert_eq!(s.lines(), vec!["<connect>", "<closed>"]);
    // The attempt stays recorded; the entry is retried 7.5 minutes later.
    let es = entries(&q);
    assert_eq!(es.len(), 1);
    let e = &es[0];
    assert_eq!(e.attempts, 1);
    let last = e.last_attempt.unwrap();
    assert!(last >= t0 && last <= unix_now());
    assert_eq!(e.next_attempt, last + 450);
    assert_eq!(e.last_error, None);
    assert_eq!(e.recipients[0].state, RcptState::Pending);
    assert!(sender_inbox(&q).is_empty());
}

#[test]
fn smarthost_with_auth_over_implicit_tls_delivers() {
    use moxide_engine::delivery::{Smarthost, SmarthostAuth, SmarthostVerify};
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let (_qdir, q) = queue();
    let mut cfg = config(0);
    // Everything to localserve's submissions port (TLS from the first
    // byte, self-signed certificate), authenticated as mox@localhost; no
    // DNS is asked (an IP address as host).
    let relay = Smarthost {
        host: "127.0.0.1".into(),
        port: server.submissions,
        implicit_tls: true,
        auth: Some(SmarthostAuth {
            username: "mox@localhost".into(),
            password: moxide_proto::secret::Secret::new("moxmoxmox".into()),
            mechanisms: Vec::new(),
        }),
        verify: SmarthostVerify::Any,
    };
    cfg.transport_for = Arc::new(move |_| Transport::Smarthost(relay.clone()));
    let runner = start_runner(q.clone(), cfg);
    // Submission wants MAIL FROM and From of the authenticated account.
    let msg = MSG.replace("From: <a@a.test>", "From: <mox@localhost>");
    add_message(&q, "mox@localhost", "erin@faraway.test", None, &msg);
    wait_for(&q, "delivery", |es| es.is_empty());
    runner.stop();

    let mailbox = imaps_inbox(dir.path(), imaps);
    assert!(
        mailbox.contains(&format!("{PREFIX}{msg}")),
        "not delivered as sent:\n{mailbox}\nDSN: {:?}",
        sender_inbox(&q)
    );
    assert!(sender_inbox(&q).is_empty(), "no DSN expected");
    // Received over TLS, authenticated (RFC 3848 ESMTPSA).
    assert!(
        mailbox.contains("by localhost with ESMTPSA id"),
        "{mailbox}"
    );
    drop(server);
}

#[test]
fn garbage_from_the_server_is_a_temporary_failure() {
    if !dns() {
        return;
    }
    // A "server" that answers with something that is not an SMTP reply.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { return };
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let e = one_temporary_failure(port, "bob@refused.test", None);
    assert_eq!(
        e.last_error.as_deref(),
        Some("refused.test: protocol error: malformed reply line \"HTTP/1.1 400 Bad Request\"")
    );
}

#[test]
fn temporary_rejection_is_retried_after_7_5_minutes() {
    if !dns() {
        return;
    }
    let s = scripted(
        "250-scripted.test\r\n250 8BITMIME\r\n",
        "451 4.7.1 greylisted, try again later\r\n",
    );
    let e = one_temporary_failure(s.port, "bob@reject.test", None);
    assert_eq!(
        e.last_error.as_deref(),
        Some("451 4.7.1 greylisted, try again later")
    );
    assert_eq!(e.recipients[0].last_error, e.last_error);
}

//! SMTP sessions on the bare core: transcripts against a store in a
//! temporary directory, every reply compared exactly, the store checked for
//! consistency after each.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide_engine::smtp::{PeerInfo, SmtpConfig, SmtpSession, WallClock};
use moxide_proto::conn::{Action, Conn};
use moxide_storage::{NewAccount, Store, StoreConfig};

/// 2024-01-02 03:04:05 UTC.
const T0: i64 = 1_704_164_645;

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    start: Instant,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        store
            .create_account(
                "mox",
                NewAccount {
                    addresses: vec!["mox@localhost".into(), "alias@localhost".into()],
                    password: Some("moxmoxmox".into()),
                    quota: 0,
                    default_mailboxes: true,
                },
            )
            .unwrap();
        Env {
            _dir: dir,
            store: Arc::new(store),
            start: Instant::now(),
        }
    }

    fn session(&self, cfg: SmtpConfig, tls: bool) -> Client {
        let mut counter = 0u8;
        let s = SmtpSession::new(
            cfg.shared(),
            self.store.clone(),
            PeerInfo {
                ip: "192.0.2.7".parse().unwrap(),
                tls,
                tls_exporter: None,
                client_key: None,
            },
            WallClock {
                unix_at: T0,
                instant_at: self.start,
            },
            Box::new(move || {
                counter = counter.wrapping_add(1);
                [counter; 18]
            }),
        );
        let mut c = Client {
            s,
            now: self.start,
            closed: false,
        };
        let greeting = c.drain();
        assert_eq!(greeting, "220 mx.example ESMTP moxide\r\n");
        c
    }

    /// The Inbox messages (prefix + file) of account mox.
    fn inbox(&self) -> Vec<String> {
        let acct = self.store.account("mox").unwrap();
        let inbox = acct.mailbox("Inbox").unwrap();
        let msgs = acct.messages_in(inbox.id, 1..=u32::MAX).unwrap();
        msgs.iter()
            .map(|m| {
                let body = acct.read_message(m).unwrap();
                String::from_utf8(body).unwrap()
            })
            .collect()
    }

    fn check(&self) {
        assert_eq!(
            self.store.check_consistency().unwrap(),
            Vec::<String>::new()
        );
    }
}

struct Client {
    s: SmtpSession,
    now: Instant,
    closed: bool,
}

impl Client {
    fn drain(&mut self) -> String {
        let mut out = Vec::new();
        self.s.poll_transmit(&mut out);
        while let Some(a) = self.s.poll_action() {
            if a == Action::Close {
                self.closed = true;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// Sends `input`, returns what the server wrote.
    fn send(&mut self, input: &str) -> String {
        self.s.handle_input(self.now, input.as_bytes());
        self.drain()
    }
}

fn inbound() -> SmtpConfig {
    SmtpConfig::inbound("mx.example")
}

fn submission() -> SmtpConfig {
    let mut c = SmtpConfig::submission("mx.example");
    c.server.allow_plain_auth_without_tls = true;
    c
}

const MSG: &str = "From: <a@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";

#[test]
fn inbound_known_recipient_gets_received_prefix_and_inbox() {
    let env = Env::new();
    let mut c = env.session(inbound(), false);
    assert!(
        c.send("EHLO client.example\r\n")
            .starts_with("250-mx.example\r\n")
    );
    assert_eq!(
        c.send("MAIL FROM:<a@example.org>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    assert_eq!(
        c.send("RCPT TO:<Alias@LOCALHOST>\r\n"),
        "250 2.1.5 recipient ok\r\n"
    );
    assert_eq!(
        c.send("DATA\r\n"),
        "354 end data with <CR><LF>.<CR><LF>\r\n"
    );
    let reply = c.send(&format!("{MSG}.\r\n"));
    assert_eq!(
        reply,
        "250 2.0.0 message accepted, id 01010101010101011\r\n"
    );
    let inbox = env.inbox();
    assert_eq!(
        inbox,
        [format!(
            "Received: from client.example ([192.0.2.7])\r\n\tby mx.example with ESMTP id 01010101010101011\r\n\tfor <Alias@LOCALHOST>; Tue, 02 Jan 2024 03:04:05 +0000\r\n{MSG}"
        )]
    );
    env.check();
}

#[test]
fn unknown_recipient_is_550_5_1_1() {
    let env = Env::new();
    let mut c = env.session(inbound(), false);
    c.send("EHLO client.example\r\n");
    c.send("MAIL FROM:<>\r\n");
    assert_eq!(
        c.send("RCPT TO:<nobody@localhost>\r\n"),
        "550 5.1.1 no such user\r\n"
    );
    assert_eq!(c.send("DATA\r\n"), "554 5.5.1 no valid recipients\r\n");
    assert!(env.inbox().is_empty());
    env.check();
}

#[test]
fn over_quota_is_452_4_2_2_and_552_5_2_2() {
    let env = Env::new();
    env.store.account("mox").unwrap().set_quota(400).unwrap();
    let mut c = env.session(inbound(), false);
    c.send("EHLO client.example\r\n");
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\n");
    let big = format!("Subject: x\r\n\r\n{}\r\n.\r\n", "y".repeat(500));
    assert_eq!(
        c.send(&big),
        "552 5.2.2 message larger than the mailbox quota\r\n"
    );
    // One that fits, then one more that does not.
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\n");
    let mid = format!("Subject: x\r\n\r\n{}\r\n.\r\n", "y".repeat(100));
    assert!(c.send(&mid).starts_with("250 2.0.0"));
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\n");
    assert_eq!(c.send(&mid), "452 4.2.2 mailbox full, over quota\r\n");
    assert_eq!(env.inbox().len(), 1);
    env.check();
}

#[test]
fn eof_mid_data_stores_nothing() {
    let env = Env::new();
    let mut c = env.session(inbound(), false);
    c.send(
        "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\n",
    );
    c.send("Subject: half\r\n\r\nthe first half\r\n");
    c.s.handle_eof(c.now);
    c.drain();
    assert!(c.closed);
    assert!(env.inbox().is_empty());
    env.check();
}

#[test]
fn submission_requires_auth() {
    let env = Env::new();
    let mut c = env.session(submission(), false);
    c.send("EHLO client.example\r\n");
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "530 5.7.0 authentication required\r\n"
    );
    // AUTH PLAIN with a wrong password, then the right one.
    let bad = base64_plain("mox@localhost", "wrong");
    assert_eq!(
        c.send(&format!("AUTH PLAIN {bad}\r\n")),
        "535 5.7.8 authentication credentials invalid\r\n"
    );
    let good = base64_plain("mox@localhost", "moxmoxmox");
    assert_eq!(
        c.send(&format!("AUTH PLAIN {good}\r\n")),
        "235 2.7.0 authentication successful\r\n"
    );
    assert_eq!(c.s.account_name(), Some("mox"));
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    env.check();
}

fn base64_plain(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"))
}

fn authed(env: &Env) -> Client {
    let mut c = env.session(submission(), false);
    c.send("EHLO client.example\r\n");
    let good = base64_plain("mox", "moxmoxmox");
    assert!(c.send(&format!("AUTH PLAIN {good}\r\n")).starts_with("235"));
    c
}

#[test]
fn submission_wrong_from_is_550_5_7_1() {
    let env = Env::new();
    let mut c = authed(&env);
    assert_eq!(
        c.send("MAIL FROM:<other@example.org>\r\n"),
        "550 5.7.1 MAIL FROM address not allowed for the authenticated account\r\n"
    );
    c.send("MAIL FROM:<mox@localhost>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\n");
    assert_eq!(
        c.send("From: <other@example.org>\r\n\r\nx\r\n.\r\n"),
        "550 5.7.1 From address not allowed for the authenticated account\r\n"
    );
    assert!(env.inbox().is_empty());
    env.check();
}

#[test]
fn submission_adds_message_id_and_date_and_loops_back() {
    let env = Env::new();
    let mut c = authed(&env);
    c.send("MAIL FROM:<mox@localhost>\r\nRCPT TO:<alias@localhost>\r\nDATA\r\n");
    let reply = c.send("From: Mox <mox@localhost>\r\nSubject: s\r\n\r\nx\r\n.\r\n");
    assert_eq!(
        reply,
        "250 2.0.0 message accepted, id 02020202020202021\r\n"
    );
    assert_eq!(
        env.inbox(),
        [
            "Received: from client.example ([192.0.2.7])\r\n\tby mx.example with ESMTPA id 02020202020202021\r\n\tfor <alias@localhost>; Tue, 02 Jan 2024 03:04:05 +0000\r\nMessage-ID: <02020202020202021.1704164645@mx.example>\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\nFrom: Mox <mox@localhost>\r\nSubject: s\r\n\r\nx\r\n"
        ]
    );
    env.check();
}

#[test]
fn localserve_failures_on_purpose() {
    let env = Env::new();
    let mut c = env.session(inbound().for_localserve("mox"), false);
    c.send("EHLO client.example\r\n");
    assert_eq!(
        c.send("MAIL FROM:<mailfrom451@x>\r\n"),
        "451 4.0.0 error on purpose\r\n"
    );
    c.send("MAIL FROM:<a@x>\r\n");
    assert_eq!(
        c.send("RCPT TO:<rcptto550@x>\r\n"),
        "550 5.0.0 error on purpose\r\n"
    );
    // Unknown recipients go to mox.
    assert_eq!(
        c.send("RCPT TO:<someone@elsewhere.example>\r\n"),
        "250 2.1.5 recipient ok\r\n"
    );
    assert_eq!(
        c.send("RCPT TO:<temperror@x>\r\n"),
        "250 2.1.5 recipient ok\r\n"
    );
    c.send("DATA\r\n");
    assert_eq!(
        c.send(&format!("{MSG}.\r\n")),
        "451 4.3.0 temporary error on purpose\r\n"
    );
    assert!(env.inbox().is_empty());
    c.send("MAIL FROM:<a@x>\r\nRCPT TO:<someone@elsewhere.example>\r\nDATA\r\n");
    assert!(c.send(&format!("{MSG}.\r\n")).starts_with("250 2.0.0"));
    assert_eq!(env.inbox().len(), 1);
    // timeout: no reply until the localserve timeout, then 421 and close.
    c.send("MAIL FROM:<a@x>\r\n");
    assert_eq!(c.send("RCPT TO:<rcpttotimeout@x>\r\n"), "");
    let at = c.s.poll_timeout().unwrap();
    assert_eq!(at, c.now + Duration::from_secs(30));
    c.s.handle_timeout(at);
    assert_eq!(c.drain(), "421 4.4.2 mx.example timeout, closing\r\n");
    assert!(c.closed);
    env.check();
}

#[test]
fn submission_to_a_remote_recipient_says_there_is_no_queue() {
    let env = Env::new();
    let mut c = authed(&env);
    c.send("MAIL FROM:<mox@localhost>\r\n");
    assert_eq!(
        c.send("RCPT TO:<someone@example.org>\r\n"),
        "550 5.1.1 no outgoing queue yet: only local recipients can be reached\r\n"
    );
    env.check();
}

/// The same transcript fed whole and byte by byte gives the same output
/// and the same stored message.
#[test]
fn input_split_at_every_byte_gives_the_same_result() {
    let input = format!(
        "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\n{MSG}..dot\r\n.\r\nQUIT\r\n"
    );
    let run = |split: bool| {
        let env = Env::new();
        let mut c = env.session(inbound(), false);
        let mut out = String::new();
        if split {
            for b in input.as_bytes() {
                c.s.handle_input(c.now, std::slice::from_ref(b));
                out.push_str(&c.drain());
            }
        } else {
            out = c.send(&input);
        }
        env.check();
        (out, env.inbox())
    };
    let whole = run(false);
    assert_eq!(whole, run(true));
    assert!(whole.1[0].ends_with("\r\n.dot\r\n"), "{:?}", whole.1);
    assert!(whole.0.ends_with("221 2.0.0 bye\r\n"), "{}", whole.0);
}

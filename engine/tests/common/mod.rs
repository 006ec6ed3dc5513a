//! Test harness: a store in a temporary directory with the account
//! mox@localhost (password moxmoxmox, default special-use mailboxes), and
//! sessions fed `C:` lines whose `S:` output is compared exactly.
#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide_engine::imap::{ImapConfig, PeerInfo, Session, WallClock};
use moxide_proto::conn::{Action, Conn};
use moxide_storage::{NewAccount, Store, StoreConfig};

/// Unix time the tests' wall clock starts at: 2024-01-02 03:04:05 UTC.
pub const T0: i64 = 1_704_164_645;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Arc<Store>,
    pub cfg: Arc<ImapConfig>,
    pub start: Instant,
}

impl Env {
    pub fn new() -> Env {
        Env::with_config(ImapConfig {
            allow_plaintext_auth: true,
            ..ImapConfig::default()
        })
    }

    pub fn with_config(cfg: ImapConfig) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        store
            .create_account(
                "mox",
                NewAccount {
                    addresses: vec!["mox@localhost".into()],
                    password: Some("moxmoxmox".into()),
                    quota: 0,
                    default_mailboxes: true,
                },
            )
            .unwrap();
        Env {
            dir,
            store: Arc::new(store),
            cfg: Arc::new(cfg),
            start: Instant::now(),
        }
    }

    pub fn client(&self) -> Client {
        self.client_with(PeerInfo {
            ip: "127.0.0.1".parse::<IpAddr>().unwrap(),
            tls: false,
            tls_exporter: None,
            client_key: None,
        })
    }

    pub fn client_with(&self, peer: PeerInfo) -> Client {
        let mut counter = 0u8;
        let s = Session::new(
            self.cfg.clone(),
            self.store.clone(),
            peer,
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
            actions: Vec::new(),
        };
        let greeting = c.output();
        assert!(
            greeting.starts_with("* OK [CAPABILITY IMAP4rev2 IMAP4rev1"),
            "{greeting}"
        );
        c
    }

    /// A logged-in client.
    pub fn login(&self) -> Client {
        let mut c = self.client();
        let out = c.send("a0 LOGIN mox@localhost moxmoxmox");
        assert!(out.starts_with("a0 OK [CAPABILITY"), "{out}");
        c
    }

    /// Runs the consistency check and asserts it finds nothing.
    pub fn check(&self) {
        let problems = self.store.check_consistency().unwrap();
        assert!(problems.is_empty(), "consistency: {problems:?}");
    }
}

pub struct Client {
    pub s: Session,
    pub now: Instant,
    pub closed: bool,
    pub actions: Vec<Action>,
}

impl Client {
    /// Everything the session wants to send now.
    pub fn output(&mut self) -> String {
        let mut out = Vec::new();
        loop {
            let before = out.len();
            self.s.poll_transmit(&mut out);
            if out.len() == before {
                break;
            }
        }
        while let Some(a) = self.s.poll_action() {
            if a == Action::Close {
                self.closed = true;
            }
            self.actions.push(a);
        }
        String::from_utf8(out).unwrap()
    }

    /// Feeds raw bytes and returns the output.
    pub fn raw(&mut self, bytes: &[u8]) -> String {
        self.s.handle_input(self.now, bytes);
        self.output()
    }

    /// Feeds one line (CRLF added) and returns the output.
    pub fn send(&mut self, line: &str) -> String {
        self.raw(format!("{line}\r\n").as_bytes())
    }

    /// Feeds a line and asserts the exact output lines.
    pub fn expect(&mut self, line: &str, want: &[&str]) {
        let got = self.send(line);
        let mut w = want.join("\r\n");
        if !want.is_empty() {
            w.push_str("\r\n");
        }
        assert_eq!(got, w, "after C: {line}");
    }

    /// Lets time pass, firing each timeout at the time it is due (a
    /// simulated clock).
    pub fn advance(&mut self, d: Duration) -> String {
        let target = self.now + d;
        while let Some(t) = self.s.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.s.handle_timeout(self.now);
            if self.s.poll_timeout() == Some(t) && t <= self.now {
                break;
            }
        }
        self.now = target;
        self.output()
    }

    /// Tells the session about committed changes (the notify wake-up).
    pub fn changes(&mut self) -> String {
        self.s.handle_changes(self.now);
        self.output()
    }

    /// APPENDs a message to a mailbox with a synchronising literal and
    /// returns the tagged response line.
    pub fn append(&mut self, tag: &str, mailbox: &str, flags: &str, msg: &str) -> String {
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" ({flags})")
        };
        let head = format!("{tag} APPEND {mailbox}{flags} {{{}+}}\r\n", msg.len());
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(msg.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.raw(&bytes)
    }
}

/// A small message with the given subject and body.
pub fn message(subject: &str, body: &str) -> String {
    format!(
        "From: Mox <mox@localhost>\r\nTo: other@example.org\r\nSubject: {subject}\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{subject}@localhost>\r\n\r\n{body}\r\n"
    )
}

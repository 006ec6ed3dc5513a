//! The bare-core SMTP driver: [`SmtpSession`]s over a fresh [`Store`] in a
//! temporary directory, the fixed wall clock and deterministic nonces of
//! the IMAP core ([`crate::core`]); no sockets. STARTTLS completes at once
//! with a fixed channel binding. Client sends may be cut into pieces
//! ([`Cuts`]): the exchange must not change.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide_engine::smtp::{PeerInfo, SmtpConfig, SmtpSession, WallClock};
use moxide_proto::conn::{Action, Conn};
use moxide_storage::{NewAccount, Store, StoreConfig};

use crate::chunked::Cuts;
use crate::core::{ACCOUNT, ADDRESS, PASSWORD, TLS_EXPORTER, UNIX_START, check_store};
use crate::runner::{Driver, render, take_all, take_line};
use crate::smtp::Port;
use crate::smtp_runner::SmtpDriver;

/// A second account (`other@localhost`, password `otherpass`), so that
/// transcripts can send to more than one account.
pub const OTHER: (&str, &str, &str) = ("other", "other@localhost", "otherpass");
/// An account with a quota of [`SMALL_QUOTA`] bytes (`small@localhost`,
/// password `smallpass`), for the over-quota replies.
pub const SMALL: (&str, &str, &str) = ("small", "small@localhost", "smallpass");
/// The quota of [`SMALL`].
pub const SMALL_QUOTA: i64 = 600;

/// The message size limit of the production policy on the core: small,
/// so that the 552 after an oversized message is cheap to test.
pub const PRODUCTION_MAX_SIZE: u64 = 4096;

/// The recipient limit of the production policy on the core (LIMITS
/// RCPTMAX, RFC 9422), small for the same reason.
pub const PRODUCTION_MAX_RCPTS: u32 = 10;

/// Held answers (localserve's `timeout`) are released when due within this
/// time; longer timers are inactivity timeouts and never fire.
const MAX_JUMP: Duration = Duration::from_secs(60);

struct CoreConn {
    session: SmtpSession,
    received: Vec<u8>,
    closed: bool,
    tls: bool,
}

/// The bare SMTP core.
pub struct SmtpCore {
    store: Arc<Store>,
    smtp: Arc<SmtpConfig>,
    submission: Arc<SmtpConfig>,
    port: Port,
    conns: Vec<Option<CoreConn>>,
    start: Instant,
    now: Instant,
    plain: bool,
    cuts: Option<(Cuts, u64)>,
    nonces: u8,
    // Last: removed after the sessions and the store are dropped.
    _dir: tempfile::TempDir,
}

impl SmtpCore {
    /// A fresh store with the localserve account `mox` (and its mailboxes)
    /// plus [`OTHER`] and [`SMALL`]. Connections are TLS unless `plain`;
    /// `production` selects the production policy (no catch-all, no
    /// failures on purpose, AUTH only over TLS, SIZE
    /// [`PRODUCTION_MAX_SIZE`], RCPTMAX [`PRODUCTION_MAX_RCPTS`]) instead
    /// of localserve's.
    /// `cuts` cuts every client send into pieces.
    pub fn new(plain: bool, production: bool, cuts: Option<Cuts>) -> Result<SmtpCore, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let store = Store::open(dir.path().join("data"), StoreConfig::default())
            .map_err(|e| format!("opening the store: {e}"))?;
        for (name, address, password, quota) in [
            (ACCOUNT, ADDRESS, PASSWORD, 0),
            (OTHER.0, OTHER.1, OTHER.2, 0),
            (SMALL.0, SMALL.1, SMALL.2, SMALL_QUOTA),
        ] {
            let new = NewAccount {
                addresses: vec![address.to_string()],
                password: Some(password.to_string()),
                quota,
                default_mailboxes: true,
            };
            store
                .create_account(name, new)
                .map_err(|e| format!("creating account {name}: {e}"))?;
        }
        // As localserve (runtime-smol/src/localserve.rs) or production.
        let cfg = |c: SmtpConfig| {
            let mut c = if production {
                c
            } else {
                c.for_localserve(ACCOUNT)
            };
            c.server.tls_available = true;
            if production {
                c.server.max_message_size = PRODUCTION_MAX_SIZE;
                c.server.max_recipients = PRODUCTION_MAX_RCPTS;
            }
            c.shared()
        };
        let start = Instant::now();
        let seed = match cuts {
            Some(Cuts::Seeded(s)) => s.max(1),
            _ => 1,
        };
        Ok(SmtpCore {
            store: Arc::new(store),
            smtp: cfg(SmtpConfig::inbound("localhost")),
            submission: cfg(SmtpConfig::submission("localhost")),
            port: Port::Smtp,
            conns: Vec::new(),
            start,
            now: start,
            plain,
            cuts: cuts.map(|c| (c, seed)),
            nonces: 0,
            _dir: dir,
        })
    }

    fn conn(&mut self, n: usize) -> Result<&mut CoreConn, String> {
        match self.conns.get_mut(n.wrapping_sub(1)) {
            Some(Some(c)) => Ok(c),
            _ => Err(format!("session {n} is not open")),
        }
    }

    /// Drains every connection: output, actions, answers held for a short
    /// time.
    fn pump(&mut self) {
        loop {
            let now = self.now;
            let mut jump: Option<Instant> = None;
            for c in self.conns.iter_mut().flatten() {
                c.session.poll_transmit(&mut c.received);
                while let Some(a) = c.session.poll_action() {
                    match a {
                        Action::StartTls => {
                            c.tls = true;
                            c.session.tls_established(Some(TLS_EXPORTER.to_vec()), None);
                        }
                        Action::Close => c.closed = true,
                        _ => {}
                    }
                    c.session.poll_transmit(&mut c.received);
                }
                if let Some(t) = c.session.poll_timeout()
                    && t <= now + MAX_JUMP
                    && !c.closed
                {
                    jump = Some(jump.map_or(t, |j| j.min(t)));
                }
            }
            let Some(t) = jump else { return };
            self.now = self.now.max(t);
            let now = self.now;
            for c in self.conns.iter_mut().flatten() {
                if c.session.poll_timeout().is_some_and(|x| x <= now) {
                    c.session.handle_timeout(now);
                }
            }
        }
    }

    /// The length of the next piece of a cut send.
    fn next_len(&mut self) -> usize {
        match &mut self.cuts {
            None => usize::MAX,
            Some((Cuts::Bytes, _)) => 1,
            Some((Cuts::Seeded(_), x)) => {
                // xorshift64 (Marsaglia 2003), as crate::chunked.
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                (*x % 16) as usize + 1
            }
        }
    }
}

impl Driver for SmtpCore {
    fn open(&mut self, n: usize) -> Result<(), String> {
        let tls = !self.plain || self.port == Port::Submissions;
        let peer = PeerInfo {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tls,
            tls_exporter: tls.then(|| TLS_EXPORTER.to_vec()),
            client_key: None,
        };
        // The fixed clock, advanced by the time the core jumped so far.
        let elapsed = self.now.saturating_duration_since(self.start).as_secs();
        let clock = WallClock {
            unix_at: UNIX_START.saturating_add(i64::try_from(elapsed).unwrap_or(0)),
            instant_at: self.now,
        };
        // Deterministic nonces: session k's j-th nonce is bytes k·16+j+i.
        self.nonces = self.nonces.wrapping_add(16);
        let base = self.nonces;
        let mut count = 0u8;
        let nonce = Box::new(move || {
            count = count.wrapping_add(1);
            let mut b = [0u8; 18];
            for (i, x) in b.iter_mut().enumerate() {
                *x = base.wrapping_add(count).wrapping_add(i as u8);
            }
            b
        });
        let cfg = match self.port {
            Port::Smtp => self.smtp.clone(),
            Port::Submission | Port::Submissions => self.submission.clone(),
        };
        let session = SmtpSession::new(cfg, self.store.clone(), peer, clock, nonce);
        if self.conns.len() < n {
            self.conns.resize_with(n, || None);
        }
        self.conns[n - 1] = Some(CoreConn {
            session,
            received: Vec::new(),
            closed: false,
            tls,
        });
        self.pump();
        Ok(())
    }

    fn send(&mut self, n: usize, bytes: &[u8]) -> Result<(), String> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let k = self.next_len().min(rest.len());
            let (piece, tail) = rest.split_at(k);
            let now = self.now;
            let c = self.conn(n)?;
            if c.closed {
                return Err(format!("session {n}: sending after the server closed"));
            }
            c.session.handle_input(now, piece);
            self.pump();
            rest = tail;
        }
        Ok(())
    }

    fn next_line(&mut self, n: usize) -> Result<Option<Vec<u8>>, String> {
        Ok(take_line(&mut self.conn(n)?.received))
    }

    fn pending_lines(&mut self, n: usize) -> Vec<Vec<u8>> {
        self.conn(n)
            .map(|c| take_all(&mut c.received))
            .unwrap_or_default()
    }

    fn greeting_visible(&self) -> bool {
        true
    }

    fn tls_exporter(&mut self, n: usize) -> Option<Vec<u8>> {
        let c = self.conn(n).ok()?;
        c.tls.then(|| TLS_EXPORTER.to_vec())
    }

    fn eof(&mut self, n: usize) -> Result<(), String> {
        let now = self.now;
        let c = self.conn(n)?;
        c.session.handle_eof(now);
        c.closed = true;
        self.pump();
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        check_store(&self.store)
    }
}

impl SmtpDriver for SmtpCore {
    fn set_port(&mut self, port: Port) {
        self.port = port;
    }

    fn stored_count(&mut self) -> Result<usize, String> {
        Ok(stored_messages(&self.store)?.len())
    }

    /// Jumps the clock by `seconds`, firing every timer that comes due on
    /// the way, in order.
    fn wait(&mut self, seconds: u64) -> Result<(), String> {
        let end = self.now + Duration::from_secs(seconds);
        // Each round fires at least one timer; a session whose timer does
        // not move would be a bug, reported instead of looping forever.
        for _ in 0..1000 {
            let next = self
                .conns
                .iter()
                .flatten()
                .filter(|c| !c.closed)
                .filter_map(|c| c.session.poll_timeout())
                .filter(|t| *t <= end)
                .min();
            let Some(t) = next else {
                self.now = self.now.max(end);
                return Ok(());
            };
            self.now = self.now.max(t);
            let now = self.now;
            for c in self.conns.iter_mut().flatten() {
                if !c.closed && c.session.poll_timeout().is_some_and(|x| x <= now) {
                    c.session.handle_timeout(now);
                }
            }
            self.pump();
        }
        Err(format!("@wait {seconds}: a timer keeps firing"))
    }

    fn stored_dump(&mut self) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for m in stored_messages(&self.store)? {
            out.push(format!(
                "# stored: {}/{} uid {} flags ({}) {} octets",
                m.account,
                m.mailbox,
                m.uid,
                m.flags.join(" "),
                m.bytes.len()
            ));
            // One line per CRLF; a last piece without CRLF is marked.
            for line in m.bytes.split_inclusive(|&b| b == b'\n') {
                match line.strip_suffix(b"\r\n") {
                    Some(l) => out.push(format!("| {}", render(l))),
                    None => out.push(format!("| {} (no CRLF)", render(line))),
                }
            }
        }
        Ok(out)
    }
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The account name.
    pub account: String,
    /// The mailbox name.
    pub mailbox: String,
    /// Its UID.
    pub uid: u32,
    /// System flags (`\Seen`, …).
    pub flags: Vec<String>,
    /// Prefix and file: the message as IMAP serves it.
    pub bytes: Vec<u8>,
}

/// Every live message of `store`: accounts by name, mailboxes by name,
/// messages by UID.
pub fn stored_messages(store: &Store) -> Result<Vec<StoredMessage>, String> {
    let mut out = Vec::new();
    let mut names = store.account_names().map_err(|e| e.to_string())?;
    names.sort();
    for name in names {
        let acct = store.account(&name).map_err(|e| e.to_string())?;
        let mut mailboxes = acct.mailboxes().map_err(|e| e.to_string())?;
        mailboxes.sort_by(|a, b| a.name.cmp(&b.name));
        for mb in mailboxes {
            let msgs = acct
                .messages_in(mb.id, 1..=u32::MAX)
                .map_err(|e| e.to_string())?;
            for m in msgs {
                let bytes = acct.read_message(&m).map_err(|e| e.to_string())?;
                out.push(StoredMessage {
                    account: name.clone(),
                    mailbox: mb.name.clone(),
                    uid: m.uid,
                    flags: m.flags.names().iter().map(|s| s.to_string()).collect(),
                    bytes,
                });
            }
        }
    }
    Ok(out)
}

//! The bare-core driver: [`Session`]s over a fresh [`Store`] in a temporary
//! directory, a fixed wall clock and deterministic nonces; no sockets.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use moxide_engine::imap::{ImapConfig, PeerInfo, Session, WallClock};
use moxide_proto::conn::{Action, Conn};
use moxide_storage::{NewAccount, Store, StoreConfig, TlsPubKey};

use crate::runner::{Driver, take_all, take_line};
use crate::transcript::{ClientKey, Transcript};

/// The account every transcript logs in to (that of `moxide localserve`).
pub const ACCOUNT: &str = "mox";
/// Its address (the login name).
pub const ADDRESS: &str = "mox@localhost";
/// Its password.
pub const PASSWORD: &str = "moxmoxmox";
/// The wall clock of the core: 2024-01-02 03:04:05 UTC.
pub const UNIX_START: i64 = 1_704_164_645;
/// The TLS exporter channel binding the core pretends its TLS has.
pub const TLS_EXPORTER: [u8; 32] = [0x5a; 32];

/// Responses held back (failed-login delays) are released when due within
/// this time; longer timers are inactivity timeouts and never fire.
const MAX_JUMP: Duration = Duration::from_secs(20);

struct CoreConn {
    session: Session,
    changed: Arc<AtomicBool>,
    received: Vec<u8>,
    closed: bool,
    /// TLS from the start, or after STARTTLS.
    tls: bool,
}

/// The bare core. Connections are TLS (with [`TLS_EXPORTER`]) unless
/// `plain`; STARTTLS completes at once.
pub struct Core {
    store: Arc<Store>,
    cfg: Arc<ImapConfig>,
    conns: Vec<Option<CoreConn>>,
    start: Instant,
    now: Instant,
    plain: bool,
    /// The fingerprint every connection presents (`@client-key`).
    client_key: Option<String>,
    nonces: u8,
    // Last: removed after the sessions and the store are dropped.
    _dir: tempfile::TempDir,
}

impl Core {
    /// A fresh store with the localserve account and its mailboxes (Inbox,
    /// Sent, Archive, Trash, Drafts, Junk with their special-use flags).
    pub fn new(plain: bool) -> Result<Core, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let store = Store::open(dir.path().join("data"), StoreConfig::default())
            .map_err(|e| format!("opening the store: {e}"))?;
        store
            .create_account(
                ACCOUNT,
                NewAccount {
                    addresses: vec![ADDRESS.to_string()],
                    password: Some(PASSWORD.to_string()),
                    quota: 0,
                    default_mailboxes: true,
                },
            )
            .map_err(|e| format!("creating the account: {e}"))?;
        // As localserve: plaintext login allowed.
        let cfg = ImapConfig {
            allow_plaintext_auth: true,
            ..ImapConfig::default()
        };
        let start = Instant::now();
        Ok(Core {
            store: Arc::new(store),
            cfg: Arc::new(cfg),
            conns: Vec::new(),
            start,
            now: start,
            plain,
            client_key: None,
            nonces: 0,
            _dir: dir,
        })
    }

    /// The core a transcript asks for: [`Core::new`] plus its
    /// `@client-key`, if any.
    pub fn for_transcript(t: &Transcript) -> Result<Core, String> {
        let mut core = Core::new(t.plain)?;
        if let Some(k) = &t.client_key {
            core.add_client_key(k)?;
        }
        Ok(core)
    }

    /// `@client-key` (see [`ClientKey`]): the second account, the alias
    /// address, and the key registered as asked.
    fn add_client_key(&mut self, k: &ClientKey) -> Result<(), String> {
        let pem: &[u8] = match k.name.as_str() {
            "p256" => include_bytes!("../../proto/tests/fixtures/tls_key/p256.pem"),
            "ed25519" => include_bytes!("../../proto/tests/fixtures/tls_key/ed25519-nocn.pem"),
            "rsa2048" => include_bytes!("../../proto/tests/fixtures/tls_key/rsa2048.pem"),
            other => return Err(format!("no client key fixture {other:?}")),
        };
        let der = moxide_proto::tls_key::parse_pem(pem).map_err(|e| e.to_string())?;
        let parsed = moxide_proto::tls_key::parse_certificate(&der).map_err(|e| e.to_string())?;
        self.store
            .create_account(
                "other",
                NewAccount {
                    addresses: vec!["other@localhost".to_string()],
                    password: Some("otherother".to_string()),
                    quota: 0,
                    default_mailboxes: false,
                },
            )
            .map_err(|e| format!("creating account other: {e}"))?;
        self.store
            .account(ACCOUNT)
            .and_then(|a| a.set_addresses(&[ADDRESS.to_string(), "alias@localhost".to_string()]))
            .map_err(|e| format!("adding alias@localhost: {e}"))?;
        if !k.unregistered {
            let login_address = if k.account == ACCOUNT {
                ADDRESS.to_string()
            } else {
                format!("{}@localhost", k.account)
            };
            self.store
                .tls_pubkey_add(&TlsPubKey {
                    fingerprint: parsed.fingerprint.clone(),
                    key_type: parsed.key_type.to_string(),
                    name: parsed.default_name,
                    account: k.account.clone(),
                    login_address,
                    no_imap_preauth: k.no_preauth,
                    cert_der: der,
                    created_unix: UNIX_START,
                })
                .map_err(|e| format!("registering the client key: {e}"))?;
        }
        self.client_key = Some(parsed.fingerprint);
        Ok(())
    }

    fn conn(&mut self, n: usize) -> Result<&mut CoreConn, String> {
        match self.conns.get_mut(n.wrapping_sub(1)) {
            Some(Some(c)) => Ok(c),
            _ => Err(format!("session {n} is not open")),
        }
    }

    /// Drains every connection: output, actions, changes from other
    /// sessions, responses held back for a short time.
    fn pump(&mut self) {
        loop {
            let mut again = false;
            let now = self.now;
            let mut jump = None;
            let client_key = &self.client_key;
            for c in self.conns.iter_mut().flatten() {
                if c.changed.swap(false, Ordering::SeqCst) {
                    c.session.handle_changes(now);
                }
                c.session.poll_transmit(&mut c.received);
                while let Some(a) = c.session.poll_action() {
                    match a {
                        Action::StartTls => {
                            c.tls = true;
                            c.session
                                .tls_established(Some(TLS_EXPORTER.to_vec()), client_key.clone());
                        }
                        Action::Close => c.closed = true,
                        _ => {}
                    }
                    c.session.poll_transmit(&mut c.received);
                }
                if let Some(t) = c.session.poll_timeout()
                    && t <= now + MAX_JUMP
                {
                    jump = Some(jump.map_or(t, |j: Instant| j.min(t)));
                }
                again |= c.changed.load(Ordering::SeqCst);
            }
            if let Some(t) = jump {
                self.now = self.now.max(t);
                let now = self.now;
                for c in self.conns.iter_mut().flatten() {
                    if c.session.poll_timeout().is_some_and(|x| x <= now) {
                        c.session.handle_timeout(now);
                    }
                }
                again = true;
            }
            if !again {
                return;
            }
        }
    }
}

impl Driver for Core {
    fn open(&mut self, n: usize) -> Result<(), String> {
        let peer = PeerInfo {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tls: !self.plain,
            tls_exporter: (!self.plain).then(|| TLS_EXPORTER.to_vec()),
            client_key: if self.plain {
                None
            } else {
                self.client_key.clone()
            },
        };
        let clock = WallClock {
            unix_at: UNIX_START,
            instant_at: self.start,
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
        let mut session = Session::new(self.cfg.clone(), self.store.clone(), peer, clock, nonce);
        let changed = Arc::new(AtomicBool::new(false));
        let flag = changed.clone();
        session.set_notify(Arc::new(move || flag.store(true, Ordering::SeqCst)));
        if self.conns.len() < n {
            self.conns.resize_with(n, || None);
        }
        self.conns[n - 1] = Some(CoreConn {
            session,
            changed,
            received: Vec::new(),
            closed: false,
            tls: !self.plain,
        });
        self.pump();
        Ok(())
    }

    fn send(&mut self, n: usize, bytes: &[u8]) -> Result<(), String> {
        let now = self.now;
        let c = self.conn(n)?;
        if c.closed {
            return Err(format!("session {n}: sending after the server closed"));
        }
        c.session.handle_input(now, bytes);
        self.pump();
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

/// The store's consistency check after a transcript: an error naming the
/// findings, if any.
pub(crate) fn check_store(store: &Store) -> Result<(), String> {
    let findings = store
        .check_consistency()
        .map_err(|e| format!("consistency check: {e}"))?;
    if findings.is_empty() {
        Ok(())
    } else {
        Err(format!("consistency check: {}", findings.join("; ")))
    }
}

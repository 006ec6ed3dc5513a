//! Submission with TLS client certificates (issue 8) and the failed-AUTH
//! delay shared with IMAP (issue 5), on the bare core: every reply
//! compared exactly, login attempts read back from the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide_engine::imap::LoginLimiter;
use moxide_engine::smtp::{PeerInfo, SmtpConfig, SmtpSession, WallClock};
use moxide_proto::conn::Conn;
use moxide_storage::{NewAccount, Store, StoreConfig, TlsPubKey};

/// 2024-01-02 03:04:05 UTC.
const T0: i64 = 1_704_164_645;
const P256: &[u8] = include_bytes!("../../proto/tests/fixtures/tls_key/p256.pem");
const ED25519: &[u8] = include_bytes!("../../proto/tests/fixtures/tls_key/ed25519-nocn.pem");

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    start: Instant,
    limiter: LoginLimiter,
}

/// The fingerprint of a fixture certificate.
fn fingerprint(pem: &[u8]) -> String {
    let der = moxide_proto::tls_key::parse_pem(pem).unwrap();
    moxide_proto::tls_key::parse_certificate(&der)
        .unwrap()
        .fingerprint
}

impl Env {
    /// Accounts mox (mox@, alias@) and other (other@); the P-256 key is
    /// registered for mox, the Ed25519 key is not registered.
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        for (name, addrs, pw) in [
            ("mox", vec!["mox@localhost", "alias@localhost"], "moxmoxmox"),
            ("other", vec!["other@localhost"], "otherother"),
        ] {
            store
                .create_account(
                    name,
                    NewAccount {
                        addresses: addrs.into_iter().map(String::from).collect(),
                        password: Some(pw.into()),
                        quota: 0,
                        default_mailboxes: false,
                    },
                )
                .unwrap();
        }
        let der = moxide_proto::tls_key::parse_pem(P256).unwrap();
        store
            .tls_pubkey_add(&TlsPubKey {
                fingerprint: fingerprint(P256),
                key_type: "ecdsa-p256".into(),
                name: "phone".into(),
                account: "mox".into(),
                login_address: "mox@localhost".into(),
                no_imap_preauth: false,
                cert_der: der,
                created_unix: T0,
            })
            .unwrap();
        Env {
            _dir: dir,
            store: Arc::new(store),
            start: Instant::now(),
            limiter: LoginLimiter::default(),
        }
    }

    fn session(&self, tls: bool, client_key: Option<String>) -> Client {
        let mut cfg = SmtpConfig::submission("mx.example");
        cfg.server.allow_plain_auth_without_tls = true;
        cfg.server.tls_available = true;
        cfg.login_limit = self.limiter.clone();
        let mut counter = 0u8;
        let s = SmtpSession::new(
            cfg.shared(),
            self.store.clone(),
            PeerInfo {
                ip: "192.0.2.7".parse().unwrap(),
                tls,
                tls_exporter: None,
                client_key,
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
        let mut c = Client { s, now: self.start };
        assert_eq!(c.drain(), "220 mx.example ESMTP moxide\r\n");
        c
    }

    /// (mechanism, address, success) of an account's attempts, oldest first.
    fn attempts(&self, account: Option<&str>) -> Vec<(String, String, bool)> {
        let mut v: Vec<_> = self
            .store
            .login_attempts(account, 100)
            .unwrap()
            .into_iter()
            .map(|a| (a.mechanism, a.address, a.success))
            .collect();
        v.reverse();
        v
    }
}

struct Client {
    s: SmtpSession,
    now: Instant,
}

impl Client {
    fn drain(&mut self) -> String {
        let mut out = Vec::new();
        self.s.poll_transmit(&mut out);
        while self.s.poll_action().is_some() {}
        String::from_utf8(out).unwrap()
    }

    fn send(&mut self, input: &str) -> String {
        self.s.handle_input(self.now, input.as_bytes());
        self.drain()
    }

    /// The AUTH line of the EHLO reply.
    fn ehlo_auth(&mut self) -> String {
        let r = self.send("EHLO client.example\r\n");
        r.lines()
            .find(|l| l.starts_with("250-AUTH") || l.starts_with("250 AUTH"))
            .unwrap_or("")
            .to_string()
    }
}

const PLAIN_MOX: &str = "AUTH PLAIN AG1veEBsb2NhbGhvc3QAbW94bW94bW94\r\n";
const PLAIN_OTHER: &str = "AUTH PLAIN AG90aGVyQGxvY2FsaG9zdABvdGhlcm90aGVy\r\n";

#[test]
fn known_key_authenticates_without_auth() {
    let env = Env::new();
    let mut c = env.session(true, Some(fingerprint(P256)));
    assert_eq!(
        c.ehlo_auth(),
        "250 AUTH EXTERNAL SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN"
    );
    // Any address of the key's account, without AUTH.
    assert_eq!(
        c.send("MAIL FROM:<alias@localhost>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    assert_eq!(c.send("RSET\r\n"), "250 2.0.0 ok\r\n");
    assert_eq!(
        c.send("MAIL FROM:<other@localhost>\r\n"),
        "550 5.7.1 MAIL FROM address not allowed for the authenticated account\r\n"
    );
    assert_eq!(
        env.attempts(Some("mox")),
        vec![("TLS".into(), "mox@localhost".into(), true)]
    );
}

#[test]
fn one_auth_allowed_for_the_same_account_only() {
    let env = Env::new();
    let mut c = env.session(true, Some(fingerprint(P256)));
    c.send("EHLO client.example\r\n");
    assert_eq!(
        c.send(PLAIN_OTHER),
        "535 5.7.8 authentication credentials invalid\r\n"
    );
    assert_eq!(c.send(PLAIN_MOX), "235 2.7.0 authentication successful\r\n");
    assert_eq!(
        env.attempts(Some("other")),
        vec![("PLAIN".into(), "other@localhost".into(), false)]
    );
    assert_eq!(
        env.attempts(Some("mox")),
        vec![
            ("TLS".into(), "mox@localhost".into(), true),
            ("PLAIN".into(), "mox@localhost".into(), true)
        ]
    );
}

#[test]
fn external_with_and_without_authzid() {
    let env = Env::new();
    let mut c = env.session(true, Some(fingerprint(P256)));
    c.send("EHLO client.example\r\n");
    // other@ is another account's address.
    assert_eq!(
        c.send("AUTH EXTERNAL b3RoZXJAbG9jYWxob3N0\r\n"),
        "535 5.7.8 authentication credentials invalid\r\n"
    );
    // alias@ is the key account's.
    assert_eq!(c.send("AUTH EXTERNAL\r\n"), "334 \r\n");
    assert_eq!(
        c.send("YWxpYXNAbG9jYWxob3N0\r\n"),
        "235 2.7.0 authentication successful\r\n"
    );
    let mut c = env.session(true, Some(fingerprint(P256)));
    c.send("EHLO client.example\r\n");
    assert_eq!(
        c.send("AUTH EXTERNAL =\r\n"),
        "235 2.7.0 authentication successful\r\n"
    );
    assert_eq!(c.s.account_name(), Some("mox"));
}

#[test]
fn unknown_key_and_no_tls() {
    let env = Env::new();
    // An unknown key: EXTERNAL offered but fails, no login without AUTH,
    // passwords work for any account.
    let mut c = env.session(true, Some(fingerprint(ED25519)));
    assert_eq!(
        c.ehlo_auth(),
        "250 AUTH EXTERNAL SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN"
    );
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "530 5.7.0 authentication required\r\n"
    );
    assert_eq!(
        c.send("AUTH EXTERNAL =\r\n"),
        "535 5.7.8 authentication credentials invalid\r\n"
    );
    assert_eq!(
        c.send(PLAIN_OTHER),
        "235 2.7.0 authentication successful\r\n"
    );
    // TLS without a certificate: no EXTERNAL.
    let mut c = env.session(true, None);
    assert_eq!(
        c.ehlo_auth(),
        "250 AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN"
    );
    // No TLS: EXTERNAL is 538 (RFC 4954 6), even where plaintext AUTH is
    // allowed.
    let mut c = env.session(false, None);
    assert_eq!(
        c.ehlo_auth(),
        "250 AUTH SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN"
    );
    assert_eq!(
        c.send("AUTH EXTERNAL =\r\n"),
        "538 5.7.11 encryption required for requested authentication mechanism\r\n"
    );
}

#[test]
fn key_presented_at_starttls() {
    let env = Env::new();
    let mut c = env.session(false, None);
    c.send("EHLO client.example\r\n");
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "530 5.7.0 authentication required\r\n"
    );
    assert_eq!(c.send("STARTTLS\r\n"), "220 2.0.0 ready to start TLS\r\n");
    c.s.tls_established(None, Some(fingerprint(P256)));
    assert_eq!(
        c.ehlo_auth(),
        "250 AUTH EXTERNAL SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN"
    );
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
}

#[test]
fn failed_auth_is_delayed_per_ip_across_protocols() {
    let env = Env::new();
    let mut c = env.session(true, None);
    c.send("EHLO client.example\r\n");
    let bad = "AUTH PLAIN AG1veEBsb2NhbGhvc3QAd3Jvbmc=\r\n";
    for _ in 0..3 {
        assert_eq!(
            c.send(bad),
            "535 5.7.8 authentication credentials invalid\r\n"
        );
    }
    // The 4th failure is answered after 1 s: nothing before.
    assert_eq!(c.send(bad), "");
    assert!(!c.s.wants_read());
    assert_eq!(c.s.poll_timeout(), Some(env.start + Duration::from_secs(1)));
    c.now = env.start + Duration::from_millis(999);
    c.s.handle_timeout(c.now);
    assert_eq!(c.drain(), "");
    c.now = env.start + Duration::from_secs(1);
    c.s.handle_timeout(c.now);
    assert_eq!(
        c.drain(),
        "535 5.7.8 authentication credentials invalid\r\n"
    );
    assert!(c.s.wants_read());
    // The limiter is the one IMAP uses too.
    assert_eq!(env.limiter.failures("192.0.2.7".parse().unwrap(), c.now), 4);
    assert_eq!(
        env.attempts(Some("mox")),
        vec![("PLAIN".into(), "mox@localhost".into(), false); 4]
    );
    // Success clears the record.
    assert_eq!(c.send(PLAIN_MOX), "235 2.7.0 authentication successful\r\n");
    assert_eq!(env.limiter.failures("192.0.2.7".parse().unwrap(), c.now), 0);
}

//! Disabled logins (mox's `LoginDisabled`): with the right credentials,
//! IMAP LOGIN and AUTHENTICATE (PLAIN, SCRAM, EXTERNAL) answer `NO` with
//! the admin's message and no AUTHENTICATIONFAILED code, a TLS client key
//! gets no PREAUTH, SMTP AUTH answers `525 5.7.13`; wrong credentials
//! still fail as before; sessions logged in earlier continue; mail is
//! still delivered; enabling restores every login.
mod common;
mod smtp_harness;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use moxide_engine::imap::PeerInfo;
use moxide_engine::smtp::SmtpConfig;
use moxide_storage::TlsPubKey;
use smtp_harness::{SmtpClient, plain_peer};

const P256: &[u8] = include_bytes!("../../proto/tests/fixtures/tls_key/p256.pem");
const MESSAGE: &str = "account moved to mail.example.org";
const IMAP_NO: &str = "NO login disabled for account: account moved to mail.example.org\r\n";
const SMTP_525: &str =
    "525 5.7.13 login disabled for account: account moved to mail.example.org\r\n";

fn fingerprint() -> String {
    let der = moxide_proto::tls_key::parse_pem(P256).unwrap();
    moxide_proto::tls_key::parse_certificate(&der)
        .unwrap()
        .fingerprint
}

/// Registers the P-256 fixture key for mox (PREAUTH allowed).
fn add_key(env: &Env) {
    let der = moxide_proto::tls_key::parse_pem(P256).unwrap();
    env.store
        .tls_pubkey_add(&TlsPubKey {
            fingerprint: fingerprint(),
            key_type: "ecdsa-p256".into(),
            name: "phone".into(),
            account: "mox".into(),
            login_address: "mox@localhost".into(),
            no_imap_preauth: false,
            cert_der: der,
            created_unix: T0,
        })
        .unwrap();
}

fn set_disabled(env: &Env, message: Option<&str>) {
    env.store
        .account("mox")
        .unwrap()
        .set_login_disabled(message)
        .unwrap();
}

fn tls_peer(client_key: Option<String>) -> PeerInfo {
    PeerInfo {
        ip: "127.0.0.1".parse().unwrap(),
        tls: true,
        tls_exporter: None,
        client_key,
    }
}

/// The greeting of an IMAP session on implicit TLS with the client key.
fn key_greeting(env: &Env) -> String {
    let mut counter = 0u8;
    let s = moxide_engine::imap::Session::new(
        env.cfg.clone(),
        env.store.clone(),
        tls_peer(Some(fingerprint())),
        moxide_engine::imap::WallClock {
            unix_at: T0,
            instant_at: env.start,
        },
        Box::new(move || {
            counter = counter.wrapping_add(1);
            [counter; 18]
        }),
    );
    let mut c = Client {
        s,
        now: env.start,
        closed: false,
        actions: Vec::new(),
    };
    c.output()
}

/// The `(mechanism, success, failure)` of mox's login attempts, newest
/// first.
fn attempts(env: &Env, n: usize) -> Vec<(String, bool, String)> {
    env.store
        .login_attempts(Some("mox"), n)
        .unwrap()
        .into_iter()
        .map(|a| (a.mechanism, a.success, a.failure))
        .collect()
}

#[test]
fn imap_logins_are_refused_with_the_message_until_enabled() {
    let env = Env::new();
    add_key(&env);
    // A session logged in before the admin disables the account goes on.
    let mut before = env.login();
    set_disabled(&env, Some(MESSAGE));
    before.expect("b1 NOOP", &["b1 OK NOOP completed"]);

    let mut c = env.client();
    assert_eq!(
        c.send("a1 LOGIN mox@localhost moxmoxmox"),
        format!("a1 {IMAP_NO}")
    );
    // The account name logs in too, and is refused the same way.
    assert_eq!(c.send("a2 LOGIN mox moxmoxmox"), format!("a2 {IMAP_NO}"));
    // Wrong password: the usual failure, the message is not revealed.
    assert_eq!(
        c.send("a3 LOGIN mox@localhost wrong"),
        "a3 NO [AUTHENTICATIONFAILED] invalid credentials\r\n"
    );
    let mut c = env.client();
    let plain = B64.encode(b"\0mox@localhost\0moxmoxmox");
    assert_eq!(
        c.send(&format!("a4 AUTHENTICATE PLAIN {plain}")),
        format!("a4 {IMAP_NO}")
    );
    // Still not authenticated.
    assert_eq!(
        c.send("a5 SELECT Inbox"),
        "a5 BAD SELECT needs authentication: LOGIN or AUTHENTICATE first\r\n"
    );
    // TLS client key: no PREAUTH, and EXTERNAL gets the message.
    let greeting = key_greeting(&env);
    assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
    let mut c = env.client_with(tls_peer(Some(fingerprint())));
    assert_eq!(
        c.send("a6 AUTHENTICATE EXTERNAL ="),
        format!("a6 {IMAP_NO}")
    );
    assert_eq!(
        attempts(&env, 4),
        [
            ("EXTERNAL".to_string(), false, "login disabled".to_string()),
            ("PLAIN".to_string(), false, "login disabled".to_string()),
            ("LOGIN".to_string(), false, "bad password".to_string()),
            ("LOGIN".to_string(), false, "login disabled".to_string()),
        ]
    );

    set_disabled(&env, None);
    let greeting = key_greeting(&env);
    assert!(
        greeting.starts_with("* PREAUTH [CAPABILITY ")
            && greeting.ends_with(", logged in as mox@localhost\r\n"),
        "{greeting}"
    );
    let mut c = env.client();
    let out = c.send("a7 LOGIN mox@localhost moxmoxmox");
    assert!(out.starts_with("a7 OK [CAPABILITY "), "{out}");
}

fn smtp(env: &Env, cfg: SmtpConfig, client_key: Option<String>) -> SmtpClient {
    let mut c = SmtpClient::new(
        Arc::new(cfg),
        env.store.clone(),
        moxide_engine::smtp::PeerInfo {
            tls: true,
            client_key,
            ..plain_peer("192.0.2.7")
        },
        T0,
        env.start,
        Box::new(|| [7u8; 18]),
    );
    assert_eq!(c.send(""), "220 mx.example ESMTP moxide\r\n");
    assert!(c.send("EHLO client.example\r\n").starts_with("250-"));
    c
}

#[test]
fn smtp_auth_is_refused_but_mail_is_delivered() {
    let env = Env::new();
    add_key(&env);
    set_disabled(&env, Some(MESSAGE));
    let submission = || {
        let mut c = SmtpConfig::submission("mx.example");
        c.server.tls_available = true;
        c
    };
    let mut c = smtp(&env, submission(), None);
    let plain = B64.encode(b"\0mox@localhost\0moxmoxmox");
    assert_eq!(c.send(&format!("AUTH PLAIN {plain}\r\n")), SMTP_525);
    // Not logged in: no MAIL.
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "530 5.7.0 authentication required\r\n"
    );
    let wrong = B64.encode(b"\0mox@localhost\0wrong");
    assert_eq!(
        c.send(&format!("AUTH PLAIN {wrong}\r\n")),
        "535 5.7.8 authentication credentials invalid\r\n"
    );
    // The client key does not log the connection in; EXTERNAL is refused.
    let mut c = smtp(&env, submission(), Some(fingerprint()));
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "530 5.7.0 authentication required\r\n"
    );
    assert_eq!(c.send("AUTH EXTERNAL =\r\n"), SMTP_525);

    // Port 25 still delivers to the account.
    let mut c = smtp(&env, SmtpConfig::inbound("mx.example"), None);
    c.send("MAIL FROM:<x@c.test>\r\n");
    assert_eq!(
        c.send("RCPT TO:<mox@localhost>\r\n"),
        "250 2.1.5 recipient ok\r\n"
    );
    c.send("DATA\r\n");
    assert_eq!(
        c.send("From: <x@c.test>\r\n\r\nhi\r\n.\r\n"),
        "250 2.0.0 message accepted, id 07070707070707071\r\n"
    );
    let acct = env.store.account("mox").unwrap();
    let inbox = acct.mailbox("Inbox").unwrap();
    assert_eq!(acct.messages_in(inbox.id, 1..=u32::MAX).unwrap().len(), 1);

    set_disabled(&env, None);
    let mut c = smtp(&env, submission(), None);
    assert_eq!(
        c.send(&format!("AUTH PLAIN {plain}\r\n")),
        "235 2.7.0 authentication successful\r\n"
    );
    let mut c = smtp(&env, submission(), Some(fingerprint()));
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
}

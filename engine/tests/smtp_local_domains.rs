//! Recipients by local domain on port 25 (no relaying) and postmaster
//! (RFC 5321 4.5.1): transcripts against a store in a temporary
//! directory, every reply and every stored message compared exactly.

mod smtp_harness;

use std::sync::Arc;
use std::time::Instant;

use moxide_engine::smtp::{LocalDomains, SmtpConfig};
use moxide_storage::{NewAccount, Store, StoreConfig};
use smtp_harness::{SmtpClient, plain_peer};

/// 2024-01-02 03:04:05 UTC.
const T0: i64 = 1_704_164_645;

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
}

/// Accounts `admin` (admin@a.test) and `b` (b@b.test and the explicit
/// postmaster@b.test).
fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    for (name, addrs) in [
        ("admin", vec!["admin@a.test"]),
        ("b", vec!["b@b.test", "postmaster@b.test"]),
    ] {
        store
            .create_account(
                name,
                NewAccount {
                    addresses: addrs.into_iter().map(String::from).collect(),
                    default_mailboxes: true,
                    ..NewAccount::default()
                },
            )
            .unwrap();
    }
    Env {
        _dir: dir,
        store: Arc::new(store),
    }
}

/// Port 25 of mx.a.test at 192.0.2.1, local domains a.test and b.test.
fn mx(postmaster: Option<&str>) -> SmtpConfig {
    let mut c = SmtpConfig::inbound("mx.a.test");
    c.local_domains = LocalDomains::Only {
        domains: ["a.test".to_string(), "b.test".to_string()].into(),
        ips: ["192.0.2.1".parse().unwrap()].into(),
    };
    c.postmaster = postmaster.map(String::from);
    c
}

fn session(env: &Env, cfg: SmtpConfig) -> SmtpClient {
    let mut c = SmtpClient::new(
        cfg.shared(),
        env.store.clone(),
        plain_peer("198.51.100.7"),
        T0,
        Instant::now(),
        Box::new(|| [7u8; 18]),
    );
    assert_eq!(c.send(""), "220 mx.a.test ESMTP moxide\r\n");
    assert!(
        c.send("EHLO client.test\r\n")
            .starts_with("250-mx.a.test\r\n")
    );
    c
}

fn inbox(env: &Env, account: &str) -> Vec<String> {
    let acct = env.store.account(account).unwrap();
    let mb = acct.mailbox("Inbox").unwrap();
    acct.messages_in(mb.id, 1..=u32::MAX)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(acct.read_message(m).unwrap()).unwrap())
        .collect()
}

const MSG: &str = "From: <x@c.test>\r\nSubject: hi\r\n\r\nbody\r\n";

fn received_for(rcpt: &str) -> String {
    format!(
        "Received: from client.test ([198.51.100.7])\r\n\tby mx.a.test with ESMTP id 07070707070707071\r\n\tfor <{rcpt}>; Tue, 02 Jan 2024 03:04:05 +0000\r\n{MSG}"
    )
}

#[test]
fn other_domains_are_refused_unknown_users_too() {
    let env = env();
    let mut c = session(&env, mx(Some("admin")));
    assert_eq!(
        c.send("MAIL FROM:<x@c.test>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    let cases = [
        // Not ours: no relaying, whoever the address belongs to.
        (
            "x@elsewhere.test",
            "550 5.1.1 not accepting email for domain (no relaying)\r\n",
        ),
        (
            "admin@sub.a.test",
            "550 5.1.1 not accepting email for domain (no relaying)\r\n",
        ),
        (
            "postmaster@elsewhere.test",
            "550 5.1.1 not accepting email for domain (no relaying)\r\n",
        ),
        (
            "admin@[192.0.2.9]",
            "550 5.1.1 not accepting email for ip (no relaying)\r\n",
        ),
        // Ours, but no such user.
        ("nobody@a.test", "550 5.1.1 no such user\r\n"),
        ("nobody+tag@B.TEST", "550 5.1.1 no such user\r\n"),
        ("admin@[192.0.2.1]", "550 5.1.1 no such user\r\n"),
    ];
    for (rcpt, want) in cases {
        assert_eq!(c.send(&format!("RCPT TO:<{rcpt}>\r\n")), want, "{rcpt}");
    }
    assert_eq!(c.send("DATA\r\n"), "554 5.5.1 no valid recipients\r\n");
    assert!(inbox(&env, "admin").is_empty());
    assert!(inbox(&env, "b").is_empty());
    assert!(env.store.check_consistency().unwrap().is_empty());
}

#[test]
fn postmaster_of_every_local_domain_and_the_host_is_delivered() {
    let env = env();
    let mut c = session(&env, mx(Some("admin")));
    c.send("MAIL FROM:<x@c.test>\r\n");
    for rcpt in [
        "Postmaster",
        "POSTMASTER@a.test",
        "postmaster@mx.a.test",
        "postmaster@[192.0.2.1]",
        // An explicit address wins over the postmaster account.
        "PostMaster@b.test",
    ] {
        assert_eq!(
            c.send(&format!("RCPT TO:<{rcpt}>\r\n")),
            "250 2.1.5 recipient ok\r\n",
            "{rcpt}"
        );
    }
    assert_eq!(
        c.send("DATA\r\n"),
        "354 end data with <CR><LF>.<CR><LF>\r\n"
    );
    assert_eq!(
        c.send(&format!("{MSG}.\r\n")),
        "250 2.0.0 message accepted, id 07070707070707071\r\n"
    );
    assert_eq!(
        inbox(&env, "admin"),
        [
            // `<Postmaster>` is recorded as the bare "postmaster".
            received_for("postmaster"),
            received_for("POSTMASTER@a.test"),
            received_for("postmaster@mx.a.test"),
            received_for("postmaster@[192.0.2.1]"),
        ]
    );
    assert_eq!(inbox(&env, "b"), [received_for("PostMaster@b.test")]);
    assert!(env.store.check_consistency().unwrap().is_empty());
}

#[test]
fn without_a_postmaster_account_only_explicit_addresses_work() {
    let env = env();
    let mut c = session(&env, mx(None));
    c.send("MAIL FROM:<x@c.test>\r\n");
    assert_eq!(
        c.send("RCPT TO:<Postmaster>\r\n"),
        "550 5.1.1 no such user\r\n"
    );
    assert_eq!(
        c.send("RCPT TO:<postmaster@a.test>\r\n"),
        "550 5.1.1 no such user\r\n"
    );
    assert_eq!(
        c.send("RCPT TO:<postmaster@b.test>\r\n"),
        "250 2.1.5 recipient ok\r\n"
    );
}

//! Internationalised domains (RFC 5890/5891, SMTPUTF8 RFC 6531): a local
//! domain configured in A-labels is local in U-labels too, on port 25 and
//! in submission; addresses of either form reach the same account; an
//! invalid IDN is a syntax error. Transcripts on the bare core, replies and
//! stored messages compared exactly.

mod smtp_harness;

use std::sync::Arc;
use std::time::Instant;

use moxide_engine::queue::{Filter, Queue, QueueConfig};
use moxide_engine::smtp::{LocalDomains, Outgoing, SmtpConfig};
use moxide_storage::{NewAccount, Store, StoreConfig};
use smtp_harness::{SmtpClient, plain_peer};

/// 2024-01-02 03:04:05 UTC.
const T0: i64 = 1_704_164_645;

/// The local domain `exämple.test` as the configuration holds it.
const A_LABEL: &str = "xn--exmple-cua.test";

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    queue: Arc<Queue>,
}

/// Account `jörg` with the address written in U-labels (stored in
/// A-labels), password `secretsecret`.
fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), StoreConfig::default()).unwrap());
    store
        .create_account(
            "jörg",
            NewAccount {
                addresses: vec!["Jörg@Exämple.test".into()],
                password: Some("secretsecret".into()),
                default_mailboxes: true,
                ..NewAccount::default()
            },
        )
        .unwrap();
    let queue = Arc::new(Queue::new(store.clone(), QueueConfig::new("mx.a.test")).unwrap());
    Env {
        _dir: dir,
        store,
        queue,
    }
}

fn local_domains() -> LocalDomains {
    LocalDomains::Only {
        domains: [A_LABEL.to_string()].into(),
        ips: ["192.0.2.1".parse().unwrap()].into(),
    }
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
    let ehlo = c.send("EHLO client.test\r\n");
    assert!(ehlo.contains("250-SMTPUTF8\r\n"), "{ehlo}");
    c
}

fn inbox(env: &Env) -> Vec<String> {
    let acct = env.store.account("jörg").unwrap();
    let mb = acct.mailbox("Inbox").unwrap();
    acct.messages_in(mb.id, 1..=u32::MAX)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(acct.read_message(m).unwrap()).unwrap())
        .collect()
}

const IDNA_SYNTAX: &str = "501 5.5.4 invalid internationalized domain name (IDNA, RFC 5891)\r\n";

#[test]
fn port_25_delivers_u_label_and_a_label_recipients_to_one_account() {
    let env = env();
    let mut cfg = SmtpConfig::inbound("mx.a.test");
    cfg.local_domains = local_domains();
    let mut c = session(&env, cfg);
    assert_eq!(
        c.send("MAIL FROM:<sender@exämple.example> SMTPUTF8\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    for (rcpt, want) in [
        ("jörg@exämple.test", "250 2.1.5 recipient ok\r\n"),
        ("JÖRG@EXÄMPLE.TEST", "250 2.1.5 recipient ok\r\n"),
        ("jörg@XN--EXMPLE-CUA.test", "250 2.1.5 recipient ok\r\n"),
        ("jörg+tag@exämple.test", "250 2.1.5 recipient ok\r\n"),
        ("other@exämple.test", "550 5.1.1 no such user\r\n"),
        // Same letters, another domain: not ours, no relaying.
        (
            "jörg@exämple.example",
            "550 5.1.1 not accepting email for domain (no relaying)\r\n",
        ),
        ("jörg@xn--a.test", IDNA_SYNTAX),
        // A label that starts with a combining mark (UTS #46 4.1).
        ("jörg@\u{300}x.test", IDNA_SYNTAX),
    ] {
        assert_eq!(c.send(&format!("RCPT TO:<{rcpt}>\r\n")), want, "{rcpt}");
    }
    assert_eq!(
        c.send("DATA\r\n"),
        "354 end data with <CR><LF>.<CR><LF>\r\n"
    );
    let msg = "From: <sender@exämple.example>\r\nSubject: grüße\r\n\r\nbody\r\n";
    assert_eq!(
        c.send(&format!("{msg}.\r\n")),
        "250 2.0.0 message accepted, id 07070707070707071\r\n"
    );
    let received = |rcpt: &str| {
        format!(
            "Received: from client.test ([198.51.100.7])\r\n\tby mx.a.test with UTF8SMTP id 07070707070707071\r\n\tfor <{rcpt}>; Tue, 02 Jan 2024 03:04:05 +0000\r\n{msg}"
        )
    };
    assert_eq!(
        inbox(&env),
        [
            received("jörg@exämple.test"),
            received("JÖRG@EXÄMPLE.TEST"),
            received("jörg@XN--EXMPLE-CUA.test"),
            received("jörg+tag@exämple.test"),
        ]
    );
    assert!(env.store.check_consistency().unwrap().is_empty());
}

#[test]
fn an_invalid_idn_is_refused_in_every_command() {
    let env = env();
    let mut cfg = SmtpConfig::inbound("mx.a.test");
    cfg.local_domains = local_domains();
    let mut c = session(&env, cfg);
    assert_eq!(c.send("EHLO xn--a.test\r\n"), IDNA_SYNTAX);
    assert_eq!(c.send("MAIL FROM:<x@xn--a.test> SMTPUTF8\r\n"), IDNA_SYNTAX);
    assert_eq!(
        c.send("MAIL FROM:<x@c.test>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    // U-labels need SMTPUTF8 (RFC 6531 3.4); the local part here too.
    assert_eq!(
        c.send("RCPT TO:<jorg@exämple.test>\r\n"),
        "553 5.6.7 non-ASCII address requires the SMTPUTF8 parameter\r\n"
    );
    // A-labels are plain ASCII.
    assert_eq!(
        c.send("RCPT TO:<JORG@xn--exmple-cua.test>\r\n"),
        "550 5.1.1 no such user\r\n"
    );
}

#[test]
fn submission_delivers_to_the_local_idn_domain_instead_of_queueing() {
    use base64::Engine as _;
    let env = env();
    let mut cfg = SmtpConfig::submission("mx.a.test");
    cfg.server.allow_plain_auth_without_tls = true;
    cfg.outgoing = Outgoing::Queue(env.queue.clone());
    cfg.local_domains = local_domains();
    let mut c = session(&env, cfg);
    // Login by the address in either form.
    for (user, tag) in [
        ("jörg@exämple.test", "u"),
        ("jörg@xn--exmple-cua.test", "a"),
    ] {
        let plain =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0secretsecret"));
        let out = c.send(&format!("AUTH PLAIN {plain}\r\n"));
        assert_eq!(out, "235 2.7.0 authentication successful\r\n", "{tag}");
        if tag == "u" {
            // A second AUTH is refused; start over for the A-label login.
            let mut cfg = SmtpConfig::submission("mx.a.test");
            cfg.server.allow_plain_auth_without_tls = true;
            cfg.outgoing = Outgoing::Queue(env.queue.clone());
            cfg.local_domains = local_domains();
            c = session(&env, cfg);
        }
    }
    // The sender may write the account's domain in U-labels.
    assert_eq!(
        c.send("MAIL FROM:<jörg@exämple.test> SMTPUTF8\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    assert_eq!(
        c.send("RCPT TO:<Jörg@Exämple.TEST>\r\n"),
        "250 2.1.5 recipient ok\r\n"
    );
    assert_eq!(c.send("RCPT TO:<x@xn--a.test>\r\n"), IDNA_SYNTAX);
    c.send("DATA\r\n");
    let reply = c.send(
        "From: <jörg@xn--exmple-cua.test>\r\nMessage-ID: <m1@exämple.test>\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\n\r\nx\r\n.\r\n",
    );
    assert!(reply.starts_with("250 2.0.0 "), "{reply}");
    // Delivered locally: nothing for the queue.
    assert!(env.queue.list(&Filter::default()).unwrap().is_empty());
    let got = inbox(&env);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("\tfor <Jörg@Exämple.TEST>; ")
            && got[0].ends_with("From: <jörg@xn--exmple-cua.test>\r\nMessage-ID: <m1@exämple.test>\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\n\r\nx\r\n"),
        "{}",
        got[0]
    );
}

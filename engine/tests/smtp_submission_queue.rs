//! Submission with an outgoing queue on the bare core: local recipients
//! are delivered, the others queued (one entry per domain, one file), all
//! before the one `250`; nothing is stored when the reply is an error.

mod smtp_harness;

use std::sync::Arc;
use std::time::Instant;

use moxide_engine::queue::{Filter, Queue, QueueConfig};
use moxide_engine::smtp::{LocalDomains, Outgoing, PeerInfo, SmtpConfig};
use moxide_storage::{NewAccount, QueueBody, Store, StoreConfig};
use smtp_harness::{SmtpClient, plain_peer};

/// 2024-01-02 03:04:05 UTC.
const T0: i64 = 1_704_164_645;

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    queue: Arc<Queue>,
}

fn env(quota: i64) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), StoreConfig::default()).unwrap());
    store
        .create_account(
            "mox",
            NewAccount {
                addresses: vec!["mox@localhost".into(), "alias@localhost".into()],
                password: Some("moxmoxmox".into()),
                quota,
                default_mailboxes: true,
            },
        )
        .unwrap();
    let queue = Arc::new(Queue::new(store.clone(), QueueConfig::new("mx.example")).unwrap());
    Env {
        _dir: dir,
        store,
        queue,
    }
}

fn authed(env: &Env, tls: bool) -> SmtpClient {
    use base64::Engine as _;
    let mut cfg = SmtpConfig::submission("mx.example");
    cfg.server.allow_plain_auth_without_tls = true;
    cfg.outgoing = Outgoing::Queue(env.queue.clone());
    cfg.local_domains = LocalDomains::Only {
        domains: ["localhost".to_string()].into(),
        ips: ["192.0.2.1".parse().unwrap()].into(),
    };
    let mut counter = 0u8;
    let mut c = SmtpClient::new(
        cfg.shared(),
        env.store.clone(),
        PeerInfo {
            tls,
            ..plain_peer("192.0.2.7")
        },
        T0,
        Instant::now(),
        Box::new(move || {
            counter = counter.wrapping_add(1);
            [counter; 18]
        }),
    );
    c.send("EHLO client.example\r\n");
    let plain = base64::engine::general_purpose::STANDARD.encode("\0mox\0moxmoxmox");
    assert!(
        c.send(&format!("AUTH PLAIN {plain}\r\n"))
            .starts_with("235")
    );
    c
}

fn inbox(env: &Env) -> Vec<String> {
    let acct = env.store.account("mox").unwrap();
    let mb = acct.mailbox("Inbox").unwrap();
    acct.messages_in(mb.id, 1..=u32::MAX)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(acct.read_message(m).unwrap()).unwrap())
        .collect()
}

#[test]
fn remote_recipients_are_queued_local_ones_delivered() {
    let env = env(0);
    let mut c = authed(&env, false);
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost> BODY=8BITMIME\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    for r in ["alias@localhost", "x@b.test", "Y@B.test", "z@c.test"] {
        assert_eq!(
            c.send(&format!("RCPT TO:<{r}>\r\n")),
            "250 2.1.5 recipient ok\r\n"
        );
    }
    c.send("DATA\r\n");
    let reply =
        c.send("From: <mox@localhost>\r\nTLS-Required: No\r\nSubject: caf\u{e9}\r\n\r\nx\r\n.\r\n");
    let id = reply
        .strip_prefix("250 2.0.0 message queued, id ")
        .and_then(|r| r.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("{reply}"))
        .to_string();
    let body = format!(
        "Message-ID: <{id}.{T0}@mx.example>\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\nFrom: <mox@localhost>\r\nTLS-Required: No\r\nSubject: caf\u{e9}\r\n\r\nx\r\n"
    );
    // The local copy, with its own Received ... for <alias@localhost>.
    assert_eq!(
        inbox(&env),
        vec![format!(
            "Received: from client.example ([192.0.2.7])\r\n\tby mx.example with ESMTPA id {id}\r\n\tfor <alias@localhost>; Tue, 02 Jan 2024 03:04:05 +0000\r\n{body}"
        )]
    );
    // The queue: one entry per domain, one Received without `for`.
    let es = env.queue.list(&Filter::default()).unwrap();
    assert_eq!(es.len(), 2);
    let prefix = format!(
        "Received: from client.example ([192.0.2.7])\r\n\tby mx.example with ESMTPA id {id}; Tue, 02 Jan 2024 03:04:05 +0000\r\n"
    );
    for (e, (domain, rcpts)) in es.iter().zip([
        ("b.test", vec!["x@b.test", "Y@B.test"]),
        ("c.test", vec!["z@c.test"]),
    ]) {
        assert_eq!(e.domain, domain);
        let got: Vec<&str> = e.recipients.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(got, rcpts);
        assert_eq!(e.sender_account.as_deref(), Some("mox"));
        assert_eq!(e.mail_from, "mox@localhost");
        assert_eq!(e.body, QueueBody::EightBitMime);
        assert_eq!(e.requiretls, Some(false));
        assert!(!e.smtputf8);
        assert_eq!((e.created, e.next_attempt, e.attempts), (T0, T0, 0));
        assert_eq!(
            String::from_utf8(env.queue.dump(e.id).unwrap()).unwrap(),
            format!("{prefix}{body}")
        );
    }
    assert!(env.store.check_consistency().unwrap().is_empty());
}

#[test]
fn requiretls_parameter_is_kept() {
    let env = env(0);
    let mut c = authed(&env, true);
    c.send("MAIL FROM:<mox@localhost> REQUIRETLS\r\nRCPT TO:<x@b.test>\r\nDATA\r\n");
    let reply = c.send("From: <mox@localhost>\r\nTLS-Required: No\r\n\r\nx\r\n.\r\n");
    assert!(
        reply.starts_with("250 2.0.0 message queued, id "),
        "{reply}"
    );
    let es = env.queue.list(&Filter::default()).unwrap();
    assert_eq!(es[0].requiretls, Some(true));
    assert_eq!(es[0].body, QueueBody::SevenBit);
}

/// A local recipient over quota refuses the whole message before anything
/// is queued or stored.
#[test]
fn local_quota_refusal_queues_nothing() {
    let env = env(10);
    let mut c = authed(&env, false);
    c.send(
        "MAIL FROM:<mox@localhost>\r\nRCPT TO:<x@b.test>\r\nRCPT TO:<alias@localhost>\r\nDATA\r\n",
    );
    assert_eq!(
        c.send("From: <mox@localhost>\r\n\r\nx\r\n.\r\n"),
        "552 5.2.2 message larger than the mailbox quota\r\n"
    );
    assert!(env.queue.list(&Filter::default()).unwrap().is_empty());
    assert!(inbox(&env).is_empty());
    assert!(env.store.check_consistency().unwrap().is_empty());
}

/// A recipient in a local domain is resolved locally: an unknown one is
/// refused at RCPT (never queued to loop back); other domains are queued,
/// address literals by whether they name one of our IPs.
#[test]
fn unknown_local_users_are_refused_other_domains_queued() {
    let env = env(0);
    let mut c = authed(&env, false);
    assert_eq!(
        c.send("MAIL FROM:<mox@localhost>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    let cases = [
        ("nobody@localhost", "550 5.1.1 no such user\r\n"),
        ("Nobody+tag@LOCALHOST", "550 5.1.1 no such user\r\n"),
        ("nobody@[192.0.2.1]", "550 5.1.1 no such user\r\n"),
        (
            "x@[x-tag:abc]",
            "550 5.1.2 general address literals are not supported\r\n",
        ),
        ("x@[192.0.2.9]", "250 2.1.5 recipient ok\r\n"),
        ("someone@localhost.example", "250 2.1.5 recipient ok\r\n"),
    ];
    for (rcpt, want) in cases {
        assert_eq!(c.send(&format!("RCPT TO:<{rcpt}>\r\n")), want, "{rcpt}");
    }
    c.send("DATA\r\n");
    let reply = c.send("From: <mox@localhost>\r\n\r\nx\r\n.\r\n");
    assert!(
        reply.starts_with("250 2.0.0 message queued, id "),
        "{reply}"
    );
    let mut rcpts: Vec<String> = env
        .queue
        .list(&Filter::default())
        .unwrap()
        .into_iter()
        .flat_map(|e| e.recipients)
        .map(|r| r.address)
        .collect();
    rcpts.sort();
    assert_eq!(rcpts, ["someone@localhost.example", "x@[192.0.2.9]"]);
    assert!(inbox(&env).is_empty());
    assert!(env.store.check_consistency().unwrap().is_empty());
}

//! Inbound sender authentication on the bare core: the session asks for
//! DNS lookups (`Need::Dns`), the test answers them from an in-memory zone,
//! and the reply, the stored prefix (Authentication-Results, Received-SPF)
//! and the mailbox are checked exactly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide_engine::smtp::{PeerInfo, SmtpConfig, SmtpSession, WallClock};
use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId};
use moxide_proto::dkim::{PrivateKey, Signer, SignerSelector};
use moxide_proto::dns::{Query, Zone};
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
                    addresses: vec!["mox@localhost".into()],
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

    fn session(&self, ip: &str) -> Client {
        let mut cfg = SmtpConfig::inbound("mx.example");
        cfg.sender_checks = true;
        let s = SmtpSession::new(
            cfg.shared(),
            self.store.clone(),
            PeerInfo {
                ip: ip.parse().unwrap(),
                tls: false,
                tls_exporter: None,
                client_key: None,
            },
            WallClock {
                unix_at: T0,
                instant_at: self.start,
            },
            // The first byte picks the DMARC pct sample: 7 % 100 = 7.
            Box::new(|| [7; 18]),
        );
        let mut c = Client {
            s,
            now: self.start,
            needs: Vec::new(),
            closed: false,
        };
        assert_eq!(c.drain(), "220 mx.example ESMTP moxide\r\n");
        c
    }

    fn mailbox(&self, name: &str) -> Vec<String> {
        let acct = self.store.account("mox").unwrap();
        let mb = acct.mailbox(name).unwrap();
        let msgs = acct.messages_in(mb.id, 1..=u32::MAX).unwrap();
        msgs.iter()
            .map(|m| String::from_utf8(acct.read_message(m).unwrap()).unwrap())
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
    needs: Vec<(NeedId, Query)>,
    closed: bool,
}

impl Client {
    fn drain(&mut self) -> String {
        let mut out = Vec::new();
        self.s.poll_transmit(&mut out);
        while let Some(a) = self.s.poll_action() {
            match a {
                Action::Close => self.closed = true,
                Action::Need(id, Need::Dns(q)) => self.needs.push((id, q)),
                other => panic!("unexpected action {other:?}"),
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn send(&mut self, input: &str) -> String {
        self.s.handle_input(self.now, input.as_bytes());
        self.drain()
    }

    /// Answers every lookup asked (and those its answers lead to) from
    /// `zone`, in order; returns what the server wrote and the queries.
    fn answer_all(&mut self, zone: &Zone) -> (String, Vec<String>) {
        let mut out = String::new();
        let mut asked = Vec::new();
        while !self.needs.is_empty() {
            let (id, q) = self.needs.remove(0);
            asked.push(q.to_string());
            self.s
                .handle_answer(self.now, id, Answer::Dns(zone.answer(&q)));
            out.push_str(&self.drain());
        }
        (out, asked)
    }

    fn transaction(&mut self, from: &str, message: &str) -> String {
        self.send("EHLO mail.example.org\r\n");
        assert_eq!(
            self.send(&format!("MAIL FROM:<{from}>\r\n")),
            "250 2.1.0 sender ok\r\n"
        );
        assert_eq!(
            self.send("RCPT TO:<mox@localhost>\r\n"),
            "250 2.1.5 recipient ok\r\n"
        );
        assert_eq!(
            self.send("DATA\r\n"),
            "354 end data with <CR><LF>.<CR><LF>\r\n"
        );
        self.send(&format!("{message}.\r\n"))
    }
}

const SEED: [u8; 32] = [42; 32];

fn signed(message: &str) -> String {
    let key = PrivateKey::ed25519_from_seed(&SEED).unwrap();
    let signer = Signer::new(vec![SignerSelector::new("example.org", "sel", key)]);
    let sig = signer
        .sign(
            message.as_bytes(),
            T0 as u64,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
    format!("{sig}{message}")
}

fn zone(dmarc_policy: &str) -> Zone {
    let key = PrivateKey::ed25519_from_seed(&SEED).unwrap();
    let mut z = Zone::parse(&format!(
        "7.2.0.192.in-addr.arpa PTR mail.example.org\n\
         mail.example.org A 192.0.2.7\n\
         example.org TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
         mail.example.org TXT \"v=spf1 a -all\"\n\
         _dmarc.example.org TXT \"v=DMARC1; p={dmarc_policy}\"\n"
    ))
    .unwrap();
    z.add_txt("sel._domainkey.example.org", &key.dns_record());
    z
}

const MSG: &str = "From: Alice <alice@example.org>\r\nTo: mox@localhost\r\nSubject: hi\r\nMessage-ID: <1@example.org>\r\n\r\nbody\r\n";

#[test]
fn aligned_spf_and_dkim_pass_get_authentication_results() {
    let env = Env::new();
    let mut c = env.session("192.0.2.7");
    assert_eq!(
        c.transaction("alice@example.org", &signed(MSG)),
        "",
        "the reply waits for DNS"
    );
    let (reply, asked) = c.answer_all(&zone("reject"));
    assert_eq!(
        reply,
        "250 2.0.0 message accepted, id 07070707070707071\r\n"
    );
    assert!(
        asked.contains(&"7.2.0.192.in-addr.arpa PTR".to_string()),
        "{asked:?}"
    );
    assert!(
        asked.contains(&"sel._domainkey.example.org TXT".to_string()),
        "{asked:?}"
    );
    assert!(
        asked.contains(&"_dmarc.example.org TXT".to_string()),
        "{asked:?}"
    );
    let inbox = env.mailbox("Inbox");
    assert_eq!(inbox.len(), 1);
    let stored = &inbox[0];
    let ar_end = stored
        .find("\r\nReceived-SPF:")
        .expect("Received-SPF after Authentication-Results");
    let ar = &stored[..ar_end];
    assert!(
        ar.starts_with("Authentication-Results: mx.example; iprev=pass"),
        "{stored}"
    );
    let unfolded = ar.replace("\r\n\t", " ");
    for want in [
        "iprev=pass (mail.example.org) policy.iprev=192.0.2.7",
        "spf=pass smtp.mailfrom=alice@example.org",
        "dkim=pass header.d=example.org header.s=sel header.a=ed25519-sha256",
        "dmarc=pass (p=reject dis=none) header.from=example.org",
    ] {
        assert!(unfolded.contains(want), "missing {want:?} in {unfolded}");
    }
    assert!(
        stored.replace("\r\n\t", " ").contains(
            "\r\nReceived-SPF: pass (mx.example: domain of alice@example.org designates 192.0.2.7 \
             as permitted sender) client-ip=192.0.2.7; envelope-from=\"alice@example.org\"; \
             helo=mail.example.org; receiver=mx.example; identity=mailfrom; \
             mechanism=\"ip4:192.0.2.0/24\"\r\nReceived: from mail.example.org"
        ),
        "{stored}"
    );
    assert!(stored.ends_with(&signed(MSG)));
    env.check();
}

#[test]
fn dmarc_reject_is_550_and_nothing_is_stored() {
    let env = Env::new();
    // From an address outside SPF and without a signature.
    let mut c = env.session("198.51.100.1");
    assert_eq!(c.transaction("alice@example.org", MSG), "");
    let (reply, _) = c.answer_all(&zone("reject"));
    assert_eq!(
        reply,
        "550 5.7.1 rejecting message: DMARC policy of example.org (p=reject): no aligned SPF or DKIM pass\r\n"
    );
    assert!(env.mailbox("Inbox").is_empty());
    assert!(env.mailbox("Junk").is_empty());
    // The session goes on.
    assert_eq!(c.send("NOOP\r\n"), "250 2.0.0 ok\r\n");
    env.check();
}

#[test]
fn dmarc_quarantine_goes_to_junk() {
    let env = Env::new();
    let mut c = env.session("198.51.100.1");
    c.transaction("alice@example.org", MSG);
    let (reply, _) = c.answer_all(&zone("quarantine"));
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert!(env.mailbox("Inbox").is_empty());
    let junk = env.mailbox("Junk");
    assert_eq!(junk.len(), 1);
    assert!(
        junk[0]
            .replace("\r\n\t", " ")
            .contains("dmarc=fail (p=quarantine dis=quarantine) header.from=example.org")
    );
    assert!(
        junk[0]
            .replace("\r\n\t", " ")
            .contains("spf=fail smtp.mailfrom=alice@example.org")
    );
    env.check();
}

#[test]
fn dns_timeout_defers_with_451() {
    let env = Env::new();
    let mut c = env.session("198.51.100.1");
    assert_eq!(c.transaction("alice@example.org", MSG), "");
    assert!(!c.needs.is_empty());
    let deadline = c.s.poll_timeout().unwrap();
    assert_eq!(deadline, env.start + Duration::from_secs(30));
    c.s.handle_timeout(deadline - Duration::from_secs(1));
    assert_eq!(c.drain(), "", "nothing before the deadline");
    c.s.handle_timeout(deadline);
    assert_eq!(
        c.drain(),
        "451 4.4.3 temporary error evaluating DMARC for example.org, try again later\r\n"
    );
    // A late answer to an old lookup is ignored.
    let (id, q) = c.needs.remove(0);
    c.s.handle_answer(deadline, id, Answer::Dns(zone("none").answer(&q)));
    assert_eq!(c.drain(), "");
    assert!(env.mailbox("Inbox").is_empty());
    env.check();
}

#[test]
fn client_leaving_during_checks_stores_nothing() {
    let env = Env::new();
    let mut c = env.session("192.0.2.7");
    c.transaction("alice@example.org", &signed(MSG));
    c.s.handle_eof(c.now);
    let (reply, _) = c.answer_all(&zone("none"));
    assert_eq!(reply, "");
    assert!(env.mailbox("Inbox").is_empty());
    env.check();
}

#[test]
fn without_from_header_dmarc_is_permerror_and_mail_is_delivered() {
    let env = Env::new();
    let mut c = env.session("192.0.2.7");
    c.transaction("alice@example.org", "Subject: no from\r\n\r\nbody\r\n");
    let (reply, asked) = c.answer_all(&zone("reject"));
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert!(!asked.iter().any(|q| q.starts_with("_dmarc.")), "{asked:?}");
    let inbox = env.mailbox("Inbox");
    assert!(
        inbox[0]
            .replace("\r\n\t", " ")
            .contains("dmarc=permerror reason=\"no From header\""),
        "{}",
        inbox[0]
    );
    env.check();
}

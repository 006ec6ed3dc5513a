//! DKIM signing: which domain signs, and a submitted message stored with
//! signatures that verify against the published keys.

use std::sync::Arc;
use std::time::Instant;

use moxide_proto::conn::Conn;
use moxide_proto::dkim::{
    PrivateKey, SignerSelector, Status, SystemRandom, Verifier, generate_rsa, pkcs8_pem,
};
use moxide_proto::dns::{Zone, run};
use moxide_storage::{NewAccount, Store, StoreConfig};

use super::*;
use crate::smtp::{PeerInfo, SmtpConfig, SmtpSession, WallClock};

/// 2024-01-02 03:04:05 UTC.
const T0: i64 = 1_704_164_645;

fn ed_key(n: u8) -> PrivateKey {
    PrivateKey::ed25519_from_seed(&[n; 32]).unwrap()
}

fn signing() -> DkimSigning {
    let mut d = DkimSigning::none();
    d.insert(
        "a.test",
        Signer::new(vec![SignerSelector::new("a.test", "ed1", ed_key(1))]),
    );
    d
}

#[test]
fn the_from_domain_or_its_nearest_parent_signs() {
    let d = signing();
    assert_eq!(d.signer_for("a.test").map(|(n, _)| n), Some("a.test"));
    assert_eq!(d.signer_for("Sub.A.Test.").map(|(n, _)| n), Some("a.test"));
    assert!(d.signer_for("b.test").is_none());
    assert!(d.signer_for("xa.test").is_none());
    let msg = b"From: <x@b.test>\r\nSubject: s\r\n\r\nbody\r\n";
    assert_eq!(d.sign(msg, T0), Ok(None));
    // No From, or two addresses: nothing to sign for (submission refuses
    // such messages before).
    assert_eq!(d.sign(b"Subject: s\r\n\r\nb\r\n", T0), Ok(None));
    assert_eq!(
        d.sign(b"From: a@a.test, b@a.test\r\n\r\nb\r\n", T0),
        Ok(None)
    );
    assert!(
        DkimSigning::none()
            .header_for_submission(msg, T0)
            .is_empty()
    );
}

#[test]
fn signing_from_the_domains_file_reads_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("ed.pem"), pkcs8_pem(&generate_ed(2))).unwrap();
    let text = "[domains.\"a.test\".dkim.selectors.s1]\nprivate_key_file = \"ed.pem\"\ncanonicalization = \"simple/simple\"\nheaders = [\"From\", \"Subject\"]\noversign = false\n[domains.\"a.test\".dkim]\nsign = [\"s1\"]\n[domains.\"b.test\"]\n";
    let domains = crate::config::Domains::parse(&p.join("domains.toml"), text).unwrap();
    let d = DkimSigning::from_domains(&domains).unwrap();
    let msg = b"From: <x@a.test>\r\nSubject: s\r\nTo: <y@b.test>\r\n\r\nbody\r\n";
    let h = d.sign(msg, T0).unwrap().unwrap();
    assert!(
        h.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; d=a.test; s=s1; c=simple/simple;\r\n t=1704164645; h=From:Subject;\r\n bh="),
        "{h}"
    );
    // The key file went away after the check: a clear error.
    std::fs::remove_file(p.join("ed.pem")).unwrap();
    let e = DkimSigning::from_domains(&domains).unwrap_err().to_string();
    let dp = p.display();
    assert_eq!(
        e,
        format!(
            "{dp}/domains.toml: domains.\"a.test\".dkim.selectors.s1.private_key_file: {dp}/ed.pem: no such file (make a key with `moxide config dkim add` or `moxide dkim gened25519`)"
        )
    );
}

fn generate_ed(n: u8) -> Vec<u8> {
    // PKCS#8 v1 of a fixed seed (RFC 8410 7).
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[n; 32]);
    der
}

/// A submission session of account `a` (a@a.test, password "pw") on a
/// TLS connection.
fn submit(store: &Arc<Store>, dkim: DkimSigning, message: &str) -> String {
    let mut cfg = SmtpConfig::submission("mail.a.test");
    cfg.dkim = Arc::new(dkim);
    let start = Instant::now();
    let mut n = 0u8;
    let mut s = SmtpSession::new(
        cfg.shared(),
        store.clone(),
        PeerInfo {
            ip: "192.0.2.7".parse().unwrap(),
            tls: true,
            tls_exporter: None,
            client_key: None,
        },
        WallClock {
            unix_at: T0,
            instant_at: start,
        },
        Box::new(move || {
            n = n.wrapping_add(1);
            [n; 18]
        }),
    );
    use base64::Engine as _;
    let plain = base64::engine::general_purpose::STANDARD.encode("\0a@a.test\0pw");
    let input = format!(
        "EHLO c.test\r\nAUTH PLAIN {plain}\r\nMAIL FROM:<a@a.test>\r\nRCPT TO:<b@a.test>\r\nDATA\r\n{message}.\r\nQUIT\r\n"
    );
    s.handle_input(start, input.as_bytes());
    let mut out = Vec::new();
    s.poll_transmit(&mut out);
    String::from_utf8(out).unwrap()
}

fn new_store() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    for (name, addr) in [("a", "a@a.test"), ("b", "b@a.test")] {
        store
            .create_account(
                name,
                NewAccount {
                    addresses: vec![addr.into()],
                    password: Some("pw".into()),
                    ..NewAccount::default()
                },
            )
            .unwrap();
    }
    (dir, Arc::new(store))
}

/// The Inbox of account b: the stored messages, prefix and file.
fn inbox_b(store: &Store) -> Vec<Vec<u8>> {
    let acct = store.account("b").unwrap();
    let inbox = acct.mailbox("Inbox").unwrap();
    acct.messages_in(inbox.id, 1..=u32::MAX)
        .unwrap()
        .iter()
        .map(|m| acct.read_message(m).unwrap())
        .collect()
}

#[test]
fn submitted_mail_is_stored_with_verifying_signatures() {
    let (_dir, store) = new_store();
    let rsa = PrivateKey::from_pem(
        pkcs8_pem(&generate_rsa(&SystemRandom::new(), 2048).unwrap()).as_bytes(),
    )
    .unwrap();
    let mut zone = Zone::new();
    zone.add_txt("ed1._domainkey.a.test", &ed_key(1).dns_record());
    zone.add_txt("rsa1._domainkey.a.test", &rsa.dns_record());
    let mut d = DkimSigning::none();
    d.insert(
        "a.test",
        Signer::new(vec![
            SignerSelector::new("a.test", "ed1", ed_key(1)),
            SignerSelector::new("a.test", "rsa1", rsa),
        ]),
    );
    let out = submit(
        &store,
        d,
        "From: A <a@a.test>\r\nTo: <b@a.test>\r\nSubject: signed\r\n\r\nhello\r\n",
    );
    assert!(
        out.contains("250 2.0.0 message accepted, id 0202020202020202"),
        "{out}"
    );
    let stored = inbox_b(&store);
    assert_eq!(stored.len(), 1);
    let text = String::from_utf8(stored[0].clone()).unwrap();
    // Received (the per-recipient prefix) first, then the signatures,
    // then the added Message-ID and Date, then the message as submitted.
    let (received, rest) = text
        .split_once("DKIM-Signature: v=1; a=ed25519-sha256; d=a.test; s=ed1;")
        .unwrap();
    assert!(
        received
            .starts_with("Received: from c.test ([192.0.2.7])\r\n\tby mail.a.test with ESMTPSA"),
        "{received}"
    );
    let (_, after_sigs) = rest
        .split_once("DKIM-Signature: v=1; a=rsa-sha256; d=a.test; s=rsa1;")
        .unwrap();
    assert!(
        after_sigs.contains("\r\nMessage-ID: <02020202020202021.1704164645@mail.a.test>\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\nFrom: A <a@a.test>\r\nTo: <b@a.test>\r\nSubject: signed\r\n\r\nhello\r\n"),
        "{after_sigs}"
    );
    let (v, _) = run(
        &mut Verifier::new(&stored[0], u64::try_from(T0).unwrap() + 60),
        &zone,
        Instant::now(),
    );
    assert_eq!(v.results.len(), 2);
    for r in &v.results {
        assert_eq!(r.status, Status::Pass, "{}", r.reason());
    }
    // The same message from a domain without selectors goes unsigned.
    let (_dir2, store2) = new_store();
    let out = submit(
        &store2,
        DkimSigning::none(),
        "From: A <a@a.test>\r\nSubject: plain\r\n\r\nhello\r\n",
    );
    assert!(out.contains("250 2.0.0"), "{out}");
    let plain = String::from_utf8(inbox_b(&store2).remove(0)).unwrap();
    assert!(!plain.contains("DKIM-Signature"), "{plain}");
}

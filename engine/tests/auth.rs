//! LOGIN, AUTHENTICATE (PLAIN with and without SASL-IR, SCRAM-SHA-256,
//! CRAM-MD5), LOGINDISABLED without TLS, failed-login delays, timeouts.
mod common;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use moxide_engine::imap::{ImapConfig, PeerInfo};
use moxide_proto::sasl::ScramHash;

fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

#[test]
fn plaintext_refused_without_tls() {
    let env = Env::with_config(ImapConfig::default());
    let mut c = env.client();
    let caps = c.send("a1 CAPABILITY");
    assert!(
        caps.contains(" STARTTLS LOGINDISABLED AUTH=SCRAM-SHA-256 "),
        "{caps}"
    );
    assert!(!caps.contains("AUTH=PLAIN"), "{caps}");
    c.expect(
        "a2 LOGIN mox@localhost moxmoxmox",
        &["a2 NO [PRIVACYREQUIRED] LOGIN needs TLS"],
    );
    c.expect(
        &format!(
            "a3 AUTHENTICATE PLAIN {}",
            b64(b"\0mox@localhost\0moxmoxmox")
        ),
        &["a3 NO [PRIVACYREQUIRED] plaintext authentication needs TLS"],
    );
    c.expect("a4 STARTTLS", &["a4 OK begin TLS negotiation now"]);
    assert_eq!(c.actions, vec![moxide_proto::conn::Action::StartTls]);
    c.s.tls_established(Some(vec![7; 32]), None);
    let caps = c.send("a5 CAPABILITY");
    assert!(
        caps.contains("AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS"),
        "{caps}"
    );
    assert!(
        caps.contains("AUTH=PLAIN") && !caps.contains("STARTTLS"),
        "{caps}"
    );
    let out = c.send("a6 LOGIN mox@localhost moxmoxmox");
    assert!(out.starts_with("a6 OK [CAPABILITY IMAP4rev2"), "{out}");
}

#[test]
fn authenticate_plain() {
    let env = Env::new();
    let mut c = env.client();
    c.expect("a1 AUTHENTICATE PLAIN", &["+ "]);
    c.expect(
        &b64(b"\0mox@localhost\0wrong"),
        &["a1 NO [AUTHENTICATIONFAILED] invalid credentials"],
    );
    c.expect("a2 AUTHENTICATE PLAIN", &["+ "]);
    c.expect("*", &["a2 BAD authentication cancelled"]);
    c.expect(
        "a3 AUTHENTICATE X-UNKNOWN",
        &["a3 NO unsupported authentication mechanism"],
    );
    let out = c.send(&format!(
        "a4 AUTHENTICATE PLAIN {}",
        b64(b"mox\0mox\0moxmoxmox")
    ));
    assert!(out.starts_with("a4 OK [CAPABILITY IMAP4rev2"), "{out}");
    assert!(out.ends_with("] AUTHENTICATE completed\r\n"), "{out}");
    c.expect("a5 SELECT Sent", &[
        "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)",
        "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] flags permitted",
        "* 0 EXISTS",
        "* 0 RECENT",
        "* OK [UIDVALIDITY 2] uidvalidity",
        "* OK [UIDNEXT 1] next uid",
        "* OK [HIGHESTMODSEQ 2] highest modseq",
        "a5 OK [READ-WRITE] SELECT completed",
    ]);
}

#[test]
fn failed_logins_are_delayed_per_ip() {
    let env = Env::new();
    let mut c = env.client();
    for i in 0..3 {
        c.expect(
            &format!("f{i} LOGIN mox@localhost bad"),
            &[&format!(
                "f{i} NO [AUTHENTICATIONFAILED] invalid credentials"
            )],
        );
    }
    // The fourth failure is answered after one second, the fifth after two.
    assert_eq!(c.send("f3 LOGIN mox@localhost bad"), "");
    assert_eq!(c.send("x1 NOOP"), "");
    assert_eq!(c.advance(Duration::from_millis(999)), "");
    assert_eq!(
        c.advance(Duration::from_millis(1)),
        "f3 NO [AUTHENTICATIONFAILED] invalid credentials\r\nx1 OK NOOP completed\r\n"
    );
    // Another connection from the same address is delayed too.
    let mut d = env.client();
    assert_eq!(d.send("g1 LOGIN nobody@localhost bad"), "");
    assert_eq!(
        d.advance(Duration::from_secs(2)),
        "g1 NO [AUTHENTICATIONFAILED] invalid credentials\r\n"
    );
    // A different address is not.
    let mut e = env.client_with(PeerInfo {
        ip: "192.0.2.9".parse().unwrap(),
        tls: false,
        tls_exporter: None,
        client_key: None,
    });
    e.expect(
        "h1 LOGIN mox@localhost bad",
        &["h1 NO [AUTHENTICATIONFAILED] invalid credentials"],
    );
}

#[test]
fn timeouts() {
    let env = Env::new();
    let mut c = env.client();
    assert_eq!(c.advance(Duration::from_secs(29)), "");
    assert_eq!(
        c.advance(Duration::from_secs(1)),
        "* BYE autologout; idle for too long\r\n"
    );
    assert!(c.closed);
    let mut c = env.login();
    assert_eq!(c.advance(Duration::from_secs(29 * 60)), "");
    c.expect("a1 NOOP", &["a1 OK NOOP completed"]);
    c.expect("a2 IDLE", &["+ idling"]);
    assert_eq!(c.advance(Duration::from_secs(29 * 60)), "");
    assert_eq!(
        c.advance(Duration::from_secs(60)),
        "* BYE autologout; idle for too long\r\n"
    );
}

/// Runs a SCRAM exchange with a client computed here; returns the tagged
/// response.
fn scram(c: &mut Client, tag: &str, mech: &str, h: ScramHash, gs2: &str, cb: &[u8]) -> String {
    let client_first_bare = "n=mox@localhost,r=clientnonce123456";
    let out = c.send(&format!(
        "{tag} AUTHENTICATE {mech} {}",
        b64(format!("{gs2}{client_first_bare}").as_bytes())
    ));
    let Some(challenge) = out.strip_prefix("+ ") else {
        return out;
    };
    let server_first = String::from_utf8(B64.decode(challenge.trim_end()).unwrap()).unwrap();
    let mut nonce = "";
    let mut salt = Vec::new();
    let mut iters = 0u32;
    for kv in server_first.split(',') {
        match kv.split_at(2) {
            ("r=", v) => nonce = v,
            ("s=", v) => salt = B64.decode(v).unwrap(),
            ("i=", v) => iters = v.parse().unwrap(),
            _ => {}
        }
    }
    assert!(
        nonce.starts_with("clientnonce123456") && nonce.len() > 17,
        "{server_first}"
    );
    let mut cbind = gs2.as_bytes().to_vec();
    cbind.extend_from_slice(cb);
    let without_proof = format!("c={},r={nonce}", b64(&cbind));
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let salted = h.salted_password(b"moxmoxmox", &salt, iters);
    let client_key = h.hmac(&salted, b"Client Key");
    let stored_key = h.hash(&client_key);
    let sig = h.hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    let server_key = h.hmac(&salted, b"Server Key");
    let server_sig = h.hmac(&server_key, auth_message.as_bytes());
    let final_msg = format!("{without_proof},p={}", b64(&proof));
    let out = c.send(&b64(final_msg.as_bytes()));
    if !out.starts_with("+ ") {
        return out;
    }
    assert_eq!(
        out,
        format!(
            "+ {}\r\n",
            b64(format!("v={}", b64(&server_sig)).as_bytes())
        )
    );
    c.send("")
}

#[test]
fn authenticate_scram() {
    let env = Env::new();
    let mut c = env.client();
    let out = scram(&mut c, "s1", "SCRAM-SHA-256", ScramHash::Sha256, "n,,", b"");
    assert!(out.starts_with("s1 OK [CAPABILITY IMAP4rev2"), "{out}");
    let mut c = env.client();
    let out = scram(&mut c, "s2", "SCRAM-SHA-1", ScramHash::Sha1, "n,,", b"");
    assert!(out.starts_with("s2 OK [CAPABILITY IMAP4rev2"), "{out}");
    // -PLUS needs TLS with channel binding.
    let mut c = env.client();
    let out = scram(
        &mut c,
        "s3",
        "SCRAM-SHA-256-PLUS",
        ScramHash::Sha256,
        "p=tls-exporter,,",
        &[7; 32],
    );
    assert_eq!(out, "s3 NO channel binding needs TLS\r\n");
    let tls = PeerInfo {
        ip: "127.0.0.1".parse().unwrap(),
        tls: true,
        tls_exporter: Some(vec![7; 32]),
        client_key: None,
    };
    let mut c = env.client_with(tls.clone());
    let out = scram(
        &mut c,
        "s4",
        "SCRAM-SHA-256-PLUS",
        ScramHash::Sha256,
        "p=tls-exporter,,",
        &[7; 32],
    );
    assert!(out.starts_with("s4 OK [CAPABILITY IMAP4rev2"), "{out}");
    // Channel binding data of another connection fails.
    let mut c = env.client_with(tls.clone());
    let out = scram(
        &mut c,
        "s5",
        "SCRAM-SHA-256-PLUS",
        ScramHash::Sha256,
        "p=tls-exporter,,",
        &[8; 32],
    );
    assert_eq!(out, "s5 NO [AUTHENTICATIONFAILED] invalid credentials\r\n");
    // A client claiming the server has no channel binding while -PLUS was
    // offered: downgrade (RFC 5802 6).
    let mut c = env.client_with(tls);
    let out = scram(&mut c, "s6", "SCRAM-SHA-256", ScramHash::Sha256, "y,,", b"");
    assert_eq!(out, "s6 NO [AUTHENTICATIONFAILED] invalid credentials\r\n");
}

#[test]
fn authenticate_cram_md5() {
    let env = Env::new();
    let mut c = env.client();
    let out = c.send("c1 AUTHENTICATE CRAM-MD5");
    let challenge = B64
        .decode(out.strip_prefix("+ ").unwrap().trim_end())
        .unwrap();
    assert_eq!(
        String::from_utf8(challenge.clone()).unwrap(),
        format!("<0101010101010101.{T0}@moxide>")
    );
    let digest = moxide_proto::sasl::CramMd5Keys::derive("moxmoxmox").hmac(&challenge);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let out = c.send(&b64(format!("mox@localhost {hex}").as_bytes()));
    assert!(out.starts_with("c1 OK [CAPABILITY IMAP4rev2"), "{out}");
    let mut c = env.client();
    c.send("c2 AUTHENTICATE CRAM-MD5");
    c.expect(
        &b64(b"mox@localhost 00000000000000000000000000000000"),
        &["c2 NO [AUTHENTICATIONFAILED] invalid credentials"],
    );
}

//! AUTH on submission (RFC 4954) over the SASL module: PLAIN, LOGIN,
//! CRAM-MD5 (RFC 2195 example) and SCRAM-SHA-256 (RFC 7677 example) as
//! transcripts; failures, cancellation, and where AUTH is refused.

#[path = "smtp_util.rs"]
mod util;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use moxide_proto::sasl::{
    ChannelBindings, CramMd5Keys, Mechanism, PasswordSecrets, SaslError, ScramHash, ScramKeys,
};
use moxide_proto::smtp::{SmtpConfig, SmtpEvent};
use util::Harness;

fn submission(tls: bool) -> SmtpConfig {
    SmtpConfig {
        hostname: "smtp.example".to_string(),
        submission: true,
        tls,
        ..SmtpConfig::default()
    }
}

/// "tim" with password "tanstaaftanstaaf" (RFC 2195) and "user" with
/// "pencil" and the salts of the RFC 7677 example.
fn harness(cfg: SmtpConfig) -> Harness {
    let mut h = Harness::new(cfg);
    h.accounts.push((
        "tim".to_string(),
        PasswordSecrets::derive("tanstaaftanstaaf", [1; 16], [2; 16]),
    ));
    let salt256 = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap_or_default();
    h.accounts.push((
        "user".to_string(),
        PasswordSecrets {
            scram_sha256: ScramKeys::derive(ScramHash::Sha256, "pencil", &salt256, 4096),
            scram_sha1: ScramKeys::derive(ScramHash::Sha1, "pencil", b"salt", 4096),
            cram_md5: CramMd5Keys::derive("pencil"),
        },
    ));
    h.take_output();
    h
}

fn b64(s: &str) -> String {
    B64.encode(s)
}

const EHLO_TLS_SUBMISSION: &str = "250-smtp.example\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n\
250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-BINARYMIME\r\n\
250-REQUIRETLS\r\n250-LIMITS RCPTMAX=1000\r\n250 AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 \
SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN\r\n";

#[test]
fn plain_with_initial_response_then_mail() {
    let mut h = harness(submission(true));
    assert_eq!(h.lines("EHLO c.example\n"), EHLO_TLS_SUBMISSION);
    h.transcript(&format!(
        "C: AUTH PLAIN {}
         S: 235 2.7.0 authentication successful
         C: AUTH PLAIN {0}
         S: 503 5.5.1 already authenticated
         C: MAIL FROM:<tim@example.org>
         S: 250 2.1.0 sender ok",
        b64("\0tim\0tanstaaftanstaaf")
    ));
    assert_eq!(h.srv.authenticated(), Some("tim"));
    assert!(h.events.contains(&SmtpEvent::Auth {
        mechanism: Mechanism::Plain,
        authcid: "tim".into(),
        authzid: None
    }));
    // After AUTH the EHLO reply no longer lists AUTH.
    let out = h.lines("RSET\nEHLO c.example\n");
    assert!(out.ends_with("250 LIMITS RCPTMAX=1000\r\n"), "{out}");
}

#[test]
fn plain_with_challenge_wrong_password_and_cancel() {
    let mut h = harness(submission(true));
    h.lines("EHLO c.example\n");
    h.transcript(&format!(
        "C: AUTH PLAIN
         S: 334 
         C: {}
         S: 535 5.7.8 authentication credentials invalid
         C: AUTH PLAIN
         S: 334 
         C: *
         S: 501 5.0.0 authentication cancelled
         C: AUTH PLAIN {}
         S: 535 5.7.8 authentication credentials invalid
         C: AUTH PLAIN !!!
         S: 501 5.5.4 invalid base64
         C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: not base64!
         S: 501 5.5.2 malformed authentication data
         C: MAIL FROM:<a@b>
         S: 530 5.7.0 authentication required",
        b64("\0tim\0wrong"),
        b64("\0nobody\0x"),
    ));
    assert!(h.srv.authenticated().is_none());
    assert!(h.events.contains(&SmtpEvent::AuthFailed {
        mechanism: Mechanism::Plain,
        username: Some("tim".into()),
        error: Some(SaslError::BadCredentials)
    }));
    assert!(h.events.contains(&SmtpEvent::AuthFailed {
        mechanism: Mechanism::Plain,
        username: Some("nobody".into()),
        error: Some(SaslError::UnknownUser)
    }));
    assert!(h.events.contains(&SmtpEvent::AuthFailed {
        mechanism: Mechanism::Plain,
        username: None,
        error: None
    }));
    assert_eq!(h.srv.error_count(), 6);
}

#[test]
fn login() {
    let mut h = harness(submission(true));
    h.lines("EHLO c.example\n");
    h.transcript(&format!(
        "C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: {}
         S: 334 UGFzc3dvcmQ6
         C: {}
         S: 235 2.7.0 authentication successful",
        b64("tim"),
        b64("tanstaaftanstaaf")
    ));
    assert_eq!(h.srv.authenticated(), Some("tim"));
}

#[test]
fn cram_md5_rfc2195_example() {
    let mut h = harness(submission(true));
    h.lines("EHLO c.example\n");
    h.transcript(&format!(
        "C: AUTH CRAM-MD5
         S: 334 {}
         C: {}
         S: 235 2.7.0 authentication successful",
        b64("<1896.697170952@postoffice.reston.mci.net>"),
        b64("tim b913a602c7eda7a495b4e6e7334d3890")
    ));
    assert_eq!(h.srv.authenticated(), Some("tim"));
}

#[test]
fn scram_sha256_rfc7677_example() {
    let mut h = harness(submission(true));
    h.lines("EHLO c.example\n");
    h.transcript(&format!(
        "C: AUTH SCRAM-SHA-256 {}
         S: 334 {}
         C: {}
         S: 334 {}
         C:
         S: 235 2.7.0 authentication successful",
        b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"),
        b64("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
        b64("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
        b64("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
    ));
    assert_eq!(h.srv.authenticated(), Some("user"));
    assert!(h.events.contains(&SmtpEvent::NeedSecrets {
        username: "user".into()
    }));
}

#[test]
fn scram_plus_flag_reflects_the_offer() {
    // -PLUS offered over TLS: a client claiming "y" (it supports channel
    // binding, thinks the server does not) is a downgrade.
    let mut h = harness(submission(true));
    h.ctx.channel_bindings = ChannelBindings {
        tls_exporter: Some(vec![7; 32]),
        tls_server_end_point: None,
    };
    h.lines("EHLO c.example\n");
    assert_eq!(
        h.lines(&format!("AUTH SCRAM-SHA-256 {}\n", b64("y,,n=user,r=abc"))),
        "535 5.7.8 authentication credentials invalid\r\n"
    );
    assert!(h.events.contains(&SmtpEvent::AuthFailed {
        mechanism: Mechanism::ScramSha256,
        username: None,
        error: Some(SaslError::ChannelBindingDowngrade)
    }));
}

#[test]
fn where_auth_is_refused() {
    // Port 25.
    let mut h = harness(SmtpConfig {
        tls: true,
        ..SmtpConfig::default()
    });
    h.lines("EHLO c.example\n");
    assert_eq!(
        h.lines("AUTH PLAIN\n"),
        "503 5.5.1 authentication only allowed on submission ports\r\n"
    );
    // Submission without TLS: not offered, refused.
    let mut h = harness(submission(false));
    let ehlo = h.lines("EHLO c.example\n");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    assert_eq!(
        h.lines(&format!("AUTH PLAIN {}\n", b64("\0tim\0tanstaaftanstaaf"))),
        "538 5.7.11 encryption required for requested authentication mechanism\r\n"
    );
    // ... unless allowed (localserve): offered without -PLUS.
    let mut h = harness(SmtpConfig {
        allow_plain_auth_without_tls: true,
        ..submission(false)
    });
    let ehlo = h.lines("EHLO c.example\n");
    assert!(
        ehlo.ends_with("250 AUTH SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN\r\n"),
        "{ehlo}"
    );
    assert_eq!(
        h.lines(&format!("AUTH PLAIN {}\n", b64("\0tim\0tanstaaftanstaaf"))),
        "235 2.7.0 authentication successful\r\n"
    );
    // Before EHLO, and during a transaction.
    let mut h = harness(submission(true));
    assert_eq!(h.lines("AUTH PLAIN\n"), "503 5.5.1 send EHLO first\r\n");
}

/// The client side of SCRAM-SHA-256 for `user`/`pencil` with the RFC 7677
/// salt: the client-final message for a server-first message.
fn scram_client_final(gs2: &str, cb: &[u8], bare: &str, server_first: &str) -> String {
    let hash = ScramHash::Sha256;
    let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap_or_default();
    let nonce = server_first
        .split(',')
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .unwrap_or_default();
    let mut cbind = gs2.as_bytes().to_vec();
    cbind.extend_from_slice(cb);
    let without_proof = format!("c={},r={nonce}", B64.encode(&cbind));
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let salted = hash.salted_password(b"pencil", &salt, 4096);
    let client_key = hash.hmac(&salted, b"Client Key");
    let signature = hash.hmac(&hash.hash(&client_key), auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    format!("{without_proof},p={}", B64.encode(proof))
}

#[test]
fn scram_sha256_plus_with_tls_exporter() {
    let mut h = harness(submission(true));
    h.ctx.channel_bindings = ChannelBindings {
        tls_exporter: Some(vec![7; 32]),
        tls_server_end_point: None,
    };
    h.lines("EHLO c.example\n");
    let gs2 = "p=tls-exporter,,";
    let bare = "n=user,r=clientnonce";
    let out = h.lines(&format!(
        "AUTH SCRAM-SHA-256-PLUS {}\n",
        b64(&format!("{gs2}{bare}"))
    ));
    let server_first = out
        .strip_prefix("334 ")
        .and_then(|s| s.strip_suffix("\r\n"))
        .and_then(|s| B64.decode(s).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    assert!(
        server_first.starts_with("r=clientnonce%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s="),
        "{out}"
    );
    // Wrong channel-binding data fails...
    let mut bad = harness(submission(true));
    bad.ctx = h.ctx.clone();
    bad.lines("EHLO c.example\n");
    bad.lines(&format!(
        "AUTH SCRAM-SHA-256-PLUS {}\n",
        b64(&format!("{gs2}{bare}"))
    ));
    assert_eq!(
        bad.lines(&format!(
            "{}\n",
            b64(&scram_client_final(gs2, &[8; 32], bare, &server_first))
        )),
        "535 5.7.8 authentication credentials invalid\r\n"
    );
    // ... the right one succeeds, after the server-final message.
    let out = h.lines(&format!(
        "{}\n",
        b64(&scram_client_final(gs2, &[7; 32], bare, &server_first))
    ));
    assert!(out.starts_with("334 "), "{out}");
    assert_eq!(h.lines("\n"), "235 2.7.0 authentication successful\r\n");
    assert_eq!(h.srv.authenticated(), Some("user"));
    assert!(h.events.contains(&SmtpEvent::Auth {
        mechanism: Mechanism::ScramSha256Plus,
        authcid: "user".into(),
        authzid: None
    }));
}

//! `ClientConn` wired to our own `SmtpServer` in memory: delivery with
//! PIPELINING and BDAT, STARTTLS (the handshake simulated), AUTH with
//! SCRAM-SHA-256 (RFC 7677 example), SCRAM-SHA-256-PLUS, CRAM-MD5 (RFC 2195
//! example) and a wrong password. The server's harness stores what it
//! accepts; the stored message must equal the one sent.

#[path = "smtp_util.rs"]
mod server_util;
#[path = "smtp_client_util.rs"]
mod util;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use moxide_proto::conn::Action;
use moxide_proto::sasl::{CramMd5Keys, Mechanism, PasswordSecrets, ScramHash, ScramKeys};
use moxide_proto::secret::Secret;
use moxide_proto::smtp::client::{ClientAuth, RcptResult, Stage, StartTls};
use moxide_proto::smtp::{Reply, SmtpConfig, SmtpEvent};
use server_util::{Harness, mx};
use util::{Client, config, envelope, tls_info};

/// Moves bytes both ways until neither side has more; answers the
/// client's handshake request with `tls_info()` when the server switched
/// to TLS. Returns the client's bytes, in order, as text.
fn run(c: &mut Client, h: &mut Harness) -> String {
    let mut sent = String::new();
    let mut to_client = h.take_output();
    for _ in 0..200 {
        let before = c.actions.len();
        let mut out = c.raw(to_client.as_bytes());
        if c.actions[before..]
            .iter()
            .any(|a| matches!(a, Action::Need(..)))
        {
            assert_eq!(h.actions.last(), Some(&Action::StartTls));
            out.push_str(&c.handshake(Ok(tls_info())));
        }
        sent.push_str(&out);
        if c.closed() {
            return sent;
        }
        to_client = h.input(out.as_bytes());
        if out.is_empty() && to_client.is_empty() {
            break;
        }
    }
    panic!("the conversation did not end: {sent}");
}

#[test]
fn delivers_to_our_server_with_bdat() {
    let mut h = Harness::new(mx());
    let msg = b"From: a@x.example\r\nSubject: t\r\n\r\n.leading dot\r\n..two\r\nend\r\n";
    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x.example", &["b@mx.example", "Green@mx.example"]),
        msg,
    );
    let sent = run(&mut c, &mut h);
    assert_eq!(
        sent,
        format!(
            "EHLO client.example\r\nMAIL FROM:<a@x.example> SIZE={} BODY=7BIT\r\n\
RCPT TO:<b@mx.example>\r\nRCPT TO:<Green@mx.example>\r\nBDAT {} LAST\r\n{}QUIT\r\n",
            msg.len(),
            msg.len(),
            String::from_utf8_lossy(msg)
        )
    );
    assert_eq!(h.messages, vec![msg.to_vec()]);
    let o = c.outcome();
    assert_eq!(o.error, None);
    assert_eq!(
        o.recipients[0].1,
        RcptResult::Delivered(Reply::message_accepted())
    );
    assert_eq!(
        o.recipients[1].1,
        RcptResult::Failed {
            reply: Reply::with(550, (5, 1, 1), "no such user here"),
            permanent: true
        }
    );
}

fn submission_harness(tls_available: bool) -> Harness {
    let mut h = Harness::new(SmtpConfig {
        hostname: "smtp.example".to_string(),
        submission: true,
        tls_available,
        allow_plain_auth_without_tls: !tls_available,
        ..SmtpConfig::default()
    });
    let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
    h.accounts.push((
        "user".to_string(),
        PasswordSecrets {
            scram_sha256: ScramKeys::derive(ScramHash::Sha256, "pencil", &salt, 4096),
            scram_sha1: ScramKeys::derive(ScramHash::Sha1, "pencil", b"salt", 4096),
            cram_md5: CramMd5Keys::derive("pencil"),
        },
    ));
    h.accounts.push((
        "tim".to_string(),
        PasswordSecrets::derive("tanstaaftanstaaf", [1; 16], [2; 16]),
    ));
    h
}

fn auth(user: &str, password: &str, mechanisms: &[Mechanism]) -> ClientAuth {
    ClientAuth {
        username: user.to_string(),
        password: Secret::new(password.to_string()),
        mechanisms: mechanisms.to_vec(),
    }
}

/// A client that authenticates as `user` (`user@smtp.example`, its
/// sender) with `password` by `mechanisms` and sends `x` to b@y.example.
fn auth_client(starttls: StartTls, user: &str, password: &str, mechanisms: &[Mechanism]) -> Client {
    let mut cfg = config(starttls);
    cfg.auth = Some(auth(user, password, mechanisms));
    Client::new(
        cfg,
        envelope(&format!("{user}@smtp.example"), &["b@y.example"]),
        b"x\r\n",
    )
}

fn b64(s: &str) -> String {
    B64.encode(s)
}

#[test]
fn scram_sha256_is_the_rfc_7677_exchange() {
    let mut h = submission_harness(false);
    let mut c = auth_client(StartTls::Opportunistic, "user", "pencil", &Mechanism::ALL);
    let sent = run(&mut c, &mut h);
    // PLAIN and LOGIN are not used without TLS; no -PLUS without TLS.
    let expected_auth = format!(
        "AUTH SCRAM-SHA-256 {}\r\n{}\r\n\r\n",
        b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"),
        b64(
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        )
    );
    assert!(sent.contains(&expected_auth), "{sent}");
    assert!(c.outcome().all_delivered(), "{:?}", c.outcome());
    assert_eq!(h.messages, vec![b"x\r\n".to_vec()]);
    assert!(h.events.iter().any(|e| matches!(
        e,
        SmtpEvent::Auth {
            mechanism: Mechanism::ScramSha256,
            ..
        }
    )));
}

#[test]
fn scram_plus_after_starttls_binds_the_exporter() {
    let mut h = submission_harness(true);
    h.ctx.channel_bindings.tls_exporter = Some(vec![7u8; 32]);
    let mut c = auth_client(StartTls::Required, "user", "pencil", &Mechanism::ALL);
    let sent = run(&mut c, &mut h);
    assert!(sent.starts_with("EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\n"));
    let first = b64("p=tls-exporter,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    assert!(
        sent.contains(&format!("AUTH SCRAM-SHA-256-PLUS {first}\r\n")),
        "{sent}"
    );
    assert!(c.outcome().all_delivered(), "{:?}", c.outcome());
    assert_eq!(c.outcome().tls, Some(tls_info()));

    // A different exporter on the server's side (a man in the middle):
    // the server refuses, the failure is permanent.
    let mut h = submission_harness(true);
    h.ctx.channel_bindings.tls_exporter = Some(vec![8u8; 32]);
    let mut c = auth_client(StartTls::Required, "user", "pencil", &Mechanism::ALL);
    run(&mut c, &mut h);
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Auth, true));
    assert!(h.messages.is_empty());

    // PLAIN over TLS.
    let mut h = submission_harness(true);
    let mut c = auth_client(
        StartTls::Required,
        "tim",
        "tanstaaftanstaaf",
        &[Mechanism::Plain],
    );
    let sent = run(&mut c, &mut h);
    assert!(
        sent.contains(&format!(
            "AUTH PLAIN {}\r\n",
            B64.encode(b"\0tim\0tanstaaftanstaaf")
        )),
        "{sent}"
    );
    assert!(c.outcome().all_delivered());
}

#[test]
fn cram_md5_and_login_and_wrong_password() {
    let mut h = submission_harness(false);
    let mut c = auth_client(
        StartTls::Opportunistic,
        "tim",
        "tanstaaftanstaaf",
        &[Mechanism::CramMd5],
    );
    let sent = run(&mut c, &mut h);
    // RFC 2195 2.
    assert!(
        sent.contains(&format!(
            "AUTH CRAM-MD5\r\n{}\r\n",
            b64("tim b913a602c7eda7a495b4e6e7334d3890")
        )),
        "{sent}"
    );
    assert!(c.outcome().all_delivered());

    // LOGIN needs TLS: without it there is no usable mechanism.
    let mut h = submission_harness(false);
    let mut c = auth_client(
        StartTls::Opportunistic,
        "tim",
        "tanstaaftanstaaf",
        &[Mechanism::Login],
    );
    let sent = run(&mut c, &mut h);
    assert_eq!(sent, "EHLO client.example\r\nQUIT\r\n");
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Auth, false));
    assert!(
        e.detail.contains("PLAIN and LOGIN need TLS"),
        "{}",
        e.detail
    );

    // LOGIN over TLS.
    let mut h = submission_harness(true);
    let mut c = auth_client(
        StartTls::Required,
        "tim",
        "tanstaaftanstaaf",
        &[Mechanism::Login],
    );
    let sent = run(&mut c, &mut h);
    assert!(
        sent.contains(&format!(
            "AUTH LOGIN\r\n{}\r\n{}\r\n",
            b64("tim"),
            b64("tanstaaftanstaaf")
        )),
        "{sent}"
    );
    assert!(c.outcome().all_delivered());

    // A wrong password: 535, permanent, nothing sent.
    let mut h = submission_harness(false);
    let mut c = auth_client(
        StartTls::Opportunistic,
        "user",
        "wrong",
        &[Mechanism::ScramSha1],
    );
    let sent = run(&mut c, &mut h);
    assert!(!sent.contains("MAIL FROM"), "{sent}");
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Auth, true));
    assert_eq!(e.reply.map(|r| r.code), Some(535));
    assert_eq!(c.outcome().recipients[0].1, RcptResult::NotAttempted);
}

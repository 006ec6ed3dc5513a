//! `ClientConn` against scripted server replies: the exact bytes sent for
//! each branch (PIPELINING, lock-step, BDAT, HELO fallback, STARTTLS and
//! its failures, extension checks, per-recipient results, malformed
//! replies, timeouts).

#[path = "smtp_client_util.rs"]
mod util;

use std::time::Duration;

use moxide_proto::conn::{Action, Conn, TlsFailure};
use moxide_proto::smtp::Reply;
use moxide_proto::smtp::client::{Body, RcptResult, Stage, StartTls};
use util::{Client, MESSAGE, config, ehlo, envelope, tls_info};

const MIN: Duration = Duration::from_secs(60);

fn delivered(code: u16, e: (u8, u16, u16), text: &str) -> RcptResult {
    RcptResult::Delivered(Reply::with(code, e, text))
}

#[test]
fn pipelined_data_with_one_recipient_refused() {
    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x.example", &["b@y.example", "c@y.example"]),
        MESSAGE,
    );
    assert_eq!(
        c.server("220 mx.example ESMTP\n"),
        "EHLO client.example\r\n"
    );
    assert_eq!(
        c.server(&ehlo(&[
            "PIPELINING",
            "SIZE 1000",
            "8BITMIME",
            "ENHANCEDSTATUSCODES"
        ])),
        "MAIL FROM:<a@x.example> SIZE=31 BODY=7BIT\r\nRCPT TO:<b@y.example>\r\n\
RCPT TO:<c@y.example>\r\nDATA\r\n"
    );
    // Replies split across reads, one recipient refused.
    assert_eq!(c.server("250 2.1.0 ok\n250 2.1.5 ok\n55"), "");
    assert_eq!(
        c.server("0 5.1.1 no such user\n354 go ahead\n"),
        "Subject: hi\r\n\r\n..dot line\r\nbye\r\n.\r\n"
    );
    assert_eq!(c.server("250 2.0.0 queued as 1\n"), "QUIT\r\n");
    assert!(!c.closed());
    assert_eq!(c.server("221 2.0.0 bye\n"), "");
    let o = c.outcome();
    assert_eq!(o.error, None);
    assert_eq!(
        o.recipients,
        vec![
            (
                "b@y.example".to_string(),
                delivered(250, (2, 0, 0), "queued as 1")
            ),
            (
                "c@y.example".to_string(),
                RcptResult::Failed {
                    reply: Reply::with(550, (5, 1, 1), "no such user"),
                    permanent: true
                }
            ),
        ]
    );
    assert_eq!(o.greeting, Some(Reply::new(220, None, "mx.example ESMTP")));
    assert_eq!(
        o.extensions,
        vec!["PIPELINING", "SIZE 1000", "8BITMIME", "ENHANCEDSTATUSCODES"]
    );
    assert_eq!(o.tls, None);
    // After the close every call is a no-op.
    assert_eq!(c.server("250 more\n"), "");
    assert_eq!(c.actions.len(), 1);
}

#[test]
fn lock_step_without_pipelining_and_452_stops_recipients() {
    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("", &["b@y.example", "c@y.example", "d@y.example"]),
        b"x",
    );
    c.server("220 mx\n");
    assert_eq!(c.server(&ehlo(&[])), "MAIL FROM:<>\r\n");
    assert_eq!(c.server("250 ok\n"), "RCPT TO:<b@y.example>\r\n");
    assert_eq!(c.server("250 ok\n"), "RCPT TO:<c@y.example>\r\n");
    // RFC 5321 4.5.3.1.10: too many recipients; d gets the same answer.
    assert_eq!(c.server("452 4.5.3 too many\n"), "DATA\r\n");
    assert_eq!(c.server("354 go\n"), "x\r\n.\r\n");
    assert_eq!(c.server("250 ok\n"), "QUIT\r\n");
    c.eof();
    let too_many = RcptResult::Failed {
        reply: Reply::with(452, (4, 5, 3), "too many"),
        permanent: false,
    };
    let r = &c.outcome().recipients;
    assert_eq!(r[0].1, RcptResult::Delivered(Reply::new(250, None, "ok")));
    assert_eq!((&r[1].1, &r[2].1), (&too_many, &too_many));
}

#[test]
fn all_recipients_refused_sends_no_data() {
    let mut c = Client::new(
        config(StartTls::Never),
        envelope("a@x", &["b@y", "c@y"]),
        MESSAGE,
    );
    c.server("220 mx\n");
    assert_eq!(c.server(&ehlo(&[])), "MAIL FROM:<a@x>\r\n");
    assert_eq!(c.server("250 ok\n"), "RCPT TO:<b@y>\r\n");
    assert_eq!(c.server("550 no\n"), "RCPT TO:<c@y>\r\n");
    // 552 to RCPT is temporary (RFC 5321 4.5.3.1.10).
    assert_eq!(c.server("552 full\n"), "QUIT\r\n");
    c.server("221 bye\n");
    let o = c.outcome();
    assert_eq!(o.error, None);
    assert_eq!(
        o.recipients[1].1,
        RcptResult::Failed {
            reply: Reply::new(552, None, "full"),
            permanent: false
        }
    );

    // Pipelined: DATA is refused by the server; a 354 gets an empty end.
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), MESSAGE);
    c.server("220 mx\n");
    c.server(&ehlo(&["PIPELINING"]));
    assert_eq!(c.server("250 ok\n550 no\n354 go\n"), ".\r\n");
    assert_eq!(c.server("554 no valid recipients\n"), "QUIT\r\n");
    c.server("221 bye\n");
    assert!(matches!(
        c.outcome().recipients[0].1,
        RcptResult::Failed {
            permanent: true,
            ..
        }
    ));
    assert_eq!(c.outcome().error, None);
}

#[test]
fn mail_refused_pipelined_is_the_transaction_error() {
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), MESSAGE);
    c.server("220 mx\n");
    c.server(&ehlo(&["PIPELINING"]));
    assert_eq!(
        c.server("550 5.7.1 you are blocked\n503 5.5.1 no mail\n503 5.5.1 no rcpt\n"),
        "QUIT\r\n"
    );
    c.server("221 bye\n");
    let o = c.outcome();
    let e = o.error.as_ref().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Mail, true));
    assert_eq!(
        e.reply,
        Some(Reply::with(550, (5, 7, 1), "you are blocked"))
    );
    assert_eq!(o.recipients[0].1, RcptResult::NotAttempted);
}

#[test]
fn bdat_pipelined_when_chunking_offered() {
    let env = envelope("a@x", &["b@y"]);
    let mut c = Client::new(config(StartTls::Never), env, b"line\nbinary\0\r\n");
    c.server("220 mx\n");
    assert_eq!(
        c.server(&ehlo(&["PIPELINING", "CHUNKING", "8BITMIME"])),
        "MAIL FROM:<a@x> BODY=7BIT\r\nRCPT TO:<b@y>\r\nBDAT 14 LAST\r\nline\nbinary\0\r\n"
    );
    assert_eq!(c.server("250 ok\n250 ok\n250 2.0.0 done\n"), "QUIT\r\n");
    c.server("221 bye\n");
    assert_eq!(
        c.outcome().recipients[0].1,
        delivered(250, (2, 0, 0), "done")
    );

    // BINARYMIME needs BINARYMIME and CHUNKING; then BDAT after RCPT.
    let mut env = envelope("a@x", &["b@y"]);
    env.body = Body::BinaryMime;
    let mut c = Client::new(config(StartTls::Never), env, b"\0\xff");
    c.server("220 mx\n");
    assert_eq!(
        c.server(&ehlo(&["CHUNKING", "BINARYMIME"])),
        "MAIL FROM:<a@x> BODY=BINARYMIME\r\n"
    );
    assert_eq!(c.server("250 ok\n"), "RCPT TO:<b@y>\r\n");
    assert_eq!(
        c.server("250 ok\n").as_bytes(),
        b"BDAT 2 LAST\r\n\0\xef\xbf\xbd"
    );
    assert_eq!(c.server("451 4.3.0 try later\n"), "QUIT\r\n");
    c.server("221 bye\n");
    assert_eq!(
        c.outcome().recipients[0].1,
        RcptResult::Failed {
            reply: Reply::with(451, (4, 3, 0), "try later"),
            permanent: false
        }
    );
    assert_eq!(c.outcome().error, None);
}

#[test]
fn helo_fallback_only_on_500_and_502() {
    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x", &["b@y"]),
        b"x",
    );
    c.server("220 old server\n");
    assert_eq!(c.server("502 5.5.1 what\n"), "HELO client.example\r\n");
    assert_eq!(c.server("250 old\n"), "MAIL FROM:<a@x>\r\n");
    assert!(!c.closed());

    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x", &["b@y"]),
        b"x",
    );
    c.server("220 mx\n");
    assert_eq!(c.server("550 5.7.1 go away\n"), "QUIT\r\n");
    c.server("221 bye\n");
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Ehlo, true));

    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x", &["b@y"]),
        b"x",
    );
    c.server("220 mx\n");
    // 421: the server closes; no QUIT.
    assert_eq!(c.server("421 4.3.2 busy\n"), "");
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Ehlo, false));
}

#[test]
fn greeting_554_is_permanent() {
    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x", &["b@y"]),
        b"x",
    );
    assert_eq!(c.server("554 5.7.1 no service\n"), "QUIT\r\n");
    c.server("221 bye\n");
    let o = c.outcome();
    let e = o.error.as_ref().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Greeting, true));
    assert_eq!(o.recipients[0].1, RcptResult::NotAttempted);
}

#[test]
fn starttls_then_ehlo_again() {
    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x", &["b@y"]),
        b"x",
    );
    c.server("220 mx\n");
    assert_eq!(c.server(&ehlo(&["STARTTLS", "PIPELINING"])), "STARTTLS\r\n");
    assert!(c.c.wants_read());
    assert_eq!(c.server("220 2.0.0 go\n"), "");
    let id = c.handshake_id();
    assert!(!c.c.wants_read());
    assert_eq!(id.0, 0);
    assert_eq!(c.handshake(Ok(tls_info())), "EHLO client.example\r\n");
    assert_eq!(
        c.server(&ehlo(&["PIPELINING", "REQUIRETLS"])),
        "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"
    );
    c.server("250 ok\n250 ok\n354 go\n");
    assert_eq!(c.server("250 ok\n"), "QUIT\r\n");
    c.server("221 bye\n");
    let o = c.outcome();
    assert_eq!(o.tls, Some(tls_info()));
    assert_eq!(o.extensions, vec!["PIPELINING", "REQUIRETLS"]);
    assert!(o.all_delivered());
}

#[test]
fn starttls_required_but_not_offered_sends_nothing() {
    let mut c = Client::new(config(StartTls::Required), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    assert_eq!(c.server(&ehlo(&["PIPELINING"])), "QUIT\r\n");
    c.server("221 bye\n");
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::StartTls, false));
    assert_eq!(e.tls_failure.unwrap().result_type, "starttls-not-supported");

    // Refused STARTTLS: Required fails, Opportunistic goes on in plaintext.
    let mut c = Client::new(config(StartTls::Required), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    c.server(&ehlo(&["STARTTLS"]));
    assert_eq!(c.server("454 4.7.0 no tls now\n"), "QUIT\r\n");
    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x", &["b@y"]),
        b"x",
    );
    c.server("220 mx\n");
    c.server(&ehlo(&["STARTTLS"]));
    assert_eq!(c.server("454 4.7.0 no tls now\n"), "MAIL FROM:<a@x>\r\n");
    // Never: not even offered STARTTLS is used.
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    assert_eq!(c.server(&ehlo(&["STARTTLS"])), "MAIL FROM:<a@x>\r\n");
}

#[test]
fn starttls_injection_fails_without_handshake() {
    let mut c = Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x", &["b@y"]),
        b"x",
    );
    c.server("220 mx\n");
    c.server(&ehlo(&["STARTTLS"]));
    assert_eq!(c.server("220 go\n250 injected\n"), "");
    assert_eq!(c.actions, vec![Action::Close]);
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::StartTls, false));
    assert!(e.detail.contains("injection"), "{}", e.detail);
}

#[test]
fn handshake_failure_is_recorded() {
    let mut c = Client::new(config(StartTls::Required), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    c.server(&ehlo(&["STARTTLS"]));
    c.server("220 go\n");
    let failure = TlsFailure {
        result_type: "certificate-not-trusted".into(),
        detail: "unknown issuer".into(),
    };
    assert_eq!(c.handshake(Err(failure.clone())), "");
    assert!(c.closed());
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Tls, false));
    assert_eq!(e.tls_failure, Some(failure));
    assert_eq!(c.outcome().tls, None);
}

#[test]
fn implicit_tls_handshakes_before_the_greeting() {
    let mut cfg = config(StartTls::Never);
    cfg.implicit_tls = true;
    let mut c = Client::new(cfg, envelope("a@x", &["b@y"]), b"x");
    c.handshake_id();
    assert_eq!(c.c.poll_timeout(), None);
    assert_eq!(c.handshake(Ok(tls_info())), "");
    assert_eq!(c.server("220 mx\n"), "EHLO client.example\r\n");
    // No STARTTLS inside TLS.
    assert_eq!(c.server(&ehlo(&["STARTTLS"])), "MAIL FROM:<a@x>\r\n");
}

#[test]
fn size_limit_and_required_extensions_fail_before_mail() {
    let check = |ext: &[&str],
                 env_change: &dyn Fn(&mut moxide_proto::smtp::client::Envelope),
                 code: u16,
                 e: (u8, u16, u16)| {
        let mut env = envelope("a@x", &["b@y"]);
        env_change(&mut env);
        let mut c = Client::new(config(StartTls::Never), env, MESSAGE);
        c.server("220 mx\n");
        assert_eq!(c.server(&ehlo(ext)), "QUIT\r\n", "{ext:?}");
        c.server("221 bye\n");
        let err = c.outcome().error.clone().unwrap();
        assert_eq!((err.stage, err.permanent), (Stage::Mail, true));
        let reply = err.reply.unwrap();
        assert_eq!((reply.code, reply.enhanced), (code, Some(e)), "{ext:?}");
        assert!(reply.lines[0].starts_with("local: "));
        assert_eq!(c.outcome().recipients[0].1, RcptResult::NotAttempted);
    };
    check(&["SIZE 10"], &|_| {}, 552, (5, 3, 4));
    check(&["SIZE 30"], &|_| {}, 552, (5, 3, 4));
    check(&[], &|e| e.body = Body::EightBitMime, 554, (5, 6, 3));
    check(
        &["CHUNKING"],
        &|e| e.body = Body::BinaryMime,
        554,
        (5, 6, 3),
    );
    check(&[], &|e| e.smtputf8 = true, 554, (5, 6, 7));
    check(
        &["8BITMIME"],
        &|e| e.recipients = vec!["jöran@y".into()],
        554,
        (5, 6, 7),
    );
    check(&["REQUIRETLS"], &|e| e.requiretls = true, 550, (5, 7, 30));

    // SIZE 0 is no limit; the limit itself is fine.
    for ext in [["SIZE 0"], ["SIZE 31"]] {
        let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), MESSAGE);
        c.server("220 mx\n");
        assert_eq!(c.server(&ehlo(&ext)), "MAIL FROM:<a@x> SIZE=31\r\n");
    }
    // UTF-8 addresses with SMTPUTF8 offered.
    let env = envelope("jöran@x", &["b@y"]);
    let mut c = Client::new(config(StartTls::Never), env, b"x");
    c.server("220 mx\n");
    assert_eq!(
        c.server(&ehlo(&["SMTPUTF8", "8BITMIME"])),
        "MAIL FROM:<jöran@x> BODY=7BIT SMTPUTF8\r\n"
    );
}

#[test]
fn requiretls_over_tls() {
    let mut env = envelope("a@x", &["b@y"]);
    env.requiretls = true;
    env.body = Body::EightBitMime;
    let mut c = Client::new(config(StartTls::Required), env, b"\xc3\xa9");
    c.server("220 mx\n");
    c.server(&ehlo(&["STARTTLS"]));
    c.server("220 go\n");
    c.handshake(Ok(tls_info()));
    assert_eq!(
        c.server(&ehlo(&["8BITMIME", "REQUIRETLS"])),
        "MAIL FROM:<a@x> BODY=8BITMIME REQUIRETLS\r\n"
    );
}

#[test]
fn bad_addresses_are_never_sent() {
    let env = envelope("a@x", &["b@y\r\nRSET", "ok@y"]);
    let mut c = Client::new(config(StartTls::Never), env, b"x");
    c.server("220 mx\n");
    assert_eq!(
        c.server(&ehlo(&["PIPELINING"])),
        "MAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nDATA\r\n"
    );
    c.server("250 ok\n250 ok\n354 go\n");
    c.server("250 ok\n");
    c.server("221 bye\n");
    let r = &c.outcome().recipients;
    match &r[0].1 {
        RcptResult::Failed { reply, permanent } => {
            assert!(*permanent);
            assert_eq!((reply.code, reply.enhanced), (553, Some((5, 1, 3))));
            assert!(reply.lines[0].contains("\\r\\nRSET"), "{reply:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(r[1].1, RcptResult::Delivered(_)));

    let env = envelope("a b@x", &["ok@y"]);
    let mut c = Client::new(config(StartTls::Never), env, b"x");
    c.server("220 mx\n");
    assert_eq!(c.server(&ehlo(&[])), "QUIT\r\n");
    c.server("221 bye\n");
    let e = c.outcome().error.clone().unwrap();
    assert_eq!(e.reply.unwrap().enhanced, Some((5, 1, 7)));
}

#[test]
fn malformed_replies_end_the_attempt() {
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    assert_eq!(
        c.raw(b"220 mx\r\nHTTP/1.1 400 Bad\x00\r\n"),
        "EHLO client.example\r\n"
    );
    assert!(c.closed());
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Ehlo, false));
    assert_eq!(
        e.detail,
        "protocol error: malformed reply line \"HTTP/1.1 400 Bad\\x00\""
    );

    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    c.raw(&b"250-x\r\n".repeat(129));
    let e = c.outcome().error.clone().unwrap();
    assert_eq!(e.detail, "protocol error: reply of more than 128 lines");

    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.raw(&[b'2'; 2001]);
    let e = c.outcome().error.clone().unwrap();
    assert_eq!(
        (e.stage, e.detail.as_str()),
        (
            Stage::Greeting,
            "protocol error: reply line longer than 2000 octets"
        )
    );
}

#[test]
fn eof_and_unexpected_replies() {
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    c.server(&ehlo(&["PIPELINING"]));
    c.server("250 ok\n25");
    assert_eq!(c.eof(), "");
    let o = c.outcome();
    let e = o.error.as_ref().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Rcpt, false));
    assert_eq!(e.detail, "the server closed the connection");
    assert_eq!(o.recipients[0].1, RcptResult::NotAttempted);

    // A reply while the message data is still going out is read once all
    // of it went out (a server answers the data after it).
    let big = vec![b'a'; 3 * 64 * 1024];
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), &big);
    c.server("220 mx\n");
    c.server(&ehlo(&[]));
    c.server("250 ok\n");
    c.server("250 ok\n");
    c.c.handle_input(c.now, b"354 go\r\n");
    let mut first = Vec::new();
    c.c.poll_transmit(&mut first);
    assert_eq!(first.len(), 64 * 1024);
    c.c.handle_input(c.now, b"554 5.6.0 stop\r\n");
    assert!(!c.c.wants_read());
    let rest = c.drain();
    assert_eq!(rest.len(), 2 * 64 * 1024 + 2 + 3 + 6);
    assert!(rest.ends_with("aaa\r\n.\r\nQUIT\r\n"));
    c.server("221 bye\n");
    assert_eq!(
        c.outcome().recipients[0].1,
        RcptResult::Failed {
            reply: Reply::with(554, (5, 6, 0), "stop"),
            permanent: true
        }
    );
}

#[test]
fn timeouts_follow_rfc_5321() {
    // Greeting: 5 minutes.
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.advance(5 * MIN - Duration::from_secs(1));
    assert!(!c.closed());
    c.advance(Duration::from_secs(1));
    let e = c.outcome().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Greeting, false));
    assert!(e.detail.starts_with("timeout"), "{}", e.detail);

    // DATA initiation: 2 minutes.
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    c.server(&ehlo(&[]));
    c.server("250 ok\n");
    assert_eq!(c.server("250 ok\n"), "DATA\r\n");
    c.advance(2 * MIN - Duration::from_secs(1));
    assert!(!c.closed());
    c.advance(Duration::from_secs(1));
    assert_eq!(c.outcome().error.clone().unwrap().stage, Stage::Data);

    // DATA end: 10 minutes after the last data went out (armed by the
    // next event that brings the time: at most a data block later).
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    c.server(&ehlo(&[]));
    c.server("250 ok\n");
    c.server("250 ok\n");
    assert_eq!(c.server("354 go\n"), "x\r\n.\r\n");
    c.advance(3 * MIN);
    assert!(!c.closed());
    c.advance(10 * MIN - Duration::from_secs(1));
    assert!(!c.closed());
    c.advance(Duration::from_secs(1));
    assert_eq!(c.outcome().error.clone().unwrap().stage, Stage::DataEnd);

    // QUIT is not waited for long, and the message stays delivered.
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.server("220 mx\n");
    c.server(&ehlo(&[]));
    c.server("250 ok\n");
    c.server("250 ok\n");
    c.server("354 go\n");
    assert_eq!(c.server("250 ok\n"), "QUIT\r\n");
    c.advance(Duration::from_secs(10));
    assert!(c.outcome().all_delivered());
}

#[test]
fn connect_failure_gives_an_outcome() {
    let mut c = Client::new(config(StartTls::Never), envelope("a@x", &["b@y"]), b"x");
    c.c.connect_failed("connection refused");
    c.drain();
    let o = c.outcome();
    let e = o.error.as_ref().unwrap();
    assert_eq!(
        (e.stage, e.permanent, e.detail.as_str()),
        (Stage::Connect, false, "connection refused")
    );
    assert_eq!(o.recipients[0].1, RcptResult::NotAttempted);
}

//! SMTP server error paths as transcripts: sequence and syntax errors,
//! limits (line length, SIZE declared and actual, recipients), unknown
//! commands, the error limit, SMTP smuggling attempts and BDAT failures.

#[path = "smtp_util.rs"]
mod util;

use moxide_proto::conn::Action;
use moxide_proto::smtp::{AbortReason, SmtpConfig, SmtpEvent};
use util::{Harness, mx};

fn ready(cfg: SmtpConfig) -> Harness {
    let mut h = Harness::new(cfg);
    h.lines("EHLO client.example\n");
    h
}

fn in_transaction(cfg: SmtpConfig) -> Harness {
    let mut h = ready(cfg);
    h.lines("MAIL FROM:<a@client.example>\nRCPT TO:<b@mx.example>\n");
    h
}

#[test]
fn sequence_errors() {
    let mut h = Harness::new(mx());
    h.transcript(
        "S: 220 mx.example ESMTP moxide
         C: MAIL FROM:<a@b>
         S: 503 5.5.1 send EHLO or HELO first
         C: DATA
         S: 503 5.5.1 need MAIL before DATA",
    );
    let mut h = ready(mx());
    assert_eq!(
        h.input(
            b"RCPT TO:<a@b>\r\nDATA\r\nBDAT 3 LAST\r\nabcMAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nDATA\r\nBDAT 1\r\nxRCPT TO:<c@d>\r\nBDAT 1 LAST\r\ny"
        ),
        "503 5.5.1 need MAIL before RCPT\r\n503 5.5.1 need MAIL before DATA\r\n\
         503 5.5.1 need MAIL before BDAT\r\n250 2.1.0 sender ok\r\n503 5.5.1 nested MAIL command\r\n\
         554 5.5.1 no valid recipients\r\n554 5.5.1 no valid recipients\r\n\
         503 5.5.1 need MAIL before RCPT\r\n503 5.5.1 need MAIL before BDAT\r\n"
    );
    assert_eq!(h.srv.error_count(), 8);
    assert!(h.messages.is_empty());
}

#[test]
fn syntax_errors_per_parameter() {
    let mut h = ready(mx());
    for (cmd, reply) in [
        ("MAIL FROM:a@b", "501 5.5.4 < expected before the address"),
        ("MAIL FROM:<a@b", "501 5.5.4 > expected after the address"),
        ("MAIL TO:<a@b>", "501 5.5.4 expected FROM:<address>"),
        ("MAIL FROM:<a@b> SIZE=ten", "501 5.5.4 invalid SIZE"),
        ("MAIL FROM:<a@b> SIZE", "501 5.5.4 parameter value expected"),
        ("MAIL FROM:<a@b> BODY=9BIT", "501 5.5.4 invalid BODY"),
        (
            "MAIL FROM:<a@b> SMTPUTF8=yes",
            "501 5.5.4 parameter takes no value",
        ),
        (
            "MAIL FROM:<a@b> REQUIRETLS=1",
            "501 5.5.4 parameter takes no value",
        ),
        ("MAIL FROM:<a@b> AUTH=a+zz", "501 5.5.4 invalid AUTH"),
        ("MAIL FROM:<a@b> RET=BODY", "501 5.5.4 invalid RET"),
        ("MAIL FROM:<a@b> ENVID=a=b", "501 5.5.4 invalid parameter"),
        (
            "MAIL FROM:<a@b> BODY=7BIT BODY=7BIT",
            "501 5.5.4 duplicate parameter",
        ),
        (
            "MAIL FROM:<a@b> XFOO=1",
            "555 5.5.4 unsupported parameter XFOO",
        ),
        (
            "MAIL FROM:<jörg@b>",
            "553 5.6.7 non-ASCII address requires the SMTPUTF8 parameter",
        ),
        ("EHLO", "501 5.5.4 domain expected"),
        ("HELO a b", "501 5.5.4 unexpected text after the domain"),
        ("RSET now", "501 5.5.4 no arguments allowed"),
        ("QUIT now", "501 5.5.4 no arguments allowed"),
        ("VRFY", "501 5.5.4 argument expected"),
    ] {
        assert_eq!(
            h.lines(&format!("{cmd}\n")),
            format!("{reply}\r\n"),
            "{cmd}"
        );
        // Reset the error counter's effect: a new connection every 9.
        if h.srv.error_count() >= 9 {
            h = ready(mx());
        }
    }
    let mut h = in_transaction(mx());
    for (cmd, reply) in [
        ("RCPT TO:c@d", "501 5.5.4 < expected before the address"),
        ("RCPT TO:<>", "501 5.5.4 invalid local part"),
        ("RCPT FROM:<c@d>", "501 5.5.4 expected TO:<address>"),
        ("RCPT TO:<c@d> NOTIFY=ALWAYS", "501 5.5.4 invalid NOTIFY"),
        ("RCPT TO:<c@d> ORCPT=x", "501 5.5.4 invalid ORCPT"),
        (
            "RCPT TO:<c@d> SIZE=1",
            "555 5.5.4 unsupported parameter SIZE",
        ),
        (
            "RCPT TO:<jörg@d>",
            "553 5.6.7 non-ASCII address requires the SMTPUTF8 parameter",
        ),
        ("DATA now", "501 5.5.4 no arguments allowed"),
    ] {
        assert_eq!(
            h.lines(&format!("{cmd}\n")),
            format!("{reply}\r\n"),
            "{cmd}"
        );
    }
}

#[test]
fn unknown_commands_and_the_error_limit() {
    let mut h = ready(mx());
    for _ in 0..9 {
        assert_eq!(h.lines("XYZZY\n"), "500 5.5.1 unknown command\r\n");
    }
    assert!(h.actions.is_empty());
    assert_eq!(
        h.lines("TURN\nNOOP\n"),
        "500 5.5.1 unknown command\r\n421 4.7.0 mx.example too many errors, closing\r\n"
    );
    assert_eq!(h.actions, vec![Action::Close]);
    assert_eq!(h.lines("NOOP\n"), "");
}

#[test]
fn line_too_long() {
    let mut h = ready(mx());
    // 998 octets plus CRLF: allowed.
    let ok = format!("NOOP {}\r\n", "x".repeat(993));
    assert_eq!(ok.len(), 1000);
    assert_eq!(h.input(ok.as_bytes()), "250 2.0.0 ok\r\n");
    let long = format!("NOOP {}\r\n", "x".repeat(994));
    assert_eq!(h.input(long.as_bytes()), "500 5.5.2 line too long\r\n");
    // Arriving in pieces, without an LF for a long time: refused once,
    // the rest of the line is dropped, the next command runs.
    assert_eq!(h.input(&[b'A'; 1500]), "500 5.5.2 line too long\r\n");
    assert_eq!(h.input(&[b'B'; 5000]), "");
    assert_eq!(
        h.input(b"still the long line\r\nNOOP\r\n"),
        "250 2.0.0 ok\r\n"
    );
    assert_eq!(h.srv.error_count(), 2);
    assert!(h.srv.buffer_capacity() < 16 * 1024);
}

#[test]
fn bare_cr_and_lf_in_commands() {
    let mut h = ready(mx());
    assert_eq!(
        h.input(b"NOOP\nNOOP\rX\r\nNOOP\r\n"),
        "500 5.5.2 bare CR or LF not allowed, lines end with CRLF\r\n\
         500 5.5.2 bare CR or LF not allowed, lines end with CRLF\r\n250 2.0.0 ok\r\n"
    );
}

#[test]
fn size_declared_and_actual() {
    let cfg = SmtpConfig {
        max_message_size: 100,
        ..mx()
    };
    let mut h = ready(cfg.clone());
    assert_eq!(
        h.lines("MAIL FROM:<a@b> SIZE=101\n"),
        "552 5.3.4 message too big\r\n"
    );
    assert_eq!(
        h.lines("MAIL FROM:<a@b> SIZE=100\n"),
        "250 2.1.0 sender ok\r\n"
    );
    h.lines("RCPT TO:<c@d>\nDATA\n");
    // 552 only after the data is read to its end; nothing after it is
    // taken for a command.
    let body = format!("{}\r\nMAIL FROM:<x@y>\r\n", "z".repeat(200));
    assert_eq!(h.input(body.as_bytes()), "");
    assert_eq!(
        h.lines(".\nNOOP\n"),
        "552 5.3.4 message too big\r\n250 2.0.0 ok\r\n"
    );
    assert!(h.messages.is_empty());
    assert!(
        h.events
            .contains(&SmtpEvent::DataAborted(AbortReason::TooBig))
    );
    // At most the limit was handed out before the abort.
    let delivered: usize = h
        .srv
        .config()
        .max_message_size
        .try_into()
        .unwrap_or(usize::MAX);
    assert!(h.events.iter().all(|e| match e {
        SmtpEvent::DataChunk(d) => d.len() <= delivered,
        _ => true,
    }));
    // Exactly the limit is fine (98 octets + CRLF counted after unstuffing).
    let mut h = in_transaction(cfg.clone());
    h.lines("DATA\n");
    let exact = format!("..{}\r\n.\r\n", "q".repeat(97));
    assert_eq!(h.input(exact.as_bytes()), "250 2.0.0 message accepted\r\n");
    assert_eq!(h.messages[0].len(), 100);
    // BDAT: the chunk is read, then 552; the transaction is over.
    let mut h = in_transaction(cfg);
    let mut input = b"BDAT 60\r\n".to_vec();
    input.extend_from_slice(&[b'a'; 60]);
    input.extend_from_slice(b"BDAT 41 LAST\r\n");
    input.extend_from_slice(&[b'b'; 41]);
    input.extend_from_slice(b"BDAT 1 LAST\r\nc");
    assert_eq!(
        h.input(&input),
        "250 2.0.0 60 octets received\r\n552 5.3.4 message too big\r\n\
         503 5.5.1 need MAIL before BDAT\r\n"
    );
    assert!(h.messages.is_empty());
    assert!(
        h.events
            .contains(&SmtpEvent::DataAborted(AbortReason::TooBig))
    );
}

#[test]
fn too_many_recipients() {
    let cfg = SmtpConfig {
        max_recipients: 2,
        ..mx()
    };
    let mut h = ready(cfg);
    h.lines("EHLO x\n");
    assert_eq!(
        h.lines(
            "MAIL FROM:<a@b>\nRCPT TO:<1@d>\nRCPT TO:<Green@d>\nRCPT TO:<2@d>\nRCPT TO:<3@d>\n"
        ),
        "250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n550 5.1.1 no such user here\r\n\
         250 2.1.5 recipient ok\r\n452 4.5.3 too many recipients\r\n"
    );
    assert_eq!(h.srv.error_count(), 0);
}

/// Sends a message whose body holds `seq`, then a smuggled second
/// message, then a proper end.
fn smuggle(seq: &[u8]) -> (Harness, String) {
    let mut h = in_transaction(mx());
    h.lines("DATA\n");
    let mut input = b"Subject: one\r\n\r\nhi".to_vec();
    input.extend_from_slice(seq);
    input.extend_from_slice(b"MAIL FROM:<evil@x>\r\nRCPT TO:<victim@mx.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nboo\r\n.\r\n");
    let out = h.input(&input);
    (h, out)
}

#[test]
fn smuggling_attempts_never_make_a_second_message() {
    for seq in [
        &b"\n.\n"[..],
        b"\r.\r",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r\n.\r\r\n",
        b"\r\n\x00.\r\n",
    ] {
        let (h, out) = smuggle(seq);
        let second = h
            .events
            .iter()
            .filter(|e| matches!(e, SmtpEvent::MailFrom { .. }))
            .count();
        assert_eq!(second, 1, "{seq:?}: a second MAIL was seen");
        if seq == b"\r\n\x00.\r\n" {
            // No bare CR/LF: one message, with the would-be commands inside.
            assert_eq!(out, "250 2.0.0 message accepted\r\n");
            assert_eq!(h.messages.len(), 1);
            let m = String::from_utf8_lossy(&h.messages[0]).into_owned();
            assert!(m.contains("MAIL FROM:<evil@x>\r\n"), "{m}");
        } else {
            assert_eq!(
                out,
                "500 5.5.2 bare CR or LF in message data, message refused (possible SMTP smuggling)\r\n",
                "{seq:?}"
            );
            assert!(h.messages.is_empty(), "{seq:?}");
            assert!(
                h.events
                    .contains(&SmtpEvent::DataAborted(AbortReason::BareLineEnding))
            );
        }
    }
}

#[test]
fn bdat_after_errors_and_rejections() {
    // BDAT after a refused DATA: the transaction ended, so the chunk is
    // read and refused; no bytes are taken for commands.
    let mut h = ready(mx());
    h.lines("MAIL FROM:<a@b>\nRCPT TO:<Green@d>\n");
    assert_eq!(
        h.input(b"DATA\r\nBDAT 11 LAST\r\nQUIT\r\nXXX\r\nNOOP\r\n"),
        "554 5.5.1 no valid recipients\r\n554 5.5.1 no valid recipients\r\n250 2.0.0 ok\r\n"
    );
    // Unreadable BDAT sizes close the connection: the chunk cannot be found.
    let mut h = in_transaction(mx());
    assert_eq!(h.lines("BDAT 1\nx"), "250 2.0.0 1 octets received\r\n");
    assert_eq!(
        h.lines("BDAT x\n"),
        "501 5.5.4 invalid BDAT command\r\n421 4.5.0 mx.example cannot continue, closing\r\n"
    );
    assert_eq!(h.actions, vec![Action::Close]);
    assert_eq!(
        h.events.last(),
        Some(&SmtpEvent::DataAborted(AbortReason::ProtocolError))
    );
}

#[test]
fn submission_requires_auth_and_tls() {
    let sub = SmtpConfig {
        submission: true,
        tls_available: true,
        ..mx()
    };
    let mut h = ready(sub.clone());
    assert_eq!(
        h.lines("MAIL FROM:<a@b>\n"),
        "530 5.7.0 authentication required\r\n"
    );
    assert_eq!(
        h.lines("AUTH PLAIN AGEAYg==\n"),
        "538 5.7.11 encryption required for requested authentication mechanism\r\n"
    );
    let mut h = ready(SmtpConfig { tls: true, ..sub });
    assert_eq!(
        h.lines("AUTH DIGEST-MD5\n"),
        "504 5.5.4 authentication mechanism not supported\r\n"
    );
    // -PLUS only with channel binding.
    let mut h = ready(SmtpConfig {
        tls: true,
        submission: true,
        channel_binding: false,
        ..mx()
    });
    assert_eq!(
        h.lines("AUTH SCRAM-SHA-256-PLUS\n"),
        "504 5.5.4 authentication mechanism not supported\r\n"
    );
}

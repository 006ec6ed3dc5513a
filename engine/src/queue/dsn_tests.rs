use super::*;

const ORIGINAL: &[u8] = b"Received: from x\r\n\tby y\r\nFrom: <a@a.test>\r\nTo: <x@b.test>\r\nSubject: hello\r\nMessage-ID: <m1@a.test>\r\n\r\nbody --dsn-b\r\n";

fn rcpts() -> Vec<DsnRecipient> {
    vec![DsnRecipient {
        address: "x@b.test".into(),
        status: "5.1.1".into(),
        detail: "no such user".into(),
        remote_mta: Some("mx.b.test".into()),
        diagnostic: Some("550 5.1.1 no such user".into()),
        last_attempt: Some(1_704_164_645),
        will_retry_until: None,
    }]
}

/// Known answer: the failure DSN, byte for byte (RFC 3464 fields in
/// order, RFC 6522 parts, the original header without its body). The
/// boundary given occurs in the original's body, which is not included,
/// so it stays as it is.
#[test]
fn failure_dsn_bytes() {
    let r = rcpts();
    let dsn = Dsn {
        kind: DsnKind::Failed,
        hostname: "mail.a.test",
        to: "a@a.test",
        message_id: "dsn-failed-1-1704164700@mail.a.test",
        date: 1_704_164_700,
        arrival: 1_704_164_000,
        smtputf8: false,
        recipients: &r,
        original: Some(ORIGINAL),
        boundary: "dsn-b",
    };
    let want = "From: <postmaster@mail.a.test>\r\n\
To: <a@a.test>\r\n\
Subject: mail delivery failed\r\n\
Message-ID: <dsn-failed-1-1704164700@mail.a.test>\r\n\
References: <m1@a.test>\r\n\
Date: Tue, 02 Jan 2024 03:05:00 +0000\r\n\
Auto-Submitted: auto-replied (failed)\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"dsn-b\"\r\n\
\r\n\
This is a MIME-formatted delivery status notification.\r\n\
\r\n\
--dsn-b\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
Your message could not be delivered to the following recipients.\r\n\
Delivery has stopped for them; the details are below.\r\n\
\r\n\
<x@b.test>: no such user\r\n\
\r\n\
The header of your message is attached.\r\n\
\r\n\
--dsn-b\r\n\
Content-Type: message/delivery-status\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
Reporting-MTA: dns; mail.a.test\r\n\
Arrival-Date: Tue, 02 Jan 2024 02:53:20 +0000\r\n\
\r\n\
Final-Recipient: rfc822; x@b.test\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Remote-MTA: dns; mx.b.test\r\n\
Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\
Last-Attempt-Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n\
\r\n\
--dsn-b\r\n\
Content-Type: text/rfc822-headers\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
Received: from x\r\n\
\tby y\r\n\
From: <a@a.test>\r\n\
To: <x@b.test>\r\n\
Subject: hello\r\n\
Message-ID: <m1@a.test>\r\n\
\r\n\
--dsn-b--\r\n";
    assert_eq!(String::from_utf8(dsn.compose()).unwrap(), want);
}

/// The delay DSN says until when delivery is retried; a boundary that
/// occurs in the content is extended.
#[test]
fn delay_dsn_fields_and_boundary_collision() {
    let mut r = rcpts();
    r[0].status = "4.4.1".into();
    r[0].detail = "connection refused".into();
    r[0].remote_mta = None;
    r[0].diagnostic = None;
    r[0].will_retry_until = Some(1_704_596_000);
    let original = b"Subject: about --dsn-b\r\n\r\nx\r\n";
    let dsn = Dsn {
        kind: DsnKind::Delayed,
        hostname: "mail.a.test",
        to: "a@a.test",
        message_id: "d1@mail.a.test",
        date: 1_704_164_700,
        arrival: 1_704_164_000,
        smtputf8: false,
        recipients: &r,
        original: Some(original),
        boundary: "dsn-b",
    };
    let s = String::from_utf8(dsn.compose()).unwrap();
    assert!(s.contains("boundary=\"dsn-bx\"\r\n"), "{s}");
    assert!(s.contains("\r\n--dsn-bx\r\nContent-Type: message/delivery-status\r\n"));
    assert!(s.ends_with("\r\n--dsn-bx--\r\n"));
    assert!(s.contains("Subject: mail delivery delayed\r\n"));
    assert!(
        s.contains("If it still fails, delivery stops at Sun, 07 Jan 2024 02:53:20 +0000.\r\n")
    );
    assert!(s.contains(
        "\r\nFinal-Recipient: rfc822; x@b.test\r\nAction: delayed\r\nStatus: 4.4.1\r\nLast-Attempt-Date: Tue, 02 Jan 2024 03:04:05 +0000\r\nWill-Retry-Until: Sun, 07 Jan 2024 02:53:20 +0000\r\n"
    ));
    assert!(!s.contains("Remote-MTA"));
    assert!(!s.contains("References"));
}

/// SMTPUTF8: RFC 6533 media types, utf-8 address type, UTF-8 kept; for a
/// non-UTF-8 DSN, 8-bit text and header bytes become `?` and line breaks
/// in remote text cannot inject fields.
#[test]
fn utf8_and_ascii_variants() {
    let mut r = rcpts();
    r[0].address = "jöran@b.test".into();
    r[0].diagnostic = Some("550 5.1.1 nö\r\nInjected: yes".into());
    let original = "Subject: grüße\r\n\r\nx\r\n".as_bytes();
    let mut dsn = Dsn {
        kind: DsnKind::Failed,
        hostname: "mail.a.test",
        to: "a@a.test",
        message_id: "d2@mail.a.test",
        date: 1_704_164_700,
        arrival: 1_704_164_000,
        smtputf8: true,
        recipients: &r,
        original: Some(original),
        boundary: "b",
    };
    let s = String::from_utf8(dsn.compose()).unwrap();
    assert!(s.contains(
        "Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n"
    ));
    assert!(s.contains("Content-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: grüße\r\n"));
    assert!(s.contains("Final-Recipient: utf-8; jöran@b.test\r\n"));
    assert!(s.contains("Diagnostic-Code: smtp; 550 5.1.1 nö  Injected: yes\r\n"));
    assert!(s.contains("Content-Type: text/plain; charset=utf-8\r\n"));

    dsn.smtputf8 = false;
    let s = String::from_utf8(dsn.compose()).unwrap();
    assert!(s.is_ascii());
    assert!(s.contains("Final-Recipient: rfc822; j?ran@b.test\r\n"));
    assert!(s.contains("Diagnostic-Code: smtp; 550 5.1.1 n?  Injected: yes\r\n"));
    assert!(s.contains("Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 7bit\r\n\r\nSubject: gr????e\r\n"));
}

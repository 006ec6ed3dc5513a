//! SMTP server sessions as transcripts: the RFC 5321 D.1 scenario, every
//! command, PIPELINING, BDAT (RFC 3030 examples), STARTTLS (RFC 3207) and
//! the end of a connection mid-DATA.

#[path = "smtp_util.rs"]
mod util;

use std::time::Duration;

use moxide_proto::conn::{Action, Conn};
use moxide_proto::smtp::{
    AbortReason, Awaiting, Body, ForwardPath, Host, MailParams, Mailbox, Reply, SmtpConfig,
    SmtpEvent,
};
use util::{Harness, ehlo_25, mx};

fn mailbox(local: &str, domain: &str) -> Mailbox {
    Mailbox {
        local_part: local.into(),
        host: Host::Domain(domain.into()),
    }
}

#[test]
fn rfc5321_d1_typical_transaction() {
    let mut h = Harness::new(mx());
    h.transcript(&format!(
        "S: 220 mx.example ESMTP moxide
         C: EHLO bar.com
         {}
         C: MAIL FROM:<Smith@bar.com>
         S: 250 2.1.0 sender ok
         C: RCPT TO:<Jones@foo.com>
         S: 250 2.1.5 recipient ok
         C: RCPT TO:<Green@foo.com>
         S: 550 5.1.1 no such user here
         C: RCPT TO:<Brown@foo.com>
         S: 250 2.1.5 recipient ok
         C: DATA
         S: 354 end data with <CR><LF>.<CR><LF>
         C: Blah blah blah...
         C: ...etc. etc. etc.
         C: .
         S: 250 2.0.0 message accepted
         C: QUIT
         S: 221 2.0.0 bye",
        ehlo_25(&[])
    ));
    assert_eq!(
        h.messages,
        vec![b"Blah blah blah...\r\n..etc. etc. etc.\r\n".to_vec()]
    );
    assert_eq!(h.actions, vec![Action::Close]);
    assert_eq!(
        h.events.first(),
        Some(&SmtpEvent::Ehlo {
            name: Host::Domain("bar.com".into()),
            extended: true
        })
    );
    assert_eq!(
        h.events.get(1),
        Some(&SmtpEvent::MailFrom {
            from: Some(mailbox("Smith", "bar.com")),
            params: MailParams::default()
        })
    );
    assert_eq!(h.events.last(), Some(&SmtpEvent::Quit));
    // After QUIT every call is a no-op.
    assert_eq!(h.lines("NOOP\n"), "");
    assert!(!h.srv.wants_read());
    assert_eq!(h.srv.poll_timeout(), None);
}

#[test]
fn every_simple_command() {
    let mut h = Harness::new(mx());
    h.transcript(
        "S: 220 mx.example ESMTP moxide
         C: HELO client.example
         S: 250 mx.example
         C: NOOP
         S: 250 2.0.0 ok
         C: noop with text
         S: 250 2.0.0 ok
         C: VRFY bob
         S: 252 2.1.5 cannot verify user, but will accept message and attempt delivery
         C: EXPN staff
         S: 502 5.5.1 EXPN not implemented
         C: RSET
         S: 250 2.0.0 ok
         C: MAIL FROM:<>
         S: 250 2.1.0 sender ok
         C: RCPT TO:<postmaster>
         S: 250 2.1.5 recipient ok
         C: RSET
         S: 250 2.0.0 ok
         C: RCPT TO:<a@b>
         S: 503 5.5.1 need MAIL before RCPT
         C: STARTTLS
         S: 502 5.5.1 STARTTLS not available
         C: AUTH PLAIN
         S: 503 5.5.1 authentication only allowed on submission ports
         C: QUIT
         S: 221 2.0.0 bye",
    );
    assert!(h.events.contains(&SmtpEvent::Reset));
    assert!(h.events.contains(&SmtpEvent::RcptTo {
        to: ForwardPath::Postmaster,
        params: Default::default()
    }));
    assert_eq!(h.srv.error_count(), 3);
}

#[test]
fn pipelined_batch_replies_in_order() {
    let mut h = Harness::new(mx());
    h.take_output();
    // RFC 2920 3.1: the whole batch in one write; replies come in order.
    let out = h.lines(
        "EHLO c.example\nMAIL FROM:<a@c.example> BODY=8BITMIME SIZE=40\n\
         RCPT TO:<x@mx.example>\nRCPT TO:<Green@mx.example>\nRCPT TO:<y@mx.example>\nDATA\n",
    );
    let expected = format!(
        "{}250 2.1.0 sender ok\n250 2.1.5 recipient ok\n550 5.1.1 no such user here\n\
         250 2.1.5 recipient ok\n354 end data with <CR><LF>.<CR><LF>\n",
        ehlo_25(&[]).replace("S: ", "")
    )
    .replace('\n', "\r\n");
    assert_eq!(out, expected);
    assert_eq!(
        h.lines("Subject: x\n\nhello\n.\nMAIL FROM:<b@c.example>\nRCPT TO:<z@mx.example>\nBDAT 5 LAST\nabcdeQUIT\n"),
        "250 2.0.0 message accepted\r\n250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n\
         250 2.0.0 message accepted\r\n221 2.0.0 bye\r\n"
    );
    assert_eq!(
        h.messages,
        vec![b"Subject: x\r\n\r\nhello\r\n".to_vec(), b"abcde".to_vec()]
    );
}

#[test]
fn a_command_waits_for_the_caller() {
    let cfg = SmtpConfig {
        max_backlog: 64,
        ..mx()
    };
    let mut h = Harness::new(cfg);
    h.take_output();
    h.srv.handle_input(h.now, b"EHLO x\r\nNOOP\r\n");
    assert_eq!(h.srv.awaiting(), Some(Awaiting::Ehlo));
    let mut out = Vec::new();
    h.srv.poll_transmit(&mut out);
    assert!(out.is_empty(), "NOOP answered before EHLO");
    assert!(h.srv.wants_read());
    h.srv.handle_input(h.now, &[b'x'; 100]);
    assert!(!h.srv.wants_read(), "backlog over the limit");
    assert_eq!(
        h.srv.poll_timeout(),
        None,
        "no timeout while the caller works"
    );
    let out = h.take_output();
    assert!(
        out.ends_with("250 LIMITS RCPTMAX=1000\r\n250 2.0.0 ok\r\n"),
        "{out}"
    );
    assert!(h.srv.wants_read());
}

#[test]
fn mail_parameters_reach_the_caller() {
    let mut h = Harness::new(mx());
    h.lines("EHLO x\n");
    assert_eq!(
        h.lines(
            "MAIL FROM:<@relay.example:\"j doe\"@[192.0.2.1]> SIZE=10 BODY=BINARYMIME SMTPUTF8 RET=FULL ENVID=id+2B1 AUTH=<>\n"
        ),
        "250 2.1.0 sender ok\r\n"
    );
    let Some(SmtpEvent::MailFrom { from, params }) = h.events.last() else {
        panic!("no MailFrom");
    };
    assert_eq!(
        from.as_ref().map(|m| m.to_string()).as_deref(),
        Some("\"j doe\"@[192.0.2.1]")
    );
    assert_eq!(params.body, Some(Body::BinaryMime));
    assert_eq!(params.envid.as_deref(), Some("id+1"));
    assert!(params.smtputf8);
    // UTF-8 recipient allowed under SMTPUTF8.
    assert_eq!(
        h.lines("RCPT TO:<jörg@bücher.example> NOTIFY=FAILURE ORCPT=rfc822;j+40x\n"),
        "250 2.1.5 recipient ok\r\n"
    );
    // BINARYMIME needs BDAT.
    assert_eq!(
        h.lines("DATA\n"),
        "503 5.5.1 BODY=BINARYMIME requires BDAT\r\n"
    );
    assert_eq!(
        h.input(b"BDAT 4 LAST\r\n\x00\n\r\xff"),
        "250 2.0.0 message accepted\r\n"
    );
    assert_eq!(h.messages, vec![b"\x00\n\r\xff".to_vec()]);
}

#[test]
fn rfc3030_bdat_examples() {
    // RFC 3030 4.1, simple chunking.
    let mut h = Harness::new(mx());
    h.lines("EHLO ymir.claremont.edu\n");
    h.transcript(
        "C: MAIL FROM:<Sam@Random.com>
         S: 250 2.1.0 sender ok
         C: RCPT TO:<Susan@Random.com>
         S: 250 2.1.5 recipient ok
         C: BDAT 86 LAST
         C: To: Susan@random.com
         C: From: Sam@random.com
         C: Subject: This is a bodyless test message
         S: 250 2.0.0 message accepted",
    );
    assert_eq!(h.messages.len(), 1);
    assert_eq!(h.messages[0].len(), 86);
    assert!(h.events.contains(&SmtpEvent::DataStart { chunking: true }));

    // RFC 3030 4.2, pipelined binary chunks.
    let mut h = Harness::new(mx());
    h.lines("EHLO ymir.claremont.edu\n");
    let part1: Vec<u8> = (0..10000u32).map(|i| (i % 256) as u8).collect();
    let part2 = vec![b'\n'; 502];
    let mut input = b"MAIL FROM:<ned@thor.innosoft.com> BODY=BINARYMIME\r\nRCPT TO:<ned@innosoft.com>\r\nBDAT 10000\r\n".to_vec();
    input.extend_from_slice(&part1);
    input.extend_from_slice(b"BDAT 502 LAST\r\n");
    input.extend_from_slice(&part2);
    assert_eq!(
        h.input(&input),
        "250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n250 2.0.0 10000 octets received\r\n\
         250 2.0.0 message accepted\r\n"
    );
    let mut whole = part1;
    whole.extend_from_slice(&part2);
    assert_eq!(h.messages, vec![whole]);
    // BDAT 0 LAST ends a message; RSET ends a chunked transaction.
    assert_eq!(
        h.lines("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nBDAT 3\nabcBDAT 0 LAST\n"),
        "250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n250 2.0.0 3 octets received\r\n250 2.0.0 message accepted\r\n"
    );
    assert_eq!(h.messages.last(), Some(&b"abc".to_vec()));
    assert_eq!(
        h.lines("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nBDAT 3\nabcRSET\nBDAT 2 LAST\nxy"),
        "250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n250 2.0.0 3 octets received\r\n250 2.0.0 ok\r\n\
         503 5.5.1 need MAIL before BDAT\r\n"
    );
    assert_eq!(h.messages.len(), 2);
    // DATA after BDAT, RCPT after BDAT.
    assert_eq!(
        h.lines("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nBDAT 1\naDATA\nRCPT TO:<e@f>\n"),
        "250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n250 2.0.0 1 octets received\r\n\
         503 5.5.1 DATA after BDAT\r\n503 5.5.1 RCPT after BDAT\r\n"
    );
}

#[test]
fn rfc3207_starttls_and_injection() {
    let cfg = SmtpConfig {
        tls_available: true,
        ..mx()
    };
    let mut h = Harness::new(cfg);
    h.transcript(&format!(
        "S: 220 mx.example ESMTP moxide
         C: EHLO mail.example.com
         {}",
        ehlo_25(&["STARTTLS"])
    ));
    // A command pipelined after STARTTLS is an injection: discarded.
    assert_eq!(
        h.lines("STARTTLS\nMAIL FROM:<evil@x>\n"),
        "220 2.0.0 ready to start TLS\r\n"
    );
    assert_eq!(h.actions, vec![Action::StartTls]);
    assert!(h.srv.is_tls());
    assert_eq!(h.events.last(), Some(&SmtpEvent::StartTls));
    assert!(h.srv.helo().is_none(), "state reset to before EHLO");
    // After the handshake: MAIL needs EHLO again; no STARTTLS, REQUIRETLS now.
    assert_eq!(
        h.lines("MAIL FROM:<a@b>\n"),
        "503 5.5.1 send EHLO or HELO first\r\n"
    );
    h.transcript(&format!(
        "C: EHLO mail.example.com\n{}",
        ehlo_25(&["REQUIRETLS"])
    ));
    assert_eq!(h.lines("STARTTLS\n"), "503 5.5.1 TLS already active\r\n");
    assert_eq!(
        h.lines("MAIL FROM:<a@b> REQUIRETLS\n"),
        "250 2.1.0 sender ok\r\n"
    );
    let mut h = Harness::new(mx());
    h.lines("EHLO x\n");
    assert_eq!(
        h.lines("MAIL FROM:<a@b> REQUIRETLS\n"),
        "530 5.7.10 REQUIRETLS needs a TLS connection\r\n"
    );
}

#[test]
fn eof_mid_data_stores_nothing() {
    let mut h = Harness::new(mx());
    h.lines("EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n");
    h.lines("Subject: half\n\nsome text\n");
    assert_eq!(h.eof(), "");
    assert!(h.messages.is_empty());
    assert_eq!(
        h.events.last(),
        Some(&SmtpEvent::DataAborted(AbortReason::Eof))
    );
    assert_eq!(h.actions, vec![Action::Close]);
    // Mid-BDAT too, between chunks.
    let mut h = Harness::new(mx());
    h.lines("EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nBDAT 2\nab");
    h.eof();
    assert!(h.messages.is_empty());
    assert_eq!(
        h.events.last(),
        Some(&SmtpEvent::DataAborted(AbortReason::Eof))
    );
    // EOF outside data: no abort.
    let mut h = Harness::new(mx());
    h.lines("EHLO x\nMAIL FROM:<a@b>\n");
    h.eof();
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, SmtpEvent::DataAborted(_)))
    );
}

#[test]
fn timeouts_follow_rfc5321() {
    let mut h = Harness::new(mx());
    h.take_output();
    let t0 = h.now;
    assert_eq!(h.srv.poll_timeout(), Some(t0 + Duration::from_secs(300)));
    h.srv.handle_timeout(t0 + Duration::from_secs(299));
    assert_eq!(h.take_output(), "");
    h.lines("EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n");
    // The caller answered: the period restarts at the next `now`.
    let t1 = h.srv.poll_timeout().expect("rearm");
    h.srv.handle_timeout(t1);
    assert_eq!(h.srv.poll_timeout(), Some(t1 + Duration::from_secs(180)));
    h.srv.handle_timeout(t1 + Duration::from_secs(180));
    assert_eq!(h.take_output(), "421 4.4.2 mx.example timeout, closing\r\n");
    assert_eq!(
        h.events.last(),
        Some(&SmtpEvent::DataAborted(AbortReason::Timeout))
    );
    assert_eq!(h.actions, vec![Action::Close]);
}

#[test]
fn caller_replies_and_rejections() {
    let mut h = Harness::new(mx());
    h.take_output();
    h.srv
        .handle_input(h.now, b"HELO x\r\nMAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\n");
    h.srv.poll_event();
    h.srv.accept();
    h.srv.poll_event();
    h.srv.reject(Reply::with(554, (5, 7, 1), "go away"));
    h.srv.poll_event();
    assert_eq!(h.srv.awaiting(), Some(Awaiting::MailFrom));
    h.srv.accept_with(Reply::with(250, (2, 1, 0), "fine"));
    assert_eq!(
        h.take_output(),
        "250 mx.example\r\n554 5.7.1 go away\r\n250 2.1.0 fine\r\n"
    );
    // A rejected DATA ends the transaction.
    h.srv.handle_input(h.now, b"RCPT TO:<c@d>\r\nDATA\r\n");
    h.srv.poll_event();
    h.srv.accept();
    h.srv.poll_event();
    h.srv.reject(Reply::with(451, (4, 3, 0), "try later"));
    assert_eq!(
        h.take_output(),
        "250 2.1.5 recipient ok\r\n451 4.3.0 try later\r\n"
    );
    assert_eq!(
        h.lines("RCPT TO:<c@d>\n"),
        "503 5.5.1 need MAIL before RCPT\r\n"
    );
    // A custom reply to the stored message.
    h.srv.handle_input(
        h.now,
        b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n",
    );
    for _ in 0..3 {
        h.srv.poll_event();
        h.srv.accept();
    }
    assert_eq!(
        h.srv.poll_event(),
        Some(SmtpEvent::DataChunk(b"x\r\n".to_vec()))
    );
    assert_eq!(h.srv.poll_event(), Some(SmtpEvent::DataEnd));
    h.srv
        .accept_with(Reply::with(250, (2, 0, 0), "queued as 17"));
    assert!(
        h.take_output()
            .ends_with("354 end data with <CR><LF>.<CR><LF>\r\n250 2.0.0 queued as 17\r\n")
    );
}

#[test]
fn data_is_streamed_with_backpressure() {
    let mut h = Harness::new(mx());
    h.lines("EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n");
    // 1 MB of message arrives before the caller takes any event.
    let line = format!("{}\r\n", "m".repeat(98));
    let body = line.repeat(10_000);
    h.srv.handle_input(h.now, body.as_bytes());
    h.srv.handle_input(h.now, b".\r\n");
    assert!(
        !h.srv.wants_read(),
        "queued data over the limit stops reading"
    );
    let mut queued = 0;
    let mut total = 0;
    while let Some(ev) = h.srv.poll_event() {
        match ev {
            SmtpEvent::DataChunk(d) => {
                queued = d.len().max(queued);
                total += d.len();
            }
            SmtpEvent::DataEnd => h.srv.accept(),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(queued <= 64 * 1024, "chunk of {queued}");
    assert_eq!(total, body.len());
    assert!(h.srv.wants_read());
    assert_eq!(h.take_output(), "250 2.0.0 message accepted\r\n");
}

#[test]
fn refused_bdat_chunk_is_read_then_answered() {
    let mut h = Harness::new(mx());
    h.lines("EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\n");
    h.srv
        .handle_input(h.now, b"BDAT 10 LAST\r\nNOOP\r\nNOOPNOOP\r\n");
    assert_eq!(
        h.srv.poll_event(),
        Some(SmtpEvent::DataStart { chunking: true })
    );
    h.srv.reject(Reply::with(550, (5, 7, 1), "not from you"));
    assert_eq!(h.srv.poll_event(), None);
    // The chunk's bytes were dropped: only the last NOOP is a command.
    assert_eq!(
        h.take_output(),
        "550 5.7.1 not from you\r\n250 2.0.0 ok\r\n"
    );
    assert_eq!(
        h.lines("BDAT 0 LAST\n"),
        "503 5.5.1 need MAIL before BDAT\r\n"
    );
}

#[test]
fn debug_output_hides_buffered_input() {
    let mut h = Harness::new(SmtpConfig {
        submission: true,
        tls: true,
        ..mx()
    });
    h.lines("EHLO x\n");
    // The AUTH line stays buffered while the caller decides on EHLO.
    h.srv
        .handle_input(h.now, b"EHLO x\r\nAUTH PLAIN AHRpbQBzZWNyZXQ=\r\n");
    let dbg = format!("{:?}", h.srv);
    assert!(!dbg.contains("AHRpbQ"), "{dbg}");
    assert!(dbg.contains("buffered: 29"), "{dbg}");
}

#[test]
fn memory_is_given_back_after_a_large_read() {
    let mut h = Harness::new(mx());
    h.lines("EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n");
    let body = "z".repeat(1_000_000) + "\r\n.\r\n";
    assert_eq!(h.input(body.as_bytes()), "250 2.0.0 message accepted\r\n");
    assert!(
        h.srv.buffer_capacity() <= 64 * 1024,
        "{}",
        h.srv.buffer_capacity()
    );
}

#[test]
fn rfc2920_pipelining_examples() {
    // RFC 2920 3.2: a pipelined transaction, then data, end and QUIT
    // pipelined together.
    let mut h = Harness::new(mx());
    h.transcript(&format!(
        "S: 220 mx.example ESMTP moxide
         C: EHLO dbc.mtview.ca.us
         {}
         C: MAIL FROM:<mrose@dbc.mtview.ca.us>
         C: RCPT TO:<ned@innosoft.com>
         C: RCPT TO:<dan@innosoft.com>
         C: RCPT TO:<kvc@innosoft.com>
         C: DATA
         S: 250 2.1.0 sender ok
         S: 250 2.1.5 recipient ok
         S: 250 2.1.5 recipient ok
         S: 250 2.1.5 recipient ok
         S: 354 end data with <CR><LF>.<CR><LF>
         C: Subject: test
         C:
         C: body
         C: .
         C: QUIT
         S: 250 2.0.0 message accepted
         S: 221 2.0.0 bye",
        ehlo_25(&[])
    ));
    assert_eq!(h.messages, vec![b"Subject: test\r\n\r\nbody\r\n".to_vec()]);
    // RFC 2920 3.3: every recipient fails, so DATA fails too.
    let mut h = Harness::new(mx());
    h.reject_rcpt = vec!["nosuchuser".to_string()];
    h.lines("EHLO dbc.mtview.ca.us\n");
    h.transcript(
        "C: MAIL FROM:<mrose@dbc.mtview.ca.us>
         C: RCPT TO:<nosuchuser@innosoft.com>
         C: DATA
         S: 250 2.1.0 sender ok
         S: 550 5.1.1 no such user here
         S: 554 5.5.1 no valid recipients
         C: QUIT
         S: 221 2.0.0 bye",
    );
    assert!(h.messages.is_empty());
}

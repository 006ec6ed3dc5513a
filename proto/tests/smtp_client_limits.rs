//! `ClientConn` with LIMITS (RFC 9422): at most RCPTMAX recipients per
//! transaction, the rest in further transactions on the same connection
//! (with PIPELINING and in lock-step, DATA and BDAT), RSET only when the
//! server may still hold a transaction, MAILMAX transactions at most, and
//! a malformed LIMITS line ignored. Exact bytes sent, exact results.

#[path = "smtp_client_util.rs"]
mod util;

use moxide_proto::smtp::Reply;
use moxide_proto::smtp::client::{ClientError, RcptResult, Stage, StartTls};
use util::{Client, config, ehlo, envelope};

fn ok(code: u16, text: &str) -> RcptResult {
    RcptResult::Delivered(Reply::new(code, None, text))
}

fn failed(code: u16, text: &str, permanent: bool) -> RcptResult {
    RcptResult::Failed {
        reply: Reply::new(code, None, text),
        permanent,
    }
}

#[test]
fn pipelined_batches_of_rcptmax_on_one_connection() {
    let mut c = Client::new(
        config(StartTls::Never),
        envelope(
            "a@x",
            &["b1@y", "not an address", "b2@y", "b3@y", "b4@y", "b5@y"],
        ),
        b"x",
    );
    assert_eq!(c.server("220 mx\n"), "EHLO client.example\r\n");
    // The unusable address is never sent and does not count.
    assert_eq!(
        c.server(&ehlo(&["PIPELINING", "LIMITS MAILMAX=10 RCPTMAX=2"])),
        "MAIL FROM:<a@x>\r\nRCPT TO:<b1@y>\r\nRCPT TO:<b2@y>\r\nDATA\r\n"
    );
    assert_eq!(
        c.server("250 ok\n250 ok\n550 no b2\n354 go\n"),
        "x\r\n.\r\n"
    );
    // Data answered with 2xx: the server holds no transaction, no RSET.
    assert_eq!(
        c.server("250 id1\n"),
        "MAIL FROM:<a@x>\r\nRCPT TO:<b3@y>\r\nRCPT TO:<b4@y>\r\nDATA\r\n"
    );
    // No recipient of this batch accepted and DATA refused: RSET, then
    // the last batch, all in one pipelined group.
    assert_eq!(
        c.server("250 ok\n550 no b3\n450 later b4\n554 no valid recipients\n"),
        "RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b5@y>\r\nDATA\r\n"
    );
    assert_eq!(
        c.server("250 reset\n250 ok\n250 ok\n354 go\n"),
        "x\r\n.\r\n"
    );
    assert_eq!(c.server("250 id3\n"), "QUIT\r\n");
    assert_eq!(c.server("221 bye\n"), "");
    let o = c.outcome();
    assert_eq!(o.error, None);
    assert_eq!(
        o.recipients,
        vec![
            ("b1@y".to_string(), ok(250, "id1")),
            (
                "not an address".to_string(),
                RcptResult::Failed {
                    reply: Reply::with(
                        553,
                        (5, 1, 3),
                        "local: bad address \"not an address\": @ expected in address"
                    ),
                    permanent: true
                }
            ),
            ("b2@y".to_string(), failed(550, "no b2", true)),
            ("b3@y".to_string(), failed(550, "no b3", true)),
            ("b4@y".to_string(), failed(450, "later b4", false)),
            ("b5@y".to_string(), ok(250, "id3")),
        ]
    );
}

#[test]
fn lock_step_batches_stop_at_mailmax() {
    let mut c = Client::new(
        config(StartTls::Never),
        envelope("a@x", &["b1@y", "b2@y", "b3@y"]),
        b"x",
    );
    c.server("220 mx\n");
    assert_eq!(
        c.server(&ehlo(&["LIMITS RCPTMAX=1 MAILMAX=2"])),
        "MAIL FROM:<a@x>\r\n"
    );
    assert_eq!(c.server("250 ok\n"), "RCPT TO:<b1@y>\r\n");
    // Refused, no DATA sent: the server still holds the transaction.
    assert_eq!(c.server("550 no b1\n"), "RSET\r\n");
    assert_eq!(c.server("250 reset\n"), "MAIL FROM:<a@x>\r\n");
    assert_eq!(c.server("250 ok\n"), "RCPT TO:<b2@y>\r\n");
    assert_eq!(c.server("250 ok\n"), "DATA\r\n");
    assert_eq!(c.server("354 go\n"), "x\r\n.\r\n");
    // Two transactions are all MAILMAX allows: b3 waits.
    assert_eq!(c.server("250 id2\n"), "QUIT\r\n");
    assert_eq!(c.server("221 bye\n"), "");
    let o = c.outcome();
    assert_eq!(
        o.recipients,
        vec![
            ("b1@y".to_string(), failed(550, "no b1", true)),
            ("b2@y".to_string(), ok(250, "id2")),
            ("b3@y".to_string(), RcptResult::NotAttempted),
        ]
    );
    assert_eq!(
        o.error,
        Some(ClientError {
            stage: Stage::Mail,
            permanent: false,
            reply: None,
            detail: "the server takes 2 transactions per connection (LIMITS MAILMAX); the other recipients wait for another connection".into(),
            tls_failure: None,
        })
    );
}

#[test]
fn bdat_batches_and_a_421_keeps_earlier_results() {
    let mut c = Client::new(
        config(StartTls::Never),
        envelope("a@x", &["b1@y", "b2@y", "b3@y"]),
        b"xy",
    );
    c.server("220 mx\n");
    assert_eq!(
        c.server(&ehlo(&["PIPELINING", "CHUNKING", "LIMITS RCPTMAX=1"])),
        "MAIL FROM:<a@x>\r\nRCPT TO:<b1@y>\r\nBDAT 2 LAST\r\nxy"
    );
    assert_eq!(
        c.server("250 ok\n250 ok\n250 id1\n"),
        "MAIL FROM:<a@x>\r\nRCPT TO:<b2@y>\r\nBDAT 2 LAST\r\nxy"
    );
    // The server gives up in the second transaction.
    assert_eq!(c.server("421 4.3.2 shutting down\n"), "");
    let o = c.outcome();
    assert_eq!(
        o.recipients,
        vec![
            ("b1@y".to_string(), ok(250, "id1")),
            ("b2@y".to_string(), RcptResult::NotAttempted),
            ("b3@y".to_string(), RcptResult::NotAttempted),
        ]
    );
    let e = o.error.as_ref().unwrap();
    assert_eq!(
        (e.stage, e.permanent, e.reply.clone()),
        (
            Stage::Mail,
            false,
            Some(Reply::with(421, (4, 3, 2), "shutting down"))
        )
    );
}

#[test]
fn malformed_limits_are_ignored() {
    for limits in [
        "LIMITS RCPTMAX=0",
        "LIMITS RCPTMAX=1 RCPTMAX=1",
        "LIMITS RCPTMAX",
    ] {
        let mut c = Client::new(
            config(StartTls::Never),
            envelope("a@x", &["b1@y", "b2@y"]),
            b"x",
        );
        c.server("220 mx\n");
        assert_eq!(
            c.server(&ehlo(&["PIPELINING", limits])),
            "MAIL FROM:<a@x>\r\nRCPT TO:<b1@y>\r\nRCPT TO:<b2@y>\r\nDATA\r\n",
            "{limits}"
        );
        assert_eq!(c.server("250 ok\n250 ok\n250 ok\n354 go\n"), "x\r\n.\r\n");
        assert_eq!(c.server("250 id\n"), "QUIT\r\n");
        c.server("221 bye\n");
        assert!(c.outcome().all_delivered(), "{limits}");
    }
}

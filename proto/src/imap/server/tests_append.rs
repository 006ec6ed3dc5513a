//! APPEND streaming and COMPRESS transcript tests.

use std::io::{Read, Write};

use super::tests::T;
use super::*;
use crate::imap::cmd::{AppendKind, CommandBody};
use crate::imap::resp::{Code, Status};

fn begin(t: &mut T) -> (AppendHead, MessageHead) {
    match t.ev() {
        Some(Event::AppendBegin { head, message }) => (head, message),
        other => panic!("expected AppendBegin, got {other:?}"),
    }
}

/// Polls data events until something else; returns the data and that event.
fn data(t: &mut T) -> (Vec<u8>, Option<Event>) {
    let mut d = Vec::new();
    loop {
        match t.ev() {
            Some(Event::AppendData(chunk)) => d.extend_from_slice(&chunk),
            other => return (d, other),
        }
    }
}

#[test]
fn append_streams_in_chunks() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 APPEND INBOX (\\Seen) {12}\r\n");
    let (head, msg) = begin(&mut t);
    assert_eq!(head.tag.as_str(), "a1");
    assert_eq!(head.kind, AppendKind::Append);
    assert_eq!(head.mailbox.as_str(), "INBOX");
    assert_eq!(msg.literal.len, 12);
    assert_eq!(msg.flags.len(), 1);
    t.s("");
    t.conn.accept_append();
    t.s("+ Ready for literal data\r\n");
    t.c(b"Subj");
    assert_eq!(t.ev(), Some(Event::AppendData(b"Subj".to_vec())));
    assert_eq!(t.ev(), None);
    t.c(b"ect: x\r\n\r\na2 NOOP\r\n");
    assert_eq!(t.ev(), Some(Event::AppendData(b"ect: x\r\n".to_vec())));
    assert_eq!(t.ev(), Some(Event::AppendEnd { last: true }));
    assert_eq!(t.ev(), None);
    t.status(Status::ok(
        Tag::try_from("a1").ok(),
        Some(Code::AppendUid {
            uid_validity: 1,
            uids: crate::imap::core::UidSet::from_sorted([1]),
        }),
        "appended",
    ));
    t.s("a1 OK [APPENDUID 1 1] appended\r\n");
    assert_eq!(t.cmd("a2"), CommandBody::Noop);
}

#[test]
fn fifty_megabyte_append_uses_bounded_memory() {
    let mut t = T::new();
    t.login();
    let size: usize = 50 * 1024 * 1024;
    t.c(format!("a1 APPEND INBOX {{{size}}}\r\n").as_bytes());
    begin(&mut t);
    t.conn.accept_append();
    t.s("+ Ready for literal data\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut got = 0usize;
    let mut max_cap = 0usize;
    for _ in 0..size / chunk.len() {
        t.c(&chunk);
        max_cap = max_cap.max(t.conn.buffer_capacity());
        while let Some(ev) = t.ev() {
            match ev {
                Event::AppendData(d) => got += d.len(),
                other => panic!("{other:?}"),
            }
        }
    }
    t.c(b"\r\n");
    assert_eq!(t.ev(), Some(Event::AppendEnd { last: true }));
    assert_eq!(got, size);
    assert!(max_cap <= 256 * 1024, "buffers grew to {max_cap}");
}

#[test]
fn multiappend_non_sync() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 APPEND Sent {3+}\r\nabc (\\Draft) \"01-Jan-2025 10:00:00 +0000\" {2+}\r\nde\r\n");
    let (_, m1) = begin(&mut t);
    assert!(m1.literal.non_sync);
    t.conn.accept_append();
    t.s("");
    assert_eq!(
        data(&mut t),
        (b"abc".to_vec(), Some(Event::AppendEnd { last: false }))
    );
    let (head, m2) = begin(&mut t);
    assert_eq!(head.mailbox.as_str(), "Sent");
    assert!(m2.date.is_some());
    t.conn.accept_append();
    assert_eq!(
        data(&mut t),
        (b"de".to_vec(), Some(Event::AppendEnd { last: true }))
    );
    t.ok("a1");
    t.s("a1 OK done\r\n");
}

#[test]
fn append_utf8_binary_form() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 APPEND INBOX UTF8 (~{4}\r\n");
    let (_, m) = begin(&mut t);
    assert!(m.utf8 && m.literal.binary);
    t.conn.accept_append();
    t.s("+ Ready for literal data\r\n");
    t.c(b"a\0b\n)\r\n");
    assert_eq!(
        data(&mut t),
        (b"a\0b\n".to_vec(), Some(Event::AppendEnd { last: true }))
    );
}

#[test]
fn append_refused_before_data() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 APPEND Nope {5}\r\n");
    begin(&mut t);
    t.status(Status::no(
        Tag::try_from("a1").ok(),
        Some(Code::TryCreate),
        "no such mailbox",
    ));
    t.s("a1 NO [TRYCREATE] no such mailbox\r\n");
    // The client got no `+`, so it sends no data: the next line is a command.
    t.c(b"a2 NOOP\r\n");
    assert_eq!(t.cmd("a2"), CommandBody::Noop);
}

#[test]
fn append_refused_mid_stream_discards_the_rest() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 APPEND INBOX {40}\r\n");
    begin(&mut t);
    t.conn.accept_append();
    t.c(b"0123456789");
    assert_eq!(t.ev(), Some(Event::AppendData(b"0123456789".to_vec())));
    t.status(Status::no(
        Tag::try_from("a1").ok(),
        Some(Code::OverQuota),
        "over quota",
    ));
    t.s("+ Ready for literal data\r\na1 NO [OVERQUOTA] over quota\r\n");
    // The remaining 30 bytes hold a command-looking line: it must not run.
    t.c(b"a9 LOGOUT\r\na8 LOGOUT\r\nabcdefgh {3+}\r\nxyz\r\na2 NOOP\r\n");
    assert_eq!(t.cmd("a2"), CommandBody::Noop);
    assert_eq!(t.ev(), None);
    t.s("");
}

#[test]
fn append_limits_and_state() {
    let cfg = ServerConfig {
        max_append: 100,
        ..ServerConfig::default()
    };
    let mut t = T::with(cfg);
    // Not authenticated: refused by the connection, data skipped.
    t.c(b"a1 APPEND INBOX {11+}\r\na9 LOGOUT\r\n\r\n");
    t.s("a1 BAD APPEND needs authentication: LOGIN or AUTHENTICATE first\r\n");
    assert_eq!(t.ev(), None);
    t.login();
    t.c(b"a2 APPEND INBOX {101}\r\n");
    t.s("a2 NO [TOOBIG] message larger than 100 octets\r\n");
    assert_eq!(t.ev(), None);
    // The second message of a MULTIAPPEND is over the limit: the
    // connection ends the command and tells the caller.
    t.c(b"a3 APPEND INBOX {1+}\r\nx {200+}\r\n");
    begin(&mut t);
    t.conn.accept_append();
    assert_eq!(data(&mut t).0, b"x");
    t.s("a3 NO [TOOBIG] message larger than 100 octets\r\n");
    let mut skipped = b"a9 LOGOUT\r\n".repeat(18);
    skipped.resize(200, b'y');
    t.c(&skipped);
    t.c(b"\r\na4 NOOP\r\n");
    assert_eq!(t.cmd("a4"), CommandBody::Noop);
    // REPLACE needs a selected mailbox.
    t.ok("a4");
    t.out();
    t.c(b"a5 UID REPLACE 4 INBOX {5}\r\n");
    t.s("a5 BAD UID REPLACE needs a selected mailbox: SELECT first\r\n");
}

#[test]
fn append_trailing_garbage_aborts() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 APPEND INBOX {1+}\r\nx y\r\n");
    begin(&mut t);
    t.conn.accept_append();
    let (d, ev) = data(&mut t);
    assert_eq!(d, b"x");
    assert!(
        matches!(ev, Some(Event::Aborted { ref tag, .. }) if tag.as_str() == "a1"),
        "{ev:?}"
    );
    let out = t.out();
    assert!(
        out.starts_with(b"a1 BAD "),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

fn deflate(z: &mut flate2::write::DeflateEncoder<Vec<u8>>, b: &[u8]) -> Vec<u8> {
    z.write_all(b).unwrap();
    z.flush().unwrap();
    std::mem::take(z.get_mut())
}

#[test]
fn compress_round_trip() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 COMPRESS DEFLATE\r\na2 NOOP\r\n");
    t.cmd("a1");
    t.ok("a1");
    // The OK itself is not compressed; the pipelined a2 is discarded.
    t.s("a1 OK done\r\n");
    assert!(t.conn.is_compressed());
    assert_eq!(t.ev(), None);

    let mut client_z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut server_z = flate2::Decompress::new(false);
    let mut read_server = |t: &mut T| {
        let wire = t.out();
        let mut plain = Vec::with_capacity(64 * 1024);
        server_z
            .decompress_vec(&wire, &mut plain, flate2::FlushDecompress::Sync)
            .unwrap();
        String::from_utf8(plain).unwrap()
    };
    let wire = deflate(&mut client_z, b"a3 NOOP\r\na4 SELECT INBOX\r\n");
    // Split the compressed bytes too.
    let (x, y) = wire.split_at(wire.len() / 2);
    t.c(x);
    t.c(y);
    assert_eq!(t.cmd("a3"), CommandBody::Noop);
    t.ok("a3");
    assert_eq!(read_server(&mut t), "a3 OK done\r\n");
    t.cmd("a4");
    t.ok("a4");
    assert_eq!(read_server(&mut t), "a4 OK done\r\n");
    assert_eq!(t.conn.state(), ServerState::Selected { read_only: false });

    // A highly compressible APPEND inflates in bounded steps.
    let size = 4 * 1024 * 1024;
    let mut msg = format!("a5 APPEND INBOX {{{size}+}}\r\n").into_bytes();
    msg.resize(msg.len() + size, b'a');
    msg.extend_from_slice(b"\r\n");
    let wire = deflate(&mut client_z, &msg);
    assert!(wire.len() < 64 * 1024);
    t.c(&wire);
    begin(&mut t);
    t.conn.accept_append();
    let mut got = 0;
    loop {
        assert!(t.conn.buffer_capacity() <= 256 * 1024);
        match t.ev() {
            Some(Event::AppendData(d)) => got += d.len(),
            Some(Event::AppendEnd { last: true }) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, size);

    // Garbage after compression starts closes the connection.
    t.ok("a5");
    read_server(&mut t);
    t.c(&[0xff; 8]);
    assert_eq!(t.conn.poll_action(), Some(Action::Close));
    let mut rest = Vec::new();
    flate2::read::DeflateDecoder::new(&t.out()[..])
        .read_to_end(&mut rest)
        .ok();
}

#[test]
fn append_mailbox_as_literal_then_message() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 APPEND {5}\r\n");
    t.s("+ Ready for literal data\r\n");
    t.c(b"Sent! {2}\r\n");
    let (head, msg) = begin(&mut t);
    assert_eq!(head.mailbox.as_str(), "Sent!");
    assert_eq!(msg.literal.len, 2);
    t.conn.accept_append();
    t.s("+ Ready for literal data\r\n");
    t.c(b"hi\r\n");
    assert_eq!(
        data(&mut t),
        (b"hi".to_vec(), Some(Event::AppendEnd { last: true }))
    );
}

#[test]
fn uid_replace_streams_in_selected_state() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 SELECT INBOX\r\n");
    t.cmd("a1");
    t.ok("a1");
    t.c(b"a2 UID REPLACE 4 Drafts {3+}\r\nabc\r\n");
    let (head, _) = begin(&mut t);
    assert!(matches!(head.kind, AppendKind::Replace { uid: true, .. }));
    assert_eq!(head.mailbox.as_str(), "Drafts");
    t.conn.accept_append();
    assert_eq!(
        data(&mut t),
        (b"abc".to_vec(), Some(Event::AppendEnd { last: true }))
    );
}

//! Properties of `ServerConn` over generated client streams: splitting the
//! input at arbitrary points changes neither the events nor the output, and
//! no input panics or grows the buffers past the limits.

use std::time::Instant;

use proptest::prelude::*;

use super::*;
use crate::imap::cmd::CommandBody;
use crate::imap::resp::{Continue, Response, Status};

fn config() -> ServerConfig {
    ServerConfig {
        max_line: 200,
        max_command: 1000,
        max_append: 3000,
        max_backlog: 512,
        ..ServerConfig::default()
    }
}

/// A caller that answers every command with a tagged OK (NO for STARTTLS
/// and COMPRESS, whose effect depends on what arrived before the answer),
/// accepts every APPEND message, challenges AUTHENTICATE once and starts
/// IDLE. Returns the events with adjacent data chunks joined.
fn drive(conn: &mut ServerConn, log: &mut Vec<Event>) {
    while let Some(ev) = conn.poll_event() {
        match &ev {
            Event::Command(c) => {
                let tag = Some(c.tag.clone());
                match c.body {
                    CommandBody::Idle => {
                        conn.send(&Response::Continue(Continue::Text("idling".into())))
                    }
                    CommandBody::Authenticate {
                        initial_response: None,
                        ..
                    } => conn.auth_challenge(b""),
                    CommandBody::StartTls | CommandBody::Compress(_) => {
                        conn.send(&Response::Status(Status::no(tag, None, "not now")))
                    }
                    _ => conn.send(&Response::Status(Status::ok(tag, None, "done"))),
                }
            }
            Event::AppendBegin { .. } => conn.accept_append(),
            Event::AppendEnd { last: true }
            | Event::IdleDone
            | Event::AuthResponse(_)
            | Event::AuthCancel => {
                let tag = conn.in_flight().cloned();
                conn.send(&Response::Status(Status::ok(tag, None, "done")));
            }
            _ => {}
        }
        if let (Event::AppendData(d), Some(Event::AppendData(prev))) = (&ev, log.last_mut()) {
            prev.extend_from_slice(d);
        } else {
            log.push(ev);
        }
    }
}

fn run(chunks: &[&[u8]]) -> (Vec<Event>, Vec<u8>) {
    let now = Instant::now();
    let cfg = config();
    let bound = cfg.max_command + cfg.max_line + 64 * 1024;
    let mut conn = ServerConn::new(cfg, now);
    let mut log = Vec::new();
    let mut out = Vec::new();
    for c in chunks {
        conn.handle_input(now, c);
        drive(&mut conn, &mut log);
        conn.poll_transmit(&mut out);
        while conn.poll_action().is_some() {}
        assert!(conn.buffer_capacity() <= bound + c.len());
    }
    (log, out)
}

/// Splits `input` at the given points (taken modulo its length).
fn split<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    cuts.push(0);
    cuts.push(input.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}

/// Valid commands, some with literals and continuation lines.
const COMMANDS: &[&str] = &[
    "NOOP",
    "CAPABILITY",
    "LOGIN mjl pw",
    "LOGIN {3}\r\nmjl {2+}\r\npw",
    "AUTHENTICATE PLAIN AG1qbABwdw==",
    "AUTHENTICATE PLAIN\r\nAG1qbABwdw==",
    "AUTHENTICATE PLAIN\r\n*",
    "SELECT INBOX",
    "EXAMINE {5}\r\nINBOX",
    "FETCH 1:* (FLAGS UID)",
    "UID FETCH 1,3:5 BODY.PEEK[HEADER]",
    "UID SEARCH SUBJECT {5+}\r\nhello",
    "LIST \"\" *",
    "STATUS INBOX (MESSAGES UIDNEXT)",
    "ENABLE UTF8=ACCEPT",
    "IDLE\r\nDONE",
    "CLOSE",
    "UNSELECT",
    "STARTTLS",
    "COMPRESS DEFLATE",
    "ID NIL",
];

/// One item of a client stream.
fn item() -> impl Strategy<Value = Vec<u8>> {
    let data = proptest::collection::vec(
        prop_oneof![
            Just(b"\r\n".to_vec()),
            Just(b"a9 LOGOUT\r\n".to_vec()),
            Just(b" {4+}\r\n".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..20),
        ],
        0..8,
    )
    .prop_map(|v| v.concat());
    prop_oneof![
        4 => proptest::sample::select(COMMANDS).prop_map(|c| c.as_bytes().to_vec()),
        // APPEND/MULTIAPPEND, synchronising or not, sometimes over the limit.
        2 => (proptest::collection::vec((data, any::<bool>(), any::<bool>()), 1..3), any::<bool>())
            .prop_map(|(msgs, big)| {
                let mut v = b"APPEND INBOX".to_vec();
                for (d, non_sync, flags) in msgs {
                    if flags {
                        v.extend_from_slice(b" (\\Seen)");
                    }
                    let len = if big { 5000 } else { d.len() };
                    let plus = if non_sync { "+" } else { "" };
                    v.extend_from_slice(format!(" {{{len}{plus}}}\r\n").as_bytes());
                    v.extend_from_slice(&d);
                    if big {
                        v.resize(v.len() + 5000 - d.len(), b'z');
                    }
                }
                v
            }),
        // Malformed lines and literals.
        2 => proptest::collection::vec(
            prop_oneof![
                Just(b"(".to_vec()),
                Just(b"{3}".to_vec()),
                Just(b"{3+}\r\nabc".to_vec()),
                Just(b" ".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"FETCH".to_vec()),
                proptest::collection::vec(any::<u8>().prop_filter("no LF", |b| *b != b'\n'), 0..10),
            ],
            0..6,
        )
        .prop_map(|v| v.concat()),
        // A line over the limit.
        1 => (200usize..400).prop_map(|n| vec![b'x'; n]),
    ]
}

/// A client stream: hand-written items (tagged or not) and commands from the
/// command strategy, encoded with synchronising or non-synchronising
/// literals, each ending with CRLF.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => (item(), any::<bool>()).prop_map(|(body, tagged)| {
            let mut v = if tagged { b"t1 ".to_vec() } else { Vec::new() };
            v.extend_from_slice(&body);
            v.extend_from_slice(b"\r\n");
            v
        }),
        2 => (crate::imap::cmd::strategy::arb_command(), any::<bool>()).prop_map(|(c, lp)| {
            let mut v = Vec::new();
            c.encode(&mut v, crate::imap::core::Ctx { utf8: false, literal_plus: lp });
            v
        }),
    ];
    proptest::collection::vec(piece, 1..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn split_input_gives_the_same_events_and_output(
        input in stream(),
        points in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = run(&[&input]);
        let split = run(&split(&input, &points));
        prop_assert_eq!(&whole.0, &split.0);
        prop_assert_eq!(&whole.1, &split.1);
        // Byte by byte too.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(whole, run(&bytes));
    }

    #[test]
    fn arbitrary_input_never_panics(
        input in proptest::collection::vec(
            prop_oneof![
                any::<u8>(),
                Just(b'\n'),
                Just(b'{'),
                Just(b'}'),
                Just(b'+'),
                Just(b' '),
                Just(b'1'),
            ],
            0..2000,
        ),
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = run(&[&input]);
        prop_assert_eq!(whole, run(&split(&input, &points)));
    }
}

#[test]
fn split_helper() {
    assert_eq!(split(b"abcd", &[2, 9]), vec![&b"ab"[..], b"cd"]);
    assert_eq!(split(b"", &[3]), Vec::<&[u8]>::new());
}

//! Framer tests: each feeds bytes and lists the frames that come out.

use super::*;

const LIMITS: FrameLimits = FrameLimits {
    max_line: 64,
    max_command: 256,
    max_append: 1000,
    literal_plus: true,
};

/// Feeds `input` (all at once, then byte by byte) and returns the frames,
/// accepting every APPEND message. Both ways must agree.
fn frames(limits: FrameLimits, input: &[u8]) -> Vec<Frame> {
    let whole = run(limits, &[input]);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let split = run(limits, &bytes);
    assert_eq!(merge(whole.clone()), merge(split), "split input differs");
    merge(whole)
}

fn run(limits: FrameLimits, chunks: &[&[u8]]) -> Vec<Frame> {
    let mut f = Framer::new(limits);
    let mut out = Vec::new();
    for c in chunks {
        f.push(c);
        while let Some(fr) = f.next(Ctx::REV1) {
            if let Frame::AppendBegin(..) = fr {
                f.accept_literal();
            }
            out.push(fr);
        }
    }
    out
}

/// Joins adjacent data chunks (their boundaries follow the input).
fn merge(frames: Vec<Frame>) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    for f in frames {
        if let (Some(Frame::AppendData(prev)), Frame::AppendData(d)) = (out.last_mut(), &f) {
            prev.extend_from_slice(d);
            continue;
        }
        out.push(f);
    }
    out
}

fn cmd(s: &[u8]) -> Frame {
    Frame::Command(s.to_vec())
}

fn bad(tag: &str, text: &str) -> Frame {
    Frame::Reject(Reject::bad(Tag::try_from(tag).ok(), text))
}

#[test]
fn lines_and_literals() {
    let input = b"a1 NOOP\r\na2 LOGIN {4}\r\nuser {4+}\r\npass\r\na3 CAPABILITY\r\n";
    assert_eq!(
        frames(LIMITS, input),
        vec![
            cmd(b"a1 NOOP\r\n"),
            Frame::Continue,
            cmd(b"a2 LOGIN {4}\r\nuser {4+}\r\npass\r\n"),
            cmd(b"a3 CAPABILITY\r\n"),
        ]
    );
}

#[test]
fn literal_data_is_not_scanned_for_lines() {
    let input = b"a1 LOGIN {9+}\r\nx\r\na2 BAD pass\r\n";
    assert_eq!(
        frames(LIMITS, input),
        vec![cmd(b"a1 LOGIN {9+}\r\nx\r\na2 BAD pass\r\n")]
    );
}

#[test]
fn invalid_prefix_gets_no_continuation() {
    // The client waits for `+`, so the next line is a new command.
    let input = b"a1 FROB {4}\r\na2 NOOP\r\n";
    let f = frames(LIMITS, input);
    assert_eq!(f.len(), 2);
    assert!(matches!(&f[0], Frame::Reject(r) if r.tag == Tag::try_from("a1").ok() && !r.too_big));
    assert_eq!(f[1], cmd(b"a2 NOOP\r\n"));
}

#[test]
fn invalid_prefix_with_non_sync_literal_skips_its_data() {
    let input = b"a1 FROB {11+}\r\na9 LOGOUT\r\n\r\na2 NOOP\r\n";
    let f = frames(LIMITS, input);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(matches!(&f[0], Frame::Reject(_)));
    assert_eq!(f[1], cmd(b"a2 NOOP\r\n"));
}

#[test]
fn literal_over_the_command_limit() {
    let sync = b"a1 LOGIN {300}\r\na2 NOOP\r\n";
    assert_eq!(
        frames(LIMITS, sync),
        vec![bad("a1", "command too long"), cmd(b"a2 NOOP\r\n")]
    );
    // A non-synchronising one is skipped with the rest of the command,
    // including further non-synchronising literals.
    let mut non_sync = b"a1 LOGIN {300+}\r\n".to_vec();
    non_sync.extend_from_slice(&[b'x'; 289]);
    non_sync.extend_from_slice(b"a9 LOGOUT\r\n {3+}\r\nabc\r\na2 NOOP\r\n");
    assert_eq!(
        frames(LIMITS, &non_sync),
        vec![bad("a1", "command too long"), cmd(b"a2 NOOP\r\n")]
    );
}

#[test]
fn literal_minus_limits_non_sync_literals() {
    let limits = FrameLimits {
        literal_plus: false,
        max_command: 10_000,
        ..LIMITS
    };
    let mut input = b"a1 LOGIN {4097+}\r\n".to_vec();
    input.extend_from_slice(&[b'a'; 4097]);
    input.extend_from_slice(b" x\r\na2 NOOP\r\n");
    assert_eq!(
        frames(limits, &input),
        vec![
            bad(
                "a1",
                "non-synchronizing literal over 4096 octets (LITERAL-)"
            ),
            cmd(b"a2 NOOP\r\n")
        ]
    );
}

#[test]
fn long_line_is_skipped_then_refused() {
    let mut input = b"a1 LOGIN ".to_vec();
    input.extend_from_slice(&[b'u'; 100]);
    input.extend_from_slice(b" p\r\na2 NOOP\r\n");
    assert_eq!(
        frames(LIMITS, &input),
        vec![bad("a1", "line too long"), cmd(b"a2 NOOP\r\n")]
    );
    // Exactly max_line is fine.
    let mut input = b"a1 LOGIN ".to_vec();
    input.extend_from_slice(&[b'u'; 64 - 11]);
    input.extend_from_slice(b" p\r\n");
    assert_eq!(input.len(), 66);
    assert_eq!(frames(LIMITS, &input), vec![cmd(&input)]);
}

#[test]
fn long_line_ending_in_non_sync_literal_skips_it() {
    let mut input = b"a1 LOGIN ".to_vec();
    input.extend_from_slice(&[b'u'; 100]);
    input.extend_from_slice(b" {11+}\r\na9 LOGOUT\r\n\r\na2 NOOP\r\n");
    assert_eq!(
        frames(LIMITS, &input),
        vec![bad("a1", "line too long"), cmd(b"a2 NOOP\r\n")]
    );
}

#[test]
fn unreadable_literal_size_is_fatal_only_when_non_sync() {
    let input = b"a1 LOGIN {99999999999999999999}\r\na2 NOOP\r\n";
    assert_eq!(
        frames(LIMITS, input),
        vec![
            bad("a1", "number too large (at byte 10)"),
            cmd(b"a2 NOOP\r\n")
        ]
    );
    // The end of a non-synchronising one cannot be found: refuse, then stop.
    let input = b"a1 LOGIN {99999999999999999999+}\r\na2 NOOP\r\n";
    assert_eq!(
        frames(LIMITS, input),
        vec![
            bad("a1", "number too large (at byte 10)"),
            Frame::Fatal("literal size too large to skip; closing")
        ]
    );
}

#[test]
fn append_streams_message_data() {
    let input = b"a1 APPEND INBOX (\\Seen) {5}\r\nab\r\nc\r\na2 NOOP\r\n";
    let f = frames(LIMITS, input);
    assert_eq!(f.len(), 4, "{f:?}");
    let Frame::AppendBegin(head, msg) = &f[0] else {
        panic!("{f:?}")
    };
    assert_eq!(head.tag.as_str(), "a1");
    assert_eq!(head.mailbox.as_str(), "INBOX");
    assert_eq!(msg.literal.len, 5);
    assert!(!msg.literal.non_sync);
    assert_eq!(f[1], Frame::AppendData(b"ab\r\nc".to_vec()));
    assert_eq!(f[2], Frame::AppendEnd { last: true });
    assert_eq!(f[3], cmd(b"a2 NOOP\r\n"));
}

#[test]
fn multiappend_and_utf8_form() {
    let input = b"a1 APPEND INBOX {3+}\r\nabc UTF8 (~{2+}\r\nd\0)\r\n";
    let f = frames(LIMITS, input);
    assert_eq!(f.len(), 6, "{f:?}");
    assert!(matches!(&f[0], Frame::AppendBegin(_, m) if m.literal.len == 3 && !m.utf8));
    assert_eq!(f[1], Frame::AppendData(b"abc".to_vec()));
    assert_eq!(f[2], Frame::AppendEnd { last: false });
    assert!(matches!(&f[3], Frame::AppendBegin(_, m) if m.literal.len == 2 && m.utf8));
    assert_eq!(f[4], Frame::AppendData(b"d\0".to_vec()));
    assert_eq!(f[5], Frame::AppendEnd { last: true });
}

#[test]
fn append_over_limit_is_too_big() {
    let input = b"a1 APPEND INBOX {2000}\r\na2 NOOP\r\n";
    let f = frames(LIMITS, input);
    assert_eq!(f.len(), 2);
    assert!(matches!(&f[0], Frame::Reject(r) if r.too_big));
    let mut out = Vec::new();
    if let Frame::Reject(r) = &f[0] {
        r.write(&mut out);
    }
    assert_eq!(out, b"a1 NO [TOOBIG] message larger than 1000 octets\r\n");
    let mut input = b"a1 APPEND INBOX {2000+}\r\n".to_vec();
    input.extend_from_slice(&[b'x'; 1990]);
    input.extend_from_slice(b"a9 NOOP\r\n\r\na2 NOOP\r\n");
    let f = frames(LIMITS, &input);
    assert_eq!(f.len(), 2);
    assert_eq!(f[1], cmd(b"a2 NOOP\r\n"));
}

#[test]
fn append_tail_errors_are_refused() {
    let input = b"a1 APPEND INBOX {1+}\r\na junk\r\na2 NOOP\r\n";
    let f = frames(LIMITS, input);
    assert_eq!(f.len(), 4, "{f:?}");
    assert!(matches!(&f[2], Frame::Reject(r) if r.tag == Tag::try_from("a1").ok()));
    assert_eq!(f[3], cmd(b"a2 NOOP\r\n"));
}

#[test]
fn abort_discards_the_rest_of_the_command() {
    let mut f = Framer::new(LIMITS);
    f.push(b"a1 APPEND INBOX {21+}\r\n0123456789");
    assert!(matches!(f.next(Ctx::REV1), Some(Frame::AppendBegin(..))));
    assert!(!f.accept_literal());
    assert_eq!(
        f.next(Ctx::REV1),
        Some(Frame::AppendData(b"0123456789".to_vec()))
    );
    f.abort();
    f.push(b"a9 LOGOUT\r\n {2+}\r\nxy\r\na2 NOOP\r\n");
    assert_eq!(f.next(Ctx::REV1), Some(cmd(b"a2 NOOP\r\n")));
    assert_eq!(f.next(Ctx::REV1), None);
}

#[test]
fn line_mode() {
    let mut f = Framer::new(LIMITS);
    f.push(b"AHVzZXI=\r\nDONE\n");
    assert_eq!(f.next_line(), Some(LineFrame::Line(b"AHVzZXI=".to_vec())));
    assert_eq!(f.next_line(), Some(LineFrame::Line(b"DONE".to_vec())));
    assert_eq!(f.next_line(), None);
    f.push(&[b'x'; 100]);
    assert_eq!(f.next_line(), Some(LineFrame::TooLong));
    f.push(b"yyy {3+}\r\na2 NOOP\r\n");
    assert_eq!(f.next(Ctx::REV1), Some(cmd(b"a2 NOOP\r\n")));
}

#[test]
fn announcements() {
    let a = |s: &[u8]| announcement(s);
    assert_eq!(
        a(b"x {12}\r\n"),
        Some(Announce {
            len: Some(12),
            non_sync: false
        })
    );
    assert_eq!(
        a(b"~{0+}\r\n"),
        Some(Announce {
            len: Some(0),
            non_sync: true
        })
    );
    assert_eq!(a(b"{}\r\n"), None);
    assert_eq!(a(b"12}\r\n"), None);
    assert_eq!(a(b"{12}\n"), None);
    assert_eq!(a(b"{1a2}\r\n"), None);
    assert_eq!(
        a(b"{9223372036854775808}\r\n"),
        Some(Announce {
            len: None,
            non_sync: false
        })
    );
}

#[test]
fn debug_hides_command_bytes() {
    let f = cmd(b"a1 LOGIN mjl secret\r\n");
    assert_eq!(format!("{f:?}"), "Command(21 bytes)");
    let l = LineFrame::Line(b"c2VjcmV0".to_vec());
    assert_eq!(format!("{l:?}"), "Line(8 bytes)");
    let mut fr = Framer::new(LIMITS);
    fr.push(b"a1 LOGIN mjl secr");
    assert!(!format!("{fr:?}").contains("secr"));
}

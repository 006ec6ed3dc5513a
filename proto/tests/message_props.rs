//! Property tests: MessageStructure::parse never panics, its spans stay in
//! the input and nest properly, encode/decode round-trips, and decode of
//! arbitrary bytes never panics.

use moxide_proto::message::{MessageStructure, Part, PartKind};
use proptest::prelude::*;

/// Checks that every span of `part` lies within `len` bytes, that the body
/// follows the header, and that children lie inside their parent's body in
/// order.
fn check_part(part: &Part, len: u64) -> Result<(), TestCaseError> {
    prop_assert!(part.header.start <= part.header.end);
    prop_assert!(part.header.end <= part.body.start);
    prop_assert!(part.body.start <= part.body.end);
    prop_assert!(part.body.end <= len);
    match &part.kind {
        PartKind::Basic => {}
        PartKind::Multipart(children) => {
            prop_assert!(!children.is_empty());
            let mut prev = part.body.start;
            for c in children {
                prop_assert!(c.header.start >= prev);
                prop_assert!(c.body.end <= part.body.end);
                prev = c.body.end;
                check_part(c, len)?;
            }
        }
        PartKind::Message(nested) => {
            prop_assert_eq!(nested.root.header.start, part.body.start);
            prop_assert_eq!(nested.root.body.end, part.body.end);
            check_part(&nested.root, len)?;
        }
    }
    Ok(())
}

fn check(msg: &[u8]) -> Result<(), TestCaseError> {
    let s = MessageStructure::parse(msg);
    check_part(s.root(), msg.len() as u64)?;
    prop_assert_eq!(s.root().header.start, 0);
    prop_assert_eq!(s.root().body.end, msg.len() as u64);
    let enc = s.encode();
    prop_assert_eq!(MessageStructure::decode(&enc), Ok(s));
    Ok(())
}

/// Lines that exercise the MIME splitter, headers and addresses.
fn mime_line() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "",
        "Content-Type: multipart/mixed; boundary=a",
        "Content-Type: multipart/alternative; boundary=\"b\"",
        "Content-Type: multipart/digest; boundary=a",
        "Content-Type: message/rfc822",
        "Content-Type: message/global",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: image/png; name*0*=x; (c) name=\"q\\\"",
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment; filename=x",
        "Content-Language: en,(x) de",
        " folded continuation",
        "--a",
        "--a--",
        "--b",
        "--b--",
        "--a \t",
        "text --a",
        "From: \"A\" <a@b>, g: c@d;, (x",
        "To: <@r:x@y>, \"q",
        "Subject: Re: [x] =?utf-8?b?w6k=?= (fwd)",
        "Message-ID: <id@x>",
        "References: <a@b> <c",
        "Date: Thu, 1 Jan 1970 00:00:00 +0000",
        "no colon line",
        "\r",
    ])
}

/// Header values built from the tokens that drive the address, date,
/// encoded-word and parameter parsers.
fn header_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "=?utf-8?q?",
            "=?iso-8859-1?b?",
            "=?x?",
            "?=",
            "=C3",
            "=A9",
            "w6k=",
            "<",
            ">",
            "\"",
            "\\",
            "(",
            ")",
            ",",
            ":",
            ";",
            "@",
            ".",
            "[",
            "]",
            " ",
            "\t",
            "\r\n ",
            "a",
            "Re",
            "Fwd",
            "Mon,",
            "31",
            "Feb",
            "2024",
            "23:59:60",
            "+9999",
            "-0000",
            "UT",
            "=",
            "*0*",
            "\u{e9}",
            "\u{0}",
        ]),
        0..24,
    )
    .prop_map(|v| v.concat())
}

fn mime_message() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(mime_line(), 0..40),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_eol)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut s = lines.join(eol);
            if final_eol {
                s.push_str(eol);
            }
            s.into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_arbitrary_bytes(msg in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&msg)?;
    }

    #[test]
    fn parse_mime_like_messages(msg in mime_message()) {
        check(&msg)?;
    }

    #[test]
    fn parse_arbitrary_header_values(v in header_value(), w in "[ -~]{0,60}") {
        for value in [&v, &w] {
            let msg = format!(
                "Date: {value}\r\nSubject: {value}\r\nFrom: {value}\r\nTo: {value}, {value}\r\n\
                 Message-ID: {value}\r\nReferences: {value}\r\nIn-Reply-To: {value}\r\n\
                 Content-Type: multipart/mixed; {value}\r\nContent-Disposition: {value}\r\n\
                 Content-Language: {value}\r\n\r\nbody"
            );
            check(msg.as_bytes())?;
        }
    }

    #[test]
    fn decode_arbitrary_bytes_does_not_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = MessageStructure::decode(&bytes);
        let mut v = vec![1u8];
        v.extend_from_slice(&bytes);
        let _ = MessageStructure::decode(&v);
    }

    #[test]
    fn decode_of_mutated_encoding_does_not_panic(
        msg in mime_message(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut enc = MessageStructure::parse(&msg).encode();
        for (i, b) in flips {
            let i = i.index(enc.len());
            enc[i] = b;
        }
        if let Ok(s) = MessageStructure::decode(&enc) {
            // Whatever decodes must encode again without panicking.
            let _ = s.encode();
        }
    }
}

#[test]
fn part_count_and_address_count_are_bounded() {
    let mut msg = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n".to_vec();
    for _ in 0..20_000 {
        msg.extend_from_slice(b"--a\r\n");
    }
    let s = MessageStructure::parse(&msg);
    assert_eq!(s.root().kind, PartKind::Basic);

    let mut msg = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n".to_vec();
    for _ in 0..9_000 {
        msg.extend_from_slice(b"--a\r\n");
    }
    let s = MessageStructure::parse(&msg);
    assert_eq!(s.root().children().len(), 9_000);
    assert_eq!(MessageStructure::decode(&s.encode()), Ok(s));

    let mut to = String::from("To: g:");
    for i in 0..3000 {
        to.push_str(&format!("u{i}@h,"));
    }
    to.push_str("\r\nReferences:");
    for i in 0..300 {
        to.push_str(&format!(" <r{i}@x>"));
    }
    let s = MessageStructure::parse(format!("{to}\r\n\r\n").as_bytes());
    let list = &s.envelope().to;
    assert_eq!(list.len(), 1000);
    assert!(list[0].is_group_start() && list[999].is_group_end());
    assert_eq!(s.references().len(), 100);
    assert_eq!(s.references()[99], "r299@x");
}

#[test]
fn deep_nesting_is_bounded() {
    let mut msg = Vec::new();
    for i in 0..200 {
        msg.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=a{i}\r\n\r\n--a{i}\r\n").as_bytes(),
        );
    }
    msg.extend_from_slice(b"\r\nend\r\n");
    let s = MessageStructure::parse(&msg);
    let mut depth = 0;
    let mut p = s.root();
    while let Some(c) = p.children().first() {
        depth += 1;
        p = c;
    }
    assert_eq!(depth, 50);
    assert_eq!(MessageStructure::decode(&s.encode()), Ok(s));

    let mut msg = Vec::new();
    for _ in 0..200 {
        msg.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    let s = MessageStructure::parse(&msg);
    assert_eq!(MessageStructure::decode(&s.encode()), Ok(s));
}

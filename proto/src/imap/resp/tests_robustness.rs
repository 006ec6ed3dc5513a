//! Robustness: encode → parse is the identity for every response, every
//! proper prefix of an encoding is Incomplete (the streaming contract), no
//! input makes the parser panic, malformed lines are refused with a useful
//! `expected`, and text is sanitised.

use proptest::prelude::*;

use super::strategy;
use super::*;
use crate::imap::core::ParseFailure;

fn encode(r: &Response) -> String {
    let mut out = Vec::new();
    r.encode(&mut out, Ctx::REV1);
    String::from_utf8_lossy(&out).into_owned()
}

fn check_round_trip(r: &Response, ctx: Ctx) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    r.encode(&mut out, ctx);
    let parsed = parse_response(&out, ctx);
    prop_assert_eq!(
        parsed,
        Ok((out.len(), r.clone())),
        "wire: {:?}",
        String::from_utf8_lossy(&out)
    );
    // Followed by another response, it takes only its own bytes.
    let mut two = out.clone();
    two.extend_from_slice(b"* 1 EXISTS\r\n");
    prop_assert_eq!(parse_response(&two, ctx).map(|(n, _)| n), Ok(out.len()));
    for n in 0..out.len() {
        let prefix = &out[..n];
        prop_assert_eq!(
            parse_response(prefix, ctx),
            Err(ResponseError::Incomplete),
            "prefix {:?} of {:?}",
            String::from_utf8_lossy(prefix),
            String::from_utf8_lossy(&out)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_rev1(r in strategy::response()) {
        check_round_trip(&r, Ctx::REV1)?;
    }

    #[test]
    fn round_trip_utf8(r in strategy::response()) {
        check_round_trip(&r, Ctx::UTF8)?;
    }

    #[test]
    fn round_trip_fetch(seq in 1u32.., items in proptest::collection::vec(strategy::fetch_item(), 1..6)) {
        let r = Response::Data(Data::Fetch { seq, items });
        check_round_trip(&r, Ctx::REV1)?;
        check_round_trip(&r, Ctx::UTF8)?;
    }

    #[test]
    fn round_trip_status(s in strategy::status()) {
        check_round_trip(&Response::Status(s), Ctx::REV1)?;
    }

    #[test]
    fn literal_plus_is_never_written(r in strategy::response()) {
        let lp = Ctx { utf8: false, literal_plus: true };
        let mut a = Vec::new();
        r.encode(&mut a, lp);
        let mut b = Vec::new();
        r.encode(&mut b, Ctx::REV1);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_response(&bytes, Ctx::REV1);
        let _ = parse_response(&bytes, Ctx::UTF8);
    }

    #[test]
    fn mutated_responses_never_panic(
        r in strategy::response(),
        pos in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        if !out.is_empty() {
            let p = pos % out.len();
            out[p] = byte;
            let _ = parse_response(&out, Ctx::REV1);
            out.truncate(p + 1);
            let _ = parse_response(&out, Ctx::UTF8);
        }
    }
}

fn invalid(line: &str) -> ParseFailure {
    match parse_response(line.as_bytes(), Ctx::REV1) {
        Err(ResponseError::Invalid(f)) => f,
        other => panic!("{line:?}: {other:?}"),
    }
}

#[test]
fn malformed_lines() {
    let cases: [(&str, usize, &str); 14] = [
        ("* OK [UIDNEXT abc] x\r\n", 14, "expected a number"),
        ("* FOO bar\r\n", 2, "unknown untagged response"),
        ("a1 PREAUTH x\r\n", 3, "expected OK, NO or BAD"),
        (
            "* 5 FOO\r\n",
            4,
            "expected EXISTS, RECENT, EXPUNGE or FETCH",
        ),
        ("* 1 FETCH (FOO 1)\r\n", 11, "unknown FETCH data item"),
        ("* OK hello\n", 10, "expected end of line"),
        ("* STATUS INBOX (FOO 1)\r\n", 16, "unknown STATUS attribute"),
        (
            "* LIST (\\Noselect) \"ab\" x\r\n",
            19,
            "expected a one-character delimiter",
        ),
        (
            "* ESEARCH COUNT 1 FOO 2\r\n",
            18,
            "expected MIN, MAX, ALL, COUNT or MODSEQ",
        ),
        ("* 0 FETCH (UID 1)\r\n", 2, "message number 0 is not valid"),
        ("* THREAD (1)x\r\n", 12, "expected end of line"),
        ("+ abc\0\r\n", 5, "expected end of line"),
        ("* OK [PERMANENTFLAGS \\Seen] x\r\n", 21, "expected '('"),
        ("*OK x\r\n", 1, "expected a space"),
    ];
    for (line, offset, expected) in cases {
        assert_eq!(invalid(line), ParseFailure { offset, expected }, "{line:?}");
    }
    assert!(
        !invalid("* 1 FETCH (BODY[] {3}\r\na\0b)\r\n")
            .expected
            .is_empty()
    );
}

#[test]
fn constructors_sanitise_text() {
    let t = Tag::try_from("a1").unwrap();
    let st = Status::no(Some(t), Some(Code::TryCreate), "no\r\nsuch\0box");
    assert_eq!(st.text, "no  such box");
    assert_eq!(encode(&st.into()), "a1 NO [TRYCREATE] no  such box\r\n");
    // Values built by hand are cleaned by the encoder.
    let st = Status {
        tag: None,
        kind: StatusKind::Bye,
        code: None,
        text: "bye\n".into(),
    };
    assert_eq!(encode(&st.into()), "* BYE bye \r\n");
    assert_eq!(encode(&Status::bye(None, "x").into()), "* BYE x\r\n");
    assert_eq!(
        encode(&Status::preauth(Some(Code::Alert), "hi").into()),
        "* PREAUTH [ALERT] hi\r\n"
    );
    assert_eq!(encode(&Status::ok(None, None, "").into()), "* OK\r\n");
    assert_eq!(
        encode(&Continue::Text("go\r\n".into()).into()),
        "+ go  \r\n"
    );
    assert_eq!(
        encode(&Continue::Base64(b"hello".to_vec()).into()),
        "+ aGVsbG8=\r\n"
    );
    // Tagged PREAUTH/BYE cannot exist: they are written untagged.
    let st = Status {
        tag: Some(Tag::try_from("a2").unwrap()),
        kind: StatusKind::Bye,
        code: None,
        text: "x".into(),
    };
    assert_eq!(encode(&st.into()), "* BYE x\r\n");
    // Capabilities that are not atoms are not written.
    assert_eq!(
        encode(&Data::Capability(vec!["IMAP4rev2".into(), "a b".into(), String::new()]).into()),
        "* CAPABILITY IMAP4rev2\r\n"
    );
}

#[test]
fn valid_prefixes_are_incomplete() {
    for prefix in [
        &b""[..],
        b"*",
        b"* ",
        b"a1 O",
        b"+",
        b"+ abc",
        b"* OK [UIDNEXT 5",
        b"* OK [X-FOO bar",
        b"* 1 FETCH (BODY[] {10}\r\nabc",
        b"* 1 FETCH (BINARY[] ~{10}\r\na\0c",
        b"* 1 FETCH (BODY[HEADER.FIELDS (DATE",
        b"* LIST (\\Noselect) \"/\" {3}\r\nab",
        b"* THREAD (1 (2)(3",
        b"* NAMESPACE ((\"\" \"/\")",
        b"* STATUS INBOX (MESSAGES 1 UIDN",
        b"* 1 FETCH (INTERNALDATE \"17-Jul-19",
    ] {
        assert_eq!(
            parse_response(prefix, Ctx::REV1),
            Err(ResponseError::Incomplete),
            "{}",
            String::from_utf8_lossy(prefix)
        );
    }
}

/// Found by the `imap_response` fuzz target: BODY (the non-extensible form)
/// sent with extension data is read without it, so parse → encode → parse
/// gives the same value.
#[test]
fn body_with_extension_data_reads_as_plain_body() {
    let line = b"* 1 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 1 NIL NIL NIL NIL))\r\n";
    for ctx in [Ctx::REV1, Ctx::UTF8] {
        let (n, resp) = parse_response(line, ctx).unwrap();
        assert_eq!(n, line.len());
        let mut out = Vec::new();
        resp.encode(&mut out, ctx);
        assert_eq!(
            out,
            b"* 1 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 1))\r\n"
        );
        assert_eq!(parse_response(&out, ctx).unwrap().1, resp);
    }
}

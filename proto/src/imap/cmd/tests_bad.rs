//! Malformed commands: each input gives an exact [`CommandError`] (tag,
//! offset and the reason a `BAD` reply states).

use super::*;

fn bad(input: &[u8], ctx: Ctx) -> (Option<String>, usize, &'static str) {
    match parse_command(input, ctx) {
        Err(CommandError::Invalid { tag, failure }) => (
            tag.map(|t| t.as_str().to_string()),
            failure.offset,
            failure.expected,
        ),
        other => panic!(
            "{:?}: expected Invalid, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

#[test]
fn malformed_commands() {
    let nested_not = [b"A1 SEARCH ".as_slice(), &b"NOT ".repeat(40), b"ALL\r\n"].concat();
    let nested_paren = [b"A1 SEARCH ".as_slice(), &b"(".repeat(40), b"ALL\r\n"].concat();
    let cases: Vec<(&[u8], Option<&str>, usize, &str)> = vec![
        (b"\r\n", None, 0, "expected a tag"),
        (b" NOOP\r\n", None, 0, "expected a tag"),
        (b"(x NOOP\r\n", None, 0, "expected a tag"),
        (b"a+b NOOP\r\n", Some("a"), 1, "expected a space"),
        (b"A1 FOO\r\n", Some("A1"), 3, "unknown command"),
        (b"A1 (\r\n", Some("A1"), 3, "expected a command name"),
        (b"A1 SELECT\r\n", Some("A1"), 9, "expected a space"),
        (b"A1 LOGIN fred\r\n", Some("A1"), 13, "expected a space"),
        (b"A1 NOOP extra\r\n", Some("A1"), 7, "expected end of line"),
        (b"A1 NOOP\n", Some("A1"), 7, "expected end of line"),
        (
            b"A1 SELECT INBOX)\r\n",
            Some("A1"),
            15,
            "expected end of line",
        ),
        (
            b"A1 FETCH 1:x FLAGS\r\n",
            Some("A1"),
            9,
            "expected a sequence set",
        ),
        (
            b"A1 FETCH 0 FLAGS\r\n",
            Some("A1"),
            9,
            "expected a sequence set",
        ),
        (
            b"A1 COPY 1,,2 x\r\n",
            Some("A1"),
            10,
            "expected a sequence set",
        ),
        (
            b"A1 SEARCH SUBJECT \"caf\xc3\xa9\"\r\n",
            Some("A1"),
            18,
            "8-bit characters need a literal",
        ),
        (
            b"A1 LOGIN \"\xff\" x\r\n",
            Some("A1"),
            9,
            "8-bit characters need a literal",
        ),
        (
            b"A1 LOGIN {3}\r\na\0b x\r\n",
            Some("A1"),
            9,
            "NUL is not allowed in a literal",
        ),
        (
            b"A1 APPEND x {3}\r\na\0b\r\n",
            Some("A1"),
            11,
            "NUL is not allowed in a literal",
        ),
        (
            &nested_not,
            Some("A1"),
            10 + 4 * 32,
            "search nesting too deep",
        ),
        (
            &nested_paren,
            Some("A1"),
            10 + 32,
            "search nesting too deep",
        ),
        (
            b"A1 UID NOOP\r\n",
            Some("A1"),
            7,
            "expected COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE, SORT, THREAD or REPLACE after UID",
        ),
        (
            b"A1 FETCH 1 (FLAGS FOO)\r\n",
            Some("A1"),
            18,
            "expected a fetch attribute",
        ),
        (
            b"A1 FETCH 1 FOO\r\n",
            Some("A1"),
            11,
            "expected a fetch attribute",
        ),
        (
            b"A1 FETCH 1 (FLAGS\r\n",
            Some("A1"),
            17,
            "expected ' ' or ')' after fetch attribute",
        ),
        (
            b"A1 FETCH 1 BODY[MIME]\r\n",
            Some("A1"),
            16,
            "expected HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME",
        ),
        (
            b"A1 FETCH 1 FLAGS (CHANGEDSINCE 0)\r\n",
            Some("A1"),
            31,
            "expected a mod-sequence",
        ),
        (
            b"A1 STORE 1 FLAGZ (\\Seen)\r\n",
            Some("A1"),
            11,
            "expected FLAGS, +FLAGS or -FLAGS, optionally with .SILENT",
        ),
        (
            b"A1 SEARCH FOO\r\n",
            Some("A1"),
            10,
            "expected a search key",
        ),
        (b"A1 SEARCH\r\n", Some("A1"), 9, "expected a space"),
        (
            b"A1 SEARCH BEFORE 30-Feb-2020\r\n",
            Some("A1"),
            17,
            "no such date",
        ),
        (
            b"A1 SEARCH SINCE yesterday\r\n",
            Some("A1"),
            16,
            "expected a date like 1-Feb-1994",
        ),
        (
            b"A1 SELECT INBOX (FOO)\r\n",
            Some("A1"),
            17,
            "expected CONDSTORE or QRESYNC",
        ),
        (
            b"A1 APPEND INBOX (\\Seen) x\r\n",
            Some("A1"),
            24,
            "expected a literal with the message",
        ),
        (
            b"A1 SORT (FOO) UTF-8 ALL\r\n",
            Some("A1"),
            9,
            "expected a sort key (ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO)",
        ),
        (
            b"A1 STATUS x ()\r\n",
            Some("A1"),
            13,
            "expected a non-empty list",
        ),
        (
            b"A1 STATUS x (FOO)\r\n",
            Some("A1"),
            13,
            "unknown STATUS attribute",
        ),
        (
            b"A1 LIST (FOO) \"\" *\r\n",
            Some("A1"),
            9,
            "expected SUBSCRIBED, REMOTE, RECURSIVEMATCH or SPECIAL-USE",
        ),
        (
            b"A1 AUTHENTICATE PLAIN ***\r\n",
            Some("A1"),
            22,
            "expected a base64 initial response",
        ),
        (
            b"A1 ENABLE\r\n",
            Some("A1"),
            9,
            "expected a capability name",
        ),
        (b"A1 ID foo\r\n", Some("A1"), 6, "expected NIL or '('"),
        (
            b"A1 FETCH 1 (FLAGS) (CHANGEDSINCE 5 VANISHED)\r\n",
            Some("A1"),
            19,
            "VANISHED needs UID FETCH and CHANGEDSINCE",
        ),
        (
            b"A1 UID FETCH 1 (FLAGS) (VANISHED)\r\n",
            Some("A1"),
            23,
            "VANISHED needs UID FETCH and CHANGEDSINCE",
        ),
        (
            b"A1 LIST (RECURSIVEMATCH) \"\" *\r\n",
            Some("A1"),
            8,
            "RECURSIVEMATCH needs SUBSCRIBED",
        ),
        (b"A1  NOOP\r\n", Some("A1"), 3, "expected a command name"),
        (
            b"A1 STORE 1 FLAGS (\\*)\r\n",
            Some("A1"),
            19,
            "expected a flag",
        ),
        // `~` is an ASTRING-CHAR: `~{3}` is no literal8 here.
        (
            b"A1 LOGIN ~{3}\r\nabc x\r\n",
            Some("A1"),
            10,
            "expected a space",
        ),
        (
            b"A1 SEARCH MODSEQ 9223372036854775808\r\n",
            Some("A1"),
            17,
            "number too large",
        ),
        (
            b"A1 SELECT &Jjo\r\n",
            Some("A1"),
            10,
            "invalid modified UTF-7 in mailbox name",
        ),
    ];
    let mut wrong = Vec::new();
    for (input, tag, offset, expected) in cases {
        let got = bad(input, Ctx::REV1);
        if got != (tag.map(str::to_string), offset, expected) {
            wrong.push(format!("{:?} -> {got:?}", String::from_utf8_lossy(input)));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn utf8_mode_differences() {
    // 8-bit quoted strings are fine in UTF-8 mode, but must be valid UTF-8.
    let (_, c) = parse_command(b"A1 SEARCH SUBJECT \"caf\xc3\xa9\"\r\n", Ctx::UTF8).unwrap();
    assert_eq!(
        c.body,
        CommandBody::Search(SearchCommand {
            uid: false,
            returns: None,
            charset: None,
            keys: vec![SearchKey::Subject("café".as_bytes().to_vec())]
        })
    );
    assert_eq!(
        bad(b"A1 SEARCH SUBJECT \"\xff\"\r\n", Ctx::UTF8),
        (Some("A1".into()), 18, "invalid UTF-8 in quoted string")
    );
}

#[test]
fn incomplete_prefixes() {
    for input in [
        b"".as_slice(),
        b"A1",
        b"A1 ",
        b"A1 NOOP",
        b"A1 NOOP\r",
        b"A1 LOGIN {5}\r\n",
        b"A1 LOGIN {5}\r\nfred",
        b"A1 APPEND x {10}\r\n0123",
        b"A1 APPEND x {1}\r\n0",
        b"A1 FETCH 1:",
        b"A1 SEARCH NOT (OR",
        b"A1 UID",
    ] {
        assert_eq!(
            parse_command(input, Ctx::REV1).err(),
            Some(CommandError::Incomplete),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

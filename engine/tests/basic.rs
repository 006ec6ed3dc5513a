//! Transcripts of the basic commands on the bare core.
mod common;
use common::*;

#[test]
fn login_select_append_fetch_store_expunge() {
    let env = Env::new();
    let mut c = env.client();
    c.expect("a1 NOOP", &["a1 OK NOOP completed"]);
    c.expect(
        "a2 SELECT inbox",
        &["a2 BAD SELECT needs authentication: LOGIN or AUTHENTICATE first"],
    );
    let out = c.send("a3 LOGIN mox@localhost moxmoxmox");
    assert!(
        out.starts_with("a3 OK [CAPABILITY IMAP4rev2 IMAP4rev1 ENABLE"),
        "{out}"
    );
    assert!(!out.contains("AUTH="), "{out}");
    c.expect(
        "a4 SELECT inbox",
        &[
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)",
            "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] flags permitted",
            "* 0 EXISTS",
            "* 0 RECENT",
            "* OK [UIDVALIDITY 1] uidvalidity",
            "* OK [UIDNEXT 1] next uid",
            "* OK [HIGHESTMODSEQ 2] highest modseq",
            "a4 OK [READ-WRITE] SELECT completed",
        ],
    );
    assert_eq!(
        c.append("a5", "inbox", "\\Seen", &message("hello", "hi there")),
        "* 1 EXISTS\r\na5 OK [APPENDUID 1 1] APPEND completed\r\n"
    );
    c.expect(
        "a6 FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)",
        &[
            "* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE \" 2-Jan-2024 03:04:05 +0000\" RFC822.SIZE 148 ENVELOPE (\"Tue, 02 Jan 2024 10:00:00 +0000\" \"hello\" ((\"Mox\" NIL \"mox\" \"localhost\")) ((\"Mox\" NIL \"mox\" \"localhost\")) ((\"Mox\" NIL \"mox\" \"localhost\")) ((NIL NIL \"other\" \"example.org\")) NIL NIL NIL \"<hello@localhost>\") BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL))",
            "a6 OK FETCH completed",
        ],
    );
    c.expect(
        "a7 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[TEXT]<0.2>)",
        &[
            "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}",
            "Subject: hello",
            "",
            " BODY[TEXT]<0> \"hi\")",
            "a7 OK FETCH completed",
        ],
    );
    c.expect(
        "a8 STORE 1 +FLAGS (\\Deleted $Junk)",
        &[
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $junk)",
            "* 1 FETCH (FLAGS (\\Seen \\Deleted $junk))",
            "a8 OK STORE completed",
        ],
    );
    c.expect(
        "a9 SEARCH DELETED",
        &["* SEARCH 1", "a9 OK SEARCH completed"],
    );
    c.expect(
        "b0 UID SEARCH UNDELETED",
        &["* SEARCH", "b0 OK SEARCH completed"],
    );
    c.expect("b1 EXPUNGE", &["* 1 EXPUNGE", "b1 OK EXPUNGE completed"]);
    c.expect(
        "b2 STATUS inbox (MESSAGES UIDNEXT UNSEEN SIZE HIGHESTMODSEQ)",
        &[
            "* STATUS INBOX (MESSAGES 0 UIDNEXT 2 UNSEEN 0 SIZE 0 HIGHESTMODSEQ 5)",
            "b2 OK STATUS completed",
        ],
    );
    c.expect(
        "b3 FETCH 1 FLAGS",
        &["b3 BAD invalid message sequence number"],
    );
    c.expect(
        "b4 LOGOUT",
        &["* BYE logging out", "b4 OK LOGOUT completed"],
    );
    assert!(c.closed);
    env.check();
}

#[test]
fn body_fetch_sets_seen_except_peek_and_examine() {
    let env = Env::new();
    let mut c = env.login();
    c.append("a1", "Inbox", "", &message("one", "first"));
    c.send("a2 EXAMINE inbox");
    c.expect(
        "a3 FETCH 1 BODY[TEXT]",
        &[
            "* 1 FETCH (BODY[TEXT] {7}",
            "first",
            ")",
            "a3 OK FETCH completed",
        ],
    );
    c.expect(
        "a4 FETCH 1 FLAGS",
        &["* 1 FETCH (FLAGS ())", "a4 OK FETCH completed"],
    );
    c.expect(
        "a5 STORE 1 +FLAGS (\\Seen)",
        &["a5 NO [CANNOT] mailbox is read-only"],
    );
    c.send("a6 SELECT inbox");
    c.expect(
        "a7 FETCH 1 BODY.PEEK[1]",
        &[
            "* 1 FETCH (BODY[1] {7}",
            "first",
            ")",
            "a7 OK FETCH completed",
        ],
    );
    c.expect(
        "a8 UID FETCH 1 BODY[1]",
        &[
            "* 1 FETCH (UID 1 BODY[1] {7}",
            "first",
            " FLAGS (\\Seen))",
            "a8 OK FETCH completed",
        ],
    );
    c.expect(
        "a9 FETCH 1 (FLAGS BODY[1])",
        &[
            "* 1 FETCH (FLAGS (\\Seen) BODY[1] {7}",
            "first",
            ")",
            "a9 OK FETCH completed",
        ],
    );
    env.check();
}

#[test]
fn close_unselect_copy_move() {
    let env = Env::new();
    let mut c = env.login();
    for (i, s) in ["m1", "m2", "m3"].iter().enumerate() {
        let out = c.append(&format!("p{i}"), "inbox", "", &message(s, "x"));
        assert!(out.contains("OK [APPENDUID 1"), "{out}");
    }
    c.send("a1 SELECT inbox");
    c.expect(
        "a2 COPY 1:2 Archive",
        &["a2 OK [COPYUID 3 1:2 1:2] COPY completed"],
    );
    c.expect("a3 COPY 1 Nope", &["a3 NO [TRYCREATE] no such mailbox"]);
    c.expect(
        "a4 UID MOVE 2:3 Trash",
        &[
            "* OK [COPYUID 4 2:3 1:2] moved",
            "* 2 EXPUNGE",
            "* 2 EXPUNGE",
            "a4 OK MOVE completed",
        ],
    );
    c.expect("a5 UID MOVE 9 Trash", &["a5 OK no messages moved"]);
    c.expect(
        "a6 STORE 1 +FLAGS.SILENT (\\Deleted)",
        &["a6 OK STORE completed"],
    );
    c.expect("a7 CLOSE", &["a7 OK CLOSE completed"]);
    c.expect(
        "a8 STATUS inbox (MESSAGES)",
        &["* STATUS INBOX (MESSAGES 0)", "a8 OK STATUS completed"],
    );
    c.expect(
        "a9 STATUS Trash (MESSAGES UIDNEXT)",
        &[
            "* STATUS Trash (MESSAGES 2 UIDNEXT 3)",
            "a9 OK STATUS completed",
        ],
    );
    c.send("b1 EXAMINE Archive");
    c.expect("b2 UNSELECT", &["b2 OK UNSELECT completed"]);
    c.expect(
        "b3 FETCH 1 FLAGS",
        &["b3 BAD FETCH needs a selected mailbox: SELECT first"],
    );
    env.check();
}

#[test]
fn large_fetch_comes_in_chunks() {
    let env = Env::new();
    let acct = env.store.account("mox").unwrap();
    let inbox = acct.mailbox("Inbox").unwrap();
    let msgs: Vec<String> = (0..1050).map(|i| message(&format!("n{i}"), "x")).collect();
    let new: Vec<moxide_storage::NewMessage<'_>> = msgs
        .iter()
        .map(|m| moxide_storage::NewMessage {
            data: m.as_bytes(),
            received: T0,
            saved: T0,
            ..Default::default()
        })
        .collect();
    acct.import(inbox.id, &new).unwrap();
    let mut c = env.login();
    c.send("a1 SELECT inbox");
    moxide_proto::conn::Conn::handle_input(
        &mut c.s,
        c.now,
        b"a2 FETCH 1:* (UID RFC822.SIZE)\r\na3 NOOP\r\n",
    );
    let mut chunks = Vec::new();
    loop {
        let mut out = Vec::new();
        moxide_proto::conn::Conn::poll_transmit(&mut c.s, &mut out);
        if out.is_empty() {
            break;
        }
        chunks.push(String::from_utf8(out).unwrap());
    }
    assert_eq!(chunks.len(), 3, "500 messages per chunk");
    let all = chunks.concat();
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 1052);
    assert_eq!(lines[0], "* 1 FETCH (UID 1 RFC822.SIZE 135)");
    assert_eq!(lines[1049], "* 1050 FETCH (UID 1050 RFC822.SIZE 141)");
    assert_eq!(lines[1050], "a2 OK FETCH completed");
    assert_eq!(lines[1051], "a3 OK NOOP completed");
    env.check();
}

#[test]
fn partial_fetches() {
    let env = Env::new();
    let mut c = env.login();
    c.append("p1", "inbox", "", &message("part", "0123456789"));
    c.send("a1 SELECT inbox");
    c.expect(
        "a2 FETCH 1 (BODY.PEEK[]<0.4> BODY.PEEK[]<500.4> BODY.PEEK[TEXT]<3.4> BINARY.PEEK[1]<8.10>)",
        &[
            "* 1 FETCH (BODY[]<0> \"From\" BODY[]<500> \"\" BODY[TEXT]<3> \"3456\" BINARY[1]<8> {4}",
            "89",
            ")",
            "a2 OK FETCH completed",
        ],
    );
    c.expect(
        "a3 FETCH 1 (RFC822.HEADER RFC822.TEXT)",
        &[
            "* 1 FETCH (RFC822.HEADER {136}",
            "From: Mox <mox@localhost>",
            "To: other@example.org",
            "Subject: part",
            "Date: Tue, 02 Jan 2024 10:00:00 +0000",
            "Message-ID: <part@localhost>",
            "",
            " RFC822.TEXT {12}",
            "0123456789",
            " FLAGS (\\Seen))",
            "a3 OK FETCH completed",
        ],
    );
}

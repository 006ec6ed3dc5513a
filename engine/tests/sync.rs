//! Two sessions on one account: changes by one reach the other at the next
//! command and, during IDLE, as soon as the runtime reports changes.
mod common;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;

#[test]
fn changes_reach_other_session_at_noop() {
    let env = Env::new();
    let mut a = env.login();
    let mut b = env.login();
    a.append("p1", "inbox", "", &message("m1", "one"));
    a.append("p2", "inbox", "", &message("m2", "two"));
    a.send("a1 SELECT inbox");
    b.send("b1 SELECT inbox");
    a.append("a2", "inbox", "", &message("m3", "three"));
    a.expect(
        "a3 STORE 1 +FLAGS.SILENT (\\Deleted)",
        &["a3 OK STORE completed"],
    );
    a.expect(
        "a4 UID STORE 2 +FLAGS (\\Flagged)",
        &[
            "* 2 FETCH (FLAGS (\\Flagged) UID 2)",
            "a4 OK STORE completed",
        ],
    );
    // Not during FETCH by sequence number: no EXPUNGE there.
    a.expect("a5 EXPUNGE", &["* 1 EXPUNGE", "a5 OK EXPUNGE completed"]);
    b.expect(
        "b2 FETCH 1 UID",
        &["* 1 FETCH (UID 1)", "b2 OK FETCH completed"],
    );
    b.expect(
        "b3 NOOP",
        &[
            "* 1 FETCH (UID 1 FLAGS (\\Deleted))",
            "* 2 FETCH (UID 2 FLAGS (\\Flagged))",
            "* 1 EXPUNGE",
            "* 2 EXISTS",
            "b3 OK NOOP completed",
        ],
    );
    b.expect(
        "b4 FETCH 1:* UID",
        &[
            "* 1 FETCH (UID 2)",
            "* 2 FETCH (UID 3)",
            "b4 OK FETCH completed",
        ],
    );
    b.expect("b5 NOOP", &["b5 OK NOOP completed"]);
    env.check();
}

#[test]
fn idle_gets_changes_when_notified() {
    let env = Env::new();
    let mut a = env.login();
    let mut b = env.login();
    let woken = Arc::new(AtomicUsize::new(0));
    let w = woken.clone();
    b.s.set_notify(Arc::new(move || {
        w.fetch_add(1, Ordering::SeqCst);
    }));
    a.send("a1 SELECT inbox");
    b.send("b1 SELECT inbox");
    b.expect("b2 IDLE", &["+ idling"]);
    assert_eq!(
        a.append("a2", "inbox", "", &message("m1", "one")),
        "* 1 EXISTS\r\na2 OK [APPENDUID 1 1] APPEND completed\r\n"
    );
    assert!(woken.load(Ordering::SeqCst) > 0);
    assert_eq!(b.changes(), "* 1 EXISTS\r\n");
    a.send("a3 STORE 1 +FLAGS (\\Seen)");
    assert_eq!(b.changes(), "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n");
    a.send("a4 STORE 1 +FLAGS (\\Deleted)");
    a.send("a5 EXPUNGE");
    assert_eq!(
        b.changes(),
        "* 1 FETCH (UID 1 FLAGS (\\Seen \\Deleted))\r\n* 1 EXPUNGE\r\n"
    );
    assert_eq!(b.changes(), "");
    b.expect("DONE", &["b2 OK IDLE terminated"]);
    env.check();
}

#[test]
fn condstore_and_qresync() {
    let env = Env::new();
    let mut a = env.login();
    for i in 1..=3 {
        a.append(
            &format!("p{i}"),
            "inbox",
            "",
            &message(&format!("m{i}"), "x"),
        );
    }
    a.expect(
        "a1 ENABLE QRESYNC",
        &["* ENABLED QRESYNC", "a1 OK ENABLE completed"],
    );
    a.expect(
        "a2 SELECT inbox",
        &[
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)",
            "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] flags permitted",
            "* 3 EXISTS",
            "* 0 RECENT",
            "* OK [UNSEEN 1] first unseen",
            "* OK [UIDVALIDITY 1] uidvalidity",
            "* OK [UIDNEXT 4] next uid",
            "* OK [HIGHESTMODSEQ 5] highest modseq",
            "a2 OK [READ-WRITE] SELECT completed",
        ],
    );
    a.expect(
        "a3 FETCH 1:* (FLAGS) (CHANGEDSINCE 3)",
        &[
            "* 2 FETCH (FLAGS () MODSEQ (4))",
            "* 3 FETCH (FLAGS () MODSEQ (5))",
            "a3 OK FETCH completed",
        ],
    );
    a.expect(
        "a4 STORE 1 (UNCHANGEDSINCE 3) +FLAGS (\\Seen)",
        &[
            "* 1 FETCH (FLAGS (\\Seen) MODSEQ (6))",
            "a4 OK STORE completed",
        ],
    );
    a.expect(
        "a5 STORE 1,2 (UNCHANGEDSINCE 4) +FLAGS (\\Answered)",
        &[
            "* 2 FETCH (FLAGS (\\Answered) MODSEQ (7))",
            "a5 OK [MODIFIED 1] conditional STORE failed for some messages",
        ],
    );
    a.expect(
        "a6 STORE 3 +FLAGS (\\Deleted)",
        &[
            "* 3 FETCH (FLAGS (\\Deleted) MODSEQ (8))",
            "a6 OK STORE completed",
        ],
    );
    a.expect("a7 EXPUNGE", &["* VANISHED 3", "a7 OK EXPUNGE completed"]);
    a.expect(
        "a8 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5 VANISHED)",
        &[
            "* VANISHED (EARLIER) 3",
            "* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (6))",
            "* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ (7))",
            "a8 OK FETCH completed",
        ],
    );
    a.expect("a9 UNSELECT", &["a9 OK UNSELECT completed"]);
    a.expect(
        "b1 EXAMINE inbox (QRESYNC (1 6 1:5))",
        &[
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)",
            "* OK [PERMANENTFLAGS ()] flags permitted",
            "* 2 EXISTS",
            "* 0 RECENT",
            "* OK [UNSEEN 2] first unseen",
            "* OK [UIDVALIDITY 1] uidvalidity",
            "* OK [UIDNEXT 4] next uid",
            "* OK [HIGHESTMODSEQ 9] highest modseq",
            "* VANISHED (EARLIER) 3",
            "* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ (7))",
            "b1 OK [READ-ONLY] EXAMINE completed",
        ],
    );
    a.expect(
        "b2 UID SEARCH RETURN (MIN MAX COUNT ALL) MODSEQ 6",
        &[
            "* ESEARCH (TAG \"b2\") UID MIN 1 MAX 2 ALL 1:2 COUNT 2 MODSEQ 7",
            "b2 OK SEARCH completed",
        ],
    );
    a.expect(
        "b3 SEARCH MODSEQ 7",
        &["* SEARCH 2 (MODSEQ 7)", "b3 OK SEARCH completed"],
    );
    let out = a.send("b4 SELECT Sent");
    assert!(
        out.starts_with("* OK [CLOSED] previous mailbox closed\r\n* FLAGS"),
        "{out}"
    );
    env.check();
}

#[test]
fn qresync_session_sees_vanished_and_utf8_append() {
    let env = Env::new();
    let mut a = env.login();
    let mut b = env.login();
    a.append("p1", "inbox", "", &message("m1", "one"));
    a.append("p2", "inbox", "", &message("m2", "two"));
    b.expect(
        "b1 ENABLE QRESYNC UTF8=ACCEPT",
        &["* ENABLED QRESYNC UTF8=ACCEPT", "b1 OK ENABLE completed"],
    );
    b.send("b2 SELECT inbox");
    a.send("a1 SELECT inbox");
    a.send("a2 STORE 1 +FLAGS.SILENT (\\Deleted)");
    a.send("a3 EXPUNGE");
    b.expect(
        "b3 NOOP",
        &[
            "* 1 FETCH (UID 1 FLAGS (\\Deleted) MODSEQ (5))",
            "* VANISHED 1",
            "b3 OK NOOP completed",
        ],
    );
    // RFC 6855 4: APPEND with the UTF8 data item.
    let msg = "From: Zoë <zoe@example.org>\r\nSubject: Grüße\r\n\r\nHallo\r\n";
    let cmd = format!("b4 APPEND Inbox UTF8 (~{{{}+}}\r\n{msg})\r\n", msg.len());
    assert_eq!(
        b.raw(cmd.as_bytes()),
        "* 2 EXISTS\r\nb4 OK [APPENDUID 1 3] APPEND completed\r\n"
    );
    b.expect(
        "b5 UID FETCH 3 ENVELOPE",
        &[
            "* 2 FETCH (UID 3 ENVELOPE (NIL \"Grüße\" ((\"Zoë\" NIL \"zoe\" \"example.org\")) ((\"Zoë\" NIL \"zoe\" \"example.org\")) ((\"Zoë\" NIL \"zoe\" \"example.org\")) NIL NIL NIL NIL NIL))",
            "b5 OK FETCH completed",
        ],
    );
    env.check();
}

//! Random command sequences never panic, and every command gets exactly one
//! tagged answer (the session never hangs on input it cannot parse).
mod common;
use common::*;
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "1",
    "2",
    "*",
    "1:*",
    "$",
    "2:4",
    "0",
    "4294967295",
    "INBOX",
    "Sent",
    "Trash",
    "nope",
    "\"a b\"",
    "()",
    "(\\Seen)",
    "(\\Deleted $x)",
    "FLAGS",
    "+FLAGS",
    "-FLAGS.SILENT",
    "UID",
    "BODY[]",
    "BODY.PEEK[1.MIME]",
    "BODY[HEADER.FIELDS (SUBJECT)]<0.5>",
    "BINARY[1]",
    "BINARY.SIZE[2]",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "(FLAGS MODSEQ)",
    "(CHANGEDSINCE 1)",
    "(UNCHANGEDSINCE 2)",
    "TEXT",
    "x",
    "OR",
    "NOT",
    "ALL",
    "SEEN",
    "RETURN",
    "(SAVE)",
    "(MIN MAX COUNT ALL)",
    "CHARSET",
    "UTF-8",
    "MODSEQ",
    "HEADER",
    "Subject",
    "LARGER",
    "SINCE",
    "1-Jan-2024",
    "SUBJECT",
    "(REVERSE DATE)",
    "REFERENCES",
    "ORDEREDSUBJECT",
    "(QRESYNC (1 1 1:*))",
    "(CONDSTORE)",
    "RETURN (STATUS (MESSAGES))",
    "%",
    "\"\"",
];

const COMMANDS: &[&str] = &[
    "FETCH",
    "UID FETCH",
    "STORE",
    "UID STORE",
    "SEARCH",
    "UID SEARCH",
    "COPY",
    "UID MOVE",
    "MOVE",
    "EXPUNGE",
    "UID EXPUNGE",
    "SELECT",
    "EXAMINE",
    "STATUS",
    "LIST",
    "CREATE",
    "DELETE",
    "RENAME",
    "SORT",
    "UID THREAD",
    "THREAD",
    "NOOP",
    "CLOSE",
    "UNSELECT",
    "ENABLE",
    "GETQUOTAROOT",
    "SUBSCRIBE",
    "LSUB",
    "NAMESPACE",
    "ID",
    "CHECK",
];

fn command() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(COMMANDS),
        proptest::collection::vec(proptest::sample::select(WORDS), 0..6),
    )
        .prop_map(|(c, args)| {
            let mut s = c.to_string();
            for a in args {
                s.push(' ');
                s.push_str(a);
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]
    #[test]
    fn random_commands(cmds in proptest::collection::vec(command(), 1..40)) {
        let env = Env::new();
        let mut c = env.login();
        c.append("p1", "inbox", "", &message("one", "body one"));
        c.append("p2", "inbox", "\\Seen", &message("two", "body two"));
        c.send("s1 SELECT inbox");
        for (i, cmd) in cmds.iter().enumerate() {
            let tag = format!("t{i}");
            let out = c.send(&format!("{tag} {cmd}"));
            let tagged = out.lines().filter(|l| l.starts_with(&format!("{tag} "))).count();
            prop_assert_eq!(tagged, 1, "C: {} {}\nS: {}", tag, cmd, out);
        }
        env.check();
    }
}

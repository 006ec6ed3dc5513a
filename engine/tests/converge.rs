//! Property: whatever one session does, another session on the same
//! mailbox that only follows the untagged updates (at NOOP or in IDLE)
//! ends with the same view as a session that selects afresh.
mod common;
use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(u8),
    Store(u8, &'static str),
    Expunge,
    UidExpunge(u8),
    MoveOut(u8),
    CopyIn,
    Noop,
    Idle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3).prop_map(Op::Append),
        (
            1u8..8,
            proptest::sample::select(
                &[
                    "+FLAGS (\\Deleted)",
                    "-FLAGS (\\Deleted)",
                    "FLAGS (\\Seen $a)",
                    "+FLAGS.SILENT (\\Flagged)"
                ][..]
            )
        )
            .prop_map(|(n, f)| Op::Store(n, f)),
        Just(Op::Expunge),
        (1u8..10).prop_map(Op::UidExpunge),
        (1u8..8).prop_map(Op::MoveOut),
        Just(Op::CopyIn),
        Just(Op::Noop),
        Just(Op::Idle),
    ]
}

/// The view a client has: `* n FETCH (UID u FLAGS (…))` for every message.
fn view(c: &mut Client, tag: &str) -> String {
    let out = c.send(&format!("{tag} FETCH 1:* (UID FLAGS)"));
    if out.contains(&format!("{tag} BAD")) {
        // Empty mailbox.
        return String::new();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]
    #[test]
    fn follower_converges(ops in proptest::collection::vec(op(), 1..30), qresync: bool) {
        let env = Env::new();
        let mut a = env.login();
        let mut b = env.login();
        a.append("p0", "inbox", "", &message("m0", "x"));
        a.append("p1", "Archive", "", &message("arch", "x"));
        a.send("a0 SELECT inbox");
        if qresync {
            // Expunges then reach the follower as VANISHED.
            b.send("bq ENABLE QRESYNC");
        }
        b.send("b0 SELECT inbox");
        let mut idle = false;
        for (i, op) in ops.iter().enumerate() {
            let t = format!("a{}", i + 1);
            match op {
                Op::Append(f) => {
                    let flags = ["", "\\Seen", "\\Deleted"][*f as usize];
                    a.append(&t, "inbox", flags, &message(&format!("n{i}"), "y"));
                }
                Op::Store(n, f) => {
                    a.send(&format!("{t} UID STORE {n} {f}"));
                }
                Op::Expunge => {
                    a.send(&format!("{t} EXPUNGE"));
                }
                Op::UidExpunge(n) => {
                    a.send(&format!("{t} UID EXPUNGE 1:{n}"));
                }
                Op::MoveOut(n) => {
                    a.send(&format!("{t} UID MOVE {n} Trash"));
                }
                Op::CopyIn => {
                    a.send(&format!("{t} SELECT Archive"));
                    a.send(&format!("{t}c COPY 1 inbox"));
                    a.send(&format!("{t}s SELECT inbox"));
                }
                Op::Noop => {
                    if idle {
                        b.changes();
                    } else {
                        b.send(&format!("b{} NOOP", i + 1));
                    }
                }
                Op::Idle => {
                    if idle {
                        b.send("DONE");
                    } else {
                        b.send(&format!("b{} IDLE", i + 1));
                    }
                    idle = !idle;
                }
            }
            if idle {
                b.changes();
            }
        }
        if idle {
            b.send("DONE");
        }
        b.send("bz NOOP");
        let followed = view(&mut b, "v");
        let mut c = env.login();
        c.send("c1 SELECT inbox");
        let fresh = view(&mut c, "v");
        prop_assert_eq!(followed, fresh);
        env.check();
    }
}

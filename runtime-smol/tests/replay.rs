//! `moxide replay FILE` as a command: the same bytes on two runs, exit
//! status 0 / 1 / 2 for matched, failed and malformed transcripts.

#[path = "common/cli.rs"]
mod cli;

use cli::{moxide_command, run};

fn replay(text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.txt");
    std::fs::write(&file, text).unwrap();
    let out = run(moxide_command(["replay"]).arg(&file), b"");
    (out.code.unwrap(), out.stdout, out.stderr)
}

const CLIENT_ONLY: &str = "\
C: a1 LOGIN mox@localhost moxmoxmox
C: a2 APPEND Inbox {?+}
C| Subject: hi
C|
C| hello
C:
C: a3 SELECT Inbox
C: a4 UID FETCH 1:* (FLAGS RFC822.SIZE)
C: a5 LOGOUT
";

#[test]
fn replay_prints_the_same_exchange_twice() {
    let (code, out, err) = replay(CLIENT_ONLY);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(replay(CLIENT_ONLY), (code, out.clone(), err));
    for line in [
        "C: a2 APPEND Inbox {22+}",
        "C: Subject: hi",
        "S: * 1 FETCH (UID 1 FLAGS () RFC822.SIZE 22)",
        "# result: no S: expectations in the file",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

#[test]
fn replay_exit_status_follows_the_expectations() {
    let (code, out, _) = replay("C: a1 NOOP\nS: a1 OK {{any}}\n");
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = replay("C: a1 NOOP\nS: a1 BAD {{any}}\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("# result: FAILED: "), "{out}");
    let (code, out, err) = replay("S: only\nZ: junk\n");
    assert_eq!(code, 2, "{out}");
    assert!(
        err.starts_with("moxide replay: ") && err.contains("line 2: "),
        "{err}"
    );
}

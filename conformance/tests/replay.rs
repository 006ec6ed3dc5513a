//! `moxide replay`'s library side: deterministic output, the exit status of
//! matched, mismatched and malformed transcripts.

use moxide_conformance::replay::{STATUS_BAD_FILE, STATUS_MISMATCH, STATUS_OK, replay_text};

const CLIENT_ONLY: &str = "\
C: a1 LOGIN mox@localhost moxmoxmox
C: a2 APPEND Inbox {?+}
C| Subject: hi
C|
C| hello
C:
C: a3 SELECT Inbox
C: a4 FETCH 1 (UID INTERNALDATE BODY[])
C: a5 LOGOUT
";

#[test]
fn replay_is_deterministic_and_prints_the_exchange() {
    let first = replay_text("t", CLIENT_ONLY).unwrap();
    let second = replay_text("t", CLIENT_ONLY).unwrap();
    assert_eq!(first, second, "two runs differ");
    assert_eq!(first.status, STATUS_OK);
    let out = &first.output;
    assert!(out.starts_with("S: * OK "), "{out}");
    for line in [
        "C: a1 LOGIN mox@localhost moxmoxmox",
        "C: a2 APPEND Inbox {22+}",
        "C: Subject: hi",
        "C: hello",
        "S: * 1 EXISTS",
        "S: * 1 FETCH (UID 1 INTERNALDATE \" 2-Jan-2024 03:04:05 +0000\" BODY[] {22}",
        "S: Subject: hi",
        "S: hello",
        "S:  FLAGS (\\Seen))",
        "S: * OK [UIDVALIDITY 1] uidvalidity",
        "S: * BYE {{any}}",
        "# result: no S: expectations in the file",
    ] {
        if let Some(prefix) = line.strip_suffix("{{any}}") {
            assert!(
                out.lines().any(|l| l.starts_with(prefix)),
                "no {line:?} in\n{out}"
            );
        } else {
            assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
        }
    }
    // Every line is a client, server, session or result line.
    for l in out.lines() {
        assert!(
            l.starts_with("C: ")
                || l == "C:"
                || l.starts_with("S: ")
                || l.starts_with("# result: "),
            "unexpected line {l:?}"
        );
    }
}

#[test]
fn replay_reports_matched_and_failed_expectations() {
    let ok = replay_text("t", "C: a1 NOOP\nS: a1 OK {{any}}\n").unwrap();
    assert_eq!(ok.status, STATUS_OK, "{}", ok.output);
    assert!(
        ok.output
            .ends_with("# result: every S: expectation matched\n"),
        "{}",
        ok.output
    );
    let bad = replay_text("t", "C: a1 NOOP\nS: a1 NO {{any}}\n").unwrap();
    assert_eq!(bad.status, STATUS_MISMATCH, "{}", bad.output);
    assert!(
        bad.output.contains("# result: FAILED: session 1: expected"),
        "{}",
        bad.output
    );
}

#[test]
fn replay_refuses_a_malformed_file() {
    let e = replay_text("t", "X: what\n").unwrap_err();
    assert!(e.starts_with("line 1: "), "{e}");
    let r = moxide_conformance::replay::replay_file(std::path::Path::new("/nonexistent/x.txt"));
    assert_eq!(r.status, STATUS_BAD_FILE);
    assert!(
        r.output.starts_with("moxide replay: /nonexistent/x.txt: "),
        "{}",
        r.output
    );
}

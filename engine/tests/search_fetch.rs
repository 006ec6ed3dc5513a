//! SEARCH over decoded MIME parts and encoded words, ESEARCH/SEARCHRES,
//! SORT, THREAD, BINARY, PREVIEW, SAVEDATE, MULTIAPPEND and REPLACE.
mod common;
use std::time::Duration;

use common::*;

const MIME: &str = "From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.org>\r\nTo: mox@localhost\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\nDate: Wed, 03 Jan 2024 09:00:00 +0100\r\nMessage-ID: <mime@example.org>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSCH=D6NE Gr=FC=DFe\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b--\r\n";

fn setup(env: &Env) -> Client {
    let mut c = env.login();
    c.append("p1", "inbox", "", &message("alpha", "plain text body"));
    c.append("p2", "inbox", "\\Flagged", MIME);
    let reply = "From: b@example.org\r\nSubject: Re: alpha\r\nDate: Thu, 04 Jan 2024 09:00:00 +0000\r\nMessage-ID: <r1@example.org>\r\nIn-Reply-To: <alpha@localhost>\r\n\r\nreply\r\n";
    c.append("p3", "inbox", "", reply);
    c.send("s1 SELECT inbox");
    c
}

#[test]
fn search_keys() {
    let env = Env::new();
    let mut c = setup(&env);
    // UTF-8 in quoted strings needs UTF8=ACCEPT (RFC 6855).
    c.expect(
        "e1 ENABLE UTF8=ACCEPT",
        &["* ENABLED UTF8=ACCEPT", "e1 OK ENABLE completed"],
    );
    let cases = [
        ("TEXT \"schöne\"", "2"),
        ("BODY \"GRÜSSE\"", ""),
        ("BODY \"grüße\"", "2"),
        ("SUBJECT \"köln\"", "2"),
        ("FROM \"jürgen\"", "2"),
        ("HEADER Message-ID mime@", "2"),
        ("HEADER In-Reply-To \"\"", "3"),
        ("TEXT alpha", "1 3"),
        ("FLAGGED", "2"),
        ("NOT FLAGGED", "1 3"),
        ("OR FLAGGED SUBJECT alpha", "1 2 3"),
        ("LARGER 400", "2"),
        ("SMALLER 200", "1 3"),
        ("SENTBEFORE 3-Jan-2024", "1"),
        ("SENTON 3-Jan-2024", "2"),
        ("SENTSINCE 4-Jan-2024", "3"),
        ("ON 2-Jan-2024", "1 2 3"),
        ("SAVEDSINCE 2-Jan-2024", "1 2 3"),
        ("YOUNGER 10", "1 2 3"),
        ("2:* UID 1:2", "2"),
        ("UNSEEN UNDELETED UNANSWERED UNDRAFT UNKEYWORD $x", "1 2 3"),
        ("(SEEN)", ""),
        ("CHARSET UTF-8 TEXT \"grüße\"", "2"),
    ];
    for (i, (keys, want)) in cases.iter().enumerate() {
        let line = if want.is_empty() {
            "* SEARCH".to_string()
        } else {
            format!("* SEARCH {want}")
        };
        let tag = format!("t{i}");
        c.expect(
            &format!("{tag} SEARCH {keys}"),
            &[&line, &format!("{tag} OK SEARCH completed")],
        );
    }
    c.expect(
        "u1 SEARCH CHARSET KOI8-X ALL",
        &["u1 NO [BADCHARSET (UTF-8 US-ASCII)] unsupported charset"],
    );
    c.advance(Duration::from_secs(100));
    c.expect(
        "u2 SEARCH OLDER 50",
        &["* SEARCH 1 2 3", "u2 OK SEARCH completed"],
    );
    c.expect(
        "u3 SEARCH YOUNGER 50",
        &["* SEARCH", "u3 OK SEARCH completed"],
    );
}

#[test]
fn esearch_and_searchres() {
    let env = Env::new();
    let mut c = setup(&env);
    c.expect(
        "a1 SEARCH RETURN (MIN MAX COUNT) NOT FLAGGED",
        &[
            "* ESEARCH (TAG \"a1\") MIN 1 MAX 3 COUNT 2",
            "a1 OK SEARCH completed",
        ],
    );
    c.expect(
        "a2 UID SEARCH RETURN () ALL",
        &[
            "* ESEARCH (TAG \"a2\") UID ALL 1:3",
            "a2 OK SEARCH completed",
        ],
    );
    // RFC 5182 2.1: the saved result is empty after SELECT.
    c.expect("a3 FETCH $ UID", &["a3 OK FETCH completed"]);
    c.expect(
        "a4 SEARCH RETURN (SAVE) NOT FLAGGED",
        &["a4 OK SEARCH completed, result saved"],
    );
    c.expect(
        "a5 FETCH $ (UID FLAGS)",
        &[
            "* 1 FETCH (UID 1 FLAGS ())",
            "* 3 FETCH (UID 3 FLAGS ())",
            "a5 OK FETCH completed",
        ],
    );
    c.expect(
        "a6 UID SEARCH $ SUBJECT re",
        &["* SEARCH 3", "a6 OK SEARCH completed"],
    );
    c.expect(
        "a7 SEARCH RETURN (SAVE MIN) FLAGGED",
        &["* ESEARCH (TAG \"a7\") MIN 2", "a7 OK SEARCH completed"],
    );
    c.expect(
        "a8 UID STORE $ +FLAGS.SILENT (\\Seen)",
        &["a8 OK STORE completed"],
    );
    c.expect("a9 SEARCH SEEN", &["* SEARCH 2", "a9 OK SEARCH completed"]);
}

#[test]
fn sort_and_thread() {
    let env = Env::new();
    let mut c = setup(&env);
    c.expect(
        "a1 SORT (SUBJECT) UTF-8 ALL",
        &["* SORT 1 3 2", "a1 OK SORT completed"],
    );
    c.expect(
        "a2 SORT (REVERSE DATE) UTF-8 ALL",
        &["* SORT 3 2 1", "a2 OK SORT completed"],
    );
    c.expect(
        "a3 UID SORT (FROM SIZE) UTF-8 NOT FLAGGED",
        &["* SORT 3 1", "a3 OK SORT completed"],
    );
    c.expect(
        "a4 SORT (DISPLAYFROM) UTF-8 ALL",
        &["* SORT 3 2 1", "a4 OK SORT completed"],
    );
    c.expect(
        "a5 THREAD REFERENCES UTF-8 ALL",
        &["* THREAD (1 3)(2)", "a5 OK THREAD completed"],
    );
    c.expect(
        "a6 UID THREAD ORDEREDSUBJECT UTF-8 ALL",
        &["* THREAD (1 3)(2)", "a6 OK THREAD completed"],
    );
    c.expect(
        "a7 THREAD X-FOO UTF-8 ALL",
        &["a7 BAD unsupported threading algorithm"],
    );
}

#[test]
fn binary_preview_savedate() {
    let env = Env::new();
    let mut c = setup(&env);
    c.expect(
        "a1 FETCH 2 (BINARY.PEEK[2] BINARY.SIZE[1] BINARY.SIZE[2])",
        &[
            "* 2 FETCH (BINARY[2] ~{4}",
            "\0\u{1}\u{2}\u{3} BINARY.SIZE[1] 12 BINARY.SIZE[2] 4)",
            "a1 OK FETCH completed",
        ],
    );
    c.expect(
        "a2 FETCH 1:2 (PREVIEW SAVEDATE)",
        &[
            "* 1 FETCH (PREVIEW \"plain text body\" SAVEDATE \" 2-Jan-2024 03:04:05 +0000\")",
            "* 2 FETCH (PREVIEW {15}",
            "SCHÖNE Grüße SAVEDATE \" 2-Jan-2024 03:04:05 +0000\")",
            "a2 OK FETCH completed",
        ],
    );
    c.expect(
        "a3 FETCH 2 BODY.PEEK[1.MIME]",
        &[
            "* 2 FETCH (BODY[1.MIME] {93}",
            "Content-Type: text/plain; charset=iso-8859-1",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            ")",
            "a3 OK FETCH completed",
        ],
    );
    c.expect(
        "a4 FETCH 2 (BODYSTRUCTURE)",
        &[
            "* 2 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"iso-8859-1\") NIL NIL \"QUOTED-PRINTABLE\" 18 1 NIL NIL NIL NIL)(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 8 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL))",
            "a4 OK FETCH completed",
        ],
    );
}

#[test]
fn multiappend_and_replace() {
    let env = Env::new();
    let mut c = env.login();
    c.send("a0 SELECT Drafts");
    let m1 = message("d1", "draft one");
    let m2 = message("d2", "draft two");
    let cmd = format!(
        "a1 APPEND Drafts (\\Draft) {{{}+}}\r\n{m1} (\\Draft $x) \"05-Jan-2024 10:00:00 +0100\" {{{}+}}\r\n{m2}\r\n",
        m1.len(),
        m2.len()
    );
    assert_eq!(
        c.raw(cmd.as_bytes()),
        "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $x)\r\n* 2 EXISTS\r\na1 OK [APPENDUID 5 1:2] APPEND completed\r\n"
    );
    c.expect(
        "a2 FETCH 1:2 (FLAGS INTERNALDATE)",
        &[
            "* 1 FETCH (FLAGS (\\Draft) INTERNALDATE \" 2-Jan-2024 03:04:05 +0000\")",
            "* 2 FETCH (FLAGS (\\Draft $x) INTERNALDATE \" 5-Jan-2024 10:00:00 +0100\")",
            "a2 OK FETCH completed",
        ],
    );
    let m3 = message("d3", "draft three");
    let cmd = format!(
        "a3 UID REPLACE 1 Drafts (\\Draft) {{{}+}}\r\n{m3}\r\n",
        m3.len()
    );
    assert_eq!(
        c.raw(cmd.as_bytes()),
        "* OK [APPENDUID 5 3] replacement message added\r\n* 1 EXPUNGE\r\n* 2 EXISTS\r\na3 OK REPLACE completed\r\n"
    );
    assert_eq!(
        c.append("a4", "Nope", "", &m3),
        "a4 NO [TRYCREATE] no such mailbox\r\n"
    );
    c.expect(
        "a5 UID SEARCH ALL",
        &["* SEARCH 2 3", "a5 OK SEARCH completed"],
    );
    env.check();
}

#[test]
fn sent_dates_use_the_date_header_zone() {
    let env = Env::new();
    let mut c = env.login();
    // 21:52 -0800 on 7 Feb is 8 Feb in UTC; 00:30 +0200 on 8 Feb is 7 Feb
    // in UTC. RFC 9051 6.4.4: the date disregarding time and timezone.
    let west =
        "From: a@example.org\r\nSubject: west\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\nx\r\n";
    let east =
        "From: b@example.org\r\nSubject: east\r\nDate: Tue, 8 Feb 1994 00:30:00 +0200\r\n\r\nx\r\n";
    let none = "From: c@example.org\r\nSubject: undated\r\n\r\nx\r\n";
    for (tag, msg) in [("p1", west), ("p2", east), ("p3", none)] {
        let out = c.append(tag, "INBOX", "", msg);
        assert!(out.starts_with(&format!("{tag} OK [APPENDUID")), "{out}");
    }
    c.send("s1 SELECT INBOX");
    for (tag, keys, want) in [
        ("t1", "SENTBEFORE 8-Feb-1994", "* SEARCH 1"),
        ("t2", "SENTON 7-Feb-1994", "* SEARCH 1"),
        ("t3", "SENTON 8-Feb-1994", "* SEARCH 2"),
        ("t4", "SENTSINCE 8-Feb-1994", "* SEARCH 2"),
        ("t5", "SENTSINCE 7-Feb-1994", "* SEARCH 1 2"),
        ("t6", "SENTBEFORE 9-Feb-1994", "* SEARCH 1 2"),
        ("t7", "NOT SENTON 7-Feb-1994", "* SEARCH 2 3"),
    ] {
        c.expect(
            &format!("{tag} SEARCH {keys}"),
            &[want, &format!("{tag} OK SEARCH completed")],
        );
    }
}

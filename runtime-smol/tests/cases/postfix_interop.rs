// The Postfix interop cases shared by both runtimes' tests; included by
// tests/postfix_interop.rs of each crate, which defines BIN, mod common
// and mod postfix (runtime-smol/tests/common/postfix.rs).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::common::{Server, free_ports};
use crate::postfix::{HOSTNAME, Postfix};

/// The client steps (smtplib, imaplib).
fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runtime-smol/tests/py/postfix_interop.py")
}

/// Whether the test can run here; says why not.
fn runnable(test: &str) -> bool {
    if let Some(why) = crate::postfix::unavailable() {
        eprintln!("SKIPPED {test}: {why}");
        return false;
    }
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 is not installed"
        );
        eprintln!("SKIPPED {test}: python3 is not installed");
        return false;
    }
    true
}

/// Runs a step of the Python client with `stdin`; it must succeed.
fn py(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .arg(script())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Splits the first header field (with its continuation lines) off
/// `msg`.
fn first_field(msg: &[u8]) -> (String, &[u8]) {
    let mut end = 0;
    loop {
        let nl = msg[end..].windows(2).position(|w| w == b"\r\n").unwrap() + end + 2;
        end = nl;
        if !matches!(msg.get(end), Some(b' ' | b'\t')) {
            break;
        }
    }
    (String::from_utf8(msg[..end].to_vec()).unwrap(), &msg[end..])
}

/// The word after `key` in `text` (up to a space, `;`, `)` or line end).
fn word_after<'a>(text: &'a str, key: &str) -> &'a str {
    let rest = &text[text
        .find(key)
        .unwrap_or_else(|| panic!("{key:?} in {text:?}"))
        + key.len()..];
    let end = rest.find([' ', ';', ')', '\r', '\n']).unwrap_or(rest.len());
    &rest[..end]
}

/// The message as the client hands it to Postfix: every field Postfix
/// would otherwise add is present, a line starts with a dot (dot-stuffing
/// on both hops), and an 8-bit line (8BITMIME on both hops).
const MESSAGE: &[u8] = b"From: Sender <sender@interop.test>\r\n\
To: mox@localhost\r\n\
Subject: relayed by postfix\r\n\
Date: Mon, 30 Nov 2026 11:00:00 +0000\r\n\
Message-ID: <postfix-interop-1@interop.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Hello through Postfix.\r\n\
.a line that starts with a dot\r\n\
gr\xc3\xbc\xc3\x9fe\r\n\
\r\n\
last line\r\n";

#[test]
fn postfix_relays_into_moxide_over_starttls() {
    if !runnable("postfix_relays_into_moxide_over_starttls") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let pf = Postfix::start(Some(server.smtp));

    let port = pf.port.to_string();
    let out = py(
        &[
            "send",
            "127.0.0.1",
            &port,
            "sender@interop.test",
            "mox@localhost",
        ],
        MESSAGE,
    );
    assert_eq!(String::from_utf8_lossy(&out), "refused: {}\n");
    let stored = py(
        &[
            "fetch",
            "127.0.0.1",
            &imaps.to_string(),
            "relayed by postfix",
            "60",
        ],
        b"",
    );

    // moxide's Received: from Postfix's EHLO name, over TLS (ESMTPS).
    let (ours, rest) = first_field(&stored);
    let moxide_id = word_after(&ours, " with ESMTPS id ");
    let want_prefix = format!(
        "Received: from {HOSTNAME} ([127.0.0.1])\r\n\tby localhost with ESMTPS id {moxide_id}\r\n\tfor <mox@localhost>; "
    );
    assert!(ours.starts_with(&want_prefix), "{ours:?}");
    // Postfix's Received, then the message exactly as sent.
    let (theirs, rest) = first_field(rest);
    let queue_id = word_after(&theirs, " with ESMTP id ");
    let want_prefix = format!(
        "Received: from client.interop.test (localhost [127.0.0.1])\r\n\tby {HOSTNAME} (Postfix) with ESMTP id {queue_id}\r\n\tfor <mox@localhost>; "
    );
    assert!(theirs.starts_with(&want_prefix), "{theirs:?}");
    assert_eq!(
        String::from_utf8_lossy(rest),
        String::from_utf8_lossy(MESSAGE)
    );

    // Postfix's side: STARTTLS to moxide, and moxide's 250 with its id.
    let smtp = server.smtp;
    let tls = pf.wait_log_line(&[&format!(
        "Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:{smtp}: TLSv1.3"
    )]);
    assert!(tls.contains("postfix/smtp["), "{tls}");
    let sent = pf.wait_log_line(&[&format!("{queue_id}: to=<mox@localhost>"), "status="]);
    assert!(
        sent.contains(&format!("relay=127.0.0.1[127.0.0.1]:{smtp}, delay="))
            && sent.ends_with(&format!(
                "dsn=2.0.0, status=sent (250 2.0.0 message accepted, id {moxide_id})"
            )),
        "{sent}"
    );
    drop(pf);
    drop(server);
}

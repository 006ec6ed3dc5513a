//! Interop with Postfix (the Debian package) as a foreign MTA on loopback
//! (issue 7), a private Postfix instance (tests/common/postfix.rs) each:
//! - Postfix -> moxide (tests/cases/postfix_interop.rs, both runtimes):
//!   Postfix relays a message into `moxide localserve` over mandatory
//!   STARTTLS; read back over IMAPS with Python's imaplib, byte for byte.
//! - moxide -> Postfix: a message submitted to `moxide serve` for a domain
//!   whose MX (a dnslib zone on loopback) is Postfix, delivered by the
//!   queue through a direct transport with Postfix's port, over STARTTLS,
//!   lands in Postfix's Maildir byte for byte.
//!
//! Needs postfix, root (Postfix's master) and python3 with dnslib; skips,
//! saying so, without them, and fails under `CI=true`.

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/dnslib.rs"]
mod dnslib;
#[path = "common/postfix.rs"]
mod postfix;
#[path = "common/python_server.rs"]
mod python_server;
#[path = "common/serve_process.rs"]
mod serve_process;

use cli::BIN;

include!("cases/postfix_interop.rs");

use std::path::Path;

use postfix::VIRTUAL_USER;

/// A `moxide serve` set-up in `dir` for `a.test` with account a@a.test
/// (password "secret"): DNS from `resolver`, loopback delivery allowed,
/// mail for postfix.test through a direct transport to `postfix_port`.
fn serve_config(dir: &Path, resolver: std::net::SocketAddr, postfix_port: u16) -> PathBuf {
    let cfg = serve_process::write_config(
        dir,
        &format!(
            "resolver = [\"{resolver}\"]

[delivery]
allow_loopback = true

[transports.postfix]
kind = \"direct\"
port = {postfix_port}

[[routes]]
to_domains = [\"postfix.test\"]
transport = \"postfix\"
"
        ),
    );
    let config = cfg.to_str().unwrap();
    let out = cli::run_moxide(
        [
            "config",
            "--config",
            config,
            "account",
            "add",
            "a",
            "a@a.test",
            "--password-stdin",
        ],
        b"secret\n",
    );
    assert!(out.success(), "account add: {out:?}");
    cfg
}

/// What a@a.test submits for Postfix's user.
const SUBMITTED: &[u8] = b"From: A <a@a.test>\r\n\
To: User <user@postfix.test>\r\n\
Subject: delivered to postfix\r\n\
Date: Mon, 30 Nov 2026 11:00:00 +0000\r\n\
Message-ID: <moxide-to-postfix-1@a.test>\r\n\
\r\n\
Hello Postfix, from moxide's queue.\r\n\
.a line that starts with a dot\r\n\
\r\n\
last line\r\n";

#[test]
fn moxide_delivers_to_postfix_over_starttls() {
    if !runnable("moxide_delivers_to_postfix_over_starttls") {
        return;
    }
    let pf = Postfix::start(None);
    let Some(dns) = dnslib::dnslib_server(&[
        ("postfix.test", "MX", "10 mx.postfix.test"),
        ("mx.postfix.test", "A", "127.0.0.1"),
    ]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = serve_config(dir.path(), dns, pf.port);
    let server = serve_process::Serve::start(&cfg);

    let submission = server.port("submission").to_string();
    let out = py(
        &[
            "submit",
            "127.0.0.1",
            &submission,
            "a@a.test",
            "secret",
            "a@a.test",
            VIRTUAL_USER,
        ],
        SUBMITTED,
    );
    assert_eq!(String::from_utf8_lossy(&out), "refused: {}\n");

    // Postfix's side: STARTTLS from moxide, then delivery to the Maildir.
    let tls = pf.wait_log_line(&[
        "postfix/smtpd[",
        "Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.3",
    ]);
    let delivered = pf.wait_log_line(&[&format!("to=<{VIRTUAL_USER}>, relay=virtual"), "status="]);
    assert!(
        delivered.ends_with("dsn=2.0.0, status=sent (delivered to maildir)"),
        "{delivered}\n{tls}"
    );
    let queue_id = delivered
        .split("]: ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .unwrap();
    let got = pf.delivered();
    assert_eq!(got.len(), 1);
    // The Maildir file has LF line ends; Postfix's fields first.
    let text = String::from_utf8(got[0].clone()).unwrap();
    let want_head = format!(
        "Return-Path: <a@a.test>\nX-Original-To: {VIRTUAL_USER}\nDelivered-To: {VIRTUAL_USER}\nReceived: from mail.a.test (localhost [127.0.0.1])\n\t(using TLSv1.3 with cipher "
    );
    assert!(text.starts_with(&want_head), "{text}");
    assert!(
        text.contains(&format!(
            "\tby {HOSTNAME} (Postfix) with ESMTPS id {queue_id}\n\tfor <{VIRTUAL_USER}>; "
        )),
        "{text}"
    );
    // Then moxide's own Received (submission), then the message as sent.
    let ours =
        "\nReceived: from client.interop.test ([127.0.0.1])\n\tby mail.a.test with ESMTPSA id ";
    let at = text
        .find(ours)
        .unwrap_or_else(|| panic!("no moxide Received in {text}"));
    let (_, rest) = text[at + ours.len()..].split_once('\n').unwrap();
    assert_eq!(
        rest,
        String::from_utf8_lossy(SUBMITTED).replace("\r\n", "\n")
    );

    // The 250 was booked: after a clean stop the queue is empty.
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{status}: {stderr}");
    let out = cli::run(
        cli::moxide_command(["queue", "--config"])
            .arg(&cfg)
            .arg("list"),
        b"",
    );
    assert_eq!(
        (out.stdout.as_str(), out.success()),
        ("queue is empty\n", true),
        "{}",
        out.stderr
    );
    drop(pf);
}

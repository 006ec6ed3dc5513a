//! `moxide sendmail` and swaks against a running `moxide localserve`: each
//! message read back over IMAPS with Python's imaplib. The tests skip,
//! saying so, when python3 (or swaks, for its test) is missing.

#[path = "common/cli.rs"]
mod cli;
mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use cli::{BIN, moxide_command, run};
use common::{Server, free_ports};

fn have(tool: &str, test: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED {test}: {tool} is not installed");
    }
    ok
}

/// Reads back the messages with `subject` over IMAPS.
fn read_back(imaps: u16, subject: &str, count: u32) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/smtp_client.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["readback", "127.0.0.1", "0", &imaps.to_string(), subject])
        .arg(count.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "readback: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `moxide sendmail ARGS` with `config` and `stdin`.
fn sendmail(config: &Path, args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
    let out = run(
        moxide_command(["sendmail"].iter().chain(args)).env("MOXIDE_SENDMAIL_CONFIG", config),
        stdin,
    );
    (out.code, out.stderr)
}

#[test]
fn a_missing_config_is_a_clear_error() {
    let (code, err) = sendmail(Path::new("/nonexistent/sendmail.toml"), &["a@x"], b"");
    assert_eq!(code, Some(75));
    assert_eq!(
        err,
        "moxide sendmail: no config at /nonexistent/sendmail.toml (from MOXIDE_SENDMAIL_CONFIG): No such file or directory (os error 2)\n"
    );
}

#[test]
fn sendmail_submits_over_submission_and_submissions() {
    if !have(
        "python3",
        "sendmail_submits_over_submission_and_submissions",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);

    // Plain submission on loopback, -t: To and Bcc, Bcc removed; a lone
    // dot ends the input.
    let plain = dir.path().join("plain.toml");
    std::fs::write(
        &plain,
        format!(
            "server = \"127.0.0.1:{}\"\ntls = \"plain\"\nusername = \"mox@localhost\"\npassword = \"moxmoxmox\"\n",
            server.submission
        ),
    )
    .unwrap();
    let msg = b"To: mox@localhost\nBcc: hidden@localhost\nSubject: sendmail-plain\n\nhello\n..dots\n.\nnot sent\n";
    let (code, err) = sendmail(&plain, &["-t", "-odi", "-oem"], msg);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert_eq!(
        read_back(imaps, "sendmail-plain", 2),
        "count: 2\nfields: Received Message-ID Date From To Subject\nbody: b'hello\\r\\n..dots\\r\\n'\n"
    );

    // Implicit TLS, trusting localserve's certificate; -f and a recipient
    // argument; the message already has a From.
    let tls = dir.path().join("tls.toml");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "moxmoxmox\n").unwrap();
    std::fs::write(
        &tls,
        format!(
            "server = \"127.0.0.1:{}\"\ntls = \"tls\"\ntls_server_name = \"localhost\"\ntls_ca = \"{}\"\nusername = \"mox\"\npassword_file = \"{}\"\n",
            server.submissions,
            dir.path().join("tls/cert.pem").display(),
            pw.display()
        ),
    )
    .unwrap();
    let msg = b"From: Mox <mox@localhost>\r\nSubject: sendmail-tls\r\n\r\nhi\r\n";
    let (code, err) = sendmail(&tls, &["-i", "-f", "mox@localhost", "mox@localhost"], msg);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert_eq!(
        read_back(imaps, "sendmail-tls", 1),
        "count: 1\nfields: Received Message-ID Date From Subject\nbody: b'hi\\r\\n'\n"
    );

    // A From that is not the account's is refused by the server.
    let msg = b"From: other@example.org\nSubject: x\n\nx\n";
    let (code, err) = sendmail(&plain, &["mox@localhost"], msg);
    assert_eq!(code, Some(75));
    assert_eq!(
        err,
        "moxide sendmail: message: the server said: 550 5.7.1 From address not allowed for the authenticated account\n"
    );
    drop(server);
}

#[test]
fn swaks_over_smtp_and_submission() {
    if !have("python3", "swaks_over_smtp_and_submission")
        || !have("swaks", "swaks_over_smtp_and_submission")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let swaks = |args: &[&str]| {
        let out = Command::new("swaks").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "swaks {args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    let smtp = format!("127.0.0.1:{}", server.smtp);
    swaks(&[
        "--server",
        &smtp,
        "--tls",
        "--to",
        "anyone@example.org",
        "--from",
        "a@example.org",
        "--header",
        "Subject: swaks-smtp",
        "--body",
        "swaks body",
    ]);
    assert_eq!(
        read_back(imaps, "swaks-smtp", 1).lines().next(),
        Some("count: 1")
    );
    let sub = format!("127.0.0.1:{}", server.submission);
    swaks(&[
        "--server",
        &sub,
        "--auth",
        "PLAIN",
        "--auth-user",
        "mox@localhost",
        "--auth-password",
        "moxmoxmox",
        "--to",
        "mox@localhost",
        "--from",
        "mox@localhost",
        "--header",
        "Subject: swaks-submission",
        "--body",
        "swaks body",
    ]);
    // swaks writes Date and Message-Id itself, and two empty lines after
    // the body.
    assert_eq!(
        read_back(imaps, "swaks-submission", 1),
        "count: 1\nfields: Received Date To From Subject Message-Id X-Mailer\nbody: b'swaks body\\r\\n\\r\\n\\r\\n'\n"
    );
    drop(server);
}

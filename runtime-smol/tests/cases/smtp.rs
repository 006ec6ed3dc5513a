// The SMTP localserve cases shared by both runtimes' tests; included by
// tests/smtp.rs of each crate, which defines BIN and mod common.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Server, free_ports, python};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime-smol/tests/py/smtp_client.py")
}

/// Runs one step of the Python SMTP client; it must succeed.
fn smtp_client(py: &str, step: &str, port: u16, imaps: u16) -> String {
    let out = Command::new(py)
        .arg(script())
        .args([step, "127.0.0.1", &port.to_string(), &imaps.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{step}: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn smtplib_over_smtp_submission_and_submissions_then_imap_reads_back() {
    let Some(py) = python("smtplib_over_smtp_submission_and_submissions_then_imap_reads_back")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    assert_eq!(
        smtp_client(py, "smtp", server.smtp, imaps),
        "ehlo: 250\nstarttls-offered: True\nstarttls: 220\nauth-offered: False\nrefused: {}\nreceived-prefix: True\nstored-ends-with-sent: True\n"
    );
    let submitted = "login: 235\nwrong-mail-from: 550\nrefused: {}\nreceived-prefix: True\nmessage-id-added: True\ndate-added: True\nstored-ends-with-sent: True\n";
    assert_eq!(
        smtp_client(py, "submission", server.submission, imaps),
        submitted
    );
    assert_eq!(
        smtp_client(py, "submission-starttls", server.submission, imaps),
        submitted
    );
    assert_eq!(
        smtp_client(py, "submissions", server.submissions, imaps),
        submitted
    );
    drop(server);
}

#[test]
fn localserve_recipients_fail_on_purpose() {
    let Some(py) = python("localserve_recipients_fail_on_purpose") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    assert_eq!(
        smtp_client(py, "errors", server.smtp, imaps),
        "temperror@localhost: data 451 4.3.0 temporary error on purpose\n\
         permerror@localhost: data 550 5.0.0 permanent error on purpose\n\
         x452@localhost: data 452 4.0.0 error on purpose\n\
         rcptto550@localhost: rcpt 550 5.0.0 error on purpose\n\
         mailfrom451@localhost: mail 451 4.0.0 error on purpose\n"
    );
    drop(server);
}

#[test]
fn a_client_leaving_mid_data_leaves_nothing_stored() {
    use std::io::{Read, Write};
    let Some(py) = python("a_client_leaving_mid_data_leaves_nothing_stored") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", server.smtp)).unwrap();
    tcp.write_all(
        b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\nSubject: half-sent\r\n\r\nthe first half\r\n",
    )
    .unwrap();
    // Wait for the 354 so the data is surely being received, then leave.
    let mut got = Vec::new();
    let mut b = [0u8; 512];
    while !String::from_utf8_lossy(&got).contains("354 ") {
        let n = tcp.read(&mut b).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&b[..n]);
    }
    drop(tcp);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = Command::new(py)
        .arg(script())
        .args(["readback", "127.0.0.1", "0", &imaps.to_string(), "half-sent", "0"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "count: 0\n");
    assert!(out.status.success());
    drop(server);
}

// The localserve cases shared by both runtimes' tests; included by
// tests/localserve.rs of each crate, which defines BIN and mod common.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{Server, free_ports, localserve, python, wait_timeout};

/// `stderr` less the warning of a machine without IPv6 loopback (the only
/// log line localserve writes at level warn when all goes well).
fn without_ipv6_warning(stderr: &str) -> String {
    if crate::common::ipv6_loopback() {
        return stderr.to_string();
    }
    stderr
        .lines()
        .filter(|l| !l.contains("IPv6 loopback not available"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The Python client, beside these tests in runtime-smol (the tokio
/// crate includes them from there).
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime-smol/tests/py/imap_client.py")
}

/// Runs one step of the Python client and returns its stdout; the step
/// must succeed.
fn client(py: &str, step: &str, port: u16) -> String {
    let out = Command::new(py)
        .arg(script())
        .args([step, "127.0.0.1", &port.to_string()])
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

const APPEND_FETCH: &str = r#"login: 'OK'
select: ('OK', [b'0'])
list: ('OK', [b'(\\HasNoChildren \\Archive) "/" Archive', b'(\\HasNoChildren \\Drafts) "/" Drafts', b'(\\HasNoChildren) "/" INBOX', b'(\\HasNoChildren \\Junk) "/" Junk', b'(\\HasNoChildren \\Sent) "/" Sent', b'(\\HasNoChildren \\Trash) "/" Trash'])
append: ('OK', [b'[APPENDUID 1 1] APPEND completed'])
fetch: ('OK', [(b'1 (UID 1 FLAGS (\\Seen) BODY[] {151}', b'From: mox@localhost\r\nTo: mox@localhost\r\nSubject: moxide localserve test\r\nMessage-ID: <localserve-test-1@localhost>\r\n\r\nHello from the localserve test.\r\n'), b')'])
same: True
logout: 'BYE'
"#;

const FETCH_AGAIN: &str = "login: 'OK'\nselect: ('OK', [b'1'])\nsame: True\nlogout: 'BYE'\n";

#[test]
fn imaps_append_fetch_then_a_restart_reuses_the_data() {
    let Some(py) = python("imaps_append_fetch_then_a_restart_reuses_the_data") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    assert_eq!(client(py, "append-fetch", server.imaps), APPEND_FETCH);
    let config = std::fs::read(dir.path().join("moxide.toml")).unwrap();
    let cert = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
    let (status, _) = server.interrupt();
    assert_eq!(status.code(), Some(0));

    // Second start: same account, same message, same config and certificate.
    let server = Server::start(dir.path(), imap, imaps);
    assert_eq!(client(py, "fetch", server.imaps), FETCH_AGAIN);
    assert_eq!(
        std::fs::read(dir.path().join("moxide.toml")).unwrap(),
        config
    );
    assert_eq!(
        std::fs::read(dir.path().join("tls/cert.pem")).unwrap(),
        cert
    );
}

#[test]
fn starttls_on_the_plain_port() {
    let Some(py) = python("starttls_on_the_plain_port") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    assert_eq!(
        client(py, "starttls", server.imap),
        "plain STARTTLS offered: True\nstarttls: 'OK'\ntls STARTTLS offered: False\n\
         login: 'OK'\nselect: ('OK', [b'0'])\nlogout: 'BYE'\n"
    );
    openssl_starttls(server.imap);
}

/// The same over `openssl s_client -starttls imap`, when installed.
fn openssl_starttls(port: u16) {
    if !Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("openssl not installed: s_client STARTTLS check skipped");
        return;
    }
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-crlf",
            "-starttls",
            "imap",
            "-connect",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"a1 LOGIN mox@localhost moxmoxmox\na2 LOGOUT\n")
            .unwrap();
    }
    let status = wait_timeout(&mut child, Duration::from_secs(30));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "openssl s_client: {status}: {out}");
    let tagged: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("a1 ") || l.starts_with("a2 "))
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>())
        .map(|v| {
            if v == ["a1", "OK"] {
                "a1 OK"
            } else if v == ["a2", "OK"] {
                "a2 OK"
            } else {
                "other"
            }
        })
        .collect();
    assert_eq!(tagged, ["a1 OK", "a2 OK"], "{out}");
    assert!(out.contains("* BYE"), "{out}");
}

#[test]
fn the_default_directory_is_under_home() {
    let home = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let mut cmd = Command::new(BIN);
    cmd.arg("localserve")
        .args(["--imap-port", &imap.to_string()])
        .args(["--imaps-port", &imaps.to_string()])
        .args(crate::common::SMTP_PORTS_ZERO)
        .env("HOME", home.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let dir = home.path().join(".config/moxide-localserve");
    let server = Server::start_with(cmd, &dir, imap, imaps);
    assert!(dir.join("moxide.toml").is_file());
    assert!(dir.join("tls/cert.pem").is_file());
    assert!(dir.join("data").is_dir());
    drop(server);
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    // Another localserve on the same directory and ports.
    let out = localserve(dir.path(), imap, imaps).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "moxide localserve: cannot listen on 127.0.0.1:{imap}: address in use (is another localserve running?)\n"
        )
    );
    drop(server);

    // A port taken by something else, in a fresh directory.
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = other.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let out = localserve(dir.path(), imap, port).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        without_ipv6_warning(&String::from_utf8_lossy(&out.stderr)),
        format!(
            "moxide localserve: cannot listen on 127.0.0.1:{port}: address in use (is another localserve running?)\n"
        )
    );
}

#[test]
fn sigint_stops_it_with_status_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    // An open connection does not hold up the stop.
    let _conn = std::net::TcpStream::connect(("127.0.0.1", imap)).unwrap();
    let (status, err) = server.interrupt();
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert_eq!(without_ipv6_warning(&err), "moxide localserve: stopped\n");
}

//! `moxide serve` and its recipients: the local domains of domains.toml
//! decide what port 25 accepts (no relaying), `postmaster = "ACCOUNT"`
//! takes postmaster mail (RFC 5321 4.5.1), a postmaster account that does
//! not exist stops the start, and its absence is a warning.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/smtp_reply.rs"]
mod smtp_reply;

use cli::{BIN, run_moxide};
use smtp_reply::exchange;

/// moxide.toml (SMTP on a free port of 127.0.0.1) with `extra` at the
/// top, domains.toml with a.test and b.test, and account `admin`
/// (admin@a.test).
fn setup(dir: &Path, extra: &str) -> PathBuf {
    let ck = rcgen::generate_simple_self_signed(vec!["mail.a.test".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let cfg = dir.join("moxide.toml");
    std::fs::write(
        &cfg,
        format!(
            "hostname = \"mail.a.test\"\ndata_dir = \"data\"\nsender_checks = false\n{extra}\n[[listeners]]\nips = [\"127.0.0.1\"]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\nsmtp = 0\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("domains.toml"),
        "[domains.\"a.test\"]\n[domains.\"b.test\"]\n",
    )
    .unwrap();
    let out = run_moxide(
        [
            "config",
            "--config",
            cfg.to_str().unwrap(),
            "account",
            "add",
            "admin",
            "admin@a.test",
        ],
        b"",
    );
    assert!(out.success(), "{}", out.stderr);
    cfg
}

/// Starts `moxide serve`; the child and the SMTP port from the banner.
fn start(cfg: &Path) -> (Child, u16) {
    let mut child = Command::new(BIN)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split_once("smtp 127.0.0.1:")
        .and_then(|(_, r)| r.split(';').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("banner {line:?}")
        });
    (child, port)
}

/// Stops the server with SIGTERM; its stderr.
fn stop(mut child: Child) -> String {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status:?} {err}");
    err
}

#[test]
fn local_domains_and_postmaster_decide_rcpt_replies() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), "postmaster = \"admin\"");
    let (child, port) = start(&cfg);
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut r = BufReader::new(s);
    assert_eq!(exchange(&mut r, ""), "220 mail.a.test ESMTP moxide\r\n");
    assert!(exchange(&mut r, "EHLO client.test\r\n").starts_with("250-mail.a.test\r\n"));
    assert_eq!(
        exchange(&mut r, "MAIL FROM:<x@c.test>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    for (rcpt, want) in [
        (
            "x@elsewhere.test",
            "550 5.1.1 not accepting email for domain (no relaying)\r\n",
        ),
        (
            "admin@[127.0.0.2]",
            "550 5.1.1 not accepting email for ip (no relaying)\r\n",
        ),
        ("nobody@b.test", "550 5.1.1 no such user\r\n"),
        ("admin@[127.0.0.1]", "550 5.1.1 no such user\r\n"),
        ("admin@A.test", "250 2.1.5 recipient ok\r\n"),
        ("Postmaster", "250 2.1.5 recipient ok\r\n"),
        ("postmaster@b.test", "250 2.1.5 recipient ok\r\n"),
        ("postmaster@mail.a.test", "250 2.1.5 recipient ok\r\n"),
    ] {
        assert_eq!(
            exchange(&mut r, &format!("RCPT TO:<{rcpt}>\r\n")),
            want,
            "{rcpt}"
        );
    }
    assert_eq!(
        exchange(&mut r, "DATA\r\n"),
        "354 end data with <CR><LF>.<CR><LF>\r\n"
    );
    let reply = exchange(&mut r, "Subject: hi\r\n\r\nhello\r\n.\r\n");
    assert!(
        reply.starts_with("250 2.0.0 message accepted, id "),
        "{reply}"
    );
    drop(r);
    let err = stop(child);
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn postmaster_account_must_exist_and_its_absence_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), "postmaster = \"nobody\"");
    let out = run_moxide(["serve", "--config", cfg.to_str().unwrap()], b"");
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        format!(
            "moxide serve: {c}: postmaster: no account \"nobody\" (accounts: admin); create it with `moxide config --config {c} account add nobody ADDRESS` or name an existing one\n",
            c = cfg.display()
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), "");
    let (child, _) = start(&cfg);
    let err = stop(child);
    assert!(
        err.starts_with(&format!(
            "moxide serve: warning: {}: no postmaster account: mail to postmaster@ a local domain without that address is refused, but RFC 5321 4.5.1 requires it to be accepted; set postmaster = \"ACCOUNT\"\n",
            cfg.display()
        )),
        "{err}"
    );
}

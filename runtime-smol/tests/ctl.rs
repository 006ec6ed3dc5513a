//! The control socket of `moxide serve` end to end: while the server
//! runs, `moxide queue` and `moxide config account` reach it over
//! `<data_dir>/ctl` (real processes, the CLI as an admin runs it): a
//! submitted message for another domain shows in `queue list`,
//! `hold`/`unhold`/`schedule`/`drop` change it (`schedule` wakes the
//! server's queue runner), an account added or given a new password logs in
//! over IMAPS at once; the output is byte for byte that of the same command
//! with the server stopped. Also: a garbage client gets an error and the
//! server keeps serving, a socket left by `kill -9` is replaced at the next
//! start, a store locked with no socket answering keeps its error, and a
//! data_dir too long for a socket path stops the server with a message.
//! `moxide localserve` answers `--dir` commands the same way.

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/serve_process.rs"]
mod serve_process;

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cli::{BIN, CliOutput, run_moxide};
use serve_process::{Serve, text, write_config};

/// Submits a message from a@a.test to x@elsewhere.test over submission
/// with STARTTLS; prints what the server refused.
const SUBMIT: &str = r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.starttls(context=ctx)
s.login("a@a.test", "secret")
msg = b"From: <a@a.test>\r\nTo: <x@elsewhere.test>\r\nSubject: queued\r\n\r\nHeld in the queue.\r\n"
print("refused:", s.sendmail("a@a.test", ["x@elsewhere.test"], msg))
s.quit()
"#;

/// Logs in over IMAPS as argv[2] with password argv[3]: "OK" or "NO".
const LOGIN: &str = r#"
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
i = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
try:
    print(i.login(sys.argv[2], sys.argv[3])[0])
    i.logout()
except imaplib.IMAP4.error:
    print("NO")
"#;

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// stdout, stderr and exit status of `moxide ARGS`.
fn run(args: &[&str], stdin: &[u8]) -> (String, String, Option<i32>) {
    run_moxide(args, stdin).parts()
}

/// `queue list` until `done` holds for its output (at most 30 s).
fn list_until(cfg: &str, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let (out, err, code) = run(&["queue", "--config", cfg, "list"], b"");
        assert_eq!((err.as_str(), code), ("", Some(0)));
        if done(&out) {
            return out;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "queue list: {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A UDP port on 127.0.0.1 where nothing listens: DNS queries to it fail
/// at once, so delivery attempts end with a temporary error.
fn closed_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

#[test]
fn admin_commands_reach_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write_config(
        d,
        &format!("resolver = [\"127.0.0.1:{}\"]", closed_udp_port()),
    );
    let cfg = cfg.to_str().unwrap();
    let sock = d.join("data/ctl");
    // Before the first start: the direct path.
    assert_eq!(
        run(
            &[
                "config",
                "--config",
                cfg,
                "account",
                "add",
                "a",
                "a@a.test",
                "--password-stdin"
            ],
            b"secret\n"
        ),
        (
            "added account \"a\" with address a@a.test\n".into(),
            String::new(),
            Some(0)
        )
    );
    assert!(!sock.exists());

    let server = Serve::start(Path::new(cfg));
    let meta = std::fs::symlink_metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let imaps = server.port("imaps").to_string();

    // A new account logs in at once; a new password takes effect at once.
    assert_eq!(
        run(
            &[
                "config",
                "--config",
                cfg,
                "account",
                "add",
                "c",
                "c@a.test",
                "--password-stdin"
            ],
            b"first\n"
        ),
        (
            "added account \"c\" with address c@a.test\n".into(),
            String::new(),
            Some(0)
        )
    );
    assert_eq!(python(LOGIN, &[&imaps, "c@a.test", "first"]), "OK\n");
    assert_eq!(
        run(
            &["config", "--config", cfg, "account", "passwd", "c"],
            b"second\n",
        ),
        (
            "password of account \"c\" set\n".into(),
            String::new(),
            Some(0)
        )
    );
    assert_eq!(python(LOGIN, &[&imaps, "c@a.test", "first"]), "NO\n");
    assert_eq!(python(LOGIN, &[&imaps, "c@a.test", "second"]), "OK\n");

    // A message for another domain: its first attempt fails (no DNS) and
    // is retried later.
    let sub = server.port("submission").to_string();
    assert_eq!(python(SUBMIT, &[&sub]), "refused: {}\n");
    let first = list_until(cfg, |o| o.contains("attempts 1"));
    let id = first.split(' ').next().unwrap().to_string();
    assert!(
        first.starts_with(&format!(
            "{id} from a@a.test to elsewhere.test (1 recipient), "
        )),
        "{first}"
    );
    let q = |args: &[&str]| {
        let mut v = vec!["queue", "--config", cfg];
        v.extend_from_slice(args);
        run(&v, b"")
    };
    assert_eq!(
        q(&["hold", "--id", &id]),
        (format!("held 1 entry: {id}\n"), String::new(), Some(0))
    );
    let held = q(&["list", "--held"]).0;
    assert!(
        held.lines().next().unwrap().ends_with(" bytes, ON HOLD"),
        "{held}"
    );
    assert_eq!(
        q(&["list", "--not-held"]),
        ("no matching queue entries\n".into(), String::new(), Some(0))
    );
    assert_eq!(
        q(&["unhold", "--all"]),
        (format!("released 1 entry: {id}\n"), String::new(), Some(0))
    );
    // `schedule` wakes the server's runner: the second attempt comes now,
    // not in 7.5 minutes.
    let (out, err, code) = q(&["schedule", "--domain", "elsewhere.test"]);
    assert_eq!((err.as_str(), code), ("", Some(0)));
    assert!(
        out.starts_with("next attempt at ") && out.ends_with(&format!(" for 1 entry: {id}\n")),
        "{out}"
    );
    list_until(cfg, |o| o.contains("attempts 2"));
    assert_eq!(
        q(&["hold", "--all"]),
        (format!("held 1 entry: {id}\n"), String::new(), Some(0))
    );

    // A garbage client gets an error; the server keeps serving.
    let mut g = UnixStream::connect(&sock).unwrap();
    g.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    g.read_to_end(&mut answer).unwrap();
    let msg = b"not a moxide control request: expected the greeting \"moxide-ctl 1\\n\"";
    let mut want = b"moxide-ctl 1\n\x01".to_vec();
    want.extend_from_slice(&(msg.len() as u64).to_be_bytes());
    want.extend_from_slice(msg);
    assert_eq!(text(&answer), text(&want));

    // Another user is refused by its uid (SO_PEERCRED) even when the file
    // mode would let it connect (as root only: the test switches users).
    other_user_is_refused(d, &sock);

    // The same commands through the server and with it stopped print the
    // same bytes.
    let same: Vec<Vec<&str>> = vec![
        vec!["queue", "--config", cfg, "list"],
        vec![
            "queue",
            "--config",
            cfg,
            "list",
            "--domain",
            "elsewhere.test",
        ],
        vec!["queue", "--config", cfg, "dump", "--id", &id],
        vec!["queue", "--config", cfg, "dump", "--id", "999"],
        vec!["queue", "--config", cfg, "hold", "--id", &id],
        vec!["queue", "--config", cfg, "drop"],
        vec!["queue", "--config", cfg, "schedule", "--all", "--in", "5x"],
        vec!["config", "--config", cfg, "account", "list"],
        vec!["config", "--config", cfg, "account", "add", "c", "c@a.test"],
        vec![
            "config", "--config", cfg, "account", "addaddr", "c", "c@b.test",
        ],
    ];
    let live: Vec<CliOutput> = same.iter().map(|a| run_moxide(a, b"")).collect();
    let dump = &live[2].stdout;
    assert!(dump.contains("Subject: queued\r\n"), "{dump}");
    assert!(dump.ends_with("\r\n\r\nHeld in the queue.\r\n"), "{dump}");
    let (status, err) = server.terminate();
    assert!(status.success(), "{err}");
    assert!(!sock.exists(), "the socket is removed on stop");
    for (args, live) in same.iter().zip(&live) {
        assert_eq!(*live, run_moxide(args, b""), "{args:?}");
    }

    // kill -9 leaves the socket; the next start replaces it.
    let mut server = Serve::start(Path::new(cfg));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(sock.exists());
    // No server answers: the direct path.
    assert_eq!(
        q(&["drop", "--id", "999"]),
        (
            "dropped no entries (none matched)\n".into(),
            String::new(),
            Some(0)
        )
    );
    let server = Serve::start(Path::new(cfg));
    assert_eq!(
        q(&["drop", "--id", &id]),
        (format!("dropped 1 entry: {id}\n"), String::new(), Some(0))
    );
    assert_eq!(
        q(&["list"]),
        ("queue is empty\n".into(), String::new(), Some(0))
    );

    // A store in use with no socket answering: today's clear error.
    std::fs::remove_file(&sock).unwrap();
    assert_eq!(
        q(&["list"]),
        (
            String::new(),
            format!(
                "moxide queue: opening the store in {}: database: FjallError: Locked (is `moxide serve` using this data directory? stop it first)\n",
                d.join("data").display()
            ),
            Some(1)
        )
    );
    let (status, err) = server.terminate();
    assert!(status.success(), "{err}");
}

/// Connects as user 65534 (nobody) to the socket made world-writable for
/// the moment and sends a well-formed request: the server answers that
/// this user may not use it. Needs root and setpriv (util-linux).
fn other_user_is_refused(dir: &Path, sock: &Path) {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let setpriv = Path::new("/usr/bin/setpriv").exists();
    if !root || !setpriv {
        let msg = "not root or no /usr/bin/setpriv: the other-user check is skipped";
        // CI runs as root on Debian, where util-linux has setpriv.
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipped: {msg}");
        return;
    }
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    mode(dir, 0o711);
    mode(&dir.join("data"), 0o711);
    mode(sock, 0o666);
    let client = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = b'{"Queue":{"List":{"ids":[],"domain":null,"held":false,"not_held":false}}}'
s.sendall(b"moxide-ctl 1\n" + len(req).to_bytes(4, "big") + req)
out = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
"#;
    let out = Command::new("/usr/bin/setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
        ])
        .arg(client)
        .arg(sock)
        .output()
        .unwrap();
    mode(sock, 0o600);
    mode(dir, 0o700);
    let msg =
        "user 65534 may not use the control socket (only root and the owner of the data directory)";
    let mut want = b"moxide-ctl 1\n\x01".to_vec();
    want.extend_from_slice(&(msg.len() as u64).to_be_bytes());
    want.extend_from_slice(msg.as_bytes());
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (text(&want), String::new())
    );
}

#[test]
fn a_data_dir_too_long_for_a_socket_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write_config(d, "");
    let data = d.join("x".repeat(120));
    let t = std::fs::read_to_string(&cfg).unwrap().replace(
        "data_dir = \"data\"",
        &format!("data_dir = \"{}\"", data.display()),
    );
    std::fs::write(&cfg, t).unwrap();
    let sock = data.join("ctl");
    let (out, err, code) = run(&["serve", "--config", cfg.to_str().unwrap()], b"");
    // The last line (warnings about the configuration may come first).
    let last = err.lines().last().unwrap_or_default();
    assert_eq!(
        (out.as_str(), last, code),
        (
            "",
            format!(
                "moxide serve: control socket {}: the path is {} bytes long, a unix socket path may have at most 107 (choose a shorter data_dir)",
                sock.display(),
                sock.as_os_str().len()
            )
            .as_str(),
            Some(1)
        )
    );
    assert!(!data.join("ctl").exists());
}

#[test]
fn localserve_answers_dir_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ds = d.to_str().unwrap();
    let (imap, imaps) = common::free_ports();
    let server = common::Server::start(d, imap, imaps);
    let sock = d.join("data/ctl");
    assert!(
        std::fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_socket()
    );
    assert_eq!(
        run(
            &[
                "config",
                "--dir",
                ds,
                "account",
                "add",
                "x",
                "x@localhost",
                "--password-stdin"
            ],
            b"xpw\n"
        ),
        (
            "added account \"x\" with address x@localhost\n".into(),
            String::new(),
            Some(0)
        )
    );
    let login = r#"
import imaplib, sys
i = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
print(i.login("x@localhost", "xpw")[0])
"#;
    assert_eq!(python(login, &[&imap.to_string()]), "OK\n");
    let same: Vec<Vec<&str>> = vec![
        vec!["queue", "--dir", ds, "list"],
        vec!["queue", "--dir", ds, "hold", "--all"],
        vec!["config", "--dir", ds, "account", "list"],
        vec!["config", "--dir", ds, "tlspubkey", "list"],
        vec!["config", "--dir", ds, "tlspubkey", "get", "nope"],
    ];
    let live: Vec<CliOutput> = same.iter().map(|a| run_moxide(a, b"")).collect();
    assert_eq!(live[0].stdout, "queue is empty\n");
    assert_eq!(
        live[2].stdout,
        "account\tquota\tpassword\taddresses\tlogin\nmox\tdefault\tset\tmox@localhost\tenabled\nx\tdefault\tset\tx@localhost\tenabled\n"
    );
    let (status, err) = server.interrupt();
    assert!(status.success(), "{err}");
    assert!(!sock.exists());
    for (args, live) in same.iter().zip(&live) {
        assert_eq!(*live, run_moxide(args, b""), "{args:?}");
    }
}

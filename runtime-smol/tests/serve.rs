//! `moxide serve` end to end: a configuration for `a.test` written by the
//! test (rcgen certificate, DKIM key and accounts made with `moxide
//! config`), the server on free loopback ports; a message submitted with
//! Python's smtplib over STARTTLS from a@a.test to b@a.test is read back
//! over IMAPS with imaplib and its DKIM signature verified by dkimpy
//! (Debian python3-dkim, /usr/bin/python3) and by moxide's verifier.
//! Mail for another domain is queued and delivered by the queue runner:
//! here the DNS server (dnslib on loopback) says the domain does not
//! exist, so the sender gets a failure DSN in its Inbox.
//! Also: the errors for a port in use and a missing file, and SIGTERM.

#[path = "common/cli.rs"]
mod cli;
#[path = "common/dnslib.rs"]
mod dnslib;
#[path = "common/python_server.rs"]
mod python_server;
#[path = "common/serve_process.rs"]
mod serve_process;

use std::process::Command;
use std::time::Instant;

use cli::run_moxide;
use moxide_proto::dkim::{Status, Verifier};
use moxide_proto::dns::{Zone, run};
use serve_process::{Serve, text, write_config};

/// The Python with python3-dkim (Debian's, not a pyenv one).
const PYTHON: &str = "/usr/bin/python3";

/// Submits over STARTTLS (checking that AUTH is not offered before TLS),
/// then reads the message back over IMAPS, verifies its signatures with
/// dkimpy (the DNS answer is the record given) and writes it to a file.
const CLIENT: &str = r#"
import imaplib, smtplib, ssl, sys, time
import dkim
sub_port, imaps_port, record, out, imap_port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
# IMAP: no login before STARTTLS.
i = imaplib.IMAP4("127.0.0.1", imap_port)
print("imap login disabled before tls:", "LOGINDISABLED" in i.capabilities)
try:
    i.login("a@a.test", "secret")
    print("imap login before tls: ok")
except imaplib.IMAP4.error as e:
    print("imap login before tls: refused")
i.starttls(ssl_context=ctx)
print("imap login after tls:", i.login("a@a.test", "secret")[0])
i.logout()
s = smtplib.SMTP("127.0.0.1", sub_port)
s.ehlo("client.a.test")
print("auth before tls:", s.has_extn("auth"))
code, msg = s.docmd("AUTH", "PLAIN AGFAYS50ZXN0AHNlY3JldA==")
print("auth plain before tls:", code)
s.starttls(context=ctx)
s.ehlo("client.a.test")
print("auth after tls:", s.has_extn("auth"))
s.login("a@a.test", "secret")
msg = b"From: A <a@a.test>\r\nTo: B <b@a.test>\r\nSubject: serve test\r\n\r\nHello over submission.\r\n"
refused = s.sendmail("a@a.test", ["b@a.test"], msg)
print("refused:", refused)
print("remote refused:", s.sendmail("a@a.test", ["x@elsewhere.test"], msg))
s.quit()
i = imaplib.IMAP4_SSL("127.0.0.1", imaps_port, ssl_context=ctx)
i.login("b@a.test", "secret2")
i.select("INBOX")
typ, data = i.search(None, "ALL")
print("messages:", data[0].decode())
typ, data = i.fetch(b"1", "(BODY.PEEK[])")
raw = data[0][1]
i.logout()
with open(out, "wb") as f:
    f.write(raw)
def dns(name, timeout=5):
    return record if name == b"s1._domainkey.a.test." else None
d = dkim.DKIM(raw)
print("dkimpy:", d.verify(dnsfunc=dns))
# The runner finds elsewhere.test does not exist: a failure DSN for a.
deadline = time.time() + 30
while True:
    i = imaplib.IMAP4_SSL("127.0.0.1", imaps_port, ssl_context=ctx)
    i.login("a@a.test", "secret")
    typ, data = i.select("INBOX")
    if int(data[0]) > 0 or time.time() > deadline:
        break
    i.logout()
    time.sleep(0.1)
typ, data = i.fetch(b"1", "(BODY.PEEK[])")
dsn = data[0][1].decode()
i.logout()
print("dsn:", [l for l in dsn.split("\r\n") if l.startswith(("Subject:", "From:", "<x@"))])
"#;

#[test]
fn serve_submits_signs_and_reads_back_over_imaps() {
    if Command::new(PYTHON)
        .args(["-c", "import dkim, nacl"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        let msg = "/usr/bin/python3 cannot import dkim and nacl (apt-get install python3-dkim python3-nacl)";
        // CI installs them (.ci/run): there a missing tool is a failure.
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipped: {msg}");
        return;
    }
    // No records: every domain but a.test's own is NXDOMAIN.
    let Some(dns) = dnslib::dnslib_server(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write_config(d, &format!("resolver = [\"{dns}\"]"));
    let cfg_s = cfg.to_str().unwrap();

    // The DKIM key and the accounts, with the CLI an admin uses.
    let out = run_moxide(
        ["config", "--config", cfg_s, "dkim", "add", "a.test", "s1"],
        b"",
    );
    assert!(out.success(), "{}", out.stderr);
    let stdout = out.stdout.clone();
    let key_file = d.join("dkim-a.test-s1-ed25519.pem");
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("wrote {}", key_file.display())
    );
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "added selector s1 to {} (signing with it); restart moxide serve to use it",
            d.join("domains.toml").display()
        )
    );
    assert_eq!(lines.next().unwrap(), "publish this DNS record:");
    let zone_line = lines.next().unwrap();
    let record = zone_line
        .strip_prefix("s1._domainkey.a.test. TXT \"")
        .and_then(|r| r.strip_suffix('"'))
        .unwrap()
        .to_string();
    assert!(
        record.starts_with("v=DKIM1; k=ed25519; h=sha256; p="),
        "{record}"
    );
    assert_eq!(lines.next(), None);
    for (name, addr, pw) in [
        ("a", "a@a.test", "secret\n"),
        ("b", "b@a.test", "secret2\n"),
    ] {
        let out = run_moxide(
            [
                "config",
                "--config",
                cfg_s,
                "account",
                "add",
                name,
                addr,
                "--password-stdin",
            ],
            pw.as_bytes(),
        );
        assert_eq!(
            out.parts(),
            (
                format!("added account \"{name}\" with address {addr}\n"),
                String::new(),
                Some(0)
            )
        );
    }

    let server = Serve::start(&cfg);
    let eml = d.join("read-back.eml");
    let (sub, imaps, imap) = (
        server.port("submission").to_string(),
        server.port("imaps").to_string(),
        server.port("imap").to_string(),
    );
    let out = Command::new(PYTHON)
        .args([
            "-c",
            CLIENT,
            sub.as_str(),
            imaps.as_str(),
            record.as_str(),
            eml.to_str().unwrap(),
            imap.as_str(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "imap login disabled before tls: True\nimap login before tls: refused\nimap login after tls: OK\nauth before tls: False\nauth plain before tls: 538\nauth after tls: True\nrefused: {}\nremote refused: {}\nmessages: 1\ndkimpy: True\ndsn: ['From: <postmaster@mail.a.test>', 'Subject: mail delivery failed', '<x@elsewhere.test>: domain does not exist (NXDOMAIN)', 'From: A <a@a.test>', 'Subject: serve test']\n",
        "stderr: {}",
        text(&out.stderr)
    );

    // moxide's own verifier agrees, and the header is in its place.
    let raw = std::fs::read(&eml).unwrap();
    let mut zone = Zone::new();
    zone.add_txt("s1._domainkey.a.test", &record);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (v, _) = run(&mut Verifier::new(&raw, now), &zone, Instant::now());
    assert_eq!(v.results.len(), 1);
    assert_eq!(
        v.results[0].status,
        Status::Pass,
        "{}",
        v.results[0].reason()
    );
    let head = text(&raw);
    let names: Vec<&str> = head
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Received",
            "DKIM-Signature",
            "Message-ID",
            "Date",
            "From",
            "To",
            "Subject"
        ]
    );
    assert!(
        head.contains("\r\n\tby mail.a.test with ESMTPSA id "),
        "{head}"
    );
    assert!(head.ends_with("\r\n\r\nHello over submission.\r\n"));

    // The admin commands run in the server, through its control socket
    // (tests/ctl.rs has the details); the DSN's entry is gone.
    for (args, want) in [
        (vec!["queue", "--config", cfg_s, "list"], "queue is empty\n"),
        (
            vec!["config", "--config", cfg_s, "account", "list"],
            "account\tquota\tpassword\taddresses\tlogin\na\tdefault\tset\ta@a.test\tenabled\nb\tdefault\tset\tb@a.test\tenabled\n",
        ),
    ] {
        let out = run_moxide(&args, b"");
        assert_eq!(out.parts(), (want.to_string(), String::new(), Some(0)));
    }

    // A second server on the same ports: a clear error, exit status 1.
    let taken = server.port("imaps");
    let cfg2_dir = tempfile::tempdir().unwrap();
    let cfg2 = write_config(cfg2_dir.path(), "");
    let t = std::fs::read_to_string(&cfg2)
        .unwrap()
        .replace("imaps = 0", &format!("imaps = {taken}"));
    std::fs::write(&cfg2, t).unwrap();
    let out = run_moxide(["serve", "--config", cfg2.to_str().unwrap()], b"");
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        format!(
            "moxide serve: cannot listen on 127.0.0.1:{taken} for imaps of listener loop: address in use (is another moxide or mail server running?)\n"
        )
    );

    // SIGTERM stops it cleanly.
    let (status, err) = server.terminate();
    assert!(status.success(), "{status:?} {err}");
    assert!(err.ends_with("moxide serve: stopped\n"), "{err}");
}

#[test]
fn serve_names_a_missing_file_and_prints_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write_config(d, "");
    std::fs::remove_file(d.join("tls/key.pem")).unwrap();
    let out = run_moxide(["serve", "--config", cfg.to_str().unwrap()], b"");
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        format!(
            "moxide serve: {}: listeners[0].tls_key: {}: no such file; point tls_key at the PEM file (relative paths start at the directory of this file)\n",
            cfg.display(),
            d.join("tls/key.pem").display()
        )
    );
    // A CA file that holds no certificate.
    std::fs::write(d.join("tls/key.pem"), "x").unwrap();
    std::fs::write(d.join("ca.pem"), "not a certificate\n").unwrap();
    let t = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!("{t}[delivery]\nextra_ca_files = [\"ca.pem\"]\n"),
    )
    .unwrap();
    let out = run_moxide(["serve", "--config", cfg.to_str().unwrap()], b"");
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        format!(
            "moxide serve: {}: delivery.extra_ca_files[0]: {}: no \"BEGIN CERTIFICATE\" block found (list PEM files of CA certificates)\n",
            cfg.display(),
            d.join("ca.pem").display()
        )
    );
    let out = run_moxide(
        ["serve", "--config", d.join("nope.toml").to_str().unwrap()],
        b"",
    );
    assert_eq!(
        out.stderr,
        format!(
            "moxide serve: {}: no such file (write one; `moxide serve --example-config` prints an example)\n",
            d.join("nope.toml").display()
        )
    );
    // Ctrl-C (SIGINT) stops a server cleanly, as SIGTERM does.
    let dir2 = tempfile::tempdir().unwrap();
    let server = Serve::start(&write_config(dir2.path(), ""));
    let (status, err) = server.signal("-INT");
    assert!(status.success(), "{status:?} {err}");
    assert!(err.ends_with("moxide serve: stopped\n"), "{err}");
    let out = run_moxide(["serve", "--example-config"], b"");
    assert!(out.success());
    let example = out.stdout.clone();
    assert!(
        example.starts_with("# ===== moxide.toml =====\n# moxide.toml: the static configuration"),
        "{example}"
    );
    assert!(example.contains("\n# ===== domains.toml =====\n# domains.toml: the local domains."));
}

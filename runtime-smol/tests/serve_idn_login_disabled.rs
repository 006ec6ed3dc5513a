//! `moxide serve` end to end with real clients (python3 smtplib and
//! imaplib): a local domain written in U-labels in domains.toml receives
//! SMTPUTF8 mail on port 25 for its U-label and A-label addresses into one
//! account, an invalid IDN gets `501`; `moxide config account disable`
//! (through the control socket of the running server) refuses IMAP and
//! submission logins with the admin's message while mail is still
//! delivered, and `enable` restores them.

#[path = "common/cli.rs"]
mod cli;
#[path = "common/serve_process.rs"]
mod serve_process;

use std::path::Path;
use std::process::Command;

use cli::run_moxide;
use serve_process::{Serve, text, write_config};

/// Port 25: argv[2..] are the recipients of one SMTPUTF8 message; prints
/// the refused ones, or the error of RCPT when all are refused.
const DELIVER: &str = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo("client.test")
msg = "From: <sender@c.test>\r\nSubject: grüße\r\n\r\nhallo\r\n".encode()
try:
    print("refused:", s.sendmail("sender@c.test", sys.argv[2:], msg, mail_options=["SMTPUTF8"]))
except smtplib.SMTPRecipientsRefused as e:
    print("all refused:", {k: (c, m.decode()) for k, (c, m) in e.recipients.items()})
s.quit()
"#;

/// IMAP LOGIN as argv[2]/argv[3] (IMAPS): the number of messages in the
/// Inbox, or the NO text.
const IMAP: &str = r#"
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
i = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
try:
    i.login(sys.argv[2], sys.argv[3])
except imaplib.IMAP4.error as e:
    print("NO:", e)
    sys.exit(0)
print("Inbox:", i.select("INBOX")[1][0].decode())
i.logout()
"#;

/// Submission with STARTTLS, AUTH as argv[2]/argv[3]: "235" or the
/// refusal's code and text.
const SUBMIT_AUTH: &str = r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.starttls(context=ctx)
try:
    print(s.login(sys.argv[2], sys.argv[3])[0])
except smtplib.SMTPAuthenticationError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.quit()
"#;

fn python(script: &str, args: &[&str]) -> String {
    let out = match Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "python3: {e}");
            panic!("python3 is needed for this test: {e}");
        }
    };
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// `moxide config --config CFG account ARGS`: (stdout, stderr, code).
fn account(cfg: &str, args: &[&str], stdin: &[u8]) -> (String, String, Option<i32>) {
    let mut all = vec!["config", "--config", cfg, "account"];
    all.extend_from_slice(args);
    run_moxide(&all, stdin).parts()
}

fn ok(s: &str) -> (String, String, Option<i32>) {
    (s.to_string(), String::new(), Some(0))
}

#[test]
fn idn_domain_delivery_and_disabled_logins() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write_config(d, "");
    std::fs::write(
        d.join("domains.toml"),
        "[domains.\"a.test\"]\n[domains.\"Exämple.test\"]\n",
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    assert_eq!(
        account(
            cfg,
            &["add", "j", "Jörg@exämple.test", "--password-stdin"],
            b"secret\n"
        ),
        ok("added account \"j\" with address jörg@xn--exmple-cua.test\n")
    );
    // An A-label in the command names the same configured domain.
    assert_eq!(
        account(cfg, &["addaddr", "j", "info@XN--EXMPLE-CUA.test"], b""),
        ok("added address info@xn--exmple-cua.test to account \"j\"\n")
    );

    let server = Serve::start(Path::new(cfg));
    let (smtp, imaps, sub) = (
        server.port("smtp").to_string(),
        server.port("imaps").to_string(),
        server.port("submission").to_string(),
    );
    assert_eq!(
        python(
            DELIVER,
            &[
                &smtp,
                "jörg@exämple.test",
                "JÖRG@xn--exmple-cua.test",
                "info@exämple.test"
            ]
        ),
        "refused: {}\n"
    );
    assert_eq!(
        python(DELIVER, &[&smtp, "jörg@xn--a.test"]),
        "all refused: {'jörg@xn--a.test': (501, '5.5.4 invalid internationalized domain name (IDNA, RFC 5891)')}\n"
    );
    assert_eq!(
        python(DELIVER, &[&smtp, "jörg@exämple.example"]),
        "all refused: {'jörg@exämple.example': (550, '5.1.1 not accepting email for domain (no relaying)')}\n"
    );
    assert_eq!(python(IMAP, &[&imaps, "j", "secret"]), "Inbox: 3\n");

    // Disable through the running server's control socket.
    assert_eq!(
        account(
            cfg,
            &["disable", "j", "--message", "moved to mail.example.org"],
            b""
        ),
        ok(
            "login of account \"j\" disabled: moved to mail.example.org (mail is still delivered; sessions logged in now continue)\n"
        )
    );
    assert_eq!(
        account(cfg, &["list"], b""),
        ok(
            "account\tquota\tpassword\taddresses\tlogin\nj\tdefault\tset\tjörg@xn--exmple-cua.test,info@xn--exmple-cua.test\tdisabled: moved to mail.example.org\n"
        )
    );
    assert_eq!(
        python(IMAP, &[&imaps, "j", "secret"]),
        "NO: b'login disabled for account: moved to mail.example.org'\n"
    );
    assert_eq!(
        python(SUBMIT_AUTH, &[&sub, "j", "secret"]),
        "525 5.7.13 login disabled for account: moved to mail.example.org\n"
    );
    // A wrong password is refused as usual, without the message.
    assert_eq!(
        python(SUBMIT_AUTH, &[&sub, "j", "wrong"]),
        "535 5.7.8 authentication credentials invalid\n"
    );
    // Mail still arrives.
    assert_eq!(
        python(DELIVER, &[&smtp, "jörg@exämple.test"]),
        "refused: {}\n"
    );

    assert_eq!(
        account(cfg, &["enable", "j"], b""),
        ok("login of account \"j\" enabled\n")
    );
    assert_eq!(python(IMAP, &[&imaps, "j", "secret"]), "Inbox: 4\n");
    assert_eq!(python(SUBMIT_AUTH, &[&sub, "j", "secret"]), "235\n");
    let (status, err) = server.terminate();
    assert!(status.success(), "{err}");

    // With the server stopped, the direct path gives the same answers.
    assert_eq!(
        account(cfg, &["disable", "nobody", "--message", "x"], b""),
        (
            String::new(),
            "moxide config: no account \"nobody\" (`moxide config account list` shows the accounts)\n".into(),
            Some(1)
        )
    );
    assert_eq!(
        account(cfg, &["disable", "j", "--message", " "], b""),
        (
            String::new(),
            "moxide config: the message is empty; say why, e.g. --message \"account moved to mail.example.org\"\n".into(),
            Some(1)
        )
    );
    assert_eq!(
        account(cfg, &["list"], b""),
        ok(
            "account\tquota\tpassword\taddresses\tlogin\nj\tdefault\tset\tjörg@xn--exmple-cua.test,info@xn--exmple-cua.test\tenabled\n"
        )
    );
}

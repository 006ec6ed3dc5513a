//! Client certificates on submission with real tools: `openssl s_client
//! -cert -key` against submissions with the account page's P-256
//! certificate, `moxide sendmail` with a PEM file and with an ed25519 seed,
//! and Python's smtplib/imaplib with an ssl context carrying the
//! certificate; every message is read back over IMAP. Tests needing
//! openssl or python3 skip, saying so, when it is missing.

#[path = "common/cli.rs"]
mod cli;
#[path = "common/client_cert_tools.rs"]
mod client_cert_tools;
mod common;

use std::path::Path;
use std::process::Command;

use cli::{BIN, moxide_command, run};
use client_cert_tools::{field, have, s_client, tlspubkey};
use common::{Server, free_ports};

#[test]
fn s_client_on_submissions_with_the_account_page_certificate() {
    if !have(
        "openssl",
        "version",
        "s_client_on_submissions_with_the_account_page_certificate",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sh = |cmd: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh("openssl ecparam -genkey -name prime256v1 -noout -out k.pem");
    sh("openssl req -new -x509 -key k.pem -days 36500 -subj /CN=my-phone -out c.pem");
    let pem = std::fs::read(d.join("c.pem")).unwrap();
    let (code, _, err) = tlspubkey(d, &["add", "mox@localhost"], &pem);
    assert_eq!((code, err.as_str()), (0, ""));
    let (imap, imaps) = free_ports();
    let server = Server::start(d, imap, imaps);
    let (cert, key) = (d.join("c.pem"), d.join("k.pem"));
    let said = s_client(
        server.submissions,
        &cert,
        &key,
        "EHLO client.example\r\nMAIL FROM:<mox@localhost>\r\nRCPT TO:<mox@localhost>\r\nDATA\r\nFrom: <mox@localhost>\r\nSubject: s_client-by-key\r\n\r\nhi\r\n.\r\nQUIT\r\n",
    );
    let codes: Vec<&str> = said
        .lines()
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| &l[..3])
        .collect();
    assert_eq!(
        codes,
        ["220", "250", "250", "250", "354", "250", "221"],
        "{said}"
    );

    let said = s_client(
        server.imaps,
        &cert,
        &key,
        "s SELECT INBOX\r\nf FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\nz LOGOUT\r\n",
    );
    assert!(said.contains("\nSubject: s_client-by-key\r\n"), "{said}");
    drop(server);
}

/// `moxide sendmail` with `config`, the message on stdin.
fn sendmail(config: &Path, args: &[&str], stdin: &[u8]) -> (i32, String) {
    let out = run(
        moxide_command(["sendmail"].iter().chain(args)).env("MOXIDE_SENDMAIL_CONFIG", config),
        stdin,
    );
    (out.code.unwrap(), out.stderr)
}

#[test]
fn sendmail_and_python_with_client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stem = d.join("box");
    let (code, out, _) = tlspubkey(d, &["gen", stem.to_str().unwrap()], b"");
    assert_eq!(code, 0);
    let seed = field(&out, "ed25519 seed").to_string();
    let pem = std::fs::read(d.join("box.pem")).unwrap();
    assert_eq!(tlspubkey(d, &["add", "mox@localhost"], &pem).0, 0);

    let (imap, imaps) = free_ports();
    let server = Server::start(d, imap, imaps);
    let ca = d.join("tls/cert.pem");

    // A PEM file with key and certificate, implicit TLS: AUTH EXTERNAL.
    let pem_cfg = d.join("pem.toml");
    std::fs::write(
        &pem_cfg,
        format!(
            "server = \"127.0.0.1:{}\"\ntls = \"tls\"\ntls_server_name = \"localhost\"\ntls_ca = \"{}\"\nclient_cert = \"{}\"\nfrom = \"mox@localhost\"\n",
            server.submissions,
            ca.display(),
            d.join("box.pem").display()
        ),
    )
    .unwrap();
    let (code, err) = sendmail(
        &pem_cfg,
        &["mox@localhost"],
        b"Subject: sendmail-pem\n\nby pem\n",
    );
    assert_eq!((code, err.as_str()), (0, ""));

    // Only the seed, STARTTLS, username as authorization identity.
    let seed_cfg = d.join("seed.toml");
    std::fs::write(
        &seed_cfg,
        format!(
            "server = \"127.0.0.1:{}\"\ntls = \"starttls\"\ntls_server_name = \"localhost\"\ntls_ca = \"{}\"\nclient_key_seed = \"{seed}\"\nusername = \"mox@localhost\"\n",
            server.submission,
            ca.display(),
        ),
    )
    .unwrap();
    let (code, err) = sendmail(
        &seed_cfg,
        &["mox@localhost"],
        b"Subject: sendmail-seed\n\nby seed\n",
    );
    assert_eq!((code, err.as_str()), (0, ""));

    // A seed nobody registered: EXTERNAL fails, clearly.
    let bad_cfg = d.join("bad.toml");
    let unknown = moxide_engine::admin::keygen::from_seed(&[6; 32], "x").unwrap();
    std::fs::write(
        &bad_cfg,
        std::fs::read_to_string(&seed_cfg)
            .unwrap()
            .replace(&seed, &unknown.seed),
    )
    .unwrap();
    let (code, err) = sendmail(&bad_cfg, &["mox@localhost"], b"Subject: x\n\nx\n");
    assert_eq!(code, 75);
    assert!(
        err.starts_with("moxide sendmail: AUTH EXTERNAL (is the client certificate registered with `moxide config tlspubkey add`?): the server said: 535 5.7.8 "),
        "{err}"
    );

    if have(
        "python3",
        "--version",
        "sendmail_and_python_with_client_certificates (python)",
    ) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/client_cert.py");
        let out = Command::new("python3")
            .arg(script)
            .args([
                "127.0.0.1",
                &server.imap.to_string(),
                &server.imaps.to_string(),
            ])
            .arg(server.submissions.to_string())
            .arg(&ca)
            .arg(d.join("box.crt"))
            .arg(d.join("box.key"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "imaps-welcome-preauth: True\nimaps-state: AUTH\nimaps-select: OK\nstarttls-state: NONAUTH\nstarttls-external-offered: True\nstarttls-external: OK\nsubmissions-refused: {}\nreadback-count: 1\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The sendmail messages, read back.
        let readback = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/smtp_client.py");
        for (subject, body) in [("sendmail-pem", "by pem"), ("sendmail-seed", "by seed")] {
            let out = Command::new("python3")
                .arg(&readback)
                .args([
                    "readback",
                    "127.0.0.1",
                    "0",
                    &server.imaps.to_string(),
                    subject,
                    "1",
                ])
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!(
                    "count: 1\nfields: Received Message-ID Date From Subject\nbody: b'{body}\\r\\n'\n"
                ),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    drop(server);
}

//! Client certificates end to end with real tools: `moxide config
//! tlspubkey` on a localserve directory, the openssl commands the account
//! page shows (P-256 key, 100-year self-signed certificate, PKCS#12), and
//! `openssl s_client -cert -key` against IMAPS. Tests needing openssl skip,
//! saying so, when it is missing.

#[path = "common/cli.rs"]
mod cli;
#[path = "common/client_cert_tools.rs"]
mod client_cert_tools;
mod common;

use std::process::{Command, Stdio};

use cli::BIN;
use client_cert_tools::{field, have, s_client, tlspubkey};
use common::{Server, free_ports};

const HEADER: &str = "fingerprint\ttype\taccount\tlogin address\timap preauth\tname\n";

#[test]
fn tlspubkey_commands_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stem = d.join("laptop");
    let (code, out, err) = tlspubkey(d, &["gen", stem.to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (0, ""));
    let fp = field(&out, "fingerprint").to_string();
    let seed = field(&out, "ed25519 seed").to_string();
    assert_eq!(
        out,
        format!(
            "fingerprint: {fp}\ned25519 seed: {seed}\nwrote {s}.key (private key), {s}.crt (certificate), {s}.pem (both)\n",
            s = stem.display()
        )
    );
    // The seed gives the same key, and the certificate names the stem.
    let g = moxide_engine::admin::keygen::from_seed_text(&seed, "laptop").unwrap();
    assert_eq!(g.fingerprint, fp);
    let pem = std::fs::read(d.join("laptop.pem")).unwrap();
    assert_eq!(
        std::fs::read_to_string(d.join("laptop.crt")).unwrap(),
        g.cert_pem
    );
    // gen never overwrites.
    let (code, _, err) = tlspubkey(d, &["gen", stem.to_str().unwrap()], b"");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "moxide config: {}.key: exists already; choose another stem or remove it\n",
            stem.display()
        )
    );

    let (code, out, err) = tlspubkey(d, &["add", "mox@localhost"], &pem);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        format!(
            "added {fp} (ed25519, account mox, login address mox@localhost, name \"laptop\")\n"
        )
    );
    let (code, out, _) = tlspubkey(d, &["list"], b"");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("{HEADER}{fp}\ted25519\tmox\tmox@localhost\tyes\tlaptop\n")
    );
    let (code, out, _) = tlspubkey(d, &["get", &fp], b"");
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!(
            "fingerprint: {fp}\ntype: ed25519\nname: laptop\naccount: mox\nlogin address: mox@localhost\nno imap preauth: false\ncreated: "
        )),
        "{out}"
    );
    assert!(out.ends_with("-----END CERTIFICATE-----\n"), "{out}");

    // Errors, each naming what is at fault; nothing is stored.
    let fail = |args: &[&str], stdin: &[u8]| {
        let (code, out, err) = tlspubkey(d, args, stdin);
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        err
    };
    assert_eq!(
        fail(&["add", "mox@localhost"], &pem),
        format!(
            "moxide config: TLS public key {fp} is already registered (account \"mox\", name \"laptop\")\n"
        )
    );
    let other = moxide_engine::admin::keygen::from_seed(&[8; 32], "x").unwrap();
    assert_eq!(
        fail(&["add", "nobody@localhost"], other.cert_pem.as_bytes()),
        "moxide config: unknown address \"nobody@localhost\": no account has it\n"
    );
    assert_eq!(
        fail(&["add", "mox@localhost"], b"garbage"),
        "moxide config: certificate on standard input: no CERTIFICATE block in PEM input\n"
    );
    assert_eq!(
        fail(&["get", "nope"], b""),
        "moxide config: no TLS public key with fingerprint \"nope\" (see `moxide config tlspubkey list`)\n"
    );
    assert_eq!(
        fail(&["list", "nobody"], b""),
        "moxide config: unknown account \"nobody\"\n"
    );
    if have(
        "openssl",
        "version",
        "tlspubkey_commands_and_their_errors (RSA 1024)",
    ) {
        let st = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=weak", "-keyout"])
            .arg(d.join("weak.key"))
            .arg("-out")
            .arg(d.join("weak.crt"))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        let weak = std::fs::read(d.join("weak.crt")).unwrap();
        assert_eq!(
            fail(&["add", "mox@localhost"], &weak),
            "moxide config: certificate on standard input: RSA key of 1024 bits is too weak: at least 2048 bits are required\n"
        );
    }

    // While localserve has the directory open, the commands run in it
    // (its control socket) and print what they print with it stopped.
    let stopped = tlspubkey(d, &["list"], b"");
    let (imap, imaps) = free_ports();
    let server = Server::start(d, imap, imaps);
    assert_eq!(tlspubkey(d, &["list"], b""), stopped);
    assert_eq!(
        fail(&["get", "nope"], b""),
        "moxide config: no TLS public key with fingerprint \"nope\" (see `moxide config tlspubkey list`)\n"
    );
    let (status, _) = server.interrupt();
    assert!(status.success());

    let (code, out, _) = tlspubkey(d, &["rm", &fp], b"");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("removed {fp} (account mox, name \"laptop\")\n")
    );
    let (_, out, _) = tlspubkey(d, &["list", "mox"], b"");
    assert_eq!(out, HEADER);
    assert_eq!(
        fail(&["rm", &fp], b""),
        format!(
            "moxide config: no TLS public key with fingerprint {fp:?} (see `moxide config tlspubkey list`)\n"
        )
    );
}

#[test]
fn account_page_openssl_commands_and_s_client() {
    if !have(
        "openssl",
        "version",
        "account_page_openssl_commands_and_s_client",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The commands of the account page, as given in README.md.
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
    sh("openssl pkcs12 -export -inkey k.pem -in c.pem -out c.p12 -passout pass:");
    // The PKCS#12 file holds the same certificate.
    let out = Command::new("openssl")
        .args([
            "pkcs12", "-in", "c.p12", "-passin", "pass:", "-nokeys", "-clcerts",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success());
    let pem = std::fs::read(d.join("c.pem")).unwrap();
    assert_eq!(
        moxide_proto::tls_key::parse_pem(&out.stdout).unwrap(),
        moxide_proto::tls_key::parse_pem(&pem).unwrap()
    );

    let (code, out, err) = tlspubkey(d, &["add", "mox@localhost"], &pem);
    assert_eq!((code, err.as_str()), (0, ""));
    let fp = out.split(' ').nth(1).unwrap().to_string();
    assert_eq!(
        out,
        format!(
            "added {fp} (ecdsa-p256, account mox, login address mox@localhost, name \"my-phone\")\n"
        )
    );

    let (imap, imaps) = free_ports();
    let server = Server::start(d, imap, imaps);
    let (cert, key) = (d.join("c.pem"), d.join("k.pem"));
    let said = s_client(server.imaps, &cert, &key, "a SELECT INBOX\r\nz LOGOUT\r\n");
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].starts_with("* PREAUTH [CAPABILITY "), "{said}");
    assert!(
        lines.iter().any(|l| l.starts_with("a OK [READ-WRITE] ")),
        "{said}"
    );
    assert_eq!(lines.last(), Some(&"z OK LOGOUT completed"), "{said}");

    drop(server);
}

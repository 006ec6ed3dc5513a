//! `moxide dkim sign|verify|lookup|gened25519|genrsa` as an admin runs them,
//! with key records served by a dnslib (PyPI) DNS server on loopback started
//! by the test. Skips only when python3 is missing; a missing dnslib is a
//! failure (CI installs it).

use std::net::SocketAddr;
use std::sync::OnceLock;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/dnslib.rs"]
mod dnslib;
#[path = "common/python_server.rs"]
mod python_server;

use cli::run_moxide;

/// The ed25519 key of RFC 8032 7.1 test 1 as PKCS#8 v1 PEM.
const ED_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
const ED_RECORD: &str =
    "v=DKIM1; k=ed25519; h=sha256; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

/// The key records' server (every other name is NXDOMAIN, other types
/// NODATA), or `None` (test skipped) without python3.
fn server() -> Option<SocketAddr> {
    static CELL: OnceLock<Option<SocketAddr>> = OnceLock::new();
    *CELL.get_or_init(|| {
        dnslib::dnslib_server(&[
            ("ed._domainkey.example.org", "TXT", ED_RECORD),
            (
                "old._domainkey.example.org",
                "TXT",
                "v=DKIM1; k=ed25519; p=",
            ),
        ])
    })
}

const MSG: &str =
    "From: Joe <joe@example.org>\nTo: Suzie <suzie@example.net>\nSubject: dinner\n\nHi.\n";

#[test]
fn sign_then_verify_over_dns() {
    let Some(addr) = server() else { return };
    let dir = std::env::temp_dir().join(format!("moxide-cli-dkim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("ed.pem");
    std::fs::write(&key, ED_PEM).unwrap();
    let out = run_moxide(
        [
            "dkim",
            "sign",
            "--domain",
            "example.org",
            "--selector",
            "ed",
            "--key",
            key.to_str().unwrap(),
        ],
        MSG.as_bytes(),
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.success(), "{}", out.stderr);
    let signed = out.stdout.clone();
    assert!(signed.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=ed;"));
    // LF input came out as CRLF.
    assert!(signed.ends_with("From: Joe <joe@example.org>\r\nTo: Suzie <suzie@example.net>\r\nSubject: dinner\r\n\r\nHi.\r\n"));

    let resolver = addr.to_string();
    let out = run_moxide(
        ["dkim", "verify", "--resolver", &resolver],
        signed.as_bytes(),
    );
    let report = out.stdout.clone();
    assert!(out.success(), "{report}{}", out.stderr);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "signature 1: pass");
    assert_eq!(lines[1], "  reason: signature verified");
    assert_eq!(
        lines[2],
        "  d=example.org s=ed i=@example.org a=ed25519-sha256 c=relaxed/relaxed"
    );
    assert!(report.contains(&format!(
        "  key record: {ED_RECORD}\n  key: ed25519\n  hashes allowed (h=): sha256\n"
    )));

    // A changed body: fail, exit status 1, the reason says what.
    let changed = signed.replace("Hi.", "Ho.");
    let out = run_moxide(
        ["dkim", "verify", "--resolver", &resolver],
        changed.as_bytes(),
    );
    assert_eq!(out.code, Some(1));
    let report = out.stdout.clone();
    assert!(
        report.starts_with(
            "signature 1: fail\n  reason: body hash does not match bh= (body changed)\n"
        ),
        "{report}"
    );

    // No signature at all.
    let out = run_moxide(["dkim", "verify", "--resolver", &resolver], MSG.as_bytes());
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout, "dkim=none: the message has no DKIM-Signature\n");
}

#[test]
fn lookup_reports_the_record() {
    let Some(addr) = server() else { return };
    let resolver = addr.to_string();
    let out = run_moxide(
        [
            "dkim",
            "lookup",
            "ed",
            "example.org",
            "--resolver",
            &resolver,
        ],
        b"",
    );
    assert!(out.success());
    assert_eq!(
        out.stdout,
        format!(
            "ed._domainkey.example.org TXT {ED_RECORD}\n  key: ed25519\n  hashes allowed (h=): sha256\n  usable: yes\n"
        )
    );
    let out = run_moxide(
        [
            "dkim",
            "lookup",
            "old",
            "example.org",
            "--resolver",
            &resolver,
        ],
        b"",
    );
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stdout,
        "old._domainkey.example.org TXT v=DKIM1; k=ed25519; p=\n  key: revoked (empty p=)\n  usable: no\n"
    );
    let out = run_moxide(
        [
            "dkim",
            "lookup",
            "none",
            "example.org",
            "--resolver",
            &resolver,
        ],
        b"",
    );
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stdout,
        "none._domainkey.example.org: no TXT record (publish the record from `moxide dkim gened25519` or `genrsa`)\n"
    );
}

#[test]
fn key_generation_prints_pem_and_record() {
    let out = run_moxide(["dkim", "gened25519"], b"");
    assert!(out.success());
    let t = out.stdout.clone();
    assert!(t.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{t}");
    assert!(t.contains("-----END PRIVATE KEY-----\n\n# Publish as TXT at SELECTOR._domainkey.DOMAIN:\nv=DKIM1; k=ed25519; h=sha256; p="));
    let out = run_moxide(["dkim", "genrsa"], b"");
    assert!(out.success());
    let t = out.stdout.clone();
    assert!(
        t.contains("\nv=DKIM1; k=rsa; h=sha256; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
        "{t}"
    );
    let out = run_moxide(["dkim", "genrsa", "--bits", "1024"], b"");
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr,
        "moxide dkim: rsa key size 1024 not supported for signing (2048 to 4096 bits)\n"
    );
}

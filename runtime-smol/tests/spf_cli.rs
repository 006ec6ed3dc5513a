//! `moxide spf check|lookup|parse` against a dnslib (PyPI) DNS server on
//! loopback started by the test. Skips only when python3 is missing; a
//! missing dnslib is a failure (CI installs it).

use std::net::SocketAddr;
use std::sync::OnceLock;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/dnslib.rs"]
mod dnslib;
#[path = "common/python_server.rs"]
mod python_server;

use cli::{moxide_command, run};

/// The zone's address (every other name is NXDOMAIN, other types NODATA),
/// or `None` (test skipped) without python3.
fn server() -> Option<SocketAddr> {
    static CELL: OnceLock<Option<SocketAddr>> = OnceLock::new();
    *CELL.get_or_init(|| {
        dnslib::dnslib_server(&[
            (
                "example.com",
                "TXT",
                "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all",
            ),
            ("example.com", "TXT", "site-verification=abc"),
            // Two character-strings, concatenated without a space.
            (
                "_spf.example.net",
                "TXT",
                "v=spf1 a:mail.example.net \t~all",
            ),
            // Not the client 198.51.100.5: the include softfails, so it does
            // not match and example.com's -all decides (RFC 7208 5.2).
            ("mail.example.net", "A", "198.51.100.6"),
            ("mail.example.org", "TXT", "v=spf1 a -all"),
            ("mail.example.org", "A", "198.51.100.5"),
            ("bad.example", "TXT", "v=spf1 a:mail -all"),
            ("two.example", "TXT", "v=spf1 -all"),
            ("two.example", "TXT", "v=spf1 +all"),
        ])
    })
}

/// (exit code, stdout, stderr) of `moxide ARGS [--resolver RESOLVER]`
/// on host mx.test.
fn moxide(args: &[&str], resolver: Option<SocketAddr>) -> (Option<i32>, String, String) {
    let mut c = moxide_command(args);
    c.env("HOSTNAME", "mx.test");
    if let Some(r) = resolver {
        c.args(["--resolver", &r.to_string()]);
    }
    let (out, err, code) = run(&mut c, b"").parts();
    (code, out, err)
}

#[test]
fn spf_check_with_helo_shows_lookups_and_headers() {
    let Some(s) = server() else { return };
    let (code, out, err) = moxide(
        &[
            "spf",
            "check",
            "198.51.100.5",
            "joe@example.com",
            "--helo",
            "mail.example.org",
        ],
        Some(s),
    );
    assert_eq!(err, "");
    assert_eq!(
        out,
        "identity: helo (postmaster@mail.example.org, domain mail.example.org)\n\
         client-ip: 198.51.100.5\n\
         record: v=spf1 a -all\n\
         result: pass\n\
         mechanism: matched a\n\
         limits: 1 of 10 DNS-querying terms, 0 of 2 void lookups\n\
         Received-SPF: pass (mx.test: domain of postmaster@mail.example.org designates\r\n\
         \t198.51.100.5 as permitted sender) client-ip=198.51.100.5;\r\n\
         \tenvelope-from=\"joe@example.com\"; helo=mail.example.org; receiver=mx.test;\r\n\
         \tidentity=helo; mechanism=a\r\n\
         \n\
         identity: mailfrom (joe@example.com, domain example.com)\n\
         client-ip: 198.51.100.5\n\
         record: v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all\n\
         result: fail\n\
         mechanism: matched -all\n\
         explanation: 198.51.100.5 is not one of example.com's designated mail servers\n\
         limits: 2 of 10 DNS-querying terms, 0 of 2 void lookups\n\
         Received-SPF: fail (mx.test: domain of joe@example.com does not designate\r\n\
         \t198.51.100.5 as permitted sender) client-ip=198.51.100.5;\r\n\
         \tenvelope-from=\"joe@example.com\"; helo=mail.example.org; receiver=mx.test;\r\n\
         \tidentity=mailfrom; mechanism=-all\r\n\
         lookups:\n  \
         mail.example.org TXT: \"v=spf1 a -all\"\n  \
         mail.example.org A: 198.51.100.5\n  \
         example.com TXT: \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all\", \"site-verification=abc\"\n  \
         _spf.example.net TXT: \"v=spf1 a:mail.example.net \" \"~all\"\n  \
         mail.example.net A: 198.51.100.6\n"
    );
    assert_eq!(code, Some(1));
    // Without --helo: the MAIL FROM identity only; a domain is postmaster@.
    let (code, out, _) = moxide(&["spf", "check", "192.0.2.77", "example.com"], Some(s));
    assert!(
        out.starts_with(
            "identity: mailfrom (postmaster@example.com, domain example.com)\n\
         client-ip: 192.0.2.77\n\
         record: v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all\n\
         result: pass\n\
         mechanism: matched ip4:192.0.2.0/24\n"
        ),
        "{out}"
    );
    assert_eq!(code, Some(0));
    let (code, out, _) = moxide(&["spf", "check", "192.0.2.77", "x@two.example"], Some(s));
    assert!(out.contains("result: permerror\n"), "{out}");
    assert!(
        out.contains("problem: 2 SPF records at two.example, only one is allowed\n"),
        "{out}"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn spf_lookup_and_parse() {
    let Some(s) = server() else { return };
    let (code, out, err) = moxide(&["spf", "lookup", "bad.example"], Some(s));
    assert_eq!(err, "");
    assert_eq!(
        out,
        "query: bad.example TXT\n\
         txt (spf): \"v=spf1 a:mail -all\"\n\
         valid: no\n\
         error: term \"a:mail\" at byte 7: domain must end in a macro or a \".\" and a top-level label (letters, digits, inner dashes, not all digits)\n  \
         v=spf1 a:mail -all\n         \
         ^^^^^^\n"
    );
    assert_eq!(code, Some(1));
    let (code, out, _) = moxide(&["spf", "lookup", "nx.example"], Some(s));
    assert_eq!(
        out,
        "query: nx.example TXT\nresult: NXDOMAIN: nx.example does not exist (SPF none)\n"
    );
    assert_eq!(code, Some(1));
    let (code, out, _) = moxide(&["spf", "parse", "v=spf1 mx -all"], None);
    assert_eq!(
        out,
        "record: v=spf1 mx -all\n\
         valid: yes\n  \
         1. mx                           pass for clients in the addresses of the MX hosts of the domain (1 DNS lookup, at most 10 MX names)\n  \
         2. -all                         fail for every client\n\
         dns-querying terms: 1 here (at most 10 in all, included policies count too)\n"
    );
    assert_eq!(code, Some(0));
    let (code, out, _) = moxide(&["spf", "parse", "v=spf1 ip4:192.0.2.1/33"], None);
    assert!(
        out.contains("error: term \"ip4:192.0.2.1/33\" at byte 7: bad CIDR length \"/33\""),
        "{out}"
    );
    assert_eq!(code, Some(1));
}

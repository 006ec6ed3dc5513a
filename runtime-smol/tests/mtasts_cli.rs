//! `moxide mtasts lookup` against a dnslib DNS server and HTTPS servers on
//! 127.0.0.1 started by the test, certificates from a test CA passed with
//! `--ca-file`, the fetch port set by `MOXIDE_MTASTS_PORT` (test-only:
//! RFC 8461 fixes port 443). Skips only when python3 is missing.

#[path = "common/cli.rs"]
mod cli;
#[path = "common/dnslib.rs"]
mod dnslib;
#[path = "common/https_server.rs"]
mod https_server;
#[path = "common/python_server.rs"]
mod python_server;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use cli::{moxide_command, run, run_moxide};
use dnslib::dnslib_server;
use https_server::{TestCa, response, serve};

const POLICY: &[u8] =
    b"version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmx: *.example.net\r\nmax_age: 604800\r\n";

/// The test zone's server (one for the whole test binary), or `None`
/// without python3.
fn dns() -> Option<SocketAddr> {
    static CELL: OnceLock<Option<SocketAddr>> = OnceLock::new();
    *CELL.get_or_init(zone)
}

fn zone() -> Option<SocketAddr> {
    let mut records = vec![
        ("_mta-sts.example.test", "TXT", "v=STSv1; id=20260101"),
        ("_mta-sts.example.test", "TXT", "google-site-verification=x"),
        ("_mta-sts.badrec.test", "TXT", "v=STSv1; id=a-b"),
        ("_mta-sts.two.test", "TXT", "v=STSv1; id=1"),
        ("_mta-sts.two.test", "TXT", "v=STSv1; id=2"),
        ("norecord.test", "A", "192.0.2.1"),
    ];
    for d in ["notfound", "moved", "badcert", "badpolicy", "html"] {
        records.push((d, "STS", ""));
    }
    let owned: Vec<(String, &str, &str)> = records
        .iter()
        .flat_map(|&(n, t, v)| match t {
            // Shorthand: a record and a policy host on 127.0.0.1.
            "STS" => vec![
                (format!("_mta-sts.{n}.test"), "TXT", "v=STSv1; id=1"),
                (format!("mta-sts.{n}.test"), "A", "127.0.0.1"),
            ],
            _ => vec![(n.to_string(), t, v)],
        })
        .chain(
            ["example", "badrec"]
                .iter()
                .map(|d| (format!("mta-sts.{d}.test"), "A", "127.0.0.1")),
        )
        .collect();
    let refs: Vec<(&str, &str, &str)> =
        owned.iter().map(|(n, t, v)| (n.as_str(), *t, *v)).collect();
    dnslib_server(&refs)
}

/// Runs `moxide mtasts lookup DOMAIN` with the fetch sent to `port`.
fn lookup(dns: &SocketAddr, ca: &Path, domain: &str, port: u16) -> (Option<i32>, String, String) {
    let (out, err, code) = run(
        moxide_command(["mtasts", "lookup", domain, "--resolver"])
            .arg(dns.to_string())
            .arg("--ca-file")
            .arg(ca)
            .env("MOXIDE_MTASTS_PORT", port.to_string()),
        b"",
    )
    .parts();
    (code, out, err)
}

struct Setup {
    dns: SocketAddr,
    ca: TestCa,
    _dir: tempfile::TempDir,
    ca_file: std::path::PathBuf,
}

fn setup() -> Option<Setup> {
    let dns = dns()?;
    let ca = TestCa::new("moxide test CA");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    Some(Setup {
        dns,
        ca,
        _dir: dir,
        ca_file,
    })
}

/// A server for `mta-sts.<domain>` answering `resp`; returns its port.
fn policy_server(s: &Setup, domain: &str, resp: Vec<u8>) -> u16 {
    let host = format!("mta-sts.{domain}");
    serve(s.ca.server_config(&[&host]), resp, Duration::ZERO).port
}

fn head(domain: &str, id: &str, port: u16) -> String {
    format!(
        "record name: _mta-sts.{domain}\n\
         TXT records:\n  \"v=STSv1; id={id}\"\n\
         record: v=STSv1; id={id}\n\
         record id: {id}\n\
         policy URL: https://mta-sts.{domain}/.well-known/mta-sts.txt\n\
         fetching from port {port} (MOXIDE_MTASTS_PORT, for tests)\n"
    )
}

#[test]
fn valid_enforce_policy() {
    let Some(s) = setup() else { return };
    let port = policy_server(
        &s,
        "example.test",
        response(
            "200 OK",
            &[("Content-Type", "text/plain; charset=us-ascii")],
            POLICY,
        ),
    );
    let (code, out, err) = lookup(&s.dns, &s.ca_file, "Example.TEST.", port);
    assert_eq!(err, "");
    assert_eq!(
        out,
        format!(
            "record name: _mta-sts.example.test\n\
             TXT records:\n  \
             \"v=STSv1; id=20260101\"\n  \
             \"google-site-verification=x\"\n\
             record: v=STSv1; id=20260101\n\
             record id: 20260101\n\
             policy URL: https://mta-sts.example.test/.well-known/mta-sts.txt\n\
             fetching from port {port} (MOXIDE_MTASTS_PORT, for tests)\n\
             HTTP status: 200\n\
             Content-Type: text/plain; charset=us-ascii\n\
             policy:\n  \
             mode: enforce\n  \
             mx: mx.example.test\n  \
             mx: *.example.net\n  \
             max_age: 604800 seconds (7 days)\n"
        )
    );
    assert_eq!(code, Some(0));
}

#[test]
fn not_found() {
    let Some(s) = setup() else { return };
    let port = policy_server(
        &s,
        "notfound.test",
        response(
            "404 Not Found",
            &[("Content-Type", "text/html")],
            b"<h1>404</h1>",
        ),
    );
    let (code, out, _) = lookup(&s.dns, &s.ca_file, "notfound.test", port);
    assert_eq!(
        out,
        head("notfound.test", "1", port)
            + "HTTP status: 404\n\
               Content-Type: text/html\n\
               policy error: HTTP status 404, 200 is required\n\
               TLSRPT result type: sts-policy-fetch-error\n"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn redirect_is_not_followed() {
    let Some(s) = setup() else { return };
    // Where the redirect points serves a valid policy: never asked.
    let target = policy_server(
        &s,
        "example.test",
        response("200 OK", &[("Content-Type", "text/plain")], POLICY),
    );
    let location = format!("https://mta-sts.example.test:{target}/.well-known/mta-sts.txt");
    let port = policy_server(
        &s,
        "moved.test",
        response(
            "302 Found",
            &[("Location", &location), ("Content-Type", "text/plain")],
            b"",
        ),
    );
    let (code, out, _) = lookup(&s.dns, &s.ca_file, "moved.test", port);
    assert_eq!(
        out,
        head("moved.test", "1", port)
            + "HTTP status: 302\n\
               Content-Type: text/plain\n\
               policy error: HTTP status 302, 200 is required, redirects are not followed (RFC 8461 3.3)\n\
               TLSRPT result type: sts-policy-fetch-error\n"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn certificate_from_an_untrusted_ca() {
    let Some(s) = setup() else { return };
    let other = TestCa::new("someone else");
    let port = serve(
        other.server_config(&["mta-sts.badcert.test"]),
        response("200 OK", &[("Content-Type", "text/plain")], POLICY),
        Duration::ZERO,
    )
    .port;
    let (code, out, _) = lookup(&s.dns, &s.ca_file, "badcert.test", port);
    assert_eq!(
        out,
        head("badcert.test", "1", port)
            + "policy error: TLS: certificate of mta-sts.badcert.test not valid: UnknownIssuer\n\
               TLSRPT result type: sts-webpki-invalid\n"
    );
    assert_eq!(code, Some(1));
    // Without --ca-file the test CA is not trusted either.
    let port = policy_server(
        &s,
        "example.test",
        response("200 OK", &[("Content-Type", "text/plain")], POLICY),
    );
    let out = run(
        moxide_command(["mtasts", "lookup", "example.test", "--resolver"])
            .arg(s.dns.to_string())
            .env("MOXIDE_MTASTS_PORT", port.to_string()),
        b"",
    );
    let text = out.stdout;
    assert!(
        text.ends_with("TLSRPT result type: sts-webpki-invalid\n"),
        "{text}"
    );
    assert_eq!(out.code, Some(1));
}

#[test]
fn bad_policy_wrong_type_and_bad_records() {
    let Some(s) = setup() else { return };
    let bad = b"version: STSv1\r\nmode: strict\r\nmx: mx.example.test\r\nmax_age: 86400\r\n";
    let port = policy_server(
        &s,
        "badpolicy.test",
        response("200 OK", &[("Content-Type", "text/plain")], bad),
    );
    let (code, out, _) = lookup(&s.dns, &s.ca_file, "badpolicy.test", port);
    assert_eq!(
        out,
        head("badpolicy.test", "1", port)
            + "HTTP status: 200\n\
               Content-Type: text/plain\n\
               policy error: invalid MTA-STS policy: mode \"strict\" is not enforce, testing or none (line 2)\n\
               TLSRPT result type: sts-policy-invalid\n\
               policy text:\n    \
               1 version: STSv1\n    \
               2 mode: strict\n    \
               3 mx: mx.example.test\n    \
               4 max_age: 86400\n"
    );
    assert_eq!(code, Some(1));
    let port = policy_server(
        &s,
        "html.test",
        response("200 OK", &[("Content-Type", "text/html")], POLICY),
    );
    let (code, out, _) = lookup(&s.dns, &s.ca_file, "html.test", port);
    assert!(
        out.ends_with(
            "policy error: Content-Type \"text/html\", text/plain is required (RFC 8461 3.2)\n\
             TLSRPT result type: sts-policy-invalid\n"
        ),
        "{out}"
    );
    assert_eq!(code, Some(1));
    // Record errors: nothing is fetched (port 9 would fail).
    let (code, out, _) = lookup(&s.dns, &s.ca_file, "badrec.test", 9);
    assert_eq!(
        out,
        "record name: _mta-sts.badrec.test\n\
         TXT records:\n  \"v=STSv1; id=a-b\"\n\
         record error: invalid MTA-STS record: id=\"a-b\" must be 1 to 32 letters and digits\n  \
         v=STSv1; id=a-b\n           \
         ^ at character 10\n\
         senders treat the domain as without MTA-STS\n"
    );
    assert_eq!(code, Some(1));
    let (_, out, _) = lookup(&s.dns, &s.ca_file, "two.test", 9);
    assert!(
        out.ends_with(
            "record error: 2 records start with v=STSv1, exactly one is allowed (RFC 8461 3.1); \
             senders treat the domain as without MTA-STS\n"
        ),
        "{out}"
    );
    let (code, out, _) = lookup(&s.dns, &s.ca_file, "norecord.test", 9);
    assert_eq!(
        out,
        "record name: _mta-sts.norecord.test\n\
         record: none (NXDOMAIN): the domain does not use MTA-STS\n"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn bad_arguments() {
    let out = run_moxide(
        [
            "mtasts",
            "lookup",
            "example.test",
            "--ca-file",
            "/nonexistent/ca.pem",
        ],
        b"",
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr,
        "moxide mtasts lookup: --ca-file: reading /nonexistent/ca.pem: No such file or directory (os error 2)\n"
    );
    let out = run(
        moxide_command([
            "mtasts",
            "lookup",
            "example.test",
            "--resolver",
            "127.0.0.1:53",
        ])
        .env("MOXIDE_MTASTS_PORT", "x"),
        b"",
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr,
        "moxide mtasts lookup: MOXIDE_MTASTS_PORT=\"x\" is not a port\n"
    );
}

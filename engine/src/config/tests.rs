//! Known-answer tests: the example configuration parses to the documented
//! values, and each mistake gives its message.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use moxide_proto::dkim::{
    Algorithm, Canon, DEFAULT_HEADERS, SystemRandom, generate_ed25519, generate_rsa, pkcs8_pem,
};

use super::*;

/// A directory with the files the example names: TLS files (content is
/// not read by the config), the relay password and two DKIM keys.
fn example_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("tls")).unwrap();
    std::fs::create_dir_all(d.join("dkim")).unwrap();
    std::fs::write(d.join("tls/cert.pem"), "cert").unwrap();
    std::fs::write(d.join("tls/key.pem"), "key").unwrap();
    std::fs::write(d.join("relay-password"), "secret\n").unwrap();
    let rng = SystemRandom::new();
    let ed = pkcs8_pem(&generate_ed25519(&rng).unwrap());
    std::fs::write(d.join("dkim/example.org.2024a.ed25519.pem"), ed).unwrap();
    let rsa = pkcs8_pem(&generate_rsa(&rng, 2048).unwrap());
    std::fs::write(d.join("dkim/example.org.2024b.rsa2048.pem"), rsa).unwrap();
    std::fs::write(d.join("moxide.toml"), example::SERVER).unwrap();
    std::fs::write(d.join("domains.toml"), example::DOMAINS).unwrap();
    dir
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_example_parses_to_the_documented_values() {
    let dir = example_dir();
    let d = dir.path();
    let cfg = load(&d.join("moxide.toml")).unwrap();
    let ips: Vec<IpAddr> = vec!["0.0.0.0".parse().unwrap(), "::".parse().unwrap()];
    let mut transports = BTreeMap::new();
    transports.insert(
        "direct1025".to_string(),
        Transport::Direct { port: Some(1025) },
    );
    transports.insert(
        "relay".to_string(),
        Transport::Smarthost {
            host: "smtp.provider.example".into(),
            port: 465,
            implicit_tls: true,
            username: Some("me@example.org".into()),
            password_file: Some(d.join("relay-password")),
        },
    );
    let mut selectors = BTreeMap::new();
    selectors.insert(
        "2024a".to_string(),
        Selector {
            private_key_file: d.join("dkim/example.org.2024a.ed25519.pem"),
            algorithm: Algorithm::Ed25519Sha256,
            headers: strs(&[
                "From",
                "To",
                "Cc",
                "Reply-To",
                "Subject",
                "Date",
                "Message-ID",
                "Content-Type",
            ]),
            oversign: true,
            header_canon: Canon::Relaxed,
            body_canon: Canon::Relaxed,
            expiration: Some(259_200),
        },
    );
    selectors.insert(
        "2024b".to_string(),
        Selector {
            private_key_file: d.join("dkim/example.org.2024b.rsa2048.pem"),
            algorithm: Algorithm::RsaSha256,
            headers: strs(DEFAULT_HEADERS),
            oversign: true,
            header_canon: Canon::Relaxed,
            body_canon: Canon::Relaxed,
            expiration: None,
        },
    );
    let mut domains = BTreeMap::new();
    domains.insert(
        "example.org".to_string(),
        Domain {
            selectors,
            sign: strs(&["2024a", "2024b"]),
        },
    );
    domains.insert("example.net".to_string(), Domain::default());
    let want = Config {
        path: d.join("moxide.toml"),
        hostname: "mail.example.org".into(),
        data_dir: d.join("data"),
        resolver: Vec::new(),
        sender_checks: true,
        postmaster: Some("admin".into()),
        listeners: vec![Listener {
            name: "public".into(),
            ips,
            tls_cert: d.join("tls/cert.pem"),
            tls_key: d.join("tls/key.pem"),
            services: vec![
                (Service::Smtp, 25),
                (Service::Submission, 587),
                (Service::Submissions, 465),
                (Service::Imap, 143),
                (Service::Imaps, 993),
            ],
        }],
        delivery: DeliveryTls {
            pkix: true,
            dane: true,
            allow_loopback: false,
        },
        extra_ca_files: Vec::new(),
        transports,
        routes: vec![Route {
            from_domains: Vec::new(),
            to_domains: strs(&["example.net", ".example.net"]),
            transport: "relay".into(),
        }],
        domains: Domains {
            path: d.join("domains.toml"),
            domains,
        },
    };
    assert_eq!(cfg, want);
    assert_eq!(cfg.route_for("example.org", "example.net"), Some("relay"));
    assert_eq!(cfg.route_for("example.org", "a.example.net"), Some("relay"));
    assert_eq!(cfg.route_for("example.org", "xexample.net"), None);
    assert_eq!(cfg.route_for("example.org", "example.com"), None);
    assert!(cfg.domains.is_local("Example.NET"));
    assert!(!cfg.domains.is_local("sub.example.net"));
    // Signing follows the From domain up to the nearest parent that signs.
    assert_eq!(
        cfg.domains
            .signing_domain("a.b.example.org")
            .map(|(n, _)| n),
        Some("example.org")
    );
    assert_eq!(cfg.domains.signing_domain("example.net"), None);
}

/// A minimal valid configuration in `d`, with `extra` appended to
/// moxide.toml and `domains` as domains.toml.
fn minimal(d: &Path, extra: &str, domains: &str) -> Result<Config, ConfigError> {
    std::fs::write(d.join("c.pem"), "x").unwrap();
    std::fs::write(d.join("k.pem"), "x").unwrap();
    // Top-level keys go before the first table, tables after the listener.
    let (top, tables) = if extra.starts_with('[') {
        ("", extra)
    } else {
        (extra, "")
    };
    let text = format!(
        "hostname = \"Mail.A.Test.\"\ndata_dir = \"/var/moxide\"\n{top}\n[[listeners]]\nips = [\"127.0.0.1\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nsmtp = 0\nsubmission = 0\n{tables}"
    );
    std::fs::write(d.join("moxide.toml"), &text).unwrap();
    std::fs::write(d.join("domains.toml"), domains).unwrap();
    load(&d.join("moxide.toml"))
}

const ONE_DOMAIN: &str = "[domains.\"a.test\"]\n";

#[test]
fn minimal_config_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = minimal(d, "", ONE_DOMAIN).unwrap();
    assert_eq!(cfg.hostname, "mail.a.test");
    assert_eq!(cfg.data_dir, PathBuf::from("/var/moxide"));
    assert!(cfg.sender_checks);
    assert!(cfg.resolver.is_empty());
    assert_eq!(cfg.postmaster, None);
    assert_eq!(
        cfg.delivery,
        DeliveryTls {
            pkix: true,
            dane: true,
            allow_loopback: false
        }
    );
    assert_eq!(cfg.listeners[0].name, "listeners[0]");
    assert_eq!(
        cfg.listeners[0].services,
        vec![(Service::Smtp, 0), (Service::Submission, 0)]
    );
    assert!(cfg.transports.is_empty() && cfg.routes.is_empty());
    assert!(cfg.extra_ca_files.is_empty());
    let extra = "resolver = [\"127.0.0.1:5353\"]\nsender_checks = false\npostmaster = \"pm\"\n[delivery]\ndane = false\nallow_loopback = true\nextra_ca_files = [\"k.pem\"]\n[transports.t]\nkind = \"direct\"\nport = 2525\n[transports.s]\nkind = \"smarthost\"\nhost = \"relay.test\"\n[[routes]]\nfrom_domains = [\"A.test\"]\ntransport = \"t\"\n";
    let cfg = minimal(d, extra, ONE_DOMAIN).unwrap();
    assert_eq!(cfg.resolver, vec!["127.0.0.1:5353".parse().unwrap()]);
    assert!(!cfg.sender_checks);
    assert_eq!(cfg.postmaster.as_deref(), Some("pm"));
    assert_eq!(
        cfg.delivery,
        DeliveryTls {
            pkix: true,
            dane: false,
            allow_loopback: true
        }
    );
    assert_eq!(cfg.extra_ca_files, vec![d.join("k.pem")]);
    assert_eq!(cfg.transports["t"], Transport::Direct { port: Some(2525) });
    assert_eq!(
        cfg.transports["s"],
        Transport::Smarthost {
            host: "relay.test".into(),
            port: 587,
            implicit_tls: false,
            username: None,
            password_file: None
        }
    );
    assert_eq!(cfg.route_for("a.test", "b.test"), Some("t"));
    assert_eq!(cfg.route_for("c.test", "b.test"), None);
}

/// A local domain may be written in U-labels or A-labels: both load as
/// the A-label name, and every form of it is local.
#[test]
fn idn_domains_load_in_either_form() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for text in [
        "[domains.\"Exämple.test\"]\n",
        "[domains.\"xn--exmple-cua.TEST.\"]\n",
    ] {
        let cfg = minimal(d, "", text).unwrap();
        let names: Vec<&String> = cfg.domains.domains.keys().collect();
        assert_eq!(names, ["xn--exmple-cua.test"], "{text}");
        for form in ["exämple.test", "EXÄMPLE.test.", "xn--exmple-cua.test"] {
            assert!(cfg.domains.is_local(form), "{form} in {text}");
        }
        assert!(!cfg.domains.is_local("example.test"));
        assert!(!cfg.domains.is_local("xn--a.test"));
    }
}

/// The error of `minimal` with `extra`, as the admin sees it, with the
/// directory replaced by `D`.
fn error(extra: &str, domains: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let e = minimal(dir.path(), extra, domains).unwrap_err();
    e.to_string()
        .replace(&dir.path().display().to_string(), "D")
}

#[test]
fn unknown_fields_are_errors_with_line_and_hint() {
    assert_eq!(
        error("colour = 1\n", ONE_DOMAIN),
        "D/moxide.toml: TOML parse error at line 3, column 1\n  |\n3 | colour = 1\n  | ^^^^^^\nunknown field `colour`, expected one of `hostname`, `data_dir`, `domains_file`, `resolver`, `sender_checks`, `postmaster`, `listeners`, `delivery`, `transports`, `routes`\n(every field is described in the output of `moxide serve --example-config`)"
    );
    let e = error("", "[domains.\"a.test\"]\nsign = []\n");
    assert!(
        e.starts_with("D/domains.toml: TOML parse error at line 2, column 1\n"),
        "{e}"
    );
    assert!(e.contains("unknown field `sign`, expected `dkim`"), "{e}");
    let e = error("[delivery]\npkix = \"yes\"\n", ONE_DOMAIN);
    assert!(
        e.contains("invalid type: string \"yes\", expected a boolean"),
        "{e}"
    );
}

#[test]
fn each_mistake_names_file_field_and_fix() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "postmaster = \" \"\n",
            ONE_DOMAIN,
            "D/moxide.toml: postmaster: empty; name the account that receives postmaster mail, or remove the field",
        ),
        (
            "[[listeners]]\nips = []\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nimap = 1\n",
            ONE_DOMAIN,
            "D/moxide.toml: listeners[1].ips: empty; list the addresses to listen on, e.g. [\"0.0.0.0\", \"::\"]",
        ),
        (
            "[[listeners]]\nips = [\"::1\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
            ONE_DOMAIN,
            "D/moxide.toml: listeners[1]: no service; set a port for at least one of smtp, submission, submissions, imap, imaps",
        ),
        (
            "[[listeners]]\nname = \"second\"\nips = [\"127.0.0.1\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nimap = 25\nimaps = 25\n",
            ONE_DOMAIN,
            "D/moxide.toml: listeners[1].imaps: 127.0.0.1 port 25 is already used by another service; give each service its own port",
        ),
        (
            "[[listeners]]\nips = [\"127.0.0.1\"]\ntls_cert = \"c.pem\"\ntls_key = \"missing.pem\"\nimap = 143\n",
            ONE_DOMAIN,
            "D/moxide.toml: listeners[1].tls_key: D/missing.pem: no such file; point tls_key at the PEM file (relative paths start at the directory of this file)",
        ),
        (
            "[transports.x]\nkind = \"carrier-pigeon\"\n",
            ONE_DOMAIN,
            "D/moxide.toml: transports.x.kind: \"carrier-pigeon\" is not a transport kind; use \"direct\" or \"smarthost\"",
        ),
        (
            "[delivery]\nextra_ca_files = [\"c.pem\", \"ca/none.pem\"]\n",
            ONE_DOMAIN,
            "D/moxide.toml: delivery.extra_ca_files[1]: D/ca/none.pem: no such file; list PEM files of CA certificates (relative paths start at the directory of this file)",
        ),
        (
            "[transports.x]\nkind = \"direct\"\nhost = \"h.test\"\n",
            ONE_DOMAIN,
            "D/moxide.toml: transports.x.host: not used by kind = \"direct\"; remove it, or use kind = \"smarthost\"",
        ),
        (
            "[transports.x]\nkind = \"smarthost\"\n",
            ONE_DOMAIN,
            "D/moxide.toml: transports.x.host: missing; name the submission server to relay through",
        ),
        (
            "[transports.x]\nkind = \"smarthost\"\nhost = \"h.test\"\nusername = \"u\"\n",
            ONE_DOMAIN,
            "D/moxide.toml: transports.x.password_file: username and password_file go together; set both or neither",
        ),
        (
            "[transports.x]\nkind = \"smarthost\"\nhost = \"h.test\"\nusername = \"u\"\npassword_file = \"pw\"\n",
            ONE_DOMAIN,
            "D/moxide.toml: transports.x.password_file: D/pw: no such file; write the password into it",
        ),
        (
            "[[routes]]\ntransport = \"nope\"\n",
            ONE_DOMAIN,
            "D/moxide.toml: routes[0].transport: \"nope\" is not defined; add a [transports.nope] table or use one of: (none defined)",
        ),
        (
            "domains_file = \"other.toml\"\n",
            ONE_DOMAIN,
            "D/other.toml: no such file (write one; `moxide serve --example-config` prints an example)",
        ),
        (
            "",
            "",
            "D/domains.toml: domains: no domain configured; add a [domains.\"example.org\"] table",
        ),
        (
            "",
            "[domains.\"a.test\"]\n[domains.\"A.test.\"]\n",
            "D/domains.toml: domains.\"a.test\": a.test is listed twice (names compare without case and trailing dot); keep one",
        ),
        (
            "",
            "[domains.\"xn--a.test\"]\n",
            "D/domains.toml: domains.\"xn--a.test\": \"xn--a.test\" is not a domain name: invalid internationalized domain name (IDNA)",
        ),
        (
            "",
            "[domains.\"-bücher.test\"]\n",
            "D/domains.toml: domains.\"-bücher.test\": \"-bücher.test\" is not a domain name: invalid internationalized domain name (IDNA)",
        ),
        (
            "",
            "[domains.\"Bücher.test\"]\n[domains.\"xn--bcher-kva.test\"]\n",
            "D/domains.toml: domains.\"xn--bcher-kva.test\": xn--bcher-kva.test is listed twice (names compare without case and trailing dot); keep one",
        ),
        (
            "",
            "[domains.\"a.test\".dkim.selectors.\"x.y\"]\nprivate_key_file = \"k\"\n",
            "D/domains.toml: domains.\"a.test\".dkim.selectors.x.y: a selector name is one DNS label (letters, digits, hyphens), e.g. \"2024a\"",
        ),
        (
            "",
            "[domains.\"a.test\".dkim.selectors.s1]\nprivate_key_file = \"nokey.pem\"\n",
            "D/domains.toml: domains.\"a.test\".dkim.selectors.s1.private_key_file: D/nokey.pem: no such file (make a key with `moxide config dkim add` or `moxide dkim gened25519`)",
        ),
        (
            "",
            "[domains.\"a.test\".dkim.selectors.s1]\nprivate_key_file = \"c.pem\"\n",
            "D/domains.toml: domains.\"a.test\".dkim.selectors.s1.private_key_file: D/c.pem: no PRIVATE KEY or RSA PRIVATE KEY PEM section found",
        ),
        (
            "",
            "[domains.\"a.test\".dkim]\nsign = [\"s9\"]\n",
            "D/domains.toml: domains.\"a.test\".dkim.sign: selector \"s9\" is not defined; add [domains.\"a.test\".dkim.selectors.s9] or remove it from sign",
        ),
    ];
    for (extra, domains, want) in cases {
        assert_eq!(
            &error(extra, domains),
            want,
            "extra {extra:?} domains {domains:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let e = minimal(dir.path(), "", "").unwrap_err();
    assert!(matches!(e, ConfigError::Field { ref field, .. } if field == "domains"));
    // The hostname must be a domain name.
    let text = "hostname = \"a..b\"\ndata_dir = \"x\"\n";
    let e = Config::parse(Path::new("/etc/moxide/moxide.toml"), text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/moxide/moxide.toml: hostname: \"a..b\" is not a domain name: empty label in domain name; set the server's fully qualified name, e.g. \"mail.example.org\""
    );
    let text = "hostname = \"a.b\"\ndata_dir = \"x\"\n";
    let e = Config::parse(Path::new("/etc/moxide/moxide.toml"), text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/moxide/moxide.toml: listeners: no [[listeners]]; add one with ips, tls_cert, tls_key and a port per service"
    );
}

#[test]
fn selector_field_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = pkcs8_pem(&generate_ed25519(&SystemRandom::new()).unwrap());
    std::fs::write(d.join("ed.pem"), key).unwrap();
    let sel = |body: &str| {
        let text = format!(
            "[domains.\"a.test\".dkim.selectors.s1]\nprivate_key_file = \"ed.pem\"\n{body}"
        );
        Domains::parse(&d.join("domains.toml"), &text)
            .map_err(|e| e.to_string().replace(&d.display().to_string(), "D"))
    };
    assert_eq!(
        sel("canonicalization = \"loose\"\n").unwrap_err(),
        "D/domains.toml: domains.\"a.test\".dkim.selectors.s1.canonicalization: \"loose\" is not header/body canonicalization; use \"relaxed/relaxed\", \"relaxed/simple\", \"simple/relaxed\" or \"simple/simple\""
    );
    assert_eq!(
        sel("headers = [\"To\", \"Subject\"]\n").unwrap_err(),
        "D/domains.toml: domains.\"a.test\".dkim.selectors.s1.headers: must include \"From\" (RFC 6376 5.4)"
    );
    assert_eq!(
        sel("headers = [\"From\", \"X:Y\"]\n").unwrap_err(),
        "D/domains.toml: domains.\"a.test\".dkim.selectors.s1.headers: \"X:Y\" is not a header field name"
    );
    assert_eq!(
        sel("expiration_seconds = 0\n").unwrap_err(),
        "D/domains.toml: domains.\"a.test\".dkim.selectors.s1.expiration_seconds: 0 would expire at once; remove it for no expiration, or give e.g. 259200 (72 hours)"
    );
    let ok = sel("canonicalization = \"Simple\"\noversign = false\n[domains.\"a.test\".dkim]\nsign = [\"S1\"]\n").unwrap();
    let dom = &ok.domains["a.test"];
    assert_eq!(dom.sign, strs(&["s1"]));
    let s = &dom.selectors["s1"];
    assert_eq!(
        (s.header_canon, s.body_canon, s.oversign),
        (Canon::Simple, Canon::Simple, false)
    );
    assert_eq!(s.algorithm, Algorithm::Ed25519Sha256);
    assert_eq!(
        sel("[domains.\"a.test\".dkim]\nsign = [\"s1\", \"S1\"]\n").unwrap_err(),
        "D/domains.toml: domains.\"a.test\".dkim.sign: selector \"S1\" is listed twice"
    );
}

//! Issue 7's main check: two `moxide serve` instances, a.test on 127.0.0.1
//! and b.test on 127.0.0.2, and a DNS server (dnslib, on loopback, every
//! answer with the AD bit) holding MX, A, PTR, SPF, DKIM, DMARC and either
//! TLSA or MTA-STS records for both. A message submitted to a.test for
//! b@b.test goes through a.test's queue and runner to b.test (a direct
//! transport with a port override, since b.test's SMTP is not on port
//! 25) and arrives in b's Inbox with dkim=pass, spf=pass and dmarc=pass,
//! over TLS verified by DANE (TLSA 3 1 1 of b's key) in one case and by
//! MTA-STS in enforce mode (policy served over HTTPS on loopback, b's
//! certificate from a test CA that a.test trusts through
//! `extra_ca_files`) in the other. a.test's TLS results record one
//! success for the policy.
//!
//! Needs python3 with dnslib (skips without python3 unless CI=true).

#[path = "common/cli.rs"]
mod cli;
#[path = "common/https_server.rs"]
mod https_server;
#[path = "common/python_server.rs"]
mod python_server;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use moxide_storage::{Store, StoreConfig, TlsPolicyType};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use cli::{BIN, run_moxide};

/// A DNS server answering from the JSON zone file in argv[1] (re-read on
/// every query, so records can be added once ports are known): `{name:
/// [[type, text], …]}`. Unknown names are NXDOMAIN, other types of a
/// known name NODATA; the AD bit is set on every answer (a validating
/// resolver would set it for a signed zone).
const DNS: &str = r#"
import json, os, socket, sys, threading
from dnslib import DNSRecord, RR, QTYPE, RCODE, A, TXT, MX, PTR, TLSA

ZONE = sys.argv[1]

def rdata(t, text):
    if t == "A":
        return A(text)
    if t == "TXT":
        return TXT([text.encode()[i:i + 255] for i in range(0, len(text), 255)])
    if t == "MX":
        pref, host = text.split()
        return MX(host, int(pref))
    if t == "PTR":
        return PTR(text)
    if t == "TLSA":
        u, s, m, h = text.split()
        return TLSA(int(u), int(s), int(m), bytes.fromhex(h))
    raise SystemExit("unsupported type " + t)

def serve(u):
    while True:
        data, peer = u.recvfrom(4096)
        try:
            req = DNSRecord.parse(data)
        except Exception:
            continue
        with open(ZONE) as f:
            zone = json.load(f)
        name = str(req.q.qname).rstrip(".").lower()
        rtype = QTYPE[req.q.qtype]
        reply = req.reply()
        reply.header.ad = 1
        if name in zone:
            for t, text in zone[name]:
                if t == rtype:
                    reply.add_answer(RR(name, req.q.qtype, rdata=rdata(t, text), ttl=60))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        u.sendto(reply.pack(), peer)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
threading.Thread(target=serve, args=(u,), daemon=True).start()
print("PORT", u.getsockname()[1], flush=True)
sys.stdin.read()
os._exit(0)
"#;

/// Submits from a@a.test to b@b.test over STARTTLS (a.test's certificate
/// is from the test CA; the client does not check it).
const SUBMIT: &str = r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.starttls(context=ctx)
s.login("a@a.test", "apass")
msg = b"From: A <a@a.test>\r\nTo: B <b@b.test>\r\nSubject: two instances\r\n\r\nHello from a.test.\r\n"
print("refused:", s.sendmail("a@a.test", ["b@b.test"], msg))
s.quit()
"#;

/// Waits up to 60 s for a message in b's Inbox over IMAPS and prints it.
const READ: &str = r#"
import imaplib, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
deadline = time.time() + 60
while True:
    i = imaplib.IMAP4_SSL("127.0.0.2", int(sys.argv[1]), ssl_context=ctx)
    i.login("b@b.test", "bpass")
    typ, data = i.select("INBOX")
    if int(data[0]) > 0 or time.time() > deadline:
        break
    i.logout()
    time.sleep(0.2)
typ, data = i.fetch(b"1", "(BODY.PEEK[])")
sys.stdout.buffer.write(data[0][1])
i.logout()
"#;

/// A test certificate authority whose certificates a.test trusts.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate signed by the CA: (chain PEM, key PEM, SPKI DER, rustls
/// server configuration).
struct Cert {
    pem: String,
    key_pem: String,
    spki: Vec<u8>,
    server: Arc<rustls::ServerConfig>,
}

impl Ca {
    fn new() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "moxide e2e test CA");
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn cert(&self, names: &[&str]) -> Cert {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.der().to_vec())], der)
        .unwrap();
        Cert {
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            spki: key.subject_public_key_info(),
            server: Arc::new(server),
        }
    }
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `moxide ARGS` with `stdin`; fails the test unless it succeeds.
fn moxide(args: &[&str], stdin: &[u8]) -> String {
    let out = run_moxide(args, stdin);
    assert!(out.success(), "moxide {args:?}: {}", out.stderr);
    out.stdout
}

/// The JSON zone file the DNS server reads.
struct ZoneFile {
    path: PathBuf,
    records: Vec<(String, String, String)>,
}

impl ZoneFile {
    /// Adds a record and rewrites the file (ASCII only: Rust's `{:?}` of
    /// an ASCII string is a JSON string).
    fn add(&mut self, name: &str, rtype: &str, value: &str) {
        self.records
            .push((name.to_string(), rtype.to_string(), value.to_string()));
        let mut map: std::collections::BTreeMap<&str, Vec<[&str; 2]>> = Default::default();
        for (n, t, v) in &self.records {
            map.entry(n.as_str())
                .or_default()
                .push([t.as_str(), v.as_str()]);
        }
        let json: Vec<String> = map
            .iter()
            .map(|(n, rs)| {
                let rs: Vec<String> = rs.iter().map(|[t, v]| format!("[{t:?}, {v:?}]")).collect();
                format!("{n:?}: [{}]", rs.join(", "))
            })
            .collect();
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, format!("{{{}}}", json.join(", "))).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }
}

/// A running `moxide serve`; killed when dropped. Its log (stderr) is
/// read all along, so a full pipe never blocks it.
struct Serve {
    child: Child,
    ports: Vec<(String, SocketAddr)>,
    log: Arc<Mutex<String>>,
}

impl Serve {
    /// Starts `moxide serve --config CONFIG` with `env` and reads the
    /// addresses from its banner.
    fn start(config: &Path, env: &[(&str, String)]) -> Serve {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info,fjall=warn,lsm_tree=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let log = Arc::new(Mutex::new(String::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        // "moxide serve: HOST: smtp IP:PORT, …; data in DIR"
        let Some(list) = line
            .split_once(": ")
            .and_then(|(_, r)| r.split_once(": "))
            .and_then(|(_, r)| r.split_once("; data in "))
            .map(|(l, _)| l.to_string())
        else {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            panic!("banner {line:?}; stderr {}", log.lock().unwrap());
        };
        let ports = list
            .split(", ")
            .map(|s| {
                let (svc, addr) = s.split_once(' ').unwrap();
                (svc.to_string(), addr.parse().unwrap())
            })
            .collect();
        Serve { child, ports, log }
    }

    /// What it logged so far.
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn addr(&self, service: &str) -> SocketAddr {
        self.ports.iter().find(|(s, _)| s == service).unwrap().1
    }

    /// SIGTERM; waits for a clean exit and returns stderr.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread sees the end of the pipe soon after the exit.
        std::thread::sleep(Duration::from_millis(100));
        let err = self.log();
        assert!(status.success(), "{status:?}: {err}");
        assert!(err.ends_with("moxide serve: stopped\n"), "{err}");
        err
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which TLS policy b.test publishes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Policy {
    Dane,
    MtaSts,
}

/// Writes `moxide.toml` (top-level `top`, one listener on `ip` with
/// `services`, then the tables `tables`), domains.toml for `domain` and
/// the certificate into `dir`; returns the moxide.toml path.
fn write_config(
    dir: &Path,
    domain: &str,
    ip: &str,
    cert: &Cert,
    services: &str,
    top: &str,
    tables: &str,
) -> String {
    std::fs::write(dir.join("cert.pem"), &cert.pem).unwrap();
    std::fs::write(dir.join("key.pem"), &cert.key_pem).unwrap();
    let path = dir.join("moxide.toml");
    std::fs::write(
        &path,
        format!(
            "hostname = \"mail.{domain}\"\ndata_dir = \"data\"\n{top}\n[[listeners]]\nname = \"main\"\nips = [\"{ip}\"]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n{services}{tables}"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("domains.toml"),
        format!("[domains.\"{domain}\"]\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// Whether python3 runs; without it the test is skipped, saying so,
/// except under CI=true where it is a failure.
fn python3() -> bool {
    if Command::new("python3").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "python3 is not installed (CI=true: .ci/run installs it)"
    );
    eprintln!("SKIP: python3 is not installed; this test needs it and dnslib");
    false
}

/// Runs the whole scenario with b.test publishing `policy`.
fn two_instances(policy: Policy) {
    if !python3() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&da).unwrap();
    std::fs::create_dir_all(&db).unwrap();
    let mut zone = ZoneFile {
        path: tmp.path().join("zone.json"),
        records: Vec::new(),
    };
    zone.add("a.test", "TXT", "v=spf1 ip4:127.0.0.1 -all");
    let dns = python_server::start_with_args(DNS, &[zone.path.to_str().unwrap()]).unwrap();
    let resolver = format!("resolver = [\"{dns}\"]");

    let ca = Ca::new();
    std::fs::write(da.join("ca.pem"), &ca.pem).unwrap();
    let cert_a = ca.cert(&["mail.a.test"]);
    let cert_b = ca.cert(&["mail.b.test"]);

    // b.test: inbound SMTP with sender checks, IMAPS to read the result.
    let cfg_b = write_config(
        &db,
        "b.test",
        "127.0.0.2",
        &cert_b,
        "smtp = 0\nimaps = 0\n",
        &resolver,
        "",
    );
    moxide(
        &[
            "config",
            "--config",
            cfg_b.as_str(),
            "account",
            "add",
            "b",
            "b@b.test",
            "--password-stdin",
        ],
        b"bpass\n",
    );
    let b = Serve::start(Path::new(&cfg_b), &[]);
    let b_smtp = b.addr("smtp");
    assert_eq!(b_smtp.ip().to_string(), "127.0.0.2");

    // a.test: submission, delivery to b.test's port through a direct
    // transport, the test CA trusted, loopback allowed.
    let tables = format!(
        "[delivery]\nallow_loopback = true\nextra_ca_files = [\"ca.pem\"]\n[transports.tob]\nkind = \"direct\"\nport = {}\n[[routes]]\nto_domains = [\"b.test\"]\ntransport = \"tob\"\n",
        b_smtp.port()
    );
    let cfg_a = write_config(
        &da,
        "a.test",
        "127.0.0.1",
        &cert_a,
        "submission = 0\n",
        &resolver,
        &tables,
    );
    let cfg_a = cfg_a.as_str();
    moxide(
        &[
            "config",
            "--config",
            cfg_a,
            "account",
            "add",
            "a",
            "a@a.test",
            "--password-stdin",
        ],
        b"apass\n",
    );
    let out = moxide(
        &["config", "--config", cfg_a, "dkim", "add", "a.test", "e2e"],
        b"",
    );
    let record = out
        .lines()
        .find_map(|l| l.strip_prefix("e2e._domainkey.a.test. TXT \""))
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();

    zone.add("e2e._domainkey.a.test", "TXT", &record);
    zone.add("_dmarc.a.test", "TXT", "v=DMARC1; p=reject");
    zone.add("mail.a.test", "A", "127.0.0.1");
    zone.add("1.0.0.127.in-addr.arpa", "PTR", "mail.a.test.");
    zone.add("b.test", "MX", "10 mail.b.test.");
    zone.add("mail.b.test", "A", "127.0.0.2");
    let mut env = Vec::new();
    let mut https = None;
    match policy {
        Policy::Dane => {
            let tlsa = format!("3 1 1 {}", sha256_hex(&cert_b.spki));
            zone.add(
                &format!("_{}._tcp.mail.b.test", b_smtp.port()),
                "TLSA",
                &tlsa,
            );
        }
        Policy::MtaSts => {
            let body = b"version: STSv1\r\nmode: enforce\r\nmx: mail.b.test\r\nmax_age: 86400\r\n";
            let resp = https_server::response("200 OK", &[("Content-Type", "text/plain")], body);
            let cert = ca.cert(&["mta-sts.b.test"]);
            let server = https_server::serve(cert.server.clone(), resp, Duration::ZERO);
            zone.add("_mta-sts.b.test", "TXT", "v=STSv1; id=e2e1");
            zone.add("mta-sts.b.test", "A", "127.0.0.1");
            env.push(("MOXIDE_MTASTS_PORT", server.port.to_string()));
            https = Some(server);
        }
    }
    let a = Serve::start(Path::new(cfg_a), &env);

    let out = Command::new("python3")
        .args(["-c", SUBMIT, &a.addr("submission").port().to_string()])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "refused: {}\n", "{}", text(&out.stderr));

    let out = Command::new("python3")
        .args(["-c", READ, &b.addr("imaps").port().to_string()])
        .output()
        .unwrap();
    let msg = text(&out.stdout);
    let err_a_b = || format!("python: {}", text(&out.stderr));
    assert!(
        msg.contains("Subject: two instances\r\n"),
        "{msg}\n{}",
        err_a_b()
    );
    let ar = msg
        .split("\r\n")
        .skip_while(|l| !l.starts_with("Authentication-Results:"))
        .take_while(|l| !l.is_empty())
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with([' ', '\t']))
        .map(|(_, l)| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    // Every check passed (only the signature's b= differs between runs).
    let (head, tail) = ar
        .split_once(" header.b=")
        .unwrap_or_else(|| panic!("{msg}"));
    assert_eq!(
        head,
        "Authentication-Results: mail.b.test; iprev=pass (mail.a.test) policy.iprev=127.0.0.1; spf=pass smtp.mailfrom=a@a.test; dkim=pass header.d=a.test header.s=e2e header.a=ed25519-sha256",
        "{msg}"
    );
    assert!(
        tail.ends_with("; dmarc=pass (p=reject dis=none) header.from=a.test"),
        "{msg}"
    );
    // b.test received it over TLS from a.test.
    assert!(
        msg.contains(
            "Received: from mail.a.test ([127.0.0.1])\r\n\tby mail.b.test with ESMTPS id "
        ),
        "{msg}"
    );
    let err_a = a.stop();
    let err_b = b.stop();
    if let Some(s) = &https {
        let reqs = s.requests.lock().unwrap();
        assert_eq!(reqs.len(), 1, "{reqs:?}");
        assert!(
            reqs[0].starts_with("GET /.well-known/mta-sts.txt HTTP/1.1\r\n"),
            "{}",
            reqs[0]
        );
    }

    // a.test's queue is empty and its TLS results count one success for
    // the policy: DANE results are about the MX host, MTA-STS ones about
    // the recipient domain (RFC 8460 4.4).
    let store = Store::open(da.join("data"), StoreConfig::default()).unwrap();
    assert!(
        store.queue_list(&Default::default()).unwrap().is_empty(),
        "{err_a}"
    );
    let results = store.tls_results_list(None).unwrap();
    let (domain, is_host, kind) = match policy {
        Policy::Dane => ("mail.b.test", true, TlsPolicyType::Tlsa),
        Policy::MtaSts => ("b.test", false, TlsPolicyType::Sts),
    };
    let day = results
        .iter()
        .find(|r| r.policy_domain == domain && r.is_host == is_host)
        .unwrap_or_else(|| panic!("no results for {domain}: {results:?}\n{err_a}\n{err_b}"));
    assert_eq!(day.recipient_domains, vec!["b.test".to_string()]);
    assert_eq!(day.policies.len(), 1, "{results:?}");
    let p = &day.policies[0];
    assert_eq!(
        (p.policy.policy_type, p.success, p.failure),
        (kind, 1, 0),
        "{results:?}"
    );
}

#[test]
fn dane_verified_delivery_between_two_instances() {
    two_instances(Policy::Dane);
}

#[test]
fn mta_sts_verified_delivery_between_two_instances() {
    two_instances(Policy::MtaSts);
}

//! `moxide dane dial` against a small SMTP server with STARTTLS on loopback
//! (rustls, an rcgen certificate) and TLSA records served by a dnslib (PyPI)
//! DNS server that sets the AD bit (or not). Skips only when python3 is
//! missing; a missing dnslib is a failure (CI installs it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use rcgen::{CertificateParams, DnType, KeyPair, PublicKeyData};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[path = "common/cli.rs"]
mod cli;

use cli::run_moxide;

/// Answers from argv[1] (JSON: name → [[type, text]]); AD bit from argv[2].
const DNS: &str = r#"
import json, socket, sys, threading, os
from dnslib import DNSRecord, RR, QTYPE, RCODE, A, TLSA

DATA = json.loads(sys.argv[1])
AD = sys.argv[2] == "ad"

def rdata(t, text):
    if t == "A":
        return A(text)
    u, s, m, h = text.split()
    return TLSA(int(u), int(s), int(m), bytes.fromhex(h))

def serve(u):
    while True:
        data, peer = u.recvfrom(4096)
        req = DNSRecord.parse(data)
        name = str(req.q.qname).rstrip(".").lower()
        rtype = QTYPE[req.q.qtype]
        reply = req.reply()
        reply.header.ad = 1 if AD else 0
        recs = [r for r in DATA.get(name, []) if r[0] == rtype]
        for t, text in recs:
            reply.add_answer(RR(name, req.q.qtype, rdata=rdata(t, text), ttl=60))
        if name not in DATA:
            reply.header.rcode = RCODE.NXDOMAIN
        u.sendto(reply.pack(), peer)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
threading.Thread(target=serve, args=(u,), daemon=True).start()
print("PORT", u.getsockname()[1], flush=True)
sys.stdin.read()
os._exit(0)
"#;

/// A DNS server process; killed on drop.
struct Dns(Child, SocketAddr);

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dns(data: &str, ad: bool) -> Option<Dns> {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIP: python3 is not installed; this test needs it and dnslib");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", DNS, data, if ad { "ad" } else { "-" }])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words.first(),
        Some(&"PORT"),
        "the dnslib server did not start (python3 -m pip install dnslib)"
    );
    let port = words[1].parse().unwrap();
    Some(Dns(child, SocketAddr::from((Ipv4Addr::LOCALHOST, port))))
}

/// The server's certificate (self-signed, CN and name mx.example.com).
struct Cert {
    der: CertificateDer<'static>,
    key: KeyPair,
}

fn cert() -> Cert {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["mx.example.com".to_string()]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "mx.example.com");
    let der = p.self_signed(&key).unwrap().der().clone();
    Cert { der, key }
}

fn sha256_hex(b: &[u8]) -> String {
    ring_digest(b).iter().map(|b| format!("{b:02x}")).collect()
}

fn ring_digest(b: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(b).to_vec()
}

/// An SMTP server for one connection: greeting, EHLO, STARTTLS, TLS with
/// `cert`, then reads until QUIT or the end. Returns its port.
fn smtp_server(cert: &Cert) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.serialize_der())),
        )
        .unwrap();
    std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let line = |tcp: &mut std::net::TcpStream| {
            let mut l = Vec::new();
            let mut b = [0u8; 1];
            while tcp.read(&mut b).unwrap_or(0) == 1 && b[0] != b'\n' {
                l.push(b[0]);
            }
            String::from_utf8(l).unwrap()
        };
        tcp.write_all(b"220 mx.example.com ESMTP test\r\n").unwrap();
        assert_eq!(line(&mut tcp), "EHLO moxide.invalid\r");
        tcp.write_all(b"250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            .unwrap();
        assert_eq!(line(&mut tcp), "STARTTLS\r");
        tcp.write_all(b"220 2.0.0 go ahead\r\n").unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut rest = Vec::new();
        let _ = tls.read_to_end(&mut rest);
    });
    port
}

/// (exit code, stdout, stderr) of `moxide ARGS`.
fn moxide(args: &[&str]) -> (Option<i32>, String, String) {
    let (out, err, code) = run_moxide(args, b"").parts();
    (code, out, err)
}

fn dial(port: u16, dns: &Dns) -> (Option<i32>, String, String) {
    moxide(&[
        "dane",
        "dial",
        &format!("127.0.0.1:{port}"),
        "--tlsa-host",
        "mx.example.com",
        "--resolver",
        &dns.1.to_string(),
    ])
}

fn zone(port: u16, tlsa: &[&str]) -> String {
    let recs: Vec<String> = tlsa
        .iter()
        .map(|t| format!("[\"TLSA\", \"{t}\"]"))
        .collect();
    format!(
        "{{\"mx.example.com\": [[\"A\", \"127.0.0.1\"]], \"_{port}._tcp.mx.example.com\": [{}]}}",
        recs.join(", ")
    )
}

#[test]
fn dane_ee_verified_over_starttls() {
    let c = cert();
    let port = smtp_server(&c);
    let ee = format!("3 1 1 {}", sha256_hex(&c.key.subject_public_key_info()));
    let pkix = format!("1 1 1 {}", sha256_hex(b"x"));
    let Some(dns) = dns(&zone(port, &[&pkix, &ee]), true) else {
        return;
    };
    let (code, out, err) = dial(port, &dns);
    assert_eq!(code, Some(0), "{out}{err}");
    let expected_tlsa = format!(
        "address records: DNSSEC secure (canonical name mx.example.com)\n\
         TLSA _{port}._tcp.mx.example.com {pkix} (authentic; unusable: usage 1 (PKIX-EE) is not usable for SMTP (RFC 7672 3.1.3))\n\
         TLSA _{port}._tcp.mx.example.com {ee} (authentic; usable)\n\
         DANE: 1 usable record(s) at TLSA base domain mx.example.com; reference names mx.example.com\n\
         connected to 127.0.0.1 port {port}\n\
         S: 220 mx.example.com ESMTP test\n\
         C: EHLO moxide.invalid\n\
         S: 250-mx.example.com\nS: 250-PIPELINING\nS: 250 STARTTLS\n\
         C: STARTTLS\n\
         S: 220 2.0.0 go ahead\n\
         TLS: TLSv1_3\n\
         certificate 0: subject CN=mx.example.com; DNS names mx.example.com\n  would match: TLSA {ee}\n\
         verified: TLSA {ee} matched certificate 0\n"
    );
    assert_eq!(out, expected_tlsa);
}

#[test]
fn non_matching_record_is_reported() {
    let c = cert();
    let port = smtp_server(&c);
    let wrong = format!("3 1 1 {}", sha256_hex(b"not the key"));
    let Some(dns) = dns(&zone(port, &[&wrong]), true) else {
        return;
    };
    let (code, out, err) = dial(port, &dns);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.ends_with(
            "S: 220 2.0.0 go ahead\nverification failed: tlsa-invalid: none of the 1 usable TLSA records matches the 1 presented certificate(s)\n"
        ),
        "{out}"
    );
}

#[test]
fn unsigned_zone_is_not_dane() {
    let c = cert();
    let ee = format!("3 1 1 {}", sha256_hex(&c.key.subject_public_key_info()));
    // No server: the command must stop before connecting.
    let Some(dns) = dns(&zone(9, &[&ee]), false) else {
        return;
    };
    let (code, out, err) = dial(9, &dns);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(
        out,
        "no DANE: the address records of mx.example.com are not DNSSEC-signed\n"
    );
}

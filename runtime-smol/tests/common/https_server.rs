//! A small HTTPS server on 127.0.0.1 for the HTTPS client and MTA-STS
//! tests: a test CA (rcgen), server certificates it signs, and a server
//! thread that answers every request with the same canned bytes and
//! records the request heads. Include it with
//! `#[path = "common/https_server.rs"] mod https_server;`.
#![allow(dead_code)] // each test crate uses a part

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// A test certificate authority.
pub struct TestCa {
    /// The CA certificate, PEM (for `--ca-file`).
    pub pem: String,
    pub der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server configuration with a certificate for `names` (host names
    /// or IP addresses) signed by this CA.
    pub fn server_config(&self, names: &[&str]) -> Arc<ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let chain = vec![cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let cfg =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        Arc::new(cfg)
    }
}

/// A server on 127.0.0.1 answering every request with `response` after
/// `delay`; runs until the test process ends.
pub struct HttpsServer {
    pub port: u16,
    /// The request heads received, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
}

pub fn serve(cfg: Arc<ServerConfig>, response: Vec<u8>, delay: Duration) -> HttpsServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let response = Arc::new(response);
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let (cfg, response, seen) = (cfg.clone(), response.clone(), seen.clone());
            thread::spawn(move || answer(tcp, cfg, &response, delay, &seen));
        }
    });
    HttpsServer { port, requests }
}

fn answer(
    tcp: TcpStream,
    cfg: Arc<ServerConfig>,
    response: &[u8],
    delay: Duration,
    seen: &Mutex<Vec<String>>,
) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    let mut tls = StreamOwned::new(ServerConnection::new(cfg).unwrap(), tcp);
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return, // e.g. the client refused our certificate
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    seen.lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    thread::sleep(delay);
    let _ = tls.write_all(response);
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// An HTTP/1.1 response with a Content-Length.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("Connection: close\r\n\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

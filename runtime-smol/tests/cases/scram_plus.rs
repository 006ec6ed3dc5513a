// The SCRAM -PLUS cases shared by both runtimes' tests; included by
// tests/scram_plus.rs of each crate, which defines BIN and mod common.

use std::io::Write;
use std::net::TcpStream;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use moxide_proto::sasl::secrets::ScramHash;

use crate::common::{Server, Tls, client_config, free_ports, read_line, tls};

const USER: &str = "mox@localhost";
const PASSWORD: &str = "moxmoxmox";
const GS2: &str = "p=tls-exporter,,";
const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";

/// AUTHENTICATE SCRAM-SHA-256-PLUS binding `cbind`; returns the tagged
/// line, after checking the server's signature when it accepts.
fn scram_plus(s: &mut Tls, cbind: &[u8]) -> String {
    let h = ScramHash::Sha256;
    let bare = format!("n={USER},r={CLIENT_NONCE}");
    let first = B64.encode(format!("{GS2}{bare}"));
    s.write_all(format!("a1 AUTHENTICATE SCRAM-SHA-256-PLUS {first}\r\n").as_bytes())
        .unwrap();
    let line = read_line(s);
    let server_first = String::from_utf8(
        B64.decode(line.strip_prefix("+ ").unwrap().trim_end())
            .unwrap(),
    )
    .unwrap();
    let attr = |k: &str| {
        server_first
            .split(',')
            .find_map(|a| a.strip_prefix(k))
            .unwrap()
            .to_string()
    };
    let nonce = attr("r=");
    assert!(nonce.starts_with(CLIENT_NONCE), "{server_first}");
    let salt = B64.decode(attr("s=")).unwrap();
    let iterations: u32 = attr("i=").parse().unwrap();

    let mut cb_input = GS2.as_bytes().to_vec();
    cb_input.extend_from_slice(cbind);
    let without_proof = format!("c={},r={nonce}", B64.encode(&cb_input));
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let salted = h.salted_password(PASSWORD.as_bytes(), &salt, iterations);
    let client_key = h.hmac(&salted, b"Client Key");
    let signature = h.hmac(&h.hash(&client_key), auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let fin = format!("{without_proof},p={}", B64.encode(proof));
    s.write_all(format!("{}\r\n", B64.encode(fin)).as_bytes())
        .unwrap();

    let line = read_line(s);
    let Some(server_final) = line.strip_prefix("+ ") else {
        return line;
    };
    let server_key = h.hmac(&salted, b"Server Key");
    let want = format!(
        "v={}",
        B64.encode(h.hmac(&server_key, auth_message.as_bytes()))
    );
    let got = String::from_utf8(B64.decode(server_final.trim_end()).unwrap()).unwrap();
    assert_eq!(got, want);
    s.write_all(b"\r\n").unwrap();
    read_line(s)
}

#[test]
fn scram_sha_256_plus_over_imaps_and_after_starttls() {
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let cfg = client_config(dir.path());

    // IMAPS.
    let tcp = TcpStream::connect(("127.0.0.1", server.imaps)).unwrap();
    let (mut s, ekm) = tls(cfg.clone(), tcp);
    let greeting = read_line(&mut s);
    assert!(greeting.contains("AUTH=SCRAM-SHA-256-PLUS"), "{greeting}");
    let done = scram_plus(&mut s, &ekm);
    assert!(done.starts_with("a1 OK "), "{done}");

    // STARTTLS: the binding is that of the TLS session started later.
    let mut tcp = TcpStream::connect(("127.0.0.1", server.imap)).unwrap();
    let greeting = read_line(&mut tcp);
    assert!(!greeting.contains("-PLUS"), "{greeting}");
    tcp.write_all(b"a0 STARTTLS\r\n").unwrap();
    assert!(read_line(&mut tcp).starts_with("a0 OK "));
    let (mut s, ekm) = tls(cfg.clone(), tcp);
    let done = scram_plus(&mut s, &ekm);
    assert!(done.starts_with("a1 OK "), "{done}");
}

#[test]
fn scram_sha_256_plus_with_a_wrong_binding_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let tcp = TcpStream::connect(("127.0.0.1", server.imaps)).unwrap();
    let (mut s, mut ekm) = tls(client_config(dir.path()), tcp);
    read_line(&mut s);
    ekm[0] ^= 1;
    let done = scram_plus(&mut s, &ekm);
    assert!(done.starts_with("a1 NO "), "{done}");
}

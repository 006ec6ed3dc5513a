//! A resumed TLS session is checked again: localserve's listeners served
//! in this process (so the test can change the store while it runs), a
//! rustls client with a session cache reconnecting. The first connection
//! is a full handshake and gets PREAUTH; the second resumes and gets
//! PREAUTH again; after the key is removed, a third resumed connection is
//! not authenticated. For TLS 1.3 (tickets) and TLS 1.2 (session ids).

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use futures_rustls::TlsAcceptor;
use moxide::listen::Security;
use moxide::localserve::{self, Options};
use moxide::serve;
use moxide_engine::admin::keygen::{GeneratedKey, from_seed};
use moxide_engine::admin::tlspubkey::{AddKey, add};
use moxide_storage::Store;
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, HandshakeKind, StreamOwned, SupportedProtocolVersion,
};
use smol::Executor;

/// Serves localserve's IMAP listeners of `dir` on a background thread;
/// returns the IMAPS port on 127.0.0.1 and the store.
fn serve_in_process(dir: &std::path::Path) -> (u16, Arc<Store>) {
    let mut p = localserve::prepare(Options {
        dir: Some(dir.to_path_buf()),
        imap_port: Some(0),
        imaps_port: Some(0),
    })
    .unwrap();
    let ex = Arc::new(Executor::new());
    let acceptor = TlsAcceptor::from(p.tls.clone());
    let make = Arc::new(p.session_factory());
    let mut imaps = 0;
    for b in std::mem::take(&mut p.listeners) {
        if b.security == Security::Implicit && b.addr.is_ipv4() {
            imaps = b.addr.port();
        }
        let l = serve::async_listener(b.listener).unwrap();
        ex.spawn(serve::accept_loop(
            ex.clone(),
            l,
            b.security,
            acceptor.clone(),
            make.clone(),
        ))
        .detach();
    }
    let store = p.store.clone();
    std::thread::spawn(move || {
        let _keep = p;
        smol::block_on(ex.run(std::future::pending::<()>()))
    });
    (imaps, store)
}

fn client(
    dir: &std::path::Path,
    key: &GeneratedKey,
    version: &'static SupportedProtocolVersion,
) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(dir.join("tls/cert.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from(key.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.key_der.clone())),
        )
        .unwrap();
    cfg.resumption = Resumption::in_memory_sessions(16);
    Arc::new(cfg)
}

fn read_line(r: &mut impl std::io::Read) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        assert_eq!(r.read(&mut b).unwrap(), 1, "EOF after {line:?}");
        line.push(b[0]);
    }
    String::from_utf8(line).unwrap()
}

/// One IMAPS connection: its handshake kind, greeting, and the tagged
/// reply to AUTHENTICATE EXTERNAL when the greeting is not PREAUTH.
fn connect(port: u16, cfg: &Arc<ClientConfig>) -> (HandshakeKind, String, Option<String>) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut s = StreamOwned::new(ClientConnection::new(cfg.clone(), name).unwrap(), tcp);
    // Reading the greeting also takes in the TLS 1.3 session tickets.
    let greeting = read_line(&mut s);
    let kind = s.conn.handshake_kind().unwrap();
    let external = if greeting.starts_with("* OK ") {
        s.write_all(b"x AUTHENTICATE EXTERNAL =\r\n").unwrap();
        Some(read_line(&mut s))
    } else {
        None
    };
    s.write_all(b"z LOGOUT\r\n").unwrap();
    assert_eq!(read_line(&mut s), "* BYE logging out\r\n");
    assert!(read_line(&mut s).starts_with("z OK "));
    (kind, greeting, external)
}

fn resumed_session_is_checked_again(version: &'static SupportedProtocolVersion) {
    let dir = tempfile::tempdir().unwrap();
    let (port, store) = serve_in_process(dir.path());
    let key = from_seed(&[5; 32], "laptop").unwrap();
    add(
        &store,
        AddKey {
            address: "mox@localhost",
            name: None,
            no_imap_preauth: false,
            pem: key.cert_pem.as_bytes(),
            now_unix: 0,
        },
    )
    .unwrap();
    let cfg = client(dir.path(), &key, version);

    let (kind, greeting, external) = connect(port, &cfg);
    assert_eq!(kind, HandshakeKind::Full);
    assert!(greeting.starts_with("* PREAUTH [CAPABILITY "), "{greeting}");
    assert_eq!(external, None);

    let (kind, greeting, _) = connect(port, &cfg);
    assert_eq!(kind, HandshakeKind::Resumed);
    assert!(greeting.starts_with("* PREAUTH [CAPABILITY "), "{greeting}");

    assert!(store.tls_pubkey_remove(&key.fingerprint).unwrap());
    let (kind, greeting, external) = connect(port, &cfg);
    assert_eq!(kind, HandshakeKind::Resumed);
    assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
    let external = external.unwrap();
    assert!(
        external.starts_with("x NO [AUTHENTICATIONFAILED] "),
        "{external}"
    );
}

#[test]
fn resumed_tls13_session_is_checked_again() {
    resumed_session_is_checked_again(&rustls::version::TLS13);
}

#[test]
fn resumed_tls12_session_is_checked_again() {
    resumed_session_is_checked_again(&rustls::version::TLS12);
}

// Outbound dial cases shared by both runtimes' tests; included by
// tests/outbound_dial.rs of each crate, which defines BIN, mod common and
// `dial(addr, conn, roots)` on its runtime.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use moxide::tls_client::RootCertStore;

use moxide_proto::dane::{DanePolicy, TlsaRecord};
use moxide_proto::smtp::client::{
    Body, ClientConfig, ClientConn, Delivery, Envelope, RcptResult, Stage, StartTls, Timeouts,
    TlsPolicy, Verify,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::Digest;

use crate::common::{Server, free_ports, imaps_inbox, read_line};

fn conn(starttls: StartTls, verify: Verify, subject: &str) -> ClientConn {
    let cfg = ClientConfig {
        ehlo_name: "client.example".into(),
        tls: TlsPolicy { starttls, verify },
        implicit_tls: false,
        auth: None,
        timeouts: Timeouts::default(),
    };
    let env = Envelope {
        mail_from: "sender@client.example".into(),
        recipients: vec!["mox@localhost".into()],
        smtputf8: false,
        body: Body::SevenBit,
        requiretls: false,
    };
    let msg = format!(
        "From: sender@client.example\r\nTo: mox@localhost\r\nSubject: {subject}\r\n\r\n.{subject} body\r\n"
    );
    ClientConn::new(Instant::now(), cfg, env, Arc::from(msg.into_bytes()))
}

/// The DER of localserve's certificate.
fn localserve_cert(dir: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(dir.join("tls/cert.pem"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

fn dane(records: Vec<TlsaRecord>) -> Verify {
    Verify::Dane {
        policy: DanePolicy {
            records,
            unusable: Vec::new(),
            base_domain: "localhost".into(),
            reference_names: vec!["localhost".into()],
        },
        server_name: "localhost".into(),
    }
}

fn delivered(d: &Delivery) -> bool {
    d.error.is_none()
        && matches!(
            &d.recipients[..],
            [(to, RcptResult::Delivered(r))] if to == "mox@localhost" && r.code == 250
        )
}

fn run_all_cases(default_roots: &Arc<RootCertStore>) {
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let addr: SocketAddr = ([127, 0, 0, 1], server.smtp).into();

    // Plaintext.
    let (c, err) = dial(
        addr,
        conn(StartTls::Never, Verify::Any, "plain-case"),
        default_roots,
    );
    assert!(err.is_none());
    let o = c.outcome().unwrap();
    assert!(delivered(o), "{o:?}");
    assert_eq!(o.tls, None);
    assert!(o.extensions.iter().any(|e| e == "STARTTLS"), "{o:?}");

    // STARTTLS, any certificate.
    let (c, _) = dial(
        addr,
        conn(StartTls::Opportunistic, Verify::Any, "any-case"),
        default_roots,
    );
    let o = c.outcome().unwrap();
    assert!(delivered(o), "{o:?}");
    let info = o.tls.clone().unwrap();
    assert_eq!(info.protocol, "TLSv1_3");
    assert_eq!(info.exporter.map(|e| e.expose().len()), Some(32));
    assert!(o.extensions.iter().any(|e| e == "REQUIRETLS"), "{o:?}");

    // PKIX with the public roots: the self-signed certificate is refused
    // and, TLS being required, nothing is sent.
    let pkix = Verify::Pkix {
        server_name: "localhost".into(),
    };
    let (c, _) = dial(
        addr,
        conn(StartTls::Required, pkix.clone(), "pkix-refused-case"),
        default_roots,
    );
    let o = c.outcome().unwrap();
    let e = o.error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Tls, false), "{e:?}");
    assert_eq!(
        e.tls_failure.unwrap().result_type,
        "certificate-not-trusted"
    );
    assert_eq!(o.recipients[0].1, RcptResult::NotAttempted);

    // PKIX with localserve's certificate as the root.
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(localserve_cert(dir.path())))
        .unwrap();
    let (c, _) = dial(
        addr,
        conn(StartTls::Required, pkix, "pkix-case"),
        &Arc::new(roots),
    );
    let o = c.outcome().unwrap();
    assert!(delivered(o), "{o:?}");

    // DANE-EE 3 1 1 with the SHA-256 of the certificate's key.
    let der = localserve_cert(dir.path());
    let der = CertificateDer::from(der);
    let cert = webpki::EndEntityCert::try_from(&der).unwrap();
    let spki = sha2::Sha256::digest(cert.subject_public_key_info().as_ref()).to_vec();
    let ee = TlsaRecord {
        usage: 3,
        selector: 1,
        matching: 1,
        data: spki,
    };
    let (c, _) = dial(
        addr,
        conn(StartTls::Required, dane(vec![ee]), "dane-case"),
        default_roots,
    );
    let o = c.outcome().unwrap();
    assert!(delivered(o), "{o:?}");

    // A record for another key.
    let other = TlsaRecord {
        usage: 3,
        selector: 1,
        matching: 1,
        data: vec![0xab; 32],
    };
    let (c, _) = dial(
        addr,
        conn(StartTls::Required, dane(vec![other]), "dane-refused-case"),
        default_roots,
    );
    let e = c.outcome().unwrap().error.clone().unwrap();
    assert_eq!(e.tls_failure.unwrap().result_type, "tlsa-invalid");

    // A refused connection: the outcome says so.
    let closed: SocketAddr = ([127, 0, 0, 1], free_ports().0).into();
    let (c, err) = dial(
        closed,
        conn(StartTls::Never, Verify::Any, "unused"),
        default_roots,
    );
    assert!(err.is_some());
    let e = c.outcome().unwrap().error.clone().unwrap();
    assert_eq!((e.stage, e.permanent), (Stage::Connect, false));

    let mailbox = imaps_inbox(dir.path(), imaps);
    for subject in ["plain-case", "any-case", "pkix-case", "dane-case"] {
        // The stored message ends with the message as sent (dot-stuffing
        // undone by the server).
        let sent = format!(
            "From: sender@client.example\r\nTo: mox@localhost\r\nSubject: {subject}\r\n\r\n.{subject} body\r\n"
        );
        assert!(mailbox.contains(&sent), "{subject} missing in:\n{mailbox}");
    }
    for subject in ["pkix-refused-case", "dane-refused-case"] {
        assert!(
            !mailbox.contains(subject),
            "{subject} was delivered:\n{mailbox}"
        );
    }
    drop(server);
}

/// A server that offers STARTTLS, takes the transaction and, after its
/// 354 to DATA, stops reading (for 60 s) without closing; returns its
/// port.
fn stalling_tls_server() -> u16 {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ServerConfig, ServerConnection, StreamOwned};
    use std::io::BufRead;

    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let mut w = tcp.try_clone().unwrap();
        let mut r = std::io::BufReader::new(tcp.try_clone().unwrap());
        let mut line = String::new();
        w.write_all(b"220 stall.test ESMTP\r\n").unwrap();
        r.read_line(&mut line).unwrap(); // EHLO
        w.write_all(b"250-stall.test\r\n250 STARTTLS\r\n").unwrap();
        r.read_line(&mut line).unwrap(); // STARTTLS
        w.write_all(b"220 2.0.0 go ahead\r\n").unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["stall.test".to_string()]).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .unwrap();
        let mut s = StreamOwned::new(ServerConnection::new(Arc::new(cfg)).unwrap(), tcp);
        for reply in [
            "250 stall.test\r\n",  // EHLO
            "250 2.1.0 ok\r\n",    // MAIL
            "250 2.1.5 ok\r\n",    // RCPT
            "354 go ahead\r\n",    // DATA
        ] {
            read_line(&mut s);
            s.write_all(reply.as_bytes()).unwrap();
            s.flush().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_secs(60));
        drop(s);
    });
    port
}

/// A server that stops reading during the message data over TLS: the
/// connection ends after the data timeout (and the bounded last write),
/// it does not wait for the server forever.
fn stalled_tls_data_case(default_roots: &Arc<RootCertStore>) {
    let port = stalling_tls_server();
    let mut c = conn(StartTls::Required, Verify::Any, "stall-case");
    let mut cfg = c.config().clone();
    cfg.timeouts.data_block = std::time::Duration::from_secs(1);
    cfg.timeouts.quit = std::time::Duration::from_secs(1);
    // 16 MiB: more than the socket buffers take.
    let mut msg = b"From: sender@client.example\r\nSubject: big\r\n\r\n".to_vec();
    let line = format!("{}\r\n", "x".repeat(998));
    while msg.len() < 16 << 20 {
        msg.extend_from_slice(line.as_bytes());
    }
    let env = Envelope {
        mail_from: "sender@client.example".into(),
        recipients: vec!["rcpt@stall.test".into()],
        smtputf8: false,
        body: Body::SevenBit,
        requiretls: false,
    };
    c = ClientConn::new(Instant::now(), cfg, env, Arc::from(msg));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let (tx, rx) = std::sync::mpsc::channel();
    let roots = default_roots.clone();
    std::thread::spawn(move || {
        let (c, _) = dial(addr, c, &roots);
        let _ = tx.send(c);
    });
    let c = rx
        .recv_timeout(std::time::Duration::from_secs(8))
        .expect("the dial did not end within 8 s");
    let e = c.outcome().unwrap().error.clone().unwrap();
    assert_eq!(
        (e.stage, e.permanent, e.detail.as_str()),
        (Stage::Data, false, "timeout: the server stopped reading"),
        "{e:?}"
    );
    assert_eq!(c.outcome().unwrap().recipients[0].1, RcptResult::NotAttempted);
}

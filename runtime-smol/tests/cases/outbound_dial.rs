// Outbound dial cases shared by both runtimes' tests; included by
// tests/outbound_dial.rs of each crate, which defines BIN, mod common and
// `dial(addr, conn, roots)` on its runtime.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
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

use crate::common::{Server, client_config, free_ports, read_line, tls};

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

/// Every message of mox@localhost's Inbox, as IMAPS returns them.
fn inbox(dir: &Path, imaps: u16) -> String {
    let tcp = TcpStream::connect(("127.0.0.1", imaps)).unwrap();
    let (mut s, _) = tls(client_config(dir), tcp);
    read_line(&mut s);
    let mut all = String::new();
    for (tag, cmd) in [
        ("a", "LOGIN mox@localhost moxmoxmox"),
        ("b", "SELECT INBOX"),
        ("c", "FETCH 1:* BODY.PEEK[]"),
        ("d", "LOGOUT"),
    ] {
        s.write_all(format!("{tag} {cmd}\r\n").as_bytes()).unwrap();
        loop {
            let line = read_line(&mut s);
            all.push_str(&line);
            if line.starts_with(&format!("{tag} ")) {
                break;
            }
        }
    }
    all
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

    let mailbox = inbox(dir.path(), imaps);
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

// Set-up and helpers of the TLS client-certificate cases over real
// loopback TCP+TLS, shared by both runtimes' tests; included (before the
// cases) by tests/client_cert*.rs of each crate, which define BIN and mod
// common.
//
// Accounts: mox (mox@localhost, alias@localhost, password moxmoxmox) and
// other (other@localhost, password otherother). Keys: `preauth` and
// `no_preauth` of mox (login address mox@localhost), `other` of account
// other, and `unknown`, registered nowhere.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use moxide_engine::admin::keygen::{GeneratedKey, from_seed};
use moxide_engine::admin::tlspubkey::{AddKey, add};
use moxide_storage::NewAccount;
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::common::{Server, Tls, free_ports, read_line, tls};

/// The capabilities every state shares (after the AUTH ones).
const COMMON_CAPS: &str = "ENABLE LITERAL+ IDLE SASL-IR BINARY UNSELECT UIDPLUS ESEARCH SEARCHRES MOVE UTF8=ACCEPT LIST-EXTENDED SPECIAL-USE CREATE-SPECIAL-USE LIST-STATUS NAMESPACE ID CHILDREN CONDSTORE QRESYNC STATUS=SIZE MULTIAPPEND REPLACE SAVEDATE WITHIN QUOTA QUOTA=RES-STORAGE SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES PREVIEW COMPRESS=DEFLATE APPENDLIMIT=104857600";

/// The client keys of the tests.
struct Keys {
    preauth: GeneratedKey,
    no_preauth: GeneratedKey,
    other: GeneratedKey,
    unknown: GeneratedKey,
}

/// Creates the store in `dir` (as localserve would), the second account
/// and address, and registers the keys; the server is started afterwards.
fn setup(dir: &Path) -> Keys {
    let keys = Keys {
        preauth: from_seed(&[1; 32], "preauth").unwrap(),
        no_preauth: from_seed(&[2; 32], "no-preauth").unwrap(),
        other: from_seed(&[3; 32], "other").unwrap(),
        unknown: from_seed(&[4; 32], "unknown").unwrap(),
    };
    let (store, _) = moxide::localserve::open_store(dir).unwrap();
    store
        .account("mox")
        .unwrap()
        .set_addresses(&["mox@localhost".into(), "alias@localhost".into()])
        .unwrap();
    store
        .create_account(
            "other",
            NewAccount {
                addresses: vec!["other@localhost".into()],
                password: Some("otherother".into()),
                quota: 0,
                default_mailboxes: true,
            },
        )
        .unwrap();
    for (k, address, no_imap_preauth) in [
        (&keys.preauth, "mox@localhost", false),
        (&keys.no_preauth, "mox@localhost", true),
        (&keys.other, "other@localhost", false),
    ] {
        add(
            &store,
            AddKey {
                address,
                name: None,
                no_imap_preauth,
                pem: k.cert_pem.as_bytes(),
                now_unix: 1_700_000_000,
            },
        )
        .unwrap();
    }
    store.persist().unwrap();
    keys
}

/// A client trusting localserve's certificate in `dir`, presenting `key`.
fn cert_client(dir: &Path, key: Option<&GeneratedKey>) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(dir.join("tls/cert.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match key {
        Some(k) => b
            .with_client_auth_cert(
                vec![CertificateDer::from(k.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(k.key_der.clone())),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    })
}

fn connect(port: u16) -> TcpStream {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp
}

/// IMAPS with `key`: the stream and the greeting.
fn imaps(server: &Server, dir: &Path, key: Option<&GeneratedKey>) -> (Tls, String) {
    let (mut s, _) = tls(cert_client(dir, key), connect(server.imaps));
    let greeting = read_line(&mut s);
    (s, greeting)
}

/// IMAP on the STARTTLS port, upgraded with `key`.
fn imap_starttls(server: &Server, dir: &Path, key: Option<&GeneratedKey>) -> Tls {
    let mut tcp = connect(server.imap);
    assert!(read_line(&mut tcp).starts_with("* OK [CAPABILITY "));
    tcp.write_all(b"s STARTTLS\r\n").unwrap();
    assert_eq!(read_line(&mut tcp), "s OK begin TLS negotiation now\r\n");
    tls(cert_client(dir, key), tcp).0
}

/// Sends one command line; returns every line up to the tagged one.
fn imap(s: &mut Tls, line: &str) -> Vec<String> {
    let tag = line.split(' ').next().unwrap();
    send_until(s, line, tag)
}

/// Sends `line`; returns every line up to the one tagged `tag`.
fn send_until(s: &mut Tls, line: &str, tag: &str) -> Vec<String> {
    s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    let mut out = Vec::new();
    loop {
        let l = read_line(s);
        let done = l.starts_with(&format!("{tag} "));
        out.push(l);
        if done {
            return out;
        }
    }
}

/// The last (tagged) line of a command.
fn tagged(s: &mut Tls, line: &str) -> String {
    imap(s, line).pop().unwrap()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Not authenticated: SELECT is refused as in the wrong state.
fn assert_not_authenticated(s: &mut Tls) {
    let r = tagged(s, "n SELECT INBOX");
    assert!(r.starts_with("n BAD "), "{r}");
}

/// Authenticated as `account`: its own Inbox is selected (the other
/// account has a message the test put there).
fn assert_account(s: &mut Tls, account: &str) {
    let lines = imap(s, "w SELECT INBOX");
    assert!(
        lines.last().unwrap().starts_with("w OK [READ-WRITE]"),
        "{lines:?}"
    );
    let exists = if account == "other" {
        "* 1 EXISTS\r\n"
    } else {
        "* 0 EXISTS\r\n"
    };
    assert!(lines.iter().any(|l| l == exists), "{account}: {lines:?}");
}

/// Starts the server on `dir` after [`setup`], with one message in the
/// Inbox of account other (to tell the accounts apart).
fn start(dir: &Path) -> (Server, Keys) {
    let keys = setup(dir);
    let (imap_port, imaps_port) = free_ports();
    let server = Server::start(dir, imap_port, imaps_port);
    let (mut s, _) = imaps(&server, dir, None);
    let r = tagged(&mut s, "l LOGIN other@localhost otherother");
    assert!(r.starts_with("l OK "), "{r}");
    s.write_all(b"a APPEND INBOX {9+}\r\nSubject: \r\n")
        .unwrap();
    s.write_all(b"\r\n").unwrap();
    assert!(read_line(&mut s).starts_with("a OK "));
    (server, keys)
}

//! The tokio drive loop over real loopback TCP and TLS with the line-based
//! test connection of the smol crate: the same cases as its
//! `serve_tests.rs` (STARTTLS with channel binding, implicit TLS, timer,
//! wake-up from another thread, EOF, reads racing writes).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide::listen::{self, Security};
use moxide::tls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::line_conn::LineConn;
use crate::serve;

/// Runs `client` against a listener of `security` serving [`LineConn`]s.
fn with_server<F, Fut>(security: Security, client: F)
where
    F: FnOnce(SocketAddr, TlsConnector) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let (server_cfg, _) = tls::load_or_create_self_signed(dir.path()).unwrap();
    let (cert_path, _) = tls::cert_paths(dir.path());
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&cert_path).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(client_cfg));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = listen::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        tokio::spawn(serve::accept_loop(
            listener,
            security,
            TlsAcceptor::from(server_cfg),
            Arc::new(LineConn::new),
        ));
        tokio::time::timeout(Duration::from_secs(20), client(addr, connector))
            .await
            .expect("test timed out");
    });
}

async fn line<R: AsyncBufRead + Unpin>(r: &mut R) -> String {
    let mut s = String::new();
    r.read_line(&mut s).await.unwrap();
    s
}

fn client_exporter(conn: &rustls::ClientConnection) -> String {
    let ekm = conn
        .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
        .unwrap();
    ekm.iter().map(|b| format!("{b:02x}")).collect()
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

#[test]
fn starttls_upgrades_the_same_connection_with_channel_binding() {
    with_server(Security::StartTls, |addr, connector| async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut r = BufReader::new(tcp);
        assert_eq!(line(&mut r).await, "HELLO tls=false\r\n");
        r.get_mut().write_all(b"one\r\nstarttls\r\n").await.unwrap();
        assert_eq!(line(&mut r).await, "ECHO one tls=false\r\n");
        assert_eq!(line(&mut r).await, "OK begin TLS\r\n");
        assert!(r.buffer().is_empty());
        let tls = connector
            .connect(server_name(), r.into_inner())
            .await
            .unwrap();
        let hex = client_exporter(tls.get_ref().1);
        assert_eq!(hex.len(), 64);
        let mut r = BufReader::new(tls);
        r.get_mut().write_all(b"two\r\nexporter\r\n").await.unwrap();
        assert_eq!(line(&mut r).await, "ECHO two tls=true\r\n");
        assert_eq!(line(&mut r).await, format!("EXPORTER {hex}\r\n"));
        r.get_mut().write_all(b"quit\r\n").await.unwrap();
        assert_eq!(line(&mut r).await, "BYE\r\n");
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"");
    });
}

#[test]
fn implicit_tls_greets_inside_tls() {
    with_server(Security::Implicit, |addr, connector| async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let tls = connector.connect(server_name(), tcp).await.unwrap();
        let hex = client_exporter(tls.get_ref().1);
        let mut r = BufReader::new(tls);
        assert_eq!(line(&mut r).await, "HELLO tls=true\r\n");
        r.get_mut().write_all(b"exporter\r\n").await.unwrap();
        assert_eq!(line(&mut r).await, format!("EXPORTER {hex}\r\n"));
    });
}

#[test]
fn timer_and_wake_from_another_thread() {
    with_server(Security::StartTls, |addr, _| async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut r = BufReader::new(tcp);
        assert_eq!(line(&mut r).await, "HELLO tls=false\r\n");
        let start = Instant::now();
        r.get_mut().write_all(b"later\r\n").await.unwrap();
        assert_eq!(line(&mut r).await, "TICK\r\n");
        assert!(start.elapsed() >= Duration::from_millis(50));
        r.get_mut().write_all(b"poke\r\n").await.unwrap();
        assert_eq!(line(&mut r).await, "CHANGED\r\n");
    });
}

#[test]
fn peer_eof_is_reported_then_the_connection_closes() {
    with_server(Security::StartTls, |addr, _| async move {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.shutdown().await.unwrap();
        let mut all = String::new();
        tcp.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "HELLO tls=false\r\nEOF SEEN\r\n");
    });
}

#[test]
fn a_peer_that_writes_everything_before_reading_does_not_deadlock() {
    const LINES: usize = 200_000;
    with_server(Security::StartTls, |addr, _| async move {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let mut input = Vec::new();
        for i in 0..LINES {
            input.extend(format!("line {i:040}\r\n").bytes());
        }
        tcp.write_all(&input).await.unwrap();
        tcp.write_all(b"quit\r\n").await.unwrap();
        let mut all = Vec::new();
        tcp.read_to_end(&mut all).await.unwrap();
        let text = String::from_utf8(all).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), LINES + 3);
        assert_eq!(lines[0], "HELLO tls=false");
        assert_eq!(lines[1], format!("ECHO line {:040} tls=false", 0));
        assert_eq!(
            lines[LINES],
            format!("ECHO line {:040} tls=false", LINES - 1)
        );
        assert_eq!(lines[LINES + 1], "BYE");
    });
}

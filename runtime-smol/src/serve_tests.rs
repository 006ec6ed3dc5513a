//! The drive loop and listeners over real loopback TCP and TLS, with a
//! small line-based connection instead of the IMAP session, so each
//! behaviour of the loop (STARTTLS, implicit TLS, timers, wake-ups, EOF,
//! close, reads racing writes) is checked on its own. The tokio crate runs
//! the same cases against its loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use futures_lite::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use futures_rustls::{TlsAcceptor, TlsConnector};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use smol::Executor;

use crate::line_conn::LineConn;
use crate::listen;
use crate::serve::{self, Security};
use crate::tls;

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

    let ex = Arc::new(Executor::new());
    let listener = listen::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = serve::async_listener(listener).unwrap();
    let make = Arc::new(LineConn::new);
    ex.spawn(serve::accept_loop(
        ex.clone(),
        listener,
        security,
        TlsAcceptor::from(server_cfg),
        make,
    ))
    .detach();
    let run = ex.run(client(addr, connector));
    smol::block_on(async_io::Timer::after(Duration::from_secs(20)).or_else_panic(run));
}

/// A test that hangs fails after a while instead.
trait OrElsePanic {
    async fn or_else_panic<T>(self, f: impl Future<Output = T>) -> T;
}

impl OrElsePanic for async_io::Timer {
    async fn or_else_panic<T>(self, f: impl Future<Output = T>) -> T {
        futures_lite::future::or(f, async {
            self.await;
            panic!("test timed out");
        })
        .await
    }
}

async fn line<R: futures_lite::AsyncBufRead + Unpin>(r: &mut R) -> String {
    let mut s = String::new();
    r.read_line(&mut s).await.unwrap();
    s
}

/// RFC 9266 tls-exporter, computed on the client side.
fn client_exporter(conn: &rustls::ClientConnection) -> [u8; 32] {
    conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
        .unwrap()
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

#[test]
fn starttls_upgrades_the_same_connection_with_channel_binding() {
    with_server(Security::StartTls, |addr, connector| async move {
        let tcp = Async::<std::net::TcpStream>::connect(addr).await.unwrap();
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
        let want = client_exporter(tls.get_ref().1);
        let mut r = BufReader::new(tls);
        r.get_mut().write_all(b"two\r\nexporter\r\n").await.unwrap();
        assert_eq!(line(&mut r).await, "ECHO two tls=true\r\n");
        let hex: String = want.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex.len(), 64);
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
        let tcp = Async::<std::net::TcpStream>::connect(addr).await.unwrap();
        let tls = connector.connect(server_name(), tcp).await.unwrap();
        let want = client_exporter(tls.get_ref().1);
        let mut r = BufReader::new(tls);
        assert_eq!(line(&mut r).await, "HELLO tls=true\r\n");
        r.get_mut().write_all(b"exporter\r\n").await.unwrap();
        let hex: String = want.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(line(&mut r).await, format!("EXPORTER {hex}\r\n"));
    });
}

#[test]
fn timer_and_wake_from_another_thread() {
    with_server(Security::StartTls, |addr, _| async move {
        let tcp = Async::<std::net::TcpStream>::connect(addr).await.unwrap();
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
        let tcp = Async::<std::net::TcpStream>::connect(addr).await.unwrap();
        tcp.get_ref().shutdown(std::net::Shutdown::Write).unwrap();
        let mut r = BufReader::new(tcp);
        let mut all = String::new();
        r.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "HELLO tls=false\r\nEOF SEEN\r\n");
    });
}

#[test]
fn a_peer_that_writes_everything_before_reading_does_not_deadlock() {
    // Far more than the socket buffers in both directions: a loop that
    // wrote before reading again would block forever.
    const LINES: usize = 200_000;
    with_server(Security::StartTls, |addr, _| async move {
        let tcp = Async::<std::net::TcpStream>::connect(addr).await.unwrap();
        let mut input = Vec::new();
        for i in 0..LINES {
            input.extend(format!("line {i:040}\r\n").bytes());
        }
        let mut w = &tcp;
        w.write_all(&input).await.unwrap();
        w.write_all(b"quit\r\n").await.unwrap();
        let mut all = Vec::new();
        BufReader::new(&tcp).read_to_end(&mut all).await.unwrap();
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
        assert_eq!(lines[LINES + 2], "");
    });
}

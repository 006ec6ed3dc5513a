//! Outbound SMTP on smol: connects to a server, drives a sans-IO
//! [`ClientConn`] over the socket, and performs the TLS handshakes it asks
//! for (STARTTLS, or implicit TLS before the greeting) with the verifier of
//! its TLS policy ([`crate::tls_client`]).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use futures_lite::FutureExt;
use futures_rustls::TlsConnector;
use moxide_proto::conn::{Answer, Conn, NeedId};
use moxide_proto::smtp::client::ClientConn;
use rustls::RootCertStore;

use crate::drive::Smol;
use crate::drive_policy::{ClientEnding as Ending, drive_client};
use crate::tls_client::{ClientTls, tls_info};

/// Connects to `addr` within `connect_timeout` and runs `conn` to its end.
/// Returns the finished connection ([`ClientConn::outcome`] is always set)
/// and the error of the TCP connect, if that failed. `roots` are trusted
/// for `Verify::Pkix` ([`crate::tls_client::default_roots`] in
/// production). A fresh SCRAM nonce is set before the greeting.
pub async fn dial(
    addr: SocketAddr,
    connect_timeout: Duration,
    mut conn: ClientConn,
    roots: &Arc<RootCertStore>,
) -> (ClientConn, Option<io::Error>) {
    conn.set_sasl_nonce(sasl_nonce());
    let stream = Async::<TcpStream>::connect(addr)
        .or(async {
            Timer::after(connect_timeout).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {connect_timeout:?}"),
            ))
        })
        .await;
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            conn.connect_failed(format!("connecting to {addr}: {e}"));
            while conn.poll_action().is_some() {}
            return (conn, Some(e));
        }
    };
    let _ = stream.get_ref().set_nodelay(true);
    run(&mut conn, stream, addr, roots).await;
    (conn, None)
}

/// A SCRAM client nonce: 18 random octets in base64 (24 characters).
pub fn sasl_nonce() -> String {
    use base64::Engine as _;
    let mut b = [0u8; 18];
    // Without randomness SCRAM must not run: an empty nonce fails it.
    if getrandom::fill(&mut b).is_err() {
        return String::new();
    }
    base64::engine::general_purpose::STANDARD.encode(b)
}

async fn run(
    conn: &mut ClientConn,
    stream: Async<TcpStream>,
    addr: SocketAddr,
    roots: &Arc<RootCertStore>,
) {
    let (stream, id) = match drive_client::<Smol, _>(conn, stream).await {
        Ok(Ending::Closed) => return,
        Ok(Ending::Handshake(s, id)) => (s, id),
        Err(e) => return conn.network_error(Instant::now(), e.to_string()),
    };
    let tls = match handshake(conn, stream, id, addr, roots).await {
        Some(tls) => tls,
        None => return drain(conn),
    };
    match drive_client::<Smol, _>(conn, tls).await {
        Ok(Ending::Closed) => {}
        Ok(Ending::Handshake(..)) => {
            conn.network_error(Instant::now(), "TLS requested inside TLS");
        }
        Err(e) => conn.network_error(Instant::now(), e.to_string()),
    }
    drain(conn);
}

/// Takes the actions left after the end (the final `Close`).
fn drain(conn: &mut ClientConn) {
    while conn.poll_action().is_some() {}
}

/// Runs the TLS handshake the connection asked for (`id`) and answers it;
/// the TLS stream, or `None` when it failed (the connection knows why).
async fn handshake(
    conn: &mut ClientConn,
    stream: Async<TcpStream>,
    id: NeedId,
    addr: SocketAddr,
    roots: &Arc<RootCertStore>,
) -> Option<futures_rustls::client::TlsStream<Async<TcpStream>>> {
    let timeout = conn.config().timeouts.tls_handshake;
    let setup = ClientTls::new(&conn.config().tls.verify, addr.ip(), roots);
    let result = match setup {
        Err(f) => Err(f),
        Ok(tls) => {
            let connector = TlsConnector::from(tls.config.clone());
            let done = connector
                .connect(tls.server_name.clone(), stream)
                .or(async {
                    Timer::after(timeout).await;
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "TLS handshake timed out",
                    ))
                })
                .await;
            done.map_err(|e| tls.failure(&e))
        }
    };
    let now = Instant::now();
    match result {
        Ok(s) => {
            let info = tls_info(s.get_ref().1);
            conn.handle_answer(now, id, Answer::TlsHandshake(Ok(info)));
            Some(s)
        }
        Err(f) => {
            conn.handle_answer(now, id, Answer::TlsHandshake(Err(f)));
            None
        }
    }
}

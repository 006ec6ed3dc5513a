//! Outbound SMTP on tokio: the same as `moxide::outbound` (connect, drive
//! a sans-IO [`ClientConn`], TLS handshakes with the verifier of its
//! policy from `moxide::tls_client`) with tokio's sockets, timers and
//! tokio-rustls; the drive loop itself is the shared `moxide::drive`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide::drive_policy::{ClientEnding as Ending, drive_client};
use moxide::outbound::sasl_nonce;
use moxide::tls_client::{ClientTls, RootCertStore, tls_info};
use moxide_proto::conn::{Answer, Conn};
use moxide_proto::smtp::client::ClientConn;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::drive::Tokio;

/// Connects to `addr` within `connect_timeout` and runs `conn` to its end;
/// the same contract as `moxide::outbound::dial`.
pub async fn dial(
    addr: SocketAddr,
    connect_timeout: Duration,
    mut conn: ClientConn,
    roots: &Arc<RootCertStore>,
) -> (ClientConn, Option<io::Error>) {
    conn.set_sasl_nonce(sasl_nonce());
    let stream = match tokio::time::timeout(connect_timeout, TcpStream::connect(addr)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection within {connect_timeout:?}"),
        )),
    };
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            conn.connect_failed(format!("connecting to {addr}: {e}"));
            while conn.poll_action().is_some() {}
            return (conn, Some(e));
        }
    };
    let _ = stream.set_nodelay(true);
    run(&mut conn, stream, addr, roots).await;
    while conn.poll_action().is_some() {}
    (conn, None)
}

async fn run(
    conn: &mut ClientConn,
    stream: TcpStream,
    addr: SocketAddr,
    roots: &Arc<RootCertStore>,
) {
    let (stream, id) = match drive_client::<Tokio, _>(conn, stream).await {
        Ok(Ending::Closed) => return,
        Ok(Ending::Handshake(s, id)) => (s, id),
        Err(e) => return conn.network_error(Instant::now(), e.to_string()),
    };
    let timeout = conn.config().timeouts.tls_handshake;
    let result = match ClientTls::new(&conn.config().tls.verify, addr.ip(), roots) {
        Err(f) => Err(f),
        Ok(tls) => {
            let connector = TlsConnector::from(tls.config.clone());
            let done =
                tokio::time::timeout(timeout, connector.connect(tls.server_name.clone(), stream))
                    .await
                    .unwrap_or_else(|_| {
                        Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "TLS handshake timed out",
                        ))
                    });
            done.map_err(|e| tls.failure(&e))
        }
    };
    let tls = match result {
        Ok(s) => {
            let info = tls_info(s.get_ref().1);
            conn.handle_answer(Instant::now(), id, Answer::TlsHandshake(Ok(info)));
            s
        }
        Err(f) => {
            conn.handle_answer(Instant::now(), id, Answer::TlsHandshake(Err(f)));
            return;
        }
    };
    match drive_client::<Tokio, _>(conn, tls).await {
        Ok(Ending::Closed) => {}
        Ok(Ending::Handshake(..)) => conn.network_error(Instant::now(), "TLS requested inside TLS"),
        Err(e) => conn.network_error(Instant::now(), e.to_string()),
    }
}

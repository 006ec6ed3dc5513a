//! Listeners and the drive loop on tokio: the same behaviour as the smol
//! listeners of the `moxide` crate (`moxide::serve`), with tokio's sockets,
//! timers and TLS; the drive loop itself is the shared `moxide::drive`
//! ([`crate::drive::Tokio`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use moxide::drive_policy::drive_server;
use moxide::listen::Security;
use moxide::serve::release_memory;
use moxide::session::Session;
use moxide::tls;
use moxide_engine::imap::PeerInfo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

use crate::drive::Tokio;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections forever, one task per connection; `make` builds the
/// connection for a peer.
pub async fn accept_loop<C, F>(
    listener: TcpListener,
    security: Security,
    acceptor: TlsAcceptor,
    make: Arc<F>,
) where
    C: Session,
    F: Fn(PeerInfo) -> C + Send + Sync + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let (acceptor, make) = (acceptor.clone(), make.clone());
                tokio::spawn(async move {
                    if let Err(e) = connection(stream, addr, security, acceptor, &*make).await {
                        tracing::debug!(peer = %addr, error = %e, "connection ended");
                    }
                    release_memory();
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves one connection until it closes.
pub async fn connection<C, F>(
    stream: TcpStream,
    addr: SocketAddr,
    security: Security,
    acceptor: TlsAcceptor,
    make: &F,
) -> io::Result<()>
where
    C: Session,
    F: Fn(PeerInfo) -> C,
{
    stream.set_nodelay(true)?;
    // notify_one keeps a permit when nobody waits: no wake-up is lost.
    let notify = Arc::new(Notify::new());
    let wake: Arc<dyn Fn() + Send + Sync> = {
        let n = notify.clone();
        Arc::new(move || n.notify_one())
    };
    let ip = addr.ip();
    match security {
        Security::Implicit => {
            let tls = handshake(&acceptor, stream).await?;
            let tls_exporter = tls::tls_exporter(tls.get_ref().1);
            // Looked up by the session on every connection, also a
            // resumed one: a removed key no longer logs in.
            let client_key = tls::client_key(tls.get_ref().1);
            let mut conn = Box::new(make(PeerInfo {
                ip,
                tls: true,
                tls_exporter,
                client_key,
            }));
            conn.set_wake(wake);
            drive(conn, tls, &notify).await?;
        }
        Security::StartTls => {
            let mut conn = Box::new(make(PeerInfo {
                ip,
                tls: false,
                tls_exporter: None,
                client_key: None,
            }));
            conn.set_wake(wake);
            if let (mut conn, Ending::StartTls(stream)) = drive(conn, stream, &notify).await? {
                let tls = handshake(&acceptor, stream).await?;
                let session = tls.get_ref().1;
                conn.tls_established(tls::tls_exporter(session), tls::client_key(session));
                drive(conn, tls, &notify).await?;
            }
        }
    }
    Ok(())
}

async fn handshake<S>(
    acceptor: &TlsAcceptor,
    stream: S,
) -> io::Result<tokio_rustls::server::TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

/// How [`drive`] ended.
pub use moxide::serve::Ending;

/// Drives `conn` over `io` until it closes or asks for STARTTLS; gives the
/// connection back with how it ended: `moxide::drive::drive` with the
/// inbound policy, as the smol loop (its input calls on tokio's blocking
/// pool; storage changes wake it through `notify`).
pub async fn drive<C, S>(conn: Box<C>, io: S, notify: &Notify) -> io::Result<(Box<C>, Ending<S>)>
where
    C: Session + ?Sized,
    S: AsyncRead + AsyncWrite + Unpin,
{
    drive_server::<Tokio, _, _>(conn, io, notify).await
}

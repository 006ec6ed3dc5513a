//! Listeners and the drive loop: one task per connection moves bytes between
//! a socket and a sans-IO [`Conn`], keeps its timer, upgrades to TLS when it
//! asks, and wakes it when storage reports changes to its account.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use futures_lite::FutureExt;
use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_rustls::TlsAcceptor;
use moxide_engine::imap::PeerInfo;
use smol::Executor;
use smol::channel::{Receiver, Sender};

use crate::drive::Smol;
use crate::drive_policy::drive_server;
pub use crate::listen::Security;
pub use crate::session::Session;
use crate::tls;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Read buffer of a connection: it starts small (commands are short, and
/// thousands of idle connections must hold little), grows while reads fill
/// it (APPEND literals) and shrinks back once input is small again.
pub const READ_BUF_MIN: usize = 2 * 1024;
/// Largest read buffer.
pub const READ_BUF_MAX: usize = 64 * 1024;
/// Output buffer capacity kept once everything is written; a larger one
/// (left by a big FETCH) is freed.
pub const OUT_KEEP: usize = 8 * 1024;

/// Sets glibc malloc up for a long-running server that should give memory
/// back: at most two arenas (the executor threads and fjall's workers share
/// them instead of each keeping its own), and fixed mmap and trim
/// thresholds of 128 KiB (glibc otherwise raises them up to 32 MiB after
/// large frees, so big FETCH and SEARCH buffers would stay in the heap).
/// Call once at start, before other threads run. A no-op on other C
/// libraries. DESIGN.md "Decisions and deviations" explains the figures.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::tune();
}

/// Returns freed heap memory to the system (glibc `malloc_trim`), at most
/// once per [`TRIM_INTERVAL`]; called after a large response and when a
/// connection ends (by the tokio runtime too).
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static LAST: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
        let now = Instant::now();
        let mut last = LAST
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|t| now.saturating_duration_since(t) < TRIM_INTERVAL) {
            return;
        }
        *last = Some(now);
        drop(last);
        glibc::trim();
    }
}

/// Returns freed heap memory to the system now (glibc `malloc_trim`; a
/// no-op on other C libraries). [`crate::idle::idle_shrink`] calls it
/// after flushing the store's memtables.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

/// Shortest time between two heap trims.
const TRIM_INTERVAL: Duration = Duration::from_secs(5);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::ffi::c_int;

    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
        fn malloc_trim(pad: usize) -> c_int;
    }

    // malloc.h
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    const M_ARENA_MAX: c_int = -8;

    pub(super) fn tune() {
        // SAFETY: mallopt only changes allocator parameters and may be
        // called at any time; invalid values are rejected (returns 0).
        unsafe {
            mallopt(M_ARENA_MAX, 2);
            mallopt(M_MMAP_THRESHOLD, 128 << 10);
            mallopt(M_TRIM_THRESHOLD, 128 << 10);
        }
    }

    pub(super) fn trim() {
        // SAFETY: malloc_trim only releases free memory of the allocator's
        // own arenas; it is thread-safe (takes each arena's lock).
        unsafe {
            malloc_trim(0);
        }
    }
}

/// The read buffer to use after a read of `n` bytes into `buf`: four
/// times larger (up to [`READ_BUF_MAX`]) after a read that filled it,
/// [`READ_BUF_MIN`] again after a small read. The tokio runtime uses it too.
pub fn resize_read_buf(buf: &mut Vec<u8>, n: usize) {
    if n == buf.len() && buf.len() < READ_BUF_MAX {
        *buf = vec![0u8; (buf.len() * 4).min(READ_BUF_MAX)];
    } else if buf.len() > READ_BUF_MIN && n <= READ_BUF_MIN / 2 {
        *buf = vec![0u8; READ_BUF_MIN];
    }
}

/// Wraps a listener from [`crate::listen::bind`] for smol.
pub fn async_listener(l: TcpListener) -> io::Result<Async<TcpListener>> {
    Async::new(l)
}

/// Accepts connections forever, one task on `ex` per connection; `make`
/// builds the connection for a peer.
pub async fn accept_loop<C, F>(
    ex: Arc<Executor<'static>>,
    listener: Async<TcpListener>,
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
                ex.spawn(async move {
                    if let Err(e) = connection(stream, addr, security, acceptor, &*make).await {
                        tracing::debug!(peer = %addr, error = %e, "connection ended");
                    }
                    release_memory();
                })
                .detach();
            }
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                tracing::warn!(error = %e, "accept failed");
                Timer::after(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves one connection until it closes.
pub async fn connection<C, F>(
    stream: Async<TcpStream>,
    addr: SocketAddr,
    security: Security,
    acceptor: TlsAcceptor,
    make: &F,
) -> io::Result<()>
where
    C: Session,
    F: Fn(PeerInfo) -> C,
{
    // Interactive protocol: small replies must not wait for Nagle.
    stream.get_ref().set_nodelay(true)?;
    let (wake_tx, wake_rx) = smol::channel::bounded::<()>(1);
    // Kept so the channel never closes, whatever the connection does with
    // its callback (a closed channel would wake the loop forever).
    let wake = wake_callback(wake_tx.clone());
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
            // STARTTLS inside TLS is refused by the connection itself.
            drive(conn, tls, &wake_rx).await?;
        }
        Security::StartTls => {
            let mut conn = Box::new(make(PeerInfo {
                ip,
                tls: false,
                tls_exporter: None,
                client_key: None,
            }));
            conn.set_wake(wake);
            if let (mut conn, Ending::StartTls(stream)) = drive(conn, stream, &wake_rx).await? {
                let tls = handshake(&acceptor, stream).await?;
                let session = tls.get_ref().1;
                conn.tls_established(tls::tls_exporter(session), tls::client_key(session));
                drive(conn, tls, &wake_rx).await?;
            }
        }
    }
    Ok(())
}

/// The wake callback: a full channel already means "look again".
fn wake_callback(tx: Sender<()>) -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(move || {
        let _ = tx.try_send(());
    })
}

async fn handshake<S>(
    acceptor: &TlsAcceptor,
    stream: S,
) -> io::Result<futures_rustls::server::TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    acceptor
        .accept(stream)
        .or(async {
            Timer::after(HANDSHAKE_TIMEOUT).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            ))
        })
        .await
}

/// How [`drive`] ended.
#[derive(Debug)]
pub enum Ending<S> {
    /// The connection is done (closed by either side).
    Closed,
    /// The connection asked for TLS; everything before has been sent.
    StartTls(S),
}

/// Drives `conn` over `io` until it closes or asks for STARTTLS; gives the
/// connection back with how it ended: [`crate::drive::drive`] with the
/// inbound [`crate::drive_policy::ServerPolicy`] (its input calls on smol's blocking thread
/// pool; storage changes wake it through `wake`).
pub async fn drive<C, S>(
    conn: Box<C>,
    io: S,
    wake: &Receiver<()>,
) -> io::Result<(Box<C>, Ending<S>)>
where
    C: Session + ?Sized,
    S: AsyncRead + AsyncWrite + Unpin,
{
    drive_server::<Smol, _, _>(conn, io, wake).await
}

#[cfg(test)]
mod buffer_tests {
    use super::*;

    #[test]
    fn read_buffer_grows_when_full_and_shrinks_when_idle() {
        let mut b = vec![0u8; READ_BUF_MIN];
        resize_read_buf(&mut b, 10);
        assert_eq!(b.len(), 2048);
        resize_read_buf(&mut b, 2048);
        assert_eq!(b.len(), 8192);
        resize_read_buf(&mut b, 8192);
        assert_eq!(b.len(), 32768);
        resize_read_buf(&mut b, 32768);
        assert_eq!(b.len(), 65536);
        resize_read_buf(&mut b, 65536);
        assert_eq!(b.len(), 65536);
        resize_read_buf(&mut b, 5000);
        assert_eq!(b.len(), 65536);
        resize_read_buf(&mut b, 6);
        assert_eq!(b.len(), 2048);
        assert_eq!(b.capacity(), 2048);
    }
}

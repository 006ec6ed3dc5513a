//! Listeners and the drive loop: one task per connection moves bytes between
//! a socket and a sans-IO [`Conn`], keeps its timer, upgrades to TLS when it
//! asks, and wakes it when storage reports changes to its account.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use futures_lite::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use futures_lite::{FutureExt, future};
use futures_rustls::TlsAcceptor;
use moxide_engine::imap::PeerInfo;
use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId};
use smol::Executor;
use smol::channel::{Receiver, Sender};

pub use crate::listen::Security;
pub use crate::session::Session;
use crate::tls;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a write may make no progress (the peer reads nothing) before
/// the connection is dropped.
const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(300);
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

/// What woke the drive loop.
enum Step {
    /// Everything drained so far has been written.
    Written,
    Read(usize),
    Eof,
    Timer,
    Notified,
    /// An answer to one of the connection's requests (DNS, HTTPS).
    Answer((NeedId, Answer)),
}

/// Drives `conn` over `io` until it closes or asks for STARTTLS; gives the
/// connection back with how it ended.
///
/// The calls that hand the connection input (`handle_input`, `handle_eof`,
/// `handle_timeout`, `handle_answer`) run on smol's blocking thread pool
/// ([`off_executor`]): they may block on storage (an SMTP delivery waits
/// for its group commit's fsyncs), and the executor's threads must go on
/// serving the other connections meanwhile.
///
/// Reads and writes race (a peer that writes while we write cannot
/// deadlock us); output is drained from the connection only once the
/// previous output has been written, so a connection that produces output
/// incrementally is paced by the peer. Input is read only while
/// [`Conn::wants_read`] says so.
pub async fn drive<C, S>(
    mut conn: Box<C>,
    mut io: S,
    wake: &Receiver<()>,
) -> io::Result<(Box<C>, Ending<S>)>
where
    C: Session + ?Sized,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out: Vec<u8> = Vec::new();
    let mut sent = 0usize;
    let mut dirty = false; // written but not flushed
    let mut buf = vec![0u8; READ_BUF_MIN];
    let mut eof = false;
    let mut last_write = Instant::now();
    // Answers to the connection's requests (`Need::Dns`, `Need::Https`).
    let (dns_tx, dns_rx) = smol::channel::unbounded::<(NeedId, Answer)>();
    let mut dns_pending = 0usize;
    loop {
        let now = Instant::now();
        if sent == out.len() {
            out.clear();
            sent = 0;
            conn.poll_transmit(&mut out);
            if out.is_empty() && out.capacity() > OUT_KEEP {
                out = Vec::new();
                release_memory();
            }
            match next_action(&mut *conn, now, &mut out, &dns_tx, &mut dns_pending) {
                Some(Action::StartTls) => {
                    io.write_all(&out).await?;
                    io.flush().await?;
                    return Ok((conn, Ending::StartTls(io)));
                }
                Some(_) => {
                    // Close (or a request this runtime cannot answer).
                    io.write_all(&out).await?;
                    io.flush().await?;
                    let _ = io.close().await;
                    return Ok((conn, Ending::Closed));
                }
                None => {}
            }
            if !out.is_empty() {
                last_write = now;
            }
        }
        let deadline = conn.poll_timeout();
        if deadline.is_some_and(|d| d <= now) {
            (conn, ()) = off_executor(conn, (), move |c, _| c.handle_timeout(now)).await;
            continue;
        }
        let want_read = !eof && conn.wants_read();
        let writing = sent < out.len();
        if !writing && !dirty && dns_pending == 0 && (eof || (!want_read && deadline.is_none())) {
            // Nothing to send and nothing can happen any more.
            let _ = io.close().await;
            return Ok((conn, Ending::Closed));
        }
        let stall = writing.then(|| last_write + WRITE_STALL_TIMEOUT);
        let mut timer = pin!(match (deadline, stall) {
            (Some(d), Some(s)) => Timer::at(d.min(s)),
            (Some(t), None) | (None, Some(t)) => Timer::at(t),
            (None, None) => Timer::never(),
        });
        let mut notified = pin!(wake.recv());
        let mut dns_answer = pin!(dns_rx.recv());
        let step = future::poll_fn(|cx| {
            let mut io = Pin::new(&mut io);
            while sent < out.len() {
                match io.as_mut().poll_write(cx, &out[sent..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => {
                        sent += n;
                        dirty = true;
                        last_write = Instant::now();
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => break,
                }
            }
            if dirty {
                match io.as_mut().poll_flush(cx) {
                    Poll::Ready(Ok(())) => dirty = false,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
            if want_read {
                match io.as_mut().poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Ok(Step::Eof)),
                    Poll::Ready(Ok(n)) => return Poll::Ready(Ok(Step::Read(n))),
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
            if writing && sent == out.len() {
                return Poll::Ready(Ok(Step::Written));
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(Step::Timer));
            }
            if notified.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(Step::Notified));
            }
            if let Poll::Ready(Ok(answer)) = dns_answer.as_mut().poll(cx) {
                return Poll::Ready(Ok(Step::Answer(answer)));
            }
            Poll::Pending
        })
        .await?;
        let now = Instant::now();
        match step {
            Step::Read(n) => {
                (conn, buf) = off_executor(conn, buf, move |c, b| {
                    c.handle_input(now, b.get(..n).unwrap_or_default());
                })
                .await;
                resize_read_buf(&mut buf, n);
            }
            Step::Eof => {
                eof = true;
                (conn, ()) = off_executor(conn, (), move |c, _| c.handle_eof(now)).await;
            }
            Step::Notified => conn.handle_changes(now),
            Step::Answer((id, answer)) => {
                dns_pending = dns_pending.saturating_sub(1);
                (conn, ()) = off_executor(conn, (), move |c, _| {
                    c.handle_answer(now, id, answer);
                })
                .await;
            }
            Step::Timer => {
                if sent < out.len() && now >= last_write + WRITE_STALL_TIMEOUT {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "peer stopped reading",
                    ));
                }
                // The connection's own deadline is handled at the top.
            }
            Step::Written => {}
        }
    }
}

/// Runs `f` on the connection (with `arg`, a buffer it lends) on smol's
/// blocking thread pool and gives both back. If the caller's future is
/// dropped meanwhile, the call still completes and the connection is
/// dropped on the pool.
async fn off_executor<C, T, F>(mut conn: Box<C>, arg: T, f: F) -> (Box<C>, T)
where
    C: Session + ?Sized,
    T: Send + 'static,
    F: FnOnce(&mut C, &T) + Send + 'static,
{
    smol::unblock(move || {
        f(&mut *conn, &arg);
        (conn, arg)
    })
    .await
}

/// The next action that ends the loop (StartTls or Close); requests are
/// answered on the spot (what the answer makes the connection send is
/// appended to `out`). A request this runtime does not know closes the
/// connection.
fn next_action<C: Conn + ?Sized>(
    conn: &mut C,
    now: Instant,
    out: &mut Vec<u8>,
    dns: &Sender<(NeedId, Answer)>,
    dns_pending: &mut usize,
) -> Option<Action> {
    while let Some(action) = conn.poll_action() {
        match action {
            Action::Need(id, Need::None) => {
                conn.handle_answer(now, id, Answer::None);
                conn.poll_transmit(out);
            }
            Action::Need(id, Need::Dns(query)) => {
                // Looked up by the process's resolver; the answer comes
                // back through `dns` and wakes the drive loop.
                let (resolver, tx) = (crate::dns::shared(), dns.clone());
                smol::spawn(async move {
                    let lookup = resolver.lookup(query).await;
                    let _ = tx.send((id, Answer::Dns(lookup))).await;
                })
                .detach();
                *dns_pending += 1;
            }
            Action::Need(id, Need::Https(req)) => {
                // Fetched on smol's global executor with the process's
                // TLS roots (bounded by the request's own timeout); the
                // answer comes back like a DNS answer.
                let tx = dns.clone();
                smol::spawn(async move {
                    let outcome = crate::https::get_shared(&req).await;
                    let _ = tx.send((id, Answer::Https(outcome))).await;
                })
                .detach();
                *dns_pending += 1;
            }
            Action::Need(_, need) => {
                tracing::error!(
                    ?need,
                    "connection made a request this runtime cannot answer"
                );
                return Some(Action::Close);
            }
            other => return Some(other),
        }
    }
    None
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

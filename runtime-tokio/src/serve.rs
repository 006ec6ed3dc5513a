//! Listeners and the drive loop on tokio: the same behaviour as the smol
//! loop of the `moxide` crate (`moxide::serve`), with tokio's sockets,
//! timers and TLS. Keep the two in step.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use moxide::listen::Security;
use moxide::serve::{OUT_KEEP, READ_BUF_MIN, release_memory, resize_read_buf};
use moxide::session::Session;
use moxide::tls;
use moxide_engine::imap::PeerInfo;
use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;
use tokio_rustls::TlsAcceptor;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a write may make no progress before the connection is dropped.
const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(300);

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
#[derive(Debug)]
pub enum Ending<S> {
    /// The connection is done (closed by either side).
    Closed,
    /// The connection asked for TLS; everything before has been sent.
    StartTls(S),
}

enum Step {
    Written,
    Read(usize),
    Eof,
    Timer,
    Notified,
    /// An answer to one of the connection's requests (DNS, HTTPS).
    Answer((NeedId, Answer)),
}

/// Drives `conn` over `io` until it closes or asks for STARTTLS; gives the
/// connection back with how it ended. Reads and writes race; output is
/// drained from the connection once the previous output has been written;
/// input is read while [`Conn::wants_read`]. The calls that hand the
/// connection input run on tokio's blocking pool ([`off_runtime`]), as the
/// smol loop's do: they may block on storage (group commit).
pub async fn drive<C, S>(
    mut conn: Box<C>,
    mut io: S,
    notify: &Notify,
) -> io::Result<(Box<C>, Ending<S>)>
where
    C: Session + ?Sized,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out: Vec<u8> = Vec::new();
    let mut sent = 0usize;
    let mut dirty = false;
    // Sized as the smol loop's: small while idle, grown while reads fill it
    // (`moxide::serve::resize_read_buf`).
    let mut buf = vec![0u8; READ_BUF_MIN];
    let mut eof = false;
    let mut last_write = Instant::now();
    // Answers to the connection's requests (`Need::Dns`, `Need::Https`).
    let (dns_tx, mut dns_rx) = tokio::sync::mpsc::unbounded_channel::<(NeedId, Answer)>();
    let mut dns_pending = 0usize;
    loop {
        let now = Instant::now();
        if sent == out.len() {
            out.clear();
            sent = 0;
            conn.poll_transmit(&mut out);
            // A large response's buffer is freed once written.
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
                    io.write_all(&out).await?;
                    io.flush().await?;
                    let _ = io.shutdown().await;
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
            (conn, ()) = off_runtime(conn, (), move |c, _| c.handle_timeout(now)).await?;
            continue;
        }
        let want_read = !eof && conn.wants_read();
        let writing = sent < out.len();
        if !writing && !dirty && dns_pending == 0 && (eof || (!want_read && deadline.is_none())) {
            let _ = io.shutdown().await;
            return Ok((conn, Ending::Closed));
        }
        let stall = writing.then(|| last_write + WRITE_STALL_TIMEOUT);
        let wake_at = match (deadline, stall) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        let mut timer = pin!(async move {
            match wake_at {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        });
        let mut notified = pin!(notify.notified());
        let step = poll_fn(|cx| {
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
                let mut rb = ReadBuf::new(&mut buf);
                match io.as_mut().poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                        return Poll::Ready(Ok(Step::Eof));
                    }
                    Poll::Ready(Ok(())) => return Poll::Ready(Ok(Step::Read(rb.filled().len()))),
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
            if let Poll::Ready(Some(answer)) = dns_rx.poll_recv(cx) {
                return Poll::Ready(Ok(Step::Answer(answer)));
            }
            Poll::Pending
        })
        .await?;
        let now = Instant::now();
        match step {
            Step::Read(n) => {
                (conn, buf) = off_runtime(conn, buf, move |c, b| {
                    c.handle_input(now, b.get(..n).unwrap_or_default());
                })
                .await?;
                resize_read_buf(&mut buf, n);
            }
            Step::Eof => {
                eof = true;
                (conn, ()) = off_runtime(conn, (), move |c, _| c.handle_eof(now)).await?;
            }
            Step::Notified => conn.handle_changes(now),
            Step::Answer((id, answer)) => {
                dns_pending = dns_pending.saturating_sub(1);
                (conn, ()) = off_runtime(conn, (), move |c, _| {
                    c.handle_answer(now, id, answer);
                })
                .await?;
            }
            Step::Timer => {
                if sent < out.len() && now >= last_write + WRITE_STALL_TIMEOUT {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "peer stopped reading",
                    ));
                }
            }
            Step::Written => {}
        }
    }
}

/// Runs `f` on the connection (with `arg`, a buffer it lends) on tokio's
/// blocking pool and gives both back; a panic in the call is resumed here.
async fn off_runtime<C, T, F>(mut conn: Box<C>, arg: T, f: F) -> io::Result<(Box<C>, T)>
where
    C: Session + ?Sized,
    T: Send + 'static,
    F: FnOnce(&mut C, &T) + Send + 'static,
{
    let call = tokio::task::spawn_blocking(move || {
        f(&mut *conn, &arg);
        (conn, arg)
    });
    match call.await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(io::Error::other(format!("session call cancelled: {e}"))),
    }
}

/// The next action that ends the loop (StartTls or Close); requests are
/// answered on the spot, their output appended to `out`; DNS requests go
/// to the process's resolver (`moxide::dns::shared`, shared with the smol
/// binary: its driver runs on smol's global executor, usable from tokio)
/// and their answers come back through `dns`, as do those of HTTPS
/// requests (`moxide::https::get_shared`, the smol binary's client: its
/// sockets and timer run on async-io's reactor thread, so a tokio task
/// can poll it).
fn next_action<C: Conn + ?Sized>(
    conn: &mut C,
    now: Instant,
    out: &mut Vec<u8>,
    dns: &UnboundedSender<(NeedId, Answer)>,
    dns_pending: &mut usize,
) -> Option<Action> {
    while let Some(action) = conn.poll_action() {
        match action {
            Action::Need(id, Need::None) => {
                conn.handle_answer(now, id, Answer::None);
                conn.poll_transmit(out);
            }
            Action::Need(id, Need::Dns(query)) => {
                let (resolver, tx) = (moxide::dns::shared(), dns.clone());
                tokio::spawn(async move {
                    let lookup = resolver.lookup(query).await;
                    let _ = tx.send((id, Answer::Dns(lookup)));
                });
                *dns_pending += 1;
            }
            Action::Need(id, Need::Https(req)) => {
                let tx = dns.clone();
                tokio::spawn(async move {
                    let outcome = moxide::https::get_shared(&req).await;
                    let _ = tx.send((id, Answer::Https(outcome)));
                });
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

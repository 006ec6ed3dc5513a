//! The drive loop, once for every connection and both runtimes: it moves
//! bytes between a stream and a sans-IO [`Conn`], keeps the connection's
//! timer and a write-stall timer, and ends when the connection closes or
//! asks for TLS. What differs between an inbound session and the outbound
//! SMTP client is a [`Policy`] ([`crate::drive_policy`]); what differs
//! between smol and tokio (sockets, timers, spawning, the blocking pool) is
//! a [`Runtime`] ([`Smol`] here, `moxide_tokio::drive::Tokio`).
//!
//! Reads and writes race (a peer that writes while we write cannot
//! deadlock us); output is drained from the connection only once the
//! previous output has been written, so a connection that produces output
//! incrementally is paced by the peer. Input is read only while
//! [`Conn::wants_read`] says so.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use futures_lite::io::{AsyncRead, AsyncWrite};
use moxide_proto::conn::{Conn, NeedId};

/// What the drive loop needs of an async runtime besides the stream.
pub trait Runtime: Send + Sync + 'static {
    /// A timer future.
    type Sleep: Future + Send;
    /// What a session's wake callback signals (the loop waits on it).
    type Wake: ?Sized + Sync;
    /// A timer that fires at `at` (at once when `at` is past).
    fn sleep_until(at: Instant) -> Self::Sleep;
    /// Completes when `wake` was signalled since the last call completed
    /// (a signal while nobody waits is kept).
    fn notified(wake: &Self::Wake) -> impl Future<Output = ()> + Send + '_;
    /// Runs `task` to completion in the background.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);
    /// Runs `f` on the runtime's blocking thread pool; a panic in `f` is
    /// resumed in the caller.
    fn unblock<T: Send + 'static>(
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = io::Result<T>> + Send;
}

/// The stream operations of a runtime for streams of type `S`.
pub trait RuntimeIo<S>: Runtime {
    /// Reads into `buf`; `Ok(0)` is the end of the stream.
    fn poll_read(io: Pin<&mut S>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    /// Writes from `buf`.
    fn poll_write(io: Pin<&mut S>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Flushes what was written.
    fn poll_flush(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Shuts the writing side down (TLS close_notify, TCP FIN).
    fn poll_close(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// smol: async-io timers and sockets, smol's global executor and its
/// blocking pool.
#[derive(Debug)]
pub struct Smol;

impl Runtime for Smol {
    type Sleep = async_io::Timer;
    type Wake = smol::channel::Receiver<()>;

    fn sleep_until(at: Instant) -> Self::Sleep {
        async_io::Timer::at(at)
    }

    async fn notified(wake: &Self::Wake) {
        // A closed channel also counts as a signal (the server keeps its
        // sender, so it never closes).
        let _ = wake.recv().await;
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(task).detach();
    }

    async fn unblock<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
        // If the caller's future is dropped meanwhile, the call still
        // completes on the pool.
        Ok(crate::blocking_pool::unblock(f).await)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> RuntimeIo<S> for Smol {
    fn poll_read(io: Pin<&mut S>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        AsyncRead::poll_read(io, cx, buf)
    }

    fn poll_write(io: Pin<&mut S>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(io, cx, buf)
    }

    fn poll_flush(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(io, cx)
    }

    fn poll_close(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(io, cx)
    }
}

/// Where the connection's input calls (`handle_input`, `handle_eof`,
/// `handle_timeout`, answers) run: [`crate::drive_policy::OffPool`] or
/// [`crate::drive_policy::Inline`].
pub trait ConnCell<R: Runtime>: Sized + Send {
    /// The connection.
    type Conn: Conn + ?Sized;
    /// The connection, for the calls that run on the loop's task.
    fn conn(&mut self) -> &mut Self::Conn;
    /// Runs `f` on the connection with `arg` (a buffer it lends) and gives
    /// both back.
    fn call<T, F>(self, arg: T, f: F) -> impl Future<Output = io::Result<(Self, T)>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&mut Self::Conn, &T) + Send + 'static;
}

/// Why the loop should end, from [`Policy::take_actions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The connection asked for TLS (`id`: the request to answer with the
    /// handshake's outcome, for a client). Output before it is written
    /// first, within `limit` when set.
    Tls {
        id: Option<NeedId>,
        limit: Option<Duration>,
    },
    /// The connection is done. Without `limit`, its last output is written
    /// (an error ends the loop with it) and the stream is shut down; with
    /// `limit`, the outcome is already decided: write and shutdown together
    /// get `limit`, and their errors are ignored.
    Close { limit: Option<Duration> },
}

/// How [`drive`] ended.
#[derive(Debug)]
pub enum Ending<S> {
    /// The connection is done (closed by either side).
    Closed,
    /// The connection asked for TLS (the request, for a client); everything
    /// before has been sent.
    Tls(S, Option<NeedId>),
}

/// The state the loop decides its end by, before it waits.
#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    /// The peer closed its side.
    pub eof: bool,
    /// The connection wants input now.
    pub want_read: bool,
    /// Output is not fully written.
    pub writing: bool,
    /// Output is written but not flushed.
    pub dirty: bool,
    /// The connection has no timer.
    pub no_deadline: bool,
}

/// What differs between the connections the loop drives (an inbound
/// session, the outbound SMTP client): buffers, requests, events and what
/// a stall means.
pub trait Policy<R: Runtime, H: ConnCell<R>>: Send {
    /// An event besides I/O and timers (a wake, an answer to a request).
    type Event: Send;
    /// The read buffer's size at the start.
    fn read_buf(&self) -> usize;
    /// Adapts the read buffer after a read of `n` bytes into it.
    fn after_read(&self, buf: &mut Vec<u8>, n: usize);
    /// Called after the connection's output was taken into `out` (which may
    /// be empty): may free a large buffer.
    fn after_transmit(&self, out: &mut Vec<u8>);
    /// How long a write may make no progress; asked once at the start.
    fn stall_limit(&self, conn: &mut H::Conn) -> Duration;
    /// Takes the connection's actions, answers its requests (what the
    /// answers make it send is appended to `out`); `Some` ends the loop.
    fn take_actions(&mut self, conn: &mut H::Conn, now: Instant, out: &mut Vec<u8>) -> Option<End>;
    /// Checked before waiting: nothing can happen any more, so the stream
    /// is shut down and the loop ends.
    fn finished(&self, state: Waiting) -> bool;
    /// Whether a connection that wants no input, has no timer and nothing
    /// left to write is [`Policy::stuck`] (else the loop waits for events).
    fn may_get_stuck(&self) -> bool;
    /// The connection waits for nothing (see [`Policy::may_get_stuck`]).
    fn stuck(&mut self, conn: &mut H::Conn, now: Instant);
    /// Writing made no progress for the stall limit: an error ends the
    /// loop; `Ok` drops the unsendable output and goes on.
    fn write_stalled(&mut self, conn: &mut H::Conn, now: Instant) -> io::Result<()>;
    /// The next event.
    fn next_event(&self) -> impl Future<Output = Self::Event> + Send + '_;
    /// Hands `event` to the connection.
    fn handle_event(
        &mut self,
        cell: H,
        event: Self::Event,
        now: Instant,
    ) -> impl Future<Output = io::Result<H>> + Send;
}

/// What woke the loop.
enum Step<E> {
    /// Everything taken so far has been written.
    Written,
    Read(usize),
    Eof,
    Timer,
    Stuck,
    Event(E),
}

/// Drives the connection in `cell` over `io` until it closes or asks for
/// TLS; gives the connection back with how it ended.
pub async fn drive<R, S, H, P>(mut cell: H, mut io: S, policy: &mut P) -> io::Result<(H, Ending<S>)>
where
    R: RuntimeIo<S>,
    S: Unpin,
    H: ConnCell<R>,
    P: Policy<R, H>,
{
    let stall_limit = policy.stall_limit(cell.conn());
    let mut out: Vec<u8> = Vec::new();
    let mut sent = 0usize;
    let mut dirty = false; // written but not flushed
    let mut buf = vec![0u8; policy.read_buf()];
    let mut eof = false;
    let mut last_write = Instant::now();
    loop {
        let now = Instant::now();
        if sent == out.len() {
            out.clear();
            sent = 0;
            cell.conn().poll_transmit(&mut out);
            policy.after_transmit(&mut out);
            if let Some(end) = policy.take_actions(cell.conn(), now, &mut out) {
                return finish::<R, S, H>(cell, io, &out, end).await;
            }
            if !out.is_empty() {
                last_write = now;
            }
        }
        let deadline = cell.conn().poll_timeout();
        if deadline.is_some_and(|d| d <= now) {
            (cell, ()) = cell.call((), move |c, _| c.handle_timeout(now)).await?;
            continue;
        }
        let want_read = !eof && cell.conn().wants_read();
        let writing = sent < out.len();
        let state = Waiting {
            eof,
            want_read,
            writing,
            dirty,
            no_deadline: deadline.is_none(),
        };
        if policy.finished(state) {
            let _ = close::<R, S>(&mut io).await;
            return Ok((cell, Ending::Closed));
        }
        let may_get_stuck = policy.may_get_stuck() && !want_read && !writing && deadline.is_none();
        let stall = writing.then(|| last_write + stall_limit);
        let wake_at = match (deadline, stall) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        let step = {
            let mut timer = pin!(wake_at.map(R::sleep_until));
            let mut event = pin!(policy.next_event());
            poll_fn(|cx| {
                let mut io = Pin::new(&mut io);
                while sent < out.len() {
                    match R::poll_write(io.as_mut(), cx, &out[sent..]) {
                        Poll::Ready(Ok(0)) => {
                            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                        }
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
                    match R::poll_flush(io.as_mut(), cx) {
                        Poll::Ready(Ok(())) => dirty = false,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                }
                if want_read {
                    match R::poll_read(io.as_mut(), cx, &mut buf) {
                        Poll::Ready(Ok(0)) => return Poll::Ready(Ok(Step::Eof)),
                        Poll::Ready(Ok(n)) => return Poll::Ready(Ok(Step::Read(n))),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                }
                if writing && sent == out.len() {
                    return Poll::Ready(Ok(Step::Written));
                }
                if let Some(timer) = timer.as_mut().as_pin_mut()
                    && timer.poll(cx).is_ready()
                {
                    return Poll::Ready(Ok(Step::Timer));
                }
                if may_get_stuck && !dirty {
                    return Poll::Ready(Ok(Step::Stuck));
                }
                if let Poll::Ready(e) = event.as_mut().poll(cx) {
                    return Poll::Ready(Ok(Step::Event(e)));
                }
                Poll::Pending
            })
            .await?
        };
        let now = Instant::now();
        match step {
            Step::Read(n) => {
                (cell, buf) = cell
                    .call(buf, move |c, b| {
                        c.handle_input(now, b.get(..n).unwrap_or_default());
                    })
                    .await?;
                policy.after_read(&mut buf, n);
            }
            Step::Eof => {
                eof = true;
                (cell, ()) = cell.call((), move |c, _| c.handle_eof(now)).await?;
            }
            Step::Event(e) => cell = policy.handle_event(cell, e, now).await?,
            Step::Timer => {
                if sent < out.len() && now >= last_write + stall_limit {
                    policy.write_stalled(cell.conn(), now)?;
                    // Unsendable; the loop now takes what comes next.
                    sent = out.len();
                }
                // The connection's own deadline is handled at the top.
            }
            Step::Stuck => policy.stuck(cell.conn(), now),
            Step::Written => {}
        }
    }
}

/// Writes the last output as `end` says and ends the loop.
async fn finish<R, S, H>(cell: H, mut io: S, out: &[u8], end: End) -> io::Result<(H, Ending<S>)>
where
    R: RuntimeIo<S>,
    S: Unpin,
    H: ConnCell<R>,
{
    match end {
        End::Tls { id, limit } => {
            within::<R, _>(limit, async {
                write_all::<R, S>(&mut io, out).await?;
                flush::<R, S>(&mut io).await
            })
            .await?;
            Ok((cell, Ending::Tls(io, id)))
        }
        End::Close { limit: None } => {
            write_all::<R, S>(&mut io, out).await?;
            flush::<R, S>(&mut io).await?;
            let _ = close::<R, S>(&mut io).await;
            Ok((cell, Ending::Closed))
        }
        End::Close { limit } => {
            let _ = within::<R, _>(limit, async {
                write_all::<R, S>(&mut io, out).await?;
                flush::<R, S>(&mut io).await?;
                close::<R, S>(&mut io).await
            })
            .await;
            Ok((cell, Ending::Closed))
        }
    }
}

/// `f`, or, with a `limit`, a timeout error after it.
pub async fn within<R: Runtime, T>(
    limit: Option<Duration>,
    f: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let Some(limit) = limit else {
        return f.await;
    };
    f.or(async {
        R::sleep_until(Instant::now() + limit).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "timeout: the server stopped reading",
        ))
    })
    .await
}

/// Writes all of `buf` (a write of 0 bytes is an error).
async fn write_all<R: RuntimeIo<S>, S: Unpin>(io: &mut S, mut buf: &[u8]) -> io::Result<()> {
    poll_fn(|cx| {
        while !buf.is_empty() {
            match R::poll_write(Pin::new(&mut *io), cx, buf) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => buf = buf.get(n..).unwrap_or_default(),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    })
    .await
}

async fn flush<R: RuntimeIo<S>, S: Unpin>(io: &mut S) -> io::Result<()> {
    poll_fn(|cx| R::poll_flush(Pin::new(&mut *io), cx)).await
}

async fn close<R: RuntimeIo<S>, S: Unpin>(io: &mut S) -> io::Result<()> {
    poll_fn(|cx| R::poll_close(Pin::new(&mut *io), cx)).await
}

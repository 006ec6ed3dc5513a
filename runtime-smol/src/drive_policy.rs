//! The two kinds of connection [`crate::drive::drive`] drives, on either
//! runtime: an inbound session ([`ServerPolicy`], its calls on the blocking
//! pool through [`OffPool`]) and the outbound SMTP client
//! ([`ClientPolicy`], its calls in place through [`Inline`]).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId};
use moxide_proto::smtp::client::ClientConn;
use smol::channel::{Receiver, Sender};

use crate::drive::{ConnCell, End, Ending, Policy, Runtime, RuntimeIo, Waiting, drive};
use crate::serve::{self, OUT_KEEP, READ_BUF_MIN, release_memory, resize_read_buf};
use crate::session::Session;

/// Drives an inbound session over `io` until it closes or asks for
/// STARTTLS (the loop of `serve::drive` on either runtime); storage
/// changes wake it through `wake`.
pub async fn drive_server<R, S, C>(
    conn: Box<C>,
    io: S,
    wake: &R::Wake,
) -> io::Result<(Box<C>, serve::Ending<S>)>
where
    R: RuntimeIo<S>,
    S: Unpin,
    C: Session + ?Sized,
{
    let mut policy = ServerPolicy::<R>::new(wake);
    let (OffPool(conn), end) = drive::<R, _, _, _>(OffPool(conn), io, &mut policy).await?;
    let end = match end {
        Ending::Closed => serve::Ending::Closed,
        Ending::Tls(s, _) => serve::Ending::StartTls(s),
    };
    Ok((conn, end))
}

/// How [`drive_client`] ended.
#[derive(Debug)]
pub enum ClientEnding<S> {
    /// The connection is done.
    Closed,
    /// The connection asked for a TLS handshake (the request to answer);
    /// everything before it has been sent.
    Handshake(S, NeedId),
}

/// Moves bytes between `io` and the outbound `conn` until it closes or
/// asks for a TLS handshake (the loop of `outbound::dial` on either
/// runtime): output is taken from the connection once the previous output
/// is written, so message data is handed out in pieces.
pub async fn drive_client<R, S>(conn: &mut ClientConn, io: S) -> io::Result<ClientEnding<S>>
where
    R: RuntimeIo<S>,
    S: Unpin,
{
    match drive::<R, _, _, _>(Inline(conn), io, &mut ClientPolicy).await? {
        (_, Ending::Closed) => Ok(ClientEnding::Closed),
        (_, Ending::Tls(s, Some(id))) => Ok(ClientEnding::Handshake(s, id)),
        // The client policy ends for TLS only with the request.
        (_, Ending::Tls(_, None)) => Err(io::Error::other("TLS without a handshake request")),
    }
}

/// A boxed connection whose input calls run on the runtime's blocking
/// pool: they may block on storage (an SMTP delivery waits for its group
/// commit's fsyncs), and the executor's threads must go on serving the
/// other connections meanwhile.
#[derive(Debug)]
pub struct OffPool<C: ?Sized>(pub Box<C>);

impl<R: Runtime, C: Conn + Send + ?Sized + 'static> ConnCell<R> for OffPool<C> {
    type Conn = C;

    fn conn(&mut self) -> &mut C {
        &mut self.0
    }

    fn call<T, F>(self, arg: T, f: F) -> impl Future<Output = io::Result<(Self, T)>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&mut C, &T) + Send + 'static,
    {
        let Self(mut conn) = self;
        async move {
            let (conn, arg) = R::unblock(move || {
                f(&mut *conn, &arg);
                (conn, arg)
            })
            .await?;
            Ok((Self(conn), arg))
        }
    }
}

/// A borrowed connection whose calls run in place (the outbound client:
/// it never blocks).
#[derive(Debug)]
pub struct Inline<'a, C: ?Sized>(pub &'a mut C);

impl<R: Runtime, C: Conn + Send + ?Sized> ConnCell<R> for Inline<'_, C> {
    type Conn = C;

    fn conn(&mut self) -> &mut C {
        self.0
    }

    fn call<T, F>(self, arg: T, f: F) -> impl Future<Output = io::Result<(Self, T)>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&mut C, &T) + Send + 'static,
    {
        f(&mut *self.0, &arg);
        std::future::ready(Ok((self, arg)))
    }
}

/// How long an inbound write may make no progress (the peer reads
/// nothing) before the connection is dropped.
const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(300);

/// An event of an inbound session.
#[derive(Debug)]
pub enum ServerEvent {
    /// Storage reported changes to the session's account.
    Notified,
    /// An answer to one of the session's requests (DNS, HTTPS).
    Answer((NeedId, Answer)),
}

/// An inbound session: an adaptive read buffer, output buffers freed after
/// large responses, DNS and HTTPS requests answered by the process's
/// resolver and client, wakes from storage; the loop ends when nothing can
/// happen any more, and a stalled write is an error.
pub struct ServerPolicy<'w, R: Runtime> {
    wake: &'w R::Wake,
    answers_tx: Sender<(NeedId, Answer)>,
    answers: Receiver<(NeedId, Answer)>,
    pending: usize,
}

impl<'w, R: Runtime> ServerPolicy<'w, R> {
    /// A policy that waits on `wake` for the session's wake callback.
    pub fn new(wake: &'w R::Wake) -> Self {
        let (answers_tx, answers) = smol::channel::unbounded();
        Self {
            wake,
            answers_tx,
            answers,
            pending: 0,
        }
    }
}

impl<R: Runtime, C: Session + ?Sized> Policy<R, OffPool<C>> for ServerPolicy<'_, R> {
    type Event = ServerEvent;

    fn read_buf(&self) -> usize {
        READ_BUF_MIN
    }

    fn after_read(&self, buf: &mut Vec<u8>, n: usize) {
        resize_read_buf(buf, n);
    }

    fn after_transmit(&self, out: &mut Vec<u8>) {
        // A large response's buffer is freed once written.
        if out.is_empty() && out.capacity() > OUT_KEEP {
            *out = Vec::new();
            release_memory();
        }
    }

    fn stall_limit(&self, _: &mut C) -> Duration {
        WRITE_STALL_TIMEOUT
    }

    /// Requests are answered on the spot: DNS by the process's resolver
    /// (`crate::dns::shared`, its driver on smol's global executor, usable
    /// from tokio too), HTTPS by `crate::https::get_shared` (its sockets
    /// and timer on async-io's reactor thread, bounded by the request's own
    /// timeout); their answers come back as events. A request no runtime
    /// answers closes the connection.
    fn take_actions(&mut self, conn: &mut C, now: Instant, out: &mut Vec<u8>) -> Option<End> {
        while let Some(action) = conn.poll_action() {
            match action {
                Action::Need(id, Need::None) => {
                    conn.handle_answer(now, id, Answer::None);
                    conn.poll_transmit(out);
                }
                Action::Need(id, Need::Dns(query)) => {
                    let (resolver, tx) = (crate::dns::shared(), self.answers_tx.clone());
                    R::spawn(async move {
                        let lookup = resolver.lookup(query).await;
                        let _ = tx.send((id, Answer::Dns(lookup))).await;
                    });
                    self.pending += 1;
                }
                Action::Need(id, Need::Https(req)) => {
                    let tx = self.answers_tx.clone();
                    R::spawn(async move {
                        let outcome = crate::https::get_shared(&req).await;
                        let _ = tx.send((id, Answer::Https(outcome))).await;
                    });
                    self.pending += 1;
                }
                Action::Need(_, need) => {
                    tracing::error!(
                        ?need,
                        "connection made a request this runtime cannot answer"
                    );
                    return Some(End::Close { limit: None });
                }
                // STARTTLS inside TLS is refused by the connection itself.
                Action::StartTls => {
                    return Some(End::Tls {
                        id: None,
                        limit: None,
                    });
                }
                _ => return Some(End::Close { limit: None }),
            }
        }
        None
    }

    fn finished(&self, s: Waiting) -> bool {
        !s.writing && !s.dirty && self.pending == 0 && (s.eof || (!s.want_read && s.no_deadline))
    }

    fn may_get_stuck(&self) -> bool {
        false
    }

    fn stuck(&mut self, _: &mut C, _: Instant) {}

    fn write_stalled(&mut self, _: &mut C, _: Instant) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "peer stopped reading",
        ))
    }

    fn next_event(&self) -> impl Future<Output = ServerEvent> + Send + '_ {
        let notified = async {
            R::notified(self.wake).await;
            ServerEvent::Notified
        };
        let answer = async {
            match self.answers.recv().await {
                Ok(answer) => ServerEvent::Answer(answer),
                // Never: the policy keeps a sender.
                Err(_) => std::future::pending().await,
            }
        };
        notified.or(answer)
    }

    async fn handle_event(
        &mut self,
        mut cell: OffPool<C>,
        event: ServerEvent,
        now: Instant,
    ) -> io::Result<OffPool<C>> {
        match event {
            ServerEvent::Notified => {
                cell.0.handle_changes(now);
                Ok(cell)
            }
            ServerEvent::Answer((id, answer)) => {
                self.pending = self.pending.saturating_sub(1);
                let call = ConnCell::<R>::call(cell, (), move |c, _| {
                    c.handle_answer(now, id, answer);
                });
                Ok(call.await?.0)
            }
        }
    }
}

/// Read buffer of an outbound connection (replies are small).
const CLIENT_READ_BUF: usize = 4 * 1024;

/// The outbound SMTP client: a fixed read buffer; a TLS handshake request
/// ends the loop after the output before it is written within the command
/// timeout, and the close writes the last bytes (QUIT, TLS close_notify)
/// within the quit timeout (the outcome is decided; they may not wait on a
/// server that stopped reading). A write without progress for
/// `timeouts.data_block` and a connection that waits for nothing are
/// network errors of the connection.
#[derive(Debug, Default)]
pub struct ClientPolicy;

impl<'a, R: Runtime> Policy<R, Inline<'a, ClientConn>> for ClientPolicy {
    type Event = Infallible;

    fn read_buf(&self) -> usize {
        CLIENT_READ_BUF
    }

    fn after_read(&self, _: &mut Vec<u8>, _: usize) {}

    fn after_transmit(&self, _: &mut Vec<u8>) {}

    fn stall_limit(&self, conn: &mut ClientConn) -> Duration {
        conn.config().timeouts.data_block
    }

    fn take_actions(
        &mut self,
        conn: &mut ClientConn,
        now: Instant,
        _: &mut Vec<u8>,
    ) -> Option<End> {
        while let Some(action) = conn.poll_action() {
            match action {
                Action::Need(id, Need::TlsHandshake) => {
                    let limit = Some(conn.config().timeouts.command);
                    return Some(End::Tls {
                        id: Some(id),
                        limit,
                    });
                }
                Action::Close => {
                    let limit = Some(conn.config().timeouts.quit);
                    return Some(End::Close { limit });
                }
                other => {
                    let detail = format!("request this runtime cannot answer: {other:?}");
                    conn.network_error(now, detail);
                }
            }
        }
        None
    }

    fn finished(&self, _: Waiting) -> bool {
        false
    }

    fn may_get_stuck(&self) -> bool {
        true
    }

    fn stuck(&mut self, conn: &mut ClientConn, now: Instant) {
        conn.network_error(now, "the connection waits for nothing");
    }

    fn write_stalled(&mut self, conn: &mut ClientConn, now: Instant) -> io::Result<()> {
        // The loop then drops the unsendable output and takes the Close.
        conn.network_error(now, "timeout: the server stopped reading");
        Ok(())
    }

    fn next_event(&self) -> impl Future<Output = Infallible> + Send + '_ {
        std::future::pending()
    }

    async fn handle_event(
        &mut self,
        _: Inline<'a, ClientConn>,
        event: Infallible,
        _: Instant,
    ) -> io::Result<Inline<'a, ClientConn>> {
        match event {}
    }
}

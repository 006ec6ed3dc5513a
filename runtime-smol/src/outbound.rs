//! Outbound SMTP on smol: connects to a server, drives a sans-IO
//! [`ClientConn`] over the socket, and performs the TLS handshakes it asks
//! for (STARTTLS, or implicit TLS before the greeting) with the verifier of
//! its TLS policy ([`crate::tls_client`]).

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use futures_lite::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use futures_lite::{FutureExt, future};
use futures_rustls::TlsConnector;
use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId};
use moxide_proto::smtp::client::ClientConn;
use rustls::RootCertStore;

use crate::tls_client::{ClientTls, tls_info};

/// Read buffer per connection (replies are small).
const READ_BUF: usize = 4 * 1024;

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
    let (stream, id) = match drive(conn, stream).await {
        Ok(Ending::Closed) => return,
        Ok(Ending::Handshake(s, id)) => (s, id),
        Err(e) => return conn.network_error(Instant::now(), e.to_string()),
    };
    let tls = match handshake(conn, stream, id, addr, roots).await {
        Some(tls) => tls,
        None => return drain(conn),
    };
    match drive(conn, tls).await {
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

/// `f`, or a timeout error after `limit`.
async fn within<T>(limit: Duration, f: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    f.or(async {
        Timer::after(limit).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "timeout: the server stopped reading",
        ))
    })
    .await
}

/// How [`drive`] ended.
enum Ending<S> {
    Closed,
    /// The connection asked for a TLS handshake; everything before it has
    /// been sent.
    Handshake(S, NeedId),
}

enum Step {
    Written,
    Read(usize),
    Eof,
    Timer,
    /// Nothing can happen any more (no read wanted, no timer).
    Stuck,
}

/// Moves bytes between `io` and `conn` until it closes or asks for TLS.
/// Reads and writes race; output is taken from the connection once the
/// previous output is written (message data is handed out in pieces); a
/// write without progress for `timeouts.data_block` ends the connection.
async fn drive<S>(conn: &mut ClientConn, mut io: S) -> io::Result<Ending<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stall_limit = conn.config().timeouts.data_block;
    let mut out: Vec<u8> = Vec::new();
    let mut sent = 0usize;
    let mut dirty = false;
    let mut buf = vec![0u8; READ_BUF];
    let mut eof = false;
    let mut last_write = Instant::now();
    loop {
        let now = Instant::now();
        if sent == out.len() {
            out.clear();
            sent = 0;
            conn.poll_transmit(&mut out);
            while let Some(action) = conn.poll_action() {
                match action {
                    Action::Need(id, Need::TlsHandshake) => {
                        let limit = conn.config().timeouts.command;
                        within(limit, async {
                            io.write_all(&out).await?;
                            io.flush().await
                        })
                        .await?;
                        return Ok(Ending::Handshake(io, id));
                    }
                    Action::Close => {
                        // The outcome is decided; the last bytes (QUIT,
                        // TLS close_notify) may not wait on a server that
                        // stopped reading (data TLS buffered is flushed
                        // here).
                        let limit = conn.config().timeouts.quit;
                        let _ = within(limit, async {
                            io.write_all(&out).await?;
                            io.flush().await?;
                            io.close().await
                        })
                        .await;
                        return Ok(Ending::Closed);
                    }
                    other => {
                        let detail = format!("request this runtime cannot answer: {other:?}");
                        conn.network_error(now, detail);
                    }
                }
            }
            if !out.is_empty() {
                last_write = now;
            }
        }
        let deadline = conn.poll_timeout();
        if deadline.is_some_and(|d| d <= now) {
            conn.handle_timeout(now);
            continue;
        }
        let want_read = !eof && conn.wants_read();
        let writing = sent < out.len();
        let stall = writing.then(|| last_write + stall_limit);
        let mut timer = pin!(match (deadline, stall) {
            (Some(d), Some(s)) => Timer::at(d.min(s)),
            (Some(t), None) | (None, Some(t)) => Timer::at(t),
            (None, None) => Timer::never(),
        });
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
            if !want_read && !writing && !dirty && deadline.is_none() {
                return Poll::Ready(Ok(Step::Stuck));
            }
            Poll::Pending
        })
        .await?;
        let now = Instant::now();
        match step {
            Step::Read(n) => conn.handle_input(now, buf.get(..n).unwrap_or_default()),
            Step::Eof => {
                eof = true;
                conn.handle_eof(now);
            }
            Step::Timer => {
                if sent < out.len() && now >= last_write + stall_limit {
                    conn.network_error(now, "timeout: the server stopped reading");
                    // Unsendable; the loop now takes the connection's Close.
                    sent = out.len();
                }
            }
            Step::Stuck => conn.network_error(now, "the connection waits for nothing"),
            Step::Written => {}
        }
    }
}

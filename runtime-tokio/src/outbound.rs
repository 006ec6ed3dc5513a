//! Outbound SMTP on tokio: the same as `moxide::outbound` (connect, drive
//! a sans-IO [`ClientConn`], TLS handshakes with the verifier of its
//! policy from `moxide::tls_client`) with tokio's sockets, timers and
//! tokio-rustls. Keep the two in step.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use moxide::outbound::sasl_nonce;
use moxide::tls_client::{ClientTls, RootCertStore, tls_info};
use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId};
use moxide_proto::smtp::client::ClientConn;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Read buffer per connection (replies are small).
const READ_BUF: usize = 4 * 1024;

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
    let (stream, id) = match drive(conn, stream).await {
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
    match drive(conn, tls).await {
        Ok(Ending::Closed) => {}
        Ok(Ending::Handshake(..)) => conn.network_error(Instant::now(), "TLS requested inside TLS"),
        Err(e) => conn.network_error(Instant::now(), e.to_string()),
    }
}

/// `f`, or a timeout error after `limit`.
async fn within<T>(limit: Duration, f: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(limit, f).await.unwrap_or_else(|_| {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "timeout: the server stopped reading",
        ))
    })
}

enum Ending<S> {
    Closed,
    Handshake(S, NeedId),
}

enum Step {
    Written,
    Read(usize),
    Eof,
    Timer,
    Stuck,
}

/// Moves bytes between `io` and `conn` until it closes or asks for TLS;
/// as `moxide::outbound`'s loop.
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
                        // As moxide::outbound: the last bytes may not wait
                        // on a server that stopped reading.
                        let limit = conn.config().timeouts.quit;
                        let _ = within(limit, async {
                            io.write_all(&out).await?;
                            io.flush().await?;
                            io.shutdown().await
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
                    sent = out.len();
                }
            }
            Step::Stuck => conn.network_error(now, "the connection waits for nothing"),
            Step::Written => {}
        }
    }
}

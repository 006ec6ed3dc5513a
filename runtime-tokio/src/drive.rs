//! tokio as a [`moxide::drive::Runtime`]: the drive loop of the `moxide`
//! crate (`moxide::drive::drive`, shared by inbound sessions and the
//! outbound client) with tokio's sockets, timers, tasks and blocking pool.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use moxide::drive::{Runtime, RuntimeIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The tokio runtime the current task runs on.
#[derive(Debug)]
pub struct Tokio;

impl Runtime for Tokio {
    type Sleep = tokio::time::Sleep;
    // notify_one keeps a permit when nobody waits: no wake-up is lost.
    type Wake = Notify;

    fn sleep_until(at: Instant) -> Self::Sleep {
        tokio::time::sleep_until(at.into())
    }

    fn notified(wake: &Notify) -> impl Future<Output = ()> + Send + '_ {
        wake.notified()
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }

    async fn unblock<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
        match tokio::task::spawn_blocking(f).await {
            Ok(v) => Ok(v),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(io::Error::other(format!("session call cancelled: {e}"))),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> RuntimeIo<S> for Tokio {
    fn poll_read(io: Pin<&mut S>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        match AsyncRead::poll_read(io, cx, &mut rb) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write(io: Pin<&mut S>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(io, cx, buf)
    }

    fn poll_flush(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(io, cx)
    }

    fn poll_close(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_shutdown(io, cx)
    }
}

//! The queue runner on tokio: the same as `moxide::queue_runner` (read
//! its documentation for the contract) with tokio's tasks, timers,
//! blocking pool (`spawn_blocking`) and dialer
//! ([`crate::outbound::dial`], tokio-rustls). The loop itself is the
//! runtime-independent `moxide::queue_drive::run_loop`; DNS lookups
//! (`moxide::dns::shared`) and MTA-STS fetches (`moxide::https`) are the
//! smol crate's futures, which run on any executor (their I/O is driven
//! by async-io's reactor thread), as the tokio server's DNS already is.
//!
//! ```ignore
//! let runner = moxide_tokio::queue_runner::spawn(queue.clone(), cfg); // inside a tokio runtime
//! // ... serve ...
//! runner.stop().await;
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide::queue_drive::channel::{self, Sender};
use moxide::queue_drive::{RunnerRuntime, run_loop};
use moxide_engine::queue::Queue;
use moxide_proto::smtp::client::ClientConn;
use tokio::task::JoinHandle;

pub use moxide::queue_drive::{CONNECT_TIMEOUT, RunnerConfig, STOP_GRACE};
pub use moxide::tls_client::{RootCertStore, TlsClientRoots};

/// A running queue runner; stop it with [`QueueRunner::stop`]. Dropping
/// it cancels the loop and its attempts at once (nothing is lost: every
/// attempt is recorded before it starts and retried later).
#[derive(Debug)]
pub struct QueueRunner {
    stop: Sender<()>,
    task: Option<JoinHandle<()>>,
}

impl QueueRunner {
    /// Stops the runner: no new attempts; running ones get
    /// [`STOP_GRACE`] to finish. Returns when the loop has ended.
    pub async fn stop(mut self) {
        self.stop.close();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for QueueRunner {
    fn drop(&mut self) {
        self.stop.close();
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Starts delivering `queue`'s messages with `cfg` on the current tokio
/// runtime (panics outside one, as `tokio::spawn` does); replaces the
/// queue's notify.
pub fn spawn(queue: Arc<Queue>, cfg: RunnerConfig) -> QueueRunner {
    let (stop, stop_rx) = channel::bounded(1);
    let (wake, wake_rx) = channel::bounded(1);
    queue.set_notify(Box::new(move || {
        // Full means a wake-up is pending already.
        let _ = wake.try_send(());
    }));
    let task = tokio::spawn(run_loop(Arc::new(Tokio), queue, cfg, stop_rx, wake_rx));
    QueueRunner {
        stop,
        task: Some(task),
    }
}

/// The tokio side of the runner.
struct Tokio;

/// A tokio task that is aborted when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl RunnerRuntime for Tokio {
    type Task = AbortOnDrop;

    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) -> AbortOnDrop {
        AbortOnDrop(tokio::spawn(fut))
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        match tokio::task::spawn_blocking(f).await {
            Ok(v) => v,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down: this task ends with it.
            Err(_) => std::future::pending().await,
        }
    }

    async fn sleep_until(&self, at: Instant) {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }

    async fn dial(
        &self,
        addr: SocketAddr,
        timeout: Duration,
        conn: ClientConn,
        roots: Arc<RootCertStore>,
    ) -> (ClientConn, Option<io::Error>) {
        crate::outbound::dial(addr, timeout, conn, &roots).await
    }
}

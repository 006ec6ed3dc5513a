//! The queue runner on smol: delivers what is queued in a
//! [`Queue`](moxide_engine::queue::Queue), as its sans-IO scheduler says.
//!
//! One call starts it (what `moxide serve` does):
//!
//! ```ignore
//! let mut cfg = RunnerConfig::new(DeliveryConfig::new("mail.example.com"));
//! cfg.transport_for = Arc::new(move |job| routes.transport_for(job)); // default: Direct on 25
//! cfg.tls = TlsClientRoots::with_extra_pem(&ca_pem)?;              // default: webpki-roots
//! let runner = moxide::queue_runner::spawn(queue.clone(), cfg);
//! // ... serve ...
//! runner.stop().await;
//! ```
//!
//! [`spawn`] sets the queue's notify (a message queued wakes the runner at
//! once) and runs the loop of [`crate::queue_drive::run_loop`] on smol's
//! global executor: a timer for the scheduler's `poll_timeout` (wall-clock
//! unix seconds), each job it hands out as a task of its own that drives a
//! delivery `Attempt` (DNS through [`crate::dns::shared`], MTA-STS policy
//! fetches through [`crate::https`], connections through
//! [`crate::outbound::dial`] within the per-host limit), then records the
//! attempt's TLS results and MTA-STS cache update and books the result
//! (DSNs, removal, next attempt). Store commits run on the blocking pool
//! (`crate::blocking_pool::unblock`).
//!
//! [`QueueRunner::stop`] stops taking jobs and gives running attempts
//! [`STOP_GRACE`] to finish (their results are booked); dropping the
//! runner, or the end of the grace period, abandons running attempts.
//! Nothing is lost either way: every attempt is recorded durably before
//! it starts, and an abandoned one is retried at the next attempt time the
//! scheduler set (7.5 minutes after a first attempt).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moxide_engine::queue::Queue;
use moxide_proto::smtp::client::ClientConn;
use rustls::RootCertStore;
use smol::Task;
use smol::channel::Sender;

pub use crate::queue_drive::{CONNECT_TIMEOUT, RunnerConfig, STOP_GRACE};
use crate::queue_drive::{RunnerRuntime, run_loop};
pub use crate::tls_client::TlsClientRoots;

/// A running queue runner; see the module documentation.
#[derive(Debug)]
pub struct QueueRunner {
    stop: Sender<()>,
    task: Option<Task<()>>,
}

impl QueueRunner {
    /// Stops the runner: no new attempts; running ones get
    /// [`STOP_GRACE`] to finish. Returns when the loop has ended.
    pub async fn stop(mut self) {
        self.stop.close();
        if let Some(t) = self.task.take() {
            t.await;
        }
    }
}

impl Drop for QueueRunner {
    /// Cancels the loop and its attempts at once (see the module
    /// documentation for why nothing is lost).
    fn drop(&mut self) {
        self.stop.close();
    }
}

/// Starts delivering `queue`'s messages with `cfg`; replaces the queue's
/// notify.
pub fn spawn(queue: Arc<Queue>, cfg: RunnerConfig) -> QueueRunner {
    let (stop, stop_rx) = smol::channel::bounded(1);
    let (wake, wake_rx) = smol::channel::bounded(1);
    queue.set_notify(Box::new(move || {
        // Full means a wake-up is pending already.
        let _ = wake.try_send(());
    }));
    let task = smol::spawn(run_loop(Arc::new(Smol), queue, cfg, stop_rx, wake_rx));
    QueueRunner {
        stop,
        task: Some(task),
    }
}

/// The smol side of the runner.
struct Smol;

impl RunnerRuntime for Smol {
    type Task = Task<()>;

    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) -> Task<()> {
        smol::spawn(fut)
    }

    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = T> + Send {
        crate::blocking_pool::unblock(f)
    }

    async fn sleep_until(&self, at: Instant) {
        async_io::Timer::at(at).await;
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

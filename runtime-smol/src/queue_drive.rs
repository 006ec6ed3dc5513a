//! The runtime-independent part of the queue runner: the loop around the
//! sans-IO [`Scheduler`] and the drive of one delivery [`Attempt`]. Both
//! runtimes' runners (`moxide::queue_runner`, `moxide_tokio::queue_runner`)
//! run [`run_loop`] with their own [`RunnerRuntime`]: how to spawn a task,
//! run a blocking call, sleep and dial. DNS goes through the process's
//! resolver ([`crate::dns::shared`]) and HTTPS through [`crate::https`];
//! both work from any executor.
//!
//! Time: the scheduler takes wall-clock unix seconds (the queue outlives
//! the process), connections and attempts take `Instant`s; both are read
//! here, never in the engine. Every store call that commits (the
//! scheduler's `handle_timeout`/`handle_result`, the MTA-STS cache, TLS
//! results) runs on the runtime's blocking pool.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_lite::FutureExt;
use futures_lite::future;
use moxide_engine::delivery::{Attempt, AttemptPoll, DeliveryConfig, Transport};
use moxide_engine::queue::{Job, JobResult, Queue, QueueId, Scheduler};
use moxide_proto::conn::{Answer, HttpsError, Need, NeedId};
use moxide_proto::smtp::client::ClientConn;
use moxide_storage::Store;
use rustls::RootCertStore;
use smol::channel::{Receiver, Sender};

use crate::host_slots::HostSlots;
use crate::https::HttpsTls;
use crate::tls_client::TlsClientRoots;

/// The channels [`run_loop`] takes (async-channel: they work on any
/// executor).
pub use smol::channel;

/// How long a TCP connection to a mail server may take (as mox).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`run_loop`] waits, once told to stop, for running attempts
/// to finish and be booked before it abandons them.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// The longest the loop sleeps without looking at the clock again, so a
/// wall-clock step (NTP) delays a due attempt by at most this.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// What the runner needs from an async runtime.
pub trait RunnerRuntime: Send + Sync + 'static {
    /// A spawned task; dropping it cancels the task.
    type Task: Send + 'static;

    /// Runs `fut` as a task of its own.
    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) -> Self::Task;

    /// Runs `f` on the blocking thread pool. Once started it runs to its
    /// end even if the returned future is dropped.
    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = T> + Send;

    /// Completes at `at`.
    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send;

    /// `outbound::dial` of the runtime: connects within `timeout` and
    /// drives `conn` to its end.
    fn dial(
        &self,
        addr: SocketAddr,
        timeout: Duration,
        conn: ClientConn,
        roots: Arc<RootCertStore>,
    ) -> impl Future<Output = (ClientConn, Option<io::Error>)> + Send;
}

/// How the runner delivers; see `moxide::queue_runner` for the contract.
#[derive(Clone)]
pub struct RunnerConfig {
    /// EHLO name, address policy, TLS switches, SMTP timeouts.
    pub delivery: DeliveryConfig,
    /// The transport for a job (serve maps its config routes here; the
    /// default, [`RunnerConfig::new`], is direct delivery on port 25).
    pub transport_for: Arc<dyn Fn(&Job) -> Transport + Send + Sync>,
    /// The roots of PKIX verification: SMTP (MTA-STS, REQUIRETLS) and the
    /// MTA-STS policy fetch over HTTPS.
    pub tls: TlsClientRoots,
    /// Connections at once to one host (at least 1).
    pub max_per_host: usize,
    /// Test-only: fetch MTA-STS policies from this port instead of 443
    /// (RFC 8461 3.3 fixes the URL); `moxide serve` sets it from
    /// `MOXIDE_MTASTS_PORT` so tests can serve a policy on loopback.
    pub mtasts_port: Option<u16>,
}

impl std::fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("delivery", &self.delivery)
            .field("tls", &self.tls)
            .field("max_per_host", &self.max_per_host)
            .finish_non_exhaustive()
    }
}

impl RunnerConfig {
    /// Direct delivery on port 25 with `delivery`, the `webpki-roots`
    /// set, 2 connections per host.
    pub fn new(delivery: DeliveryConfig) -> RunnerConfig {
        RunnerConfig {
            delivery,
            transport_for: Arc::new(|_| Transport::default()),
            tls: TlsClientRoots::webpki(),
            max_per_host: 2,
            mtasts_port: None,
        }
    }
}

/// `url` (`https://host/path`) with `port` after the host; other URLs
/// unchanged.
fn url_with_port(url: &str, port: u16) -> String {
    match url.strip_prefix("https://") {
        Some(rest) => {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if host.contains(':') {
                url.to_string()
            } else {
                format!("https://{host}:{port}{path}")
            }
        }
        None => url.to_string(),
    }
}

/// What every attempt of one runner shares.
struct Shared {
    cfg: RunnerConfig,
    hosts: HostSlots,
    store: Arc<Store>,
    /// The HTTPS client's TLS for MTA-STS fetches (the same roots as
    /// SMTP), or why it could not be set up (each fetch then fails with
    /// it and the attempt goes on as without a policy, RFC 8461 5).
    https: Result<HttpsTls, HttpsError>,
}

/// The wall clock in unix seconds (0 before 1970, which does not happen).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The `Instant` at which the wall clock shows unix second `at`, no later
/// than [`MAX_SLEEP`] from now.
fn instant_of(at: i64) -> Instant {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let target = Duration::from_secs(u64::try_from(at).unwrap_or(0));
    Instant::now() + target.saturating_sub(now).min(MAX_SLEEP)
}

/// A seed from the OS RNG (it only orders MX hosts of equal preference;
/// the clock stands in if the RNG fails).
fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    match getrandom::fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    }
}

/// What wakes the loop.
enum Event {
    Stop,
    Wake,
    Done(QueueId, JobResult),
    Timer,
}

/// The scheduler loop of `queue`: runs attempts as the scheduler hands
/// them out until `stop` closes (or receives), then waits up to
/// [`STOP_GRACE`] for running attempts and books their results; the
/// others are abandoned (cancelled). An abandoned attempt was recorded
/// before it started, so its entry is retried at the next attempt time
/// the scheduler set. `wake` is signalled by the queue's notify.
pub async fn run_loop<R: RunnerRuntime>(
    rt: Arc<R>,
    queue: Arc<Queue>,
    cfg: RunnerConfig,
    stop: Receiver<()>,
    wake: Receiver<()>,
) {
    let shared = Arc::new(Shared {
        hosts: HostSlots::new(cfg.max_per_host),
        store: Arc::clone(queue.store()),
        https: HttpsTls::with_extra_roots(cfg.tls.extra()),
        cfg,
    });
    let (done_tx, done_rx) = smol::channel::unbounded::<(QueueId, JobResult)>();
    let mut sched = Scheduler::new(Arc::clone(&queue));
    let mut running: HashMap<QueueId, R::Task> = HashMap::new();
    let mut look = true;
    loop {
        let now = unix_now();
        if look || sched.poll_timeout().is_some_and(|t| t <= now) {
            look = false;
            sched = rt
                .blocking(move || {
                    sched.handle_timeout(now);
                    sched
                })
                .await;
        }
        while let Some(job) = sched.poll_action() {
            let id = job.id;
            let task = start_job(&rt, &shared, &done_tx, job);
            running.insert(id, task);
        }
        let timer = sched.poll_timeout().map(instant_of);
        let event = future::or(
            async {
                // A message or the sender's end closing: both mean stop.
                let _ = stop.recv().await;
                Event::Stop
            },
            future::or(
                async {
                    match wake.recv().await {
                        Ok(()) => Event::Wake,
                        // The queue's notify was replaced: no more wake-ups.
                        Err(_) => future::pending().await,
                    }
                },
                future::or(
                    async {
                        match done_rx.recv().await {
                            Ok((id, r)) => Event::Done(id, r),
                            Err(_) => Event::Stop,
                        }
                    },
                    async {
                        match timer {
                            Some(t) => rt.sleep_until(t).await,
                            None => future::pending::<()>().await,
                        }
                        Event::Timer
                    },
                ),
            ),
        )
        .await;
        match event {
            Event::Stop => break,
            Event::Wake => look = true,
            Event::Timer => {}
            Event::Done(id, result) => {
                running.remove(&id);
                sched = book(&*rt, sched, id, result).await;
            }
        }
    }
    // Shutting down: no new attempts; the running ones get a grace period.
    let deadline = Instant::now() + STOP_GRACE;
    while !running.is_empty() {
        let done = future::or(async { done_rx.recv().await.ok() }, async {
            rt.sleep_until(deadline).await;
            None
        })
        .await;
        let Some((id, result)) = done else { break };
        running.remove(&id);
        sched = book(&*rt, sched, id, result).await;
    }
    if !running.is_empty() {
        let ids: Vec<QueueId> = running.keys().copied().collect();
        tracing::warn!(
            ?ids,
            "queue runner stopped: abandoning running attempts (retried at their next attempt time)"
        );
    }
}

/// Books a finished job on the blocking pool.
async fn book<R: RunnerRuntime>(
    rt: &R,
    mut sched: Scheduler,
    id: QueueId,
    result: JobResult,
) -> Scheduler {
    rt.blocking(move || {
        sched.handle_result(unix_now(), id, result);
        sched
    })
    .await
}

fn start_job<R: RunnerRuntime>(
    rt: &Arc<R>,
    shared: &Arc<Shared>,
    done: &Sender<(QueueId, JobResult)>,
    job: Job,
) -> R::Task {
    let (rt2, shared, done) = (Arc::clone(rt), Arc::clone(shared), done.clone());
    rt.spawn(async move {
        let id = job.id;
        let fallback = job.clone();
        // A panic (a bug) must not leave the entry "running" for the rest
        // of the process: it becomes a temporary failure, retried later.
        let result = AssertUnwindSafe(run_job(&*rt2, &shared, job))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                tracing::error!(id, "delivery attempt panicked");
                JobResult::all_temporary(&fallback, "internal error: delivery attempt failed")
            });
        let _ = done.send((id, result)).await;
    })
}

/// Runs one delivery attempt of `job` to its result; records its TLS
/// results and MTA-STS cache update.
async fn run_job<R: RunnerRuntime>(rt: &R, shared: &Shared, job: Job) -> JobResult {
    let transport = (shared.cfg.transport_for)(&job);
    let domain = job.domain.trim_end_matches('.').to_ascii_lowercase();
    let cached = if matches!(transport, Transport::Direct { .. }) && shared.cfg.delivery.tls.pkix {
        let (store, d) = (Arc::clone(&shared.store), domain.clone());
        match rt
            .blocking(move || moxide_engine::mtasts::load_cached(&store, &d))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(%domain, error = %e, "MTA-STS: reading the policy cache failed");
                None
            }
        }
    } else {
        None
    };
    let fallback = job.clone();
    let mut attempt = Attempt::new(
        job,
        transport,
        shared.cfg.delivery.clone(),
        unix_now(),
        cached,
        random_seed(),
    );
    let (tx, rx) = smol::channel::unbounded::<(NeedId, Answer)>();
    let mut outstanding = 0usize;
    // Lookups still running when the attempt ends are cancelled with these.
    let mut tasks: Vec<R::Task> = Vec::new();
    let result = loop {
        match attempt.poll(Instant::now()) {
            AttemptPoll::Done(r) => break r,
            AttemptPoll::Need(id, Need::Dns(q)) => {
                let tx = tx.clone();
                tasks.push(rt.spawn(async move {
                    let lookup = crate::dns::shared().lookup(q).await;
                    let _ = tx.send((id, Answer::Dns(lookup))).await;
                }));
                outstanding += 1;
            }
            AttemptPoll::Need(id, Need::Https(mut req)) => {
                if let Some(port) = shared.cfg.mtasts_port {
                    req.url = url_with_port(&req.url, port);
                }
                let (tx, https) = (tx.clone(), shared.https.clone());
                tasks.push(rt.spawn(async move {
                    let outcome = match https {
                        Ok(tls) => crate::https::get(&req, &tls).await,
                        Err(e) => Err(e),
                    };
                    let _ = tx.send((id, Answer::Https(outcome))).await;
                }));
                outstanding += 1;
            }
            AttemptPoll::Need(id, need) => {
                // Not asked by attempts; the wrong answer fails the request.
                tracing::error!(
                    ?need,
                    "delivery attempt made a request the runner cannot answer"
                );
                attempt.handle_answer(Instant::now(), id, Answer::None);
            }
            AttemptPoll::Connect {
                id,
                addr,
                host,
                conn,
                tls: _,
            } => {
                let permit = shared.hosts.acquire(&host).await;
                let roots = Arc::clone(shared.cfg.tls.roots());
                let (conn, err) = rt.dial(addr, CONNECT_TIMEOUT, *conn, roots).await;
                drop(permit);
                if let Some(e) = err {
                    tracing::info!(%host, %addr, error = %e, "delivery: connecting failed");
                }
                attempt.handle_connection(Instant::now(), id, conn);
            }
            AttemptPoll::Pending => {
                let deadline = attempt.deadline();
                if outstanding == 0 && deadline.is_none() {
                    // The attempt waits for nothing: a bug; do not hang the
                    // entry (it stays queued and is retried).
                    tracing::error!(
                        id = fallback.id,
                        "delivery attempt pending with nothing to wait for"
                    );
                    break JobResult::all_temporary(
                        &fallback,
                        "internal error: delivery attempt stalled",
                    );
                }
                let answer = future::or(async { rx.recv().await.ok() }, async {
                    match deadline {
                        Some(d) => rt.sleep_until(d).await,
                        None => future::pending::<()>().await,
                    }
                    None
                })
                .await;
                if let Some((id, answer)) = answer {
                    outstanding = outstanding.saturating_sub(1);
                    attempt.handle_answer(Instant::now(), id, answer);
                }
            }
        }
    };
    drop(tasks);
    let attempt = Arc::new(attempt);
    let (a, store) = (Arc::clone(&attempt), Arc::clone(&shared.store));
    if let Err(e) = rt.blocking(move || a.store_results(&store)).await {
        tracing::warn!(id = fallback.id, error = %e, "delivery: storing TLS results failed");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_port_goes_after_the_host() {
        assert_eq!(
            url_with_port("https://mta-sts.b.test/.well-known/mta-sts.txt", 8443),
            "https://mta-sts.b.test:8443/.well-known/mta-sts.txt"
        );
        assert_eq!(url_with_port("https://h.test", 1), "https://h.test:1");
        assert_eq!(url_with_port("https://h.test:9/x", 1), "https://h.test:9/x");
        assert_eq!(url_with_port("http://h.test/x", 1), "http://h.test/x");
    }

    #[test]
    fn wake_up_instants_are_now_for_the_past_and_capped_for_the_future() {
        let before = Instant::now();
        // Due long ago (the scheduler's first wake is i64::MIN): now.
        assert!(instant_of(i64::MIN) <= Instant::now());
        assert!(instant_of(0) <= Instant::now());
        // An hour ahead: no more than MAX_SLEEP from now.
        let far = instant_of(unix_now() + 3600);
        assert!(far >= before + MAX_SLEEP - Duration::from_secs(1));
        assert!(far <= Instant::now() + MAX_SLEEP);
        // Ten seconds ahead: about ten seconds (the clock's sub-second
        // part counts).
        let near = instant_of(unix_now() + 10);
        assert!(
            near > before + Duration::from_secs(8),
            "{:?}",
            near - before
        );
        assert!(near <= Instant::now() + Duration::from_secs(10));
    }
}

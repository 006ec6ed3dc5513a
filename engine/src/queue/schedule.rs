//! The sans-IO queue scheduler (DESIGN.md "Schedulers"): it decides which
//! entry gets a delivery attempt when, within the concurrency limits, and
//! books the results. It reads no clock and does no network I/O; storage
//! is a function call.
//!
//! # Calling contract
//!
//! ```text
//! loop {
//!     while let Some(job) = s.poll_action() { start job (delivery) }
//!     sleep until s.poll_timeout() (unix seconds; None = until woken),
//!         or until a job finished, or the queue's notify fired
//!     a job finished:       s.handle_result(now, job.id, result)
//!     timeout or notified:  s.handle_timeout(now)
//! }
//! ```
//!
//! `now` is wall-clock unix seconds (the queue outlives the process). A
//! spurious or early `handle_timeout` is harmless. Every attempt is
//! recorded durably (attempt count, last attempt, next attempt per
//! [`super::RetryPolicy`]) before its job is handed out, so a crash during
//! delivery does not lead to a burst of retries.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use moxide_storage::{QueueChange, QueueFilter, QueueId, RcptState};

use super::outcome::{apply_result, send_failure_dsns};
use super::{Job, JobResult, Queue};

/// How many delivery attempts may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per recipient domain.
    pub per_domain: usize,
    /// In total.
    pub total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_domain: 1,
            total: 10,
        }
    }
}

/// How long to wait before looking again after a storage error.
const STORE_ERROR_BACKOFF: i64 = 60;

/// The scheduler of one [`Queue`]; see the module documentation.
#[derive(Debug)]
pub struct Scheduler {
    queue: Arc<Queue>,
    /// Entries with a job out, and their domain.
    running: BTreeMap<QueueId, String>,
    ready: VecDeque<Job>,
    /// When to look at the queue next.
    wake: Option<i64>,
}

impl Scheduler {
    /// A scheduler that looks at the queue at the first `handle_timeout`.
    pub fn new(queue: Arc<Queue>) -> Scheduler {
        Scheduler {
            queue,
            running: BTreeMap::new(),
            ready: VecDeque::new(),
            wake: Some(i64::MIN),
        }
    }

    /// When [`Scheduler::handle_timeout`] should be called next (unix
    /// seconds; in the past means now). `None`: nothing is due until a job
    /// finishes or the queue changes.
    pub fn poll_timeout(&self) -> Option<i64> {
        self.wake
    }

    /// The next job to run, if any.
    pub fn poll_action(&mut self) -> Option<Job> {
        self.ready.pop_front()
    }

    /// Jobs handed out and not finished.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Looks at the queue at `now`: starts attempts that are due (as far
    /// as the limits allow), retries undelivered DSNs, and sets the next
    /// wake-up time.
    pub fn handle_timeout(&mut self, now: i64) {
        if let Err(e) = self.scan(now) {
            tracing::error!(error = %e, "queue scheduler: reading the queue failed");
            self.wake = Some(now.saturating_add(STORE_ERROR_BACKOFF));
        }
    }

    fn scan(&mut self, now: i64) -> Result<(), moxide_storage::StoreError> {
        let limits = self.queue.config().limits;
        let entries = self.queue.store().queue_list(&QueueFilter::default())?;
        let mut wake: Option<i64> = None;
        for e in entries {
            if e.hold || self.running.contains_key(&e.id) {
                continue;
            }
            let has_pending = e.pending().next().is_some();
            let dsn_owed = e
                .recipients
                .iter()
                .any(|r| r.state == RcptState::Failed && !r.dsn_done);
            if !has_pending && !dsn_owed {
                continue;
            }
            if e.next_attempt > now {
                wake = Some(wake.map_or(e.next_attempt, |w| w.min(e.next_attempt)));
                continue;
            }
            if !has_pending {
                // Only a DSN is left to deliver.
                self.retry_dsn(now, e.id)?;
                continue;
            }
            let in_domain = self.running.values().filter(|d| **d == e.domain).count();
            if self.running.len() >= limits.total || in_domain >= limits.per_domain {
                // Due, but waits for a running job to finish.
                continue;
            }
            if let Some(next) = self.dispatch(now, e.id)? {
                wake = Some(wake.map_or(next, |w| w.min(next)));
            }
        }
        self.wake = wake;
        Ok(())
    }

    /// Records the attempt durably, then queues its job. When the job
    /// cannot be made, returns the entry's next attempt time.
    fn dispatch(
        &mut self,
        now: i64,
        id: QueueId,
    ) -> Result<Option<i64>, moxide_storage::StoreError> {
        let retry = self.queue.config().retry;
        let f = QueueFilter {
            ids: vec![id],
            ..QueueFilter::default()
        };
        let changed = self.queue.store().queue_modify(&f, |e| {
            e.attempts = e.attempts.saturating_add(1);
            e.last_attempt = Some(now);
            e.next_attempt = retry.next_attempt(e.created, now, e.attempts);
            QueueChange::Update
        })?;
        let Some((e, _)) = changed.into_iter().next() else {
            return Ok(None);
        };
        match self.queue.job_for(&e) {
            Ok(job) => {
                tracing::info!(id, domain = %e.domain, attempt = e.attempts, "queue: delivery attempt");
                self.running.insert(id, e.domain.clone());
                self.ready.push_back(job);
            }
            Err(err) => {
                // The message file is missing or unreadable: the attempt
                // fails temporarily; the entry stays listed (and fails at
                // the end of the schedule with a DSN).
                tracing::error!(id, error = %err, "queue: reading the message failed");
                let detail = format!("reading the queued message failed: {err}");
                let result = JobResult {
                    recipients: Vec::new(),
                    remote_mta: None,
                    error: Some(detail),
                };
                self.book(now, id, &result)?;
                return Ok(Some(e.next_attempt));
            }
        }
        Ok(None)
    }

    fn retry_dsn(&mut self, now: i64, id: QueueId) -> Result<(), moxide_storage::StoreError> {
        let f = QueueFilter {
            ids: vec![id],
            ..QueueFilter::default()
        };
        let q = self.queue.clone();
        q.store()
            .queue_modify(&f, |e| send_failure_dsns(&q, e, now, None))?;
        Ok(())
    }

    fn book(
        &mut self,
        now: i64,
        id: QueueId,
        result: &JobResult,
    ) -> Result<(), moxide_storage::StoreError> {
        let f = QueueFilter {
            ids: vec![id],
            ..QueueFilter::default()
        };
        let q = self.queue.clone();
        let changed = q
            .store()
            .queue_modify(&f, |e| apply_result(&q, e, result, now))?;
        for (e, change) in changed {
            let delivered = e
                .recipients
                .iter()
                .filter(|r| r.state == RcptState::Delivered)
                .count();
            tracing::info!(
                id,
                domain = %e.domain,
                delivered,
                removed = change == QueueChange::Remove,
                next_attempt = e.next_attempt,
                last_error = e.last_error.as_deref().unwrap_or(""),
                "queue: attempt booked"
            );
        }
        Ok(())
    }

    /// A job finished at `now` with `result`: books it (recipient states,
    /// DSNs, removal when done) and looks at the queue again right away
    /// (a job of the same domain may be waiting). A result for an entry
    /// that is gone (dropped meanwhile) is ignored.
    pub fn handle_result(&mut self, now: i64, id: QueueId, result: JobResult) {
        self.running.remove(&id);
        if let Err(e) = self.book(now, id, &result) {
            // The attempt stays recorded with its next attempt time; the
            // recipients are retried then.
            tracing::error!(id, error = %e, "queue scheduler: booking a result failed");
        }
        self.wake = Some(now);
    }
}

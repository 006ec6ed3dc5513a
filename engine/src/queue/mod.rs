//! The outgoing queue: submitted messages for other domains wait here,
//! durably, until delivered, given up (failure DSN to the sender) or
//! removed by the admin.
//!
//! - [`Queue`]: adding ([`Queue::add`], one entry per recipient domain,
//!   one shared file, durable before it returns) and the admin operations
//!   of `moxide queue` (list, hold, unhold, schedule, drop_entries, fail, dump).
//! - [`Scheduler`] ([`schedule`]): the sans-IO retry scheduler a runtime
//!   drives; it hands out [`Job`]s and takes [`JobResult`]s.
//! - [`retry`]: the schedule (7.5 minutes doubling, delay DSN after the 5th
//!   attempt, failure after 5 days); [`outcome`]: applying a result;
//!   [`dsn`]: the DSN messages; [`listing`]: the admin's view.
//!
//! DSNs go into the sender account's Inbox through the local delivery
//! path ([`crate::smtp::deliver::deliver`]); they are never queued, so
//! there is no DSN about a DSN and none for the null sender.

pub mod dsn;
mod job;
pub mod listing;
mod outcome;
pub mod retry;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use moxide_proto::smtp::Body;
use moxide_storage::{NewQueueEntry, QueueChange, QueueEntry, RcptState, Store, StoreError};

pub use job::{Job, JobResult, RcptResult, body_for};
pub use moxide_storage::{QueueEntry as Entry, QueueFilter as Filter, QueueId};
pub use retry::RetryPolicy;
pub use schedule::{Limits, Scheduler};

/// Queue settings.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Our host name: Reporting-MTA of DSNs, which come from
    /// `postmaster@` it.
    pub hostname: String,
    /// Retry schedule.
    pub retry: RetryPolicy,
    /// Concurrency of delivery attempts.
    pub limits: Limits,
}

impl QueueConfig {
    /// Defaults (mox's schedule, 1 attempt per domain, 10 in total).
    pub fn new(hostname: &str) -> QueueConfig {
        QueueConfig {
            hostname: hostname.to_string(),
            retry: RetryPolicy::default(),
            limits: Limits::default(),
        }
    }
}

/// What to queue.
#[derive(Debug, Clone)]
pub struct NewOutgoing<'a> {
    /// The submitting account (DSNs go there); `None` for mail the server
    /// makes itself.
    pub sender_account: Option<String>,
    /// MAIL FROM; empty for `<>`.
    pub mail_from: String,
    /// The recipients, `local@domain`; grouped by domain into entries.
    pub recipients: Vec<String>,
    /// Header lines sent before the message (Received, DKIM-Signature).
    pub prefix: Vec<u8>,
    /// The message as submitted.
    pub message: &'a [u8],
    /// The message needs SMTPUTF8.
    pub smtputf8: bool,
    /// The body type ([`body_for`]).
    pub body: moxide_storage::QueueBody,
    /// REQUIRETLS / `TLS-Required: No` / policy ([`Entry::requiretls`]).
    pub requiretls: Option<bool>,
    /// A named transport.
    pub transport: Option<String>,
}

/// Errors of queue operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A recipient has no domain part.
    #[error("recipient {0:?} has no domain")]
    BadRecipient(String),
    /// Nothing to queue.
    #[error("no recipients")]
    NoRecipients,
    /// No entry with this id.
    #[error("no queue entry with id {0}")]
    NotFound(QueueId),
}

/// Called after something was queued or rescheduled, so the runtime's
/// scheduler loop wakes up and calls [`Scheduler::handle_timeout`].
pub type Notify = Box<dyn Fn() + Send + Sync>;

/// The outgoing queue on a store. Share one per process (`Arc<Queue>`).
pub struct Queue {
    store: Arc<Store>,
    config: QueueConfig,
    notify: Mutex<Option<Notify>>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The domain of an address (after the last `@`), lower case.
fn domain_of(address: &str) -> Option<String> {
    let (_, d) = address.rsplit_once('@')?;
    let d = moxide_storage::canonical_domain(d);
    (!d.is_empty()).then_some(d)
}

impl Queue {
    /// The queue of `store`; removes files a crash left between writing and
    /// committing.
    pub fn new(store: Arc<Store>, config: QueueConfig) -> Result<Queue, QueueError> {
        let n = store.queue_cleanup()?;
        if n > 0 {
            tracing::info!(files = n, "queue: removed files of uncommitted submissions");
        }
        Ok(Queue {
            store,
            config,
            notify: Mutex::new(None),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Sets the function called when work was added (replaces any).
    pub fn set_notify(&self, f: Notify) {
        *self.notify.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
    }

    fn notify(&self) {
        if let Some(f) = self
            .notify
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            f();
        }
    }

    /// Queues a message: one entry per recipient domain (in order of first
    /// appearance), one shared file, all durable in one commit before this
    /// returns; the first attempt is due at `now_unix`.
    pub fn add(&self, now_unix: i64, msg: NewOutgoing<'_>) -> Result<Vec<QueueId>, QueueError> {
        if msg.recipients.is_empty() {
            return Err(QueueError::NoRecipients);
        }
        let mut order: Vec<String> = Vec::new();
        let mut by_domain: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &msg.recipients {
            let d = domain_of(r).ok_or_else(|| QueueError::BadRecipient(r.clone()))?;
            let list = by_domain.entry(d.clone()).or_default();
            if list.is_empty() {
                order.push(d);
            }
            if !list.iter().any(|x| x.eq_ignore_ascii_case(r)) {
                list.push(r.clone());
            }
        }
        let entries: Vec<NewQueueEntry> = order
            .iter()
            .map(|d| NewQueueEntry {
                sender_account: msg.sender_account.clone(),
                mail_from: msg.mail_from.clone(),
                domain: d.clone(),
                recipients: by_domain.remove(d).unwrap_or_default(),
                prefix: msg.prefix.clone(),
                smtputf8: msg.smtputf8,
                body: msg.body,
                requiretls: msg.requiretls,
                transport: msg.transport.clone(),
                hold: false,
            })
            .collect();
        let added = self.store.queue_add(now_unix, msg.message, &entries)?;
        for e in &added {
            tracing::info!(id = e.id, domain = %e.domain, from = %e.mail_from, rcpts = e.recipients.len(), size = e.size, "queued");
        }
        self.notify();
        Ok(added.into_iter().map(|e| e.id).collect())
    }

    /// The entries passing `f`, by id.
    pub fn list(&self, f: &Filter) -> Result<Vec<Entry>, QueueError> {
        Ok(self.store.queue_list(f)?)
    }

    /// Puts matching entries on hold; returns those that changed.
    pub fn hold(&self, f: &Filter) -> Result<Vec<Entry>, QueueError> {
        self.set_hold(f, true)
    }

    /// Releases matching entries from hold; returns those that changed.
    /// Their next attempt stays as it was (now if it is past).
    pub fn unhold(&self, f: &Filter) -> Result<Vec<Entry>, QueueError> {
        let r = self.set_hold(f, false)?;
        self.notify();
        Ok(r)
    }

    fn set_hold(&self, f: &Filter, hold: bool) -> Result<Vec<Entry>, QueueError> {
        let changed = self.store.queue_modify(f, |e| {
            if e.hold == hold {
                return QueueChange::Keep;
            }
            e.hold = hold;
            QueueChange::Update
        })?;
        Ok(changed.into_iter().map(|(e, _)| e).collect())
    }

    /// Sets the next attempt of matching entries to `at` (unix seconds).
    pub fn schedule(&self, f: &Filter, at: i64) -> Result<Vec<Entry>, QueueError> {
        let changed = self.store.queue_modify(f, |e| {
            e.next_attempt = at;
            QueueChange::Update
        })?;
        self.notify();
        Ok(changed.into_iter().map(|(e, _)| e).collect())
    }

    /// Removes matching entries without any DSN; returns them.
    pub fn drop_entries(&self, f: &Filter) -> Result<Vec<Entry>, QueueError> {
        let changed = self.store.queue_modify(f, |_| QueueChange::Remove)?;
        for (e, _) in &changed {
            tracing::info!(id = e.id, domain = %e.domain, "queue entry dropped by admin");
        }
        Ok(changed.into_iter().map(|(e, _)| e).collect())
    }

    /// Gives up on matching entries now: every pending recipient fails,
    /// the sender gets a failure DSN, the entries are removed (kept when
    /// the DSN cannot be delivered yet, so it is retried). Returns the
    /// entries as they were before.
    pub fn fail(&self, now_unix: i64, f: &Filter) -> Result<Vec<Entry>, QueueError> {
        let mut before = Vec::new();
        self.store.queue_modify(f, |e| {
            before.push(e.clone());
            for r in e.recipients.iter_mut() {
                if r.state == RcptState::Pending {
                    r.state = RcptState::Failed;
                    r.dsn_done = false;
                    if r.last_error.is_none() {
                        r.last_error = Some("delivery given up by the administrator".into());
                    }
                }
            }
            e.last_error = Some("delivery given up by the administrator".into());
            outcome::send_failure_dsns(self, e, now_unix, None)
        })?;
        Ok(before)
    }

    /// The message of entry `id` as it would be sent: prefix + file.
    pub fn dump(&self, id: QueueId) -> Result<Vec<u8>, QueueError> {
        let e = self.store.queue_get(id)?.ok_or(QueueError::NotFound(id))?;
        Ok(self.store.queue_message(&e)?)
    }

    /// The job for entry `e`'s pending recipients, attempt `attempt`. A
    /// missing or unreadable file is an error (the attempt fails
    /// temporarily, so the entry stays visible and eventually fails).
    pub(crate) fn job_for(&self, e: &QueueEntry) -> Result<Job, StoreError> {
        let message = self.store.queue_message(e)?;
        Ok(Job {
            id: e.id,
            domain: e.domain.clone(),
            mail_from: e.mail_from.clone(),
            recipients: e.pending().map(|r| r.address.clone()).collect(),
            message: Arc::from(message),
            smtputf8: e.smtputf8,
            body: job::body_of(e.body),
            requiretls: e.requiretls,
            transport: e.transport.clone(),
            attempt: e.attempts,
        })
    }
}

/// `BODY=` for a queue entry's body type.
pub fn body_param(b: moxide_storage::QueueBody) -> Body {
    job::body_of(b)
}

#[cfg(test)]
mod tests;

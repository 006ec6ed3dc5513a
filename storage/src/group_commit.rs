//! Group commit for deliveries ([`Account::deliver_grouped`]): the
//! deliveries to one account that arrive while a commit is in progress are
//! stored together by the next commit.
//!
//! Leader and followers: a caller queues its message; if no commit of the
//! account's queue is running it becomes the leader, takes the account's
//! writer lock, then takes every queued message (its own and those that
//! arrived meanwhile) and stores them with one transaction: one pass of
//! file writes whose files and bucket directories are synced in parallel,
//! one fjall commit. Followers wait on a condition variable until the
//! leader has published their result, which happens only after the commit
//! is durable (or failed). After publishing, the leader steps down and a
//! waiting caller with a queued message becomes the next leader.
//!
//! Errors: a refusal of one message (its mailbox is gone, its account is
//! over quota with it) fails that message only and it is left out of the
//! batch. A failure of the shared work (staging the records, writing or
//! syncing a file, the commit) fails every message of the batch, and none
//! of them is stored: the transaction is dropped and removes the files it
//! wrote.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, PoisonError};

use crate::account::Account;
use crate::error::{Result, StoreError};
use crate::message::{Added, NewMessage, Prepared, prepare};
use crate::store::lock;
use crate::txn::Txn;

/// The per-account queue of deliveries waiting for a group commit.
#[derive(Default)]
pub(crate) struct GroupQueue {
    state: Mutex<QueueState>,
    /// Signalled when a leader has published results and stepped down.
    published: Condvar,
}

#[derive(Default)]
struct QueueState {
    next_ticket: u64,
    /// Queued messages, in arrival order.
    pending: Vec<Request>,
    /// A leader is committing.
    leader: bool,
    /// Results not yet taken by their callers, by ticket.
    results: HashMap<u64, Result<Added>>,
}

/// One queued delivery. The message bytes are owned: the leader's thread
/// writes them while the caller waits.
struct Request {
    ticket: u64,
    mailbox: u32,
    data: Vec<u8>,
    /// The message without its data (`data` is empty).
    meta: NewMessage<'static>,
    /// Taken when the message is staged.
    prepared: Option<Prepared>,
}

impl Account {
    /// Deliver one message to a mailbox in a group commit: stored by one
    /// transaction together with the other deliveries to this account that
    /// arrive while a commit is in progress (see the module documentation).
    /// Durable on return, like [`Account::deliver`]. A refusal of this
    /// message alone (no such mailbox, over quota) fails only it; when the
    /// shared work fails (file write or sync, the commit) every message of
    /// the batch gets an error and none is stored.
    pub fn deliver_grouped(&self, mailbox: u32, msg: &NewMessage<'_>) -> Result<Added> {
        // Parsed on the caller's thread, in parallel with other callers.
        let prepared = prepare(msg)?;
        let q = &self.shared.group;
        let mut st = lock(&q.state);
        let ticket = st.next_ticket;
        st.next_ticket = st.next_ticket.wrapping_add(1);
        st.pending.push(Request {
            ticket,
            mailbox,
            data: msg.data.to_vec(),
            meta: NewMessage {
                data: &[],
                prefix: msg.prefix.clone(),
                flags: msg.flags,
                keywords: msg.keywords.clone(),
                received: msg.received,
                received_tz: msg.received_tz,
                saved: msg.saved,
            },
            prepared: Some(prepared),
        });
        loop {
            if let Some(r) = st.results.remove(&ticket) {
                return r;
            }
            if !st.leader {
                break;
            }
            st = q.published.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        st.leader = true;
        drop(st);
        let mut lead = Leadership {
            queue: q,
            tickets: Vec::new(),
            done: false,
        };
        let txn = Txn::begin(self);
        // Taken under the writer lock: what queued while we waited for it
        // joins this commit.
        let mut batch = std::mem::take(&mut lock(&q.state).pending);
        lead.tickets = batch.iter().map(|r| r.ticket).collect();
        let results = self.commit_batch(txn, &mut batch);
        drop(batch);
        lead.publish(results);
        lock(&q.state)
            .results
            .remove(&ticket)
            .unwrap_or_else(|| Err(StoreError::corrupt("group commit lost a result")))
    }

    /// Stores the members of a batch that pass their own checks in one
    /// commit; returns each member's (ticket, result). On a shared failure
    /// every member that passed gets the error and nothing is committed.
    fn commit_batch(&self, mut txn: Txn<'_>, batch: &mut [Request]) -> Vec<(u64, Result<Added>)> {
        let mut results: Vec<Option<Result<Added>>> = batch.iter().map(|_| None).collect();
        let mut accepted = Vec::with_capacity(batch.len());
        let mut extra = 0u64;
        let limit = self.quota_limit();
        for (i, r) in batch.iter().enumerate() {
            let size = r.prepared.as_ref().map_or(0, |p| p.size);
            let check = txn.live_mailbox(r.mailbox).and_then(|_| match &limit {
                Ok(l) => member_quota(txn.state.disk_usage, extra, size, *l),
                Err(e) => Err(share_error(e, &self.store.dir)),
            });
            match check {
                Ok(()) => {
                    extra = extra.saturating_add(size);
                    accepted.push(i);
                }
                Err(e) => {
                    if let Some(slot) = results.get_mut(i) {
                        *slot = Some(Err(e));
                    }
                }
            }
        }
        if !accepted.is_empty() {
            let shared = self
                .stage_and_write(&mut txn, batch, &accepted)
                .and_then(|added| txn.commit().map(|_| added));
            match shared {
                Ok(added) => {
                    for (i, a) in added {
                        if let Some(slot) = results.get_mut(i) {
                            *slot = Some(Ok(a));
                        }
                    }
                }
                Err(e) => {
                    for slot in results.iter_mut().filter(|s| s.is_none()) {
                        *slot = Some(Err(share_error(&e, &self.store.dir)));
                    }
                }
            }
        }
        batch
            .iter()
            .zip(results)
            .map(|(r, res)| {
                let res = res
                    .unwrap_or_else(|| Err(StoreError::corrupt("group member without a result")));
                (r.ticket, res)
            })
            .collect()
    }

    /// Stages the accepted members (by mailbox in order of first
    /// appearance, in arrival order within a mailbox) and writes all their
    /// files in one pass. Returns (member index, result) pairs.
    fn stage_and_write(
        &self,
        txn: &mut Txn<'_>,
        batch: &mut [Request],
        accepted: &[usize],
    ) -> Result<Vec<(usize, Added)>> {
        let mut mailboxes: Vec<u32> = Vec::new();
        for r in accepted.iter().filter_map(|&i| batch.get(i)) {
            if !mailboxes.contains(&r.mailbox) {
                mailboxes.push(r.mailbox);
            }
        }
        let mut out = Vec::with_capacity(accepted.len());
        // (msg id, member index): ids ascend, as write_files wants them.
        let mut ids: Vec<(u64, usize)> = Vec::with_capacity(accepted.len());
        for mb in mailboxes {
            let members: Vec<usize> = accepted
                .iter()
                .copied()
                .filter(|&i| batch.get(i).is_some_and(|r| r.mailbox == mb))
                .collect();
            let prepared = members
                .iter()
                .map(|&i| batch.get_mut(i).and_then(|r| r.prepared.take()))
                .collect::<Option<Vec<Prepared>>>()
                .ok_or_else(|| StoreError::corrupt("group member staged twice"))?;
            let msgs: Vec<NewMessage<'_>> = members
                .iter()
                .filter_map(|&i| batch.get(i))
                .map(|r| NewMessage {
                    data: &r.data,
                    ..r.meta.clone()
                })
                .collect();
            let (added, first) = self.stage_add(txn, mb, &msgs, prepared)?;
            for (k, (&i, a)) in members.iter().zip(added).enumerate() {
                out.push((i, a));
                ids.push((first.saturating_add(k as u64), i));
            }
        }
        let files: Vec<(u64, &[u8])> = ids
            .iter()
            .filter_map(|&(id, i)| batch.get(i).map(|r| (id, r.data.as_slice())))
            .collect();
        crate::files::write_files(&self.store.dir, self.shared.id, &files)?;
        txn.written = ids.iter().map(|(id, _)| *id).collect();
        Ok(out)
    }
}

/// Refuses a member that would take the account over its quota, counting
/// the members accepted before it in this batch (`extra` bytes).
fn member_quota(usage: u64, extra: u64, size: u64, limit: Option<u64>) -> Result<()> {
    let Some(limit) = limit else { return Ok(()) };
    let usage = usage.saturating_add(extra);
    if usage.saturating_add(size) > limit {
        return Err(StoreError::OverQuota {
            limit,
            usage,
            needed: size,
        });
    }
    Ok(())
}

/// The error of a shared failure, for each member of the batch (storage
/// errors are not `Clone`; the I/O error keeps its kind and text).
fn share_error(e: &StoreError, dir: &std::path::Path) -> StoreError {
    match e {
        StoreError::Io { op, path, source } => StoreError::Io {
            op,
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        StoreError::Exhausted(what) => StoreError::Exhausted(what),
        StoreError::Corrupt { what } => StoreError::Corrupt { what: what.clone() },
        StoreError::NoSuchMailbox(name) => StoreError::NoSuchMailbox(name.clone()),
        other => StoreError::Io {
            op: "group commit",
            path: PathBuf::from(dir).join("db"),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

/// The leader's duty: publish a result for every member it took and step
/// down, also when it unwinds (then the members get an error), so
/// followers never wait forever.
struct Leadership<'a> {
    queue: &'a GroupQueue,
    tickets: Vec<u64>,
    /// Stepped down already: another caller may lead now.
    done: bool,
}

impl Leadership<'_> {
    fn publish(&mut self, results: Vec<(u64, Result<Added>)>) {
        let mut st = lock(&self.queue.state);
        for (ticket, r) in results {
            st.results.insert(ticket, r);
        }
        self.tickets.clear();
        st.leader = false;
        self.done = true;
        drop(st);
        self.queue.published.notify_all();
    }
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut st = lock(&self.queue.state);
        for t in self.tickets.drain(..) {
            st.results
                .entry(t)
                .or_insert_with(|| Err(StoreError::corrupt("group commit leader failed")));
        }
        st.leader = false;
        drop(st);
        self.queue.published.notify_all();
    }
}

#[cfg(test)]
#[path = "group_commit_tests.rs"]
mod tests;

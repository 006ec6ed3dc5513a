//! The outgoing queue: one entry per (submitted message, recipient domain),
//! with per-recipient state, retry bookkeeping and the message file.
//!
//! - Entries live in `meta` under `Q` id; ids come from the `J` counter
//!   (monotonic, first id 1) and are never reused.
//! - The message is one immutable file `queue/<file id>` shared by the
//!   entries made from one submission (the file id is the id of the first
//!   of them); the `q` file-id entry-id index says who still needs it, and
//!   the file is removed after the commit that removes its last entry.
//!   The prefix (Received, DKIM-Signature) is in each entry's record, not
//!   in the file: size = prefix + file.
//! - [`Store::queue_add`] writes and fsyncs the file, then commits all the
//!   entries in one durable batch; only then may a server say "queued".
//! - Changes go through [`Store::queue_modify`], one durable batch per
//!   call; writers are serialised by one lock per process.
//!
//! Times are unix seconds passed in by the caller.

use std::sync::Mutex;

use fjall::PersistMode;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::keys;
use crate::queue_files;
use crate::records;
use crate::store::{Store, lock};

/// Id of a queue entry.
pub type QueueId = u64;

/// Serialises queue writers (read-modify-write of entries and the id
/// counter). One store per process, so one lock per process suffices.
pub(crate) static QUEUE_WRITE: Mutex<()> = Mutex::new(());

/// The body type the message needs from the next hop (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueBody {
    /// ASCII only.
    SevenBit,
    /// 8-bit bytes in the message: `BODY=8BITMIME`.
    EightBitMime,
    /// Binary content: `BODY=BINARYMIME` with BDAT.
    BinaryMime,
}

/// Delivery state of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RcptState {
    /// Not delivered yet; attempts go on.
    Pending,
    /// Accepted by the next hop.
    Delivered,
    /// Given up (permanent error, expiry or admin `fail`).
    Failed,
}

/// One recipient of a queue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRecipient {
    /// The address as given in RCPT TO.
    pub address: String,
    /// Its state.
    pub state: RcptState,
    /// The error of its last failed attempt.
    pub last_error: Option<String>,
    /// For a failed recipient: the failure DSN was delivered (or none is
    /// owed). An entry stays until every failed recipient has it.
    pub dsn_done: bool,
}

/// A queue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// Its id.
    pub id: QueueId,
    /// The id naming its message file (`queue/<file_id>`).
    pub file_id: u64,
    /// The account that submitted it; DSNs go there. `None` for mail the
    /// server itself made.
    pub sender_account: Option<String>,
    /// MAIL FROM; empty for the null sender `<>`.
    pub mail_from: String,
    /// The recipient domain (lower case) all recipients share.
    pub domain: String,
    /// The recipients with their state.
    pub recipients: Vec<QueueRecipient>,
    /// Header lines sent before the file's bytes.
    pub prefix: Vec<u8>,
    /// Prefix plus file, in bytes.
    pub size: u64,
    /// The message needs SMTPUTF8.
    pub smtputf8: bool,
    /// The body type.
    pub body: QueueBody,
    /// `Some(true)`: REQUIRETLS (RFC 8689); `Some(false)`: the message had
    /// `TLS-Required: No`; `None`: the domain's policy applies.
    pub requiretls: Option<bool>,
    /// A named transport instead of direct delivery.
    pub transport: Option<String>,
    /// When it was queued.
    pub created: i64,
    /// Delivery attempts started so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt: i64,
    /// When the last attempt started.
    pub last_attempt: Option<i64>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// On hold: no attempts until released.
    pub hold: bool,
    /// The delay DSN (RFC 3464 "delayed") was sent.
    pub delay_dsn_sent: bool,
}

impl QueueEntry {
    /// The recipients still waiting for delivery.
    pub fn pending(&self) -> impl Iterator<Item = &QueueRecipient> {
        self.recipients
            .iter()
            .filter(|r| r.state == RcptState::Pending)
    }

    /// Nothing is left to do: no recipient pending, every failure's DSN
    /// done.
    pub fn finished(&self) -> bool {
        self.recipients.iter().all(|r| {
            r.state == RcptState::Delivered || (r.state == RcptState::Failed && r.dsn_done)
        })
    }
}

/// What to queue for one recipient domain.
#[derive(Debug, Clone)]
pub struct NewQueueEntry {
    /// See [`QueueEntry::sender_account`].
    pub sender_account: Option<String>,
    /// MAIL FROM, empty for `<>`.
    pub mail_from: String,
    /// The recipient domain, lower case.
    pub domain: String,
    /// The recipients (all in `domain`).
    pub recipients: Vec<String>,
    /// Header lines before the file's bytes.
    pub prefix: Vec<u8>,
    /// See [`QueueEntry::smtputf8`].
    pub smtputf8: bool,
    /// See [`QueueEntry::body`].
    pub body: QueueBody,
    /// See [`QueueEntry::requiretls`].
    pub requiretls: Option<bool>,
    /// See [`QueueEntry::transport`].
    pub transport: Option<String>,
    /// Start on hold.
    pub hold: bool,
}

/// Which entries an operation concerns; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only these ids (when not empty).
    pub ids: Vec<QueueId>,
    /// Only this recipient domain (any case, trailing dot allowed).
    pub domain: Option<String>,
    /// Only entries on hold (`true`) or not (`false`).
    pub hold: Option<bool>,
}

impl QueueFilter {
    /// Whether `e` passes the filter.
    pub fn matches(&self, e: &QueueEntry) -> bool {
        (self.ids.is_empty() || self.ids.contains(&e.id))
            && self
                .domain
                .as_deref()
                .is_none_or(|d| canonical_domain(d) == e.domain)
            && self.hold.is_none_or(|h| h == e.hold)
    }
}

/// A domain as entries store it: lower case, no trailing dot.
pub fn canonical_domain(d: &str) -> String {
    d.trim_end_matches('.').to_ascii_lowercase()
}

/// What [`Store::queue_modify`] does with an entry after the closure saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueChange {
    /// Leave it as it was (changes made by the closure are discarded).
    Keep,
    /// Store the changed entry.
    Update,
    /// Remove the entry (its file too, when no other entry needs it).
    Remove,
}

impl Store {
    /// Queues `message` (the file) for each of `entries` in one durable
    /// commit, after writing and fsyncing the file; returns the new
    /// entries, first attempt due at `now`. Nothing remains on error.
    pub fn queue_add(
        &self,
        now: i64,
        message: &[u8],
        entries: &[NewQueueEntry],
    ) -> Result<Vec<QueueEntry>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let size_file = u64::try_from(message.len()).map_err(|_| StoreError::Exhausted("size"))?;
        let _w = lock(&QUEUE_WRITE);
        let meta = &self.inner.ks.meta;
        let first = self.queue_next_id()?;
        let count = u64::try_from(entries.len()).map_err(|_| StoreError::Exhausted("queue id"))?;
        let next = first
            .checked_add(count)
            .ok_or(StoreError::Exhausted("queue id"))?;
        let root = &self.inner.dir;
        queue_files::write(root, first, message)?;
        let mut out = Vec::with_capacity(entries.len());
        let mut b = self.inner.db.batch();
        for (id, n) in (first..next).zip(entries) {
            let e = QueueEntry {
                id,
                file_id: first,
                sender_account: n.sender_account.clone(),
                mail_from: n.mail_from.clone(),
                domain: canonical_domain(&n.domain),
                recipients: n
                    .recipients
                    .iter()
                    .map(|a| QueueRecipient {
                        address: a.clone(),
                        state: RcptState::Pending,
                        last_error: None,
                        dsn_done: false,
                    })
                    .collect(),
                prefix: n.prefix.clone(),
                size: (n.prefix.len() as u64).saturating_add(size_file),
                smtputf8: n.smtputf8,
                body: n.body,
                requiretls: n.requiretls,
                transport: n.transport.clone(),
                created: now,
                attempts: 0,
                next_attempt: now,
                last_attempt: None,
                last_error: None,
                hold: n.hold,
                delay_dsn_sent: false,
            };
            b.insert(meta, keys::queue_entry(id), records::encode(&e)?);
            b.insert(meta, keys::queue_file(first, id), Vec::new());
            out.push(e);
        }
        b.insert(meta, keys::queue_next(), next.to_be_bytes().to_vec());
        if let Err(e) = b.durability(Some(PersistMode::SyncAll)).commit() {
            let _ = queue_files::remove(root, first);
            return Err(e.into());
        }
        Ok(out)
    }

    fn queue_next_id(&self) -> Result<u64> {
        Ok(match self.inner.ks.meta.get(keys::queue_next())? {
            None => 1,
            Some(v) => {
                keys::be_u64(&v, 0).ok_or_else(|| StoreError::corrupt("queue id counter"))?
            }
        })
    }

    /// One entry.
    pub fn queue_get(&self, id: QueueId) -> Result<Option<QueueEntry>> {
        match self.inner.ks.meta.get(keys::queue_entry(id))? {
            None => Ok(None),
            Some(v) => records::decode(&v, || format!("queue entry {id}")).map(Some),
        }
    }

    /// The entries passing `filter`, by id.
    pub fn queue_list(&self, filter: &QueueFilter) -> Result<Vec<QueueEntry>> {
        let mut out = Vec::new();
        if !filter.ids.is_empty() {
            let mut ids = filter.ids.clone();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                if let Some(e) = self.queue_get(id)?
                    && filter.matches(&e)
                {
                    out.push(e);
                }
            }
            return Ok(out);
        }
        for kv in self.inner.ks.meta.prefix([keys::TAG_QUEUE]) {
            let (k, v) = kv.into_inner()?;
            let e: QueueEntry = records::decode(&v, || format!("queue entry key {k:?}"))?;
            if filter.matches(&e) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Calls `f` on every entry passing `filter` and applies what it
    /// returns, all in one durable commit (files no longer needed are
    /// removed after it). Returns the entries that changed, as stored (as
    /// they were, for removed ones), with the change. Writers wait.
    pub fn queue_modify(
        &self,
        filter: &QueueFilter,
        mut f: impl FnMut(&mut QueueEntry) -> QueueChange,
    ) -> Result<Vec<(QueueEntry, QueueChange)>> {
        let _w = lock(&QUEUE_WRITE);
        let meta = &self.inner.ks.meta;
        let mut changed = Vec::new();
        let mut b = self.inner.db.batch();
        for e in self.queue_list(filter)? {
            let mut m = e.clone();
            match f(&mut m) {
                QueueChange::Keep => {}
                QueueChange::Update => {
                    // Identity fields are not the closure's to change.
                    m.id = e.id;
                    m.file_id = e.file_id;
                    b.insert(meta, keys::queue_entry(m.id), records::encode(&m)?);
                    changed.push((m, QueueChange::Update));
                }
                QueueChange::Remove => {
                    b.remove(meta, keys::queue_entry(e.id));
                    b.remove(meta, keys::queue_file(e.file_id, e.id));
                    changed.push((e, QueueChange::Remove));
                }
            }
        }
        if changed.is_empty() {
            return Ok(changed);
        }
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        let mut files: Vec<u64> = changed
            .iter()
            .filter(|(_, c)| *c == QueueChange::Remove)
            .map(|(e, _)| e.file_id)
            .collect();
        files.sort_unstable();
        files.dedup();
        for file_id in files {
            if meta
                .prefix(keys::queue_file_prefix(file_id))
                .next()
                .is_none()
            {
                // The commit is done; a file that cannot be removed now is
                // reported by the consistency check ("belongs to no entry").
                let _ = queue_files::remove(&self.inner.dir, file_id);
            }
        }
        Ok(changed)
    }

    /// The message of an entry: its prefix followed by the file.
    pub fn queue_message(&self, e: &QueueEntry) -> Result<Vec<u8>> {
        let file = queue_files::read(&self.inner.dir, e.file_id)?;
        let mut out = Vec::with_capacity(e.prefix.len().saturating_add(file.len()));
        out.extend_from_slice(&e.prefix);
        out.extend_from_slice(&file);
        Ok(out)
    }

    /// Whether the entry's message file exists.
    pub fn queue_file_exists(&self, e: &QueueEntry) -> Result<bool> {
        Ok(queue_files::size(&self.inner.dir, e.file_id)?.is_some())
    }

    /// Removes queue files left by a crash between writing a file and
    /// committing its entries (ids from the next id on); call at start,
    /// before anything is queued. Returns how many were removed.
    pub fn queue_cleanup(&self) -> Result<usize> {
        let _w = lock(&QUEUE_WRITE);
        let next = self.queue_next_id()?;
        let mut n = 0;
        for f in queue_files::list(&self.inner.dir)? {
            if let Ok(id) = f
                && id >= next
            {
                queue_files::remove(&self.inner.dir, id)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The queue's consistency: records decode under their key, the file
    /// index matches the entries, every entry's file exists with size =
    /// prefix + file, no file without an entry. One line per problem.
    pub fn check_queue(&self) -> Result<Vec<String>> {
        let meta = &self.inner.ks.meta;
        let root = &self.inner.dir;
        let mut p = Vec::new();
        let next = self.queue_next_id()?;
        let mut files = std::collections::BTreeSet::new();
        for kv in meta.prefix([keys::TAG_QUEUE]) {
            let (k, v) = kv.into_inner()?;
            let Some(id) = keys::be_u64(&k, 1) else {
                p.push(format!("queue: malformed entry key {k:?}"));
                continue;
            };
            let e: QueueEntry = match records::decode(&v, || format!("queue entry {id}")) {
                Ok(e) => e,
                Err(err) => {
                    p.push(format!("queue: {err}"));
                    continue;
                }
            };
            if e.id != id {
                p.push(format!("queue entry {id}: record says id {}", e.id));
            }
            if id >= next {
                p.push(format!("queue entry {id}: id not below the next id {next}"));
            }
            if meta.get(keys::queue_file(e.file_id, id))?.is_none() {
                p.push(format!("queue entry {id}: missing from the file index"));
            }
            files.insert(e.file_id);
            match queue_files::size(root, e.file_id)? {
                None => p.push(format!(
                    "queue entry {id}: message file {} is missing",
                    queue_files::path(root, e.file_id).display()
                )),
                Some(n) => {
                    let want = (e.prefix.len() as u64).saturating_add(n);
                    if want != e.size {
                        p.push(format!(
                            "queue entry {id}: size {} but prefix + file is {want}",
                            e.size
                        ));
                    }
                }
            }
        }
        for kv in meta.prefix([keys::TAG_QUEUE_FILE]) {
            let k = kv.key()?;
            let (Some(file_id), Some(id)) = (keys::be_u64(&k, 1), keys::be_u64(&k, 9)) else {
                p.push(format!("queue: malformed file index key {k:?}"));
                continue;
            };
            match self.queue_get(id)? {
                Some(e) if e.file_id == file_id => {}
                _ => p.push(format!(
                    "queue file index: file {file_id} names entry {id}, which does not use it"
                )),
            }
        }
        for f in queue_files::list(root)? {
            match f {
                Ok(id) if !files.contains(&id) => p.push(format!(
                    "queue file {} belongs to no entry",
                    queue_files::path(root, id).display()
                )),
                Ok(_) => {}
                Err(path) => p.push(format!("queue: unexpected file {}", path.display())),
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;

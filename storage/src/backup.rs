//! Backup: a consistent copy of a data directory while the store stays in
//! use, as mox's `backup` (database state at one instant, plus the message
//! files that state references).
//!
//! - The database: one fjall cross-keyspace snapshot, written key by key
//!   into a fresh database in the destination. Every change is one atomic
//!   fjall batch, so the snapshot holds whole commits only.
//! - Message and queue files are immutable, so a hard link is a copy; across
//!   file systems they are copied and fsynced. Files written for commits
//!   after the snapshot are not taken.
//! - Files the snapshot references must not disappear before they are
//!   linked: expunged messages' files are not erased while a backup runs
//!   (`Inner::backups`; erasures already under way finish before the
//!   snapshot is taken, as they hold the account's hub lock), queue files
//!   are linked under the queue's write lock, and account creation and
//!   removal wait for the backup (the admin lock).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use fjall::Readable;

use crate::error::{Result, StoreError};
use crate::keys;
use crate::records::{self, AccountRecord};
use crate::store::{Inner, Store, lock};

/// What [`Store::backup_to`] copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Database entries (keys) of the snapshot, all keyspaces.
    pub db_entries: u64,
    /// Message files of accounts put into the backup.
    pub message_files: u64,
    /// Files of the outgoing queue put into the backup.
    pub queue_files: u64,
    /// Of those files, how many were hard-linked (the rest were copied).
    pub linked: u64,
    /// Bytes copied for files that could not be hard-linked.
    pub bytes_copied: u64,
    /// Files the snapshot references that the source lacks (each also a
    /// problem for `verifydata` of the backup), relative to the data
    /// directory.
    pub missing: Vec<PathBuf>,
}

/// Keeps erasures paused while alive; resumes them when dropped.
struct Pause<'a>(&'a Inner);

impl<'a> Pause<'a> {
    fn new(inner: &'a Inner) -> Self {
        inner.backups.fetch_add(1, Ordering::SeqCst);
        // Erasures that started before the count went up hold their
        // account's hub lock until their batch is committed: wait for them.
        let shared: Vec<_> = lock(&inner.accounts).values().cloned().collect();
        for s in shared {
            drop(lock(&s.hub));
        }
        Pause(inner)
    }
}

impl Drop for Pause<'_> {
    fn drop(&mut self) {
        self.0.backups.fetch_sub(1, Ordering::SeqCst);
        let shared: Vec<_> = lock(&self.0.accounts).values().cloned().collect();
        for s in shared {
            crate::expunge::erase_ready(self.0, &s);
        }
    }
}

impl Store {
    /// Back up this store into `dest`, a new data directory (it must not
    /// exist or be empty): the database as of one instant and the message
    /// and queue files it references, all durable when this returns. The
    /// store stays usable meanwhile; erasing expunged messages' files and
    /// creating or removing accounts wait until it is done.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupReport> {
        let inner = &*self.inner;
        check_empty(dest)?;
        let mut files = FileCopier::new(dest);
        files.make_dir(dest)?;
        let _admin = lock(&inner.admin);
        let pause = Pause::new(inner);
        let queue_lock = lock(&crate::queue::QUEUE_WRITE);
        let snap = inner.db.snapshot();
        let mut report = BackupReport::default();

        // Queue files, while no queue writer can remove one.
        let mut queue_ids = Vec::new();
        for kv in snap.prefix(&inner.ks.meta, [keys::TAG_QUEUE_FILE]) {
            let k = kv.key()?;
            let id = keys::be_u64(&k, 1).ok_or_else(|| StoreError::corrupt("queue file key"))?;
            queue_ids.push(id);
        }
        queue_ids.dedup();
        for id in queue_ids {
            let src = crate::queue_files::path(&inner.dir, id);
            let rel = src.strip_prefix(&inner.dir).unwrap_or(&src).to_path_buf();
            if files.link(&src, &rel, &mut report)? {
                report.queue_files += 1;
            }
        }
        drop(queue_lock);

        report.db_entries = copy_database(inner, &snap, dest)?;

        // Message files: every content record names one (live messages and
        // those waiting for erasure).
        for kv in snap.prefix(&inner.ks.meta, [keys::TAG_ACCOUNT]) {
            let (k, v) = kv.into_inner()?;
            let rec: AccountRecord = records::decode(&v, || {
                format!(
                    "account record {:?}",
                    String::from_utf8_lossy(k.get(1..).unwrap_or_default())
                )
            })?;
            for kv in snap.prefix(&inner.ks.content, rec.id.to_be_bytes()) {
                let k = kv.key()?;
                let id = keys::be_u64(&k, 4).ok_or_else(|| StoreError::corrupt("content key"))?;
                let src = crate::files::msg_path(&inner.dir, rec.id, id);
                // An erasure whose records a crash kept after its file was
                // removed: the backup finishes it when opened, as the
                // source does.
                if !src.exists() && snap.contains_key(&inner.ks.meta, keys::erase(rec.id, id))? {
                    continue;
                }
                if files.link(&src, &crate::files::rel_path(rec.id, id), &mut report)? {
                    report.message_files += 1;
                }
            }
        }
        files.sync_dirs()?;
        drop(snap);
        drop(pause);
        Ok(report)
    }
}

/// `dest` must not exist, or be an empty directory.
fn check_empty(dest: &Path) -> Result<()> {
    match std::fs::read_dir(dest) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(StoreError::io(
                "back up into",
                dest,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the directory is not empty",
                ),
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("back up into", dest, e)),
    }
}

/// Writes every entry of the snapshot into a new store at `dest` (opened
/// with this store's settings, so its keyspaces are made alike), durably.
/// fjall's bulk ingestion writes sorted entries straight into compressed
/// tables, so the copy has no journal to replay when it is opened. Returns
/// the number of entries.
fn copy_database(inner: &Inner, snap: &fjall::Snapshot, dest: &Path) -> Result<u64> {
    let out = Store::open(dest, inner.config.clone())?;
    out.wait_background()?;
    let o = &out.inner;
    let pairs = [
        (&inner.ks.meta, &o.ks.meta),
        (&inner.ks.msgs, &o.ks.msgs),
        (&inner.ks.modseq, &o.ks.modseq),
        (&inner.ks.content, &o.ks.content),
        (&inner.ks.msgid, &o.ks.msgid),
    ];
    // A new store holds its schema version; the snapshot's replaces it.
    let mut b = o.db.batch();
    for (_, to) in pairs {
        for kv in to.iter() {
            b.remove(to, kv.key()?.to_vec());
        }
    }
    b.commit()?;
    let mut n = 0u64;
    for (from, to) in pairs {
        let mut ingest = to.start_ingestion()?;
        let mut last: Option<fjall::Slice> = None;
        for kv in snap.iter(from) {
            let (k, v) = kv.into_inner()?;
            // Ingestion needs strictly ascending keys (it panics otherwise);
            // a snapshot yields them so, but say so rather than panic.
            if last.as_ref().is_some_and(|l| *l >= k) {
                return Err(StoreError::corrupt(
                    "database snapshot keys out of order while backing up",
                ));
            }
            last = Some(k.clone());
            ingest.write(k, v)?;
            n += 1;
        }
        ingest.finish()?;
    }
    out.persist()?;
    Ok(n)
}

/// Links (or copies) files into the backup and remembers the directories
/// it made, to fsync them at the end.
struct FileCopier {
    dest: PathBuf,
    dirs: Vec<PathBuf>,
    /// Cleared after the first failed hard link (another file system).
    try_link: bool,
}

impl FileCopier {
    fn new(dest: &Path) -> Self {
        FileCopier {
            dest: dest.to_path_buf(),
            dirs: Vec::new(),
            try_link: true,
        }
    }

    /// Creates `dir` with its missing parents; it and the parents that got
    /// a new entry are fsynced at the end.
    fn make_dir(&mut self, dir: &Path) -> Result<()> {
        if self.dirs.iter().any(|d| d == dir) {
            return Ok(());
        }
        let mut new = Vec::new();
        let mut d = dir;
        while !d.as_os_str().is_empty() && !d.is_dir() {
            new.push(d.to_path_buf());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create directory", dir, e))?;
        let parents = new.iter().filter_map(|n| n.parent()).map(Path::to_path_buf);
        for p in std::iter::once(dir.to_path_buf()).chain(parents) {
            if !p.as_os_str().is_empty() && !self.dirs.contains(&p) {
                self.dirs.push(p);
            }
        }
        Ok(())
    }

    /// Puts `src` at `dest/rel`: a hard link, else a copy fsynced. Returns
    /// false, after adding it to `report.missing`, when `src` is missing.
    fn link(&mut self, src: &Path, rel: &Path, report: &mut BackupReport) -> Result<bool> {
        let dst = self.dest.join(rel);
        if let Some(dir) = dst.parent() {
            self.make_dir(dir)?;
        }
        if !src.exists() {
            report.missing.push(rel.to_path_buf());
            return Ok(false);
        }
        if self.try_link {
            match std::fs::hard_link(src, &dst) {
                Ok(()) => {
                    report.linked += 1;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    report.missing.push(rel.to_path_buf());
                    return Ok(false);
                }
                Err(_) => self.try_link = false,
            }
        }
        let n = std::fs::copy(src, &dst).map_err(|e| StoreError::io("copy", &dst, e))?;
        File::open(&dst)
            .and_then(|f| f.sync_data())
            .map_err(|e| StoreError::io("fsync", &dst, e))?;
        report.bytes_copied = report.bytes_copied.saturating_add(n);
        Ok(true)
    }

    /// fsync every directory that got entries, so the links last.
    fn sync_dirs(&self) -> Result<()> {
        for d in &self.dirs {
            File::open(d)
                .and_then(|f| f.sync_all())
                .map_err(|e| StoreError::io("fsync directory", d, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExpungeSet, NewAccount, NewMessage, StoreConfig};

    /// While a backup runs, a file whose last reader moves on stays; it
    /// is erased when the backup ends.
    #[test]
    fn erasure_waits_for_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let a = s.create_account("a", NewAccount::default()).unwrap();
        let inbox = a.mailbox("Inbox").unwrap().id;
        let data = b"Subject: x\r\n\r\nbody\r\n";
        let nm = NewMessage {
            data,
            ..NewMessage::default()
        };
        a.deliver(inbox, &nm).unwrap();
        let m = a.message(inbox, 1).unwrap();
        let file = crate::files::msg_path(dir.path(), a.id(), m.msg_id);
        let reader = a.subscribe();
        a.expunge(inbox, ExpungeSet::Uids(&[1])).unwrap();
        assert!(file.exists());
        let pause = Pause::new(&s.inner);
        drop(reader);
        assert!(file.exists(), "erased during a backup");
        assert_eq!(s.check_consistency().unwrap(), Vec::<String>::new());
        drop(pause);
        assert!(!file.exists(), "not erased after the backup");
        assert_eq!(s.inner.backups.load(Ordering::SeqCst), 0);
        assert_eq!(s.check_consistency().unwrap(), Vec::<String>::new());
    }
}

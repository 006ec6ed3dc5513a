//! The store: one fjall database for the whole data directory (accounts are
//! key prefixes), message files under `accounts/<id>/msg/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use fjall::config::CompressionPolicy;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::account::{Account, AccountShared};
use crate::error::{Result, StoreError};
use crate::keys;
use crate::records::{self, AccountRecord};
use crate::upgrade::{self, UpgradeStep};

/// Store-wide settings.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Disk usage limit for accounts without their own, in bytes; 0 = unlimited.
    pub quota_default: u64,
    /// fjall block cache in bytes.
    pub cache_bytes: u64,
    /// fjall background threads (flush, compaction).
    pub worker_threads: usize,
    /// Size at which a keyspace's memtable is flushed, in bytes.
    pub memtable_bytes: u64,
}

impl Default for StoreConfig {
    /// Small settings for small boxes: 2 MiB block cache (it cannot be
    /// emptied while idle, and scans of a large mailbox pass through any
    /// cache that does not hold it whole; the OS page cache keeps the
    /// files. Not smaller: the cache is split in shards, four per core, and
    /// a block larger than 80% of a shard is never cached, such as the
    /// ~140 KB index block of a table of 50,000 envelopes), 1 worker, 1 MiB memtables (five keyspaces: at most ~5 MiB
    /// of unflushed writes held in memory, and as much replayed from the
    /// journals at start; see DESIGN.md "Decisions and deviations").
    fn default() -> Self {
        StoreConfig {
            quota_default: 0,
            cache_bytes: 2 << 20,
            worker_threads: 1,
            memtable_bytes: 1 << 20,
        }
    }
}

/// The keyspaces; see [`crate::keys`] for what each holds.
pub(crate) struct Keyspaces {
    pub meta: Keyspace,
    pub msgs: Keyspace,
    pub modseq: Keyspace,
    pub content: Keyspace,
    pub msgid: Keyspace,
}

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub config: StoreConfig,
    pub db: Database,
    pub ks: Keyspaces,
    /// Open accounts, so every handle of one account shares its writer lock
    /// and changes feed.
    pub accounts: Mutex<HashMap<String, Arc<AccountShared>>>,
    /// Serialises account creation/removal and address changes.
    pub admin: Mutex<()>,
    pub background: Mutex<Vec<std::thread::JoinHandle<Result<()>>>>,
    /// Backups in progress: message files are not erased meanwhile (see
    /// `backup.rs`).
    pub backups: std::sync::atomic::AtomicUsize,
}

/// A mail store. Cheap to clone, `Send + Sync`; share one per process.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

/// Lock a mutex, ignoring poisoning (state behind our mutexes is only
/// replaced whole after a successful commit).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Store {
    /// Open (or create) the store in `dir`, running schema upgrades.
    pub fn open(dir: impl AsRef<Path>, config: StoreConfig) -> Result<Store> {
        Self::open_with_upgrades(dir, config, upgrade::builtin_steps())
    }

    /// Open with an explicit list of upgrade steps (tests use this to add
    /// steps of their own).
    #[doc(hidden)]
    pub fn open_with_upgrades(
        dir: impl AsRef<Path>,
        config: StoreConfig,
        steps: Vec<UpgradeStep>,
    ) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        let dbdir = dir.join("db");
        std::fs::create_dir_all(&dbdir)
            .map_err(|e| StoreError::io("create directory", &dbdir, e))?;
        let db = Database::builder(&dbdir)
            .cache_size(config.cache_bytes)
            .worker_threads(config.worker_threads.max(1))
            .max_cached_files(Some(64))
            // Sealed journals beyond 64 MiB (fjall's minimum) force flushes.
            .max_journaling_size(64 << 20)
            .open()?;
        let mem = config.memtable_bytes.max(1 << 20);
        // LZ4 on every level (fjall's default leaves L0 and L1 uncompressed):
        // records and structures compress well, and metadata size matters.
        let opts = move || {
            KeyspaceCreateOptions::default()
                .max_memtable_size(mem)
                .data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
        };
        let ks = Keyspaces {
            meta: db.keyspace("meta", opts)?,
            msgs: db.keyspace("msgs", opts)?,
            modseq: db.keyspace("modseq", opts)?,
            content: db.keyspace("content", opts)?,
            msgid: db.keyspace("msgid", opts)?,
        };
        let store = Store {
            inner: Arc::new(Inner {
                dir,
                config,
                db,
                ks,
                accounts: Mutex::new(HashMap::new()),
                admin: Mutex::new(()),
                background: Mutex::new(Vec::new()),
                backups: std::sync::atomic::AtomicUsize::new(0),
            }),
        };
        upgrade::run_on_open(&store, steps)?;
        Ok(store)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Wait for background upgrade steps started by `open` to finish.
    pub fn wait_background(&self) -> Result<()> {
        let handles: Vec<_> = std::mem::take(&mut *lock(&self.inner.background));
        let mut res = Ok(());
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => res = Err(e),
                Err(_) => res = Err(StoreError::corrupt("background upgrade step panicked")),
            }
        }
        res
    }

    /// Names of all accounts, sorted.
    pub fn account_names(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for kv in self.inner.ks.meta.prefix([keys::TAG_ACCOUNT]) {
            let k = kv.key()?;
            let name = std::str::from_utf8(k.get(1..).unwrap_or_default())
                .map_err(|_| StoreError::corrupt("account name is not UTF-8"))?;
            out.push(name.to_string());
        }
        Ok(out)
    }

    /// The account an address belongs to, if any. The address is compared
    /// in canonical form ([`moxide_proto::dns::address_to_ascii`]: lower
    /// case, the domain in A-labels), so `user@exämple.test` and
    /// `user@xn--exmple-cua.test` find the same account.
    pub fn account_for_address(&self, address: &str) -> Result<Option<String>> {
        let addr = moxide_proto::dns::address_to_ascii(address);
        match self.inner.ks.meta.get(keys::address(&addr))? {
            None => Ok(None),
            Some(v) => Ok(Some(String::from_utf8(v.to_vec()).map_err(|_| {
                StoreError::corrupt(format!("address {addr:?}: account name is not UTF-8"))
            })?)),
        }
    }

    /// Open an existing account.
    pub fn account(&self, name: &str) -> Result<Account> {
        let mut cache = lock(&self.inner.accounts);
        if let Some(s) = cache.get(name) {
            return Ok(Account::from_shared(self.inner.clone(), s.clone()));
        }
        let rec: AccountRecord = match self.inner.ks.meta.get(keys::account(name))? {
            None => return Err(StoreError::NoSuchAccount(name.to_string())),
            Some(v) => records::decode(&v, || format!("account record {name:?}"))?,
        };
        let shared = Arc::new(AccountShared::load(&self.inner, name, rec.id)?);
        cache.insert(name.to_string(), shared.clone());
        drop(cache);
        let acct = Account::from_shared(self.inner.clone(), shared);
        acct.erase_pending_on_open()?;
        Ok(acct)
    }

    /// Make every committed write durable (used by tests and on shutdown).
    pub fn persist(&self) -> Result<()> {
        self.inner.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }

    /// Bytes the database uses on disk (journals and tables).
    pub fn db_disk_space(&self) -> Result<u64> {
        Ok(self.inner.db.disk_space()?)
    }

    /// Flush memtables to tables (so that journals can be dropped); for
    /// tools and benchmarks.
    pub fn flush(&self) -> Result<()> {
        let ks = &self.inner.ks;
        for k in [&ks.meta, &ks.msgs, &ks.modseq, &ks.content, &ks.msgid] {
            k.rotate_memtable_and_wait()?;
        }
        Ok(())
    }
}

//! Schema versioning. The database records its schema version; on open,
//! every known upgrade step above it runs in order. A step marked
//! `background` is recorded as pending in the same commit that raises the
//! version and runs on a thread after `open` returns; its saved progress
//! lets it resume after a crash. A foreground step must not depend on an
//! earlier background step having finished.

use std::sync::Arc;

use fjall::PersistMode;

use crate::error::{Result, StoreError};
use crate::keys;
use crate::store::{Store, lock};

/// Schema version of a database created by this build. Version 1 is the
/// initial schema; version 2 added the precomputed ENVELOPE of every
/// message (`crate::envelope`); version 3 the flags index
/// (`crate::flags_index`).
pub const SCHEMA_VERSION: u32 = 3;

/// The work of an upgrade step.
pub type UpgradeFn = Arc<dyn Fn(&UpgradeContext) -> Result<()> + Send + Sync>;

/// One upgrade step: brings the schema to `version`.
#[derive(Clone)]
pub struct UpgradeStep {
    /// Schema version after the step.
    pub version: u32,
    /// Name for messages.
    pub name: &'static str,
    /// Run on a thread after open (for slow steps).
    pub background: bool,
    /// The work; must be idempotent from any saved progress.
    pub run: UpgradeFn,
}

impl std::fmt::Debug for UpgradeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradeStep")
            .field("version", &self.version)
            .field("name", &self.name)
            .field("background", &self.background)
            .finish()
    }
}

/// What a step can use: the store and its own saved progress.
pub struct UpgradeContext {
    store: Store,
    version: u32,
}

impl UpgradeContext {
    /// The store being upgraded.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Progress saved by an earlier, interrupted run of a background step.
    pub fn progress(&self) -> Result<Option<Vec<u8>>> {
        let v = self.store.inner.ks.meta.get(keys::upgrade(self.version))?;
        Ok(v.map(|v| v.to_vec()).filter(|v| !v.is_empty()))
    }

    /// Save progress durably (background steps only).
    pub fn save_progress(&self, progress: &[u8]) -> Result<()> {
        let inner = &self.store.inner;
        let mut b = inner.db.batch();
        b.insert(
            &inner.ks.meta,
            keys::upgrade(self.version),
            progress.to_vec(),
        );
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(())
    }
}

/// Steps of this build: 1 → 2 computes the envelope records, 2 → 3 the
/// flags index.
pub(crate) fn builtin_steps() -> Vec<UpgradeStep> {
    vec![
        crate::envelope::upgrade_step(),
        crate::flags_index::upgrade_step(),
    ]
}

fn set_version(store: &Store, version: u32, pending_background: bool) -> Result<()> {
    let inner = &store.inner;
    let mut b = inner.db.batch();
    b.insert(
        &inner.ks.meta,
        keys::version(),
        version.to_be_bytes().to_vec(),
    );
    if pending_background {
        b.insert(&inner.ks.meta, keys::upgrade(version), Vec::new());
    }
    b.durability(Some(PersistMode::SyncAll)).commit()?;
    Ok(())
}

/// The schema version stored in the database.
pub fn stored_version(store: &Store) -> Result<Option<u32>> {
    match store.inner.ks.meta.get(keys::version())? {
        None => Ok(None),
        Some(v) => {
            Ok(Some(keys::be_u32(&v, 0).ok_or_else(|| {
                StoreError::corrupt("schema version record")
            })?))
        }
    }
}

pub(crate) fn run_on_open(store: &Store, mut steps: Vec<UpgradeStep>) -> Result<()> {
    steps.sort_by_key(|s| s.version);
    let latest = steps
        .iter()
        .map(|s| s.version)
        .max()
        .unwrap_or(0)
        .max(SCHEMA_VERSION);
    let stored = match stored_version(store)? {
        Some(v) => v,
        None if store.inner.ks.meta.is_empty()? => {
            // A new database starts at the newest schema.
            set_version(store, latest, false)?;
            latest
        }
        None => {
            return Err(StoreError::corrupt(
                "database has data but no schema version",
            ));
        }
    };
    if stored > latest {
        return Err(StoreError::SchemaTooNew {
            found: stored,
            supported: latest,
        });
    }
    for step in steps.iter().filter(|s| s.version > stored) {
        if step.background {
            set_version(store, step.version, true)?;
        } else {
            (step.run)(&UpgradeContext {
                store: store.clone(),
                version: step.version,
            })?;
            set_version(store, step.version, false)?;
        }
    }
    // Background steps pending now or from an interrupted earlier run.
    let mut pending = Vec::new();
    for kv in store.inner.ks.meta.prefix([keys::TAG_UPGRADE]) {
        let k = kv.key()?;
        let v = keys::be_u32(&k, 1).ok_or_else(|| StoreError::corrupt("upgrade progress key"))?;
        match steps.iter().find(|s| s.version == v) {
            Some(s) => pending.push(s.clone()),
            None => {
                return Err(StoreError::corrupt(format!(
                    "pending background upgrade to version {v} unknown to this build"
                )));
            }
        }
    }
    if !pending.is_empty() {
        let st = store.clone();
        let h = std::thread::Builder::new()
            .name("moxide-upgrade".into())
            .spawn(move || {
                for step in pending {
                    (step.run)(&UpgradeContext {
                        store: st.clone(),
                        version: step.version,
                    })?;
                    let inner = &st.inner;
                    let mut b = inner.db.batch();
                    b.remove(&inner.ks.meta, keys::upgrade(step.version));
                    b.durability(Some(PersistMode::SyncAll)).commit()?;
                }
                Ok(())
            })
            .map_err(|e| StoreError::io("spawn upgrade thread", store.dir(), e))?;
        lock(&store.inner.background).push(h);
    }
    Ok(())
}

/// Background upgrade steps not yet finished (their versions).
pub fn pending_background(store: &Store) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for kv in store.inner.ks.meta.prefix([keys::TAG_UPGRADE]) {
        let k = kv.key()?;
        out.push(keys::be_u32(&k, 1).ok_or_else(|| StoreError::corrupt("upgrade progress key"))?);
    }
    Ok(out)
}

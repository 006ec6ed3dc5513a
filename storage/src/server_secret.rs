//! A random secret per store, created on first use: the server derives
//! from it what must be stable but unpredictable, such as the simulated
//! SCRAM salt of a user that does not exist
//! (`moxide_proto::sasl::MechanismContext::unknown_user_key`).
//!
//! Kept in the `meta` keyspace under the single key `Z`; never leaves the
//! server, and a backup of the store carries it along (so salts stay the
//! same after a restore).

use fjall::PersistMode;

use crate::error::{Result, StoreError};
use crate::store::{Store, lock};

/// Key tag of the secret in `meta` (not used by any other record).
const TAG_SERVER_SECRET: u8 = b'Z';

/// Length of the secret in bytes.
pub const SERVER_SECRET_LEN: usize = 32;

impl Store {
    /// The store's secret: read, or created from the OS's random source
    /// and committed durably on first call. Every later call (also after
    /// reopening) returns the same bytes.
    pub fn server_secret(&self) -> Result<[u8; SERVER_SECRET_LEN]> {
        if let Some(s) = self.read_server_secret()? {
            return Ok(s);
        }
        let inner = &self.inner;
        let _admin = lock(&inner.admin);
        // Someone else may have created it while we waited for the lock.
        if let Some(s) = self.read_server_secret()? {
            return Ok(s);
        }
        let mut secret = [0u8; SERVER_SECRET_LEN];
        getrandom::fill(&mut secret).map_err(|e| StoreError::Io {
            op: "random server secret",
            path: "getrandom".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let mut b = inner.db.batch();
        b.insert(&inner.ks.meta, [TAG_SERVER_SECRET], secret.as_slice());
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(secret)
    }

    fn read_server_secret(&self) -> Result<Option<[u8; SERVER_SECRET_LEN]>> {
        match self.inner.ks.meta.get([TAG_SERVER_SECRET])? {
            None => Ok(None),
            Some(v) => <[u8; SERVER_SECRET_LEN]>::try_from(v.as_ref())
                .map(Some)
                .map_err(|_| StoreError::corrupt("server secret: wrong length")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Store, StoreConfig};

    #[test]
    fn created_once_and_kept_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
            let a = store.server_secret().unwrap();
            assert_eq!(a, store.server_secret().unwrap());
            assert_ne!(a, [0u8; 32]);
            a
        };
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(store.server_secret().unwrap(), first);

        let other = tempfile::tempdir().unwrap();
        let store2 = Store::open(other.path(), StoreConfig::default()).unwrap();
        assert_ne!(store2.server_secret().unwrap(), first);
    }
}

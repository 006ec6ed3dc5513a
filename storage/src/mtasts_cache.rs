//! The MTA-STS policy cache (RFC 8461 5.1): per policy domain the `id` of
//! the TXT record the policy came with, the policy text as fetched and the
//! fetch time. The decision what to do with an entry is
//! [`moxide_proto::mtasts::decide`]; this module only keeps entries.
//!
//! Entries live in the `meta` keyspace under `T` domain (lower case, no
//! trailing dot); every write is durable on return.

use fjall::PersistMode;
use serde::{Deserialize, Serialize};

use moxide_proto::mtasts::{CachedPolicy, PolicyError, parse_policy};

use crate::error::Result;
use crate::records;
use crate::store::Store;

/// Key tag of cache entries in `meta` (not used by any other record).
const TAG_MTASTS_POLICY: u8 = b'T';

/// One cached policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtastsCacheEntry {
    /// The policy domain, lower case without trailing dot.
    pub domain: String,
    /// The `id` of the `_mta-sts` TXT record when the policy was fetched.
    pub record_id: String,
    /// The policy file as served (at most 64 KiB, RFC 8461 3.3).
    pub policy_text: String,
    /// Unix seconds of the fetch.
    pub fetched_unix: i64,
}

impl MtastsCacheEntry {
    /// The entry with its policy parsed, for
    /// [`moxide_proto::mtasts::decide`].
    pub fn to_cached(&self) -> std::result::Result<CachedPolicy, PolicyError> {
        Ok(CachedPolicy {
            domain: self.domain.clone(),
            record_id: self.record_id.clone(),
            policy: parse_policy(self.policy_text.as_bytes())?,
            fetched_unix: self.fetched_unix,
        })
    }
}

fn canonical(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

fn key(domain: &str) -> Vec<u8> {
    let mut k = vec![TAG_MTASTS_POLICY];
    k.extend_from_slice(canonical(domain).as_bytes());
    k
}

impl Store {
    /// The cached policy of `domain` (any case, trailing dot allowed).
    pub fn mtasts_policy_get(&self, domain: &str) -> Result<Option<MtastsCacheEntry>> {
        match self.inner.ks.meta.get(key(domain))? {
            None => Ok(None),
            Some(v) => records::decode(&v, || format!("MTA-STS policy of {domain:?}")).map(Some),
        }
    }

    /// Stores (replaces) the policy of `entry.domain`, with the domain in
    /// canonical form. Durable on return.
    pub fn mtasts_policy_put(&self, entry: &MtastsCacheEntry) -> Result<()> {
        let mut rec = entry.clone();
        rec.domain = canonical(&entry.domain);
        let mut b = self.inner.db.batch();
        b.insert(
            &self.inner.ks.meta,
            key(&rec.domain),
            records::encode(&rec)?,
        );
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(())
    }

    /// Removes the policy of `domain`; `true` when there was one. Durable
    /// on return.
    pub fn mtasts_policy_remove(&self, domain: &str) -> Result<bool> {
        let meta = &self.inner.ks.meta;
        let k = key(domain);
        if meta.get(&k)?.is_none() {
            return Ok(false);
        }
        let mut b = self.inner.db.batch();
        b.remove(meta, k);
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreConfig;
    use moxide_proto::mtasts::Mode;

    const POLICY: &str =
        "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 86400\r\n";

    #[test]
    fn put_get_remove_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let entry = MtastsCacheEntry {
            domain: "Example.COM.".into(),
            record_id: "20260101".into(),
            policy_text: POLICY.into(),
            fetched_unix: 1_700_000_000,
        };
        {
            let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
            assert_eq!(s.mtasts_policy_get("example.com").unwrap(), None);
            s.mtasts_policy_put(&entry).unwrap();
            let got = s.mtasts_policy_get("EXAMPLE.com").unwrap().unwrap();
            assert_eq!(got.domain, "example.com");
            assert_eq!(got.record_id, "20260101");
            assert_eq!(got.policy_text, POLICY);
            assert_eq!(got.fetched_unix, 1_700_000_000);
            let other = MtastsCacheEntry {
                domain: "example.org".into(),
                ..entry.clone()
            };
            s.mtasts_policy_put(&other).unwrap();
            // Replace.
            let newer = MtastsCacheEntry {
                record_id: "2".into(),
                fetched_unix: 1_700_000_100,
                ..entry.clone()
            };
            s.mtasts_policy_put(&newer).unwrap();
        }
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let got = s.mtasts_policy_get("example.com").unwrap().unwrap();
        assert_eq!(
            (got.record_id.as_str(), got.fetched_unix),
            ("2", 1_700_000_100)
        );
        let cached = got.to_cached().unwrap();
        assert_eq!(cached.policy.mode, Mode::Enforce);
        assert_eq!(cached.policy.max_age, 86400);
        assert!(cached.policy.mx_allowed("mx.example.com"));
        assert!(s.mtasts_policy_remove("example.com.").unwrap());
        assert!(!s.mtasts_policy_remove("example.com").unwrap());
        assert_eq!(s.mtasts_policy_get("example.com").unwrap(), None);
        assert!(s.mtasts_policy_get("example.org").unwrap().is_some());
        // A bad stored policy text is reported, not hidden.
        let bad = MtastsCacheEntry {
            policy_text: "mode: enforce\n".into(),
            ..entry
        };
        assert!(bad.to_cached().is_err());
    }
}

//! The policy cache in storage ([`moxide_storage::Store`]'s
//! `mtasts_policy_*`) as [`PolicyLookup`](super::PolicyLookup) sees it:
//! loading a domain's cached policy and applying a [`CacheUpdate`].

use moxide_proto::mtasts::CachedPolicy;
use moxide_storage::{MtastsCacheEntry, Store, StoreError};

use super::lookup::CacheUpdate;

/// The cached policy of `domain`, for [`PolicyLookup::new`]. An entry
/// whose stored text no longer parses is logged and treated as absent (the
/// next successful fetch replaces it).
///
/// [`PolicyLookup::new`]: super::PolicyLookup::new
pub fn load_cached(store: &Store, domain: &str) -> Result<Option<CachedPolicy>, StoreError> {
    let Some(entry) = store.mtasts_policy_get(domain)? else {
        return Ok(None);
    };
    match entry.to_cached() {
        Ok(c) => Ok(Some(c)),
        Err(e) => {
            tracing::warn!(domain, error = %e, "MTA-STS: ignoring unreadable cached policy");
            Ok(None)
        }
    }
}

/// Applies `update` for `domain` to the cache; durable on return. A put
/// stores the policy in file form (`Policy`'s `Display`).
pub fn apply_cache_update(
    store: &Store,
    domain: &str,
    update: &CacheUpdate,
) -> Result<(), StoreError> {
    match update {
        CacheUpdate::Keep => Ok(()),
        CacheUpdate::Remove => store.mtasts_policy_remove(domain).map(|_| ()),
        CacheUpdate::Put(c) => store.mtasts_policy_put(&MtastsCacheEntry {
            domain: domain.to_string(),
            record_id: c.record_id.clone(),
            policy_text: c.policy.to_string(),
            fetched_unix: c.fetched_unix,
        }),
    }
}

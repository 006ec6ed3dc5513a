//! MTA-STS for outgoing delivery (RFC 8461): [`PolicyLookup`] finds the
//! policy of a recipient domain for one delivery attempt (TXT record,
//! cache, HTTPS fetch as a [`Need::Https`]), [`policy_from_response`]
//! judges a fetched policy, and [`load_cached`] / [`apply_cache_update`]
//! connect the lookup with the cache in storage.
//!
//! Parsing and the cache decision themselves are in
//! [`moxide_proto::mtasts`].
//!
//! [`Need::Https`]: moxide_proto::conn::Need::Https

mod cache;
mod fetch;
mod lookup;
#[cfg(test)]
mod lookup_tests;

pub use cache::{apply_cache_update, load_cached};
pub use fetch::{
    FETCH_TIMEOUT, FetchFailure, FetchFailureKind, POLICY_MEDIA_TYPE, policy_from_response,
    policy_request,
};
pub use lookup::{
    CacheUpdate, FAILED_FETCH_BACKOFF, PolicyLookup, PolicyPoll, PolicyResult, REFRESH_AHEAD,
    refresh_due,
};

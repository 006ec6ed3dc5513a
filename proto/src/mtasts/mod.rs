//! MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file and MX
//! host matching, and the cache decision after a record lookup.
//!
//! Fetching the policy is an HTTPS request the runtime performs
//! (`Need::Https`); this module only parses and decides.

mod cache;
mod policy;
mod record;

pub use cache::{CachedPolicy, Decision, decide, decide_after_failed_fetch};
pub use policy::{
    MAX_MAX_AGE, MAX_POLICY_SIZE, Mode, MxPattern, Policy, PolicyError, parse_policy, policy_url,
};
pub use record::{Record, RecordError, is_mtasts, parse, record_name};

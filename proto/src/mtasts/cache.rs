//! What to do with a domain's cached policy after looking up its record
//! (RFC 8461 5.1 and 10.2: policy discovery, updates and refresh).

use super::policy::{Mode, Policy};
use super::record;
use crate::dns::Lookup;

/// A policy as kept in the cache (storage), with the record id it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPolicy {
    pub domain: String,
    /// The `id` of the TXT record when the policy was fetched.
    pub record_id: String,
    pub policy: Policy,
    /// Unix seconds of the fetch.
    pub fetched_unix: i64,
}

impl CachedPolicy {
    /// Still within `max_age` at `now_unix`.
    pub fn valid(&self, now_unix: i64) -> bool {
        now_unix
            < self
                .fetched_unix
                .saturating_add(i64::from(self.policy.max_age))
    }
}

/// The outcome of discovery for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Apply the cached policy (it is current, or nothing better is known).
    UseCached,
    /// Fetch the policy from `url` (the record is new or changed, or the
    /// cached policy expired), remembering `record_id`. If the fetch fails,
    /// call [`decide_after_failed_fetch`].
    Fetch { url: String, record_id: String },
    /// The domain has no policy: deliver as without MTA-STS.
    NoPolicy,
    /// The record is gone and the cached policy has mode none: remove it
    /// from the cache; deliver as without MTA-STS.
    RemoveCached,
}

/// Decides from the TXT lookup at `_mta-sts.<domain>` and the cached policy.
pub fn decide(
    domain: &str,
    lookup: &Lookup,
    cached: Option<&CachedPolicy>,
    now_unix: i64,
) -> Decision {
    let cached_valid = cached.filter(|c| c.valid(now_unix));
    let fallback = || match cached_valid {
        Some(_) => Decision::UseCached,
        None => Decision::NoPolicy,
    };
    let record = match lookup {
        // DNS trouble: keep using a valid cached policy (RFC 8461 5.1).
        Lookup::Failed(_) => return fallback(),
        Lookup::NxDomain { .. } | Lookup::NoData { .. } => None,
        Lookup::Records(r) => {
            let texts: Vec<String> = r
                .data
                .iter()
                .filter_map(|d| d.txt_joined())
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .filter(|t| record::is_mtasts(t))
                .collect();
            // RFC 8461 3.1: exactly one valid record, else "no policy".
            match texts.as_slice() {
                [one] => record::parse(one).ok(),
                _ => None,
            }
        }
    };
    match (record, cached) {
        (None, Some(c)) if c.policy.mode == Mode::None => Decision::RemoveCached,
        (None, _) => fallback(),
        (Some(rec), Some(c)) if rec.id == c.record_id && c.valid(now_unix) => Decision::UseCached,
        (Some(rec), _) => Decision::Fetch {
            url: super::policy::policy_url(domain),
            record_id: rec.id,
        },
    }
}

/// After a failed policy fetch: a still-valid cached policy is used, else
/// there is no policy (RFC 8461 5.1).
pub fn decide_after_failed_fetch(cached: Option<&CachedPolicy>, now_unix: i64) -> Decision {
    match cached.filter(|c| c.valid(now_unix)) {
        Some(_) => Decision::UseCached,
        None => Decision::NoPolicy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{Failure, Query, RecordType, Zone};
    use crate::mtasts::{MxPattern, policy_url};

    fn cached(id: &str, mode: Mode, fetched: i64) -> CachedPolicy {
        CachedPolicy {
            domain: "example.com".into(),
            record_id: id.into(),
            policy: Policy {
                mode,
                max_age: 100,
                mx: vec![MxPattern {
                    wildcard: false,
                    domain: "mx.example.com".into(),
                }],
                extensions: vec![],
            },
            fetched_unix: fetched,
        }
    }

    fn lookup(zone: &str) -> Lookup {
        Zone::parse(zone)
            .unwrap()
            .answer(&Query::new("_mta-sts.example.com", RecordType::Txt))
    }

    #[test]
    fn decisions() {
        let rec = lookup(
            "_mta-sts.example.com TXT \"v=STSv1; id=2\"\n_mta-sts.example.com TXT \"other\"",
        );
        let none = lookup("");
        let fail = Lookup::Failed(Failure::Timeout);
        let fetch2 = Decision::Fetch {
            url: policy_url("example.com"),
            record_id: "2".into(),
        };
        let c1 = cached("1", Mode::Enforce, 1000);
        let c2 = cached("2", Mode::Enforce, 1000);
        assert_eq!(decide("example.com", &rec, None, 1050), fetch2);
        assert_eq!(decide("example.com", &rec, Some(&c1), 1050), fetch2);
        assert_eq!(
            decide("example.com", &rec, Some(&c2), 1050),
            Decision::UseCached
        );
        // Expired: fetch again even with the same id.
        assert_eq!(decide("example.com", &rec, Some(&c2), 1100), fetch2);
        assert_eq!(
            decide("example.com", &none, Some(&c1), 1050),
            Decision::UseCached
        );
        assert_eq!(
            decide("example.com", &none, Some(&c1), 1100),
            Decision::NoPolicy
        );
        assert_eq!(decide("example.com", &none, None, 1050), Decision::NoPolicy);
        assert_eq!(
            decide("example.com", &fail, Some(&c1), 1050),
            Decision::UseCached
        );
        assert_eq!(decide("example.com", &fail, None, 1050), Decision::NoPolicy);
        let cnone = cached("1", Mode::None, 1000);
        assert_eq!(
            decide("example.com", &none, Some(&cnone), 1050),
            Decision::RemoveCached
        );
        // Two STSv1 records: as if none.
        let two = lookup(
            "_mta-sts.example.com TXT \"v=STSv1; id=2\"\n_mta-sts.example.com TXT \"v=STSv1; id=3\"",
        );
        assert_eq!(decide("example.com", &two, None, 1050), Decision::NoPolicy);
        assert_eq!(
            decide_after_failed_fetch(Some(&c1), 1050),
            Decision::UseCached
        );
        assert_eq!(
            decide_after_failed_fetch(Some(&c1), 1100),
            Decision::NoPolicy
        );
    }
}

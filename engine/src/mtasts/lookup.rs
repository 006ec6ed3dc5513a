//! [`PolicyLookup`]: the MTA-STS policy of one recipient domain for one
//! delivery attempt (RFC 8461 3 and 5): the `_mta-sts` TXT lookup, the
//! decision against the cached policy, the policy fetch when needed, and
//! what to change in the cache.

use std::time::Instant;

use moxide_proto::conn::{Answer, HttpsError, HttpsErrorKind, HttpsResponse, Need, NeedId};
use moxide_proto::dns::{Failure, Lookup, Query, RecordType, normalize_name};
use moxide_proto::mtasts::{
    CachedPolicy, Decision, Mode, Policy, decide, decide_after_failed_fetch, record_name,
};

use super::fetch::{FetchFailure, policy_from_response, policy_request};

/// How long a failed fetch keeps the domain from being fetched again when
/// no valid policy is cached: 5 minutes, as mox (RFC 8461 3.3: senders may
/// rate-limit fetches). Stored as a mode-none policy with the record's id.
pub const FAILED_FETCH_BACKOFF: u32 = 5 * 60;

/// A cached enforce/testing policy is fetched again, although its record
/// id is unchanged, once less than this many seconds (or half its
/// `max_age`, if smaller) of its validity remain, so that it does not
/// lapse while the policy host is briefly unreachable (RFC 8461 10.2:
/// refresh proactively).
pub const REFRESH_AHEAD: u32 = 24 * 60 * 60;

/// What [`PolicyLookup::poll`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyPoll {
    /// Perform this request and pass its answer to
    /// [`PolicyLookup::handle_answer`]: first a [`Need::Dns`] TXT query for
    /// `_mta-sts.<domain>`, then possibly a [`Need::Https`] policy fetch.
    Need(NeedId, Need),
    /// Waiting for an answer.
    Pending,
    /// Done; every later poll gives the same result.
    Ready(PolicyResult),
}

/// What to change in the policy cache (apply it with
/// [`super::apply_cache_update`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUpdate {
    /// Leave the cache as it is.
    Keep,
    /// Store this policy for the domain (replacing any).
    Put(CachedPolicy),
    /// Remove the domain's policy (withdrawn, RFC 8461 8.3, or expired).
    Remove,
}

/// The outcome of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyResult {
    /// The policy to apply; `None` (or mode none) = deliver as without
    /// MTA-STS.
    pub policy: Option<Policy>,
    /// What to change in the cache.
    pub cache: CacheUpdate,
    /// Set when a policy fetch was made and failed, with its TLSRPT result
    /// type; `policy` may still be a valid cached policy (RFC 8461 5.1).
    pub fetch_error: Option<FetchFailure>,
}

#[derive(Debug)]
enum State {
    /// The TXT query is to be asked.
    Start,
    /// Waiting for the TXT answer.
    Dns(NeedId),
    /// The fetch is to be asked; the policy will be cached with `record_id`.
    Fetch {
        record_id: String,
    },
    /// Waiting for the fetch.
    Https {
        id: NeedId,
        record_id: String,
    },
    Done(PolicyResult),
}

/// MTA-STS discovery for one recipient domain (RFC 8461 3 and 5.1).
///
/// Contract: call [`poll`](Self::poll) until it gives `Ready`; for each
/// `Need`, perform it and call [`handle_answer`](Self::handle_answer) with
/// its id (answers to other ids are ignored). The runtime bounds each
/// request (the resolver's deadline, the fetch's `timeout`), so the lookup
/// keeps no timer of its own. A cached policy whose record id is unchanged
/// is used without a fetch, unless it nears expiry ([`REFRESH_AHEAD`]);
/// when a fetch fails a still-valid cached policy is used.
#[derive(Debug)]
pub struct PolicyLookup {
    /// Canonical (lower case, no trailing dot).
    domain: String,
    cached: Option<CachedPolicy>,
    now_unix: i64,
    first_id: u64,
    state: State,
}

impl PolicyLookup {
    /// A lookup for `domain` (the recipient domain), with its cached
    /// policy if any and the wall-clock time in Unix seconds.
    pub fn new(domain: &str, cached: Option<CachedPolicy>, now_unix: i64) -> PolicyLookup {
        let (domain, state) = match normalize_name(domain) {
            Ok(d) => (d, State::Start),
            // Not a domain name: nothing can be looked up, no policy.
            Err(_) => (
                domain.to_string(),
                State::Done(PolicyResult {
                    policy: None,
                    cache: CacheUpdate::Keep,
                    fetch_error: None,
                }),
            ),
        };
        PolicyLookup {
            domain,
            cached,
            now_unix,
            first_id: 1,
            state,
        }
    }

    /// Numbers this lookup's requests from `first` (the DNS query) and
    /// `first + 1` (the fetch), for a caller that runs several machines
    /// over one id space. Call before the first poll. The default is 1.
    pub fn with_first_id(mut self, first: NeedId) -> PolicyLookup {
        self.first_id = first.0;
        self
    }

    /// The recipient domain, canonical.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The next request, or the result. `now` is accepted for the common
    /// shape of sans-IO machines; the lookup keeps no timer.
    pub fn poll(&mut self, _now: Instant) -> PolicyPoll {
        match &mut self.state {
            State::Start => {
                let id = NeedId(self.first_id);
                let q = Query::new(record_name(&self.domain), RecordType::Txt);
                self.state = State::Dns(id);
                PolicyPoll::Need(id, Need::Dns(q))
            }
            State::Fetch { record_id } => {
                let id = NeedId(self.first_id.wrapping_add(1));
                let record_id = std::mem::take(record_id);
                self.state = State::Https { id, record_id };
                PolicyPoll::Need(id, Need::Https(policy_request(&self.domain)))
            }
            State::Dns(_) | State::Https { .. } => PolicyPoll::Pending,
            State::Done(r) => PolicyPoll::Ready(r.clone()),
        }
    }

    /// The answer to the request `id`. An answer of the wrong kind counts
    /// as a failure of that request.
    pub fn handle_answer(&mut self, _now: Instant, id: NeedId, answer: Answer) {
        match &self.state {
            State::Dns(want) if *want == id => {
                let lookup = match answer {
                    Answer::Dns(l) => l,
                    _ => Lookup::Failed(Failure::Network("answer is not a DNS lookup".into())),
                };
                self.state = self.after_record(&lookup);
            }
            State::Https {
                id: want,
                record_id,
            } if *want == id => {
                let outcome: Result<HttpsResponse, HttpsError> = match answer {
                    Answer::Https(o) => o,
                    _ => Err(HttpsError::new(
                        HttpsErrorKind::Http,
                        "answer is not an HTTPS response",
                    )),
                };
                let record_id = record_id.clone();
                self.state = self.after_fetch(record_id, &outcome);
            }
            _ => {}
        }
    }

    /// RFC 8461 5.1 with the TXT lookup's answer.
    fn after_record(&self, lookup: &Lookup) -> State {
        let cached = self.cached.as_ref();
        let done = |policy: Option<&Policy>, cache| {
            State::Done(PolicyResult {
                policy: policy.cloned(),
                cache,
                fetch_error: None,
            })
        };
        match decide(&self.domain, lookup, cached, self.now_unix) {
            Decision::UseCached => match cached {
                Some(c) if refresh_due(c, self.now_unix) => State::Fetch {
                    record_id: c.record_id.clone(),
                },
                Some(c) => done(Some(&c.policy), CacheUpdate::Keep),
                None => done(None, CacheUpdate::Keep),
            },
            Decision::Fetch { record_id, .. } => State::Fetch { record_id },
            // A cached policy here has expired: drop it.
            Decision::NoPolicy if cached.is_some() => done(None, CacheUpdate::Remove),
            Decision::NoPolicy => done(None, CacheUpdate::Keep),
            // RFC 8461 8.3: the record is gone and the policy said none.
            Decision::RemoveCached => done(None, CacheUpdate::Remove),
        }
    }

    /// RFC 8461 3.3 and 5.1 with the fetch's outcome.
    fn after_fetch(&self, record_id: String, outcome: &Result<HttpsResponse, HttpsError>) -> State {
        let failure = match policy_from_response(outcome) {
            Ok(policy) => {
                return State::Done(PolicyResult {
                    policy: Some(policy.clone()),
                    cache: CacheUpdate::Put(CachedPolicy {
                        domain: self.domain.clone(),
                        record_id,
                        policy,
                        fetched_unix: self.now_unix,
                    }),
                    fetch_error: None,
                });
            }
            Err(f) => f,
        };
        let cached = self.cached.as_ref();
        let (policy, cache) = match (decide_after_failed_fetch(cached, self.now_unix), cached) {
            (Decision::UseCached, Some(c)) => (Some(c.policy.clone()), CacheUpdate::Keep),
            // No valid policy: as without MTA-STS, and no new fetch for a
            // while (the backoff entry is a mode-none policy).
            _ => (
                None,
                CacheUpdate::Put(CachedPolicy {
                    domain: self.domain.clone(),
                    record_id,
                    policy: Policy {
                        mode: Mode::None,
                        max_age: FAILED_FETCH_BACKOFF,
                        mx: Vec::new(),
                        extensions: Vec::new(),
                    },
                    fetched_unix: self.now_unix,
                }),
            ),
        };
        State::Done(PolicyResult {
            policy,
            cache,
            fetch_error: Some(failure),
        })
    }
}

/// Whether a valid cached policy should be fetched again now: it enforces
/// or tests, and less than `min(REFRESH_AHEAD, max_age / 2)` remains.
pub fn refresh_due(cached: &CachedPolicy, now_unix: i64) -> bool {
    if cached.policy.mode == Mode::None {
        return false;
    }
    let max_age = cached.policy.max_age;
    let ahead = i64::from(REFRESH_AHEAD.min(max_age / 2));
    let expires = cached.fetched_unix.saturating_add(i64::from(max_age));
    now_unix >= expires.saturating_sub(ahead)
}

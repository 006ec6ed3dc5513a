//! [`PolicyLookup`] answered from an in-memory zone and canned HTTPS
//! responses: every row of the decision, failures and the cache updates.

use std::time::Instant;

use moxide_proto::conn::{
    Answer, HttpsError, HttpsErrorKind, HttpsRequest, HttpsResponse, Need, NeedId,
};
use moxide_proto::dns::{Failure, Lookup, Query, RecordType, Zone};
use moxide_proto::mtasts::{CachedPolicy, Mode, MxPattern, Policy, parse_policy};
use moxide_storage::{Store, StoreConfig};

use super::*;

const NOW: i64 = 1_800_000_000;
const POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmx: *.backup.example.com\r\nmax_age: 604800\r\n";
const RECORD_ZONE: &str = "_mta-sts.example.com TXT \"v=STSv1; id=20260101\"\n\
                           _mta-sts.example.com TXT \"unrelated\"\n";

fn zone(text: &str) -> Zone {
    Zone::parse(text).unwrap()
}

fn ok(status: u16, ct: &str, body: &str) -> Result<HttpsResponse, HttpsError> {
    Ok(HttpsResponse {
        status,
        content_type: Some(ct.to_string()),
        body: body.as_bytes().to_vec(),
    })
}

fn served() -> Result<HttpsResponse, HttpsError> {
    ok(200, "text/plain; charset=utf-8", POLICY)
}

fn policy() -> Policy {
    parse_policy(POLICY.as_bytes()).unwrap()
}

fn cached(record_id: &str, mode: Mode, max_age: u32, fetched_unix: i64) -> CachedPolicy {
    CachedPolicy {
        domain: "example.com".into(),
        record_id: record_id.into(),
        policy: Policy {
            mode,
            max_age,
            mx: vec![MxPattern {
                wildcard: false,
                domain: "old-mx.example.com".into(),
            }],
            extensions: vec![],
        },
        fetched_unix,
    }
}

fn backoff(record_id: &str) -> CacheUpdate {
    CacheUpdate::Put(CachedPolicy {
        domain: "example.com".into(),
        record_id: record_id.into(),
        policy: Policy {
            mode: Mode::None,
            max_age: 300,
            mx: vec![],
            extensions: vec![],
        },
        fetched_unix: NOW,
    })
}

/// What the lookup asked for, in order.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    Txt(String),
    Https(String),
}

/// Runs the lookup to its result; DNS from `zone`, the fetch answered with
/// `fetch` (a fetch without one fails the test).
fn run(
    mut l: PolicyLookup,
    zone: &Zone,
    mut fetch: Option<Result<HttpsResponse, HttpsError>>,
) -> (PolicyResult, Vec<Asked>) {
    let now = Instant::now();
    let mut asked = Vec::new();
    for _ in 0..10 {
        match l.poll(now) {
            PolicyPoll::Ready(r) => {
                // Ready is final.
                assert_eq!(l.poll(now), PolicyPoll::Ready(r.clone()));
                return (r, asked);
            }
            PolicyPoll::Pending => panic!("pending with nothing outstanding"),
            PolicyPoll::Need(id, Need::Dns(q)) => {
                assert_eq!(q.rtype, RecordType::Txt);
                asked.push(Asked::Txt(q.name.clone()));
                assert_eq!(l.poll(now), PolicyPoll::Pending);
                l.handle_answer(now, id, Answer::Dns(zone.answer(&q)));
            }
            PolicyPoll::Need(id, Need::Https(req)) => {
                assert_eq!(req.max_body, 65536);
                assert_eq!(req.timeout, FETCH_TIMEOUT);
                asked.push(Asked::Https(req.url.clone()));
                let answer = fetch.take().expect("a fetch the test did not expect");
                l.handle_answer(now, id, Answer::Https(answer));
            }
            PolicyPoll::Need(_, other) => panic!("unexpected need {other:?}"),
        }
    }
    panic!("lookup did not finish");
}

fn txt() -> Asked {
    Asked::Txt("_mta-sts.example.com".into())
}

fn get() -> Asked {
    Asked::Https("https://mta-sts.example.com/.well-known/mta-sts.txt".into())
}

#[test]
fn new_record_is_fetched_and_cached() {
    let l = PolicyLookup::new("Example.COM.", None, NOW);
    assert_eq!(l.domain(), "example.com");
    let (r, asked) = run(l, &zone(RECORD_ZONE), Some(served()));
    assert_eq!(asked, [txt(), get()]);
    assert_eq!(
        r,
        PolicyResult {
            policy: Some(policy()),
            cache: CacheUpdate::Put(CachedPolicy {
                domain: "example.com".into(),
                record_id: "20260101".into(),
                policy: policy(),
                fetched_unix: NOW,
            }),
            fetch_error: None,
        }
    );
}

#[test]
fn no_record_no_policy() {
    let none = PolicyResult {
        policy: None,
        cache: CacheUpdate::Keep,
        fetch_error: None,
    };
    // NXDOMAIN, NODATA, DNS failure, two records, a malformed record.
    for z in [
        "",
        "_mta-sts.example.com A 192.0.2.1",
        "_mta-sts.example.com TXT !servfail",
        "_mta-sts.example.com TXT \"v=STSv1; id=1\"\n_mta-sts.example.com TXT \"v=STSv1; id=2\"",
        "_mta-sts.example.com TXT \"v=STSv1; id=not-alnum\"",
    ] {
        let (r, asked) = run(PolicyLookup::new("example.com", None, NOW), &zone(z), None);
        assert_eq!((r, asked), (none.clone(), vec![txt()]), "zone {z:?}");
    }
}

#[test]
fn unchanged_record_uses_the_cache_without_fetching() {
    let c = cached("20260101", Mode::Enforce, 604800, NOW - 1000);
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(c.clone()), NOW),
        &zone(RECORD_ZONE),
        None,
    );
    assert_eq!(asked, [txt()]);
    assert_eq!(
        r,
        PolicyResult {
            policy: Some(c.policy),
            cache: CacheUpdate::Keep,
            fetch_error: None,
        }
    );
}

#[test]
fn changed_record_fetches_and_replaces() {
    let c = cached("20250101", Mode::Enforce, 604800, NOW - 1000);
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(c), NOW),
        &zone(RECORD_ZONE),
        Some(served()),
    );
    assert_eq!(asked, [txt(), get()]);
    assert_eq!(r.policy, Some(policy()));
    let CacheUpdate::Put(new) = r.cache else {
        panic!("{:?}", r.cache)
    };
    assert_eq!(
        (new.record_id.as_str(), new.fetched_unix),
        ("20260101", NOW)
    );
}

#[test]
fn failed_fetch_keeps_a_valid_cached_policy() {
    // RFC 8461 5.1: the record changed but the new policy cannot be had.
    let c = cached("20250101", Mode::Testing, 604800, NOW - 1000);
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(c.clone()), NOW),
        &zone(RECORD_ZONE),
        Some(ok(404, "text/html", "not found")),
    );
    assert_eq!(asked, [txt(), get()]);
    assert_eq!(
        r,
        PolicyResult {
            policy: Some(c.policy),
            cache: CacheUpdate::Keep,
            fetch_error: Some(FetchFailure {
                kind: FetchFailureKind::FetchError,
                detail: "HTTP status 404, 200 is required".into(),
            }),
        }
    );
}

#[test]
fn expired_cache_and_failed_fetch_back_off() {
    let c = cached("20260101", Mode::Enforce, 1000, NOW - 1000);
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(c), NOW),
        &zone(RECORD_ZONE),
        Some(Err(HttpsError::new(
            HttpsErrorKind::Connect,
            "connection refused",
        ))),
    );
    assert_eq!(asked, [txt(), get()]);
    assert_eq!(r.policy, None);
    assert_eq!(r.cache, backoff("20260101"));
    assert_eq!(
        r.fetch_error.map(|f| f.to_string()),
        Some("sts-policy-fetch-error: connection refused".into())
    );
}

#[test]
fn backoff_entry_holds_fetches_off_for_five_minutes() {
    let (r, _) = run(
        PolicyLookup::new("example.com", None, NOW),
        &zone(RECORD_ZONE),
        Some(Err(HttpsError::new(HttpsErrorKind::Timeout, "timed out"))),
    );
    let CacheUpdate::Put(entry) = r.cache else {
        panic!("{:?}", r.cache)
    };
    // Within the backoff: no fetch, mode none (as without MTA-STS).
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(entry.clone()), NOW + 299),
        &zone(RECORD_ZONE),
        None,
    );
    assert_eq!(asked, [txt()]);
    assert_eq!(r.policy.map(|p| p.mode), Some(Mode::None));
    assert_eq!(r.cache, CacheUpdate::Keep);
    // After it: fetched again.
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(entry.clone()), NOW + 300),
        &zone(RECORD_ZONE),
        Some(served()),
    );
    assert_eq!(asked, [txt(), get()]);
    assert_eq!(r.policy, Some(policy()));
    // The record goes away during the backoff: the entry is removed.
    let (r, _) = run(
        PolicyLookup::new("example.com", Some(entry), NOW + 10),
        &zone(""),
        None,
    );
    assert_eq!((r.policy, r.cache), (None, CacheUpdate::Remove));
}

#[test]
fn near_expiry_refreshes_and_a_failed_refresh_keeps_the_policy() {
    // max_age 7 days, fetched 6 days and 1 second ago: within the last day.
    let c = cached("20260101", Mode::Enforce, 604800, NOW - 518401);
    assert!(refresh_due(&c, NOW));
    assert!(!refresh_due(&c, NOW - 2));
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(c.clone()), NOW),
        &zone(RECORD_ZONE),
        Some(served()),
    );
    assert_eq!(asked, [txt(), get()]);
    assert_eq!(
        r.cache,
        CacheUpdate::Put(CachedPolicy {
            domain: "example.com".into(),
            record_id: "20260101".into(),
            policy: policy(),
            fetched_unix: NOW,
        })
    );
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(c.clone()), NOW),
        &zone(RECORD_ZONE),
        Some(ok(500, "text/plain", "oops")),
    );
    assert_eq!(asked, [txt(), get()]);
    assert_eq!(
        (r.policy, r.cache),
        (Some(c.policy.clone()), CacheUpdate::Keep)
    );
    assert_eq!(r.fetch_error.unwrap().kind, FetchFailureKind::FetchError);
    // Short max_age: refreshed in its second half. Mode none: never.
    assert!(!refresh_due(
        &cached("1", Mode::Enforce, 100, NOW - 49),
        NOW
    ));
    assert!(refresh_due(&cached("1", Mode::Enforce, 100, NOW - 50), NOW));
    assert!(!refresh_due(&cached("1", Mode::None, 100, NOW - 99), NOW));
}

#[test]
fn record_gone_or_dns_down_uses_a_valid_cache() {
    let c = cached("20260101", Mode::Enforce, 604800, NOW - 1000);
    for z in ["", "_mta-sts.example.com TXT !timeout"] {
        let (r, asked) = run(
            PolicyLookup::new("example.com", Some(c.clone()), NOW),
            &zone(z),
            None,
        );
        assert_eq!(asked, [txt()]);
        assert_eq!(
            (r.policy, r.cache),
            (Some(c.policy.clone()), CacheUpdate::Keep)
        );
    }
}

#[test]
fn mode_none_policy_is_removed_when_the_record_goes() {
    // RFC 8461 8.3: withdrawing a policy.
    let c = cached("20260101", Mode::None, 604800, NOW - 1000);
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(c.clone()), NOW),
        &zone(""),
        None,
    );
    assert_eq!(asked, [txt()]);
    assert_eq!(
        r,
        PolicyResult {
            policy: None,
            cache: CacheUpdate::Remove,
            fetch_error: None,
        }
    );
    // With the record still there, the mode-none policy stays.
    let (r, _) = run(
        PolicyLookup::new("example.com", Some(c.clone()), NOW),
        &zone(RECORD_ZONE),
        None,
    );
    assert_eq!((r.policy, r.cache), (Some(c.policy), CacheUpdate::Keep));
}

#[test]
fn expired_cache_without_record_is_removed() {
    let c = cached("20260101", Mode::Enforce, 1000, NOW - 1000);
    let (r, _) = run(
        PolicyLookup::new("example.com", Some(c), NOW),
        &zone(""),
        None,
    );
    assert_eq!((r.policy, r.cache), (None, CacheUpdate::Remove));
}

/// The failure of a fetch answered with `answer`, no cache.
fn fetch_failure(answer: Result<HttpsResponse, HttpsError>) -> FetchFailure {
    let (r, asked) = run(
        PolicyLookup::new("example.com", None, NOW),
        &zone(RECORD_ZONE),
        Some(answer),
    );
    assert_eq!(asked, [txt(), get()]);
    assert_eq!((r.policy, r.cache), (None, backoff("20260101")));
    r.fetch_error.unwrap()
}

#[test]
fn redirects_are_refused() {
    for status in [301, 302, 307, 308] {
        let f = fetch_failure(ok(status, "text/plain", POLICY));
        assert_eq!(
            f.to_string(),
            format!(
                "sts-policy-fetch-error: HTTP status {status}, 200 is required, \
                 redirects are not followed (RFC 8461 3.3)"
            )
        );
    }
}

#[test]
fn wrong_content_type_oversize_bad_syntax_and_certificate() {
    assert_eq!(
        fetch_failure(ok(200, "text/html; charset=utf-8", POLICY)).to_string(),
        "sts-policy-invalid: Content-Type \"text/html; charset=utf-8\", \
         text/plain is required (RFC 8461 3.2)"
    );
    // The runtime stopped reading past max_body…
    assert_eq!(
        fetch_failure(Err(HttpsError::new(
            HttpsErrorKind::TooLarge,
            "body larger than 65536 bytes"
        ))),
        FetchFailure {
            kind: FetchFailureKind::PolicyInvalid,
            detail: "body larger than 65536 bytes".into(),
        }
    );
    // …or sent more anyway.
    let big = "x".repeat(65537);
    assert_eq!(
        fetch_failure(ok(200, "text/plain", &big)).detail,
        "policy of 65537 bytes, at most 65536 allowed"
    );
    assert_eq!(
        fetch_failure(ok(200, "text/plain", "version: STSv1\r\nmode: strict\r\n")).to_string(),
        "sts-policy-invalid: invalid MTA-STS policy: mode \"strict\" is not enforce, testing or none"
    );
    let f = fetch_failure(Err(HttpsError::new(
        HttpsErrorKind::Certificate,
        "invalid peer certificate: UnknownIssuer",
    )));
    assert_eq!(f.kind.result_type(), "sts-webpki-invalid");
}

#[test]
fn fetched_mode_none_policy_is_cached() {
    let body = "version: STSv1\nmode: none\nmax_age: 86400\n";
    let (r, _) = run(
        PolicyLookup::new("example.com", None, NOW),
        &zone(RECORD_ZONE),
        Some(ok(200, "text/plain", body)),
    );
    let p = parse_policy(body.as_bytes()).unwrap();
    assert_eq!(r.policy, Some(p.clone()));
    assert_eq!(
        r.cache,
        CacheUpdate::Put(CachedPolicy {
            domain: "example.com".into(),
            record_id: "20260101".into(),
            policy: p,
            fetched_unix: NOW,
        })
    );
}

#[test]
fn ids_answers_of_other_ids_and_wrong_kinds() {
    let now = Instant::now();
    let mut l = PolicyLookup::new("example.com", None, NOW).with_first_id(NeedId(40));
    let PolicyPoll::Need(id, Need::Dns(q)) = l.poll(now) else {
        panic!()
    };
    assert_eq!(
        (id, q),
        (
            NeedId(40),
            Query::new("_mta-sts.example.com", RecordType::Txt)
        )
    );
    // Another id: ignored.
    l.handle_answer(
        now,
        NeedId(7),
        Answer::Dns(Lookup::Failed(Failure::Timeout)),
    );
    assert_eq!(l.poll(now), PolicyPoll::Pending);
    l.handle_answer(
        now,
        id,
        Answer::Dns(zone(RECORD_ZONE).answer(&Query::new("_mta-sts.example.com", RecordType::Txt))),
    );
    let PolicyPoll::Need(id, Need::Https(req)) = l.poll(now) else {
        panic!()
    };
    assert_eq!(id, NeedId(41));
    assert_eq!(
        req,
        HttpsRequest {
            url: "https://mta-sts.example.com/.well-known/mta-sts.txt".into(),
            max_body: 65536,
            timeout: std::time::Duration::from_secs(60),
        }
    );
    // A DNS answer to the fetch: a failed fetch.
    l.handle_answer(now, id, Answer::Dns(Lookup::Failed(Failure::Timeout)));
    let PolicyPoll::Ready(r) = l.poll(now) else {
        panic!()
    };
    assert_eq!(
        r.fetch_error.unwrap().detail,
        "answer is not an HTTPS response"
    );
}

#[test]
fn not_a_domain_is_ready_at_once() {
    let mut l = PolicyLookup::new("bad domain", None, NOW);
    assert_eq!(
        l.poll(Instant::now()),
        PolicyPoll::Ready(PolicyResult {
            policy: None,
            cache: CacheUpdate::Keep,
            fetch_error: None,
        })
    );
}

#[test]
fn cache_updates_reach_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(load_cached(&store, "example.com").unwrap(), None);
    let (r, _) = run(
        PolicyLookup::new("example.com", None, NOW),
        &zone(RECORD_ZONE),
        Some(served()),
    );
    apply_cache_update(&store, "example.com", &r.cache).unwrap();
    let entry = store.mtasts_policy_get("example.com").unwrap().unwrap();
    assert_eq!(entry.policy_text, POLICY);
    assert_eq!(
        (entry.record_id.as_str(), entry.fetched_unix),
        ("20260101", NOW)
    );
    let c = load_cached(&store, "EXAMPLE.com").unwrap().unwrap();
    assert_eq!(
        c,
        CachedPolicy {
            domain: "example.com".into(),
            record_id: "20260101".into(),
            policy: policy(),
            fetched_unix: NOW,
        }
    );
    // The next attempt uses it without fetching.
    let (r, asked) = run(
        PolicyLookup::new("example.com", Some(c), NOW + 60),
        &zone(RECORD_ZONE),
        None,
    );
    assert_eq!((asked, r.policy), (vec![txt()], Some(policy())));
    apply_cache_update(&store, "example.com", &CacheUpdate::Keep).unwrap();
    assert!(load_cached(&store, "example.com").unwrap().is_some());
    apply_cache_update(&store, "example.com", &CacheUpdate::Remove).unwrap();
    assert_eq!(store.mtasts_policy_get("example.com").unwrap(), None);
    // A stored entry that does not parse counts as absent.
    store
        .mtasts_policy_put(&moxide_storage::MtastsCacheEntry {
            domain: "example.com".into(),
            record_id: "1".into(),
            policy_text: "garbage".into(),
            fetched_unix: NOW,
        })
        .unwrap();
    assert_eq!(load_cached(&store, "example.com").unwrap(), None);
}

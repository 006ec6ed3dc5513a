//! TLS results of outgoing deliveries, kept for SMTP TLS reports (RFC 8460).
//!
//! After each delivery attempt the engine adds what it saw per policy: the
//! recipient domain's MTA-STS policy (or "no policy found"), and per MX host
//! its DANE (TLSA) policy. Results are summed per policy domain, UTC day and
//! kind (recipient domain or MX host, as mox keeps them apart: host results
//! are reported to the MX host's domain): success and failure session counts
//! and the distinct failure details (RFC 8460 4.3) with their counts. The
//! reports issue lists the finished days, sends the reports and removes them.
//!
//! Records live in the `meta` keyspace under `R` day(u32, big-endian)
//! domain NUL kind(u8: 0 recipient domain, 1 MX host), so they sort by day
//! and old days are a range at the front. Adding is buffered, not fsynced, like
//! login attempts: a delivery never waits for a disk flush for statistics;
//! the queue's next durable commit carries them to disk.

use std::sync::Mutex;

use fjall::PersistMode;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::keys;
use crate::records;
use crate::store::Store;

/// At most this many distinct failure details are kept per policy and day;
/// later distinct failures still count in the policy's failure total.
pub const MAX_FAILURE_DETAILS: usize = 200;

/// Key tag of TLS result records in `meta` (not used by any other record).
const TAG_TLS_RESULT: u8 = b'R';

fn key(day: u32, domain: &str, is_host: bool) -> Vec<u8> {
    let mut k = Vec::with_capacity(7 + domain.len());
    k.push(TAG_TLS_RESULT);
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(domain.as_bytes());
    k.push(0);
    k.push(u8::from(is_host));
    k
}

/// Serialises the read-modify-write of result records in this process.
static RESULTS_LOCK: Mutex<()> = Mutex::new(());

/// The kind of policy a result is about (RFC 8460 4.4 "policy-type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TlsPolicyType {
    /// An MTA-STS policy (RFC 8461).
    Sts,
    /// DANE TLSA records (RFC 7672).
    Tlsa,
    /// No policy applied.
    NoPolicyFound,
}

impl TlsPolicyType {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsPolicyType::Sts => "sts",
            TlsPolicyType::Tlsa => "tlsa",
            TlsPolicyType::NoPolicyFound => "no-policy-found",
        }
    }
}

/// The policy as a report names it (RFC 8460 4.4): results with equal
/// policies are summed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlsPolicyDescription {
    pub policy_type: TlsPolicyType,
    /// "policy-string": the MTA-STS policy's lines, or the TLSA records in
    /// presentation form; empty for no-policy-found.
    pub policy_string: Vec<String>,
    /// "mx-host": the MX patterns of an MTA-STS policy; empty otherwise.
    pub mx_host: Vec<String>,
}

impl TlsPolicyDescription {
    /// The description for "no policy found".
    pub fn none() -> TlsPolicyDescription {
        TlsPolicyDescription {
            policy_type: TlsPolicyType::NoPolicyFound,
            policy_string: Vec::new(),
            mx_host: Vec::new(),
        }
    }
}

/// One kind of failure (RFC 8460 4.3 "failure-details"); details that
/// agree in every field but `count` are summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsFailureDetail {
    /// "result-type", e.g. `starttls-not-supported`,
    /// `certificate-not-trusted`, `validation-failure` (RFC 8460 4.3.2).
    pub result_type: String,
    /// "sending-mta-ip": our address, when known; may be empty.
    pub sending_mta_ip: String,
    /// "receiving-mx-hostname".
    pub receiving_mx_hostname: String,
    /// "receiving-ip"; may be empty when no connection was made.
    pub receiving_ip: String,
    /// "failure-reason-code": a short machine-readable reason; may be empty.
    pub failure_reason_code: String,
    /// "additional-information": free text for the receiving admin.
    pub additional_information: String,
    /// "failed-session-count".
    pub count: u64,
}

impl TlsFailureDetail {
    fn same_kind(&self, o: &TlsFailureDetail) -> bool {
        self.result_type == o.result_type
            && self.sending_mta_ip == o.sending_mta_ip
            && self.receiving_mx_hostname == o.receiving_mx_hostname
            && self.receiving_ip == o.receiving_ip
            && self.failure_reason_code == o.failure_reason_code
            && self.additional_information == o.additional_information
    }
}

/// The counts of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsPolicyResult {
    pub policy: TlsPolicyDescription,
    /// "total-successful-session-count".
    pub success: u64,
    /// "total-failure-session-count".
    pub failure: u64,
    /// Distinct failure details (at most [`MAX_FAILURE_DETAILS`]).
    pub failures: Vec<TlsFailureDetail>,
}

impl TlsPolicyResult {
    /// Adds `other` (of the same policy) into `self`.
    fn merge(&mut self, other: &TlsPolicyResult) {
        self.success = self.success.saturating_add(other.success);
        self.failure = self.failure.saturating_add(other.failure);
        for d in &other.failures {
            if let Some(have) = self.failures.iter_mut().find(|h| h.same_kind(d)) {
                have.count = have.count.saturating_add(d.count);
            } else if self.failures.len() < MAX_FAILURE_DETAILS {
                self.failures.push(d.clone());
            }
        }
    }
}

/// What one delivery attempt adds for one policy domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsResultUpdate {
    /// The domain the policy belongs to (lower case, no trailing dot): the
    /// recipient domain, or the MX host for host results.
    pub policy_domain: String,
    /// A result about an MX host (DANE), not the recipient domain.
    pub is_host: bool,
    /// The recipient domain the delivery was for.
    pub recipient_domain: String,
    pub result: TlsPolicyResult,
}

/// Everything recorded for one policy domain, day and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsDayResults {
    pub policy_domain: String,
    /// Days since 1970-01-01 UTC (see [`utc_day`]).
    pub day: u32,
    pub is_host: bool,
    /// Recipient domains whose deliveries contributed, sorted.
    pub recipient_domains: Vec<String>,
    /// Per policy, in the order first seen.
    pub policies: Vec<TlsPolicyResult>,
}

/// The UTC day (days since 1970-01-01) of a unix time; times before 1970
/// count as day 0.
pub fn utc_day(unix: i64) -> u32 {
    u32::try_from(unix.div_euclid(86_400)).unwrap_or(if unix < 0 { 0 } else { u32::MAX })
}

fn canonical(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

impl Store {
    /// Adds the results of one delivery attempt to the records of `day`,
    /// summing with what is there. Buffered (see the module doc).
    pub fn tls_results_add(&self, day: u32, updates: &[TlsResultUpdate]) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let _guard = RESULTS_LOCK
            .lock()
            .map_err(|_| StoreError::corrupt("TLS results lock poisoned"))?;
        let meta = &self.inner.ks.meta;
        // Several updates may name the same record: merge in memory first.
        let mut touched: Vec<TlsDayResults> = Vec::new();
        for u in updates {
            let domain = canonical(&u.policy_domain);
            if domain.contains('\0') || domain.is_empty() {
                return Err(StoreError::corrupt(format!(
                    "TLS result for invalid policy domain {:?}",
                    u.policy_domain
                )));
            }
            let pos = touched
                .iter()
                .position(|r| r.policy_domain == domain && r.is_host == u.is_host);
            let rec = match pos {
                Some(i) => &mut touched[i],
                None => {
                    let stored = match meta.get(key(day, &domain, u.is_host))? {
                        Some(v) => records::decode(&v, || {
                            format!("TLS results of {domain:?} on day {day}")
                        })?,
                        None => TlsDayResults {
                            policy_domain: domain.clone(),
                            day,
                            is_host: u.is_host,
                            recipient_domains: Vec::new(),
                            policies: Vec::new(),
                        },
                    };
                    touched.push(stored);
                    let last = touched.len() - 1;
                    &mut touched[last]
                }
            };
            let rcpt = canonical(&u.recipient_domain);
            if let Err(at) = rec.recipient_domains.binary_search(&rcpt) {
                rec.recipient_domains.insert(at, rcpt);
            }
            match rec
                .policies
                .iter_mut()
                .find(|p| p.policy == u.result.policy)
            {
                Some(p) => p.merge(&u.result),
                None => {
                    let mut fresh = TlsPolicyResult {
                        policy: u.result.policy.clone(),
                        success: 0,
                        failure: 0,
                        failures: Vec::new(),
                    };
                    fresh.merge(&u.result);
                    rec.policies.push(fresh);
                }
            }
        }
        let mut b = self.inner.db.batch();
        for rec in &touched {
            b.insert(
                meta,
                key(day, &rec.policy_domain, rec.is_host),
                records::encode(rec)?,
            );
        }
        b.durability(Some(PersistMode::Buffer)).commit()?;
        Ok(())
    }

    /// All records of days before `before_day` (all days with `None`),
    /// ordered by day, then policy domain, recipient-domain kind first.
    pub fn tls_results_list(&self, before_day: Option<u32>) -> Result<Vec<TlsDayResults>> {
        let mut out = Vec::new();
        for kv in self.inner.ks.meta.prefix([TAG_TLS_RESULT]) {
            let (k, v) = kv.into_inner()?;
            let day = keys::be_u32(&k, 1).ok_or_else(|| StoreError::corrupt("TLS result key"))?;
            if before_day.is_some_and(|b| day >= b) {
                break;
            }
            out.push(records::decode(&v, || format!("TLS results of day {day}"))?);
        }
        Ok(out)
    }

    /// Removes the record of `policy_domain` for `day` and kind; `true` when
    /// there was one. Durable on return (a sent report is not sent twice).
    pub fn tls_results_remove(&self, day: u32, policy_domain: &str, is_host: bool) -> Result<bool> {
        let _guard = RESULTS_LOCK
            .lock()
            .map_err(|_| StoreError::corrupt("TLS results lock poisoned"))?;
        let meta = &self.inner.ks.meta;
        let k = key(day, &canonical(policy_domain), is_host);
        if meta.get(&k)?.is_none() {
            return Ok(false);
        }
        let mut b = self.inner.db.batch();
        b.remove(meta, k);
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(true)
    }

    /// Removes every record of days before `before_day` (old results no
    /// report will be sent for); returns how many. Durable on return.
    pub fn tls_results_remove_before(&self, before_day: u32) -> Result<usize> {
        let _guard = RESULTS_LOCK
            .lock()
            .map_err(|_| StoreError::corrupt("TLS results lock poisoned"))?;
        let meta = &self.inner.ks.meta;
        let mut b = self.inner.db.batch();
        let mut n = 0usize;
        for kv in meta.prefix([TAG_TLS_RESULT]) {
            let k = kv.key()?;
            let day = keys::be_u32(&k, 1).ok_or_else(|| StoreError::corrupt("TLS result key"))?;
            if day >= before_day {
                break;
            }
            b.remove(meta, k.to_vec());
            n += 1;
        }
        if n > 0 {
            b.durability(Some(PersistMode::SyncAll)).commit()?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreConfig;

    fn sts() -> TlsPolicyDescription {
        TlsPolicyDescription {
            policy_type: TlsPolicyType::Sts,
            policy_string: vec![
                "version: STSv1".into(),
                "mode: enforce".into(),
                "mx: mx.example.com".into(),
                "max_age: 86400".into(),
            ],
            mx_host: vec!["mx.example.com".into()],
        }
    }

    fn failure(result_type: &str, ip: &str) -> TlsFailureDetail {
        TlsFailureDetail {
            result_type: result_type.into(),
            sending_mta_ip: String::new(),
            receiving_mx_hostname: "mx.example.com".into(),
            receiving_ip: ip.into(),
            failure_reason_code: String::new(),
            additional_information: "handshake failed".into(),
            count: 1,
        }
    }

    fn update(domain: &str, is_host: bool, r: TlsPolicyResult) -> TlsResultUpdate {
        TlsResultUpdate {
            policy_domain: domain.into(),
            is_host,
            recipient_domain: "Example.COM".into(),
            result: r,
        }
    }

    #[test]
    fn day_of_unix_time() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(86_399), 0);
        assert_eq!(utc_day(86_400), 1);
        assert_eq!(utc_day(1_767_225_600), 20_454); // 2026-01-01
        assert_eq!(utc_day(-5), 0);
    }

    #[test]
    fn results_sum_per_policy_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let day = 20_454;
        {
            let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
            let ok = TlsPolicyResult {
                policy: sts(),
                success: 1,
                failure: 0,
                failures: vec![],
            };
            let bad = TlsPolicyResult {
                policy: sts(),
                success: 0,
                failure: 1,
                failures: vec![failure("certificate-not-trusted", "192.0.2.1")],
            };
            s.tls_results_add(day, &[update("example.com.", false, ok.clone())])
                .unwrap();
            s.tls_results_add(day, &[update("EXAMPLE.com", false, bad.clone())])
                .unwrap();
            // Same detail again: its count grows; another IP: a new detail.
            let bad2 = TlsPolicyResult {
                failures: vec![failure("certificate-not-trusted", "192.0.2.2")],
                ..bad.clone()
            };
            s.tls_results_add(
                day,
                &[
                    update("example.com", false, bad.clone()),
                    update("example.com", false, bad2),
                    // No-policy result of the same domain: its own entry.
                    update(
                        "example.com",
                        false,
                        TlsPolicyResult {
                            policy: TlsPolicyDescription::none(),
                            success: 2,
                            failure: 0,
                            failures: vec![],
                        },
                    ),
                    // A host result (DANE) for the MX host.
                    update(
                        "mx.example.com",
                        true,
                        TlsPolicyResult {
                            policy: TlsPolicyDescription {
                                policy_type: TlsPolicyType::Tlsa,
                                policy_string: vec!["3 1 1 00ff".into()],
                                mx_host: vec![],
                            },
                            success: 1,
                            failure: 0,
                            failures: vec![],
                        },
                    ),
                ],
            )
            .unwrap();
            s.tls_results_add(day + 1, &[update("example.com", false, ok)])
                .unwrap();
        }
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let all = s.tls_results_list(None).unwrap();
        assert_eq!(
            all.iter()
                .map(|r| (r.day, r.policy_domain.as_str(), r.is_host))
                .collect::<Vec<_>>(),
            [
                (day, "example.com", false),
                (day, "mx.example.com", true),
                (day + 1, "example.com", false)
            ]
        );
        let r = &all[0];
        assert_eq!(r.recipient_domains, ["example.com"]);
        assert_eq!(r.policies.len(), 2);
        let p = &r.policies[0];
        assert_eq!(p.policy, sts());
        assert_eq!((p.success, p.failure), (1, 3));
        assert_eq!(
            p.failures
                .iter()
                .map(|d| (d.receiving_ip.as_str(), d.count))
                .collect::<Vec<_>>(),
            [("192.0.2.1", 2), ("192.0.2.2", 1)]
        );
        assert_eq!(r.policies[1].policy.policy_type.as_str(), "no-policy-found");
        assert_eq!((r.policies[1].success, r.policies[1].failure), (2, 0));
        assert_eq!(all[1].policies[0].policy.policy_string, ["3 1 1 00ff"]);

        assert_eq!(s.tls_results_list(Some(day + 1)).unwrap().len(), 2);
        assert!(s.tls_results_remove(day, "mx.example.com", true).unwrap());
        assert!(!s.tls_results_remove(day, "mx.example.com", true).unwrap());
        assert_eq!(s.tls_results_remove_before(day + 1).unwrap(), 1);
        let left = s.tls_results_list(None).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].day, day + 1);
    }

    #[test]
    fn failure_details_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let updates: Vec<_> = (0..MAX_FAILURE_DETAILS + 5)
            .map(|i| {
                update(
                    "example.com",
                    false,
                    TlsPolicyResult {
                        policy: sts(),
                        success: 0,
                        failure: 1,
                        failures: vec![failure("validation-failure", &format!("10.0.{i}.1"))],
                    },
                )
            })
            .collect();
        s.tls_results_add(7, &updates).unwrap();
        let r = s.tls_results_list(None).unwrap();
        assert_eq!(r[0].policies[0].failure, (MAX_FAILURE_DETAILS + 5) as u64);
        assert_eq!(r[0].policies[0].failures.len(), MAX_FAILURE_DETAILS);
        assert!(
            s.tls_results_add(7, &[update("", false, r[0].policies[0].clone())])
                .is_err()
        );
    }
}

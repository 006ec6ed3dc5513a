//! The TLSRPT bookkeeping of one delivery attempt (RFC 8460 4): what each
//! session and each pre-connection finding adds to the recipient domain's
//! policy result and the MX host's (DANE) policy result. The attempt
//! collects [`TlsResultUpdate`]s; [`store_tls_results`] sums them into
//! storage.

use std::net::IpAddr;

use moxide_proto::smtp::client::{Delivery, Stage};
use moxide_storage::{
    Store, StoreError, TlsFailureDetail, TlsPolicyDescription, TlsPolicyResult, TlsResultUpdate,
    utc_day,
};

use super::tls_policy::Finding;

/// What one TLS session came to, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionTls {
    /// TLS was established (and verified as the policy asked).
    Success,
    /// TLS failed: the RFC 8460 result type and what happened.
    Failure { result_type: String, detail: String },
}

/// Judges a finished connection that tried TLS. `None` when there was no
/// TLS session to judge (no connection, no greeting, EHLO refused).
pub fn session_tls(d: &Delivery) -> Option<SessionTls> {
    if d.tls.is_some() {
        return Some(SessionTls::Success);
    }
    if let Some(e) = &d.error {
        if let Some(f) = &e.tls_failure {
            return Some(SessionTls::Failure {
                result_type: f.result_type.clone(),
                detail: f.detail.clone(),
            });
        }
        if matches!(e.stage, Stage::Connect | Stage::Greeting | Stage::Ehlo) {
            return None;
        }
    }
    d.greeting.as_ref()?;
    let offered = d.extensions.iter().any(|x| {
        let kw = x.split_ascii_whitespace().next().unwrap_or("");
        kw.eq_ignore_ascii_case("STARTTLS")
    });
    if offered {
        // Offered but refused, and the session went on in plaintext.
        return Some(SessionTls::Failure {
            result_type: "starttls-not-supported".into(),
            detail: "STARTTLS refused".into(),
        });
    }
    Some(SessionTls::Failure {
        result_type: "starttls-not-supported".into(),
        detail: "STARTTLS not offered".into(),
    })
}

/// The TLSRPT results of one attempt, as they are found.
#[derive(Debug, Clone, Default)]
pub struct TlsReport {
    recipient_domain: String,
    updates: Vec<TlsResultUpdate>,
}

impl TlsReport {
    pub fn new(recipient_domain: &str) -> TlsReport {
        TlsReport {
            recipient_domain: recipient_domain.to_string(),
            updates: Vec::new(),
        }
    }

    /// The updates collected so far.
    pub fn updates(&self) -> &[TlsResultUpdate] {
        &self.updates
    }

    fn push(
        &mut self,
        policy_domain: &str,
        is_host: bool,
        policy: &TlsPolicyDescription,
        success: u64,
        failure: u64,
        detail: Option<TlsFailureDetail>,
    ) {
        self.updates.push(TlsResultUpdate {
            policy_domain: policy_domain.to_string(),
            is_host,
            recipient_domain: self.recipient_domain.clone(),
            result: TlsPolicyResult {
                policy: policy.clone(),
                success,
                failure,
                failures: detail.into_iter().collect(),
            },
        });
    }

    /// A finding: a failure detail; `session` also counts a failed session
    /// (a host that was skipped because of it).
    pub fn finding(
        &mut self,
        f: &Finding,
        domain_policy: &TlsPolicyDescription,
        host_policy: Option<&(String, TlsPolicyDescription)>,
        session: bool,
    ) {
        let failure = u64::from(session);
        if f.is_host {
            if let Some((domain, policy)) = host_policy {
                self.push(domain, true, policy, 0, failure, Some(f.detail.clone()));
            }
        } else {
            let domain = self.recipient_domain.clone();
            self.push(
                &domain,
                false,
                domain_policy,
                0,
                failure,
                Some(f.detail.clone()),
            );
        }
    }

    /// A TLS session with `host` at `ip`: counted for the domain policy and,
    /// when DANE applied, for the host policy.
    pub fn session(
        &mut self,
        host: &str,
        ip: IpAddr,
        tls: &SessionTls,
        domain_policy: &TlsPolicyDescription,
        host_policy: Option<&(String, TlsPolicyDescription)>,
    ) {
        let (success, failure, detail) = match tls {
            SessionTls::Success => (1, 0, None),
            SessionTls::Failure {
                result_type,
                detail,
            } => (
                0,
                1,
                Some(TlsFailureDetail {
                    result_type: result_type.clone(),
                    sending_mta_ip: String::new(),
                    receiving_mx_hostname: host.to_string(),
                    receiving_ip: ip.to_string(),
                    failure_reason_code: String::new(),
                    additional_information: detail.clone(),
                    count: 1,
                }),
            ),
        };
        let domain = self.recipient_domain.clone();
        self.push(
            &domain,
            false,
            domain_policy,
            success,
            failure,
            detail.clone(),
        );
        if let Some((hd, hp)) = host_policy {
            self.push(hd, true, hp, success, failure, detail);
        }
    }
}

/// Sums `updates` into the store under the UTC day of `now_unix`.
pub fn store_tls_results(
    store: &Store,
    now_unix: i64,
    updates: &[TlsResultUpdate],
) -> Result<(), StoreError> {
    store.tls_results_add(utc_day(now_unix), updates)
}

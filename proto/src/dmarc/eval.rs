//! DMARC evaluation (RFC 7489 6.6): policy discovery through DNS, identifier
//! alignment, the verdict and the disposition.

use std::fmt;
use std::time::Instant;

use super::record::{self, Alignment, Policy, Record, RecordError};
use crate::dns::{Evaluate, Failure, Lookup, LookupId, Poll, Query, RecordType};

/// How an underlying check (SPF or one DKIM signature) ended, as DMARC
/// needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Pass,
    /// A temporary failure: the message might pass later.
    TempError,
    /// Anything else (fail, softfail, neutral, none, permerror, policy).
    Other,
}

/// An authenticated identifier: the domain SPF checked (MAIL FROM's domain,
/// or the HELO name for the null sender) or a DKIM signature's `d=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub domain: String,
    pub outcome: CheckOutcome,
}

/// The inputs of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The RFC5322.From domain, in canonical form (see `dns::normalize_name`).
    pub from_domain: String,
    /// The SPF result, if SPF was evaluated.
    pub spf: Option<Identifier>,
    /// Every DKIM signature's result.
    pub dkim: Vec<Identifier>,
    /// A uniformly random number 0–99 for `pct` sampling (RFC 7489 6.6.4).
    pub sample: u8,
}

/// The DMARC result (RFC 7489 11.2, RFC 8601 2.7.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcResult {
    Pass,
    Fail,
    /// No policy was found.
    None,
    /// DNS failed, or the message failed while an underlying check had a
    /// temporary error: the sender should try again (451).
    TempError,
    /// The policy record is syntactically wrong: no policy applied.
    PermError,
}

impl fmt::Display for DmarcResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::None => "none",
            DmarcResult::TempError => "temperror",
            DmarcResult::PermError => "permerror",
        })
    }
}

/// The outcome of an evaluation, kept whole for aggregate reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub result: DmarcResult,
    /// What to do with the message: `None` delivers normally, `Quarantine`
    /// delivers to Junk, `Reject` refuses it (550 5.7.1).
    pub disposition: Policy,
    pub from_domain: String,
    /// The domain whose record was used (the From domain or its
    /// organizational domain).
    pub policy_domain: Option<String>,
    pub record: Option<Record>,
    /// The record came from the organizational domain, so `sp` applied.
    pub subdomain_policy_used: bool,
    /// The policy the record asks for (before `pct` sampling).
    pub policy: Option<Policy>,
    /// Sampling by `pct` weakened the disposition (RFC 7489 6.6.4).
    pub sampled_out: bool,
    /// SPF passed for an aligned domain.
    pub spf_aligned: bool,
    /// A DKIM signature passed for an aligned domain (its `d=`).
    pub dkim_aligned: Option<String>,
    /// Human-readable detail for logs and Authentication-Results comments.
    pub reason: String,
}

impl Evaluation {
    /// The `dmarc=` method entry of an Authentication-Results header
    /// (RFC 7489 11.2): `dmarc=fail (p=reject dis=reject) header.from=example.com`.
    pub fn auth_results_entry(&self) -> String {
        let mut s = format!("dmarc={}", self.result);
        if let Some(p) = self.policy {
            s.push_str(&format!(" (p={p} dis={})", self.disposition));
        } else if !self.reason.is_empty() && self.result != DmarcResult::None {
            s.push_str(&format!(" ({})", self.reason.replace(['(', ')'], "")));
        }
        s.push_str(&format!(" header.from={}", self.from_domain));
        s
    }
}

/// The organizational domain of `domain` (RFC 7489 3.2): the public suffix
/// plus one label, from the Public Suffix List; the domain itself when it is
/// a public suffix or has no registrable part.
pub fn organizational_domain(domain: &str) -> String {
    let lower = domain.trim_end_matches('.').to_ascii_lowercase();
    match psl::domain_str(&lower) {
        Some(d) => d.to_string(),
        None => lower,
    }
}

/// Whether `a` and `b` are aligned under `mode` (RFC 7489 3.1.1, 3.1.2).
pub fn aligned(a: &str, b: &str, mode: Alignment) -> bool {
    let (a, b) = (a.trim_end_matches('.'), b.trim_end_matches('.'));
    match mode {
        Alignment::Strict => a.eq_ignore_ascii_case(b),
        Alignment::Relaxed => organizational_domain(a) == organizational_domain(b),
    }
}

#[derive(Debug)]
enum Stage {
    /// Asking for `_dmarc.<from>`; `org` follows when it differs.
    Start,
    WaitExact,
    StartOrg,
    WaitOrg,
    Done(Box<Evaluation>),
}

/// DMARC evaluation as an [`Evaluate`]: at most two TXT lookups
/// (`_dmarc.<From domain>`, then `_dmarc.<organizational domain>`).
#[derive(Debug)]
pub struct Evaluator {
    input: Input,
    org: String,
    deadline: Instant,
    stage: Stage,
}

const EXACT: LookupId = LookupId(1);
const ORG: LookupId = LookupId(2);

/// Outcome of looking at one `_dmarc` TXT answer.
enum Found {
    Record(Record),
    /// Discovery goes on (none, or several DMARC records: RFC 7489 6.6.3).
    Nothing(String),
    Invalid(String),
    Temp(Failure),
}

impl Evaluator {
    /// Starts an evaluation that gives `temperror` at `deadline`.
    pub fn new(input: Input, deadline: Instant) -> Evaluator {
        let org = organizational_domain(&input.from_domain);
        Evaluator {
            input,
            org,
            deadline,
            stage: Stage::Start,
        }
    }

    fn finish(&mut self, e: Evaluation) -> Poll<Evaluation> {
        self.stage = Stage::Done(Box::new(e.clone()));
        Poll::Ready(e)
    }

    fn base(&self, result: DmarcResult, reason: String) -> Evaluation {
        Evaluation {
            result,
            disposition: Policy::None,
            from_domain: self.input.from_domain.clone(),
            policy_domain: None,
            record: None,
            subdomain_policy_used: false,
            policy: None,
            sampled_out: false,
            spf_aligned: false,
            dkim_aligned: None,
            reason,
        }
    }

    fn found(answer: &Lookup) -> Found {
        match answer {
            Lookup::Failed(f) => Found::Temp(f.clone()),
            Lookup::NxDomain { .. } | Lookup::NoData { .. } => {
                Found::Nothing("no DMARC record".into())
            }
            Lookup::Records(r) => {
                let texts: Vec<String> = r
                    .data
                    .iter()
                    .filter_map(|d| d.txt_joined())
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .filter(|t| record::is_dmarc(t))
                    .collect();
                match texts.as_slice() {
                    [] => Found::Nothing("no DMARC record".into()),
                    [one] => match record::parse(one) {
                        Ok(rec) => Found::Record(rec),
                        Err(RecordError::Invalid(e)) => Found::Invalid(e),
                        Err(RecordError::NotDmarc) => Found::Nothing("no DMARC record".into()),
                    },
                    _ => Found::Nothing("several DMARC records".into()),
                }
            }
        }
    }

    /// Applies `rec` found at `domain` to the message.
    fn apply(&self, rec: Record, domain: String, org_level: bool) -> Evaluation {
        let input = &self.input;
        let spf_aligned = input.spf.as_ref().is_some_and(|s| {
            s.outcome == CheckOutcome::Pass && aligned(&s.domain, &input.from_domain, rec.aspf)
        });
        let dkim_aligned = input
            .dkim
            .iter()
            .find(|d| {
                d.outcome == CheckOutcome::Pass && aligned(&d.domain, &input.from_domain, rec.adkim)
            })
            .map(|d| d.domain.clone());
        let policy = match (org_level, rec.subdomain_policy) {
            (true, Some(sp)) => sp,
            _ => rec.policy,
        };
        let mut e = self.base(DmarcResult::Pass, String::new());
        e.policy_domain = Some(domain);
        e.subdomain_policy_used = org_level;
        e.policy = Some(policy);
        e.spf_aligned = spf_aligned;
        e.dkim_aligned = dkim_aligned;
        if spf_aligned || e.dkim_aligned.is_some() {
            e.reason = if spf_aligned {
                "aligned spf pass".into()
            } else {
                "aligned dkim pass".into()
            };
        } else {
            let temp = input
                .spf
                .as_ref()
                .is_some_and(|s| s.outcome == CheckOutcome::TempError)
                || input
                    .dkim
                    .iter()
                    .any(|d| d.outcome == CheckOutcome::TempError);
            if temp {
                e.result = DmarcResult::TempError;
                e.reason = "no aligned pass, and spf or dkim had a temporary error".into();
            } else {
                e.result = DmarcResult::Fail;
                e.reason = "no aligned spf or dkim pass".into();
                // RFC 7489 6.6.4: the policy applies to pct% of failing mail.
                if input.sample < rec.pct {
                    e.disposition = policy;
                } else {
                    e.disposition = policy.weaker();
                    e.sampled_out = true;
                }
            }
        }
        e.record = Some(rec);
        e
    }

    fn query(domain: &str) -> Query {
        Query::new(format!("_dmarc.{domain}"), RecordType::Txt)
    }
}

impl Evaluate for Evaluator {
    type Output = Evaluation;

    fn poll(&mut self, now: Instant) -> Poll<Evaluation> {
        match &self.stage {
            Stage::Done(e) => return Poll::Ready((**e).clone()),
            Stage::Start => {
                if crate::dns::normalize_name(&self.input.from_domain).is_err() {
                    let e = self.base(
                        DmarcResult::PermError,
                        "From domain is not a valid DNS name".into(),
                    );
                    return self.finish(e);
                }
                self.stage = Stage::WaitExact;
                return Poll::Lookup(EXACT, Self::query(&self.input.from_domain));
            }
            Stage::StartOrg => {
                self.stage = Stage::WaitOrg;
                return Poll::Lookup(ORG, Self::query(&self.org));
            }
            Stage::WaitExact | Stage::WaitOrg => {}
        }
        if now >= self.deadline {
            let e = self.base(DmarcResult::TempError, "dns: timeout".into());
            return self.finish(e);
        }
        Poll::Pending
    }

    fn handle_answer(&mut self, _now: Instant, id: LookupId, answer: Lookup) {
        let org_level = match (&self.stage, id) {
            (Stage::WaitExact, EXACT) => false,
            (Stage::WaitOrg, ORG) => true,
            _ => return,
        };
        let domain = if org_level {
            self.org.clone()
        } else {
            self.input.from_domain.clone()
        };
        let e = match Self::found(&answer) {
            Found::Record(rec) => self.apply(rec, domain, org_level),
            Found::Temp(f) => self.base(DmarcResult::TempError, f.to_string()),
            Found::Invalid(why) => {
                let mut e = self.base(DmarcResult::PermError, why);
                e.policy_domain = Some(domain);
                e
            }
            Found::Nothing(why) => {
                if !org_level && self.org != self.input.from_domain {
                    self.stage = Stage::StartOrg;
                    return;
                }
                self.base(DmarcResult::None, why)
            }
        };
        self.stage = Stage::Done(Box::new(e));
    }

    fn deadline(&self) -> Option<Instant> {
        match self.stage {
            Stage::Done(_) => None,
            _ => Some(self.deadline),
        }
    }
}

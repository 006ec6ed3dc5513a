//! Finding the TLSA records of an MX host (RFC 7672 2.2): the host's
//! address records must be DNSSEC-secure, the TLSA base domain is the
//! CNAME-expanded host name when that expansion is secure, else the host
//! name itself (RFC 7672 2.2.3), and TLSA records count only when their
//! answer is authentic.

use std::time::{Duration, Instant};

use super::tlsa::{TlsaRecord, Unusable, tlsa_name, usable};
use crate::dns::{Evaluate, Lookup, LookupId, Poll, Query, RecordType, normalize_name};

/// How long a TLSA lookup may take in all.
pub const TLSA_LOOKUP_TIME: Duration = Duration::from_secs(30);

/// One TLSA answer seen, for tools and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsaAnswer {
    /// The name asked: `_25._tcp.<base domain>`.
    pub name: String,
    pub lookup: Lookup,
}

/// The outcome of a TLSA lookup for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsaOutcome {
    /// DANE applies: authenticate the server with these records.
    Dane(DanePolicy),
    /// Secure TLSA records exist but none is usable: TLS is required, the
    /// certificate is not authenticated (RFC 7672 2.2, 3.1.3).
    NoUsableRecords {
        name: String,
        unusable: Vec<Unusable>,
    },
    /// DANE does not apply (no secure address or no secure TLSA records):
    /// deliver as without DANE. The text says why.
    NotDane(String),
    /// The DNS failed: defer delivery (RFC 7672 2.2: a failed TLSA lookup
    /// on a secure host is not "no records").
    TempError(String),
}

/// What the DANE verifier needs for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanePolicy {
    /// The usable records (their order as in the answer).
    pub records: Vec<TlsaRecord>,
    /// Records of the set that were not usable, with why.
    pub unusable: Vec<Unusable>,
    /// The TLSA base domain the records were found at.
    pub base_domain: String,
    /// Names a DANE-TA certificate must be valid for (RFC 7672 3.2.2): the
    /// TLSA base domain and the MX host name, without duplicates.
    pub reference_names: Vec<String>,
}

/// The full result: the outcome and every TLSA answer seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsaLookupResult {
    pub outcome: TlsaOutcome,
    /// Whether the host's address records were DNSSEC-secure, and the name
    /// the CNAME chain of the address lookup ended at.
    pub address_secure: bool,
    pub canonical_host: Option<String>,
    pub answers: Vec<TlsaAnswer>,
}

#[derive(Debug, Clone)]
enum Step {
    Start,
    /// Waiting for the address lookup (A, then AAAA if A has none).
    Address(RecordType),
    /// Waiting for the TLSA lookup at `base`; `then` is the next base to
    /// try when there are no secure records there.
    Tlsa {
        base: String,
        then: Option<String>,
    },
    Done(TlsaLookupResult),
}

/// The TLSA lookup for `host` and `port`, as an evaluator.
#[derive(Debug, Clone)]
pub struct TlsaLookup {
    host: String,
    port: u16,
    deadline: Option<Instant>,
    step: Step,
    next_id: u32,
    waiting: Option<LookupId>,
    pending: Option<Lookup>,
    address_secure: bool,
    canonical_host: Option<String>,
    answers: Vec<TlsaAnswer>,
}

impl TlsaLookup {
    /// A lookup for the MX host `host` (any case, trailing dot allowed) and
    /// the port (25 for SMTP).
    pub fn new(host: &str, port: u16) -> TlsaLookup {
        TlsaLookup {
            host: host.to_string(),
            port,
            deadline: None,
            step: Step::Start,
            next_id: 0,
            waiting: None,
            pending: None,
            address_secure: false,
            canonical_host: None,
            answers: Vec::new(),
        }
    }

    fn finish(&mut self, outcome: TlsaOutcome) -> TlsaLookupResult {
        let r = TlsaLookupResult {
            outcome,
            address_secure: self.address_secure,
            canonical_host: self.canonical_host.clone(),
            answers: std::mem::take(&mut self.answers),
        };
        self.step = Step::Done(r.clone());
        r
    }

    fn ask(&mut self, q: Query) -> Poll<TlsaLookupResult> {
        let id = LookupId(self.next_id);
        self.next_id = self.next_id.saturating_add(1);
        self.waiting = Some(id);
        Poll::Lookup(id, q)
    }

    fn ask_tlsa(&mut self, base: String, then: Option<String>) -> Poll<TlsaLookupResult> {
        let q = Query::new(tlsa_name(self.port, &base), RecordType::Tlsa);
        self.step = Step::Tlsa { base, then };
        self.ask(q)
    }

    /// The reference names for records found at `base`.
    fn reference_names(&self, base: &str) -> Vec<String> {
        let mut names = vec![base.to_string()];
        if self.host != base {
            names.push(self.host.clone());
        }
        names
    }
}

impl Evaluate for TlsaLookup {
    type Output = TlsaLookupResult;

    fn poll(&mut self, now: Instant) -> Poll<TlsaLookupResult> {
        let step = self.step.clone();
        let waiting = matches!(step, Step::Address(_) | Step::Tlsa { .. });
        if waiting && self.pending.is_none() && self.deadline.is_some_and(|d| now >= d) {
            let what = match &step {
                Step::Address(t) => format!("{t} lookup of {}", self.host),
                Step::Tlsa { base, .. } => format!("TLSA lookup of {}", tlsa_name(self.port, base)),
                _ => String::new(),
            };
            return Poll::Ready(self.finish(TlsaOutcome::TempError(format!("{what} timed out"))));
        }
        match step {
            Step::Done(r) => Poll::Ready(r),
            Step::Start => {
                self.deadline = now.checked_add(TLSA_LOOKUP_TIME);
                match normalize_name(&self.host) {
                    Ok(h) => self.host = h,
                    Err(e) => {
                        let r =
                            self.finish(TlsaOutcome::NotDane(format!("host {:?}: {e}", self.host)));
                        return Poll::Ready(r);
                    }
                }
                self.step = Step::Address(RecordType::A);
                self.ask(Query::new(self.host.clone(), RecordType::A))
            }
            Step::Address(rtype) => {
                let Some(answer) = self.pending.take() else {
                    return Poll::Pending;
                };
                match answer {
                    Lookup::Failed(f) => Poll::Ready(self.finish(TlsaOutcome::TempError(format!(
                        "{rtype} lookup of {}: {f}",
                        self.host
                    )))),
                    Lookup::NoData { authentic: true } if rtype == RecordType::A => {
                        self.step = Step::Address(RecordType::Aaaa);
                        self.ask(Query::new(self.host.clone(), RecordType::Aaaa))
                    }
                    Lookup::NxDomain { .. } | Lookup::NoData { .. } => Poll::Ready(self.finish(
                        TlsaOutcome::NotDane(format!("{} has no address records", self.host)),
                    )),
                    Lookup::Records(r) if !r.authentic => {
                        // RFC 7672 2.2.2: an insecure MX host gets no DANE.
                        Poll::Ready(self.finish(TlsaOutcome::NotDane(format!(
                            "the address records of {} are not DNSSEC-signed",
                            self.host
                        ))))
                    }
                    Lookup::Records(r) => {
                        self.address_secure = true;
                        self.canonical_host = Some(r.canonical.clone());
                        // RFC 7672 2.2.3: try the expanded name first, then
                        // the original.
                        if r.canonical != self.host {
                            let host = self.host.clone();
                            self.ask_tlsa(r.canonical, Some(host))
                        } else {
                            let host = self.host.clone();
                            self.ask_tlsa(host, None)
                        }
                    }
                }
            }
            Step::Tlsa { base, then } => {
                let Some(answer) = self.pending.take() else {
                    return Poll::Pending;
                };
                let name = tlsa_name(self.port, &base);
                self.answers.push(TlsaAnswer {
                    name: name.clone(),
                    lookup: answer.clone(),
                });
                match answer {
                    Lookup::Failed(f) => Poll::Ready(self.finish(TlsaOutcome::TempError(format!(
                        "TLSA lookup of {name}: {f}"
                    )))),
                    Lookup::Records(r) if r.authentic => {
                        let mut records = Vec::new();
                        let mut unusable = Vec::new();
                        for d in &r.data {
                            match usable(d) {
                                Ok(t) => records.push(t),
                                Err(e) => unusable.push(e),
                            }
                        }
                        if records.is_empty() {
                            return Poll::Ready(
                                self.finish(TlsaOutcome::NoUsableRecords { name, unusable }),
                            );
                        }
                        let reference_names = self.reference_names(&base);
                        Poll::Ready(self.finish(TlsaOutcome::Dane(DanePolicy {
                            records,
                            unusable,
                            base_domain: base,
                            reference_names,
                        })))
                    }
                    other => match then {
                        Some(next) => self.ask_tlsa(next, None),
                        None => {
                            let why = if other.is_void() {
                                format!("no TLSA records at {name}")
                            } else {
                                format!("the TLSA records at {name} are not DNSSEC-signed")
                            };
                            Poll::Ready(self.finish(TlsaOutcome::NotDane(why)))
                        }
                    },
                }
            }
        }
    }

    fn handle_answer(&mut self, _now: Instant, id: LookupId, answer: Lookup) {
        if self.waiting == Some(id) {
            self.waiting = None;
            self.pending = Some(answer);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.step {
            Step::Done(_) | Step::Start => None,
            _ => self.deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{Failure, Zone, run};

    const EE: &str = "3 1 1 2bb9a7f2b4f5de3a9c1e7b9e0f2e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e";

    fn check(zone: &str, host: &str) -> (TlsaLookupResult, Vec<String>) {
        let zone = Zone::parse(zone).unwrap();
        let (r, asked) = run(&mut TlsaLookup::new(host, 25), &zone, Instant::now());
        (r, asked.iter().map(|q| q.to_string()).collect())
    }

    #[test]
    fn secure_host_with_records() {
        let (r, asked) = check(
            &format!(
                "mx.example.com A 192.0.2.1\n_25._tcp.mx.example.com TLSA {EE}\n\
                 _25._tcp.mx.example.com TLSA 1 1 1 {}\n",
                "00".repeat(32)
            ),
            "MX.Example.com.",
        );
        assert_eq!(asked, ["mx.example.com A", "_25._tcp.mx.example.com TLSA"]);
        let TlsaOutcome::Dane(p) = r.outcome else {
            panic!("{r:?}")
        };
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].to_string(), EE);
        assert_eq!(p.unusable, vec![Unusable::PkixUsage(1)]);
        assert_eq!(p.base_domain, "mx.example.com");
        assert_eq!(p.reference_names, ["mx.example.com"]);
        assert!(r.address_secure);
        assert_eq!(r.answers.len(), 1);
    }

    #[test]
    fn cname_expanded_name_first_then_original() {
        let zone = "mx.example.com CNAME mx.hoster.net\nmx.hoster.net A 192.0.2.1\n\
                    _25._tcp.mx.example.com TLSA "
            .to_string()
            + EE;
        let (r, asked) = check(&zone, "mx.example.com");
        assert_eq!(
            asked,
            [
                "mx.example.com A",
                "_25._tcp.mx.hoster.net TLSA",
                "_25._tcp.mx.example.com TLSA"
            ]
        );
        let TlsaOutcome::Dane(p) = r.outcome else {
            panic!("{r:?}")
        };
        assert_eq!(p.base_domain, "mx.example.com");
        assert_eq!(r.canonical_host.as_deref(), Some("mx.hoster.net"));
        // Records at the expanded name win; both names are references.
        let zone = "mx.example.com CNAME mx.hoster.net\nmx.hoster.net A 192.0.2.1\n\
                    _25._tcp.mx.hoster.net TLSA "
            .to_string()
            + EE;
        let (r, asked) = check(&zone, "mx.example.com");
        assert_eq!(asked.len(), 2);
        let TlsaOutcome::Dane(p) = r.outcome else {
            panic!("{r:?}")
        };
        assert_eq!(p.reference_names, ["mx.hoster.net", "mx.example.com"]);
    }

    #[test]
    fn insecure_and_missing() {
        let (r, asked) = check(
            &format!(
                "insecure example.com\nmx.example.com A 192.0.2.1\n_25._tcp.mx.example.com TLSA {EE}"
            ),
            "mx.example.com",
        );
        assert_eq!(asked, ["mx.example.com A"]);
        assert_eq!(
            r.outcome,
            TlsaOutcome::NotDane(
                "the address records of mx.example.com are not DNSSEC-signed".into()
            )
        );
        // Secure host, insecure TLSA zone.
        let (r, _) = check(
            &format!(
                "insecure _tcp.mx.example.com\nmx.example.com A 192.0.2.1\n_25._tcp.mx.example.com TLSA {EE}"
            ),
            "mx.example.com",
        );
        assert_eq!(
            r.outcome,
            TlsaOutcome::NotDane(
                "the TLSA records at _25._tcp.mx.example.com are not DNSSEC-signed".into()
            )
        );
        assert!(!r.answers[0].lookup.authentic());
        let (r, _) = check("mx.example.com A 192.0.2.1", "mx.example.com");
        assert_eq!(
            r.outcome,
            TlsaOutcome::NotDane("no TLSA records at _25._tcp.mx.example.com".into())
        );
        // IPv6-only host: AAAA after a secure NODATA for A.
        let (r, asked) = check(
            &format!("mx.example.com AAAA 2001:db8::1\n_25._tcp.mx.example.com TLSA {EE}"),
            "mx.example.com",
        );
        assert_eq!(asked.len(), 3);
        assert!(matches!(r.outcome, TlsaOutcome::Dane(_)));
        let (r, _) = check("", "mx.example.com");
        assert_eq!(
            r.outcome,
            TlsaOutcome::NotDane("mx.example.com has no address records".into())
        );
    }

    #[test]
    fn unusable_only_and_failures() {
        let (r, _) = check(
            &format!(
                "mx.example.com A 192.0.2.1\n_25._tcp.mx.example.com TLSA 0 0 1 {}",
                "11".repeat(32)
            ),
            "mx.example.com",
        );
        assert_eq!(
            r.outcome,
            TlsaOutcome::NoUsableRecords {
                name: "_25._tcp.mx.example.com".into(),
                unusable: vec![Unusable::PkixUsage(0)]
            }
        );
        let (r, _) = check(
            "mx.example.com A 192.0.2.1\n_25._tcp.mx.example.com TLSA !servfail",
            "mx.example.com",
        );
        assert_eq!(
            r.outcome,
            TlsaOutcome::TempError(format!(
                "TLSA lookup of _25._tcp.mx.example.com: {}",
                Failure::ServFail
            ))
        );
        let (r, _) = check("mx.example.com A !timeout", "mx.example.com");
        assert_eq!(
            r.outcome,
            TlsaOutcome::TempError(format!("A lookup of mx.example.com: {}", Failure::Timeout))
        );
    }

    #[test]
    fn deadline_gives_temperror() {
        let t0 = Instant::now();
        let mut ev = TlsaLookup::new("mx.example.com", 25);
        assert!(matches!(ev.poll(t0), Poll::Lookup(..)));
        assert_eq!(ev.poll(t0), Poll::Pending);
        let d = ev.deadline().unwrap();
        assert_eq!(d, t0 + TLSA_LOOKUP_TIME);
        let Poll::Ready(r) = ev.poll(d) else { panic!() };
        assert_eq!(
            r.outcome,
            TlsaOutcome::TempError("A lookup of mx.example.com timed out".into())
        );
    }
}

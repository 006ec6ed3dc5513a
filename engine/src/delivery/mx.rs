//! Where mail for a domain goes (RFC 5321 5.1): the MX lookup with its
//! null-MX (RFC 7505) and implicit-MX rules, MX hosts in preference order,
//! and per host its IP addresses in the order they are tried. Both are
//! [`Evaluate`] evaluators, answered by the runtime's resolver or a test
//! [`Zone`](moxide_proto::dns::Zone).

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use moxide_proto::dns::{
    Evaluate, Lookup, LookupId, Poll, Query, Rdata, RecordType, normalize_name,
};

/// How long the MX lookup, or one host's address lookups, may take.
pub const LOOKUP_TIME: Duration = Duration::from_secs(30);

/// One host to deliver to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxHost {
    /// The host name, canonical (lower case, no trailing dot).
    pub name: String,
    /// The MX preference; `None` for the implicit MX (the domain itself).
    pub preference: Option<u16>,
}

/// The hosts for a recipient domain, in the order to try them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destinations {
    /// The recipient domain, canonical.
    pub domain: String,
    /// The name the MX answer was for after CNAMEs (the domain when none).
    pub expanded: String,
    /// MX records were found (else the domain is its own implicit MX).
    pub have_mx: bool,
    /// The MX answer (CNAMEs included), or the authenticated denial that
    /// made the domain its implicit MX, was DNSSEC-verified: a
    /// precondition for DANE (RFC 7672 2.2.1).
    pub authentic: bool,
    pub hosts: Vec<MxHost>,
}

/// Why there is nowhere to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxError {
    /// A single MX record with the root as host (RFC 7505 3): the domain
    /// accepts no mail. Permanent.
    NullMx,
    /// The domain does not exist (NXDOMAIN). Permanent.
    NoSuchDomain,
    /// The domain is not a valid DNS name. Permanent.
    InvalidDomain(String),
    /// DNS failed or MX records are unusable now; try again later.
    Temporary(String),
}

impl MxError {
    /// Whether retrying cannot help.
    pub fn permanent(&self) -> bool {
        !matches!(self, MxError::Temporary(_))
    }
}

impl fmt::Display for MxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MxError::NullMx => {
                f.write_str("domain does not accept mail (null MX record, RFC 7505)")
            }
            MxError::NoSuchDomain => f.write_str("domain does not exist (NXDOMAIN)"),
            MxError::InvalidDomain(e) => write!(f, "invalid recipient domain: {e}"),
            MxError::Temporary(e) => f.write_str(e),
        }
    }
}

/// A small deterministic generator (SplitMix64) for shuffling MX hosts of
/// equal preference from an injected seed.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value below `n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        // The modulo bias is irrelevant for ordering a handful of hosts.
        (self.next() % (n as u64)) as usize
    }
}

/// Orders MX records: by preference, equal preferences shuffled from
/// `seed` (RFC 5321 5.1: "randomize them to spread the load"), duplicates
/// and invalid names dropped. Returns the hosts and how many names were
/// invalid.
fn order_mx(records: &[(u16, String)], seed: u64) -> (Vec<MxHost>, usize) {
    let mut valid: Vec<(u16, String)> = Vec::new();
    let mut invalid = 0;
    for (pref, host) in records {
        match normalize_name(host) {
            Ok(h) => {
                if !valid.iter().any(|(_, v)| *v == h) {
                    valid.push((*pref, h));
                }
            }
            Err(_) => invalid += 1,
        }
    }
    valid.sort_by_key(|(p, _)| *p);
    let mut rng = SplitMix(seed);
    let mut start = 0;
    while start < valid.len() {
        let pref = valid[start].0;
        let end = valid[start..]
            .iter()
            .position(|(p, _)| *p != pref)
            .map_or(valid.len(), |n| start + n);
        // Fisher-Yates within [start, end).
        for i in (start + 1..end).rev() {
            let j = start + rng.below(i - start + 1);
            valid.swap(i, j);
        }
        start = end;
    }
    let hosts = valid
        .into_iter()
        .map(|(p, name)| MxHost {
            name,
            preference: Some(p),
        })
        .collect();
    (hosts, invalid)
}

/// The MX lookup for a recipient domain, as an evaluator.
#[derive(Debug, Clone)]
pub struct MxLookup {
    domain: String,
    seed: u64,
    started: bool,
    deadline: Option<Instant>,
    waiting: Option<LookupId>,
    answer: Option<Lookup>,
    result: Option<Result<Destinations, MxError>>,
}

impl MxLookup {
    /// A lookup for `domain` (any case, trailing dot allowed). `seed` is the
    /// injected randomness that orders MX hosts of equal preference.
    pub fn new(domain: &str, seed: u64) -> MxLookup {
        MxLookup {
            domain: domain.to_string(),
            seed,
            started: false,
            deadline: None,
            waiting: None,
            answer: None,
            result: None,
        }
    }

    fn decide(&self, answer: Lookup) -> Result<Destinations, MxError> {
        let implicit = |expanded: String, authentic: bool| Destinations {
            domain: self.domain.clone(),
            expanded: expanded.clone(),
            have_mx: false,
            authentic,
            hosts: vec![MxHost {
                name: expanded,
                preference: None,
            }],
        };
        match answer {
            Lookup::Failed(f) => Err(MxError::Temporary(format!(
                "MX lookup of {}: {f}",
                self.domain
            ))),
            // RFC 5321 5.1: an unknown domain is an error.
            Lookup::NxDomain { .. } => Err(MxError::NoSuchDomain),
            // RFC 5321 5.1: no MX records, the domain is its own implicit MX.
            Lookup::NoData { authentic } => Ok(implicit(self.domain.clone(), authentic)),
            Lookup::Records(r) => {
                let mx: Vec<(u16, String)> = r
                    .data
                    .iter()
                    .filter_map(|d| match d {
                        Rdata::Mx {
                            preference,
                            exchange,
                        } => Some((*preference, exchange.clone())),
                        _ => None,
                    })
                    .collect();
                if mx.is_empty() {
                    return Ok(implicit(r.canonical.clone(), r.authentic));
                }
                // RFC 7505 3: a single MX whose host is the root ("."):
                // the domain accepts no mail. A "." among other records is
                // just an invalid host, ignored.
                if let [(_, only)] = mx.as_slice()
                    && only.trim_end_matches('.').is_empty()
                {
                    return Err(MxError::NullMx);
                }
                let (hosts, invalid) = order_mx(&mx, self.seed);
                if hosts.is_empty() {
                    return Err(MxError::Temporary(format!(
                        "the {invalid} MX records of {} have no valid host names",
                        self.domain
                    )));
                }
                Ok(Destinations {
                    domain: self.domain.clone(),
                    expanded: r.canonical,
                    have_mx: true,
                    authentic: r.authentic,
                    hosts,
                })
            }
        }
    }
}

impl Evaluate for MxLookup {
    type Output = Result<Destinations, MxError>;

    fn poll(&mut self, now: Instant) -> Poll<Self::Output> {
        if let Some(r) = &self.result {
            return Poll::Ready(r.clone());
        }
        if !self.started {
            self.started = true;
            // A U-label domain is looked up in A-labels (RFC 5891 5.4).
            match moxide_proto::dns::domain_to_ascii(&self.domain) {
                Ok(d) => self.domain = d,
                Err(e) => {
                    let r = Err(MxError::InvalidDomain(format!("{:?}: {e}", self.domain)));
                    self.result = Some(r.clone());
                    return Poll::Ready(r);
                }
            }
            self.deadline = now.checked_add(LOOKUP_TIME);
            let id = LookupId(0);
            self.waiting = Some(id);
            return Poll::Lookup(id, Query::new(self.domain.clone(), RecordType::Mx));
        }
        let r = match self.answer.take() {
            Some(answer) => self.decide(answer),
            None if self.deadline.is_some_and(|d| now >= d) => Err(MxError::Temporary(format!(
                "MX lookup of {} timed out",
                self.domain
            ))),
            None => return Poll::Pending,
        };
        self.result = Some(r.clone());
        Poll::Ready(r)
    }

    fn handle_answer(&mut self, _now: Instant, id: LookupId, answer: Lookup) {
        if self.waiting == Some(id) {
            self.waiting = None;
            self.answer = Some(answer);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        if self.result.is_some() || !self.started {
            None
        } else {
            self.deadline
        }
    }
}

/// Which address families to use, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpFamilies {
    /// IPv6 addresses first, then IPv4 (the default).
    #[default]
    V6ThenV4,
    V4ThenV6,
    V6Only,
    V4Only,
}

/// Which addresses a host may be reached at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressPolicy {
    pub families: IpFamilies,
    /// Allow loopback addresses (tests and local set-ups only: an MX
    /// pointing at 127.0.0.1 would otherwise loop mail back to us).
    pub allow_loopback: bool,
}

/// Why an address is never dialed, or `None` when it may be.
pub fn refused_address(ip: IpAddr, policy: &AddressPolicy) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if ip.is_unspecified() {
        return Some("unspecified address");
    }
    if ip.is_multicast() {
        return Some("multicast address");
    }
    if let IpAddr::V4(v4) = ip
        && v4.is_broadcast()
    {
        return Some("broadcast address");
    }
    if ip.is_loopback() && !policy.allow_loopback {
        return Some("loopback address");
    }
    None
}

/// The addresses of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddresses {
    /// The host name asked for, canonical.
    pub host: String,
    /// The name the address records were found at after CNAMEs.
    pub canonical: String,
    /// The addresses to try, in order.
    pub ips: Vec<IpAddr>,
    /// Addresses found but refused by the [`AddressPolicy`], with why.
    pub refused: Vec<(IpAddr, &'static str)>,
    /// Every address answer used was DNSSEC-verified (DANE precondition).
    pub authentic: bool,
    /// The host has addresses of both families.
    pub dual_stack: bool,
}

/// The A/AAAA lookups of one host, as an evaluator. Both lookups are asked
/// at once; the result is an error when no usable address remains.
#[derive(Debug, Clone)]
pub struct HostLookup {
    host: String,
    policy: AddressPolicy,
    started: bool,
    deadline: Option<Instant>,
    /// Lookup ids in flight, with their record type.
    asked: Vec<(LookupId, RecordType)>,
    answers: Vec<(RecordType, Lookup)>,
    result: Option<Result<HostAddresses, String>>,
}

impl HostLookup {
    /// The lookups for `host` (canonical or not) under `policy`.
    pub fn new(host: &str, policy: AddressPolicy) -> HostLookup {
        HostLookup {
            host: host.to_string(),
            policy,
            started: false,
            deadline: None,
            asked: Vec::new(),
            answers: Vec::new(),
            result: None,
        }
    }

    fn types(&self) -> &'static [RecordType] {
        match self.policy.families {
            IpFamilies::V6ThenV4 => &[RecordType::Aaaa, RecordType::A],
            IpFamilies::V4ThenV6 => &[RecordType::A, RecordType::Aaaa],
            IpFamilies::V6Only => &[RecordType::Aaaa],
            IpFamilies::V4Only => &[RecordType::A],
        }
    }

    fn decide(&self, timed_out: bool) -> Result<HostAddresses, String> {
        let mut out = HostAddresses {
            host: self.host.clone(),
            canonical: self.host.clone(),
            ips: Vec::new(),
            refused: Vec::new(),
            authentic: true,
            dual_stack: false,
        };
        let mut problems = Vec::new();
        let (mut have4, mut have6) = (false, false);
        for rtype in self.types() {
            let Some((_, answer)) = self.answers.iter().find(|(t, _)| t == rtype) else {
                out.authentic = false;
                if timed_out {
                    problems.push(format!("{rtype} lookup of {} timed out", self.host));
                }
                continue;
            };
            out.authentic &= answer.authentic();
            match answer {
                Lookup::Failed(f) => problems.push(format!("{rtype} lookup of {}: {f}", self.host)),
                Lookup::NxDomain { .. } | Lookup::NoData { .. } => {}
                Lookup::Records(r) => {
                    out.canonical = r.canonical.clone();
                    for d in &r.data {
                        let ip = match d {
                            Rdata::A(a) => IpAddr::V4(*a),
                            Rdata::Aaaa(a) => IpAddr::V6(*a),
                            _ => continue,
                        };
                        have4 |= ip.is_ipv4();
                        have6 |= ip.is_ipv6();
                        match refused_address(ip, &self.policy) {
                            Some(why) => out.refused.push((ip, why)),
                            None if !out.ips.contains(&ip) => out.ips.push(ip),
                            None => {}
                        }
                    }
                }
            }
        }
        out.dual_stack = have4 && have6;
        if !out.ips.is_empty() {
            return Ok(out);
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        if let Some((ip, why)) = out.refused.first() {
            return Err(format!(
                "{} resolves only to refused addresses ({ip}: {why})",
                self.host
            ));
        }
        Err(format!("{} has no address records", self.host))
    }
}

impl Evaluate for HostLookup {
    type Output = Result<HostAddresses, String>;

    fn poll(&mut self, now: Instant) -> Poll<Self::Output> {
        if let Some(r) = &self.result {
            return Poll::Ready(r.clone());
        }
        if !self.started {
            self.started = true;
            match normalize_name(&self.host) {
                Ok(h) => self.host = h,
                Err(e) => {
                    let r = Err(format!("invalid host name {:?}: {e}", self.host));
                    self.result = Some(r.clone());
                    return Poll::Ready(r);
                }
            }
            self.deadline = now.checked_add(LOOKUP_TIME);
        }
        let types = self.types();
        if self.asked.len() < types.len() {
            let rtype = types[self.asked.len()];
            let id = LookupId(self.asked.len() as u32);
            self.asked.push((id, rtype));
            return Poll::Lookup(id, Query::new(self.host.clone(), rtype));
        }
        let all = self.answers.len() == types.len();
        let timed_out = !all && self.deadline.is_some_and(|d| now >= d);
        if !all && !timed_out {
            return Poll::Pending;
        }
        let r = self.decide(timed_out);
        self.result = Some(r.clone());
        Poll::Ready(r)
    }

    fn handle_answer(&mut self, _now: Instant, id: LookupId, answer: Lookup) {
        let Some(&(_, rtype)) = self.asked.iter().find(|(i, _)| *i == id) else {
            return;
        };
        if self.result.is_none() && !self.answers.iter().any(|(t, _)| *t == rtype) {
            self.answers.push((rtype, answer));
        }
    }

    fn deadline(&self) -> Option<Instant> {
        if self.result.is_some() || !self.started {
            None
        } else {
            self.deadline
        }
    }
}

#[cfg(test)]
#[path = "mx_tests.rs"]
mod tests;

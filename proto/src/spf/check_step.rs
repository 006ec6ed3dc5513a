//! check_host's steps: fetching a record (RFC 7208 4.4, 4.5), evaluating
//! each mechanism (RFC 7208 5) and modifier (RFC 7208 6), and the answers to
//! their lookups.

use std::net::IpAddr;

use super::SpfResult;
use super::check::{
    CheckHost, Frame, MAX_DNS_TERMS, MAX_NAMES, MAX_VOID_LOOKUPS, Purpose, Step, is_same_or_sub,
};
use super::macros::{MacroString, dot_format};
use super::record::{DualCidr, Mechanism, Record, is_spf_record};
use crate::dns::{Lookup, Query, Rdata, RecordType};

impl CheckHost {
    /// One step without outstanding lookups.
    pub(super) fn step(&mut self) -> Step {
        if let Some((exp, domain)) = self.explaining.clone() {
            return self.explain(&exp, &domain);
        }
        let Some(frame) = self.frames.last() else {
            return Step::Abort(SpfResult::PermError, "internal: no frame".into());
        };
        let Some(record) = &frame.record else {
            // RFC 7208 4.3: a malformed or single-label domain has no policy.
            if let Err(why) = check_domain(&frame.domain) {
                return Step::FrameDone(
                    SpfResult::None,
                    Some(format!("{:?} is not a valid domain: {why}", frame.domain)),
                );
            }
            let q = Query::new(frame.domain.to_ascii_lowercase(), RecordType::Txt);
            self.ask(vec![q], Purpose::Record);
            return Step::Continue;
        };
        let index = frame.next;
        let domain = frame.domain.clone();
        let directive = record.directives.get(index).cloned();
        let redirect = record.redirect.clone();
        let Some(directive) = directive else {
            // RFC 7208 4.7: no match; redirect if there is one, else neutral.
            let Some(target) = redirect else {
                return Step::FrameDone(SpfResult::Neutral, None);
            };
            if let Some(step) = self.need_validated(&target) {
                return step;
            }
            if let Some(step) = self.count_term() {
                return step;
            }
            let domain = self.expand(&target);
            let Some(frame) = self.frames.last_mut() else {
                return Step::Continue;
            };
            frame.domain = domain;
            frame.record = None;
            frame.next = 0;
            frame.must_exist = true;
            return Step::Continue;
        };
        let mechanism = directive.mechanism;
        let spec = match &mechanism {
            Mechanism::Include(d) | Mechanism::Exists(d) => Some(d),
            Mechanism::A { domain, .. } | Mechanism::Mx { domain, .. } => domain.as_ref(),
            Mechanism::Ptr(d) => d.as_ref(),
            _ => None,
        };
        if let Some(spec) = spec
            && let Some(step) = self.need_validated(spec)
        {
            return step;
        }
        if mechanism.queries_dns()
            && let Some(step) = self.count_term()
        {
            return step;
        }
        let target = spec.map_or_else(|| domain.clone(), |s| self.expand(s));
        if let Some(frame) = self.frames.last_mut() {
            frame.current = index;
            frame.next = index + 1;
        }
        match mechanism {
            Mechanism::All => Step::Match,
            Mechanism::Ip4 { addr, prefix } => {
                if in_prefix(self.ip, IpAddr::V4(addr), prefix) {
                    Step::Match
                } else {
                    Step::Continue
                }
            }
            Mechanism::Ip6 { addr, prefix } => {
                if in_prefix(self.ip, IpAddr::V6(addr), prefix) {
                    Step::Match
                } else {
                    Step::Continue
                }
            }
            Mechanism::Include(_) => {
                self.frames.push(Frame {
                    domain: target,
                    record: None,
                    next: 0,
                    current: 0,
                    must_exist: true,
                });
                Step::Continue
            }
            Mechanism::A { cidr, .. } => match lookup_name(&target) {
                Some(name) => {
                    let q = Query::new(name, self.address_type());
                    self.ask(vec![q], Purpose::Addresses(cidr));
                    Step::Continue
                }
                None => Step::Continue,
            },
            Mechanism::Mx { cidr, .. } => match lookup_name(&target) {
                Some(name) => {
                    self.ask(
                        vec![Query::new(name, RecordType::Mx)],
                        Purpose::MxNames(cidr),
                    );
                    Step::Continue
                }
                None => Step::Continue,
            },
            Mechanism::Exists(_) => match lookup_name(&target) {
                Some(name) => {
                    // RFC 7208 5.7: always an A lookup, even for IPv6 clients.
                    self.ask(vec![Query::new(name, RecordType::A)], Purpose::Exists);
                    Step::Continue
                }
                None => Step::Continue,
            },
            Mechanism::Ptr(_) => {
                let q = Query::new(reverse_name(self.ip), RecordType::Ptr);
                self.ask(vec![q], Purpose::PtrNames(Some(target)));
                Step::Continue
            }
        }
    }

    /// Before expanding `spec`: looks up `%{p}` if it is needed and unknown.
    fn need_validated(&mut self, spec: &MacroString) -> Option<Step> {
        if self.validated.is_some() || !spec.uses_validated_name() {
            return None;
        }
        let q = Query::new(reverse_name(self.ip), RecordType::Ptr);
        self.ask(vec![q], Purpose::PtrNames(None));
        Some(Step::Continue)
    }

    /// Counts a DNS-querying term (RFC 7208 4.6.4).
    fn count_term(&mut self) -> Option<Step> {
        self.dns_terms += 1;
        (self.dns_terms > MAX_DNS_TERMS).then(|| {
            Step::Abort(
                SpfResult::PermError,
                format!("more than {MAX_DNS_TERMS} DNS-querying terms (include, a, mx, ptr, exists, redirect)"),
            )
        })
    }

    /// Counts a void lookup (RFC 7208 4.6.4).
    fn count_void(&mut self, what: &str) -> Option<Step> {
        self.void_lookups += 1;
        (self.void_lookups > MAX_VOID_LOOKUPS).then(|| {
            Step::Abort(
                SpfResult::PermError,
                format!("more than {MAX_VOID_LOOKUPS} void lookups (the last: {what})"),
            )
        })
    }

    /// Expands a domain-spec for the current frame's domain.
    fn expand(&self, spec: &MacroString) -> String {
        let domain = self.frames.last().map_or("", |f| f.domain.as_str());
        let validated = self.validated_for(domain);
        spec.expand_domain(&self.context(domain, &validated))
    }

    /// A for an IPv4 client, AAAA for IPv6 (RFC 7208 5).
    fn address_type(&self) -> RecordType {
        match self.ip {
            IpAddr::V4(_) => RecordType::A,
            IpAddr::V6(_) => RecordType::Aaaa,
        }
    }

    /// The explanation of a `fail` (RFC 7208 6.2): the TXT record at the
    /// `exp=` domain; any problem falls back to the default explanation.
    fn explain(&mut self, exp: &MacroString, domain: &str) -> Step {
        if let Some(step) = self.need_validated(exp) {
            return step;
        }
        if let Some(text) = self.explain_text.clone() {
            if let Some(step) = self.need_validated(&text) {
                return step;
            }
            let validated = self.validated_for(domain);
            let text = text.expand(&self.context(domain, &validated));
            self.finish(SpfResult::Fail, None, Some(text));
            return Step::Continue;
        }
        let validated = self.validated_for(domain);
        let target = exp.expand_domain(&self.context(domain, &validated));
        match lookup_name(&target) {
            Some(name) => self.ask(
                vec![Query::new(name, RecordType::Txt)],
                Purpose::Explanation,
            ),
            None => {
                self.explaining = None;
                let text = self.default_explanation(domain);
                self.finish(SpfResult::Fail, None, Some(text));
            }
        }
        Step::Continue
    }

    /// Uses the answers to a batch of lookups.
    pub(super) fn handle_answers(&mut self, purpose: Purpose, answers: Vec<Lookup>) -> Step {
        let first = answers.first();
        match purpose {
            Purpose::Record => match first {
                Some(a) => self.record_answer(a),
                None => Step::Continue,
            },
            Purpose::Addresses(cidr) | Purpose::MxAddresses(cidr) => {
                let mut void = true;
                for a in &answers {
                    match a {
                        Lookup::Failed(f) => {
                            return Step::Abort(SpfResult::TempError, f.to_string());
                        }
                        Lookup::Records(r) => {
                            void = false;
                            if r.data.iter().any(|d| self.address_matches(d, cidr)) {
                                return Step::Match;
                            }
                        }
                        _ => {}
                    }
                }
                if void
                    && matches!(purpose, Purpose::Addresses(_))
                    && let Some(step) = self.count_void("a")
                {
                    return step;
                }
                Step::Continue
            }
            Purpose::MxNames(cidr) => match first {
                Some(Lookup::Failed(f)) => Step::Abort(SpfResult::TempError, f.to_string()),
                Some(Lookup::Records(r)) => {
                    // RFC 7208 4.6.4: more than 10 MX names is a permerror.
                    if r.data.len() > MAX_NAMES {
                        return Step::Abort(
                            SpfResult::PermError,
                            format!("mx: {} MX records, more than {MAX_NAMES}", r.data.len()),
                        );
                    }
                    let mut names: Vec<String> = Vec::new();
                    for d in &r.data {
                        if let Rdata::Mx { exchange, .. } = d
                            && let Some(n) = lookup_name(exchange)
                            && !names.contains(&n)
                        {
                            names.push(n);
                        }
                    }
                    let ty = self.address_type();
                    let queries = names.into_iter().map(|n| Query::new(n, ty)).collect();
                    self.ask(queries, Purpose::MxAddresses(cidr));
                    Step::Continue
                }
                _ => self.count_void("mx").unwrap_or(Step::Continue),
            },
            Purpose::Exists => match first {
                Some(Lookup::Failed(f)) => Step::Abort(SpfResult::TempError, f.to_string()),
                Some(Lookup::Records(_)) => Step::Match,
                _ => self.count_void("exists").unwrap_or(Step::Continue),
            },
            Purpose::PtrNames(target) => {
                let names: Vec<String> = match first {
                    Some(Lookup::Records(r)) => r
                        .data
                        .iter()
                        .filter_map(|d| match d {
                            Rdata::Ptr(n) => lookup_name(n),
                            _ => None,
                        })
                        .take(MAX_NAMES)
                        .collect(),
                    // RFC 7208 5.5: a PTR lookup error is no match.
                    Some(Lookup::Failed(_)) => Vec::new(),
                    _ => {
                        if target.is_some()
                            && let Some(step) = self.count_void("ptr")
                        {
                            return step;
                        }
                        Vec::new()
                    }
                };
                // For `ptr`, only names under the target can match.
                let names: Vec<String> = match &target {
                    Some(t) => names.into_iter().filter(|n| is_same_or_sub(n, t)).collect(),
                    None => names,
                };
                let ty = self.address_type();
                let queries = names.iter().map(|n| Query::new(n.clone(), ty)).collect();
                self.ask(queries, Purpose::PtrAddresses(target, names));
                Step::Continue
            }
            Purpose::PtrAddresses(target, names) => {
                // RFC 7208 5.5: names whose addresses include the client;
                // lookup errors skip the name.
                let cidr = DualCidr::default();
                let valid: Vec<String> = names
                    .into_iter()
                    .zip(&answers)
                    .filter(|(_, a)| a.data().iter().any(|d| self.address_matches(d, cidr)))
                    .map(|(n, _)| n)
                    .collect();
                match target {
                    Some(_) if valid.is_empty() => Step::Continue,
                    Some(_) => Step::Match,
                    None => {
                        self.validated = Some(valid);
                        Step::Continue
                    }
                }
            }
            Purpose::Explanation => {
                let text = first
                    .and_then(explanation_text)
                    .and_then(|t| MacroString::parse(&t, true).ok());
                match text {
                    // Expanded by the next step, after `%{p}` if needed.
                    Some(text) => self.explain_text = Some(text),
                    None => {
                        let domain = self.explaining.take().map(|(_, d)| d).unwrap_or_default();
                        let text = self.default_explanation(&domain);
                        self.finish(SpfResult::Fail, None, Some(text));
                    }
                }
                Step::Continue
            }
        }
    }

    /// The TXT answer for the current frame's domain (RFC 7208 4.4, 4.5).
    fn record_answer(&mut self, answer: &Lookup) -> Step {
        let records = match answer {
            // RFC 7208 4.4: a DNS error is temperror.
            Lookup::Failed(f) => return Step::Abort(SpfResult::TempError, f.to_string()),
            Lookup::Records(r) => r.data.as_slice(),
            _ => &[],
        };
        let spf: Vec<Vec<u8>> = records
            .iter()
            .filter_map(Rdata::txt_joined)
            .filter(|t| is_spf_record(t))
            .collect();
        let frame_domain = self
            .frames
            .last()
            .map_or(String::new(), |f| f.domain.clone());
        let text = match spf.as_slice() {
            [] => {
                return Step::FrameDone(
                    SpfResult::None,
                    Some(format!("no SPF record at {frame_domain}")),
                );
            }
            [one] => one,
            _ => {
                return Step::Abort(
                    SpfResult::PermError,
                    format!(
                        "{} SPF records at {frame_domain}, only one is allowed",
                        spf.len()
                    ),
                );
            }
        };
        if self.frames.len() == 1 && self.record_text.is_none() {
            self.record_text = Some(String::from_utf8_lossy(text).into_owned());
        }
        match Record::parse(text) {
            Ok(record) => {
                if let Some(frame) = self.frames.last_mut() {
                    frame.record = Some(record);
                }
                Step::Continue
            }
            Err(e) => Step::Abort(
                SpfResult::PermError,
                format!("SPF record at {frame_domain}: {e}"),
            ),
        }
    }

    /// Whether an A/AAAA record is in the client's network for `cidr`.
    fn address_matches(&self, data: &Rdata, cidr: DualCidr) -> bool {
        match data {
            Rdata::A(a) => in_prefix(self.ip, IpAddr::V4(*a), cidr.v4),
            Rdata::Aaaa(a) => in_prefix(self.ip, IpAddr::V6(*a), cidr.v6),
            _ => false,
        }
    }
}

/// Whether `ip` is in `net/prefix` (never across address families).
pub(super) fn in_prefix(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// The name of the PTR records of `ip` (RFC 1035 3.5, RFC 3596 2.5).
pub(super) fn reverse_name(ip: IpAddr) -> String {
    let dotted = dot_format(ip);
    let mut parts: Vec<&str> = dotted.split('.').collect();
    parts.reverse();
    let suffix = match ip {
        IpAddr::V4(_) => "in-addr.arpa",
        IpAddr::V6(_) => "ip6.arpa",
    };
    format!("{}.{suffix}", parts.join("."))
}

/// A name fit for a query: labels of 1–63 printable ASCII octets (spaces
/// allowed, as macros may produce them), at most 253 octets, lower case, no
/// trailing dot. `None` for names a query cannot be made of (RFC 7208 4.3,
/// 4.8: such targets do not match).
pub(super) fn lookup_name(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && name.split('.').all(|l| !l.is_empty() && l.len() <= 63);
    ok.then(|| name.to_ascii_lowercase())
}

/// RFC 7208 4.3: the domain must be a valid multi-label domain name
/// (not a domain literal).
fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.starts_with('[') {
        return Err("address literal");
    }
    let name = domain.strip_suffix('.').unwrap_or(domain);
    if name.split('.').any(|l| l.len() > 63) {
        return Err("label longer than 63 octets");
    }
    if lookup_name(name).is_none() {
        return Err("empty label or bad character");
    }
    if !name.contains('.') {
        return Err("not a multi-label domain name");
    }
    Ok(())
}

/// The explanation string: exactly one TXT record of US-ASCII (RFC 7208
/// 6.2); anything else means "no explanation".
fn explanation_text(answer: &Lookup) -> Option<String> {
    match answer.data() {
        [one] => {
            let text = one.txt_joined()?;
            text.is_ascii()
                .then(|| String::from_utf8(text).ok())
                .flatten()
        }
        _ => None,
    }
}

//! check_host (RFC 7208 4) as a pull-style evaluator: the state, the lookup
//! plumbing, and how a result is reached. The steps (terms, answers) are in
//! `check_step.rs`.

use std::net::IpAddr;
use std::time::Instant;

use super::macros::{MacroContext, MacroString};
use super::record::{DualCidr, Record};
use super::{SpfOutcome, SpfResult};
use crate::dns::{Evaluate, Lookup, LookupId, Poll, Query};

/// At most this many DNS-querying terms per check (RFC 7208 4.6.4).
pub const MAX_DNS_TERMS: u32 = 10;
/// At most this many void lookups per check (RFC 7208 4.6.4).
pub const MAX_VOID_LOOKUPS: u32 = 2;
/// At most this many MX names per `mx`, PTR names per `ptr` (RFC 7208 4.6.4).
pub(super) const MAX_NAMES: usize = 10;

/// The explanation given for `fail` when the domain publishes none (RFC 7208
/// 8.4 "locally generated"); a macro-string expanded like `exp=` text.
pub const DEFAULT_EXPLANATION: &str = "%{i} is not one of %{d}'s designated mail servers";

/// The arguments of check_host (RFC 7208 4.1) and of the evaluation.
#[derive(Debug, Clone)]
pub struct CheckHostInput {
    /// `<ip>`: the SMTP client's address. IPv4-mapped IPv6 addresses are
    /// treated as IPv4 (RFC 7208 5).
    pub ip: IpAddr,
    /// `<domain>`: the domain whose policy is checked.
    pub domain: String,
    /// `<sender>`: `local@domain` (MAIL FROM, or `postmaster@helo`); a
    /// missing local-part is `postmaster` (RFC 7208 4.3).
    pub sender: String,
    /// The HELO/EHLO name (`%{h}`).
    pub helo: String,
    /// The receiving host's name (`%{r}`).
    pub receiver: String,
    /// Seconds since the Unix epoch (`%{t}`).
    pub timestamp: u64,
    /// When the evaluation gives up with temperror (RFC 7208 4.6.4: at
    /// least 20 seconds are recommended).
    pub deadline: Instant,
    /// The macro-string explaining `fail` when the domain gives no `exp=`.
    pub default_explanation: String,
}

/// One check_host() run (include and redirect are frames inside it).
#[derive(Debug)]
pub struct CheckHost {
    pub(super) ip: IpAddr,
    pub(super) sender: String,
    pub(super) local: String,
    pub(super) sender_domain: String,
    pub(super) helo: String,
    pub(super) receiver: String,
    pub(super) timestamp: u64,
    pub(super) deadline: Instant,
    pub(super) default_explanation: String,
    pub(super) domain: String,
    pub(super) frames: Vec<Frame>,
    pub(super) wait: Option<Wait>,
    pub(super) next_id: u32,
    pub(super) dns_terms: u32,
    pub(super) void_lookups: u32,
    /// Names the PTR records of `ip` give that resolve back to it (`%{p}`),
    /// once looked up.
    pub(super) validated: Option<Vec<String>>,
    /// Explaining a `fail`: the `exp=` of the deciding record and its domain.
    pub(super) explaining: Option<(MacroString, String)>,
    /// The fetched explanation text, to expand once `%{p}` is known.
    pub(super) explain_text: Option<MacroString>,
    pub(super) record_text: Option<String>,
    pub(super) mechanism: Option<String>,
    pub(super) outcome: Option<SpfOutcome>,
}

/// A check_host() level: the top, an include, or a redirect target.
#[derive(Debug)]
pub(super) struct Frame {
    pub domain: String,
    /// The parsed record, once fetched.
    pub record: Option<Record>,
    /// The next directive to evaluate.
    pub next: usize,
    /// The directive being evaluated (waiting for lookups or an include).
    pub current: usize,
    /// Include and redirect targets must have a record (else permerror).
    pub must_exist: bool,
}

/// Lookups asked for together and what their answers are for.
#[derive(Debug)]
pub(super) struct Wait {
    pub queries: Vec<(LookupId, Query)>,
    pub emitted: usize,
    pub answers: Vec<Option<Lookup>>,
    pub purpose: Purpose,
}

/// What a batch of lookups is for.
#[derive(Debug)]
pub(super) enum Purpose {
    /// The TXT records of the top frame's domain.
    Record,
    /// A/AAAA of an `a` target.
    Addresses(DualCidr),
    /// MX of an `mx` target.
    MxNames(DualCidr),
    /// A/AAAA of the MX names.
    MxAddresses(DualCidr),
    /// PTR of the client, for `ptr` (with its target) or for `%{p}` (None).
    PtrNames(Option<String>),
    /// A/AAAA of the PTR names, to validate them.
    PtrAddresses(Option<String>, Vec<String>),
    /// A of an `exists` target.
    Exists,
    /// TXT at the `exp=` domain.
    Explanation,
}

/// How a term or a frame ended.
pub(super) enum Step {
    /// Go on with the next step.
    Continue,
    /// The current directive matched.
    Match,
    /// The current frame ended with this result (`detail` for errors).
    FrameDone(SpfResult, Option<String>),
    /// The whole check ended with an error result.
    Abort(SpfResult, String),
}

impl CheckHost {
    /// Starts check_host(ip, domain, sender).
    pub fn new(input: CheckHostInput) -> CheckHost {
        let ip = match input.ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let (local, sender_domain) = match input.sender.rsplit_once('@') {
            Some((l, d)) => (l.to_string(), d.to_string()),
            None => (String::new(), input.sender.clone()),
        };
        // RFC 7208 4.3: no local-part means "postmaster".
        let local = if local.is_empty() {
            "postmaster".to_string()
        } else {
            local
        };
        let sender = format!("{local}@{sender_domain}");
        let domain = input
            .domain
            .strip_suffix('.')
            .unwrap_or(&input.domain)
            .to_string();
        CheckHost {
            ip,
            sender,
            local,
            sender_domain,
            helo: input.helo,
            receiver: input.receiver,
            timestamp: input.timestamp,
            deadline: input.deadline,
            default_explanation: input.default_explanation,
            domain: domain.clone(),
            frames: vec![Frame {
                domain,
                record: None,
                next: 0,
                current: 0,
                must_exist: false,
            }],
            wait: None,
            next_id: 0,
            dns_terms: 0,
            void_lookups: 0,
            validated: None,
            explaining: None,
            explain_text: None,
            record_text: None,
            mechanism: None,
            outcome: None,
        }
    }

    /// The client address as evaluated (IPv4-mapped addresses as IPv4).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Macro values for `domain` (the `<domain>` of the current level).
    pub(super) fn context<'a>(&'a self, domain: &'a str, validated: &'a str) -> MacroContext<'a> {
        MacroContext {
            sender: &self.sender,
            local: &self.local,
            sender_domain: &self.sender_domain,
            domain,
            ip: self.ip,
            helo: &self.helo,
            validated,
            receiver: &self.receiver,
            timestamp: self.timestamp,
        }
    }

    /// `%{p}` for `domain` (RFC 7208 7.3): a validated name equal to or
    /// under `domain` if there is one, else any validated name, else
    /// `unknown`.
    pub(super) fn validated_for(&self, domain: &str) -> String {
        let names = self.validated.as_deref().unwrap_or(&[]);
        names
            .iter()
            .find(|n| is_same_or_sub(n, domain))
            .or_else(|| names.first())
            .cloned()
            .unwrap_or_else(|| "unknown".to_string())
    }

    /// Asks for `queries`, all answered before `purpose` goes on.
    pub(super) fn ask(&mut self, queries: Vec<Query>, purpose: Purpose) {
        let queries: Vec<(LookupId, Query)> = queries
            .into_iter()
            .map(|q| {
                let id = LookupId(self.next_id);
                self.next_id = self.next_id.wrapping_add(1);
                (id, q)
            })
            .collect();
        self.wait = Some(Wait {
            answers: vec![None; queries.len()],
            queries,
            emitted: 0,
            purpose,
        });
    }

    /// Ends the whole check.
    pub(super) fn finish(
        &mut self,
        result: SpfResult,
        problem: Option<String>,
        explanation: Option<String>,
    ) {
        self.wait = None;
        self.outcome = Some(SpfOutcome {
            result,
            domain: self.domain.clone(),
            record: self.record_text.clone(),
            mechanism: self.mechanism.clone(),
            explanation,
            problem,
            dns_terms: self.dns_terms,
            void_lookups: self.void_lookups,
        });
    }

    /// The default explanation, expanded for `domain`.
    pub(super) fn default_explanation(&self, domain: &str) -> String {
        let validated = self.validated_for(domain);
        match MacroString::parse(&self.default_explanation, true) {
            Ok(m) => m.expand(&self.context(domain, &validated)),
            Err(_) => self.default_explanation.clone(),
        }
    }

    /// Runs steps until a lookup is needed or the result is known.
    fn advance(&mut self) {
        while self.outcome.is_none() {
            match &self.wait {
                Some(w) if w.answers.iter().all(Option::is_some) => {
                    let Some(w) = self.wait.take() else { break };
                    let answers: Vec<Lookup> = w.answers.into_iter().flatten().collect();
                    let step = self.handle_answers(w.purpose, answers);
                    self.apply(step);
                }
                Some(_) => break,
                None => {
                    let step = self.step();
                    self.apply(step);
                }
            }
        }
    }

    /// Carries out how a step ended.
    fn apply(&mut self, step: Step) {
        match step {
            Step::Continue => {}
            Step::Abort(result, why) => self.finish(result, Some(why), None),
            Step::Match => {
                let Some(frame) = self.frames.last() else {
                    return;
                };
                let directive = frame
                    .record
                    .as_ref()
                    .and_then(|r| r.directives.get(frame.current));
                let Some(d) = directive else { return };
                let result = SpfResult::from(d.qualifier);
                if self.frames.len() == 1 {
                    self.mechanism = Some(d.text.clone());
                }
                self.frame_done(result, None);
            }
            Step::FrameDone(result, detail) => self.frame_done(result, detail),
        }
    }

    /// The current frame ended with `result`: pass it to the include that
    /// asked, or end the check.
    fn frame_done(&mut self, result: SpfResult, detail: Option<String>) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        // RFC 7208 5.2, 6.1: an include or redirect target without a
        // record is a permerror.
        let result = if result == SpfResult::None && frame.must_exist {
            SpfResult::PermError
        } else {
            result
        };
        if self.frames.is_empty() {
            if result == SpfResult::Fail {
                // RFC 7208 6.2: the explanation of the record that decided.
                match frame.record.and_then(|r| r.exp) {
                    Some(exp) => self.explaining = Some((exp, frame.domain)),
                    None => {
                        let exp = self.default_explanation(&frame.domain);
                        self.finish(result, None, Some(exp));
                    }
                }
            } else {
                if self.mechanism.is_none() && result == SpfResult::Neutral && detail.is_none() {
                    self.mechanism = Some("default".to_string());
                }
                self.finish(result, detail, None);
            }
            return;
        }
        // RFC 7208 5.2: how an included result counts.
        match result {
            SpfResult::Pass => self.apply(Step::Match),
            SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => {}
            SpfResult::TempError => self.finish(
                result,
                Some(
                    detail.unwrap_or_else(|| format!("include:{}: temporary error", frame.domain)),
                ),
                None,
            ),
            SpfResult::PermError | SpfResult::None => self.finish(
                SpfResult::PermError,
                Some(detail.unwrap_or_else(|| format!("include:{}: no SPF record", frame.domain))),
                None,
            ),
        }
    }
}

/// Whether `name` is `domain` or a name under it (case-insensitive).
pub(super) fn is_same_or_sub(name: &str, domain: &str) -> bool {
    let (n, d) = (name.as_bytes(), domain.as_bytes());
    n.eq_ignore_ascii_case(d)
        || (n.len() > d.len()
            && n[n.len() - d.len()..].eq_ignore_ascii_case(d)
            && n[n.len() - d.len() - 1] == b'.')
}

impl Evaluate for CheckHost {
    type Output = SpfOutcome;

    fn poll(&mut self, now: Instant) -> Poll<SpfOutcome> {
        if let Some(out) = &self.outcome {
            return Poll::Ready(out.clone());
        }
        if now >= self.deadline {
            // RFC 7208 4.6.4: over the time limit, temperror.
            self.finish(
                SpfResult::TempError,
                Some("dns: no answer before the deadline".to_string()),
                None,
            );
            return self.poll(now);
        }
        self.advance();
        if let Some(w) = &mut self.wait
            && let Some((id, q)) = w.queries.get(w.emitted)
        {
            w.emitted += 1;
            return Poll::Lookup(*id, q.clone());
        }
        match &self.outcome {
            Some(out) => Poll::Ready(out.clone()),
            None => Poll::Pending,
        }
    }

    fn handle_answer(&mut self, _now: Instant, id: LookupId, answer: Lookup) {
        let Some(w) = &mut self.wait else { return };
        let Some(i) = w.queries.iter().position(|(qid, _)| *qid == id) else {
            return;
        };
        if let Some(slot) = w.answers.get_mut(i)
            && slot.is_none()
        {
            *slot = Some(answer);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.outcome.is_none().then_some(self.deadline)
    }
}

//! Sender authentication of inbound mail: iprev, SPF, DKIM and DMARC run
//! against the DNS, their results turned into the inputs of the verdict
//! ([`super::verdict`]).
//!
//! The evaluators of proto are pull-style (`dns::Evaluate`). The session
//! drives them by *replay*: [`run`] runs every evaluator from the start,
//! answering lookups from the [`Answers`] gathered so far, and returns the
//! lookups still missing. The session asks the runtime for those
//! (`Need::Dns`), records the answers and calls [`run`] again, until all
//! evaluators are done. Evaluators are deterministic given their inputs and
//! answers, so a replay reaches the same point; the cost is re-parsing a
//! message's headers once per DNS round trip (a handful per message),
//! against keeping self-referencing evaluator state in the session.
//! Independent lookups of different evaluators (and DMARC's record lookup,
//! which needs only the From domain) go out together.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use moxide_proto::dkim::{self, Verification};
use moxide_proto::dmarc::{self, CheckOutcome, Evaluation, Identifier};
use moxide_proto::dns::{Evaluate, Failure, Lookup, Poll, Query};
use moxide_proto::iprev::{self, Iprev};
use moxide_proto::message::address::parse_address_list;
use moxide_proto::message::header::HeaderBlock;

use super::spf_check::{self, SpfCheck};

/// How long a message's checks may wait for DNS in total; lookups still
/// unanswered then count as timed out (temperror).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// What the checks are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInput {
    /// The connecting client.
    pub ip: IpAddr,
    /// Its EHLO/HELO name.
    pub helo: String,
    /// The envelope sender; `None` for the null path `<>`.
    pub mail_from: Option<String>,
    /// This server's host name (SPF `%{r}`, Authentication-Results).
    pub hostname: String,
    /// When the checks started (the evaluators' time).
    pub now: Instant,
    /// Wall-clock seconds at `now` (DKIM `x=`).
    pub unix: i64,
    /// A random number 0–99 for DMARC `pct` sampling.
    pub dmarc_sample: u8,
}

/// Every lookup answered so far for one message.
#[derive(Debug, Default, Clone)]
pub struct Answers {
    map: HashMap<Query, Lookup>,
}

impl Answers {
    /// Records the answer to `q`; a second answer is ignored.
    pub fn insert(&mut self, q: Query, answer: Lookup) {
        self.map.entry(q).or_insert(answer);
    }

    /// The answer to `q`, if known.
    pub fn get(&self, q: &Query) -> Option<&Lookup> {
        self.map.get(q)
    }
}

/// The results of all checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResults {
    pub iprev: Iprev,
    pub spf: SpfCheck,
    pub dkim: Verification,
    /// The RFC5322.From domain, or why there is none usable.
    pub from_domain: Result<String, String>,
    /// `None` when there is no usable From domain.
    pub dmarc: Option<Evaluation>,
}

/// Runs every evaluator against `answers`: all results, or the lookups
/// still needed (no duplicates, in the order first asked).
pub fn run(
    input: &CheckInput,
    message: &[u8],
    answers: &Answers,
) -> Result<CheckResults, Vec<Query>> {
    let deadline = input.now + CHECK_TIMEOUT;
    let mut missing = Vec::new();
    let iprev = replay(
        &mut iprev::Evaluator::new(input.ip, deadline),
        answers,
        input.now,
        &mut missing,
    );
    let spf = spf_check::run(input, deadline, answers, &mut missing);
    let unix = u64::try_from(input.unix).unwrap_or(0);
    let dkim_result = replay(
        &mut dkim::Verifier::new(message, unix),
        answers,
        input.now,
        &mut missing,
    );
    let from_domain = from_domain(message);
    // DMARC's record lookup needs only the From domain: ask for it now,
    // with placeholder SPF/DKIM inputs, and evaluate for real below.
    let dmarc_input = |spf: Option<Identifier>, dkim: Vec<Identifier>, d: &str| dmarc::Input {
        from_domain: d.to_string(),
        spf,
        dkim,
        sample: input.dmarc_sample,
    };
    let (Some(iprev), Some(spf), Some(dkim_result)) = (iprev, spf, dkim_result) else {
        if let Ok(d) = &from_domain {
            let mut probe = dmarc::Evaluator::new(dmarc_input(None, Vec::new(), d), deadline);
            replay(&mut probe, answers, input.now, &mut missing);
        }
        return Err(missing);
    };
    let dmarc = match &from_domain {
        Err(_) => None,
        Ok(d) => {
            let dkim_ids = dkim_result
                .results
                .iter()
                .filter_map(|r| {
                    let sig = r.signature.as_ref()?;
                    let outcome = match r.status {
                        dkim::Status::Pass => CheckOutcome::Pass,
                        dkim::Status::TempError => CheckOutcome::TempError,
                        _ => CheckOutcome::Other,
                    };
                    Some(Identifier {
                        domain: sig.domain.clone(),
                        outcome,
                    })
                })
                .collect();
            let mut ev =
                dmarc::Evaluator::new(dmarc_input(spf.dmarc_identifier(), dkim_ids, d), deadline);
            match replay(&mut ev, answers, input.now, &mut missing) {
                Some(e) => Some(e),
                None => return Err(missing),
            }
        }
    };
    Ok(CheckResults {
        iprev,
        spf,
        dkim: dkim_result,
        from_domain,
        dmarc,
    })
}

/// Runs `ev` answering from `answers`. `None` when it waits for lookups not
/// answered yet; those are appended to `missing` (once each).
pub(crate) fn replay<E: Evaluate>(
    ev: &mut E,
    answers: &Answers,
    now: Instant,
    missing: &mut Vec<Query>,
) -> Option<E::Output> {
    let mut waiting = false;
    // Every poll either asks a lookup or returns; a well-behaved evaluator
    // asks a bounded number (limits of RFC 7208 / 6376 / 7489), but do
    // not trust that blindly.
    for _ in 0..10_000 {
        match ev.poll(now) {
            Poll::Lookup(id, q) => match answers.get(&q) {
                Some(a) => ev.handle_answer(now, id, a.clone()),
                None => {
                    waiting = true;
                    if !missing.contains(&q) {
                        missing.push(q);
                    }
                }
            },
            Poll::Ready(out) => return Some(out),
            Poll::Pending if waiting => return None,
            // Everything asked was answered yet it is pending: it waits for
            // its deadline, which the check's own deadline turns into
            // timeouts; poll at the deadline.
            Poll::Pending => match ev.deadline() {
                Some(d) if d > now => return replay_at(ev, answers, d, missing),
                _ => return None,
            },
        }
    }
    None
}

fn replay_at<E: Evaluate>(
    ev: &mut E,
    answers: &Answers,
    at: Instant,
    missing: &mut Vec<Query>,
) -> Option<E::Output> {
    match ev.poll(at) {
        Poll::Ready(out) => Some(out),
        Poll::Lookup(id, q) => {
            let a = answers
                .get(&q)
                .cloned()
                .unwrap_or(Lookup::Failed(Failure::Timeout));
            ev.handle_answer(at, id, a);
            replay(ev, answers, at, missing)
        }
        Poll::Pending => None,
    }
}

/// The domain of the message's single From address (RFC 7489 6.6.1), in
/// A-labels ([`moxide_proto::dns::domain_to_ascii`]). Messages with no From, several From fields or several addresses in
/// From have no usable domain.
pub fn from_domain(message: &[u8]) -> Result<String, String> {
    let block = HeaderBlock::parse(message, 0, message.len());
    let froms: Vec<_> = block
        .fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(b"from"))
        .collect();
    let field = match froms.as_slice() {
        [] => return Err("no From header".into()),
        [one] => one,
        _ => return Err("several From headers".into()),
    };
    let addrs: Vec<_> = parse_address_list(&field.value())
        .into_iter()
        .filter(|a| !a.is_group_start() && !a.is_group_end())
        .collect();
    let [addr] = addrs.as_slice() else {
        return Err("From header does not hold exactly one address".into());
    };
    let host = addr.host.as_deref().unwrap_or_default();
    let host = String::from_utf8_lossy(host);
    // U-labels (RFC 6532 headers) are looked up and aligned in A-labels.
    moxide_proto::dns::domain_to_ascii(&host).map_err(|e| format!("From domain {host:?}: {e}"))
}

/// Answers every query in `missing` with a timeout (the check deadline
/// passed).
pub fn time_out(answers: &mut Answers, missing: &[Query]) {
    for q in missing {
        answers.insert(q.clone(), Lookup::Failed(Failure::Timeout));
    }
}

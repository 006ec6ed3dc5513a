//! The pull shape every DNS-using evaluator has (DESIGN.md: "DNS policy
//! evaluators … are pull-style").

use std::time::Instant;

use super::types::{Lookup, Query};
use super::zone::Zone;

/// Identifies one lookup an evaluator asked for, so the answer can be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub u32);

/// What an evaluator wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T> {
    /// Perform this lookup and pass its outcome to `handle_answer` with the
    /// same id. Call `poll` again at once: an evaluator may have several
    /// lookups in flight.
    Lookup(LookupId, Query),
    /// Waiting for answers already asked for; poll again after the next
    /// `handle_answer`, or at [`Evaluate::deadline`].
    Pending,
    /// The result. Polling again returns the same result.
    Ready(T),
}

/// A DNS-using evaluator (SPF check_host, DKIM verification, DMARC, MTA-STS
/// discovery, DANE TLSA lookup, iprev).
///
/// Contract: the caller calls [`poll`](Evaluate::poll) until it returns
/// `Pending` or `Ready`, performing every `Lookup` it is given; it passes
/// each lookup's outcome to [`handle_answer`](Evaluate::handle_answer) (in
/// any order, at any time, exactly once; an unknown or repeated id is
/// ignored), then polls again. When [`deadline`](Evaluate::deadline) passes
/// the caller polls with that `now`: an evaluator still waiting then gives its
/// "temporary error" result. Evaluators enforce their own lookup limits.
pub trait Evaluate {
    type Output;
    /// Advances the evaluation.
    fn poll(&mut self, now: Instant) -> Poll<Self::Output>;
    /// The outcome of the lookup `id`.
    fn handle_answer(&mut self, now: Instant, id: LookupId, answer: Lookup);
    /// When the evaluation gives up waiting, if it is waiting.
    fn deadline(&self) -> Option<Instant>;
}

/// Runs `ev` to completion, answering every lookup from `zone` at once and in
/// order. Returns the result and the queries made, in order (tests assert
/// lookup counts and order with it).
pub fn run<E: Evaluate>(ev: &mut E, zone: &Zone, now: Instant) -> (E::Output, Vec<Query>) {
    let mut now = now;
    let mut asked = Vec::new();
    loop {
        match ev.poll(now) {
            Poll::Lookup(id, q) => {
                let answer = zone.answer(&q);
                asked.push(q);
                ev.handle_answer(now, id, answer);
            }
            Poll::Ready(out) => return (out, asked),
            // Every lookup was answered at once, so a pending evaluator
            // waits for its deadline: move the clock there.
            Poll::Pending => match ev.deadline() {
                Some(d) if d > now => now = d,
                // Pending with nothing outstanding and no later deadline
                // breaks the contract; fail the test rather than spin.
                _ => panic!("evaluator pending with no lookup outstanding and no later deadline"),
            },
        }
    }
}

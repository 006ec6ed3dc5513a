//! DMARC (RFC 7489): policy records, the organizational domain from the
//! Public Suffix List, identifier alignment, and evaluation as a
//! [`crate::dns::Evaluate`].
//!
//! The evaluation takes the SPF and DKIM outcomes (computed before) and the
//! From domain, and looks up at most two `_dmarc` TXT records. Its
//! [`Evaluation`] decides delivery (reject → 550 5.7.1, quarantine → Junk)
//! and is kept whole for aggregate reports.

mod eval;
mod record;

pub use eval::{
    CheckOutcome, DmarcResult, Evaluation, Evaluator, Identifier, Input, aligned,
    organizational_domain,
};
pub use record::{Alignment, Policy, Record, RecordError, ReportUri, is_dmarc, parse};

#[cfg(test)]
mod tests;

//! SPF (RFC 7208): record parsing, macro expansion, check_host as a
//! pull-style [`Evaluate`](crate::dns::Evaluate), the HELO and MAIL FROM
//! checks of an SMTP transaction, and the `Received-SPF` header.
//!
//! ```text
//! let mut ev = CheckHost::new(CheckHostInput { ip, domain, sender, .. });
//! loop { match ev.poll(now) { Poll::Lookup(id, q) => …, Poll::Ready(out) => break out, … } }
//! ```
//!
//! check_host enforces RFC 7208 4.6.4 itself: at most 10 DNS-querying terms
//! (include, a, mx, ptr, exists, redirect), at most 2 void lookups, at most
//! 10 MX names per `mx` and 10 PTR names per `ptr`, and its deadline.

mod check;
mod check_step;
mod header;
mod identity;
mod macros;
mod record;

pub use check::{CheckHost, CheckHostInput, DEFAULT_EXPLANATION, MAX_DNS_TERMS, MAX_VOID_LOOKUPS};
pub use header::{ReceivedSpf, received_spf};
pub use identity::{Identity, SenderCheck, SenderCheckInput, SenderVerdicts, mail_from_identity};
pub use macros::{Macro, MacroContext, MacroError, MacroString, Piece, dot_format, url_escape};
pub use record::{
    Directive, DualCidr, Mechanism, ParseError, ParseErrorKind, Qualifier, Record, VERSION,
    domain_spec, is_spf_record,
};

use std::fmt;

/// The result of check_host (RFC 7208 2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpfResult {
    /// No SPF record, or no checkable domain (RFC 7208 2.6.1).
    None,
    /// The domain asserts nothing (2.6.2).
    Neutral,
    /// The client is authorised (2.6.3).
    Pass,
    /// The client is not authorised (2.6.4).
    Fail,
    /// Probably not authorised (2.6.5).
    SoftFail,
    /// A transient (DNS) error (2.6.6).
    TempError,
    /// The records could not be interpreted (2.6.7).
    PermError,
}

impl SpfResult {
    /// The result's name as RFC 7208 and `Received-SPF` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }

    /// The result for a name (case-insensitive).
    pub fn from_name(s: &str) -> Option<SpfResult> {
        Some(match s.to_ascii_lowercase().as_str() {
            "none" => SpfResult::None,
            "neutral" => SpfResult::Neutral,
            "pass" => SpfResult::Pass,
            "fail" => SpfResult::Fail,
            "softfail" => SpfResult::SoftFail,
            "temperror" => SpfResult::TempError,
            "permerror" => SpfResult::PermError,
            _ => return None,
        })
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Qualifier> for SpfResult {
    fn from(q: Qualifier) -> SpfResult {
        match q {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

/// What check_host found and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfOutcome {
    pub result: SpfResult,
    /// The `<domain>` checked.
    pub domain: String,
    /// The SPF record of `<domain>` as published (strings joined), if one
    /// was found.
    pub record: Option<String>,
    /// The term that decided: a directive (e.g. `-all`, `include:x`), or
    /// `default` when none matched.
    pub mechanism: Option<String>,
    /// For `fail`: the domain's `exp=` text expanded, else the default
    /// explanation (RFC 7208 6.2, 8.4).
    pub explanation: Option<String>,
    /// For none, temperror and permerror: what went wrong, for the admin
    /// and the `problem=` key of `Received-SPF`.
    pub problem: Option<String>,
    /// DNS-querying terms evaluated (limit [`MAX_DNS_TERMS`]).
    pub dns_terms: u32,
    /// Void lookups seen (limit [`MAX_VOID_LOOKUPS`]).
    pub void_lookups: u32,
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod record_tests;

#[cfg(test)]
#[path = "check_tests.rs"]
mod check_tests;

//! The one place where the authentication of an inbound message (iprev,
//! SPF, DKIM, DMARC; RFC 8601, RFC 7208, RFC 6376, RFC 7489) decides what
//! happens to it.
//!
//! [`decide`] is called once per message at the end of DATA, after the
//! checks of [`super::auth_checks`] are done and before anything is
//! stored. It returns a [`Verdict`]: refuse (DMARC `p=reject`: 550 5.7.1),
//! defer (a DMARC temperror: 451 4.4.3, the sender retries), deliver to
//! Junk (DMARC `p=quarantine`) or deliver to the Inbox; with the
//! `Authentication-Results` and `Received-SPF` header lines to store in the
//! message prefix. SPF `fail` without a DMARC policy is recorded, not
//! refused, as mox does (RFC 7208 8.4 leaves the choice to the receiver and
//! forwarding breaks SPF).

use moxide_proto::authres::{self, MethodResult};
use moxide_proto::dmarc::{DmarcResult, Policy};
use moxide_proto::smtp::Reply;

use super::auth_checks::CheckResults;

/// What to do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Deliver, with `prefix` (header lines, CRLF-terminated) stored before
    /// the Received header.
    Deliver {
        /// Authentication-Results and Received-SPF lines; empty when no
        /// checks ran.
        prefix: String,
        /// Deliver to the Junk mailbox instead of the Inbox.
        junk: bool,
    },
    /// Refuse the message with this reply.
    Reject(Reply),
}

/// The verdict when sender authentication is off (localserve without a
/// configured resolver, tests): deliver to the Inbox, no headers.
pub fn unchecked() -> Verdict {
    Verdict::Deliver {
        prefix: String::new(),
        junk: false,
    }
}

/// Decides from the check results; `authserv_id` is this server's host
/// name (RFC 8601 2.5).
pub fn decide(checks: &CheckResults, authserv_id: &str) -> Verdict {
    let header = authentication_results(checks, authserv_id);
    let mut prefix = header;
    prefix.push_str(&checks.spf.received_spf);
    let Some(dmarc) = &checks.dmarc else {
        return Verdict::Deliver {
            prefix,
            junk: false,
        };
    };
    match (dmarc.result, dmarc.disposition) {
        (DmarcResult::TempError, _) => Verdict::Reject(Reply::with(
            451,
            (4, 4, 3),
            format!(
                "temporary error evaluating DMARC for {}, try again later",
                dmarc.from_domain
            ),
        )),
        (_, Policy::Reject) => Verdict::Reject(Reply::with(
            550,
            (5, 7, 1),
            format!(
                "rejecting message: DMARC policy of {} (p=reject): no aligned SPF or DKIM pass",
                dmarc.policy_domain.as_deref().unwrap_or(&dmarc.from_domain)
            ),
        )),
        (_, Policy::Quarantine) => Verdict::Deliver { prefix, junk: true },
        (_, Policy::None) => Verdict::Deliver {
            prefix,
            junk: false,
        },
    }
}

/// The Authentication-Results header for the checks (RFC 8601).
pub fn authentication_results(checks: &CheckResults, authserv_id: &str) -> String {
    let mut methods = Vec::new();
    let ip = &checks.iprev;
    let mut m = MethodResult::new("iprev", ip.result).prop("policy.iprev", ip.ip.to_string());
    if let Some(h) = &ip.host {
        m = m.comment(h.clone());
    }
    methods.push(m);
    methods.push(checks.spf.method_result());
    if checks.dkim.results.is_empty() {
        let mut m = MethodResult::new("dkim", checks.dkim.status());
        if let Some(e) = &checks.dkim.message_error {
            m = m.reason(e.to_string());
        }
        methods.push(m);
    }
    for r in &checks.dkim.results {
        let mut m = MethodResult::new("dkim", r.status);
        if r.error.is_some() {
            m = m.reason(r.reason());
        }
        if let Some(sig) = &r.signature {
            let b: String = base64_prefix(&sig.signature);
            m = m
                .prop("header.d", sig.domain.clone())
                .prop("header.s", sig.selector.clone())
                .prop("header.a", sig.algorithm.as_str())
                .prop("header.b", b);
        }
        methods.push(m);
    }
    match (&checks.dmarc, &checks.from_domain) {
        (Some(d), _) => {
            let mut m = MethodResult::new("dmarc", d.result);
            if let Some(p) = d.policy {
                m = m.comment(format!("p={p} dis={}", d.disposition));
            } else if d.result != DmarcResult::None && !d.reason.is_empty() {
                m = m.reason(d.reason.clone());
            }
            methods.push(m.prop("header.from", d.from_domain.clone()));
        }
        (None, Err(why)) => {
            methods.push(MethodResult::new("dmarc", "permerror").reason(why.clone()))
        }
        (None, Ok(_)) => {}
    }
    authres::header(authserv_id, &methods)
}

/// The first 8 characters of the base64 signature, enough to tell
/// signatures apart (RFC 6008 `header.b`).
fn base64_prefix(sig: &[u8]) -> String {
    use base64::Engine;
    let full = base64::engine::general_purpose::STANDARD.encode(sig);
    full.chars().take(8).collect()
}

//! The one place where the authentication of an inbound message (SPF,
//! DKIM, DMARC; RFC 7208, RFC 6376, RFC 7489) decides what happens to it.
//!
//! [`evaluate`] is called once per message at the end of DATA, after the
//! recipients are known and before anything is stored. It gets everything
//! the policy evaluators need (the connecting IP, the EHLO name, the
//! envelope sender, the message) and returns a [`Verdict`]. Today no
//! evaluator is wired in and the verdict is always "deliver to the Inbox,
//! no Authentication-Results header"; the DNS policy work fills this
//! function (running the pull-style SPF/DKIM/DMARC evaluators of proto
//! before the session calls it) without touching the rest of the session.

use std::net::IpAddr;

use moxide_proto::smtp::Reply;

use super::Role;

/// What the verdict is based on.
#[derive(Debug, Clone, Copy)]
pub struct VerdictInput<'a> {
    /// Inbound or submission (submitted mail is authenticated by AUTH and
    /// needs no verdict).
    pub role: Role,
    /// The connecting client.
    pub ip: IpAddr,
    /// Its EHLO/HELO name.
    pub helo: &'a str,
    /// The envelope sender; empty for the null path `<>`.
    pub mail_from: &'a str,
    /// The message as received (without our Received header).
    pub message: &'a [u8],
}

/// What to do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Deliver; `auth_results` is an `Authentication-Results` header line
    /// (RFC 8601, with CRLF) to store in the prefix, when one was made.
    Deliver {
        /// The header line, if any.
        auth_results: Option<String>,
        /// Deliver to the Junk mailbox instead of the Inbox.
        junk: bool,
    },
    /// Refuse the message with this reply (e.g. DMARC `p=reject`:
    /// `550 5.7.1`).
    Reject(Reply),
}

/// Decides what happens to an inbound message; see the module
/// documentation. Without policy evaluators every message is delivered to
/// the Inbox.
pub fn evaluate(input: &VerdictInput<'_>) -> Verdict {
    tracing::trace!(
        role = ?input.role,
        ip = %input.ip,
        helo = input.helo,
        mail_from = input.mail_from,
        size = input.message.len(),
        "message verdict: no policy evaluators, delivering"
    );
    Verdict::Deliver {
        auth_results: None,
        junk: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_evaluators_everything_is_delivered_to_the_inbox() {
        let v = evaluate(&VerdictInput {
            role: Role::Inbound,
            ip: "192.0.2.1".parse().unwrap(),
            helo: "mx.example",
            mail_from: "a@example",
            message: b"Subject: x\r\n\r\nbody\r\n",
        });
        assert_eq!(
            v,
            Verdict::Deliver {
                auth_results: None,
                junk: false
            }
        );
    }
}

//! What the scheduler hands out ([`Job`]: one delivery attempt for the
//! pending recipients of one queue entry) and what comes back
//! ([`JobResult`]: per recipient delivered, temporary or permanent).
//!
//! The code that turns a job into a result (MX lookup, TLS policy, SMTP
//! client) lives with delivery; the queue only keeps the books.

use std::sync::Arc;

use moxide_proto::smtp::{Body, Reply};
use moxide_storage::{QueueBody, QueueId};

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The queue entry (also the job's id: one job per entry at a time).
    pub id: QueueId,
    /// The recipient domain.
    pub domain: String,
    /// MAIL FROM; empty for `<>`.
    pub mail_from: String,
    /// The recipients still pending, as given at submission.
    pub recipients: Vec<String>,
    /// The message to send: prefix (Received, DKIM-Signature) + file.
    pub message: Arc<[u8]>,
    /// MAIL needs the SMTPUTF8 parameter (RFC 6531).
    pub smtputf8: bool,
    /// The BODY parameter to use (7BIT means none is needed).
    pub body: Body,
    /// See [`moxide_storage::QueueEntry::requiretls`].
    pub requiretls: Option<bool>,
    /// A named transport instead of direct delivery.
    pub transport: Option<String>,
    /// Which attempt this is (1 = the first).
    pub attempt: u32,
}

/// The body type for MAIL's BODY parameter.
pub(crate) fn body_of(b: QueueBody) -> Body {
    match b {
        QueueBody::SevenBit => Body::SevenBit,
        QueueBody::EightBitMime => Body::EightBitMime,
        QueueBody::BinaryMime => Body::BinaryMime,
    }
}

/// The body type to store for a message with `declared` BODY: binary
/// stays binary, otherwise 8BITMIME when any byte has the high bit set
/// (RFC 6152), else 7BIT.
pub fn body_for(declared: Option<Body>, message: &[u8]) -> QueueBody {
    match declared {
        Some(Body::BinaryMime) => QueueBody::BinaryMime,
        _ if message.iter().any(|b| *b >= 0x80) => QueueBody::EightBitMime,
        _ => QueueBody::SevenBit,
    }
}

/// The outcome for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptResult {
    /// Accepted by the next hop.
    Delivered,
    /// Try again later (4xx, connection trouble, TLS not available yet).
    Temporary {
        /// What went wrong, for the queue listing and the DSN.
        detail: String,
        /// The remote server's reply, when it gave one.
        reply: Option<Reply>,
    },
    /// Give up on this recipient (5xx, no such domain, TLS required but
    /// impossible): a failure DSN goes to the sender.
    Permanent {
        /// What went wrong.
        detail: String,
        /// The remote server's reply, when it gave one.
        reply: Option<Reply>,
    },
}

/// The outcome of a [`Job`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobResult {
    /// Per recipient (addresses as in [`Job::recipients`]); a recipient
    /// missing here counts as a temporary failure with `error`.
    pub recipients: Vec<(String, RcptResult)>,
    /// The host that gave the last reply (DSN `Remote-MTA`).
    pub remote_mta: Option<String>,
    /// An error of the whole attempt (no MX answered, connection refused),
    /// for recipients without a result of their own.
    pub error: Option<String>,
}

impl JobResult {
    /// Every recipient of `job` failed temporarily with `detail` (e.g. the
    /// connection was refused).
    pub fn all_temporary(job: &Job, detail: &str) -> JobResult {
        JobResult {
            recipients: Vec::new(),
            remote_mta: None,
            error: Some(detail.to_string()),
        }
        .with_all(job, |d| RcptResult::Temporary {
            detail: d,
            reply: None,
        })
    }

    /// Every recipient of `job` failed permanently with `detail`.
    pub fn all_permanent(job: &Job, detail: &str) -> JobResult {
        JobResult {
            recipients: Vec::new(),
            remote_mta: None,
            error: Some(detail.to_string()),
        }
        .with_all(job, |d| RcptResult::Permanent {
            detail: d,
            reply: None,
        })
    }

    fn with_all(mut self, job: &Job, f: impl Fn(String) -> RcptResult) -> JobResult {
        let d = self.error.clone().unwrap_or_default();
        self.recipients = job
            .recipients
            .iter()
            .map(|r| (r.clone(), f(d.clone())))
            .collect();
        self
    }

    /// The result for `address` (ASCII case-insensitive).
    pub(crate) fn for_rcpt(&self, address: &str) -> Option<&RcptResult> {
        self.recipients
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(address))
            .map(|(_, r)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_types() {
        assert_eq!(body_for(None, b"abc"), QueueBody::SevenBit);
        assert_eq!(
            body_for(Some(Body::SevenBit), "é".as_bytes()),
            QueueBody::EightBitMime
        );
        assert_eq!(
            body_for(Some(Body::BinaryMime), b"abc"),
            QueueBody::BinaryMime
        );
        assert_eq!(body_of(QueueBody::EightBitMime), Body::EightBitMime);
    }
}

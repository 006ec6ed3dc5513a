//! The SPF part of inbound checks: proto's [`SenderCheck`] (the HELO
//! identity, then MAIL FROM, or `postmaster@<helo>` for the null path;
//! RFC 7208 2.3, 2.4), its `Received-SPF` line and its
//! Authentication-Results entry.

use std::time::Instant;

use moxide_proto::authres::MethodResult;
use moxide_proto::dmarc::{CheckOutcome, Identifier};
use moxide_proto::dns::Query;
use moxide_proto::spf::{
    DEFAULT_EXPLANATION, Identity, ReceivedSpf, SenderCheck, SenderCheckInput, SenderVerdicts,
    SpfResult, received_spf,
};

use super::auth_checks::{Answers, CheckInput, replay};

/// The SPF results of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfCheck {
    pub verdicts: SenderVerdicts,
    /// The MAIL FROM address as given (empty for `<>`).
    pub envelope_from: String,
    /// The `Received-SPF:` header line (RFC 7208 9.1), CRLF-terminated.
    pub received_spf: String,
}

impl SpfCheck {
    /// The result that counts for the message: the MAIL FROM identity's.
    pub fn result(&self) -> SpfResult {
        self.verdicts.mail_from.result
    }

    /// The identifier DMARC aligns with the From domain (RFC 7489 4.1: the
    /// MAIL FROM domain, or the HELO name for the null path).
    pub fn dmarc_identifier(&self) -> Option<Identifier> {
        let outcome = match self.verdicts.mail_from.result {
            SpfResult::Pass => CheckOutcome::Pass,
            SpfResult::TempError => CheckOutcome::TempError,
            _ => CheckOutcome::Other,
        };
        Some(Identifier {
            domain: self.verdicts.mail_from.domain.clone(),
            outcome,
        })
    }

    /// The `spf=` entry of Authentication-Results (RFC 8601 2.7.2).
    pub fn method_result(&self) -> MethodResult {
        let o = &self.verdicts.mail_from;
        let m = MethodResult::new("spf", o.result);
        let m = match &o.problem {
            Some(p) => m.reason(p.clone()),
            None => m,
        };
        match self.verdicts.mail_from_identity {
            Identity::Helo => m.prop("smtp.helo", o.domain.clone()),
            Identity::MailFrom => m.prop("smtp.mailfrom", self.envelope_from.clone()),
        }
    }
}

/// Runs the SPF checks of the message, answering from `answers`.
pub fn run(
    input: &CheckInput,
    deadline: Instant,
    answers: &Answers,
    missing: &mut Vec<Query>,
) -> Option<SpfCheck> {
    let envelope_from = input.mail_from.clone().unwrap_or_default();
    // SPF looks up and DMARC aligns the domains in A-labels (RFC 5891
    // 5.4); an SMTPUTF8 sender may have written U-labels.
    let ascii_domain = |d: &str| {
        if d.is_ascii() {
            d.to_string()
        } else {
            moxide_proto::dns::domain_to_ascii(d).unwrap_or_else(|_| d.to_string())
        }
    };
    let mail_from_ascii = match envelope_from.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", ascii_domain(domain)),
        None => envelope_from.clone(),
    };
    let mut ev = SenderCheck::new(SenderCheckInput {
        ip: input.ip,
        helo: ascii_domain(&input.helo),
        mail_from: mail_from_ascii,
        receiver: input.hostname.clone(),
        timestamp: u64::try_from(input.unix).unwrap_or(0),
        deadline,
        default_explanation: DEFAULT_EXPLANATION.to_string(),
    });
    let verdicts = replay(&mut ev, answers, input.now, missing)?;
    let received_spf = received_spf(&ReceivedSpf {
        outcome: &verdicts.mail_from,
        identity: verdicts.mail_from_identity,
        client_ip: input.ip,
        envelope_from: &envelope_from,
        helo: &input.helo,
        receiver: &input.hostname,
    });
    Some(SpfCheck {
        verdicts,
        envelope_from,
        received_spf,
    })
}

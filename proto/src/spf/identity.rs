//! The SPF checks of an SMTP transaction (RFC 7208 2.3, 2.4): the HELO
//! identity and the MAIL FROM identity, the latter being `postmaster@` the
//! HELO name for the null reverse-path.

use std::net::IpAddr;
use std::time::Instant;

use super::SpfOutcome;
use super::check::{CheckHost, CheckHostInput};
use crate::dns::{Evaluate, Lookup, LookupId, Poll};

/// Which identity a result is for (the `identity=` key of `Received-SPF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The HELO/EHLO name (RFC 7208 2.3).
    Helo,
    /// The MAIL FROM reverse-path (RFC 7208 2.4).
    MailFrom,
}

impl Identity {
    /// The name `Received-SPF` uses (RFC 7208 9.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::Helo => "helo",
            Identity::MailFrom => "mailfrom",
        }
    }
}

/// `(sender, domain)` for check_host from a MAIL FROM address (without
/// angle brackets; empty for the null reverse-path) and the HELO name:
/// the null reverse-path checks `postmaster@helo` (RFC 7208 2.4).
pub fn mail_from_identity(mail_from: &str, helo: &str) -> (String, String) {
    if mail_from.is_empty() {
        return (format!("postmaster@{helo}"), helo.to_string());
    }
    match mail_from.rsplit_once('@') {
        Some((_, domain)) => (mail_from.to_string(), domain.to_string()),
        None => (format!("postmaster@{mail_from}"), mail_from.to_string()),
    }
}

/// The inputs of both checks.
#[derive(Debug, Clone)]
pub struct SenderCheckInput {
    pub ip: IpAddr,
    /// The HELO/EHLO argument as the client sent it.
    pub helo: String,
    /// The MAIL FROM address without angle brackets; empty for `<>`.
    pub mail_from: String,
    /// The receiving host's name (`%{r}`, `receiver=`).
    pub receiver: String,
    /// Seconds since the Unix epoch (`%{t}`).
    pub timestamp: u64,
    /// When both checks together give up (temperror).
    pub deadline: Instant,
    pub default_explanation: String,
}

/// Both results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderVerdicts {
    /// check_host(ip, helo, postmaster@helo); `none` when the HELO name is
    /// an address literal or not a domain.
    pub helo: SpfOutcome,
    /// check_host(ip, MAIL FROM domain, MAIL FROM); for the null
    /// reverse-path this is the HELO result.
    pub mail_from: SpfOutcome,
    /// Which identity `mail_from` was checked with.
    pub mail_from_identity: Identity,
}

/// Runs the HELO check, then the MAIL FROM check (skipped for the null
/// reverse-path, whose result is the HELO one). Lookup ids of the MAIL FROM
/// check have the top bit set.
#[derive(Debug)]
pub struct SenderCheck {
    helo: CheckHost,
    mail_from: Option<CheckHost>,
    helo_done: Option<SpfOutcome>,
    done: Option<SenderVerdicts>,
}

const MAIL_FROM_BIT: u32 = 1 << 31;

impl SenderCheck {
    pub fn new(input: SenderCheckInput) -> SenderCheck {
        let helo = input.helo.trim().to_string();
        let make = |domain: String, sender: String| {
            CheckHost::new(CheckHostInput {
                ip: input.ip,
                domain,
                sender,
                helo: helo.clone(),
                receiver: input.receiver.clone(),
                timestamp: input.timestamp,
                deadline: input.deadline,
                default_explanation: input.default_explanation.clone(),
            })
        };
        let helo_check = make(helo.clone(), format!("postmaster@{helo}"));
        let mail_from = (!input.mail_from.is_empty()).then(|| {
            let (sender, domain) = mail_from_identity(&input.mail_from, &helo);
            make(domain, sender)
        });
        SenderCheck {
            helo: helo_check,
            mail_from,
            helo_done: None,
            done: None,
        }
    }
}

impl Evaluate for SenderCheck {
    type Output = SenderVerdicts;

    fn poll(&mut self, now: Instant) -> Poll<SenderVerdicts> {
        if let Some(done) = &self.done {
            return Poll::Ready(done.clone());
        }
        if self.helo_done.is_none() {
            match self.helo.poll(now) {
                Poll::Ready(out) => self.helo_done = Some(out),
                Poll::Lookup(id, q) => return Poll::Lookup(id, q),
                Poll::Pending => return Poll::Pending,
            }
        }
        let Some(helo) = self.helo_done.clone() else {
            return Poll::Pending;
        };
        let (mail_from, identity) = match &mut self.mail_from {
            None => (helo.clone(), Identity::Helo),
            Some(check) => match check.poll(now) {
                Poll::Ready(out) => (out, Identity::MailFrom),
                Poll::Lookup(id, q) => return Poll::Lookup(LookupId(id.0 | MAIL_FROM_BIT), q),
                Poll::Pending => return Poll::Pending,
            },
        };
        let done = SenderVerdicts {
            helo,
            mail_from,
            mail_from_identity: identity,
        };
        self.done = Some(done.clone());
        Poll::Ready(done)
    }

    fn handle_answer(&mut self, now: Instant, id: LookupId, answer: Lookup) {
        if id.0 & MAIL_FROM_BIT != 0 {
            if let Some(check) = &mut self.mail_from {
                check.handle_answer(now, LookupId(id.0 & !MAIL_FROM_BIT), answer);
            }
        } else if self.helo_done.is_none() {
            self.helo.handle_answer(now, id, answer);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        if self.done.is_some() {
            None
        } else if self.helo_done.is_none() {
            self.helo.deadline()
        } else {
            self.mail_from.as_ref().and_then(Evaluate::deadline)
        }
    }
}

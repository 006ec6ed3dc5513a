//! The SMTP session: answers the questions of the protocol core
//! ([`SmtpServer`]) with the policy of moxide, for inbound mail (port 25),
//! submission (587 with STARTTLS, 465 with implicit TLS) and localserve.
//!
//! - [`inbound`]: which account a recipient address belongs to.
//! - [`submission`]: AUTH against the account's secrets; the From header
//!   must be an address of the account; Message-ID and Date are added.
//! - [`deliver`]: the message buffer, the Received prefix and the durable
//!   delivery into each recipient's Inbox (before the `250`).
//! - [`verdict`]: the one place where SPF/DKIM/DMARC verdicts decide.
//! - [`localserve`]: the recipients that fail on purpose.
//!
//! # Runtime contract
//!
//! An [`SmtpSession`] is a [`Conn`], driven exactly like the IMAP
//! [`Session`](crate::imap::Session): build it with a [`PeerInfo`], loop
//! read → [`Conn::handle_input`], drain [`Conn::poll_transmit`] and
//! [`Conn::poll_action`] (`StartTls`: do the handshake, then call
//! [`SmtpSession::tls_established`]), sleep until [`Conn::poll_timeout`].
//! Storage is called synchronously; a `250` after DATA is written only once
//! the message is committed durably.
//!
//! Outgoing mail (submission) goes where [`SmtpConfig::outgoing`] says:
//! [`Outgoing::Loopback`] delivers it through the inbound path to local
//! accounts only ("loopback", as mox localserve does by connecting to its
//! own SMTP port; calling the same code directly is equivalent and just as
//! durable); [`Outgoing::Queue`] delivers recipients in local domains
//! ([`SmtpConfig::local_domains`]) the same way (an unknown one is refused
//! at RCPT) and puts the others into the outgoing queue
//! ([`crate::queue`]), durably before the `250`.

pub mod auth_checks;
pub mod deliver;
pub mod dkim_sign;
pub mod inbound;
pub mod localserve;
pub mod spf_check;
pub mod submission;
pub mod verdict;

mod session;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use moxide_proto::smtp::SmtpConfig as ServerConfig;

pub use crate::imap::{NonceSource, PeerInfo, WallClock};
pub use session::SmtpSession;

/// What a listener is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Inbound mail for local accounts (port 25): no AUTH.
    Inbound,
    /// Submission by authenticated users (ports 587 and 465).
    Submission,
}

/// Configuration shared by the sessions of one listener.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The protocol core's configuration (`submission` must match `role`).
    pub server: ServerConfig,
    /// Inbound or submission.
    pub role: Role,
    /// Account that receives mail for unknown recipients (localserve: the
    /// `mox` account, as mox localserve accepts every recipient).
    pub catch_all: Option<String>,
    /// Localserve's recipients that fail on purpose ([`localserve`]).
    pub localserve: bool,
    /// How long a localserve `timeout` recipient holds the reply.
    pub localserve_timeout: Duration,
    /// Inbound: check iprev, SPF, DKIM and DMARC through `Need::Dns`
    /// lookups and apply the verdict ([`verdict`]). Needs a runtime that
    /// answers DNS needs; off, messages are delivered unchecked.
    pub sender_checks: bool,
    /// Failed AUTH attempts per client IP with growing delays; give it a
    /// clone of the IMAP config's limiter so both protocols count together.
    pub login_limit: crate::imap::LoginLimiter,
    /// DKIM signing of submitted mail (`domains.toml` selectors); empty:
    /// no signing.
    pub dkim: Arc<dkim_sign::DkimSigning>,
    /// Where submitted mail for recipients that are not local goes.
    pub outgoing: Outgoing,
    /// The domains (and address literals) this server is the destination
    /// for ([`inbound::resolve`]).
    pub local_domains: LocalDomains,
    /// The account that receives `<Postmaster>` and `postmaster@` every
    /// local domain and the host name when no account has that address
    /// (RFC 5321 4.5.1); `None`: such mail is refused as unknown.
    pub postmaster: Option<String>,
}

/// Which recipient domains are local: mail for them is delivered to the
/// accounts of this server, never relayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LocalDomains {
    /// Every domain and address literal: a recipient is local exactly
    /// when the store knows its address (or the catch-all takes it).
    /// Localserve and bare configurations; nothing is ever relayed.
    #[default]
    Any,
    /// Only these (`moxide serve`: the domains of `domains.toml`). Other
    /// domains are relayed by submission and refused on port 25.
    Only {
        /// Canonical domain names (ASCII lower case, no trailing dot).
        domains: BTreeSet<String>,
        /// The server's own addresses (its listeners' IPs): an address
        /// literal naming one of them (`user@[192.0.2.1]`) is local.
        ips: BTreeSet<IpAddr>,
    },
}

/// Where submitted mail for other domains goes.
#[derive(Debug, Clone, Default)]
pub enum Outgoing {
    /// Nowhere: only local recipients are accepted (`550 5.1.1` for
    /// others); localserve and the default.
    #[default]
    Loopback,
    /// Into the outgoing queue.
    Queue(Arc<crate::queue::Queue>),
}

impl SmtpConfig {
    /// Inbound mail on port 25.
    pub fn inbound(hostname: &str) -> SmtpConfig {
        SmtpConfig {
            server: ServerConfig {
                hostname: hostname.to_string(),
                submission: false,
                ..ServerConfig::default()
            },
            role: Role::Inbound,
            catch_all: None,
            localserve: false,
            localserve_timeout: Duration::from_secs(30),
            sender_checks: false,
            login_limit: crate::imap::LoginLimiter::default(),
            dkim: Arc::default(),
            outgoing: Outgoing::Loopback,
            local_domains: LocalDomains::Any,
            postmaster: None,
        }
    }

    /// Submission (AUTH required before MAIL).
    pub fn submission(hostname: &str) -> SmtpConfig {
        SmtpConfig {
            server: ServerConfig {
                hostname: hostname.to_string(),
                submission: true,
                ..ServerConfig::default()
            },
            role: Role::Submission,
            ..SmtpConfig::inbound(hostname)
        }
    }

    /// The localserve variant of `self`: every recipient accepted (unknown
    /// ones go to `catch_all`), failures on purpose, plaintext AUTH allowed
    /// (loopback only).
    pub fn for_localserve(mut self, catch_all: &str) -> SmtpConfig {
        self.catch_all = Some(catch_all.to_string());
        self.localserve = true;
        self.server.allow_plain_auth_without_tls = true;
        self
    }

    /// Shared.
    pub fn shared(self) -> Arc<SmtpConfig> {
        Arc::new(self)
    }
}

/// Formats unix seconds as an RFC 5322 3.3 date in UTC:
/// `Tue, 02 Jan 2024 03:04:05 +0000`.
pub fn rfc5322_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let weekday = DAYS
        .get(usize::try_from(days.rem_euclid(7)).unwrap_or(0))
        .copied()
        .unwrap_or("Thu");
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mname = MONTHS
        .get(usize::try_from(month - 1).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {day:02} {mname} {year} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc5322_date;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_704_164_645),
            "Tue, 02 Jan 2024 03:04:05 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }
}

//! Recipients: whether an address is local, and which account gets it.
//!
//! Local-ness is a property of the domain ([`LocalDomains`]): a recipient
//! in a local domain is delivered here or refused, never relayed; any
//! other recipient is relayed by submission (through the queue) and
//! refused on port 25 (`550 5.1.1 not accepting email for domain`, as mox:
//! no open relay). An address literal is local only when it names one of
//! the server's own IPs (a general `[tag:content]` literal never is).
//!
//! Domains compare in A-labels (RFC 5891): `user@exämple.test` and
//! `user@xn--exmple-cua.test` are the same recipient
//! ([`moxide_proto::dns::domain_to_ascii`]).
//!
//! A local address is looked up as a whole (lower-cased) in the store's
//! address table, which holds every account address and alias. Localpart
//! catch-all (`user+tag@domain` → `user@domain`, as mox's default
//! `LocalpartCatchallSeparator` "+") is tried next, then the postmaster
//! rule (RFC 5321 4.5.1), then localserve's catch-all account (`mox`).
//! Everything else is `550 5.1.1` (RFC 3463 3.2: bad destination mailbox
//! address), at RCPT, on port 25 as in submission.

use std::net::IpAddr;

use moxide_proto::smtp::{AddressLiteral, ForwardPath, Host, Reply};
use moxide_storage::{Store, StoreError};

use super::{LocalDomains, SmtpConfig};

/// Where a recipient's mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address as given in RCPT TO (for the Received header).
    pub address: String,
    /// The account that receives it.
    pub account: String,
}

/// Why a recipient is not delivered locally.
#[derive(Debug)]
pub enum RecipientError {
    /// A local domain without such an address: `550 5.1.1`.
    Unknown,
    /// Not a local domain, or an address literal that is not one of our
    /// IPs: submission relays it (when it has a queue), port 25 refuses.
    NotLocal {
        /// An address literal rather than a domain (the reply says so).
        literal: bool,
    },
    /// A general address literal (`[tag:content]`), which names no host
    /// we can deliver to: `550 5.1.2`.
    GeneralLiteral,
    /// A domain that is not a valid internationalised domain name
    /// (RFC 5891): `501 5.1.3`. The SMTP parser refuses these already;
    /// this guards callers that build paths themselves.
    BadDomain,
    /// The store failed: `451 4.3.0`.
    Store(StoreError),
}

impl RecipientError {
    /// The reply for RCPT TO (on port 25 for [`RecipientError::NotLocal`]).
    pub fn reply(&self) -> Reply {
        match self {
            RecipientError::Unknown => Reply::with(550, (5, 1, 1), "no such user"),
            // No relaying for unauthenticated clients (RFC 5321 3.6.2).
            RecipientError::NotLocal { literal: false } => Reply::with(
                550,
                (5, 1, 1),
                "not accepting email for domain (no relaying)",
            ),
            RecipientError::NotLocal { literal: true } => {
                Reply::with(550, (5, 1, 1), "not accepting email for ip (no relaying)")
            }
            // RFC 3463 3.2: X.1.2 bad destination system address.
            RecipientError::GeneralLiteral => {
                Reply::with(550, (5, 1, 2), "general address literals are not supported")
            }
            // RFC 3463 3.2: X.1.3 bad destination mailbox address syntax.
            RecipientError::BadDomain => Reply::with(
                501,
                (5, 1, 3),
                "invalid internationalized domain name (IDNA, RFC 5891)",
            ),
            RecipientError::Store(e) => {
                tracing::error!(error = %e, "recipient lookup");
                Reply::local_error("error looking up recipient, try again later")
            }
        }
    }
}

/// The address of a forward path as text (`postmaster` for
/// `<Postmaster>`, RFC 5321 4.1.1.3).
pub fn path_address(to: &ForwardPath) -> String {
    match to {
        ForwardPath::Postmaster => "postmaster".to_string(),
        ForwardPath::Mailbox(m) => m.to_string(),
    }
}

/// Whether `domain` (as written in RCPT TO) is local under `local`.
fn is_local_domain(local: &LocalDomains, domain: &str) -> bool {
    match local {
        LocalDomains::Any => true,
        LocalDomains::Only { domains, .. } => domains.contains(domain),
    }
}

/// Whether an IP address literal names this server under `local`.
fn is_local_ip(local: &LocalDomains, ip: &IpAddr) -> bool {
    match local {
        LocalDomains::Any => true,
        LocalDomains::Only { ips, .. } => ips.contains(ip),
    }
}

/// Resolves a recipient to an account under `cfg`'s local domains,
/// postmaster account and catch-all.
///
/// - `<Postmaster>` and `postmaster@D` (any case), where D is a local
///   domain or the server's host name, go to the account with that
///   explicit address (`postmaster@D`, for `<Postmaster>` the host name's),
///   else to `cfg.postmaster` (RFC 5321 4.5.1: they must be accepted).
/// - Other addresses of local domains: the account with the address or,
///   for `user+tag@D`, with `user@D`; else `cfg.catch_all`; else
///   [`RecipientError::Unknown`].
/// - Addresses of other domains: [`RecipientError::NotLocal`].
pub fn resolve(
    store: &Store,
    to: &ForwardPath,
    cfg: &SmtpConfig,
) -> Result<Recipient, RecipientError> {
    let address = path_address(to);
    let hostname = moxide_proto::dns::domain_to_ascii(&cfg.server.hostname)
        .unwrap_or_else(|_| cfg.server.hostname.to_ascii_lowercase());
    let (local, domain) = match to {
        ForwardPath::Postmaster => ("postmaster".to_string(), hostname.clone()),
        ForwardPath::Mailbox(m) => {
            let domain = match &m.host {
                Host::Domain(d) => {
                    moxide_proto::dns::domain_to_ascii(d).map_err(|_| RecipientError::BadDomain)?
                }
                Host::Literal(AddressLiteral::Ip(ip)) => {
                    if !is_local_ip(&cfg.local_domains, ip) {
                        return Err(RecipientError::NotLocal { literal: true });
                    }
                    m.host.to_string()
                }
                Host::Literal(AddressLiteral::General { .. }) => {
                    return Err(RecipientError::GeneralLiteral);
                }
            };
            (m.local_part.to_lowercase(), domain)
        }
    };
    let is_literal = domain.starts_with('[');
    let local_domain = is_literal || is_local_domain(&cfg.local_domains, &domain);
    // RFC 5321 4.5.1: postmaster of every domain we accept mail for, and
    // of the host itself (as mox).
    let postmaster = local == "postmaster" && (local_domain || domain == hostname);
    if !local_domain && !postmaster {
        return Err(RecipientError::NotLocal { literal: false });
    }
    let mut candidates = vec![format!("{local}@{domain}")];
    // Localpart catch-all: user+tag@domain → user@domain.
    if let Some((base, _)) = local.split_once('+')
        && !base.is_empty()
    {
        candidates.push(format!("{base}@{domain}"));
    }
    for c in &candidates {
        match store.account_for_address(c) {
            Ok(Some(account)) => return Ok(Recipient { address, account }),
            Ok(None) => {}
            Err(e) => return Err(RecipientError::Store(e)),
        }
    }
    let fallback = if postmaster {
        cfg.postmaster.as_ref().or(cfg.catch_all.as_ref())
    } else {
        cfg.catch_all.as_ref()
    };
    match fallback {
        Some(a) => Ok(Recipient {
            address,
            account: a.clone(),
        }),
        None => Err(RecipientError::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moxide_proto::smtp::Mailbox;
    use moxide_storage::{NewAccount, StoreConfig};

    fn fp(local: &str, domain: &str) -> ForwardPath {
        ForwardPath::Mailbox(Mailbox {
            local_part: local.into(),
            host: Host::Domain(domain.into()),
        })
    }

    fn lit(local: &str, l: AddressLiteral) -> ForwardPath {
        ForwardPath::Mailbox(Mailbox {
            local_part: local.into(),
            host: Host::Literal(l),
        })
    }

    fn store_with(accounts: &[(&str, &[&str])]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        for (name, addrs) in accounts {
            store
                .create_account(
                    name,
                    NewAccount {
                        addresses: addrs.iter().map(|a| a.to_string()).collect(),
                        ..NewAccount::default()
                    },
                )
                .unwrap();
        }
        (dir, store)
    }

    /// `moxide serve`-like: example.org and b.example are local, the
    /// server is mail.example.org at 192.0.2.1.
    fn only() -> SmtpConfig {
        let mut c = SmtpConfig::inbound("mail.example.org");
        c.local_domains = LocalDomains::Only {
            domains: ["example.org".to_string(), "b.example".to_string()].into(),
            ips: ["192.0.2.1".parse().unwrap()].into(),
        };
        c
    }

    fn acct(store: &Store, to: &ForwardPath, cfg: &SmtpConfig) -> Result<String, String> {
        resolve(store, to, cfg)
            .map(|r| r.account)
            .map_err(|e| String::from_utf8(e.reply().to_bytes()).unwrap())
    }

    #[test]
    fn addresses_tags_and_catch_all() {
        let (_d, store) = store_with(&[("a", &["a@example.org", "alias@example.org"])]);
        let any = SmtpConfig::inbound("mx.example");
        assert_eq!(acct(&store, &fp("A", "Example.ORG"), &any).unwrap(), "a");
        assert_eq!(
            acct(&store, &fp("alias", "example.org"), &any).unwrap(),
            "a"
        );
        assert_eq!(
            acct(&store, &fp("a+news", "example.org"), &any).unwrap(),
            "a"
        );
        assert_eq!(
            acct(&store, &fp("b", "example.org"), &any).unwrap_err(),
            "550 5.1.1 no such user\r\n"
        );
        let ls = SmtpConfig::inbound("localhost").for_localserve("mox");
        assert_eq!(acct(&store, &fp("b", "example.org"), &ls).unwrap(), "mox");
        assert_eq!(
            acct(&store, &fp("b", "elsewhere.test"), &ls).unwrap(),
            "mox"
        );
        let r = resolve(&store, &fp("a+x", "example.org"), &any).unwrap();
        assert_eq!(r.address, "a+x@example.org");
    }

    #[test]
    fn local_ness_is_a_property_of_the_domain() {
        let (_d, store) = store_with(&[("a", &["a@example.org", "x@other.test"])]);
        let cfg = only();
        assert_eq!(acct(&store, &fp("a", "EXAMPLE.org"), &cfg).unwrap(), "a");
        assert_eq!(
            acct(&store, &fp("nobody", "example.org"), &cfg).unwrap_err(),
            "550 5.1.1 no such user\r\n"
        );
        assert_eq!(
            acct(&store, &fp("nobody", "b.example"), &cfg).unwrap_err(),
            "550 5.1.1 no such user\r\n"
        );
        // An address the store knows, in a domain that is not local, is
        // still not ours to deliver.
        assert_eq!(
            acct(&store, &fp("x", "other.test"), &cfg).unwrap_err(),
            "550 5.1.1 not accepting email for domain (no relaying)\r\n"
        );
        assert!(matches!(
            resolve(&store, &fp("x", "other.test"), &cfg),
            Err(RecipientError::NotLocal { literal: false })
        ));
        // A subdomain of a local domain is another domain.
        assert_eq!(
            acct(&store, &fp("a", "sub.example.org"), &cfg).unwrap_err(),
            "550 5.1.1 not accepting email for domain (no relaying)\r\n"
        );
    }

    #[test]
    fn address_literals_are_local_only_for_our_ips() {
        let (_d, store) = store_with(&[("a", &["a@[192.0.2.1]", "postmaster@example.org"])]);
        let mut cfg = only();
        cfg.postmaster = Some("a".into());
        let ours = AddressLiteral::Ip("192.0.2.1".parse().unwrap());
        let theirs = AddressLiteral::Ip("192.0.2.9".parse().unwrap());
        assert_eq!(acct(&store, &lit("a", ours.clone()), &cfg).unwrap(), "a");
        assert_eq!(
            acct(&store, &lit("b", ours.clone()), &cfg).unwrap_err(),
            "550 5.1.1 no such user\r\n"
        );
        assert_eq!(acct(&store, &lit("Postmaster", ours), &cfg).unwrap(), "a");
        assert_eq!(
            acct(&store, &lit("a", theirs.clone()), &cfg).unwrap_err(),
            "550 5.1.1 not accepting email for ip (no relaying)\r\n"
        );
        assert!(matches!(
            resolve(&store, &lit("a", theirs), &cfg),
            Err(RecipientError::NotLocal { literal: true })
        ));
        let general = AddressLiteral::General {
            tag: "x-tag".into(),
            content: "abc".into(),
        };
        assert_eq!(
            acct(&store, &lit("a", general), &cfg).unwrap_err(),
            "550 5.1.2 general address literals are not supported\r\n"
        );
    }
}

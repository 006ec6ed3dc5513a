//! Inbound recipients: which account an address belongs to.
//!
//! An address is looked up as a whole (lower-cased) in the store's address
//! table, which holds every account address and alias. Localpart
//! catch-all (`user+tag@domain` → `user@domain`, as mox's default
//! `LocalpartCatchallSeparator` "+") is tried next. Localserve then sends
//! every remaining recipient to its catch-all account (`mox`). Everything
//! else is `550 5.1.1` (RFC 3463 3.2: bad destination mailbox address).

use moxide_proto::smtp::{ForwardPath, Host, Reply};
use moxide_storage::{Store, StoreError};

/// Where a recipient's mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address as given in RCPT TO (for the Received header).
    pub address: String,
    /// The account that receives it.
    pub account: String,
}

/// Why a recipient was refused.
#[derive(Debug)]
pub enum RecipientError {
    /// No such address: `550 5.1.1`.
    Unknown,
    /// The store failed: `451 4.3.0`.
    Store(StoreError),
}

impl RecipientError {
    /// The reply for RCPT TO.
    pub fn reply(&self) -> Reply {
        match self {
            RecipientError::Unknown => Reply::with(550, (5, 1, 1), "no such user"),
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

/// Resolves a recipient to an account. `<Postmaster>` and
/// `postmaster@any-domain` go to the account holding a postmaster address,
/// else to `catch_all`.
pub fn resolve(
    store: &Store,
    to: &ForwardPath,
    catch_all: Option<&str>,
) -> Result<Recipient, RecipientError> {
    let address = path_address(to);
    let candidates: Vec<String> = match to {
        ForwardPath::Postmaster => vec!["postmaster".to_string()],
        ForwardPath::Mailbox(m) => {
            let domain = match &m.host {
                Host::Domain(d) => d.to_lowercase(),
                Host::Literal(l) => l.to_string(),
            };
            let local = m.local_part.to_lowercase();
            let mut c = vec![format!("{local}@{domain}")];
            // Localpart catch-all: user+tag@domain → user@domain.
            if let Some((base, _)) = local.split_once('+')
                && !base.is_empty()
            {
                c.push(format!("{base}@{domain}"));
            }
            c
        }
    };
    for c in &candidates {
        match store.account_for_address(c) {
            Ok(Some(account)) => return Ok(Recipient { address, account }),
            Ok(None) => {}
            Err(e) => return Err(RecipientError::Store(e)),
        }
    }
    match catch_all {
        Some(a) => Ok(Recipient {
            address,
            account: a.to_string(),
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

    #[test]
    fn addresses_tags_and_catch_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        store
            .create_account(
                "a",
                NewAccount {
                    addresses: vec!["a@example.org".into(), "alias@example.org".into()],
                    ..NewAccount::default()
                },
            )
            .unwrap();
        let acct = |to: &ForwardPath, ca| resolve(&store, to, ca).map(|r| r.account);
        assert_eq!(acct(&fp("A", "Example.ORG"), None).unwrap(), "a");
        assert_eq!(acct(&fp("alias", "example.org"), None).unwrap(), "a");
        assert_eq!(acct(&fp("a+news", "example.org"), None).unwrap(), "a");
        assert!(matches!(
            acct(&fp("b", "example.org"), None),
            Err(RecipientError::Unknown)
        ));
        assert_eq!(acct(&fp("b", "example.org"), Some("mox")).unwrap(), "mox");
        assert_eq!(
            RecipientError::Unknown.reply().to_bytes(),
            b"550 5.1.1 no such user\r\n"
        );
        let r = resolve(&store, &fp("a+x", "example.org"), None).unwrap();
        assert_eq!(r.address, "a+x@example.org");
    }
}

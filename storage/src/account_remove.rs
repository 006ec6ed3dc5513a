//! Account removal: every record of the account in one durable batch, then
//! its message files.

use fjall::PersistMode;

use crate::envelope::TAG_ENVELOPE;
use crate::error::{Result, StoreError};
use crate::files;
use crate::keys;
use crate::records::{self, AccountRecord};
use crate::store::{Store, lock};

impl Store {
    /// Removes account `name` and everything it holds: its record,
    /// counters, addresses, mailboxes, messages, subscriptions, TLS client
    /// keys and login attempts go in one durable batch (a crash leaves the
    /// whole account or none of it), then its message directory is
    /// deleted. Returns the addresses it had. Account ids are never
    /// reused, so files left by a crash after the commit belong to no
    /// account. No session may use the account (run it with the server
    /// stopped).
    pub fn remove_account(&self, name: &str) -> Result<Vec<String>> {
        let inner = &self.inner;
        let _admin = lock(&inner.admin);
        let meta = &inner.ks.meta;
        let rec: AccountRecord = match meta.get(keys::account(name))? {
            None => return Err(StoreError::NoSuchAccount(name.to_string())),
            Some(v) => records::decode(&v, || format!("account record {name:?}"))?,
        };
        let id = rec.id;
        let idb = id.to_be_bytes();
        let mut b = inner.db.batch();
        b.remove(meta, keys::account(name));
        b.remove(meta, keys::state(id));
        for a in &rec.addresses {
            b.remove(meta, keys::address(a));
        }
        let mut meta_prefixes: Vec<Vec<u8>> = [
            keys::TAG_MAILBOX,
            keys::TAG_NAME,
            keys::TAG_ERASE,
            keys::TAG_SUBSCRIPTION,
            TAG_ENVELOPE,
            crate::flags_index::TAG_FLAGS_INDEX,
            crate::login_disabled::TAG_LOGIN_DISABLED,
        ]
        .iter()
        .map(|t| {
            let mut p = vec![*t];
            p.extend_from_slice(&idb);
            p
        })
        .collect();
        meta_prefixes.push(keys::login_attempt_prefix(name));
        meta_prefixes.push(keys::tls_pubkey_index_prefix(name));
        let index_skip = keys::tls_pubkey_index_prefix(name).len();
        for p in &meta_prefixes {
            for kv in meta.prefix(p) {
                let k = kv.key()?;
                if k.starts_with(&keys::tls_pubkey_index_prefix(name)) {
                    let fp = std::str::from_utf8(k.get(index_skip..).unwrap_or_default())
                        .map_err(|_| StoreError::corrupt("TLS key fingerprint is not UTF-8"))?;
                    b.remove(meta, keys::tls_pubkey(fp));
                }
                b.remove(meta, k.to_vec());
            }
        }
        for ks in [
            &inner.ks.msgs,
            &inner.ks.modseq,
            &inner.ks.content,
            &inner.ks.msgid,
        ] {
            for kv in ks.prefix(idb) {
                let k = kv.key()?;
                b.remove(ks, k.to_vec());
            }
        }
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        lock(&inner.accounts).remove(name);
        let dir = files::account_dir(&inner.dir, id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove directory", &dir, e)),
        }
        Ok(rec.addresses)
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewAccount, NewMessage, Store, StoreConfig, StoreError};

    #[test]
    fn removal_leaves_no_trace_and_other_accounts_intact() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let new = |a: &str| NewAccount {
            addresses: vec![a.to_string()],
            password: Some("pw".into()),
            quota: 0,
            default_mailboxes: true,
        };
        let a = store.create_account("a", new("a@x.test")).unwrap();
        let b = store.create_account("b", new("b@x.test")).unwrap();
        let msg = b"Subject: s\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n";
        for acct in [&a, &b] {
            let inbox = acct.mailbox("INBOX").unwrap();
            acct.deliver(
                inbox.id,
                &NewMessage {
                    data: msg,
                    received: 1,
                    ..Default::default()
                },
            )
            .unwrap();
        }
        let a_dir = dir.path().join("accounts").join(a.id().to_string());
        assert!(a_dir.is_dir());
        drop(a);
        assert_eq!(store.remove_account("a").unwrap(), vec!["a@x.test"]);
        assert!(!a_dir.exists());
        assert_eq!(store.account_names().unwrap(), vec!["b"]);
        assert_eq!(store.account_for_address("a@x.test").unwrap(), None);
        assert!(matches!(
            store.account("a"),
            Err(StoreError::NoSuchAccount(_))
        ));
        assert!(matches!(
            store.remove_account("a"),
            Err(StoreError::NoSuchAccount(_))
        ));
        assert!(store.check_consistency().unwrap().is_empty());
        // The name and address can be used again, by a fresh account.
        let a2 = store.create_account("a", new("a@x.test")).unwrap();
        let inbox = a2.mailbox("INBOX").unwrap();
        assert_eq!(inbox.counts.total, 0);
        assert_eq!(b.mailbox("INBOX").unwrap().counts.total, 1);
        assert!(store.check_consistency().unwrap().is_empty());
    }
}

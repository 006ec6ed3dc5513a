//! Disabled logins (mox's `LoginDisabled`): an account whose login is
//! disabled cannot log in over any protocol, and the admin's message says
//! why; mail for its addresses is still delivered as normal.
//!
//! Stored apart from the account record (whose postcard encoding has no
//! room for new fields): `meta` key `X` acct(u32) → the message, UTF-8.
//! No key: login enabled. [`Store::remove_account`] removes
//! it with the account.

use fjall::PersistMode;

use crate::account::Account;
use crate::error::{Result, StoreError};
use crate::store::lock;

/// Tag byte of the `meta` keys `X` acct(u32).
pub(crate) const TAG_LOGIN_DISABLED: u8 = b'X';

/// The key of account `acct`'s disabled-login message.
pub(crate) fn key(acct: u32) -> Vec<u8> {
    let mut k = vec![TAG_LOGIN_DISABLED];
    k.extend_from_slice(&acct.to_be_bytes());
    k
}

impl Account {
    /// The admin's message when login is disabled; `None` when enabled.
    pub fn login_disabled(&self) -> Result<Option<String>> {
        match self.store.ks.meta.get(key(self.id()))? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec()).map(Some).map_err(|_| {
                StoreError::corrupt(format!(
                    "login-disabled message of {:?} is not UTF-8",
                    self.name()
                ))
            }),
        }
    }

    /// Disables login with `message` (shown to the user who tries; the
    /// admin commands refuse an empty one), or enables it again with
    /// `None`. Durable when it returns. Sessions already logged in are not
    /// affected.
    pub fn set_login_disabled(&self, message: Option<&str>) -> Result<()> {
        let _admin = lock(&self.store.admin);
        let mut b = self.store.db.batch();
        match message {
            Some(m) => b.insert(&self.store.ks.meta, key(self.id()), m.as_bytes().to_vec()),
            None => b.remove(&self.store.ks.meta, key(self.id())),
        }
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewAccount, Store, StoreConfig};

    #[test]
    fn disable_enable_survive_reopen_and_go_with_the_account() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
            let a = store
                .create_account(
                    "a",
                    NewAccount {
                        addresses: vec!["a@example.org".into()],
                        ..NewAccount::default()
                    },
                )
                .unwrap();
            assert_eq!(a.login_disabled().unwrap(), None);
            a.set_login_disabled(Some("moved to the new server"))
                .unwrap();
        }
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let a = store.account("a").unwrap();
        assert_eq!(
            a.login_disabled().unwrap().as_deref(),
            Some("moved to the new server")
        );
        assert_eq!(
            a.settings().unwrap().login_disabled.as_deref(),
            Some("moved to the new server")
        );
        a.set_login_disabled(None).unwrap();
        assert_eq!(a.login_disabled().unwrap(), None);
        a.set_login_disabled(Some("x")).unwrap();
        store.remove_account("a").unwrap();
        // A new account of the same name starts enabled (ids are not reused,
        // and removal dropped the key).
        let b = store.create_account("a", NewAccount::default()).unwrap();
        assert_eq!(b.login_disabled().unwrap(), None);
        assert_eq!(
            store
                .inner
                .ks
                .meta
                .prefix([super::TAG_LOGIN_DISABLED])
                .count(),
            0
        );
    }
}

//! Accounts: creation, settings (addresses, password secrets, quota override)
//! and the shared per-account state (writer lock, changes hub).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use fjall::PersistMode;

use crate::PasswordSecrets;
use crate::changes::{ChangeReader, Hub};
use crate::error::{Result, StoreError};
use crate::keys;
use crate::mailbox_name;
use crate::records::{self, AccountRecord, AccountState, Mailbox, SpecialUse};
use crate::store::{Inner, Store, lock};
use crate::txn::Txn;

/// State shared by all handles of one account.
pub(crate) struct AccountShared {
    pub id: u32,
    pub name: String,
    /// Writer lock; holds the committed counters.
    pub write: Mutex<AccountState>,
    pub hub: Mutex<Hub>,
    /// Disk usage as of the last commit, readable without waiting for a
    /// commit in progress (quota prechecks).
    pub usage: AtomicU64,
    /// Deliveries waiting for a group commit.
    pub group: crate::group_commit::GroupQueue,
}

impl AccountShared {
    pub fn load(store: &Inner, name: &str, id: u32) -> Result<AccountShared> {
        let state: AccountState = match store.ks.meta.get(keys::state(id))? {
            Some(v) => records::decode(&v, || format!("account state of {name:?}"))?,
            None => {
                return Err(StoreError::corrupt(format!(
                    "account {name:?} has no state record"
                )));
            }
        };
        Ok(AccountShared {
            id,
            name: name.to_string(),
            usage: AtomicU64::new(state.disk_usage),
            write: Mutex::new(state),
            hub: Mutex::new(Hub::default()),
            group: Default::default(),
        })
    }
}

/// A handle to one account. Cheap to clone, `Send + Sync`. Writers of an
/// account are serialised; readers see committed data.
#[derive(Clone)]
pub struct Account {
    pub(crate) store: Arc<Inner>,
    pub(crate) shared: Arc<AccountShared>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.shared.name)
            .finish()
    }
}

/// What to create an account with.
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    /// Email addresses delivered to this account (stored in canonical
    /// form: lower case, the domain in A-labels).
    pub addresses: Vec<String>,
    /// Initial password (only derived secrets are stored).
    pub password: Option<String>,
    /// Quota override: 0 = store default, negative = unlimited, else bytes.
    pub quota: i64,
    /// Also create Sent, Archive, Trash, Drafts and Junk (as mox does).
    pub default_mailboxes: bool,
}

/// Account settings as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSettings {
    /// Addresses in canonical form (lower case, domain in A-labels).
    pub addresses: Vec<String>,
    /// Quota override: 0 = store default, negative = unlimited, else bytes.
    pub quota: i64,
    /// Whether a password is set.
    pub has_password: bool,
    /// The admin's message when login is disabled
    /// ([`Account::set_login_disabled`]); `None` when enabled.
    pub login_disabled: Option<String>,
}

fn derive_secrets(password: &str) -> Result<Vec<u8>> {
    let mut s256 = [0u8; 16];
    let mut s1 = [0u8; 16];
    getrandom::fill(&mut s256)
        .and_then(|()| getrandom::fill(&mut s1))
        .map_err(|e| StoreError::Io {
            op: "random salt",
            path: "getrandom".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    Ok(PasswordSecrets::derive(password, s256, s1).encode())
}

impl Store {
    /// Create an account with an Inbox (and the usual special-use mailboxes
    /// if asked).
    pub fn create_account(&self, name: &str, new: NewAccount) -> Result<Account> {
        let inner = &self.inner;
        let _admin = lock(&inner.admin);
        if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
            return Err(StoreError::InvalidAccountName {
                name: name.to_string(),
                reason: "empty, longer than 255 bytes, or has control characters",
            });
        }
        if inner.ks.meta.get(keys::account(name))?.is_some() {
            return Err(StoreError::AccountExists(name.to_string()));
        }
        let addresses: Vec<String> = new
            .addresses
            .iter()
            .map(|a| moxide_proto::dns::address_to_ascii(a))
            .collect();
        for a in &addresses {
            if let Some(owner) = self.account_for_address(a)? {
                return Err(StoreError::AddressInUse {
                    address: a.clone(),
                    account: owner,
                });
            }
        }
        let id = match inner.ks.meta.get(keys::next_account())? {
            Some(v) => keys::be_u32(&v, 0).ok_or_else(|| StoreError::corrupt("next account id"))?,
            None => 1,
        };
        let next = id
            .checked_add(1)
            .ok_or(StoreError::Exhausted("account ids"))?;
        let rec = AccountRecord {
            id,
            addresses: addresses.clone(),
            secrets: new.password.as_deref().map(derive_secrets).transpose()?,
            quota: new.quota,
        };
        let state = AccountState {
            modseq: 1,
            next_msg_id: 1,
            next_uidvalidity: 1,
            next_mailbox_id: 1,
            disk_usage: 0,
        };
        // The account records and its mailboxes go in one batch: a crash
        // leaves either no account or a complete one.
        let shared = Arc::new(AccountShared {
            id,
            name: name.to_string(),
            usage: AtomicU64::new(state.disk_usage),
            write: Mutex::new(state),
            hub: Mutex::new(Hub::default()),
            group: Default::default(),
        });
        let acct = Account::from_shared(inner.clone(), shared.clone());
        let mut txn = Txn::begin(&acct);
        let meta = &inner.ks.meta;
        txn.batch
            .insert(meta, keys::next_account(), next.to_be_bytes().to_vec());
        txn.batch
            .insert(meta, keys::account(name), records::encode(&rec)?);
        for a in &addresses {
            txn.batch
                .insert(meta, keys::address(a), name.as_bytes().to_vec());
        }
        acct.create_one(&mut txn, mailbox_name::INBOX, SpecialUse::NONE, true)?;
        if new.default_mailboxes {
            for (n, su) in [
                ("Sent", SpecialUse::SENT),
                ("Archive", SpecialUse::ARCHIVE),
                ("Trash", SpecialUse::TRASH),
                ("Drafts", SpecialUse::DRAFTS),
                ("Junk", SpecialUse::JUNK),
            ] {
                acct.create_one(&mut txn, n, su, true)?;
            }
        }
        txn.commit()?;
        lock(&inner.accounts).insert(name.to_string(), shared);
        Ok(acct)
    }
}

impl Account {
    pub(crate) fn from_shared(store: Arc<Inner>, shared: Arc<AccountShared>) -> Account {
        Account { store, shared }
    }

    /// Account name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Account id (names the account's file directory).
    pub fn id(&self) -> u32 {
        self.shared.id
    }

    fn record(&self) -> Result<AccountRecord> {
        match self.store.ks.meta.get(keys::account(&self.shared.name))? {
            Some(v) => records::decode(&v, || format!("account record {:?}", self.shared.name)),
            None => Err(StoreError::NoSuchAccount(self.shared.name.clone())),
        }
    }

    fn put_record(&self, rec: &AccountRecord) -> Result<()> {
        let mut b = self.store.db.batch();
        b.insert(
            &self.store.ks.meta,
            keys::account(&self.shared.name),
            records::encode(rec)?,
        );
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(())
    }

    /// Addresses, quota override, whether a password is set and whether
    /// login is disabled.
    pub fn settings(&self) -> Result<AccountSettings> {
        let r = self.record()?;
        Ok(AccountSettings {
            addresses: r.addresses,
            quota: r.quota,
            has_password: r.secrets.is_some(),
            login_disabled: self.login_disabled()?,
        })
    }

    /// Set the password: stores derived SCRAM-SHA-256, SCRAM-SHA-1 and
    /// CRAM-MD5 secrets with fresh salts, never the plaintext.
    pub fn set_password(&self, password: &str) -> Result<()> {
        let _admin = lock(&self.store.admin);
        let mut r = self.record()?;
        r.secrets = Some(derive_secrets(password)?);
        self.put_record(&r)
    }

    /// The stored password secrets, if a password is set.
    pub fn password_secrets(&self) -> Result<Option<PasswordSecrets>> {
        match self.record()?.secrets {
            None => Ok(None),
            Some(b) => PasswordSecrets::decode(&b).map(Some).map_err(|_| {
                StoreError::corrupt(format!("password secrets of {:?}", self.shared.name))
            }),
        }
    }

    /// Set the quota override: 0 = store default, negative = unlimited.
    pub fn set_quota(&self, quota: i64) -> Result<()> {
        let _admin = lock(&self.store.admin);
        let mut r = self.record()?;
        r.quota = quota;
        self.put_record(&r)
    }

    /// Replace the account's addresses.
    pub fn set_addresses(&self, addresses: &[String]) -> Result<()> {
        let inner = &self.store;
        let _admin = lock(&inner.admin);
        let mut r = self.record()?;
        let new: Vec<String> = addresses
            .iter()
            .map(|a| moxide_proto::dns::address_to_ascii(a))
            .collect();
        let mut b = inner.db.batch();
        for a in &new {
            if let Some(v) = inner.ks.meta.get(keys::address(a))?
                && *v != *self.shared.name.as_bytes()
            {
                return Err(StoreError::AddressInUse {
                    address: a.clone(),
                    account: String::from_utf8_lossy(&v).into_owned(),
                });
            }
        }
        for a in &r.addresses {
            b.remove(&inner.ks.meta, keys::address(a));
        }
        for a in &new {
            b.insert(
                &inner.ks.meta,
                keys::address(a),
                self.shared.name.as_bytes().to_vec(),
            );
        }
        r.addresses = new;
        b.insert(
            &inner.ks.meta,
            keys::account(&self.shared.name),
            records::encode(&r)?,
        );
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(())
    }

    /// Subscribe to this account's changes feed.
    pub fn subscribe(&self) -> ChangeReader {
        ChangeReader::register(self.store.clone(), self.shared.clone())
    }

    /// The account's modseq: the highest modseq handed out (HIGHESTMODSEQ).
    pub fn highest_modseq(&self) -> u64 {
        lock(&self.shared.write).modseq
    }

    /// Load a mailbox record by id (deleted ones too).
    pub(crate) fn load_mailbox(&self, id: u32) -> Result<Mailbox> {
        match self.store.ks.meta.get(keys::mailbox(self.shared.id, id))? {
            None => Err(StoreError::NoSuchMailbox(format!("#{id}"))),
            Some(v) => {
                let mut mb: Mailbox =
                    records::decode(&v, || format!("mailbox #{id} of {:?}", self.shared.name))?;
                mb.id = id;
                Ok(mb)
            }
        }
    }

    /// On first open after a restart no reader exists: erase every pending
    /// file, and remove files written by a transaction that never committed.
    pub(crate) fn erase_pending_on_open(&self) -> Result<()> {
        let state = lock(&self.shared.write);
        let mut pending = Vec::new();
        for kv in self
            .store
            .ks
            .meta
            .prefix(keys::erase_prefix(self.shared.id))
        {
            let k = kv.key()?;
            let id = keys::be_u64(&k, 5).ok_or_else(|| StoreError::corrupt("erase key"))?;
            pending.push((0, id));
        }
        crate::files::remove_uncommitted(&self.store.dir, self.shared.id, state.next_msg_id)?;
        lock(&self.shared.hub).pending_erase.extend(pending);
        drop(state);
        crate::expunge::erase_ready(&self.store, &self.shared);
        Ok(())
    }
}

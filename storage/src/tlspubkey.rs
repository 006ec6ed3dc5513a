//! TLS client-certificate public keys per account (issue 8): a key
//! identifies its account by the fingerprint of its SubjectPublicKeyInfo
//! ([`moxide_proto::tls_key::spki_fingerprint`]); nothing else of the
//! certificate is checked at login.
//!
//! Keys live in the `meta` keyspace: `K` fingerprint → [`TlsPubKey`], and
//! the index `k` account-name NUL fingerprint → `` for listing one
//! account's keys. Both are written in one batch.

use fjall::PersistMode;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::keys;
use crate::records;
use crate::store::{Store, lock};

/// A client key registered for an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsPubKey {
    /// SHA-256 of the SubjectPublicKeyInfo DER, base64url without padding;
    /// the key's identity.
    pub fingerprint: String,
    /// `rsa-N`, `ecdsa-p256` or `ed25519` (the Display of
    /// [`moxide_proto::tls_key::KeyType`]).
    pub key_type: String,
    /// A name for people (default: the certificate's CN, else its serial).
    pub name: String,
    /// The account the key logs in to.
    pub account: String,
    /// The address a login with this key (EXTERNAL without authorisation
    /// identity, IMAP PREAUTH) uses; an address of `account`, lower case.
    pub login_address: String,
    /// No PREAUTH on implicit-TLS IMAP, for clients that ignore it and then
    /// try to log in.
    pub no_imap_preauth: bool,
    /// The certificate as uploaded (DER).
    pub cert_der: Vec<u8>,
    /// When the key was added (unix seconds).
    pub created_unix: i64,
}

impl Store {
    /// Registers a key. Fails with [`StoreError::TlsPubKeyExists`] for a
    /// fingerprint already registered (to any account),
    /// [`StoreError::NoSuchAccount`], [`StoreError::AddressNotOfAccount`]
    /// when `login_address` is not an address of `account`, and
    /// [`StoreError::InvalidTlsPubKey`] when the certificate cannot be
    /// parsed, is refused (weak key) or does not have this fingerprint and
    /// key type. The login address is stored lower case. Durable on return.
    pub fn tls_pubkey_add(&self, key: &TlsPubKey) -> Result<()> {
        let inner = &self.inner;
        let _admin = lock(&inner.admin);
        let parsed = moxide_proto::tls_key::parse_certificate(&key.cert_der).map_err(|e| {
            StoreError::InvalidTlsPubKey {
                reason: e.to_string(),
            }
        })?;
        if parsed.fingerprint != key.fingerprint {
            return Err(StoreError::InvalidTlsPubKey {
                reason: format!(
                    "fingerprint {:?} does not match the certificate's key ({:?})",
                    key.fingerprint, parsed.fingerprint
                ),
            });
        }
        if parsed.key_type.to_string() != key.key_type {
            return Err(StoreError::InvalidTlsPubKey {
                reason: format!(
                    "key type {:?} does not match the certificate's key ({})",
                    key.key_type, parsed.key_type
                ),
            });
        }
        let meta = &inner.ks.meta;
        if meta.get(keys::tls_pubkey(&key.fingerprint))?.is_some() {
            return Err(StoreError::TlsPubKeyExists(key.fingerprint.clone()));
        }
        if meta.get(keys::account(&key.account))?.is_none() {
            return Err(StoreError::NoSuchAccount(key.account.clone()));
        }
        let address = key.login_address.to_lowercase();
        if self.account_for_address(&address)?.as_deref() != Some(key.account.as_str()) {
            return Err(StoreError::AddressNotOfAccount {
                address,
                account: key.account.clone(),
            });
        }
        let mut rec = key.clone();
        rec.login_address = address;
        let mut b = inner.db.batch();
        b.insert(
            meta,
            keys::tls_pubkey(&rec.fingerprint),
            records::encode(&rec)?,
        );
        b.insert(
            meta,
            keys::tls_pubkey_index(&rec.account, &rec.fingerprint),
            Vec::new(),
        );
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(())
    }

    /// The key with this fingerprint, if registered.
    pub fn tls_pubkey(&self, fingerprint: &str) -> Result<Option<TlsPubKey>> {
        match self.inner.ks.meta.get(keys::tls_pubkey(fingerprint))? {
            None => Ok(None),
            Some(v) => records::decode(&v, || format!("TLS public key {fingerprint:?}")).map(Some),
        }
    }

    /// The keys of one account, or of all accounts (`None`), sorted by
    /// account then fingerprint.
    pub fn tls_pubkeys(&self, account: Option<&str>) -> Result<Vec<TlsPubKey>> {
        let meta = &self.inner.ks.meta;
        let mut out = Vec::new();
        match account {
            Some(name) => {
                let prefix = keys::tls_pubkey_index_prefix(name);
                for kv in meta.prefix(&prefix) {
                    let k = kv.key()?;
                    let fp = std::str::from_utf8(k.get(prefix.len()..).unwrap_or_default())
                        .map_err(|_| StoreError::corrupt("TLS public key index: not UTF-8"))?;
                    match self.tls_pubkey(fp)? {
                        Some(key) => out.push(key),
                        None => {
                            return Err(StoreError::corrupt(format!(
                                "TLS public key index of {name:?} names missing key {fp:?}"
                            )));
                        }
                    }
                }
            }
            None => {
                for kv in meta.prefix([keys::TAG_TLS_PUBKEY]) {
                    let v = kv.value()?;
                    let key: TlsPubKey = records::decode(&v, || "TLS public key".to_string())?;
                    out.push(key);
                }
                out.sort_by(|a, b| (&a.account, &a.fingerprint).cmp(&(&b.account, &b.fingerprint)));
            }
        }
        Ok(out)
    }

    /// Removes a key; false when no key has this fingerprint.
    pub fn tls_pubkey_remove(&self, fingerprint: &str) -> Result<bool> {
        let _admin = lock(&self.inner.admin);
        let Some(key) = self.tls_pubkey(fingerprint)? else {
            return Ok(false);
        };
        let meta = &self.inner.ks.meta;
        let mut b = self.inner.db.batch();
        b.remove(meta, keys::tls_pubkey(fingerprint));
        b.remove(meta, keys::tls_pubkey_index(&key.account, fingerprint));
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(true)
    }

    /// Removes every key of `account` in one durable batch and returns how
    /// many there were. Account removal calls this (keys go with their
    /// account).
    pub fn tls_pubkeys_remove_account(&self, account: &str) -> Result<usize> {
        let _admin = lock(&self.inner.admin);
        let meta = &self.inner.ks.meta;
        let keys_of = self.tls_pubkeys(Some(account))?;
        let mut b = self.inner.db.batch();
        for key in &keys_of {
            b.remove(meta, keys::tls_pubkey(&key.fingerprint));
            b.remove(meta, keys::tls_pubkey_index(account, &key.fingerprint));
        }
        b.durability(Some(PersistMode::SyncAll)).commit()?;
        Ok(keys_of.len())
    }

    /// Consistency of the keys: each key's account exists and has its login
    /// address, the fingerprint matches the certificate, and the index
    /// agrees with the records.
    pub(crate) fn check_tls_pubkeys(&self) -> Result<Vec<String>> {
        let meta = &self.inner.ks.meta;
        let mut p = Vec::new();
        for key in self.tls_pubkeys(None)? {
            let fp = &key.fingerprint;
            if meta.get(keys::account(&key.account))?.is_none() {
                p.push(format!(
                    "TLS public key {fp:?} belongs to missing account {:?}",
                    key.account
                ));
            } else if self.account_for_address(&key.login_address)?.as_deref()
                != Some(key.account.as_str())
            {
                p.push(format!(
                    "TLS public key {fp:?}: login address {:?} is not an address of account {:?}",
                    key.login_address, key.account
                ));
            }
            match moxide_proto::tls_key::parse_certificate(&key.cert_der) {
                Ok(c) if c.fingerprint == *fp => {}
                Ok(c) => p.push(format!(
                    "TLS public key {fp:?}: certificate has fingerprint {:?}",
                    c.fingerprint
                )),
                Err(e) => p.push(format!("TLS public key {fp:?}: certificate: {e}")),
            }
            if meta
                .get(keys::tls_pubkey_index(&key.account, fp))?
                .is_none()
            {
                p.push(format!("TLS public key {fp:?} missing from the index"));
            }
        }
        for kv in meta.prefix([keys::TAG_TLS_PUBKEY_INDEX]) {
            let k = kv.key()?;
            let rest = k.get(1..).unwrap_or_default();
            let mut parts = rest.splitn(2, |&b| b == 0);
            let (Some(acct), Some(fp)) = (parts.next(), parts.next()) else {
                p.push("malformed TLS public key index entry".to_string());
                continue;
            };
            let (acct, fp) = (String::from_utf8_lossy(acct), String::from_utf8_lossy(fp));
            match self.tls_pubkey(&fp)? {
                Some(key) if key.account == acct => {}
                _ => p.push(format!(
                    "TLS public key index entry {acct:?}/{fp:?} has no matching key"
                )),
            }
        }
        Ok(p)
    }
}

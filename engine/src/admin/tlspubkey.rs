//! `moxide config tlspubkey …`: the TLS client-certificate keys of the
//! accounts (issue 8). A key logs in to its account by the public key of
//! the certificate a client presents; see [`moxide_storage::TlsPubKey`].
//!
//! - `list [ACCOUNT]`: one line per key, see [`list`].
//! - `get FINGERPRINT`: the key's fields and certificate, see [`get`].
//! - `add ADDRESS [NAME] [--no-imap-preauth] < cert.pem`: see [`add`].
//! - `rm FINGERPRINT`: see [`remove`].
//! - `gen STEM`: see [`super::keygen`].

use moxide_proto::tls_key::{KeyError, parse_certificate, parse_pem};
use moxide_storage::{Store, StoreError, TlsPubKey};

use base64::Engine as _;

/// Why a `tlspubkey` command failed; each message names what is at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsPubKeyError {
    /// The address belongs to no account.
    #[error("unknown address {0:?}: no account has it")]
    UnknownAddress(String),
    /// The account does not exist.
    #[error("unknown account {0:?}")]
    UnknownAccount(String),
    /// No key has this fingerprint.
    #[error("no TLS public key with fingerprint {0:?} (see `moxide config tlspubkey list`)")]
    UnknownKey(String),
    /// The key is registered already.
    #[error(
        "TLS public key {fingerprint} is already registered (account {account:?}, name {name:?})"
    )]
    Duplicate {
        /// The key.
        fingerprint: String,
        /// Its account.
        account: String,
        /// Its name.
        name: String,
    },
    /// The PEM input or the certificate in it is unusable (malformed, key
    /// too weak, unsupported key type).
    #[error("certificate on standard input: {0}")]
    Certificate(#[from] KeyError),
    /// The key name is empty or has control characters.
    #[error("key name {0:?}: must be non-empty and without control characters")]
    BadName(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// What `add` registers.
#[derive(Debug, Clone, Copy)]
pub struct AddKey<'a> {
    /// The login address; its account gets the key.
    pub address: &'a str,
    /// The key's name; the certificate's CN (else its serial) when `None`.
    pub name: Option<&'a str>,
    /// No IMAP PREAUTH for this key.
    pub no_imap_preauth: bool,
    /// PEM text with a `CERTIFICATE` block (a private key beside it is
    /// ignored).
    pub pem: &'a [u8],
    /// Now, unix seconds (the key's creation time).
    pub now_unix: i64,
}

/// Registers the key of the certificate in `req.pem` for the account of
/// `req.address`. Durable on return.
pub fn add(store: &Store, req: AddKey<'_>) -> Result<TlsPubKey, TlsPubKeyError> {
    let der = parse_pem(req.pem)?;
    let parsed = parse_certificate(&der)?;
    let address = req.address.trim().to_lowercase();
    let account = store
        .account_for_address(&address)?
        .ok_or_else(|| TlsPubKeyError::UnknownAddress(req.address.to_string()))?;
    let name = req.name.map_or(parsed.default_name, str::to_string);
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(TlsPubKeyError::BadName(name));
    }
    if let Some(k) = store.tls_pubkey(&parsed.fingerprint)? {
        return Err(duplicate(k));
    }
    let key = TlsPubKey {
        fingerprint: parsed.fingerprint,
        key_type: parsed.key_type.to_string(),
        name,
        account,
        login_address: address,
        no_imap_preauth: req.no_imap_preauth,
        cert_der: der,
        created_unix: req.now_unix,
    };
    match store.tls_pubkey_add(&key) {
        Ok(()) => Ok(key),
        // Added by someone else between the check and the write.
        Err(StoreError::TlsPubKeyExists(fp)) => match store.tls_pubkey(&fp)? {
            Some(k) => Err(duplicate(k)),
            None => Err(StoreError::TlsPubKeyExists(fp).into()),
        },
        Err(e) => Err(e.into()),
    }
}

fn duplicate(k: TlsPubKey) -> TlsPubKeyError {
    TlsPubKeyError::Duplicate {
        fingerprint: k.fingerprint,
        account: k.account,
        name: k.name,
    }
}

/// The header line of [`list`].
pub const LIST_HEADER: &str = "fingerprint\ttype\taccount\tlogin address\timap preauth\tname";

/// The keys of `account` (all accounts when `None`), one tab-separated
/// line each under [`LIST_HEADER`]: fingerprint, type, account, login
/// address, `yes`/`no` for IMAP preauth, name.
pub fn list(store: &Store, account: Option<&str>) -> Result<String, TlsPubKeyError> {
    if let Some(a) = account {
        match store.account(a) {
            Ok(_) => {}
            Err(StoreError::NoSuchAccount(_)) => {
                return Err(TlsPubKeyError::UnknownAccount(a.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut out = format!("{LIST_HEADER}\n");
    for k in store.tls_pubkeys(account)? {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            k.fingerprint,
            k.key_type,
            k.account,
            k.login_address,
            if k.no_imap_preauth { "no" } else { "yes" },
            k.name
        ));
    }
    Ok(out)
}

/// The key's fields, one `name: value` line each, then its certificate in
/// PEM.
pub fn get(store: &Store, fingerprint: &str) -> Result<String, TlsPubKeyError> {
    let k = store
        .tls_pubkey(fingerprint)?
        .ok_or_else(|| TlsPubKeyError::UnknownKey(fingerprint.to_string()))?;
    Ok(describe(&k))
}

/// What [`get`] prints for `k`.
pub fn describe(k: &TlsPubKey) -> String {
    format!(
        "fingerprint: {}\ntype: {}\nname: {}\naccount: {}\nlogin address: {}\nno imap preauth: {}\ncreated: {}\n{}",
        k.fingerprint,
        k.key_type,
        k.name,
        k.account,
        k.login_address,
        k.no_imap_preauth,
        k.created_unix,
        certificate_pem(&k.cert_der)
    )
}

/// A DER certificate as PEM, 64 characters a line (RFC 7468 2).
pub fn certificate_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Removes the key; returns it. Connections made with it afterwards are
/// not authenticated by it (the key is looked up on every connection).
pub fn remove(store: &Store, fingerprint: &str) -> Result<TlsPubKey, TlsPubKeyError> {
    let k = store
        .tls_pubkey(fingerprint)?
        .ok_or_else(|| TlsPubKeyError::UnknownKey(fingerprint.to_string()))?;
    if !store.tls_pubkey_remove(fingerprint)? {
        return Err(TlsPubKeyError::UnknownKey(fingerprint.to_string()));
    }
    Ok(k)
}

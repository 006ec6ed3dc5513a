//! Login attempts (password and client-certificate logins) with a bounded
//! history: the newest [`MAX_ATTEMPTS_PER_ACCOUNT`] per account, none older
//! than [`MAX_ATTEMPT_AGE_SECS`] (pruned on each new record).
//!
//! Records live in the `meta` keyspace: `L` account-name NUL unix(u64)
//! seq(u32) → [`LoginAttempt`]; attempts for no known account use the empty
//! account name. Recording is buffered, not fsynced: a crash may lose the
//! last attempts, but a login never waits for a disk flush.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::keys;
use crate::records;
use crate::store::Store;

/// Records kept per account (and for the unknown-account bucket).
pub const MAX_ATTEMPTS_PER_ACCOUNT: usize = 1000;

/// Records older than this (30 days) are dropped.
pub const MAX_ATTEMPT_AGE_SECS: i64 = 30 * 24 * 3600;

/// One login attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAttempt {
    /// When (unix seconds).
    pub unix: i64,
    /// The account, when the attempt named a known one.
    pub account: Option<String>,
    /// The address or user name given (the key's login address for a
    /// certificate login); may be empty.
    pub address: String,
    /// The client certificate's key fingerprint, if one was presented.
    pub key_fingerprint: Option<String>,
    /// The mechanism: `LOGIN` (IMAP command), `PLAIN`, `SCRAM-SHA-256`, …,
    /// `EXTERNAL`, or `PREAUTH` / `TLS` for a login by the key alone.
    pub mechanism: String,
    /// `imap` or `submission`.
    pub protocol: String,
    /// The client's IP address.
    pub remote_ip: String,
    /// Whether the login succeeded.
    pub success: bool,
    /// Why it failed (empty on success).
    pub failure: String,
}

impl Store {
    /// Records an attempt and prunes the account's history to its bounds.
    pub fn record_login_attempt(&self, attempt: &LoginAttempt) -> Result<()> {
        let meta = &self.inner.ks.meta;
        let bucket = attempt.account.as_deref().unwrap_or("");
        let unix = u64::try_from(attempt.unix).unwrap_or(0);
        // The sequence number keeps attempts of the same second apart.
        let second = keys::login_attempt(bucket, unix, 0);
        let second_prefix = second.get(..second.len() - 4).unwrap_or_default();
        let seq = match meta.prefix(second_prefix).next_back() {
            None => 0,
            Some(kv) => {
                let k = kv.key()?;
                let at = k.len().saturating_sub(4);
                keys::be_u32(&k, at)
                    .and_then(|s| s.checked_add(1))
                    .ok_or_else(|| StoreError::corrupt("login attempt key"))?
            }
        };
        let mut b = self.inner.db.batch();
        b.insert(
            meta,
            keys::login_attempt(bucket, unix, seq),
            records::encode(attempt)?,
        );
        // Prune: everything beyond the newest MAX-1 (the new one makes MAX)
        // and everything older than the age limit.
        let prefix = keys::login_attempt_prefix(bucket);
        let oldest_kept = unix.saturating_sub(MAX_ATTEMPT_AGE_SECS.unsigned_abs());
        let mut kept = 0usize;
        for kv in meta.prefix(&prefix).rev() {
            let k = kv.key()?;
            let t = keys::be_u64(&k, prefix.len()).unwrap_or(0);
            kept += 1;
            if kept >= MAX_ATTEMPTS_PER_ACCOUNT || t < oldest_kept {
                b.remove(meta, k.to_vec());
            }
        }
        b.commit()?;
        Ok(())
    }

    /// The newest `limit` attempts of an account (`None`: attempts naming
    /// no known account), newest first.
    pub fn login_attempts(&self, account: Option<&str>, limit: usize) -> Result<Vec<LoginAttempt>> {
        let prefix = keys::login_attempt_prefix(account.unwrap_or(""));
        let mut out = Vec::new();
        for kv in self.inner.ks.meta.prefix(&prefix).rev().take(limit) {
            let v = kv.value()?;
            out.push(records::decode(&v, || "login attempt".to_string())?);
        }
        Ok(out)
    }
}

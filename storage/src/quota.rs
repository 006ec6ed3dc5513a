//! Quota: disk usage per account (sum of live message sizes) against a limit:
//! the account's override if positive, unlimited if negative, else the store
//! default (0 = unlimited). RFC 9208.

use std::sync::atomic::Ordering;

use crate::account::Account;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::records::{self, AccountRecord};
use crate::txn::Txn;

/// Usage and limit of an account (IMAP GETQUOTA "STORAGE" is in KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Bytes used by live messages.
    pub usage: u64,
    /// Limit in bytes; `None` = unlimited.
    pub limit: Option<u64>,
}

impl Account {
    /// The account's limit in bytes (`None` = unlimited).
    pub fn quota_limit(&self) -> Result<Option<u64>> {
        let rec: AccountRecord = match self.store.ks.meta.get(keys::account(&self.shared.name))? {
            Some(v) => records::decode(&v, || format!("account record {:?}", self.shared.name))?,
            None => return Err(StoreError::NoSuchAccount(self.shared.name.clone())),
        };
        Ok(match rec.quota {
            q if q < 0 => None,
            0 => match self.store.config.quota_default {
                0 => None,
                d => Some(d),
            },
            q => Some(q.unsigned_abs()),
        })
    }

    /// Usage (as of the last commit; does not wait for one in progress)
    /// and limit.
    pub fn quota(&self) -> Result<Quota> {
        let limit = self.quota_limit()?;
        let usage = self.shared.usage.load(Ordering::Acquire);
        Ok(Quota { usage, limit })
    }

    /// Refuse, before anything is written, an add of `needed` bytes that
    /// would take usage over the limit.
    pub(crate) fn check_quota(&self, txn: &Txn<'_>, needed: u64) -> Result<()> {
        if let Some(limit) = self.quota_limit()? {
            let usage = txn.state.disk_usage;
            if usage.saturating_add(needed) > limit {
                return Err(StoreError::OverQuota {
                    limit,
                    usage,
                    needed,
                });
            }
        }
        Ok(())
    }
}

//! `moxide verifydata`'s view of a store: the consistency check
//! ([`Store::check_consistency`]) and what was checked, for its summary
//! line.

use crate::error::{Result, StoreError};
use crate::keys;
use crate::store::Store;

/// The outcome of [`Store::verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Accounts checked.
    pub accounts: usize,
    /// Live mailboxes of all accounts.
    pub mailboxes: usize,
    /// Live messages (with and without `\Deleted`) of all mailboxes.
    pub messages: u64,
    /// Bytes of those messages (prefix + file).
    pub bytes: u64,
    /// Entries of the outgoing queue.
    pub queue_entries: usize,
    /// One line per problem; empty when the store is consistent.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// The summary line `moxide verifydata` prints last, e.g.
    /// `1 account, 6 mailboxes, 3 messages (1234 bytes), 0 queue entries: 0 problems`.
    pub fn summary(&self) -> String {
        fn n(count: u64, one: &str, many: &str) -> String {
            format!("{count} {}", if count == 1 { one } else { many })
        }
        format!(
            "{}, {}, {} ({}), {}: {}",
            n(self.accounts as u64, "account", "accounts"),
            n(self.mailboxes as u64, "mailbox", "mailboxes"),
            n(self.messages, "message", "messages"),
            n(self.bytes, "byte", "bytes"),
            n(self.queue_entries as u64, "queue entry", "queue entries"),
            n(self.problems.len() as u64, "problem", "problems"),
        )
    }
}

impl StoreError {
    /// Whether opening failed because another process holds the database
    /// (its lock file): a server runs on the data directory.
    pub fn is_locked(&self) -> bool {
        matches!(self, StoreError::Db(fjall::Error::Locked))
    }
}

impl Store {
    /// Run the full consistency check (every account, the address index,
    /// TLS keys, the queue, message files with their sizes, stray files)
    /// and count what was checked. Counts come from the mailboxes' stored
    /// counts; a wrong count is itself reported as a problem.
    pub fn verify(&self) -> Result<VerifyReport> {
        let problems = self.check_consistency()?;
        let mut r = VerifyReport {
            problems,
            ..VerifyReport::default()
        };
        let mut ids = std::collections::BTreeSet::new();
        for name in self.account_names()? {
            r.accounts += 1;
            let acct = self.account(&name)?;
            ids.insert(acct.id().to_string());
            for mb in acct.mailboxes()? {
                r.mailboxes += 1;
                r.messages = r
                    .messages
                    .saturating_add(mb.counts.total)
                    .saturating_add(mb.counts.deleted);
                r.bytes = r.bytes.saturating_add(mb.counts.size);
            }
        }
        r.queue_entries = self.inner.ks.meta.prefix([keys::TAG_QUEUE]).count();
        r.problems.extend(self.check_account_dirs(&ids)?);
        Ok(r)
    }

    /// Every entry of `accounts/` is the directory of a live account (ids
    /// are never reused: a directory left by an interrupted removal
    /// belongs to none).
    fn check_account_dirs(&self, ids: &std::collections::BTreeSet<String>) -> Result<Vec<String>> {
        let dir = self.dir().join("accounts");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("list", dir, e)),
        };
        let mut p = Vec::new();
        for e in entries {
            let e = e.map_err(|err| StoreError::io("list", &dir, err))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if !ids.contains(&name) {
                p.push(format!(
                    "accounts/{name}: belongs to no account (left by an interrupted account removal?)"
                ));
            }
        }
        p.sort();
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_plurals() {
        let mut r = VerifyReport {
            accounts: 1,
            mailboxes: 6,
            messages: 3,
            bytes: 1234,
            queue_entries: 0,
            problems: Vec::new(),
        };
        assert_eq!(
            r.summary(),
            "1 account, 6 mailboxes, 3 messages (1234 bytes), 0 queue entries: 0 problems"
        );
        r.accounts = 2;
        r.mailboxes = 1;
        r.messages = 1;
        r.bytes = 1;
        r.queue_entries = 1;
        r.problems.push("x".into());
        assert_eq!(
            r.summary(),
            "2 accounts, 1 mailbox, 1 message (1 byte), 1 queue entry: 1 problem"
        );
    }
}

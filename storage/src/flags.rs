//! STORE: changing flags and keywords, optionally only for messages not
//! modified since a modseq (RFC 7162 3.1.3 UNCHANGEDSINCE).

use crate::account::Account;
use crate::changes::Change;
use crate::error::{Result, StoreError};
use crate::records::{Flags, MailboxCounts, Message};
use crate::txn::Txn;

/// How flags are changed (RFC 9051 6.4.6 FLAGS, +FLAGS, -FLAGS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// Replace flags and keywords.
    Replace,
    /// Add flags and keywords.
    Add,
    /// Remove flags and keywords.
    Remove,
}

/// Outcome of [`Account::store_flags`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreOutcome {
    /// Messages whose flags changed, with their new state, ascending by UID.
    pub changed: Vec<Message>,
    /// UIDs refused because their modseq is above UNCHANGEDSINCE (the
    /// MODIFIED response code), ascending.
    pub modified: Vec<u32>,
    /// Modseq of the commit (the account's current modseq if nothing changed).
    pub modseq: u64,
}

/// Validate keywords (IMAP flag-keyword = atom, RFC 9051 9) and return them
/// lower case, sorted, without duplicates.
pub fn normalize_keywords(kws: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(kws.len());
    for k in kws {
        let bad = |reason| StoreError::InvalidKeyword {
            keyword: k.clone(),
            reason,
        };
        if k.is_empty() {
            return Err(bad("empty"));
        }
        if k.len() > 200 {
            return Err(bad("longer than 200 bytes"));
        }
        if k.starts_with('\\') {
            return Err(bad("system flags are not keywords"));
        }
        // RFC 9051 9: atom-specials.
        if k.bytes()
            .any(|b| b <= b' ' || b >= 0x7f || b"(){%*\"\\]".contains(&b))
        {
            return Err(bad("not an atom"));
        }
        out.push(k.to_ascii_lowercase());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Merge `new` keywords into a sorted set; true if it grew.
pub(crate) fn merge_keywords(set: &mut Vec<String>, new: Vec<String>) -> bool {
    let before = set.len();
    for k in new {
        if let Err(i) = set.binary_search(&k) {
            set.insert(i, k);
        }
    }
    set.len() != before
}

fn apply(op: FlagOp, m: &Message, flags: Flags, kws: &[String]) -> (Flags, Vec<String>) {
    match op {
        FlagOp::Replace => (flags, kws.to_vec()),
        FlagOp::Add => {
            let mut k = m.keywords.clone();
            merge_keywords(&mut k, kws.to_vec());
            (m.flags.with(flags), k)
        }
        FlagOp::Remove => {
            let k = m
                .keywords
                .iter()
                .filter(|k| !kws.contains(k))
                .cloned()
                .collect();
            (m.flags.without(flags), k)
        }
    }
}

impl Account {
    /// Change flags of messages by UID. Unknown or expunged UIDs are
    /// skipped; messages whose flags would not change keep their modseq.
    /// With `unchanged_since`, messages with a higher modseq are not changed
    /// and are listed in `modified`.
    pub fn store_flags(
        &self,
        mailbox: u32,
        uids: &[u32],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<StoreOutcome> {
        let kws = normalize_keywords(keywords)?;
        let flags = flags.valid();
        let mut txn = Txn::begin(self);
        txn.mailbox(mailbox)?;
        let mb_deleted = txn.mailbox(mailbox)?.deleted;
        if mb_deleted {
            return Err(StoreError::NoSuchMailbox(format!("#{mailbox}")));
        }
        let mut u = uids.to_vec();
        u.sort_unstable();
        u.dedup();
        let mut out = StoreOutcome::default();
        let mut updates = Vec::new();
        for uid in u {
            let Some(m) = self.message_opt(mailbox, uid)? else {
                continue;
            };
            if m.expunged {
                continue;
            }
            if let Some(since) = unchanged_since
                && m.modseq > since
            {
                out.modified.push(uid);
                continue;
            }
            let (nf, nk) = apply(op, &m, flags, &kws);
            if nf != m.flags || nk != m.keywords {
                updates.push((m, nf, nk));
            }
        }
        if !updates.is_empty() {
            let modseq = txn.modseq()?;
            let mut delta_add = MailboxCounts::default();
            let mut delta_sub = MailboxCounts::default();
            let mut all_kws = Vec::new();
            for (mut m, nf, nk) in updates {
                delta_sub.add(MailboxCounts::of(m.flags, m.size));
                delta_add.add(MailboxCounts::of(nf, m.size));
                let old = m.modseq;
                m.flags = nf;
                m.keywords = nk;
                m.modseq = modseq;
                all_kws.extend(m.keywords.iter().cloned());
                txn.put_message(Some(old), &m)?;
                txn.changes.push(Change::FlagsChanged {
                    mailbox,
                    uid: m.uid,
                    modseq,
                    flags: m.flags,
                    keywords: m.keywords.clone(),
                });
                out.changed.push(m);
            }
            let mb = txn.mailbox_mut(mailbox)?;
            mb.counts.sub(delta_sub);
            mb.counts.add(delta_add);
            if merge_keywords(&mut mb.keywords, all_kws) {
                let kw = mb.keywords.clone();
                txn.changes.push(Change::MailboxKeywords {
                    mailbox,
                    keywords: kw,
                });
            }
        }
        out.modseq = txn.commit()?;
        Ok(out)
    }
}

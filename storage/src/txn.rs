//! One write to one account: collects records into a fjall batch under the
//! account's writer lock, commits it durably (SyncAll), then publishes the
//! changes and erases files nobody can ask for any more.

use std::collections::BTreeMap;
use std::sync::MutexGuard;

use fjall::{OwnedWriteBatch, PersistMode};

use crate::account::Account;
use crate::changes::Change;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::records::{self, AccountState, ContentRecord, Mailbox, Message};

pub(crate) struct Txn<'a> {
    pub acct: &'a Account,
    guard: MutexGuard<'a, AccountState>,
    /// Counters as they will be after commit.
    pub state: AccountState,
    pub batch: OwnedWriteBatch,
    pub changes: Vec<Change>,
    /// Mailboxes read or changed in this transaction (dirty ones are written).
    mailboxes: BTreeMap<u32, (Mailbox, bool)>,
    modseq: Option<u64>,
    /// Msg ids whose files become erasable at this commit.
    erase: Vec<u64>,
    /// Files written for this transaction, removed if it does not commit.
    pub written: Vec<u64>,
    /// Flags index chunks changed in this transaction, by (mailbox, chunk).
    pub(crate) flag_chunks: BTreeMap<(u32, u32), Vec<crate::flags_index::Entry>>,
}

impl<'a> Txn<'a> {
    /// Start a transaction: takes the account's writer lock.
    pub fn begin(acct: &'a Account) -> Txn<'a> {
        let guard = crate::store::lock(&acct.shared.write);
        let state = guard.clone();
        Txn {
            acct,
            guard,
            state,
            batch: acct.store.db.batch(),
            changes: Vec::new(),
            mailboxes: BTreeMap::new(),
            modseq: None,
            erase: Vec::new(),
            written: Vec::new(),
            flag_chunks: BTreeMap::new(),
        }
    }

    /// The modseq of this transaction, allocated on first use.
    pub fn modseq(&mut self) -> Result<u64> {
        if let Some(m) = self.modseq {
            return Ok(m);
        }
        let m = self
            .state
            .modseq
            .checked_add(1)
            .ok_or(StoreError::Exhausted("modseq"))?;
        self.state.modseq = m;
        self.modseq = Some(m);
        Ok(m)
    }

    /// A mailbox by id, as changed so far in this transaction.
    pub fn mailbox(&mut self, id: u32) -> Result<&mut Mailbox> {
        if !self.mailboxes.contains_key(&id) {
            let mb = self.acct.load_mailbox(id)?;
            self.mailboxes.insert(id, (mb, false));
        }
        match self.mailboxes.get_mut(&id) {
            Some((mb, _)) => Ok(mb),
            None => Err(StoreError::NoSuchMailbox(format!("#{id}"))),
        }
    }

    /// A copy of a live mailbox by id, without marking it changed.
    pub fn live_mailbox(&mut self, id: u32) -> Result<Mailbox> {
        let mb = self.mailbox(id)?;
        if mb.deleted {
            return Err(StoreError::NoSuchMailbox(format!("#{id}")));
        }
        Ok(mb.clone())
    }

    /// A live mailbox by id for changing it: marks it dirty and bumps its modseq.
    pub fn mailbox_mut(&mut self, id: u32) -> Result<&mut Mailbox> {
        let m = self.modseq()?;
        self.mailbox(id)?;
        match self.mailboxes.get_mut(&id) {
            Some((mb, dirty)) if !mb.deleted => {
                *dirty = true;
                mb.modseq = m;
                Ok(mb)
            }
            _ => Err(StoreError::NoSuchMailbox(format!("#{id}"))),
        }
    }

    /// Insert a new mailbox record.
    pub fn put_new_mailbox(&mut self, mb: Mailbox) {
        self.mailboxes.insert(mb.id, (mb, true));
    }

    /// Write a message record, move its modseq index entry and set its
    /// flags index entry.
    pub fn put_message(&mut self, old_modseq: Option<u64>, m: &Message) -> Result<()> {
        let a = self.acct.shared.id;
        let ks = &self.acct.store.ks;
        if let Some(old) = old_modseq {
            self.batch
                .remove(&ks.modseq, keys::modseq(a, m.mailbox, old, m.uid).to_vec());
        }
        self.batch.insert(
            &ks.modseq,
            keys::modseq(a, m.mailbox, m.modseq, m.uid).to_vec(),
            Vec::new(),
        );
        self.batch.insert(
            &ks.msgs,
            keys::msg(a, m.mailbox, m.uid).to_vec(),
            records::encode(m)?,
        );
        self.index_flags(m)
    }

    /// Remove a message record and its index entries entirely.
    pub fn delete_message(&mut self, m: &Message, message_id: &str) -> Result<()> {
        let a = self.acct.shared.id;
        let ks = &self.acct.store.ks;
        self.batch.remove(
            &ks.modseq,
            keys::modseq(a, m.mailbox, m.modseq, m.uid).to_vec(),
        );
        self.batch
            .remove(&ks.msgs, keys::msg(a, m.mailbox, m.uid).to_vec());
        if !message_id.is_empty() && !m.expunged {
            self.batch
                .remove(&ks.msgid, keys::message_id(a, message_id, m.mailbox, m.uid));
        }
        self.unindex_flags(m.mailbox, m.uid)
    }

    /// Write a content record.
    pub fn put_content(&mut self, msg_id: u64, c: &ContentRecord) -> Result<()> {
        let k = keys::content(self.acct.shared.id, msg_id).to_vec();
        self.batch
            .insert(&self.acct.store.ks.content, k, records::encode(c)?);
        Ok(())
    }

    /// Add a Message-ID index entry.
    pub fn index_message_id(&mut self, message_id: &str, mb: u32, uid: u32) {
        if !message_id.is_empty() {
            let k = keys::message_id(self.acct.shared.id, message_id, mb, uid);
            self.batch.insert(&self.acct.store.ks.msgid, k, Vec::new());
        }
    }

    /// Remove a Message-ID index entry.
    pub fn unindex_message_id(&mut self, message_id: &str, mb: u32, uid: u32) {
        if !message_id.is_empty() {
            let k = keys::message_id(self.acct.shared.id, message_id, mb, uid);
            self.batch.remove(&self.acct.store.ks.msgid, k);
        }
    }

    /// Schedule a message identity (file + content record) for erasure once
    /// no reader can ask for it.
    pub fn schedule_erase(&mut self, msg_id: u64) -> Result<()> {
        let m = self.modseq()?;
        let k = keys::erase(self.acct.shared.id, msg_id);
        self.batch
            .insert(&self.acct.store.ks.meta, k, m.to_be_bytes().to_vec());
        self.erase.push(msg_id);
        Ok(())
    }

    /// Commit durably, publish changes, erase what can be erased. Returns the
    /// modseq of the commit (the current one if nothing changed).
    pub fn commit(mut self) -> Result<u64> {
        match self.commit_inner() {
            Ok((modseq, wake)) => {
                drop(self);
                for w in wake {
                    w();
                }
                Ok(modseq)
            }
            // Drop removes the files written for this transaction.
            Err(e) => Err(e),
        }
    }

    fn commit_inner(&mut self) -> Result<(u64, Vec<crate::changes::Notify>)> {
        let Some(modseq) = self.modseq else {
            return Ok((self.state.modseq, Vec::new()));
        };
        let a = self.acct.shared.id;
        let ks = &self.acct.store.ks;
        let mut counts = Vec::new();
        for (id, (mb, dirty)) in &self.mailboxes {
            if *dirty {
                self.batch
                    .insert(&ks.meta, keys::mailbox(a, *id), records::encode(mb)?);
                if !mb.deleted {
                    counts.push(Change::MailboxCounts {
                        mailbox: *id,
                        counts: mb.counts,
                    });
                }
            }
        }
        self.changes.extend(counts);
        self.write_flag_chunks();
        self.batch
            .insert(&ks.meta, keys::state(a), records::encode(&self.state)?);
        let batch = std::mem::replace(&mut self.batch, self.acct.store.db.batch());
        batch.durability(Some(PersistMode::SyncAll)).commit()?;
        self.written.clear();
        *self.guard = self.state.clone();
        self.acct
            .shared
            .usage
            .store(self.state.disk_usage, std::sync::atomic::Ordering::Release);
        let wake = {
            let mut hub = crate::store::lock(&self.acct.shared.hub);
            hub.pending_erase
                .extend(self.erase.iter().map(|id| (modseq, *id)));
            hub.publish(modseq, &self.changes)
        };
        crate::expunge::erase_ready(&self.acct.store, &self.acct.shared);
        Ok((modseq, wake))
    }
}

impl Drop for Txn<'_> {
    /// A transaction that did not commit leaves no files behind.
    fn drop(&mut self) {
        for id in std::mem::take(&mut self.written) {
            let _ = crate::files::remove(&self.acct.store.dir, self.acct.shared.id, id);
        }
    }
}

//! Mailbox operations: create (with missing parents), rename (children
//! follow; renaming Inbox moves its messages), delete (record kept so a
//! reused name gets a new UIDVALIDITY), subscribe, special use.

use crate::account::Account;
use crate::changes::Change;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::mailbox_name::{self, INBOX};
use crate::records::{Mailbox, MailboxCounts, SpecialUse};
use crate::txn::Txn;

impl Account {
    /// Create one mailbox with a normalised, unused name inside `txn`.
    pub(crate) fn create_one(
        &self,
        txn: &mut Txn<'_>,
        name: &str,
        special_use: SpecialUse,
        subscribed: bool,
    ) -> Result<Mailbox> {
        let modseq = txn.modseq()?;
        let id = txn.state.next_mailbox_id;
        txn.state.next_mailbox_id = id
            .checked_add(1)
            .ok_or(StoreError::Exhausted("mailbox ids"))?;
        let sub_key = keys::subscription(self.shared.id, name);
        // A subscription made before the mailbox existed applies to it.
        let subscribed = subscribed || self.store.ks.meta.get(&sub_key)?.is_some();
        if subscribed {
            txn.batch.insert(&self.store.ks.meta, sub_key, Vec::new());
        }
        let uidvalidity = txn.state.next_uidvalidity;
        txn.state.next_uidvalidity = uidvalidity
            .checked_add(1)
            .ok_or(StoreError::Exhausted("uidvalidity"))?;
        let mb = Mailbox {
            id,
            name: name.to_string(),
            special_use,
            subscribed,
            uidvalidity,
            uidnext: 1,
            modseq,
            createseq: modseq,
            deleted: false,
            keywords: Vec::new(),
            counts: MailboxCounts::default(),
        };
        let k = keys::name(self.shared.id, name);
        txn.batch
            .insert(&self.store.ks.meta, k, id.to_be_bytes().to_vec());
        txn.put_new_mailbox(mb.clone());
        txn.changes.push(Change::MailboxCreated {
            mailbox: id,
            name: name.to_string(),
        });
        Ok(mb)
    }

    /// Create the missing parents of a normalised name, then check the name
    /// itself is free.
    fn create_parents(&self, txn: &mut Txn<'_>, name: &str) -> Result<()> {
        for p in mailbox_name::parents(name) {
            if self.mailbox_id(p)?.is_none() {
                self.create_one(txn, p, SpecialUse::NONE, false)?;
            }
        }
        Ok(())
    }

    /// Create a mailbox, and its missing parents (RFC 9051 6.3.4). Returns
    /// the new mailbox.
    pub fn create_mailbox(&self, name: &str, special_use: SpecialUse) -> Result<Mailbox> {
        let name = mailbox_name::normalize(name)?;
        let mut txn = Txn::begin(self);
        if self.mailbox_id(&name)?.is_some() {
            return Err(StoreError::MailboxExists(name));
        }
        self.create_parents(&mut txn, &name)?;
        let mb = self.create_one(&mut txn, &name, special_use, false)?;
        txn.commit()?;
        Ok(mb)
    }

    /// Live mailboxes below `name` (ids and names).
    fn descendants(&self, name: &str) -> Result<Vec<(u32, String)>> {
        let mut prefix = keys::name(self.shared.id, name);
        prefix.push(b'/');
        let skip = keys::name_prefix(self.shared.id).len();
        let mut out = Vec::new();
        for kv in self.store.ks.meta.prefix(&prefix) {
            let (k, v) = kv.into_inner()?;
            let n = std::str::from_utf8(k.get(skip..).unwrap_or_default())
                .map_err(|_| StoreError::corrupt("mailbox name is not UTF-8"))?;
            let id = keys::be_u32(&v, 0)
                .ok_or_else(|| StoreError::corrupt("mailbox name index value"))?;
            out.push((id, n.to_string()));
        }
        Ok(out)
    }

    /// Rename a mailbox and all its children (RFC 9051 6.3.6). Renaming Inbox
    /// creates the target and moves all Inbox messages into it, with UIDs
    /// from 1; Inbox stays, empty. Returns the target mailbox.
    pub fn rename_mailbox(&self, from: &str, to: &str) -> Result<Mailbox> {
        let from = mailbox_name::normalize(from)?;
        let to = mailbox_name::normalize(to)?;
        let mut txn = Txn::begin(self);
        let src = self
            .mailbox_id(&from)?
            .ok_or_else(|| StoreError::NoSuchMailbox(from.clone()))?;
        if self.mailbox_id(&to)?.is_some() {
            return Err(StoreError::MailboxExists(to));
        }
        if mailbox_name::is_inbox(&to) {
            return Err(StoreError::MailboxExists(to));
        }
        if mailbox_name::is_inbox(&from) {
            self.create_parents(&mut txn, &to)?;
            let dst = self.create_one(&mut txn, &to, SpecialUse::NONE, false)?;
            let msgs = self.messages_in(src, 1..=u32::MAX)?;
            self.move_in_txn(&mut txn, src, msgs, dst.id)?;
            txn.commit()?;
            return self.mailbox_by_id(dst.id);
        }
        if mailbox_name::is_descendant(&to, &from) {
            return Err(StoreError::MailboxNotAllowed {
                name: from,
                reason: "cannot be renamed to a name below itself",
            });
        }
        let mut moves = vec![(src, from.clone(), to.clone())];
        for (id, n) in self.descendants(&from)? {
            let suffix = n.get(from.len()..).unwrap_or_default();
            let new = format!("{to}{suffix}");
            if self.mailbox_id(&new)?.is_some() {
                return Err(StoreError::MailboxExists(new));
            }
            moves.push((id, n, new));
        }
        self.create_parents(&mut txn, &to)?;
        for (id, old, new) in moves {
            let a = self.shared.id;
            txn.batch.remove(&self.store.ks.meta, keys::name(a, &old));
            txn.batch.insert(
                &self.store.ks.meta,
                keys::name(a, &new),
                id.to_be_bytes().to_vec(),
            );
            // The subscription moves along; one already on the new name applies.
            let new_sub = self
                .store
                .ks
                .meta
                .get(keys::subscription(a, &new))?
                .is_some();
            let mb = txn.mailbox_mut(id)?;
            mb.name = new.clone();
            if mb.subscribed {
                txn.batch
                    .remove(&self.store.ks.meta, keys::subscription(a, &old));
                txn.batch
                    .insert(&self.store.ks.meta, keys::subscription(a, &new), Vec::new());
            } else if new_sub {
                mb.subscribed = true;
            }
            txn.changes.push(Change::MailboxRenamed {
                mailbox: id,
                old,
                new,
            });
        }
        txn.commit()?;
        self.mailbox_by_id(src)
    }

    /// Delete a mailbox and its messages. Inbox and mailboxes with children
    /// cannot be deleted. The record is kept, marked deleted.
    pub fn delete_mailbox(&self, name: &str) -> Result<()> {
        let name = mailbox_name::normalize(name)?;
        if name == INBOX {
            return Err(StoreError::MailboxNotAllowed {
                name,
                reason: "Inbox cannot be deleted",
            });
        }
        let mut txn = Txn::begin(self);
        let id = self
            .mailbox_id(&name)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.clone()))?;
        if !self.descendants(&name)?.is_empty() {
            return Err(StoreError::MailboxNotAllowed {
                name,
                reason: "has child mailboxes",
            });
        }
        for m in self.records_in(id, 1..=u32::MAX)? {
            let content = if m.expunged {
                None
            } else {
                Some(self.content(m.msg_id)?)
            };
            txn.delete_message(&m, content.as_ref().map_or("", |c| c.message_id.as_str()))?;
            if !m.expunged {
                txn.state.disk_usage = txn.state.disk_usage.saturating_sub(m.size);
                txn.schedule_erase(m.msg_id)?;
            }
        }
        txn.batch
            .remove(&self.store.ks.meta, keys::name(self.shared.id, &name));
        let mb = txn.mailbox_mut(id)?;
        mb.deleted = true;
        mb.counts = MailboxCounts::default();
        mb.keywords.clear();
        txn.changes
            .push(Change::MailboxDeleted { mailbox: id, name });
        txn.commit()?;
        Ok(())
    }

    fn set_attributes(&self, name: &str, f: impl FnOnce(&mut Mailbox)) -> Result<Mailbox> {
        let name = mailbox_name::normalize(name)?;
        let mut txn = Txn::begin(self);
        let id = self
            .mailbox_id(&name)?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.clone()))?;
        let mb = txn.mailbox_mut(id)?;
        f(mb);
        let out = mb.clone();
        txn.changes.push(Change::MailboxAttributes {
            mailbox: id,
            subscribed: out.subscribed,
            special_use: out.special_use,
        });
        txn.commit()?;
        Ok(out)
    }

    /// Subscribe or unsubscribe a name (RFC 9051 6.3.7, 6.3.8). The name need
    /// not be an existing mailbox; deleting a mailbox keeps its subscription.
    pub fn set_subscribed(&self, name: &str, subscribed: bool) -> Result<()> {
        let name = mailbox_name::normalize(name)?;
        let mut txn = Txn::begin(self);
        txn.modseq()?;
        let k = keys::subscription(self.shared.id, &name);
        if subscribed {
            txn.batch.insert(&self.store.ks.meta, k, Vec::new());
        } else {
            txn.batch.remove(&self.store.ks.meta, k);
        }
        if let Some(id) = self.mailbox_id(&name)? {
            let mb = txn.mailbox_mut(id)?;
            mb.subscribed = subscribed;
            let special_use = mb.special_use;
            txn.changes.push(Change::MailboxAttributes {
                mailbox: id,
                subscribed,
                special_use,
            });
        }
        txn.changes.push(Change::Subscription { name, subscribed });
        txn.commit()?;
        Ok(())
    }

    /// All subscribed names, sorted (for LIST SUBSCRIBED / LSUB; some may
    /// not exist as mailboxes).
    pub fn subscriptions(&self) -> Result<Vec<String>> {
        let prefix = keys::subscription_prefix(self.shared.id);
        let mut out = Vec::new();
        for kv in self.store.ks.meta.prefix(&prefix) {
            let k = kv.key()?;
            let n = std::str::from_utf8(k.get(prefix.len()..).unwrap_or_default())
                .map_err(|_| StoreError::corrupt("subscription name is not UTF-8"))?;
            out.push(n.to_string());
        }
        Ok(out)
    }

    /// Set the special-use attributes of a mailbox (RFC 6154).
    pub fn set_special_use(&self, name: &str, special_use: SpecialUse) -> Result<Mailbox> {
        self.set_attributes(name, |mb| mb.special_use = special_use)
    }
}

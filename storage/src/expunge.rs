//! Expunge: messages become tombstones with a new modseq (QRESYNC needs their
//! UID and modseq); their files are erased once no reader can still ask for
//! them.

use crate::account::{Account, AccountShared};
use crate::changes::Change;
use crate::error::Result;
use crate::keys;
use crate::records::{Flags, MailboxCounts, Message};
use crate::store::{Inner, lock};
use crate::txn::Txn;

/// Which messages [`Account::expunge`] removes.
#[derive(Clone, Copy, Debug)]
pub enum ExpungeSet<'a> {
    /// Every message with `\Deleted` (IMAP EXPUNGE, CLOSE).
    AllDeleted,
    /// Messages with `\Deleted` among these UIDs (RFC 9051 6.4.9 UID EXPUNGE).
    DeletedIn(&'a [u32]),
    /// These UIDs whatever their flags (webmail delete, tools).
    Uids(&'a [u32]),
}

/// Erase files (and content records) of expunged identities that every open
/// reader has pulled past. Errors are left for the next open to retry: the
/// erase record stays in the database until the file is gone.
pub(crate) fn erase_ready(store: &Inner, acct: &AccountShared) {
    // The hub lock is held while erasing so the consistency check (which
    // takes it) never sees half an erasure.
    let mut hub = lock(&acct.hub);
    // A backup's snapshot may still list these files: they wait for the
    // next commit (or open) after it.
    if store.backups.load(std::sync::atomic::Ordering::SeqCst) > 0 {
        return;
    }
    let ids = hub.take_erasable();
    if ids.is_empty() {
        return;
    }
    let mut b = store.db.batch();
    for id in ids {
        if crate::files::remove(&store.dir, acct.id, id).is_ok() {
            b.remove(&store.ks.content, keys::content(acct.id, id).to_vec());
            b.remove(&store.ks.meta, crate::envelope::key(acct.id, id).to_vec());
            b.remove(&store.ks.meta, keys::erase(acct.id, id));
        }
    }
    // Not synced: if lost in a crash the erase is simply done again on open.
    let _ = b.commit();
    drop(hub);
}

impl Account {
    /// Expunge messages of a mailbox; returns the expunged UIDs, ascending.
    /// Unknown or already expunged UIDs are ignored.
    pub fn expunge(&self, mailbox: u32, which: ExpungeSet<'_>) -> Result<Vec<u32>> {
        let mut txn = Txn::begin(self);
        txn.live_mailbox(mailbox)?;
        let candidates: Vec<Message> = match which {
            // The counts say whether any message has \Deleted: no scan if not.
            ExpungeSet::AllDeleted if txn.live_mailbox(mailbox)?.counts.deleted == 0 => Vec::new(),
            ExpungeSet::AllDeleted => self.messages_in(mailbox, 1..=u32::MAX)?,
            ExpungeSet::DeletedIn(uids) | ExpungeSet::Uids(uids) => {
                let mut v = Vec::new();
                for &uid in uids {
                    if let Some(m) = self.message_opt(mailbox, uid)?
                        && !m.expunged
                    {
                        v.push(m);
                    }
                }
                v.sort_by_key(|m| m.uid);
                v.dedup_by_key(|m| m.uid);
                v
            }
        };
        let only_deleted = !matches!(which, ExpungeSet::Uids(_));
        let targets: Vec<Message> = candidates
            .into_iter()
            .filter(|m| !only_deleted || m.flags.contains(Flags::DELETED))
            .collect();
        let uids = self.tombstone(&mut txn, mailbox, targets, true)?;
        txn.commit()?;
        Ok(uids)
    }

    /// Turn live messages into tombstones within `txn`; with `erase`, their
    /// identities are scheduled for erasure (not for MOVE, which keeps them).
    pub(crate) fn tombstone(
        &self,
        txn: &mut Txn<'_>,
        mailbox: u32,
        msgs: Vec<Message>,
        erase: bool,
    ) -> Result<Vec<u32>> {
        if msgs.is_empty() {
            return Ok(Vec::new());
        }
        let modseq = txn.modseq()?;
        let mut uids = Vec::with_capacity(msgs.len());
        let mut removed = MailboxCounts::default();
        for mut m in msgs {
            let content = self.content(m.msg_id)?;
            txn.unindex_message_id(&content.message_id, mailbox, m.uid);
            removed.add(MailboxCounts::of(m.flags, m.size));
            txn.state.disk_usage = txn.state.disk_usage.saturating_sub(m.size);
            let old = m.modseq;
            m.expunged = true;
            m.modseq = modseq;
            m.keywords.clear();
            txn.put_message(Some(old), &m)?;
            if erase {
                txn.schedule_erase(m.msg_id)?;
            }
            uids.push(m.uid);
        }
        txn.mailbox_mut(mailbox)?.counts.sub(removed);
        txn.changes.push(Change::Expunged {
            mailbox,
            uids: uids.clone(),
            modseq,
        });
        Ok(uids)
    }
}

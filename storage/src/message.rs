//! Adding messages: deliver/append (file written and fsynced before the
//! commit that references it), copy (new identity, hard-linked file) and
//! move (same identity, tombstone left in the source).

use crate::MessageStructure;
use crate::account::Account;
use crate::changes::Change;
use crate::envelope::EnvelopeRecord;
use crate::error::{Result, StoreError};
use crate::flags::{merge_keywords, normalize_keywords};
use crate::records::{ContentRecord, Flags, MailboxCounts, Message, normalize_message_id};
use crate::txn::Txn;

/// A message to add.
#[derive(Clone, Debug, Default)]
pub struct NewMessage<'a> {
    /// The message file contents.
    pub data: &'a [u8],
    /// Header lines kept in the database and served before `data`
    /// (Received, Authentication-Results). May be empty.
    pub prefix: Vec<u8>,
    /// Initial flags.
    pub flags: Flags,
    /// Initial keywords (validated, stored lower case).
    pub keywords: Vec<String>,
    /// INTERNALDATE, unix seconds.
    pub received: i64,
    /// INTERNALDATE time zone, minutes east of UTC.
    pub received_tz: i16,
    /// Time of storing, unix seconds.
    pub saved: i64,
}

/// Result of adding one message (APPENDUID, RFC 4315 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Added {
    /// UIDVALIDITY of the mailbox.
    pub uidvalidity: u32,
    /// UID of the new message.
    pub uid: u32,
    /// Modseq of the commit.
    pub modseq: u64,
}

/// Result of [`Account::replace`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replaced {
    /// The new message (APPENDUID); its modseq is the commit's.
    pub added: Added,
    /// The replaced UID, or nothing when it was already expunged.
    pub expunged: Vec<u32>,
}

/// Result of COPY or MOVE (COPYUID, RFC 4315 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    /// UIDVALIDITY of the destination.
    pub uidvalidity: u32,
    /// (source uid, destination uid) for each message, ascending by source.
    pub uids: Vec<(u32, u32)>,
    /// Modseq of the commit.
    pub modseq: u64,
}

/// What is derived from a new message before its transaction: parsed
/// structure, envelope, Message-ID, keywords and size.
pub(crate) struct Prepared {
    structure: Vec<u8>,
    envelope: EnvelopeRecord,
    message_id: String,
    keywords: Vec<String>,
    /// Prefix + file size.
    pub size: u64,
}

/// Parses a new message and checks its keywords (outside any lock).
pub(crate) fn prepare(m: &NewMessage<'_>) -> Result<Prepared> {
    let keywords = normalize_keywords(&m.keywords)?;
    let st = if m.prefix.is_empty() {
        MessageStructure::parse(m.data)
    } else {
        let mut full = Vec::with_capacity(m.prefix.len() + m.data.len());
        full.extend_from_slice(&m.prefix);
        full.extend_from_slice(m.data);
        MessageStructure::parse(&full)
    };
    let message_id = st
        .message_id()
        .and_then(normalize_message_id)
        .unwrap_or_default();
    Ok(Prepared {
        envelope: EnvelopeRecord::of(&st),
        structure: st.encode(),
        message_id,
        keywords,
        size: (m.prefix.len() as u64).saturating_add(m.data.len() as u64),
    })
}

impl Account {
    /// Deliver or append one message to a mailbox; durable on return.
    pub fn deliver(&self, mailbox: u32, msg: &NewMessage<'_>) -> Result<Added> {
        let v = self.add_messages(mailbox, std::slice::from_ref(msg))?;
        v.into_iter()
            .next()
            .ok_or_else(|| StoreError::corrupt("no message added"))
    }

    /// Add messages in one group commit: files written, one fsync pass, one
    /// batch. All or nothing.
    pub fn import(&self, mailbox: u32, msgs: &[NewMessage<'_>]) -> Result<Vec<Added>> {
        self.add_messages(mailbox, msgs)
    }

    fn add_messages(&self, mailbox: u32, msgs: &[NewMessage<'_>]) -> Result<Vec<Added>> {
        if msgs.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = msgs.iter().map(prepare).collect::<Result<Vec<_>>>()?;
        let mut txn = Txn::begin(self);
        let out = self.add_in_txn(&mut txn, mailbox, msgs, prepared, 0)?;
        txn.commit()?;
        Ok(out)
    }

    /// Replace a message (RFC 8508 REPLACE): add `msg` to `mailbox` and
    /// expunge `old_uid` of `old_mailbox` in one commit, so both happen at
    /// one modseq or neither does. Quota counts the replaced message as
    /// freed. An `old_uid` already expunged (by another session) is
    /// ignored: the new message is still added (`expunged` is then empty).
    pub fn replace(
        &self,
        mailbox: u32,
        msg: &NewMessage<'_>,
        old_mailbox: u32,
        old_uid: u32,
    ) -> Result<Replaced> {
        let prepared = vec![prepare(msg)?];
        let mut txn = Txn::begin(self);
        txn.live_mailbox(old_mailbox)?;
        let old: Vec<Message> = self
            .message_opt(old_mailbox, old_uid)?
            .filter(|m| !m.expunged)
            .into_iter()
            .collect();
        let freed = old.iter().fold(0u64, |a, m| a.saturating_add(m.size));
        let added = self
            .add_in_txn(
                &mut txn,
                mailbox,
                std::slice::from_ref(msg),
                prepared,
                freed,
            )?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::corrupt("no message added"))?;
        let expunged = self.tombstone(&mut txn, old_mailbox, old, true)?;
        txn.commit()?;
        Ok(Replaced { added, expunged })
    }

    /// Add prepared messages inside `txn`; `freed` bytes leave the account
    /// in the same commit (for the quota check). The files are written and
    /// synced here, before the commit.
    fn add_in_txn(
        &self,
        txn: &mut Txn<'_>,
        mailbox: u32,
        msgs: &[NewMessage<'_>],
        prepared: Vec<Prepared>,
        freed: u64,
    ) -> Result<Vec<Added>> {
        let needed = prepared.iter().fold(0u64, |a, p| a.saturating_add(p.size));
        txn.live_mailbox(mailbox)?;
        self.check_quota(txn, needed.saturating_sub(freed))?;
        let (out, first) = self.stage_add(txn, mailbox, msgs, prepared)?;
        let files: Vec<(u64, &[u8])> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| (first + i as u64, m.data))
            .collect();
        crate::files::write_files(&self.store.dir, self.shared.id, &files)?;
        txn.written = files.iter().map(|(id, _)| *id).collect();
        Ok(out)
    }

    /// Put the records of new messages into `txn`: message ids (the first
    /// is returned; the others follow it, one per message in order), UIDs,
    /// content, envelope and message records, mailbox counts and disk
    /// usage. No quota check and no files: the caller writes message `i`
    /// as file `first + i` before committing.
    pub(crate) fn stage_add(
        &self,
        txn: &mut Txn<'_>,
        mailbox: u32,
        msgs: &[NewMessage<'_>],
        prepared: Vec<Prepared>,
    ) -> Result<(Vec<Added>, u64)> {
        let needed = prepared.iter().fold(0u64, |a, p| a.saturating_add(p.size));
        let modseq = txn.modseq()?;
        let uidvalidity = txn.mailbox_mut(mailbox)?.uidvalidity;
        let first = txn.state.next_msg_id;
        let n = msgs.len() as u64;
        txn.state.next_msg_id = first
            .checked_add(n)
            .ok_or(StoreError::Exhausted("message ids"))?;
        let mut out = Vec::with_capacity(msgs.len());
        let mut counts = MailboxCounts::default();
        let mut new_keywords: Vec<String> = Vec::new();
        let mut uid = txn.mailbox(mailbox)?.uidnext;
        for (i, (m, p)) in msgs.iter().zip(prepared).enumerate() {
            let msg_id = first + i as u64;
            let rec = Message {
                mailbox,
                uid,
                msg_id,
                modseq,
                createseq: modseq,
                expunged: false,
                flags: m.flags.valid(),
                keywords: p.keywords,
                received: m.received,
                received_tz: m.received_tz,
                saved: m.saved,
                size: p.size,
            };
            txn.put_content(
                msg_id,
                &ContentRecord {
                    prefix: m.prefix.clone(),
                    message_id: p.message_id.clone(),
                    structure: p.structure,
                },
            )?;
            txn.put_envelope(msg_id, &p.envelope)?;
            txn.put_message(None, &rec)?;
            txn.index_message_id(&p.message_id, mailbox, uid);
            counts.add(MailboxCounts::of(rec.flags, rec.size));
            new_keywords.extend(rec.keywords.iter().cloned());
            txn.changes.push(Change::MessageAdded {
                mailbox,
                uid,
                modseq,
                flags: rec.flags,
                keywords: rec.keywords,
            });
            out.push(Added {
                uidvalidity,
                uid,
                modseq,
            });
            uid = uid.checked_add(1).ok_or(StoreError::Exhausted("uids"))?;
        }
        txn.state.disk_usage = txn.state.disk_usage.saturating_add(needed);
        self.finish_add(txn, mailbox, uid, counts, new_keywords)?;
        Ok((out, first))
    }

    /// Update the destination mailbox after adding messages.
    fn finish_add(
        &self,
        txn: &mut Txn<'_>,
        mailbox: u32,
        uidnext: u32,
        counts: MailboxCounts,
        keywords: Vec<String>,
    ) -> Result<()> {
        let mb = txn.mailbox_mut(mailbox)?;
        mb.uidnext = uidnext;
        mb.counts.add(counts);
        if merge_keywords(&mut mb.keywords, keywords) {
            let kw = mb.keywords.clone();
            txn.changes.push(Change::MailboxKeywords {
                mailbox,
                keywords: kw,
            });
        }
        Ok(())
    }

    fn live_sorted(&self, mailbox: u32, uids: &[u32]) -> Result<Vec<Message>> {
        let mut v = Vec::new();
        let mut u = uids.to_vec();
        u.sort_unstable();
        u.dedup();
        for uid in u {
            if let Some(m) = self.message_opt(mailbox, uid)?
                && !m.expunged
            {
                v.push(m);
            }
        }
        Ok(v)
    }

    /// Copy messages (RFC 9051 6.4.7); unknown UIDs are skipped. Each copy is
    /// a new identity whose file is a hard link of the original.
    pub fn copy(&self, from: u32, uids: &[u32], to: u32) -> Result<Copied> {
        let mut txn = Txn::begin(self);
        txn.live_mailbox(from)?;
        let uidvalidity = txn.live_mailbox(to)?.uidvalidity;
        let src = self.live_sorted(from, uids)?;
        if src.is_empty() {
            return Ok(Copied {
                uidvalidity,
                uids: Vec::new(),
                modseq: txn.state.modseq,
            });
        }
        let modseq = txn.modseq()?;
        let needed = src.iter().fold(0u64, |a, m| a.saturating_add(m.size));
        self.check_quota(&txn, needed)?;
        let first = txn.state.next_msg_id;
        txn.state.next_msg_id = first
            .checked_add(src.len() as u64)
            .ok_or(StoreError::Exhausted("message ids"))?;
        let pairs: Vec<(u64, u64)> = src
            .iter()
            .enumerate()
            .map(|(i, m)| (m.msg_id, first + i as u64))
            .collect();
        crate::files::link_files(&self.store.dir, self.shared.id, &pairs)?;
        txn.written = pairs.iter().map(|p| p.1).collect();
        let mut uid = txn.mailbox(to)?.uidnext;
        let mut out = Vec::with_capacity(src.len());
        let mut counts = MailboxCounts::default();
        let mut kws = Vec::new();
        for (m, (_, new_id)) in src.into_iter().zip(pairs) {
            let content = self.content(m.msg_id)?;
            txn.put_content(new_id, &content)?;
            txn.copy_envelope(m.msg_id, new_id)?;
            let rec = Message {
                mailbox: to,
                uid,
                msg_id: new_id,
                modseq,
                createseq: modseq,
                ..m.clone()
            };
            txn.put_message(None, &rec)?;
            txn.index_message_id(&content.message_id, to, uid);
            counts.add(MailboxCounts::of(rec.flags, rec.size));
            kws.extend(rec.keywords.iter().cloned());
            txn.changes.push(Change::MessageAdded {
                mailbox: to,
                uid,
                modseq,
                flags: rec.flags,
                keywords: rec.keywords,
            });
            out.push((m.uid, uid));
            uid = uid.checked_add(1).ok_or(StoreError::Exhausted("uids"))?;
        }
        txn.state.disk_usage = txn.state.disk_usage.saturating_add(needed);
        self.finish_add(&mut txn, to, uid, counts, kws)?;
        txn.commit()?;
        Ok(Copied {
            uidvalidity,
            uids: out,
            modseq,
        })
    }

    /// Move messages (RFC 6851): same identity in the destination with new
    /// UIDs, tombstones in the source. Unknown UIDs are skipped.
    pub fn move_messages(&self, from: u32, uids: &[u32], to: u32) -> Result<Copied> {
        let mut txn = Txn::begin(self);
        txn.live_mailbox(from)?;
        let uidvalidity = txn.live_mailbox(to)?.uidvalidity;
        let src = self.live_sorted(from, uids)?;
        if src.is_empty() {
            return Ok(Copied {
                uidvalidity,
                uids: Vec::new(),
                modseq: txn.state.modseq,
            });
        }
        let out = self.move_in_txn(&mut txn, from, src, to)?;
        let modseq = txn.commit()?;
        Ok(Copied {
            uidvalidity,
            uids: out,
            modseq,
        })
    }

    /// Move `msgs` (live, ascending) from `from` to `to` inside `txn`.
    pub(crate) fn move_in_txn(
        &self,
        txn: &mut Txn<'_>,
        from: u32,
        msgs: Vec<Message>,
        to: u32,
    ) -> Result<Vec<(u32, u32)>> {
        let modseq = txn.modseq()?;
        let mut uid = txn.mailbox_mut(to)?.uidnext;
        let mut out = Vec::with_capacity(msgs.len());
        let mut counts = MailboxCounts::default();
        let mut kws = Vec::new();
        let mut added = 0u64;
        for m in &msgs {
            let content = self.content(m.msg_id)?;
            let rec = Message {
                mailbox: to,
                uid,
                modseq,
                createseq: modseq,
                ..m.clone()
            };
            txn.put_message(None, &rec)?;
            txn.index_message_id(&content.message_id, to, uid);
            counts.add(MailboxCounts::of(rec.flags, rec.size));
            added = added.saturating_add(rec.size);
            kws.extend(rec.keywords.iter().cloned());
            txn.changes.push(Change::MessageAdded {
                mailbox: to,
                uid,
                modseq,
                flags: rec.flags,
                keywords: rec.keywords,
            });
            out.push((m.uid, uid));
            uid = uid.checked_add(1).ok_or(StoreError::Exhausted("uids"))?;
        }
        self.tombstone(txn, from, msgs, false)?;
        txn.state.disk_usage = txn.state.disk_usage.saturating_add(added);
        self.finish_add(txn, to, uid, counts, kws)?;
        Ok(out)
    }
}

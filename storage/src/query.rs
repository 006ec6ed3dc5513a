//! Reads the IMAP server needs, each a key lookup or a range scan: mailboxes,
//! messages by UID range, changes and expunges since a modseq, Message-ID
//! lookups, message contents.

use std::ops::RangeInclusive;

use crate::MessageStructure;
use crate::account::Account;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::mailbox_name;
use crate::records::{self, ContentRecord, Mailbox, Message};

impl Account {
    /// Live mailboxes, sorted by name.
    pub fn mailboxes(&self) -> Result<Vec<Mailbox>> {
        let mut out = Vec::new();
        for kv in self.store.ks.meta.prefix(keys::name_prefix(self.shared.id)) {
            let (_, v) = kv.into_inner()?;
            let id = keys::be_u32(&v, 0)
                .ok_or_else(|| StoreError::corrupt("mailbox name index value"))?;
            out.push(self.load_mailbox(id)?);
        }
        Ok(out)
    }

    /// A live mailbox by name (normalised first, so `INBOX` finds `Inbox`).
    pub fn mailbox(&self, name: &str) -> Result<Mailbox> {
        let n = mailbox_name::normalize(name)?;
        match self.mailbox_id(&n)? {
            Some(id) => self.load_mailbox(id),
            None => Err(StoreError::NoSuchMailbox(n)),
        }
    }

    /// A live mailbox by id.
    pub fn mailbox_by_id(&self, id: u32) -> Result<Mailbox> {
        let mb = self.load_mailbox(id)?;
        if mb.deleted {
            return Err(StoreError::NoSuchMailbox(format!("#{id}")));
        }
        Ok(mb)
    }

    /// Id of a live mailbox by normalised name.
    pub(crate) fn mailbox_id(&self, normalized: &str) -> Result<Option<u32>> {
        match self
            .store
            .ks
            .meta
            .get(keys::name(self.shared.id, normalized))?
        {
            None => Ok(None),
            Some(v) => {
                Ok(Some(keys::be_u32(&v, 0).ok_or_else(|| {
                    StoreError::corrupt("mailbox name index value")
                })?))
            }
        }
    }

    fn decode_msg(mailbox: u32, uid: u32, v: &[u8]) -> Result<Message> {
        let mut m: Message =
            records::decode(v, || format!("message record mailbox #{mailbox} uid {uid}"))?;
        m.mailbox = mailbox;
        m.uid = uid;
        Ok(m)
    }

    /// A message record, tombstone or not.
    pub(crate) fn message_opt(&self, mailbox: u32, uid: u32) -> Result<Option<Message>> {
        match self
            .store
            .ks
            .msgs
            .get(keys::msg(self.shared.id, mailbox, uid))?
        {
            None => Ok(None),
            Some(v) => Ok(Some(Self::decode_msg(mailbox, uid, &v)?)),
        }
    }

    /// A live message by UID.
    pub fn message(&self, mailbox: u32, uid: u32) -> Result<Message> {
        match self.message_opt(mailbox, uid)? {
            Some(m) if !m.expunged => Ok(m),
            _ => Err(StoreError::NoSuchMessage {
                mailbox: format!("#{mailbox}"),
                uid,
            }),
        }
    }

    /// All message records (tombstones included) with UIDs in `uids`, ascending.
    pub fn records_in(&self, mailbox: u32, uids: RangeInclusive<u32>) -> Result<Vec<Message>> {
        let a = self.shared.id;
        let lo = keys::msg(a, mailbox, *uids.start());
        let hi = keys::msg(a, mailbox, *uids.end());
        let mut out = Vec::new();
        for kv in self.store.ks.msgs.range(lo..=hi) {
            let (k, v) = kv.into_inner()?;
            let uid = keys::be_u32(&k, 8).ok_or_else(|| StoreError::corrupt("message key"))?;
            out.push(Self::decode_msg(mailbox, uid, &v)?);
        }
        Ok(out)
    }

    /// Live messages with UIDs in `uids`, ascending.
    pub fn messages_in(&self, mailbox: u32, uids: RangeInclusive<u32>) -> Result<Vec<Message>> {
        let mut v = self.records_in(mailbox, uids)?;
        v.retain(|m| !m.expunged);
        Ok(v)
    }

    /// UIDs of the live messages of a mailbox, ascending (for SELECT).
    pub fn uids(&self, mailbox: u32) -> Result<Vec<u32>> {
        let a = self.shared.id;
        let lo = keys::msg(a, mailbox, 0);
        let hi = keys::msg(a, mailbox, u32::MAX);
        let mut out = Vec::new();
        for kv in self.store.ks.msgs.range(lo..=hi) {
            let (k, v) = kv.into_inner()?;
            let uid = keys::be_u32(&k, 8).ok_or_else(|| StoreError::corrupt("message key"))?;
            if !Self::decode_msg(mailbox, uid, &v)?.expunged {
                out.push(uid);
            }
        }
        Ok(out)
    }

    /// Records (tombstones included) changed after `modseq`, by the modseq
    /// index, in UID order.
    fn changed_records(&self, mailbox: u32, modseq: u64) -> Result<Vec<Message>> {
        let a = self.shared.id;
        let Some(from) = modseq.checked_add(1) else {
            return Ok(Vec::new());
        };
        let lo = keys::modseq(a, mailbox, from, 0);
        let hi = keys::modseq(a, mailbox, u64::MAX, u32::MAX);
        let mut out = Vec::new();
        for kv in self.store.ks.modseq.range(lo..=hi) {
            let k = kv.key()?;
            let uid =
                keys::be_u32(&k, 16).ok_or_else(|| StoreError::corrupt("modseq index key"))?;
            match self.message_opt(mailbox, uid)? {
                Some(m) => out.push(m),
                None => {
                    return Err(StoreError::corrupt(format!(
                        "modseq index points to missing message mailbox #{mailbox} uid {uid}"
                    )));
                }
            }
        }
        out.sort_by_key(|m| m.uid);
        Ok(out)
    }

    /// Live messages changed (flags or added) after `modseq` (RFC 7162 3.1.4
    /// CHANGEDSINCE), in UID order.
    pub fn changed_since(&self, mailbox: u32, modseq: u64) -> Result<Vec<Message>> {
        let mut v = self.changed_records(mailbox, modseq)?;
        v.retain(|m| !m.expunged);
        Ok(v)
    }

    /// UIDs expunged after `modseq` (RFC 7162 3.2.5.2 VANISHED), ascending.
    pub fn vanished_since(&self, mailbox: u32, modseq: u64) -> Result<Vec<u32>> {
        Ok(self
            .changed_records(mailbox, modseq)?
            .into_iter()
            .filter(|m| m.expunged)
            .map(|m| m.uid)
            .collect())
    }

    /// Live messages with this Message-ID (angle brackets optional), as
    /// (mailbox id, uid).
    pub fn by_message_id(&self, message_id: &str) -> Result<Vec<(u32, u32)>> {
        let Some(mid) = records::normalize_message_id(message_id) else {
            return Ok(Vec::new());
        };
        let prefix = keys::message_id_prefix(self.shared.id, &mid);
        let mut out = Vec::new();
        for kv in self.store.ks.msgid.prefix(&prefix) {
            let k = kv.key()?;
            let n = prefix.len();
            match (keys::be_u32(&k, n), keys::be_u32(&k, n + 4)) {
                (Some(mb), Some(uid)) => out.push((mb, uid)),
                _ => return Err(StoreError::corrupt("message-id index key")),
            }
        }
        Ok(out)
    }

    pub(crate) fn content(&self, msg_id: u64) -> Result<ContentRecord> {
        match self
            .store
            .ks
            .content
            .get(keys::content(self.shared.id, msg_id))?
        {
            None => Err(StoreError::corrupt(format!(
                "content record of message {msg_id} missing"
            ))),
            Some(v) => records::decode(&v, || format!("content record of message {msg_id}")),
        }
    }

    fn content_of(&self, m: &Message) -> Result<ContentRecord> {
        match self
            .store
            .ks
            .content
            .get(keys::content(self.shared.id, m.msg_id))?
        {
            Some(v) => records::decode(&v, || format!("content record of message {}", m.msg_id)),
            None => match self.message_opt(m.mailbox, m.uid)? {
                // Expunged (or its mailbox deleted) and its file erased.
                Some(cur) if !cur.expunged => Err(StoreError::corrupt(format!(
                    "content record of message {} missing",
                    m.msg_id
                ))),
                _ => Err(StoreError::NoSuchMessage {
                    mailbox: format!("#{}", m.mailbox),
                    uid: m.uid,
                }),
            },
        }
    }

    /// The parsed structure stored for a message (ENVELOPE, BODYSTRUCTURE).
    pub fn structure(&self, m: &Message) -> Result<MessageStructure> {
        self.message_content(m)?.structure()
    }

    /// The stored Message-ID (normalised), if any.
    pub fn message_id_of(&self, m: &Message) -> Result<Option<String>> {
        let c = self.content_of(m)?;
        Ok((!c.message_id.is_empty()).then_some(c.message_id))
    }

    /// What is stored for a message besides its file, from one lookup:
    /// its structure and the prefix reads need. A caller that needs both
    /// the structure and the data (SEARCH, FETCH of sections) takes this
    /// once and passes it to [`Account::read_content_range`]. Works for an
    /// expunged message until its file is erased.
    pub fn message_content(&self, m: &Message) -> Result<MessageContent> {
        Ok(MessageContent {
            msg_id: m.msg_id,
            record: self.content_of(m)?,
        })
    }

    /// The whole message: prefix followed by the file. Works for an expunged
    /// message until its file is erased.
    pub fn read_message(&self, m: &Message) -> Result<Vec<u8>> {
        self.read_range(m, 0, m.size)
    }

    /// `len` bytes from `offset` of the message (prefix + file); fewer at the end.
    pub fn read_range(&self, m: &Message, offset: u64, len: u64) -> Result<Vec<u8>> {
        let c = self.message_content(m)?;
        self.read_content_range(m, &c, offset, len)
    }

    /// `len` bytes from `offset` of the message (prefix + file), fewer at
    /// the end, with `c` from [`Account::message_content`] of the same
    /// message; only the file bytes in the range are read.
    pub fn read_content_range(
        &self,
        m: &Message,
        c: &MessageContent,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>> {
        if c.msg_id != m.msg_id {
            return Err(StoreError::corrupt(format!(
                "content of message {} used to read message {}",
                c.msg_id, m.msg_id
            )));
        }
        if offset >= m.size {
            return Ok(Vec::new());
        }
        let prefix = &c.record.prefix;
        let plen = prefix.len() as u64;
        let end = offset.saturating_add(len).min(m.size);
        let mut out = Vec::new();
        if offset < plen {
            let s = usize::try_from(offset).unwrap_or(usize::MAX);
            let e = usize::try_from(end.min(plen)).unwrap_or(usize::MAX);
            out.extend_from_slice(prefix.get(s..e).unwrap_or_default());
        }
        if end > plen {
            let foff = offset.saturating_sub(plen);
            let flen = end.saturating_sub(plen.max(offset));
            crate::files::read_range(
                &self.store.dir,
                self.shared.id,
                m.msg_id,
                foff,
                flen,
                &mut out,
            )?;
        }
        Ok(out)
    }
}

/// A message's content record (prefix, structure), looked up once by
/// [`Account::message_content`].
#[derive(Debug, Clone)]
pub struct MessageContent {
    msg_id: u64,
    record: ContentRecord,
}

impl MessageContent {
    /// The parsed structure (ENVELOPE, BODYSTRUCTURE, part spans).
    pub fn structure(&self) -> Result<MessageStructure> {
        MessageStructure::decode(&self.record.structure)
            .map_err(|_| StoreError::corrupt(format!("structure of message {}", self.msg_id)))
    }
}

//! The scan behind FETCH's metadata fast path (`FETCH 1:* (ENVELOPE)`,
//! `UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)`): message records
//! in UID order, decoded without copying, each with its stored ENVELOPE.
//!
//! Envelope records are keyed by message id (`e` acct msgid in `meta`),
//! and a mailbox's message ids almost always ascend with its UIDs (ids
//! are handed out in delivery order). So the envelopes are read with a
//! second range scan merged with the records' scan: one pass over the
//! envelope tables' blocks instead of a point lookup per message through
//! every level's index and filter. When ids do not ascend (messages
//! copied in out of order) or lie far apart (the mailbox holds a sparse
//! part of the account), the scan falls back to a point lookup or starts
//! the envelope scan again at the wanted id.

use std::ops::{ControlFlow, RangeInclusive};

use fjall::Slice;
use serde::Deserialize;

use crate::account::Account;
use crate::envelope;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::records::{self, Flags, Message};

/// Envelope records stepped over before the scan starts again at the
/// wanted message id: a few blocks' worth, cheaper than a new scan.
const MAX_SKIP: usize = 16;

/// One message record as [`Account::scan_fetch`] sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchView<'a> {
    /// Mailbox id.
    pub mailbox: u32,
    /// UID in the mailbox.
    pub uid: u32,
    /// Message identity.
    pub msg_id: u64,
    /// Modseq of the last change.
    pub modseq: u64,
    /// Modseq at which the message was added to this mailbox.
    pub createseq: u64,
    /// Tombstone marker.
    pub expunged: bool,
    /// System flags.
    pub flags: Flags,
    /// Keywords, lower case, sorted.
    pub keywords: Vec<&'a str>,
    /// INTERNALDATE, unix seconds.
    pub received: i64,
    /// Time zone offset of INTERNALDATE in minutes east of UTC.
    pub received_tz: i16,
    /// When the message was stored, unix seconds (0: unknown).
    pub saved: i64,
    /// RFC822.SIZE.
    pub size: u64,
    /// The stored ENVELOPE, when asked for and stored.
    pub envelope: Option<EnvelopeView<'a>>,
}

/// A stored ENVELOPE value (RFC 9051 7.5.2), as the server writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeView<'a> {
    imap: &'a [u8],
    imap_utf8: &'a [u8],
}

impl<'a> EnvelopeView<'a> {
    /// The bytes of the value: 8-bit strings quoted when `utf8`
    /// (IMAP4rev2 or UTF8=ACCEPT, RFC 6855 4), as literals otherwise.
    pub fn bytes(&self, utf8: bool) -> &'a [u8] {
        if utf8 && !self.imap_utf8.is_empty() {
            self.imap_utf8
        } else {
            self.imap
        }
    }
}

impl FetchView<'_> {
    /// The record as an owned [`Message`] (for the rare message without a
    /// stored envelope, whose envelope comes from its structure).
    pub fn to_message(&self) -> Message {
        Message {
            mailbox: self.mailbox,
            uid: self.uid,
            msg_id: self.msg_id,
            modseq: self.modseq,
            createseq: self.createseq,
            expunged: self.expunged,
            flags: self.flags,
            keywords: self.keywords.iter().map(|k| (*k).to_string()).collect(),
            received: self.received,
            received_tz: self.received_tz,
            saved: self.saved,
            size: self.size,
        }
    }
}

/// A [`Message`] record's fields in their stored order, borrowed.
#[derive(Deserialize)]
struct RecordRef<'a> {
    msg_id: u64,
    modseq: u64,
    createseq: u64,
    expunged: bool,
    flags: Flags,
    #[serde(borrow)]
    keywords: Vec<&'a str>,
    received: i64,
    received_tz: i16,
    saved: i64,
    size: u64,
}

/// An envelope record, borrowed (the layout of `envelope::EnvelopeRecord`).
#[derive(Deserialize)]
struct EnvelopeRef<'a> {
    #[serde(borrow)]
    imap: &'a [u8],
    #[serde(borrow)]
    imap_utf8: &'a [u8],
}

/// The envelope side of the merge: a range scan over the account's
/// envelope records, positioned at `head`.
struct EnvelopeCursor {
    acct: u32,
    iter: Option<fjall::Iter>,
    /// The next unconsumed record (id, value); `None` at the end.
    head: Option<(u64, Slice)>,
}

impl EnvelopeCursor {
    fn new(acct: u32) -> EnvelopeCursor {
        EnvelopeCursor {
            acct,
            iter: None,
            head: None,
        }
    }

    /// Starts the scan at message id `from`.
    fn seek(&mut self, meta: &fjall::Keyspace, from: u64) -> Result<()> {
        let lo = envelope::key(self.acct, from);
        let hi = envelope::key(self.acct, u64::MAX);
        self.iter = Some(meta.range(lo..=hi));
        self.advance()
    }

    /// Moves `head` to the next record.
    fn advance(&mut self) -> Result<()> {
        self.head = match self.iter.as_mut().and_then(Iterator::next) {
            Some(g) => {
                let (k, v) = g.into_inner()?;
                let id = keys::be_u64(&k, 5).ok_or_else(|| StoreError::corrupt("envelope key"))?;
                Some((id, v))
            }
            None => None,
        };
        Ok(())
    }

    /// The envelope record of `id`, from the scan when `id` is at or a
    /// little ahead of it, else by a point lookup or a new scan.
    fn take(&mut self, meta: &fjall::Keyspace, id: u64) -> Result<Option<Slice>> {
        if self.iter.is_none() {
            self.seek(meta, id)?;
        }
        let mut skipped = 0;
        loop {
            match &self.head {
                Some((h, _)) if *h == id => {
                    let v = self.head.take().map(|(_, v)| v);
                    self.advance()?;
                    return Ok(v);
                }
                Some((h, _)) if *h < id => {
                    if skipped == MAX_SKIP {
                        self.seek(meta, id)?;
                        skipped = 0;
                        continue;
                    }
                    skipped += 1;
                    self.advance()?;
                }
                // Past `id`: out of order, or `id` has no record. The scan
                // stays where it is for the ids that follow.
                _ => return Ok(meta.get(envelope::key(self.acct, id))?),
            }
        }
    }
}

impl Account {
    /// Visits the message records (tombstones included) with UIDs in
    /// `uids`, ascending, until `f` breaks; with their stored envelopes
    /// when `envelopes` (a message without one has `envelope: None`).
    pub fn scan_fetch(
        &self,
        mailbox: u32,
        uids: RangeInclusive<u32>,
        envelopes: bool,
        mut f: impl FnMut(&FetchView<'_>) -> ControlFlow<()>,
    ) -> Result<()> {
        let a = self.shared.id;
        let meta = &self.store.ks.meta;
        let lo = keys::msg(a, mailbox, *uids.start());
        let hi = keys::msg(a, mailbox, *uids.end());
        let mut envs = EnvelopeCursor::new(a);
        for kv in self.store.ks.msgs.range(lo..=hi) {
            let (k, v) = kv.into_inner()?;
            let uid = keys::be_u32(&k, 8).ok_or_else(|| StoreError::corrupt("message key"))?;
            let r: RecordRef<'_> = records::decode(&v, || {
                format!("message record mailbox #{mailbox} uid {uid}")
            })?;
            let env = match envelopes {
                true => envs.take(meta, r.msg_id)?,
                false => None,
            };
            let envelope = match &env {
                Some(e) => {
                    let e: EnvelopeRef<'_> =
                        records::decode(e, || format!("envelope record of message {}", r.msg_id))?;
                    Some(EnvelopeView {
                        imap: e.imap,
                        imap_utf8: e.imap_utf8,
                    })
                }
                None => None,
            };
            let view = FetchView {
                mailbox,
                uid,
                msg_id: r.msg_id,
                modseq: r.modseq,
                createseq: r.createseq,
                expunged: r.expunged,
                flags: r.flags,
                keywords: r.keywords,
                received: r.received,
                received_tz: r.received_tz,
                saved: r.saved,
                size: r.size,
                envelope,
            };
            if f(&view).is_break() {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExpungeSet, NewAccount, NewMessage, SpecialUse, Store, StoreConfig};

    /// What `scan_fetch` saw of one message: the record and the envelope
    /// in both forms.
    type Seen = (Message, Option<(String, String)>);

    fn scan(acct: &Account, mailbox: u32, uids: RangeInclusive<u32>, envs: bool) -> Vec<Seen> {
        let mut out = Vec::new();
        acct.scan_fetch(mailbox, uids, envs, |v| {
            let e = v.envelope.map(|e| {
                let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                (s(e.bytes(false)), s(e.bytes(true)))
            });
            out.push((v.to_message(), e));
            ControlFlow::Continue(())
        })
        .unwrap();
        out
    }

    /// The same from the full records and a point lookup per envelope.
    fn reference(acct: &Account, mailbox: u32) -> Vec<Seen> {
        let mut out = Vec::new();
        for m in acct.records_in(mailbox, 1..=u32::MAX).unwrap() {
            let env = |utf8| {
                let mut b = Vec::new();
                acct.write_envelope(&m, utf8, &mut b)
                    .unwrap()
                    .then(|| String::from_utf8_lossy(&b).into_owned())
            };
            let e = env(false).zip(env(true));
            out.push((m, e));
        }
        out
    }

    fn subject(acct: &Account, mailbox: u32, uid: u32) -> String {
        let v = scan(acct, mailbox, uid..=uid, true);
        let (_, Some((e, _))) = &v[0] else {
            panic!("no envelope for uid {uid}");
        };
        e.split('"').nth(1).unwrap_or_default().to_string()
    }

    /// Message ids that descend with UIDs (MOVEd in in reverse order),
    /// expunged messages, a sparse mailbox, a missing envelope record: the
    /// merged scan gives what point lookups give.
    #[test]
    fn merged_envelopes_match_point_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let acct = store.create_account("a", NewAccount::default()).unwrap();
        let inbox = acct.mailbox("INBOX").unwrap().id;
        let other = acct
            .create_mailbox("Other", SpecialUse::default())
            .unwrap()
            .id;
        let moved = acct
            .create_mailbox("Moved", SpecialUse::default())
            .unwrap()
            .id;
        // INBOX gets every 40th message: its ids lie far apart, with the
        // envelopes of Other's messages in between.
        // (Imported in runs of consecutive messages: one commit per run.)
        let data: Vec<String> = (0..200)
            .map(|i| format!("Subject: s{i}\r\nFrom: caf\u{e9} <a@b>\r\n\r\nx\r\n"))
            .collect();
        let mut run: Vec<NewMessage<'_>> = Vec::new();
        for (i, d) in (0..200u32).zip(&data) {
            run.push(NewMessage {
                data: d.as_bytes(),
                keywords: if i.is_multiple_of(3) {
                    vec!["k".into()]
                } else {
                    vec![]
                },
                received: 1_700_000_000 + i64::from(i),
                received_tz: 60,
                saved: 5,
                ..Default::default()
            });
            if i.is_multiple_of(40) || i % 40 == 39 || i == 199 {
                let to = if i.is_multiple_of(40) { inbox } else { other };
                acct.import(to, &run).unwrap();
                run.clear();
            }
        }
        // Other's UIDs 10, 9, …, 1 into Moved one at a time: Moved's UIDs
        // 1..=10 have descending message ids.
        for uid in (1..=10).rev() {
            acct.move_messages(other, &[uid], moved).unwrap();
        }
        acct.expunge(moved, ExpungeSet::Uids(&[4])).unwrap();
        acct.expunge(other, ExpungeSet::Uids(&[50, 51, 52]))
            .unwrap();

        for mb in [inbox, other, moved] {
            let want = reference(&acct, mb);
            assert_eq!(scan(&acct, mb, 1..=u32::MAX, true), want, "mailbox {mb}");
            let bare: Vec<Seen> = want.iter().map(|(m, _)| (m.clone(), None)).collect();
            assert_eq!(scan(&acct, mb, 1..=u32::MAX, false), bare);
        }
        // Exact values, not only agreement with the reference.
        let inbox_msgs = scan(&acct, inbox, 1..=u32::MAX, true);
        assert_eq!(inbox_msgs.len(), 5);
        let (m, e) = &inbox_msgs[1];
        assert_eq!(
            (m.uid, m.keywords.clone(), m.received),
            (2, vec![], 1_700_000_040)
        );
        assert_eq!(
            e.as_ref().unwrap(),
            &(
                "(NIL \"s40\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)".replace("NIL NIL \"a\"", "{5}\r\ncaf\u{e9} NIL \"a\""),
                "(NIL \"s40\" ((\"caf\u{e9}\" NIL \"a\" \"b\")) ((\"caf\u{e9}\" NIL \"a\" \"b\")) ((\"caf\u{e9}\" NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)".to_string()
            )
        );
        let subjects: Vec<String> = [1, 2, 3, 5]
            .iter()
            .map(|u| subject(&acct, moved, *u))
            .collect();
        assert_eq!(subjects, ["s10", "s9", "s8", "s6"]);
        let moved_msgs = scan(&acct, moved, 1..=u32::MAX, true);
        assert!(moved_msgs.windows(2).all(|w| w[0].0.msg_id > w[1].0.msg_id));
        // The expunged message's identity was erased with its envelope.
        assert!(moved_msgs[3].0.expunged && moved_msgs[3].1.is_none());

        // A message without an envelope record has none; its neighbours do.
        let victim = inbox_msgs[2].0.msg_id;
        store
            .inner
            .ks
            .meta
            .remove(envelope::key(acct.id(), victim))
            .unwrap();
        let got = scan(&acct, inbox, 1..=u32::MAX, true);
        let present: Vec<bool> = got.iter().map(|(_, e)| e.is_some()).collect();
        assert_eq!(present, [true, true, false, true, true]);
        assert_eq!(got, reference(&acct, inbox));

        // Breaking stops the scan; the range bounds it.
        let mut uids = Vec::new();
        acct.scan_fetch(other, 60..=70, true, |v| {
            uids.push(v.uid);
            if v.uid == 62 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(uids, [60, 61, 62]);
    }
}

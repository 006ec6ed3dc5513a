//! Precomputed ENVELOPEs (RFC 9051 7.5.2): the IMAP encoding of a message's
//! envelope is stored when the message is added, so `FETCH ENVELOPE` reads
//! a few hundred bytes instead of decoding the whole MIME structure.
//!
//! Keyspace `meta`, key `e` acct(u32) msgid(u64) → [`EnvelopeRecord`]. The
//! record belongs to the message identity, like the content record: COPY
//! copies it, MOVE keeps it, erasure removes it. Schema version 2 added it
//! (see [`upgrade_step`]); the consistency check recomputes it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::MessageStructure;
use crate::account::Account;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::records::{self, ContentRecord, Message};
use crate::txn::Txn;
use crate::upgrade::{UpgradeContext, UpgradeStep};

/// Tag of envelope keys in the `meta` keyspace.
pub(crate) const TAG_ENVELOPE: u8 = b'e';

/// Schema version that introduced envelope records.
pub(crate) const ENVELOPE_VERSION: u32 = 2;

/// `meta` key of a message identity's envelope.
pub(crate) fn key(acct: u32, msg_id: u64) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[0] = TAG_ENVELOPE;
    k[1..5].copy_from_slice(&acct.to_be_bytes());
    k[5..].copy_from_slice(&msg_id.to_be_bytes());
    k
}

/// Prefix of an account's envelope keys.
fn prefix(acct: u32) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = TAG_ENVELOPE;
    k[1..].copy_from_slice(&acct.to_be_bytes());
    k
}

/// The stored envelope: the bytes of `ENVELOPE (…)`'s value as written
/// without UTF-8 (8-bit strings as literals), and, only when it differs, as
/// written with UTF-8 enabled (RFC 6855 4).
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EnvelopeRecord {
    pub imap: Vec<u8>,
    /// Empty when equal to `imap` (the envelope is all ASCII).
    pub imap_utf8: Vec<u8>,
}

/// The record, read without copying.
#[derive(Deserialize)]
struct EnvelopeRef<'a> {
    #[serde(borrow)]
    imap: &'a [u8],
    #[serde(borrow)]
    imap_utf8: &'a [u8],
}

impl EnvelopeRecord {
    /// The record for a parsed message.
    pub(crate) fn of(st: &MessageStructure) -> EnvelopeRecord {
        let env = st.envelope();
        let imap = env.encode_imap(false);
        let utf8 = env.encode_imap(true);
        EnvelopeRecord {
            imap_utf8: if utf8 == imap { Vec::new() } else { utf8 },
            imap,
        }
    }
}

/// The encoded record for a message's encoded structure.
fn record_from_structure(structure: &[u8], msg_id: u64) -> Result<Vec<u8>> {
    let st = MessageStructure::decode(structure)
        .map_err(|_| StoreError::corrupt(format!("structure of message {msg_id}")))?;
    records::encode(&EnvelopeRecord::of(&st))
}

impl Txn<'_> {
    /// Write the envelope record of a new message identity.
    pub(crate) fn put_envelope(&mut self, msg_id: u64, rec: &EnvelopeRecord) -> Result<()> {
        let k = key(self.acct.shared.id, msg_id);
        self.batch
            .insert(&self.acct.store.ks.meta, k.to_vec(), records::encode(rec)?);
        Ok(())
    }

    /// Give identity `to` (a copy) the envelope record of `from`.
    pub(crate) fn copy_envelope(&mut self, from: u64, to: u64) -> Result<()> {
        let a = self.acct.shared.id;
        let meta = &self.acct.store.ks.meta;
        let v = match meta.get(key(a, from))? {
            Some(v) => v.to_vec(),
            None => {
                let c = self.acct.content(from)?;
                record_from_structure(&c.structure, from)?
            }
        };
        self.batch.insert(meta, key(a, to).to_vec(), v);
        Ok(())
    }
}

impl Account {
    /// Appends the value of the ENVELOPE fetch item of `m` (`(date subject
    /// …)`, RFC 9051 7.5.2) as the server writes it, with 8-bit strings
    /// quoted when `utf8` (IMAP4rev2 or UTF8=ACCEPT, RFC 6855 4) and as
    /// literals otherwise. Returns false, appending nothing, when no record
    /// is stored (the caller then builds it from [`Account::structure`]).
    /// Works for an expunged message until its identity is erased.
    pub fn write_envelope(&self, m: &Message, utf8: bool, out: &mut Vec<u8>) -> Result<bool> {
        let Some(v) = self.store.ks.meta.get(key(self.shared.id, m.msg_id))? else {
            return Ok(false);
        };
        let r: EnvelopeRef<'_> =
            records::decode(&v, || format!("envelope record of message {}", m.msg_id))?;
        if utf8 && !r.imap_utf8.is_empty() {
            out.extend_from_slice(r.imap_utf8);
        } else {
            out.extend_from_slice(r.imap);
        }
        Ok(true)
    }

    /// Consistency of the envelope records with the content records
    /// (`contents` by message id): one problem line per difference.
    pub(crate) fn check_envelopes(
        &self,
        contents: &std::collections::HashMap<u64, ContentRecord>,
    ) -> Result<Vec<String>> {
        let mut p = Vec::new();
        let a = self.shared.id;
        let mut seen = 0usize;
        for kv in self.store.ks.meta.prefix(prefix(a)) {
            let (k, v) = kv.into_inner()?;
            let id = keys::be_u64(&k, 5).ok_or_else(|| StoreError::corrupt("envelope key"))?;
            let Some(c) = contents.get(&id) else {
                p.push(format!(
                    "envelope record of message id {id} has no content record"
                ));
                continue;
            };
            seen += 1;
            match record_from_structure(&c.structure, id) {
                Ok(want) if *want == *v => {}
                Ok(_) => p.push(format!(
                    "envelope record of message id {id} differs from its structure"
                )),
                Err(e) => p.push(format!("message id {id}: {e}")),
            }
        }
        if seen != contents.len() {
            for id in contents.keys() {
                if self.store.ks.meta.get(key(a, *id))?.is_none() {
                    p.push(format!("envelope record of message id {id} missing"));
                }
            }
        }
        Ok(p)
    }
}

/// Records written per commit by the upgrade.
const UPGRADE_BATCH: usize = 1000;

/// Schema version 2: an envelope record for every content record of every
/// account. Idempotent (records are recomputed and overwritten), so a run
/// interrupted by a crash simply runs again on the next open.
pub(crate) fn upgrade_step() -> UpgradeStep {
    UpgradeStep {
        version: ENVELOPE_VERSION,
        name: "envelope records",
        background: false,
        run: Arc::new(|ctx: &UpgradeContext| {
            let inner = &ctx.store().inner;
            let mut b = inner.db.batch();
            let mut n = 0usize;
            for kv in inner.ks.content.iter() {
                let (k, v) = kv.into_inner()?;
                let (Some(a), Some(id)) = (keys::be_u32(&k, 0), keys::be_u64(&k, 4)) else {
                    return Err(StoreError::corrupt("content key"));
                };
                let c: ContentRecord =
                    records::decode(&v, || format!("content record of message {id}"))?;
                b.insert(
                    &inner.ks.meta,
                    key(a, id).to_vec(),
                    record_from_structure(&c.structure, id)?,
                );
                n += 1;
                if n.is_multiple_of(UPGRADE_BATCH) {
                    let full = std::mem::replace(&mut b, inner.db.batch());
                    full.commit()?;
                }
            }
            b.durability(Some(fjall::PersistMode::SyncAll)).commit()?;
            Ok(())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewAccount, NewMessage, Store, StoreConfig};

    const PLAIN: &[u8] =
        b"From: A <a@example.org>\r\nSubject: hi\r\nMessage-ID: <1@example.org>\r\n\r\nx\r\n";
    const EIGHT_BIT: &str = "Subject: caf\u{e9}\r\n\r\nx\r\n";

    fn envelope(acct: &Account, m: &Message, utf8: bool) -> Option<String> {
        let mut out = Vec::new();
        acct.write_envelope(m, utf8, &mut out)
            .unwrap()
            .then(|| String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn stored_at_delivery_copied_erased_and_rebuilt_by_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let plain = "(NIL \"hi\" ((\"A\" NIL \"a\" \"example.org\")) ((\"A\" NIL \"a\" \"example.org\")) ((\"A\" NIL \"a\" \"example.org\")) NIL NIL NIL NIL \"<1@example.org>\")";
        let literal = "(NIL {5}\r\ncaf\u{e9} NIL NIL NIL NIL NIL NIL NIL NIL)";
        let quoted = "(NIL \"caf\u{e9}\" NIL NIL NIL NIL NIL NIL NIL NIL)";
        {
            let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
            let acct = store.create_account("a", NewAccount::default()).unwrap();
            let inbox = acct.mailbox("INBOX").unwrap();
            for data in [PLAIN, EIGHT_BIT.as_bytes()] {
                let m = NewMessage {
                    data,
                    ..Default::default()
                };
                acct.deliver(inbox.id, &m).unwrap();
            }
            let c = acct.copy(inbox.id, &[1], inbox.id).unwrap();
            assert_eq!(c.uids, vec![(1, 3)]);
            let ms = acct.records_in(inbox.id, 1..=u32::MAX).unwrap();
            assert_eq!(envelope(&acct, &ms[0], false).as_deref(), Some(plain));
            assert_eq!(envelope(&acct, &ms[0], true).as_deref(), Some(plain));
            assert_eq!(envelope(&acct, &ms[1], false).as_deref(), Some(literal));
            assert_eq!(envelope(&acct, &ms[1], true).as_deref(), Some(quoted));
            assert_eq!(envelope(&acct, &ms[2], false).as_deref(), Some(plain));
            assert!(store.check_consistency().unwrap().is_empty());

            // Erasure removes the record with the identity.
            acct.expunge(inbox.id, crate::ExpungeSet::Uids(&[3]))
                .unwrap();
            let meta = &store.inner.ks.meta;
            assert!(meta.get(key(acct.id(), ms[2].msg_id)).unwrap().is_none());
            assert!(store.check_consistency().unwrap().is_empty());

            // A damaged or missing record is reported.
            meta.insert(
                key(acct.id(), ms[0].msg_id),
                records::encode(&EnvelopeRecord::default()).unwrap(),
            )
            .unwrap();
            meta.remove(key(acct.id(), ms[1].msg_id)).unwrap();
            let p = store.check_consistency().unwrap();
            assert_eq!(
                p,
                vec![
                    format!(
                        "account \"a\": envelope record of message id {} differs from its structure",
                        ms[0].msg_id
                    ),
                    format!(
                        "account \"a\": envelope record of message id {} missing",
                        ms[1].msg_id
                    ),
                ]
            );
            // A schema-1 database: no records, version 1.
            meta.remove(key(acct.id(), ms[0].msg_id)).unwrap();
            meta.insert(keys::version(), 1u32.to_be_bytes()).unwrap();
            store.persist().unwrap();
        }
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(
            crate::upgrade::stored_version(&store).unwrap(),
            Some(crate::upgrade::SCHEMA_VERSION)
        );
        let acct = store.account("a").unwrap();
        let inbox = acct.mailbox("INBOX").unwrap();
        let ms = acct.messages_in(inbox.id, 1..=u32::MAX).unwrap();
        assert_eq!(envelope(&acct, &ms[0], false).as_deref(), Some(plain));
        assert_eq!(envelope(&acct, &ms[1], true).as_deref(), Some(quoted));
        assert!(store.check_consistency().unwrap().is_empty());
    }
}

//! The flags index: what `UID FETCH 1:* (FLAGS)`, CONDSTORE's
//! `(FLAGS MODSEQ)` and SELECT need of every message record (UID, modseq,
//! tombstone, flags, keywords), packed 64 UIDs to a value so a scan of
//! 50,000 messages reads ~800 small values instead of 50,000 records.
//!
//! Keyspace `meta`, key `F` acct(u32) mailbox(u32) chunk(u32) → the
//! entries of the records with `uid >> 6 == chunk`, ascending. A chunk
//! value is a format byte (1), then per entry: a byte holding the UID's
//! low 6 bits (bit 6: tombstone, bit 7: keywords follow), the flags byte,
//! the modseq as a LEB128 varint, and with bit 7 the keyword count and
//! each keyword as length + bytes (varints). A chunk without entries is
//! not stored.
//!
//! [`Txn::put_message`] and [`Txn::delete_message`] keep the index in the
//! same batch as the record, so it is exact after every commit; the
//! consistency check compares it with the records. Schema version 3
//! builds it for existing stores ([`upgrade_step`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::keys;
use crate::records::{Flags, Message};
use crate::scan::{FlagsHead, FlagsView};
use crate::txn::Txn;
use crate::upgrade::{UpgradeContext, UpgradeStep};

/// Tag of flags index keys in the `meta` keyspace.
pub(crate) const TAG_FLAGS_INDEX: u8 = b'F';

/// Schema version that introduced the flags index.
pub(crate) const FLAGS_INDEX_VERSION: u32 = 3;

/// UIDs per chunk: `uid >> CHUNK_SHIFT` is the chunk number.
const CHUNK_SHIFT: u32 = 6;
const OFFSET_MASK: u8 = (1 << CHUNK_SHIFT) - 1;
const TOMBSTONE: u8 = 0x40;
const HAS_KEYWORDS: u8 = 0x80;
/// First byte of every chunk value.
const FORMAT: u8 = 1;

/// `meta` key of one chunk of a mailbox's flags index.
pub(crate) fn key(acct: u32, mailbox: u32, chunk: u32) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[0] = TAG_FLAGS_INDEX;
    k[1..5].copy_from_slice(&acct.to_be_bytes());
    k[5..9].copy_from_slice(&mailbox.to_be_bytes());
    k[9..].copy_from_slice(&chunk.to_be_bytes());
    k
}

/// Prefix of an account's flags index keys.
fn account_prefix(acct: u32) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = TAG_FLAGS_INDEX;
    k[1..].copy_from_slice(&acct.to_be_bytes());
    k
}

/// The chunk holding `uid`.
fn chunk_of(uid: u32) -> u32 {
    uid >> CHUNK_SHIFT
}

/// One message's entry, owned: what the writers change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub uid: u32,
    pub modseq: u64,
    pub expunged: bool,
    pub flags: Flags,
    pub keywords: Vec<String>,
}

impl Entry {
    /// The entry of a message record.
    pub(crate) fn of(m: &Message) -> Entry {
        Entry {
            uid: m.uid,
            modseq: m.modseq,
            expunged: m.expunged,
            flags: m.flags,
            keywords: m.keywords.clone(),
        }
    }

    fn of_view(v: &FlagsView<'_>) -> Entry {
        Entry {
            uid: v.uid,
            modseq: v.modseq,
            expunged: v.expunged,
            flags: v.flags,
            keywords: v.keywords.iter().map(|k| k.to_string()).collect(),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Encodes the entries of one chunk (ascending UIDs, all in that chunk).
pub(crate) fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + entries.len() * 6);
    out.push(FORMAT);
    for e in entries {
        let mut head = (e.uid as u8) & OFFSET_MASK;
        if e.expunged {
            head |= TOMBSTONE;
        }
        if !e.keywords.is_empty() {
            head |= HAS_KEYWORDS;
        }
        out.push(head);
        out.push(e.flags.0);
        put_varint(&mut out, e.modseq);
        if !e.keywords.is_empty() {
            put_varint(&mut out, e.keywords.len() as u64);
            for k in &e.keywords {
                put_varint(&mut out, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
            }
        }
    }
    out
}

/// The entries of one chunk value, decoded without copying; an item is an
/// error text when the value is malformed (and the iteration then ends).
pub(crate) struct Entries<'a> {
    base: u32,
    bytes: &'a [u8],
    pos: usize,
    /// Offset of the previous entry (entries are strictly ascending).
    prev: Option<u8>,
    failed: bool,
}

impl<'a> Entries<'a> {
    pub(crate) fn new(chunk: u32, bytes: &'a [u8]) -> Entries<'a> {
        let base = chunk << CHUNK_SHIFT;
        let (pos, failed) = match bytes.first() {
            Some(&FORMAT) if chunk <= u32::MAX >> CHUNK_SHIFT => (1, false),
            _ => (0, true),
        };
        Entries {
            base,
            bytes,
            pos,
            prev: None,
            failed,
        }
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn entry(&mut self) -> std::result::Result<FlagsView<'a>, &'static str> {
        let head = self.byte().ok_or("truncated entry")?;
        let offset = head & OFFSET_MASK;
        if self.prev.is_some_and(|p| p >= offset) {
            return Err("entries not ascending");
        }
        self.prev = Some(offset);
        let flags = Flags(self.byte().ok_or("truncated entry")?);
        let modseq = self.varint().ok_or("bad modseq")?;
        let mut keywords = Vec::new();
        if head & HAS_KEYWORDS != 0 {
            let n = self.varint().ok_or("bad keyword count")?;
            for _ in 0..n {
                let len = usize::try_from(self.varint().ok_or("bad keyword length")?)
                    .map_err(|_| "bad keyword length")?;
                let end = self.pos.checked_add(len).ok_or("bad keyword length")?;
                let raw = self.bytes.get(self.pos..end).ok_or("truncated keyword")?;
                self.pos = end;
                keywords.push(std::str::from_utf8(raw).map_err(|_| "keyword not UTF-8")?);
            }
            if keywords.is_empty() {
                return Err("empty keyword list");
            }
        }
        Ok(FlagsView {
            uid: self.base | u32::from(offset),
            modseq,
            expunged: head & TOMBSTONE != 0,
            flags,
            keywords,
        })
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = std::result::Result<FlagsView<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            self.failed = false;
            self.pos = self.bytes.len();
            return Some(Err("unknown chunk format"));
        }
        if self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.entry();
        if r.is_err() {
            self.pos = self.bytes.len();
        }
        Some(r)
    }
}

fn corrupt(mailbox: u32, chunk: u32, why: &str) -> StoreError {
    StoreError::corrupt(format!(
        "flags index of mailbox #{mailbox} chunk {chunk}: {why}"
    ))
}

/// Decodes a chunk whole (for writers).
fn decode_owned(mailbox: u32, chunk: u32, bytes: &[u8]) -> Result<Vec<Entry>> {
    Entries::new(chunk, bytes)
        .map(|r| {
            r.map(|v| Entry::of_view(&v))
                .map_err(|why| corrupt(mailbox, chunk, why))
        })
        .collect()
}

/// Splits a flags index key into (acct, mailbox, chunk).
fn parse_key(k: &[u8]) -> Option<(u32, u32, u32)> {
    if k.len() != 13 || k.first() != Some(&TAG_FLAGS_INDEX) {
        return None;
    }
    Some((
        keys::be_u32(k, 1)?,
        keys::be_u32(k, 5)?,
        keys::be_u32(k, 9)?,
    ))
}

impl crate::account::Account {
    /// Visits the flags index entries of `mailbox` with UIDs in `uids`,
    /// ascending, until `f` breaks. The entries mirror the message records
    /// (tombstones included).
    pub(crate) fn scan_flags_index(
        &self,
        mailbox: u32,
        uids: std::ops::RangeInclusive<u32>,
        mut f: impl FnMut(FlagsView<'_>) -> std::ops::ControlFlow<()>,
    ) -> Result<()> {
        let (lo, hi) = (*uids.start(), *uids.end());
        if lo > hi {
            return Ok(());
        }
        let a = self.shared.id;
        let range = key(a, mailbox, chunk_of(lo))..=key(a, mailbox, chunk_of(hi));
        for kv in self.store.ks.meta.range(range) {
            let (k, v) = kv.into_inner()?;
            let chunk =
                keys::be_u32(&k, 9).ok_or_else(|| StoreError::corrupt("flags index key"))?;
            for e in Entries::new(chunk, &v) {
                let e = e.map_err(|why| corrupt(mailbox, chunk, why))?;
                if e.uid < lo {
                    continue;
                }
                if e.uid > hi || f(e).is_break() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Consistency of the flags index with the message records
    /// (`expected`: the entry of every record by (mailbox, UID)): one
    /// problem line per difference.
    pub(crate) fn check_flags_index(
        &self,
        mut expected: BTreeMap<(u32, u32), Entry>,
    ) -> Result<Vec<String>> {
        let mut p = Vec::new();
        for kv in self.store.ks.meta.prefix(account_prefix(self.shared.id)) {
            let (k, v) = kv.into_inner()?;
            let Some((_, mb, chunk)) = parse_key(&k) else {
                p.push("malformed flags index key".to_string());
                continue;
            };
            if v.len() <= 1 {
                p.push(format!(
                    "empty flags index chunk mailbox #{mb} chunk {chunk}"
                ));
            }
            for e in Entries::new(chunk, &v) {
                let got = match e {
                    Ok(e) => Entry::of_view(&e),
                    Err(why) => {
                        p.push(format!(
                            "malformed flags index chunk mailbox #{mb} chunk {chunk}: {why}"
                        ));
                        continue;
                    }
                };
                match expected.remove(&(mb, got.uid)) {
                    None => p.push(format!(
                        "stale flags index entry mailbox #{mb} uid {}",
                        got.uid
                    )),
                    Some(want) if want != got => p.push(format!(
                        "flags index entry mailbox #{mb} uid {}: {} but the record has {}",
                        got.uid,
                        describe(&got),
                        describe(&want)
                    )),
                    Some(_) => {}
                }
            }
        }
        for (mb, uid) in expected.keys() {
            p.push(format!("flags index entry mailbox #{mb} uid {uid} missing"));
        }
        Ok(p)
    }
}

/// An entry for a problem line: `modseq 4 expunged flags 0x1 keywords [..]`.
fn describe(e: &Entry) -> String {
    format!(
        "modseq {}{} flags {:#x} keywords {:?}",
        e.modseq,
        if e.expunged { " expunged" } else { "" },
        e.flags.0,
        e.keywords
    )
}

impl Txn<'_> {
    /// The entries of a chunk as changed so far in this transaction.
    fn flag_chunk(&mut self, mailbox: u32, chunk: u32) -> Result<&mut Vec<Entry>> {
        use std::collections::btree_map::Entry as Slot;
        let a = self.acct.shared.id;
        match self.flag_chunks.entry((mailbox, chunk)) {
            Slot::Occupied(o) => Ok(o.into_mut()),
            Slot::Vacant(v) => {
                let entries = match self.acct.store.ks.meta.get(key(a, mailbox, chunk))? {
                    Some(bytes) => decode_owned(mailbox, chunk, &bytes)?,
                    None => Vec::new(),
                };
                Ok(v.insert(entries))
            }
        }
    }

    /// Sets the index entry of a message record (new or changed).
    pub(crate) fn index_flags(&mut self, m: &Message) -> Result<()> {
        let entries = self.flag_chunk(m.mailbox, chunk_of(m.uid))?;
        let e = Entry::of(m);
        match entries.binary_search_by_key(&m.uid, |e| e.uid) {
            Ok(i) => entries[i] = e,
            Err(i) => entries.insert(i, e),
        }
        Ok(())
    }

    /// Removes the index entry of a message record.
    pub(crate) fn unindex_flags(&mut self, mailbox: u32, uid: u32) -> Result<()> {
        let entries = self.flag_chunk(mailbox, chunk_of(uid))?;
        if let Ok(i) = entries.binary_search_by_key(&uid, |e| e.uid) {
            entries.remove(i);
        }
        Ok(())
    }

    /// Puts the chunks changed in this transaction into its batch.
    pub(crate) fn write_flag_chunks(&mut self) {
        let a = self.acct.shared.id;
        let meta = &self.acct.store.ks.meta;
        for ((mb, chunk), entries) in std::mem::take(&mut self.flag_chunks) {
            let k = key(a, mb, chunk).to_vec();
            if entries.is_empty() {
                self.batch.remove(meta, k);
            } else {
                self.batch.insert(meta, k, encode(&entries));
            }
        }
    }
}

/// Chunks written per commit by the upgrade.
const UPGRADE_BATCH: usize = 1000;

/// Schema version 3: the flags index of every mailbox of every account,
/// built from the message records. Idempotent (every chunk is recomputed
/// whole and overwritten), so a run interrupted by a crash simply runs
/// again on the next open.
pub(crate) fn upgrade_step() -> UpgradeStep {
    UpgradeStep {
        version: FLAGS_INDEX_VERSION,
        name: "flags index",
        background: false,
        run: Arc::new(|ctx: &UpgradeContext| {
            let inner = &ctx.store().inner;
            let mut b = inner.db.batch();
            let mut written = 0usize;
            // The chunk being filled: (acct, mailbox, chunk) and its entries.
            let mut cur: Option<((u32, u32, u32), Vec<Entry>)> = None;
            let mut flush = |b: &mut fjall::OwnedWriteBatch,
                             done: Option<((u32, u32, u32), Vec<Entry>)>|
             -> Result<()> {
                if let Some(((a, mb, chunk), entries)) = done {
                    b.insert(&inner.ks.meta, key(a, mb, chunk).to_vec(), encode(&entries));
                    written += 1;
                    if written.is_multiple_of(UPGRADE_BATCH) {
                        std::mem::replace(b, inner.db.batch()).commit()?;
                    }
                }
                Ok(())
            };
            for kv in inner.ks.msgs.iter() {
                let (k, v) = kv.into_inner()?;
                let (Some(a), Some(mb), Some(uid)) = (
                    keys::be_u32(&k, 0),
                    keys::be_u32(&k, 4),
                    keys::be_u32(&k, 8),
                ) else {
                    return Err(StoreError::corrupt("message key"));
                };
                let h: FlagsHead<'_> = crate::records::decode(&v, || {
                    format!("message record account #{a} mailbox #{mb} uid {uid}")
                })?;
                let at = (a, mb, chunk_of(uid));
                if cur.as_ref().is_none_or(|(c, _)| *c != at) {
                    flush(&mut b, cur.take())?;
                    cur = Some((at, Vec::new()));
                }
                if let Some((_, entries)) = cur.as_mut() {
                    entries.push(Entry::of_view(&h.view(uid)));
                }
            }
            flush(&mut b, cur.take())?;
            b.durability(Some(fjall::PersistMode::SyncAll)).commit()?;
            Ok(())
        }),
    }
}

#[cfg(test)]
#[path = "flags_index_tests.rs"]
mod tests;

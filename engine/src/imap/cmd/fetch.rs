//! FETCH and UID FETCH (RFC 9051 6.4.5) with BINARY (RFC 3516), MODSEQ,
//! CHANGEDSINCE and VANISHED (RFC 7162 3.1.4, 3.2.6), SAVEDATE (RFC 8514)
//! and PREVIEW (RFC 8970). Non-PEEK body fetches set `\Seen` on read-write
//! mailboxes and report the new FLAGS.

use std::collections::{HashMap, VecDeque};

use moxide_proto::imap::cmd::{FetchAttr, FetchAttrs, FetchCommand};
use moxide_proto::imap::core::{Section, SectionText, SequenceSet, Tag, UidSet};
use moxide_proto::imap::resp::{Code, Data, FetchItem};
use moxide_proto::message::MessageStructure;
use moxide_storage::{Account, FlagOp, Flags, Message, StoreError};

use super::fetch_body::{self, UnknownCte};
use crate::imap::Session;
use crate::imap::convert;

/// Why building a message's items failed.
enum ItemError {
    Store(StoreError),
    UnknownCte,
}

impl From<StoreError> for ItemError {
    fn from(e: StoreError) -> Self {
        ItemError::Store(e)
    }
}

impl From<UnknownCte> for ItemError {
    fn from(_: UnknownCte) -> Self {
        ItemError::UnknownCte
    }
}

/// A message with its structure and data loaded on first use.
struct Loaded<'a> {
    acct: &'a Account,
    m: &'a Message,
    st: Option<MessageStructure>,
    raw: Option<Vec<u8>>,
}

impl Loaded<'_> {
    fn structure(&mut self) -> Result<&MessageStructure, StoreError> {
        let st = match self.st.take() {
            Some(st) => st,
            None => self.acct.structure(self.m)?,
        };
        Ok(self.st.insert(st))
    }

    fn both(&mut self) -> Result<(&MessageStructure, &[u8]), StoreError> {
        let st = match self.st.take() {
            Some(st) => st,
            None => self.acct.structure(self.m)?,
        };
        let raw = match self.raw.take() {
            Some(r) => r,
            None => self.acct.read_message(self.m)?,
        };
        let st = self.st.insert(st);
        let raw = self.raw.insert(raw);
        Ok((st, raw))
    }
}

/// Whether an item sets `\Seen` (RFC 9051 6.4.5).
fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Rfc822
            | FetchAttr::Rfc822Text
            | FetchAttr::BodySection { peek: false, .. }
            | FetchAttr::Binary { peek: false, .. }
    )
}

fn origin(p: Option<(u64, u64)>) -> Option<u32> {
    p.map(|(o, _)| u32::try_from(o).unwrap_or(u32::MAX))
}

fn cut(data: Vec<u8>, p: Option<(u64, u64)>) -> Vec<u8> {
    match p {
        Some((o, n)) => fetch_body::partial(data, o, n),
        None => data,
    }
}

/// The data items for one message.
fn items(l: &mut Loaded<'_>, attrs: &[FetchAttr]) -> Result<Vec<FetchItem>, ItemError> {
    let m = l.m;
    let mut out = Vec::with_capacity(attrs.len());
    for a in attrs {
        let item = match a {
            FetchAttr::Uid => FetchItem::Uid(m.uid),
            FetchAttr::Flags => FetchItem::Flags(convert::flag_fetch(m.flags, &m.keywords)),
            FetchAttr::InternalDate => {
                FetchItem::InternalDate(convert::datetime(m.received, m.received_tz))
            }
            FetchAttr::Rfc822Size => FetchItem::Rfc822Size(m.size),
            FetchAttr::ModSeq => FetchItem::ModSeq(m.modseq),
            FetchAttr::SaveDate => {
                FetchItem::SaveDate((m.saved != 0).then(|| convert::datetime(m.saved, 0)))
            }
            FetchAttr::Envelope => {
                FetchItem::Envelope(Box::new(convert::envelope(l.structure()?.envelope())))
            }
            FetchAttr::Body => {
                FetchItem::Body(Box::new(convert::body(l.structure()?.root(), false)))
            }
            FetchAttr::BodyStructure => {
                FetchItem::BodyStructure(Box::new(convert::body(l.structure()?.root(), true)))
            }
            FetchAttr::Rfc822 => FetchItem::Rfc822(Some(l.both()?.1.to_vec())),
            FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
                let text = if matches!(a, FetchAttr::Rfc822Header) {
                    SectionText::Header
                } else {
                    SectionText::Text
                };
                let (st, raw) = l.both()?;
                let sec = Section {
                    part: Vec::new(),
                    text: Some(text),
                };
                let data = fetch_body::section_data(raw, st, &sec);
                if matches!(a, FetchAttr::Rfc822Header) {
                    FetchItem::Rfc822Header(Some(data))
                } else {
                    FetchItem::Rfc822Text(Some(data))
                }
            }
            // A partial of the whole message reads only that range.
            FetchAttr::BodySection {
                section,
                partial: Some((o, n)),
                ..
            } if section.part.is_empty() && section.text.is_none() && l.raw.is_none() => {
                FetchItem::BodySection {
                    section: section.clone(),
                    origin: origin(Some((*o, *n))),
                    data: Some(l.acct.read_range(m, *o, *n)?),
                }
            }
            FetchAttr::BodySection {
                section, partial, ..
            } => {
                let (st, raw) = l.both()?;
                let data = cut(fetch_body::section_data(raw, st, section), *partial);
                FetchItem::BodySection {
                    section: section.clone(),
                    origin: origin(*partial),
                    data: Some(data),
                }
            }
            FetchAttr::Binary { part, partial, .. } => {
                let (st, raw) = l.both()?;
                let data = cut(fetch_body::binary_data(raw, st, part)?, *partial);
                FetchItem::Binary {
                    part: part.clone(),
                    origin: origin(*partial),
                    data: Some(data),
                }
            }
            FetchAttr::BinarySize(part) => {
                let (st, raw) = l.both()?;
                let size = fetch_body::binary_data(raw, st, part)?.len();
                FetchItem::BinarySize {
                    part: part.clone(),
                    size: u32::try_from(size).unwrap_or(u32::MAX),
                }
            }
            FetchAttr::Preview { .. } => {
                let (st, raw) = l.both()?;
                FetchItem::Preview(fetch_body::preview(raw, st))
            }
        };
        out.push(item);
    }
    Ok(out)
}

/// [UID] FETCH set items [(CHANGEDSINCE n [VANISHED])].
pub(crate) fn run(s: &mut Session, tag: Tag, f: &FetchCommand) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(sel) = s.sel.as_ref() else {
        return s.bad(tag, "no mailbox selected");
    };
    let (id, read_only) = (sel.id, sel.read_only);
    let idx = match sel.resolve(&f.set, f.uid) {
        Ok(i) => i,
        Err(e) => return s.bad(tag, e.text()),
    };
    let uids: Vec<u32> = idx
        .iter()
        .filter_map(|&i| sel.uids.get(i))
        .collect();
    if f.vanished && (!f.uid || !s.ext.qresync || f.changed_since.is_none()) {
        // RFC 7162 3.2.6: VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE.
        return s.bad(
            tag,
            "VANISHED needs UID FETCH with CHANGEDSINCE and QRESYNC enabled",
        );
    }
    let mut attrs = match &f.attrs {
        FetchAttrs::Macro(m) => m.expand(),
        FetchAttrs::List(l) => l.clone(),
    };
    if f.uid && !attrs.contains(&FetchAttr::Uid) {
        attrs.insert(0, FetchAttr::Uid);
    }
    if f.changed_since.is_some() && !attrs.contains(&FetchAttr::ModSeq) {
        attrs.push(FetchAttr::ModSeq);
    }
    if attrs.contains(&FetchAttr::ModSeq) {
        s.ext.condstore = true;
    }
    if let (true, Some(since)) = (f.vanished, f.changed_since) {
        match acct.vanished_since(id, since) {
            Ok(v) => {
                // `*` stands for every UID ever used here, so expunged
                // UIDs above the largest live one are reported too.
                let in_set = |u: u32| match &f.set {
                    set @ SequenceSet::Ranges(_) => set.contains(u, u32::MAX),
                    SequenceSet::LastResult => false,
                };
                let v: Vec<u32> = v.into_iter().filter(|&u| in_set(u)).collect();
                if !v.is_empty() {
                    s.data(Data::Vanished {
                        earlier: true,
                        uids: UidSet::from_sorted(v),
                    });
                }
            }
            Err(e) => return s.store_error(tag, e, "FETCH VANISHED"),
        }
    }
    let (Some(&lo), Some(&hi)) = (uids.first(), uids.last()) else {
        return s.ok(tag, None, "FETCH completed");
    };
    // Tombstones too: a message expunged by another session but not yet
    // announced can still be fetched (its file is kept).
    let records = match acct.records_in(id, lo..=hi) {
        Ok(r) => r,
        Err(e) => return s.store_error(tag, e, "FETCH"),
    };
    let mut by_uid: HashMap<u32, Message> = records
        .into_iter()
        .filter(|m| uids.binary_search(&m.uid).is_ok())
        .filter(|m| f.changed_since.is_none_or(|c| m.modseq > c))
        .map(|m| (m.uid, m))
        .collect();
    // RFC 9051 6.4.5: non-PEEK body fetches set \Seen.
    let mut seen_set = Vec::new();
    if !read_only && attrs.iter().any(sets_seen) {
        let unseen: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|u| {
                by_uid
                    .get(u)
                    .is_some_and(|m| !m.expunged && !m.flags.contains(Flags::SEEN))
            })
            .collect();
        if !unseen.is_empty() {
            match acct.store_flags(id, &unseen, FlagOp::Add, Flags::SEEN, &[], None) {
                Ok(o) => {
                    if !o.changed.is_empty() {
                        s.own_modseqs.push(o.modseq);
                    }
                    for m in o.changed {
                        seen_set.push(m.uid);
                        by_uid.insert(m.uid, m);
                    }
                }
                Err(e) => return s.store_error(tag, e, "FETCH setting \\Seen"),
            }
        }
    }
    let todo: VecDeque<(u32, Message)> = idx
        .iter()
        .zip(&uids)
        .filter_map(|(&i, uid)| {
            let m = by_uid.remove(uid)?;
            Some((u32::try_from(i + 1).unwrap_or(u32::MAX), m))
        })
        .collect();
    s.fetch = Some(FetchCursor {
        tag,
        attrs,
        todo,
        seen_set,
    });
    resume(s);
}

/// A FETCH whose responses are produced chunk by chunk as the runtime
/// takes the output (see `Session::poll_transmit`).
pub(crate) struct FetchCursor {
    tag: Tag,
    attrs: Vec<FetchAttr>,
    /// (sequence number, record) still to answer, in order.
    todo: VecDeque<(u32, Message)>,
    /// UIDs whose `\Seen` this FETCH set (FLAGS is added for them).
    seen_set: Vec<u32>,
}

/// Message data produced per chunk before the output is handed out.
const CHUNK_BYTES: u64 = 1 << 20;
/// Messages per chunk.
const CHUNK_MESSAGES: usize = 500;

/// Produces the next chunk of the FETCH in progress; completes it with the
/// tagged response after the last message.
pub(crate) fn resume(s: &mut Session) {
    let Some(mut cur) = s.fetch.take() else {
        return;
    };
    let Some(acct) = s.account() else {
        return s.bad(cur.tag, "not authenticated");
    };
    let mut bytes = 0u64;
    let mut count = 0usize;
    while bytes < CHUNK_BYTES && count < CHUNK_MESSAGES {
        let Some((seq, m)) = cur.todo.pop_front() else {
            return s.ok(cur.tag, None, "FETCH completed");
        };
        let mut l = Loaded {
            acct: &acct,
            m: &m,
            st: None,
            raw: None,
        };
        let mut its = match items(&mut l, &cur.attrs) {
            Ok(v) => v,
            Err(ItemError::UnknownCte) => {
                return s.no(
                    cur.tag,
                    Some(Code::UnknownCte),
                    "unknown content-transfer-encoding",
                );
            }
            Err(ItemError::Store(StoreError::NoSuchMessage { .. })) => {
                return s.no(cur.tag, Some(Code::ExpungeIssued), "message was expunged");
            }
            Err(ItemError::Store(e)) => return s.store_error(cur.tag, e, "FETCH"),
        };
        bytes += l.raw.as_ref().map_or(0, |r| r.len() as u64) + 100;
        count += 1;
        if cur.seen_set.contains(&m.uid) && !cur.attrs.contains(&FetchAttr::Flags) {
            its.push(FetchItem::Flags(convert::flag_fetch(m.flags, &m.keywords)));
        }
        s.data(Data::Fetch { seq, items: its });
    }
    if cur.todo.is_empty() {
        return s.ok(cur.tag, None, "FETCH completed");
    }
    s.fetch = Some(cur);
}

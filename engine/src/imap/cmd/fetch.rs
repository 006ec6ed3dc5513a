//! FETCH and UID FETCH (RFC 9051 6.4.5) with BINARY (RFC 3516), MODSEQ,
//! CHANGEDSINCE and VANISHED (RFC 7162 3.1.4, 3.2.6), SAVEDATE (RFC 8514)
//! and PREVIEW (RFC 8970). Non-PEEK body fetches set `\Seen` on read-write
//! mailboxes and report the new FLAGS.
//!
//! The answer is streamed: the command leaves a [`FetchCursor`] holding
//! only UID ranges still to answer, and each chunk is a range scan of the
//! records in UID order written straight to the output (DESIGN.md: large
//! outputs are produced incrementally). Metadata-only requests take the
//! fast path of `fetch_fast`; others build response values
//! (`fetch_items`).

use std::collections::VecDeque;
use std::ops::ControlFlow;

use moxide_proto::imap::cmd::{FetchAttr, FetchAttrs, FetchCommand};
use moxide_proto::imap::core::{SequenceSet, Tag, UidSet};
use moxide_proto::imap::resp::{Code, Data, FetchItem, Response};
use moxide_storage::{FlagOp, Flags, StoreError};

use super::fetch_fast::{self, Plan};
use super::fetch_items::{ItemError, Loaded, items, sets_seen};
use crate::imap::Session;
use crate::imap::convert;
use crate::imap::selected::Selected;

/// A FETCH whose responses are produced chunk by chunk as the runtime
/// takes the output (see `Session::poll_transmit`).
pub(crate) struct FetchCursor {
    tag: Tag,
    attrs: Vec<FetchAttr>,
    plan: Plan,
    /// Inclusive UID ranges still to answer, ascending. Every UID the
    /// client knows inside a range is part of the request.
    ranges: VecDeque<(u32, u32)>,
    /// CHANGEDSINCE: only records with a higher modseq (RFC 7162 3.1.4.1).
    changed_since: Option<u64>,
    /// UIDs whose `\Seen` this FETCH set (FLAGS is added for them), ascending.
    seen_set: Vec<u32>,
}

/// Writes one message's response at a sequence number.
type WriteOne<'a> = dyn FnMut(&mut Vec<u8>, u32) -> Result<(), ItemError> + 'a;

/// Output produced per chunk before it is handed to the runtime.
const CHUNK_BYTES: usize = 1 << 20;
/// Messages per chunk.
const CHUNK_MESSAGES: usize = 500;
/// Messages per chunk of a flags-only FETCH (`UID FETCH 1:* (FLAGS)`):
/// its lines are short (~40 bytes, ~160 KB a chunk) and each chunk starts
/// a new scan of the records, so its chunks are larger.
const CHUNK_FLAGS_MESSAGES: usize = 4096;

/// The requested messages as inclusive UID ranges: runs of consecutive
/// sequence numbers (`idx` ascending) mapped to their first and last UID.
fn uid_ranges(sel: &Selected, idx: &[usize]) -> VecDeque<(u32, u32)> {
    let mut out = VecDeque::new();
    let mut i = 0;
    while let Some(&start) = idx.get(i) {
        let mut end = start;
        while idx.get(i + 1) == end.checked_add(1).as_ref() {
            i += 1;
            end += 1;
        }
        i += 1;
        if let (Some(lo), Some(hi)) = (sel.uids.get(start), sel.uids.get(end)) {
            out.push_back((lo, hi));
        }
    }
    out
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
    let ranges = match sel.resolve(&f.set, f.uid) {
        Ok(idx) => uid_ranges(sel, &idx),
        Err(e) => return s.bad(tag, e.text()),
    };
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
    if ranges.is_empty() {
        return s.ok(tag, None, "FETCH completed");
    }
    // RFC 9051 6.4.5: non-PEEK body fetches set \Seen.
    let mut seen_set = Vec::new();
    if !read_only && attrs.iter().any(sets_seen) {
        let unseen = match unseen_in(s, &ranges, f.changed_since) {
            Ok(u) => u,
            Err(e) => return s.store_error(tag, e, "FETCH"),
        };
        if !unseen.is_empty() {
            match acct.store_flags(id, &unseen, FlagOp::Add, Flags::SEEN, &[], None) {
                Ok(o) => {
                    if !o.changed.is_empty() {
                        s.own_modseqs.push(o.modseq);
                    }
                    seen_set = o.changed.into_iter().map(|m| m.uid).collect();
                    seen_set.sort_unstable();
                }
                Err(e) => return s.store_error(tag, e, "FETCH setting \\Seen"),
            }
        }
    }
    s.fetch = Some(FetchCursor {
        tag,
        plan: Plan::of(&attrs),
        attrs,
        ranges,
        changed_since: f.changed_since,
        seen_set,
    });
    resume(s);
}

/// Live messages without `\Seen` among those requested.
fn unseen_in(
    s: &Session,
    ranges: &VecDeque<(u32, u32)>,
    changed_since: Option<u64>,
) -> Result<Vec<u32>, StoreError> {
    let (Some(acct), Some(sel)) = (s.account(), s.sel.as_ref()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for &(lo, hi) in ranges {
        acct.scan_flags(sel.id, lo..=hi, |v| {
            if !v.expunged
                && !v.flags.contains(Flags::SEEN)
                && changed_since.is_none_or(|c| v.modseq > c)
                && sel.uids.position(v.uid).is_some()
            {
                out.push(v.uid);
            }
            ControlFlow::Continue(())
        })?;
    }
    Ok(out)
}

/// Produces the next chunk of the FETCH in progress; completes it with the
/// tagged response after the last message.
pub(crate) fn resume(s: &mut Session) {
    let Some(mut cur) = s.fetch.take() else {
        return;
    };
    let Some(acct) = s.account() else {
        return s.bad(cur.tag, "not authenticated");
    };
    let ctx = s.conn.ctx();
    let Some(sel) = s.sel.as_ref() else {
        return s.bad(cur.tag, "no mailbox selected");
    };
    let mut out = Vec::new();
    let mut count = 0usize;
    let chunk_messages = match cur.plan {
        Plan::FlagsOnly(_) => CHUNK_FLAGS_MESSAGES,
        Plan::Fast(_) | Plan::General => CHUNK_MESSAGES,
    };
    let mut failed: Option<ItemError> = None;
    while let Some(&(lo, hi)) = cur.ranges.front() {
        // The last UID looked at, and whether the chunk is full.
        let mut last = None;
        let mut full = false;
        let mut visit = |uid: u32, modseq: u64, out: &mut Vec<u8>, write: &mut WriteOne<'_>| {
            last = Some(uid);
            let Some(pos) = sel.uids.position(uid) else {
                return ControlFlow::Continue(());
            };
            if cur.changed_since.is_some_and(|c| modseq <= c) {
                return ControlFlow::Continue(());
            }
            let seq = u32::try_from(pos + 1).unwrap_or(u32::MAX);
            if let Err(e) = write(out, seq) {
                failed = Some(e);
                return ControlFlow::Break(());
            }
            count += 1;
            if out.len() >= CHUNK_BYTES || count >= chunk_messages {
                full = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        };
        let scanned = match &cur.plan {
            Plan::FlagsOnly(fast) => acct.scan_flags(sel.id, lo..=hi, |v| {
                visit(v.uid, v.modseq, &mut out, &mut |out, seq| {
                    fetch_fast::write_flags_only(out, seq, fast, &v);
                    Ok(())
                })
            }),
            Plan::Fast(fast) => {
                let envelopes = fetch_fast::wants_envelope(fast);
                acct.scan_fetch(sel.id, lo..=hi, envelopes, |m| {
                    visit(m.uid, m.modseq, &mut out, &mut |out, seq| {
                        fetch_fast::write_fast(out, seq, fast, &acct, m, ctx.utf8)
                            .map_err(ItemError::Store)
                    })
                })
            }
            Plan::General => acct.scan_records(sel.id, lo..=hi, |m| {
                visit(m.uid, m.modseq, &mut out, &mut |out, seq| {
                    let mut l = Loaded::new(&acct, &m);
                    let mut its = items(&mut l, &cur.attrs)?;
                    if cur.seen_set.binary_search(&m.uid).is_ok()
                        && !cur.attrs.contains(&FetchAttr::Flags)
                    {
                        its.push(FetchItem::Flags(convert::flag_fetch(m.flags, &m.keywords)));
                    }
                    Response::Data(Data::Fetch { seq, items: its }).encode(out, ctx);
                    Ok(())
                })
            }),
        };
        if let Err(e) = scanned {
            failed = Some(ItemError::Store(e));
        }
        if failed.is_some() {
            break;
        }
        match last {
            Some(u) if full && u < hi => {
                if let Some(front) = cur.ranges.front_mut() {
                    front.0 = u + 1;
                }
                break;
            }
            _ => {
                cur.ranges.pop_front();
            }
        }
        if full {
            break;
        }
    }
    s.conn.send_raw(&out);
    match failed {
        Some(ItemError::UnknownCte) => s.no(
            cur.tag,
            Some(Code::UnknownCte),
            "unknown content-transfer-encoding",
        ),
        Some(ItemError::Store(StoreError::NoSuchMessage { .. })) => {
            s.no(cur.tag, Some(Code::ExpungeIssued), "message was expunged")
        }
        Some(ItemError::Store(e)) => s.store_error(cur.tag, e, "FETCH"),
        None if cur.ranges.is_empty() => s.ok(cur.tag, None, "FETCH completed"),
        None => s.fetch = Some(cur),
    }
}

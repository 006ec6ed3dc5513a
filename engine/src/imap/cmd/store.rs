//! STORE and UID STORE (RFC 9051 6.4.6) with UNCHANGEDSINCE and [MODIFIED]
//! (RFC 7162 3.1.3).

use moxide_proto::imap::cmd::{StoreCommand, StoreMode};
use moxide_proto::imap::core::{Tag, UidSet};
use moxide_proto::imap::resp::{Code, Data, FetchItem};
use moxide_storage::{FlagOp, Message};

use crate::imap::Session;
use crate::imap::convert;

/// [UID] STORE set [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] (flags).
pub(crate) fn run(s: &mut Session, tag: Tag, c: &StoreCommand) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(sel) = s.sel.as_ref() else {
        return s.bad(tag, "no mailbox selected");
    };
    if sel.read_only {
        return s.no(tag, Some(Code::Cannot), "mailbox is read-only");
    }
    let id = sel.id;
    let uids = match sel.resolve_uids(&c.set, c.uid) {
        Ok(u) => u,
        Err(e) => return s.bad(tag, e.text()),
    };
    if c.unchanged_since.is_some() {
        s.ext.condstore = true;
    }
    let (flags, keywords) = convert::split_flags(&c.flags);
    let op = match c.mode {
        StoreMode::Replace => FlagOp::Replace,
        StoreMode::Add => FlagOp::Add,
        StoreMode::Remove => FlagOp::Remove,
    };
    let outcome = match acct.store_flags(id, &uids, op, flags, &keywords, c.unchanged_since) {
        Ok(o) => o,
        Err(e) => return s.store_error(tag, e, "STORE"),
    };
    if !outcome.changed.is_empty() {
        s.own_modseqs.push(outcome.modseq);
    }
    let condstore = s.ext.condstore;
    // RFC 9051 7.3.5: a new keyword is announced in FLAGS before it is used.
    if let Some(sel) = s.sel.as_mut()
        && !outcome.changed.is_empty()
        && keywords.iter().any(|k| !sel.keywords.contains(k))
    {
        for k in &keywords {
            if let Err(i) = sel.keywords.binary_search(k) {
                sel.keywords.insert(i, k.clone());
            }
        }
        let flags = convert::mailbox_flags(&sel.keywords);
        s.data(Data::Flags(flags));
    }
    // The state to report: changed messages from the outcome, the others
    // as stored.
    let report: Vec<Message> = if c.silent {
        if condstore {
            outcome.changed.clone()
        } else {
            Vec::new()
        }
    } else {
        let (Some(&lo), Some(&hi)) = (uids.first(), uids.last()) else {
            return finish(s, tag, c, &outcome.modified);
        };
        match acct.messages_in(id, lo..=hi) {
            Ok(mut v) => {
                v.retain(|m| {
                    uids.binary_search(&m.uid).is_ok() && !outcome.modified.contains(&m.uid)
                });
                v
            }
            Err(e) => return s.store_error(tag, e, "STORE"),
        }
    };
    for m in report {
        let Some(seq) = s.sel.as_ref().and_then(|x| x.seq_of(m.uid)) else {
            continue;
        };
        let mut items = Vec::new();
        if !c.silent {
            items.push(FetchItem::Flags(convert::flag_fetch(m.flags, &m.keywords)));
        }
        if c.uid {
            items.push(FetchItem::Uid(m.uid));
        }
        if condstore {
            items.push(FetchItem::ModSeq(m.modseq));
        }
        if !items.is_empty() {
            s.data(Data::Fetch { seq, items });
        }
    }
    finish(s, tag, c, &outcome.modified);
}

/// OK, or OK [MODIFIED set] when UNCHANGEDSINCE kept messages unchanged.
fn finish(s: &mut Session, tag: Tag, c: &StoreCommand, modified: &[u32]) {
    if modified.is_empty() {
        return s.ok(tag, None, "STORE completed");
    }
    let mut nums: Vec<u32> = if c.uid {
        modified.to_vec()
    } else {
        let sel = s.sel.as_ref();
        modified
            .iter()
            .filter_map(|&u| sel.and_then(|x| x.seq_of(u)))
            .collect()
    };
    nums.sort_unstable();
    s.ok(
        tag,
        Some(Code::Modified(UidSet::from_sorted(nums))),
        "conditional STORE failed for some messages",
    );
}

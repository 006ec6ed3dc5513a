//! SEARCH and UID SEARCH (RFC 9051 6.4.4) with ESEARCH return options (RFC
//! 4731), SEARCHRES SAVE (RFC 5182) and MODSEQ (RFC 7162 3.1.5). With
//! IMAP4rev2 enabled, results are ESEARCH responses (RFC 9051 7.3.4).

use moxide_proto::imap::cmd::decode_search_strings;
use moxide_proto::imap::cmd::{CharsetError, SearchCommand, SearchKey, SearchReturnOpt};
use moxide_proto::imap::core::{Tag, UidSet};
use moxide_proto::imap::resp::{Code, Data, ESearch, ESearchItem};
use moxide_storage::StoreError;

use super::search_eval::{Candidate, EvalCtx, eval, uses_modseq};
use crate::imap::Session;

/// One matching message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub(crate) seq: u32,
    pub(crate) uid: u32,
    pub(crate) modseq: u64,
}

/// Why a search could not run; the caller answers with it.
pub(crate) enum SearchFail {
    /// `NO [BADCHARSET (UTF-8)]`.
    BadCharset,
    /// `BAD text`.
    Bad(&'static str),
    /// A storage error.
    Store(StoreError),
}

impl Session {
    /// Answers a failed search.
    pub(crate) fn search_fail(&mut self, tag: Tag, f: SearchFail, what: &str) {
        match f {
            SearchFail::BadCharset => self.no(
                tag,
                Some(Code::BadCharset(vec!["UTF-8".into(), "US-ASCII".into()])),
                "unsupported charset",
            ),
            SearchFail::Bad(t) => self.bad(tag, t),
            SearchFail::Store(e) => self.store_error(tag, e, what),
        }
    }
}

/// The messages of the selected mailbox matching all `keys` (strings in
/// `charset`), in sequence order. Each message is evaluated with
/// `hit` when it matches; `hit` may load more of it (SORT, THREAD).
pub(crate) fn matching(
    s: &mut Session,
    keys: &[SearchKey],
    charset: Option<&str>,
    mut hit: impl FnMut(&mut Candidate<'_>, &EvalCtx<'_>) -> Result<(), StoreError>,
) -> Result<Vec<Hit>, SearchFail> {
    let keys = decode_search_strings(keys, charset, s.conn.ctx()).map_err(|e| match e {
        CharsetError::Unsupported(_) => SearchFail::BadCharset,
        CharsetError::Invalid => SearchFail::Bad("search string is not valid in its charset"),
    })?;
    if uses_modseq(&keys) {
        s.ext.condstore = true;
    }
    let now = s.unix_now();
    let (Some(acct), Some(sel)) = (s.account(), s.sel.as_ref()) else {
        return Err(SearchFail::Bad("no mailbox selected"));
    };
    let (Some(lo), Some(hi)) = (sel.uids.first(), sel.uids.last()) else {
        return Ok(Vec::new());
    };
    let records = acct
        .records_in(sel.id, lo..=hi)
        .map_err(SearchFail::Store)?;
    let ctx = EvalCtx {
        acct: &acct,
        exists: sel.exists(),
        last_uid: hi,
        saved: &sel.saved,
        now,
    };
    let mut out = Vec::new();
    for m in &records {
        let Some(seq) = sel.seq_of(m.uid) else {
            continue;
        };
        let mut c = Candidate::new(m, seq);
        let mut all = true;
        for k in &keys {
            match eval(&ctx, &mut c, k) {
                Ok(true) => {}
                Ok(false) => {
                    all = false;
                    break;
                }
                // A message expunged meanwhile whose file is gone does not
                // match.
                Err(StoreError::NoSuchMessage { .. }) => {
                    all = false;
                    break;
                }
                Err(e) => return Err(SearchFail::Store(e)),
            }
        }
        if all {
            hit(&mut c, &ctx).map_err(SearchFail::Store)?;
            out.push(Hit {
                seq,
                uid: m.uid,
                modseq: m.modseq,
            });
        }
    }
    Ok(out)
}

/// [UID] SEARCH [RETURN (…)] [CHARSET x] keys.
pub(crate) fn run(s: &mut Session, tag: Tag, c: &SearchCommand) {
    let hits = match matching(s, &c.keys, c.charset.as_deref(), |_, _| Ok(())) {
        Ok(h) => h,
        Err(f) => {
            // RFC 5182 2.1: a failed SEARCH with SAVE empties the result.
            if c.returns
                .as_ref()
                .is_some_and(|r| r.contains(&SearchReturnOpt::Save))
                && let Some(sel) = s.sel.as_mut()
            {
                sel.saved = Vec::new();
            }
            return s.search_fail(tag, f, "SEARCH");
        }
    };
    let num = |h: &Hit| if c.uid { h.uid } else { h.seq };
    let nums: Vec<u32> = hits.iter().map(num).collect();
    let modseq = uses_modseq(&c.keys)
        .then(|| hits.iter().map(|h| h.modseq).max())
        .flatten();
    let opts = match &c.returns {
        None if !s.ext.rev2 => {
            s.data(Data::Search { nums, modseq });
            return s.ok(tag, None, "SEARCH completed");
        }
        None => vec![SearchReturnOpt::All],
        Some(o) if o.is_empty() => vec![SearchReturnOpt::All],
        Some(o) => o.clone(),
    };
    let want = |o: SearchReturnOpt| opts.contains(&o);
    if want(SearchReturnOpt::Save) {
        // RFC 5182 2.1: with only MIN and/or MAX, only those are saved.
        let minmax_only = !want(SearchReturnOpt::All)
            && !want(SearchReturnOpt::Count)
            && (want(SearchReturnOpt::Min) || want(SearchReturnOpt::Max));
        let saved: Vec<u32> = if minmax_only {
            let mut v = Vec::new();
            if want(SearchReturnOpt::Min)
                && let Some(h) = hits.first()
            {
                v.push(h.uid);
            }
            if want(SearchReturnOpt::Max)
                && let Some(h) = hits.last()
            {
                v.push(h.uid);
            }
            v.dedup();
            v
        } else {
            hits.iter().map(|h| h.uid).collect()
        };
        if let Some(sel) = s.sel.as_mut() {
            sel.saved = saved;
        }
        if opts.len() == 1 {
            // SAVE alone: no ESEARCH response (RFC 5182 2.1).
            return s.ok(tag, None, "SEARCH completed, result saved");
        }
    }
    let mut items = Vec::new();
    if want(SearchReturnOpt::Min)
        && let Some(&n) = nums.first()
    {
        items.push(ESearchItem::Min(n));
    }
    if want(SearchReturnOpt::Max)
        && let Some(&n) = nums.last()
    {
        items.push(ESearchItem::Max(n));
    }
    if want(SearchReturnOpt::All) && !nums.is_empty() {
        items.push(ESearchItem::All(UidSet::from_sorted(nums.iter().copied())));
    }
    if want(SearchReturnOpt::Count) {
        items.push(ESearchItem::Count(
            u32::try_from(nums.len()).unwrap_or(u32::MAX),
        ));
    }
    if let Some(m) = modseq {
        items.push(ESearchItem::ModSeq(m));
    }
    s.data(Data::ESearch(ESearch {
        tag: Some(tag.as_str().to_string()),
        uid: c.uid,
        items,
    }));
    s.ok(tag, None, "SEARCH completed");
}

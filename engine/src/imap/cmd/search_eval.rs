//! The search key evaluator (RFC 9051 6.4.4, RFC 7162 3.1.5 MODSEQ, RFC
//! 5032 OLDER/YOUNGER, RFC 8514 SAVED*, RFC 5182 `$`). Header searches
//! decode encoded words; BODY and TEXT search the decoded text parts
//! (transfer encoding and charset); all string matches are substring
//! matches, case-insensitive for all of Unicode (lower-cased both sides).

use moxide_proto::imap::cmd::SearchKey;
use moxide_proto::imap::core::{Date, SequenceSet};
use moxide_proto::message::MessageStructure;
use moxide_proto::message::header::HeaderBlock;
use moxide_proto::message::subject::decode_unstructured;
use moxide_storage::{Account, Flags, Message, MessageContent, StoreError};

use super::fetch_body::{part_text, text_parts};
use crate::imap::convert;

/// What the evaluator needs besides the message.
pub(crate) struct EvalCtx<'a> {
    /// The account the messages are in.
    pub(crate) acct: &'a Account,
    /// Number of messages the client knows (for `*` in sequence sets).
    pub(crate) exists: u32,
    /// Largest UID the client knows (for `*` in UID sets).
    pub(crate) last_uid: u32,
    /// The saved result (`$`), as UIDs.
    pub(crate) saved: &'a [u32],
    /// Unix seconds now (OLDER/YOUNGER).
    pub(crate) now: i64,
}

/// A message being evaluated, with its content loaded on first use: the
/// content record is looked up once and gives both the structure and the
/// prefix the file read needs.
pub(crate) struct Candidate<'a> {
    pub(crate) m: &'a Message,
    pub(crate) seq: u32,
    content: Option<MessageContent>,
    st: Option<MessageStructure>,
    raw: Option<Vec<u8>>,
    /// The message up to the end of its header, when only that was read.
    head: Option<Vec<u8>>,
    header_text: Option<String>,
    body_text: Option<String>,
}

impl<'a> Candidate<'a> {
    /// A message with sequence number `seq`.
    pub(crate) fn new(m: &'a Message, seq: u32) -> Self {
        Candidate {
            m,
            seq,
            content: None,
            st: None,
            raw: None,
            head: None,
            header_text: None,
            body_text: None,
        }
    }

    fn content(&mut self, acct: &Account) -> Result<&MessageContent, StoreError> {
        let c = match self.content.take() {
            Some(c) => c,
            None => acct.message_content(self.m)?,
        };
        Ok(self.content.insert(c))
    }

    fn load(&mut self, acct: &Account) -> Result<(), StoreError> {
        if self.st.is_none() {
            self.st = Some(self.content(acct)?.structure()?);
        }
        if self.raw.is_none() {
            let m = self.m;
            let c = self.content(acct)?;
            self.raw = Some(acct.read_content_range(m, c, 0, m.size)?);
        }
        Ok(())
    }

    /// The message structure.
    pub(crate) fn structure(&mut self, acct: &Account) -> Result<&MessageStructure, StoreError> {
        let st = match self.st.take() {
            Some(st) => st,
            None => self.content(acct)?.structure()?,
        };
        Ok(self.st.insert(st))
    }

    /// Reads the message through the end of its header unless all of it
    /// is loaded: header keys need no body bytes.
    fn load_head(&mut self, acct: &Account) -> Result<(), StoreError> {
        if self.raw.is_some() || self.head.is_some() {
            return Ok(());
        }
        let end = self.structure(acct)?.root().header.end;
        let m = self.m;
        let c = self.content(acct)?;
        self.head = Some(acct.read_content_range(m, c, 0, end)?);
        Ok(())
    }

    /// Decoded values of the header fields named `name` (all fields when
    /// None), lower case, one per line.
    fn header(&mut self, acct: &Account, name: Option<&str>) -> Result<Vec<String>, StoreError> {
        self.load_head(acct)?;
        let (Some(st), Some(raw)) = (&self.st, self.raw.as_ref().or(self.head.as_ref())) else {
            return Ok(Vec::new());
        };
        let end = usize::try_from(st.root().header.end).unwrap_or(raw.len());
        let block = HeaderBlock::parse(raw, 0, end);
        Ok(block
            .fields
            .iter()
            .filter(|f| name.is_none_or(|n| f.name.eq_ignore_ascii_case(n.as_bytes())))
            .map(|f| {
                let v = decode_unstructured(&f.value());
                if name.is_none() {
                    format!("{}: {}", String::from_utf8_lossy(f.name), v).to_lowercase()
                } else {
                    v.to_lowercase()
                }
            })
            .collect())
    }

    fn all_headers(&mut self, acct: &Account) -> Result<&str, StoreError> {
        if self.header_text.is_none() {
            self.header_text = Some(self.header(acct, None)?.join("\n"));
        }
        Ok(self.header_text.as_deref().unwrap_or_default())
    }

    fn body(&mut self, acct: &Account) -> Result<&str, StoreError> {
        if self.body_text.is_none() {
            self.load(acct)?;
            let mut text = String::new();
            if let (Some(st), Some(raw)) = (&self.st, &self.raw) {
                for p in text_parts(st) {
                    text.push_str(&part_text(raw, p).to_lowercase());
                    text.push('\n');
                }
            }
            self.body_text = Some(text);
        }
        Ok(self.body_text.as_deref().unwrap_or_default())
    }
}

fn needle(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_lowercase()
}

fn day_of(unix: i64, zone_minutes: i16) -> i64 {
    convert::datetime(unix, zone_minutes)
        .date
        .days_since_epoch()
}

/// The day of the Date header in the header's own time zone: SENT* keys
/// compare "disregarding time and timezone" (RFC 9051 6.4.4), so
/// `Mon, 7 Feb 1994 21:52:25 -0800` is 7-Feb-1994 although it is 8 Feb
/// in UTC. None when the message has no valid Date.
fn sent_day(st: &MessageStructure) -> Option<i64> {
    let unix = st.date()?;
    let raw = st.envelope().date.as_deref()?;
    let parsed = mail_parser::DateTime::parse_rfc822(&String::from_utf8_lossy(raw))?;
    let minutes = i16::from(parsed.tz_hour)
        .checked_mul(60)?
        .checked_add(i16::from(parsed.tz_minute))?;
    let zone = if parsed.tz_before_gmt {
        -minutes
    } else {
        minutes
    };
    Some(day_of(unix, zone))
}

fn cmp_day(day: i64, d: &Date, f: fn(i64, i64) -> bool) -> bool {
    f(day, d.days_since_epoch())
}

fn in_set(set: &SequenceSet, n: u32, largest: u32, saved: &[u32], uid: u32) -> bool {
    match set {
        SequenceSet::LastResult => saved.contains(&uid),
        s => s.contains(n, largest),
    }
}

/// Whether the key matches the candidate.
pub(crate) fn eval(
    ctx: &EvalCtx<'_>,
    c: &mut Candidate<'_>,
    key: &SearchKey,
) -> Result<bool, StoreError> {
    use SearchKey as K;
    let m = c.m;
    let flag = |f: Flags| m.flags.contains(f);
    let lt = |a: i64, b: i64| a < b;
    let eq = |a: i64, b: i64| a == b;
    let ge = |a: i64, b: i64| a >= b;
    Ok(match key {
        K::All | K::SaveDateSupported | K::Old => true,
        K::New | K::Recent => false,
        K::Answered => flag(Flags::ANSWERED),
        K::Deleted => flag(Flags::DELETED),
        K::Draft => flag(Flags::DRAFT),
        K::Flagged => flag(Flags::FLAGGED),
        K::Seen => flag(Flags::SEEN),
        K::Unanswered => !flag(Flags::ANSWERED),
        K::Undeleted => !flag(Flags::DELETED),
        K::Undraft => !flag(Flags::DRAFT),
        K::Unflagged => !flag(Flags::FLAGGED),
        K::Unseen => !flag(Flags::SEEN),
        K::Keyword(a) => m.keywords.contains(&a.as_str().to_ascii_lowercase()),
        K::Unkeyword(a) => !m.keywords.contains(&a.as_str().to_ascii_lowercase()),
        K::Larger(n) => m.size > *n,
        K::Smaller(n) => m.size < *n,
        K::Before(d) => cmp_day(day_of(m.received, m.received_tz), d, lt),
        K::On(d) => cmp_day(day_of(m.received, m.received_tz), d, eq),
        K::Since(d) => cmp_day(day_of(m.received, m.received_tz), d, ge),
        K::SavedBefore(d) => m.saved != 0 && cmp_day(day_of(m.saved, 0), d, lt),
        K::SavedOn(d) => m.saved != 0 && cmp_day(day_of(m.saved, 0), d, eq),
        K::SavedSince(d) => m.saved != 0 && cmp_day(day_of(m.saved, 0), d, ge),
        K::SentBefore(d) | K::SentOn(d) | K::SentSince(d) => {
            let Some(sent) = sent_day(c.structure(ctx.acct)?) else {
                return Ok(false);
            };
            let f = match key {
                K::SentBefore(_) => lt,
                K::SentOn(_) => eq,
                _ => ge,
            };
            cmp_day(sent, d, f)
        }
        // RFC 5032: age of the internal date in seconds.
        K::Older(n) => ctx.now.saturating_sub(m.received) > i64::from(*n),
        K::Younger(n) => ctx.now.saturating_sub(m.received) <= i64::from(*n),
        K::Uid(set) => in_set(set, m.uid, ctx.last_uid, ctx.saved, m.uid),
        K::SequenceSet(set) => in_set(set, c.seq, ctx.exists, ctx.saved, m.uid),
        K::ModSeq { modseq, .. } => m.modseq >= *modseq,
        K::Not(k) => !eval(ctx, c, k)?,
        K::Or(a, b) => eval(ctx, c, a)? || eval(ctx, c, b)?,
        K::And(keys) => {
            for k in keys {
                if !eval(ctx, c, k)? {
                    return Ok(false);
                }
            }
            true
        }
        K::Header(name, value) => {
            let name = String::from_utf8_lossy(name).into_owned();
            let values = c.header(ctx.acct, Some(&name))?;
            let n = needle(value);
            // RFC 9051 6.4.4: an empty string matches every message with
            // the field.
            values.iter().any(|v| v.contains(&n))
        }
        K::From(v) | K::To(v) | K::Cc(v) | K::Bcc(v) | K::Subject(v) => {
            let name = match key {
                K::From(_) => "from",
                K::To(_) => "to",
                K::Cc(_) => "cc",
                K::Bcc(_) => "bcc",
                _ => "subject",
            };
            let n = needle(v);
            c.header(ctx.acct, Some(name))?
                .iter()
                .any(|x| x.contains(&n))
        }
        K::Body(v) => {
            let n = needle(v);
            c.body(ctx.acct)?.contains(&n)
        }
        K::Text(v) => {
            let n = needle(v);
            // Header and body: one read of the whole message.
            c.load(ctx.acct)?;
            c.all_headers(ctx.acct)?.contains(&n) || c.body(ctx.acct)?.contains(&n)
        }
    })
}

/// Whether any key (recursively) is MODSEQ (RFC 7162 3.1.5).
pub(crate) fn uses_modseq(keys: &[SearchKey]) -> bool {
    keys.iter().any(key_uses_modseq)
}

fn key_uses_modseq(k: &SearchKey) -> bool {
    match k {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(k) => key_uses_modseq(k),
        SearchKey::Or(a, b) => key_uses_modseq(a) || key_uses_modseq(b),
        SearchKey::And(v) => uses_modseq(v),
        _ => false,
    }
}

#[cfg(test)]
#[path = "search_head_tests.rs"]
mod tests;

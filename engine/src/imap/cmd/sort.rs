//! SORT and UID SORT (RFC 5256 3, RFC 5957 DISPLAYFROM/DISPLAYTO): the
//! messages matching the search keys, ordered by the criteria, ties by
//! sequence number.

use std::cmp::Ordering;
use std::collections::HashMap;

use moxide_proto::imap::cmd::{SortCommand, SortKey};
use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::Data;
use moxide_proto::message::Address;
use moxide_proto::message::subject::decode_unstructured;

use super::search::matching;
use super::search_eval::uses_modseq;
use crate::imap::Session;

/// The values the sort keys compare, per message.
#[derive(Debug, Default, Clone)]
struct Keys {
    arrival: i64,
    sent: i64,
    size: u64,
    subject: String,
    from: String,
    to: String,
    cc: String,
    display_from: String,
    display_to: String,
}

/// RFC 5256 3: the addr-mailbox of the first address, case-folded.
fn mailbox_of(list: &[Address]) -> String {
    list.iter()
        .find(|a| a.mailbox.is_some() && a.host.is_some())
        .and_then(|a| a.mailbox.as_ref())
        .map(|m| String::from_utf8_lossy(m).to_lowercase())
        .unwrap_or_default()
}

/// RFC 5957: the display name, else the address.
fn display_of(list: &[Address]) -> String {
    let Some(a) = list
        .iter()
        .find(|a| a.mailbox.is_some() && a.host.is_some())
    else {
        return String::new();
    };
    if let Some(n) = a.name.as_ref().filter(|n| !n.is_empty()) {
        return decode_unstructured(n).to_lowercase();
    }
    let m = String::from_utf8_lossy(a.mailbox.as_deref().unwrap_or_default()).into_owned();
    let h = String::from_utf8_lossy(a.host.as_deref().unwrap_or_default()).into_owned();
    format!("{m}@{h}").to_lowercase()
}

fn compare(key: SortKey, a: &Keys, b: &Keys) -> Ordering {
    match key {
        SortKey::Arrival => a.arrival.cmp(&b.arrival),
        SortKey::Date => a.sent.cmp(&b.sent),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Subject => a.subject.cmp(&b.subject),
        SortKey::From => a.from.cmp(&b.from),
        SortKey::To => a.to.cmp(&b.to),
        SortKey::Cc => a.cc.cmp(&b.cc),
        SortKey::DisplayFrom => a.display_from.cmp(&b.display_from),
        SortKey::DisplayTo => a.display_to.cmp(&b.display_to),
    }
}

/// [UID] SORT (criteria) charset keys.
pub(crate) fn run(s: &mut Session, tag: Tag, c: &SortCommand) {
    let mut keys: HashMap<u32, Keys> = HashMap::new();
    let hits = matching(s, &c.keys, Some(&c.charset), |cand, ctx| {
        let m = cand.m;
        let st = cand.structure(ctx.acct)?;
        let env = st.envelope();
        keys.insert(
            m.uid,
            Keys {
                arrival: m.received,
                // RFC 5256 3: a missing or invalid Date sorts by arrival.
                sent: st.date().unwrap_or(m.received),
                size: m.size,
                subject: st.base_subject().text.to_ascii_uppercase(),
                from: mailbox_of(&env.from),
                to: mailbox_of(&env.to),
                cc: mailbox_of(&env.cc),
                display_from: display_of(&env.from),
                display_to: display_of(&env.to),
            },
        );
        Ok(())
    });
    let mut hits = match hits {
        Ok(h) => h,
        Err(f) => return s.search_fail(tag, f, "SORT"),
    };
    let empty = Keys::default();
    hits.sort_by(|a, b| {
        let ka = keys.get(&a.uid).unwrap_or(&empty);
        let kb = keys.get(&b.uid).unwrap_or(&empty);
        for crit in &c.criteria {
            let o = compare(crit.key, ka, kb);
            let o = if crit.reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.seq.cmp(&b.seq)
    });
    let modseq = uses_modseq(&c.keys)
        .then(|| hits.iter().map(|h| h.modseq).max())
        .flatten();
    let nums = hits
        .iter()
        .map(|h| if c.uid { h.uid } else { h.seq })
        .collect();
    s.data(Data::Sort { nums, modseq });
    s.ok(tag, None, "SORT completed");
}

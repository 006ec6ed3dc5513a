//! CREATE (RFC 9051 6.3.4) with CREATE-SPECIAL-USE (RFC 6154 3).

use moxide_proto::imap::core::{Atom, Mailbox, Tag};
use moxide_proto::imap::resp::Code;
use moxide_storage::SpecialUse;

use super::storage_name;
use crate::imap::Session;

/// The special-use bit for an attribute name without backslash.
pub(crate) fn special_use(name: &str) -> Option<SpecialUse> {
    let n = name.trim_start_matches('\\');
    [
        ("Archive", SpecialUse::ARCHIVE),
        ("Drafts", SpecialUse::DRAFTS),
        ("Junk", SpecialUse::JUNK),
        ("Sent", SpecialUse::SENT),
        ("Trash", SpecialUse::TRASH),
    ]
    .into_iter()
    .find(|(k, _)| k.eq_ignore_ascii_case(n))
    .map(|(_, v)| v)
}

/// CREATE name [(USE (\attr …))].
pub(crate) fn run(s: &mut Session, tag: Tag, m: &Mailbox, uses: &[Atom]) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(name) = storage_name(m) else {
        return s.no(tag, Some(Code::Cannot), "invalid mailbox name");
    };
    let mut su = SpecialUse::NONE;
    for u in uses {
        match special_use(u.as_str()) {
            Some(x) => su = SpecialUse(su.0 | x.0),
            // RFC 6154 3: unknown attributes fail with USEATTR.
            None => {
                return s.no(
                    tag,
                    Some(Code::UseAttr),
                    "unsupported special-use attribute",
                );
            }
        }
    }
    match acct.create_mailbox(&name, su) {
        Ok(_) => s.ok(tag, None, "CREATE completed"),
        Err(e) => s.store_error(tag, e, "CREATE"),
    }
}

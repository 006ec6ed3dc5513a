//! LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC
//! 5819), SPECIAL-USE (RFC 6154) and CHILDREN (RFC 3348), and LSUB (RFC
//! 3501 6.3.9).

use moxide_proto::imap::cmd::{ListCommand, ListReturn, ListSelect};
use moxide_proto::imap::core::{Mailbox, StatusAttr, Tag};
use moxide_proto::imap::resp::{Data, ListData, ListExtItem, MailboxAttr};
use moxide_storage::{Mailbox as StoredMailbox, SpecialUse};

use super::{status, wire_name};
use crate::imap::Session;

/// Whether `name` matches a LIST pattern: `*` matches anything, `%`
/// anything but the hierarchy delimiter (RFC 9051 6.3.9). Dynamic
/// programming: O(pattern × name), whatever the wildcards.
pub(crate) fn matches(pattern: &[char], name: &[char]) -> bool {
    let n = name.len();
    // ok[j]: pattern[i..] matches name[j..], for the current i.
    let mut ok = vec![false; n + 1];
    ok[n] = true;
    for p in pattern.iter().rev() {
        let mut next = vec![false; n + 1];
        for j in (0..=n).rev() {
            next[j] = match p {
                '*' => ok[j] || (j < n && next[j + 1]),
                '%' => ok[j] || (j < n && name[j] != '/' && next[j + 1]),
                c => j < n && name[j] == *c && ok[j + 1],
            };
        }
        ok = next;
    }
    ok[0]
}

/// Matches a mailbox name; the INBOX part compares case-insensitively.
fn name_matches(pattern: &str, name: &str) -> bool {
    let fold = |s: &str| -> Vec<char> {
        let (head, tail) = match s.find('/') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        let head = if head.eq_ignore_ascii_case("INBOX") {
            "INBOX".to_string()
        } else {
            head.to_string()
        };
        format!("{head}{tail}").chars().collect()
    };
    matches(&fold(pattern), &fold(name))
}

/// The special-use attributes of a mailbox (RFC 6154 2).
fn special_attrs(su: SpecialUse) -> Vec<MailboxAttr> {
    [
        (SpecialUse::ARCHIVE, MailboxAttr::Archive),
        (SpecialUse::DRAFTS, MailboxAttr::Drafts),
        (SpecialUse::JUNK, MailboxAttr::Junk),
        (SpecialUse::SENT, MailboxAttr::Sent),
        (SpecialUse::TRASH, MailboxAttr::Trash),
    ]
    .into_iter()
    .filter(|(f, _)| su.contains(*f) && f.0 != 0)
    .map(|(_, a)| a)
    .collect()
}

/// Whether a mailbox has children; `names` is sorted.
fn has_children(names: &[&str], name: &str) -> bool {
    let prefix = format!("{name}/");
    let i = names.partition_point(|n| *n < prefix.as_str());
    names.get(i).is_some_and(|n| n.starts_with(&prefix))
}

/// Whether a subscribed name is below `name`; `subscriptions` is every
/// subscribed name, whether or not a mailbox has it (RFC 5258 3.5).
fn has_subscribed_child(subscriptions: &[String], name: &str) -> bool {
    subscriptions
        .iter()
        .any(|n| moxide_storage::mailbox_name::is_descendant(n, name))
}

/// The attributes LIST gives an existing mailbox, without \Subscribed:
/// children (RFC 3348) and special use (RFC 6154). `all` is every mailbox
/// of the account. SELECT's LIST response uses them too (RFC 9051 6.3.2:
/// "The list of mailbox attributes MUST be accurate").
pub(crate) fn mailbox_attrs(all: &[StoredMailbox], mb: &StoredMailbox) -> Vec<MailboxAttr> {
    let children = all
        .iter()
        .any(|m| !m.deleted && moxide_storage::mailbox_name::is_descendant(&m.name, &mb.name));
    let mut attrs = vec![if children {
        MailboxAttr::HasChildren
    } else {
        MailboxAttr::HasNoChildren
    }];
    attrs.extend(special_attrs(mb.special_use));
    attrs
}

/// LIST [(selection)] reference patterns [RETURN (options)].
pub(crate) fn list(s: &mut Session, tag: Tag, l: &ListCommand) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let only_subscribed = l.selection.contains(&ListSelect::Subscribed);
    let only_special = l.selection.contains(&ListSelect::SpecialUse);
    let recursive = l.selection.contains(&ListSelect::RecursiveMatch);
    let ret_subscribed = only_subscribed || l.returns.contains(&ListReturn::Subscribed);
    let status_attrs: Option<Vec<StatusAttr>> = l.returns.iter().find_map(|r| match r {
        ListReturn::Status(a) => Some(a.clone()),
        _ => None,
    });
    // RFC 9051 6.3.9: an empty pattern asks for the delimiter.
    if l.selection.is_empty() && l.patterns.len() == 1 && l.patterns.iter().all(String::is_empty) {
        s.data(Data::List(ListData {
            attrs: vec![MailboxAttr::NoSelect],
            delimiter: Some('/'),
            mailbox: Mailbox::new(""),
            extended: Vec::new(),
        }));
        return s.ok(tag, None, "LIST completed");
    }
    let all = match acct.mailboxes() {
        Ok(v) => v,
        Err(e) => return s.store_error(tag, e, "LIST"),
    };
    // RFC 5258 3.1: the SUBSCRIBED selection returns subscribed names that
    // are not mailboxes too, marked \NonExistent.
    let subscriptions = if only_subscribed {
        match acct.subscriptions() {
            Ok(v) => v,
            Err(e) => return s.store_error(tag, e, "LIST"),
        }
    } else {
        Vec::new()
    };
    let mut names: Vec<&str> = all
        .iter()
        .filter(|m| !m.deleted)
        .map(|m| m.name.as_str())
        .collect();
    names.sort_unstable();
    let reference = l.reference.as_str();
    let patterns: Vec<String> = l
        .patterns
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| format!("{reference}{p}"))
        .collect();
    let matching = |name: &str| patterns.iter().any(|p| name_matches(p, name));
    // Existing mailboxes, and subscribed names without one, in name order.
    let mut entries: Vec<(&str, Option<&StoredMailbox>)> = all
        .iter()
        .filter(|m| !m.deleted && matching(&m.name))
        .map(|m| (m.name.as_str(), Some(m)))
        .collect();
    entries.extend(
        subscriptions
            .iter()
            .filter(|n| names.binary_search(&n.as_str()).is_err() && matching(n))
            .map(|n| (n.as_str(), None)),
    );
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (name, mb) in entries {
        let Some(mb) = mb else {
            if only_special {
                continue;
            }
            // RFC 5258 3.4: \NonExistent implies \NoSelect; children, if
            // any, are still reported (RFC 3348).
            let mut attrs = vec![MailboxAttr::Subscribed, MailboxAttr::NonExistent];
            if has_children(&names, name) {
                attrs.push(MailboxAttr::HasChildren);
            }
            s.data(Data::List(ListData {
                attrs,
                delimiter: Some('/'),
                mailbox: wire_name(name),
                extended: Vec::new(),
            }));
            continue;
        };
        let mut extended = Vec::new();
        if only_subscribed && !mb.subscribed {
            if recursive && has_subscribed_child(&subscriptions, &mb.name) {
                extended.push(ListExtItem::ChildInfo(vec!["SUBSCRIBED".to_string()]));
            } else {
                continue;
            }
        }
        let special = special_attrs(mb.special_use);
        if only_special && special.is_empty() {
            continue;
        }
        let mut attrs = Vec::new();
        if ret_subscribed && mb.subscribed {
            attrs.push(MailboxAttr::Subscribed);
        }
        attrs.push(if has_children(&names, &mb.name) {
            MailboxAttr::HasChildren
        } else {
            MailboxAttr::HasNoChildren
        });
        attrs.extend(special);
        let mailbox = wire_name(&mb.name);
        s.data(Data::List(ListData {
            attrs,
            delimiter: Some('/'),
            mailbox: mailbox.clone(),
            extended,
        }));
        if let Some(a) = &status_attrs {
            let items = status::values(s, mb, a);
            s.data(Data::Status { mailbox, items });
        }
    }
    s.ok(tag, None, "LIST completed");
}

/// LSUB reference pattern (RFC 3501 6.3.9): the subscribed names, whether
/// or not a mailbox has that name (RFC 3501 6.3.6: the server MUST NOT
/// drop a subscription because the mailbox is gone).
pub(crate) fn lsub(s: &mut Session, tag: Tag, reference: &Mailbox, pattern: &str) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    if pattern.is_empty() {
        s.data(Data::Lsub(ListData {
            attrs: vec![MailboxAttr::NoSelect],
            delimiter: Some('/'),
            mailbox: Mailbox::new(""),
            extended: Vec::new(),
        }));
        return s.ok(tag, None, "LSUB completed");
    }
    let subscriptions = match acct.subscriptions() {
        Ok(v) => v,
        Err(e) => return s.store_error(tag, e, "LSUB"),
    };
    let pattern = format!("{}{pattern}", reference.as_str());
    // Name → whether it is only the parent of a subscribed name. RFC 3501
    // 6.3.9: with "foo/bar" subscribed but not "foo", `%` returns "foo"
    // flagged \Noselect.
    let mut found: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    for name in &subscriptions {
        if name_matches(&pattern, name) {
            found.insert(name.as_str(), false);
            continue;
        }
        for parent in moxide_storage::mailbox_name::parents(name) {
            if name_matches(&pattern, parent) {
                found.entry(parent).or_insert(true);
            }
        }
    }
    for (name, parent_only) in found {
        let attrs = if parent_only {
            vec![MailboxAttr::NoSelect]
        } else {
            Vec::new()
        };
        s.data(Data::Lsub(ListData {
            attrs,
            delimiter: Some('/'),
            mailbox: wire_name(name),
            extended: Vec::new(),
        }));
    }
    s.ok(tag, None, "LSUB completed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(name_matches("*", "Inbox/a/b"));
        assert!(name_matches("%", "Sent"));
        assert!(!name_matches("%", "Sent/x"));
        assert!(name_matches("Sent/%", "Sent/x"));
        assert!(name_matches("inbox", "Inbox"));
        assert!(name_matches("INBOX/*", "Inbox/x"));
        assert!(!name_matches("Sen", "Sent"));
        assert!(name_matches("S*t", "Sent"));
        assert!(name_matches("%/%", "a/b"));
        assert!(!name_matches("%/%", "a/b/c"));
    }
}

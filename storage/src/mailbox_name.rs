//! Mailbox naming rules: `/` is the hierarchy separator, `Inbox` is matched
//! case-insensitively and stored as `Inbox`, names are NFC, and no element is
//! empty, `.` or `..` (the same rules as mox).

use unicode_normalization::UnicodeNormalization;

use crate::error::{Result, StoreError};

/// The hierarchy separator (RFC 9051 5.1.1: a server chooses one).
pub const SEPARATOR: char = '/';

/// The canonical spelling of the inbox.
pub const INBOX: &str = "Inbox";

/// Longest accepted name in bytes.
pub const MAX_NAME_LEN: usize = 1000;

fn invalid(name: &str, reason: &'static str) -> StoreError {
    StoreError::InvalidMailboxName {
        name: name.to_string(),
        reason,
    }
}

/// Check a mailbox name and return its normalised form: NFC, and a first
/// element equal to "inbox" in any case replaced by `Inbox`.
///
/// RFC 9051 5.1: "INBOX" is case-insensitive; other names are case-sensitive.
pub fn normalize(name: &str) -> Result<String> {
    let nfc: String = name.nfc().collect();
    if nfc.is_empty() {
        return Err(invalid(name, "empty name"));
    }
    if nfc.len() > MAX_NAME_LEN {
        return Err(invalid(name, "name too long"));
    }
    if nfc.chars().any(|c| c.is_control()) {
        return Err(invalid(name, "contains a control character"));
    }
    if nfc.contains(['*', '%']) {
        // RFC 9051 6.3.9: these are LIST wildcards.
        return Err(invalid(name, "contains a wildcard (* or %)"));
    }
    if nfc.starts_with(SEPARATOR) {
        return Err(invalid(name, "starts with /"));
    }
    if nfc.ends_with(SEPARATOR) {
        return Err(invalid(name, "ends with /"));
    }
    let mut out = String::with_capacity(nfc.len());
    for (i, elem) in nfc.split(SEPARATOR).enumerate() {
        match elem {
            "" => return Err(invalid(name, "has an empty hierarchy element (//)")),
            "." | ".." => return Err(invalid(name, "has a . or .. hierarchy element")),
            _ => {}
        }
        if i == 0 {
            if elem.eq_ignore_ascii_case(INBOX) {
                out.push_str(INBOX);
            } else {
                out.push_str(elem);
            }
        } else {
            out.push(SEPARATOR);
            out.push_str(elem);
        }
    }
    Ok(out)
}

/// Whether a normalised name is the inbox.
pub fn is_inbox(normalized: &str) -> bool {
    normalized == INBOX
}

/// The names of all ancestors of a normalised name, outermost first
/// (`a/b/c` → `a`, `a/b`).
pub fn parents(normalized: &str) -> Vec<&str> {
    normalized
        .match_indices(SEPARATOR)
        .filter_map(|(i, _)| normalized.get(..i))
        .collect()
}

/// Whether `child` is strictly below `parent` in the hierarchy.
pub fn is_descendant(child: &str, parent: &str) -> bool {
    child.len() > parent.len()
        && child.starts_with(parent)
        && child.as_bytes().get(parent.len()) == Some(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive_only_as_first_element() {
        assert_eq!(normalize("INBOX").unwrap(), "Inbox");
        assert_eq!(normalize("inbox/Sub").unwrap(), "Inbox/Sub");
        assert_eq!(normalize("a/inbox").unwrap(), "a/inbox");
        assert_eq!(normalize("Inboxes").unwrap(), "Inboxes");
    }

    #[test]
    fn nfc() {
        // "e" + combining acute becomes U+00E9.
        assert_eq!(normalize("caf\u{65}\u{301}").unwrap(), "caf\u{e9}");
    }

    #[test]
    fn rejects() {
        for (n, why) in [
            ("", "empty name"),
            ("/a", "starts with /"),
            ("a/", "ends with /"),
            ("a//b", "has an empty hierarchy element (//)"),
            ("a/./b", "has a . or .. hierarchy element"),
            ("..", "has a . or .. hierarchy element"),
            ("a\tb", "contains a control character"),
            ("a*", "contains a wildcard (* or %)"),
        ] {
            match normalize(n) {
                Err(StoreError::InvalidMailboxName { name, reason }) => {
                    assert_eq!((name.as_str(), reason), (n, why));
                }
                other => panic!("{n:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn hierarchy() {
        assert_eq!(parents("a/b/c"), vec!["a", "a/b"]);
        assert!(parents("a").is_empty());
        assert!(is_descendant("a/b", "a"));
        assert!(!is_descendant("ab", "a"));
        assert!(!is_descendant("a", "a"));
    }
}

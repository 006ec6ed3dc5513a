//! One file per command: the behaviour behind what
//! `moxide_proto::imap::cmd` parses. Each `run` completes its command with
//! a tagged response (or a continuation for IDLE/AUTHENTICATE/APPEND).

pub(crate) mod append;
pub(crate) mod authenticate;
pub(crate) mod capability;
pub(crate) mod close;
pub(crate) mod compress;
pub(crate) mod copy;
pub(crate) mod create;
pub(crate) mod delete;
pub(crate) mod enable;
pub(crate) mod expunge;
pub(crate) mod fetch;
pub(crate) mod fetch_body;
pub(crate) mod fetch_fast;
pub(crate) mod fetch_items;
pub(crate) mod id;
pub(crate) mod idle;
pub(crate) mod list;
pub(crate) mod login;
pub(crate) mod r#move;
pub(crate) mod namespace;
pub(crate) mod noop_check_logout;
pub(crate) mod quota;
pub(crate) mod rename;
pub(crate) mod replace;
pub(crate) mod search;
pub(crate) mod search_eval;
pub(crate) mod select;
pub(crate) mod sort;
pub(crate) mod starttls;
pub(crate) mod status;
pub(crate) mod store;
pub(crate) mod subscribe;
pub(crate) mod thread;

use moxide_proto::imap::core::Mailbox;
use moxide_storage::mailbox_name;

/// The name a stored mailbox goes out as. Storage spells the inbox
/// `Inbox`; the client sees `INBOX` (RFC 9051 5.1), and the names below it
/// carry the same spelling of the prefix (`INBOX/child`), as Dovecot does.
/// Names from the client find them in any case (see [`storage_name`]).
pub(crate) fn wire_name(stored: &str) -> Mailbox {
    match stored.strip_prefix(mailbox_name::INBOX) {
        Some(rest) if rest.is_empty() || rest.starts_with(mailbox_name::SEPARATOR) => {
            Mailbox::new(format!("INBOX{rest}"))
        }
        _ => Mailbox::new(stored),
    }
}

/// The storage name for a mailbox name from the client, or None when it is
/// not a valid name.
pub(crate) fn storage_name(m: &Mailbox) -> Option<String> {
    let name = m.as_str().trim_end_matches(mailbox_name::SEPARATOR);
    mailbox_name::normalize(name).ok()
}

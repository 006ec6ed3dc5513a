//! QUOTA (RFC 9208): one quota root "" per account with the STORAGE
//! resource in KiB; SETQUOTA is refused (limits are set by the admin).

use moxide_proto::imap::core::{Atom, Mailbox, Tag};
use moxide_proto::imap::resp::{Code, Data, QuotaResource};

use crate::imap::Session;
use crate::imap::cmd::storage_name;

/// `* QUOTA "" (STORAGE used limit)` when the account has a limit.
fn send_quota(s: &mut Session) -> Result<bool, moxide_storage::StoreError> {
    let Some(acct) = s.account() else {
        return Ok(false);
    };
    let q = acct.quota()?;
    if let (Some(limit), Ok(name)) = (q.limit, Atom::try_from("STORAGE")) {
        s.data(Data::Quota {
            root: String::new(),
            resources: vec![QuotaResource {
                name,
                usage: q.usage.div_ceil(1024),
                limit: limit / 1024,
            }],
        });
    }
    Ok(true)
}

/// GETQUOTA root (RFC 9208 4.2).
pub(crate) fn getquota(s: &mut Session, tag: Tag, root: &str) {
    if !root.is_empty() {
        return s.no(tag, Some(Code::NonExistent), "no such quota root");
    }
    match send_quota(s) {
        Ok(_) => s.ok(tag, None, "GETQUOTA completed"),
        Err(e) => s.store_error(tag, e, "GETQUOTA"),
    }
}

/// GETQUOTAROOT mailbox (RFC 9208 4.3).
pub(crate) fn getquotaroot(s: &mut Session, tag: Tag, m: &Mailbox) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(name) = storage_name(m) else {
        return s.no(tag, Some(Code::NonExistent), "no such mailbox");
    };
    if let Err(e) = acct.mailbox(&name) {
        return s.store_error(tag, e, "GETQUOTAROOT");
    }
    s.data(Data::QuotaRoot {
        mailbox: m.clone(),
        roots: vec![String::new()],
    });
    match send_quota(s) {
        Ok(_) => s.ok(tag, None, "GETQUOTAROOT completed"),
        Err(e) => s.store_error(tag, e, "GETQUOTAROOT"),
    }
}

/// SETQUOTA: not allowed to users.
pub(crate) fn setquota(s: &mut Session, tag: Tag) {
    s.no(tag, Some(Code::NoPerm), "quota is set by the administrator");
}

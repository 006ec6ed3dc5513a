//! QUOTA (RFC 9208): an account with a storage limit has one quota root,
//! "", with the STORAGE resource in KiB; an account without a limit has no
//! quota root at all. SETQUOTA is refused (limits are set by the admin).

use moxide_proto::imap::core::{Atom, Mailbox, Tag};
use moxide_proto::imap::resp::{Code, Data, QuotaResource};
use moxide_storage::{Account, StoreError};

use crate::imap::Session;
use crate::imap::cmd::storage_name;

/// The one quota root of an account with a limit.
const ROOT: &str = "";

/// The `QUOTA ""` response of an account, None when it has no limit (and
/// so no quota root).
fn quota_data(acct: &Account) -> Result<Option<Data>, StoreError> {
    let q = acct.quota()?;
    let (Some(limit), Ok(name)) = (q.limit, Atom::try_from("STORAGE")) else {
        return Ok(None);
    };
    Ok(Some(Data::Quota {
        root: ROOT.to_string(),
        resources: vec![QuotaResource {
            name,
            usage: q.usage.div_ceil(1024),
            limit: limit / 1024,
        }],
    }))
}

/// GETQUOTA root (RFC 9208 4.2): NO for a root that does not exist.
pub(crate) fn getquota(s: &mut Session, tag: Tag, root: &str) {
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    if root != ROOT {
        return s.no(tag, Some(Code::NonExistent), "no such quota root");
    }
    match quota_data(&acct) {
        Ok(Some(d)) => {
            s.data(d);
            s.ok(tag, None, "GETQUOTA completed");
        }
        Ok(None) => s.no(tag, Some(Code::NonExistent), "no such quota root"),
        Err(e) => s.store_error(tag, e, "GETQUOTA"),
    }
}

/// GETQUOTAROOT mailbox (RFC 9208 4.3): the QUOTAROOT response, then a
/// QUOTA response for each root it lists (RFC 9208 4.3.2).
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
    let quota = match quota_data(&acct) {
        Ok(q) => q,
        Err(e) => return s.store_error(tag, e, "GETQUOTAROOT"),
    };
    let roots = match quota {
        Some(_) => vec![ROOT.to_string()],
        None => Vec::new(),
    };
    s.data(Data::QuotaRoot {
        mailbox: m.clone(),
        roots,
    });
    if let Some(d) = quota {
        s.data(d);
    }
    s.ok(tag, None, "GETQUOTAROOT completed")
}

/// SETQUOTA: not allowed to users.
pub(crate) fn setquota(s: &mut Session, tag: Tag) {
    s.no(tag, Some(Code::NoPerm), "quota is set by the administrator");
}

//! `moxide config account …`: accounts and their addresses, passwords and
//! quotas, in the store. Each function takes the store (opened by the
//! caller, with the server stopped) and returns the text to print or an
//! error message naming the account or address at fault and what to do.
//!
//! With a configuration (`--config`), addresses must be in one of its
//! domains ([`Domains`]); the localserve directory (`--dir`) takes any.

use moxide_storage::{NewAccount, Store, StoreError};

use crate::config::Domains;

/// Why an account command failed; the text is for the admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AccountError(pub String);

fn store_err(what: &str) -> impl Fn(StoreError) -> AccountError + '_ {
    move |e| match e {
        StoreError::NoSuchAccount(n) => AccountError(format!(
            "no account {n:?} (`moxide config account list` shows the accounts)"
        )),
        StoreError::AccountExists(n) => {
            AccountError(format!("account {n:?} exists already; pick another name"))
        }
        StoreError::AddressInUse { address, account } => AccountError(format!(
            "address {address} belongs to account {account:?} already; remove it there first (`account rmaddr {address}`)"
        )),
        other => AccountError(format!("{what}: {other}")),
    }
}

/// Checks an address (`local@domain`) and returns it in canonical form:
/// lower case, the domain in A-labels (a U-label domain is converted).
/// With `domains`, the domain must be one of them.
pub fn check_address(address: &str, domains: Option<&Domains>) -> Result<String, AccountError> {
    let bad = |why: &str| AccountError(format!("{address:?} is not an email address: {why}"));
    let (local, domain) = address.rsplit_once('@').ok_or_else(|| bad("no @"))?;
    if local.is_empty() {
        return Err(bad("empty local part"));
    }
    if local.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("space or control character in the local part"));
    }
    let domain = crate::config::domain_name(domain).map_err(|m| bad(&m))?;
    if let Some(d) = domains
        && !d.is_local(&domain)
    {
        return Err(AccountError(format!(
            "{domain} is not a configured domain; add [domains.\"{domain}\"] to {} first",
            d.path.display()
        )));
    }
    Ok(format!("{}@{domain}", local.to_lowercase()))
}

/// Checks a password read from standard input: its first line, without
/// the line end; must not be empty.
pub fn password_from_input(input: &[u8]) -> Result<String, AccountError> {
    let text = std::str::from_utf8(input)
        .map_err(|_| AccountError("the password on standard input is not UTF-8".into()))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(AccountError(
            "empty password on standard input; write the password as its first line".into(),
        ));
    }
    Ok(line.to_string())
}

/// `account add NAME ADDRESS`: a new account with the usual mailboxes
/// (Inbox, Sent, Archive, Trash, Drafts, Junk) and optionally a password.
pub fn add(
    store: &Store,
    name: &str,
    address: &str,
    password: Option<&str>,
    domains: Option<&Domains>,
) -> Result<String, AccountError> {
    let address = check_address(address, domains)?;
    let new = NewAccount {
        addresses: vec![address.clone()],
        password: password.map(str::to_string),
        quota: 0,
        default_mailboxes: true,
    };
    store
        .create_account(name, new)
        .map_err(store_err("creating the account"))?;
    Ok(format!(
        "added account {name:?} with address {address}{}\n",
        if password.is_some() {
            ""
        } else {
            " (no password: set one with `account passwd` before logging in)"
        }
    ))
}

/// The quota column: `default`, `unlimited` or bytes.
fn quota_text(q: i64) -> String {
    match q {
        0 => "default".into(),
        q if q < 0 => "unlimited".into(),
        q => q.to_string(),
    }
}

/// The login column: `enabled`, or `disabled: MESSAGE`.
fn login_text(disabled: Option<&str>) -> String {
    match disabled {
        None => "enabled".into(),
        Some(m) => format!("disabled: {m}"),
    }
}

/// `account list`: one tab-separated line per account under a header;
/// the last column is `enabled` or `disabled: MESSAGE`.
pub fn list(store: &Store) -> Result<String, AccountError> {
    let mut out = String::from("account\tquota\tpassword\taddresses\tlogin\n");
    for name in store
        .account_names()
        .map_err(store_err("listing accounts"))?
    {
        let s = store
            .account(&name)
            .and_then(|a| a.settings())
            .map_err(store_err("reading the account"))?;
        out.push_str(&format!(
            "{name}\t{}\t{}\t{}\t{}\n",
            quota_text(s.quota),
            if s.has_password { "set" } else { "none" },
            s.addresses.join(","),
            login_text(s.login_disabled.as_deref())
        ));
    }
    Ok(out)
}

/// `account rm NAME`: removes the account with all its mail.
pub fn remove(store: &Store, name: &str) -> Result<String, AccountError> {
    let addresses = store
        .remove_account(name)
        .map_err(store_err("removing the account"))?;
    Ok(format!(
        "removed account {name:?} with its messages and addresses {}\n",
        addresses.join(", ")
    ))
}

/// `account passwd NAME`.
pub fn set_password(store: &Store, name: &str, password: &str) -> Result<String, AccountError> {
    store
        .account(name)
        .and_then(|a| a.set_password(password))
        .map_err(store_err("setting the password"))?;
    Ok(format!("password of account {name:?} set\n"))
}

/// `account addaddr NAME ADDRESS`.
pub fn add_address(
    store: &Store,
    name: &str,
    address: &str,
    domains: Option<&Domains>,
) -> Result<String, AccountError> {
    let address = check_address(address, domains)?;
    let acct = store
        .account(name)
        .map_err(store_err("opening the account"))?;
    let mut addresses = acct
        .settings()
        .map_err(store_err("reading the account"))?
        .addresses;
    if addresses.contains(&address) {
        return Err(AccountError(format!(
            "account {name:?} has address {address} already"
        )));
    }
    addresses.push(address.clone());
    acct.set_addresses(&addresses)
        .map_err(store_err("adding the address"))?;
    Ok(format!("added address {address} to account {name:?}\n"))
}

/// `account rmaddr ADDRESS`: removes an address from its account; an
/// account keeps at least one.
pub fn remove_address(store: &Store, address: &str) -> Result<String, AccountError> {
    let lower = moxide_proto::dns::address_to_ascii(address);
    let Some(name) = store
        .account_for_address(&lower)
        .map_err(store_err("looking up the address"))?
    else {
        return Err(AccountError(format!(
            "no account has address {lower} (`moxide config account list` shows the addresses)"
        )));
    };
    let acct = store
        .account(&name)
        .map_err(store_err("opening the account"))?;
    let mut addresses = acct
        .settings()
        .map_err(store_err("reading the account"))?
        .addresses;
    addresses.retain(|a| *a != lower);
    if addresses.is_empty() {
        return Err(AccountError(format!(
            "{lower} is the last address of account {name:?}; add another first, or remove the account"
        )));
    }
    acct.set_addresses(&addresses)
        .map_err(store_err("removing the address"))?;
    Ok(format!("removed address {lower} from account {name:?}\n"))
}

/// Parses a quota: bytes with an optional k/m/g/t suffix (powers of
/// 1024), `unlimited`, or `default` (the store's default); as stored:
/// 0 default, negative unlimited.
pub fn parse_quota(text: &str) -> Result<i64, AccountError> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "unlimited" => return Ok(-1),
        "default" => return Ok(0),
        _ => {}
    }
    let (digits, mult): (&str, i64) = match t.char_indices().last() {
        Some((i, 'k')) => (t.get(..i).unwrap_or(""), 1 << 10),
        Some((i, 'm')) => (t.get(..i).unwrap_or(""), 1 << 20),
        Some((i, 'g')) => (t.get(..i).unwrap_or(""), 1 << 30),
        Some((i, 't')) => (t.get(..i).unwrap_or(""), 1 << 40),
        _ => (t.as_str(), 1),
    };
    let bad = || {
        AccountError(format!(
            "quota {text:?}: give bytes (e.g. 1073741824 or 1g; suffixes k, m, g, t), \"unlimited\" or \"default\""
        ))
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let q = n.checked_mul(mult).ok_or_else(bad)?;
    if q == 0 {
        return Err(AccountError(format!(
            "quota {text:?} is zero; use \"default\" for the store's default"
        )));
    }
    Ok(q)
}

/// Longest message of `account disable`, in bytes.
pub const MAX_DISABLED_MESSAGE: usize = 200;

/// Checks the message of `account disable`: 1 to [`MAX_DISABLED_MESSAGE`]
/// printable ASCII characters (it goes into IMAP and SMTP reply lines).
pub fn check_disabled_message(message: &str) -> Result<&str, AccountError> {
    let m = message.trim();
    if m.is_empty() {
        return Err(AccountError(
            "the message is empty; say why, e.g. --message \"account moved to mail.example.org\""
                .into(),
        ));
    }
    if m.len() > MAX_DISABLED_MESSAGE || !m.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err(AccountError(format!(
            "the message must be at most {MAX_DISABLED_MESSAGE} printable ASCII characters (it is sent in IMAP and SMTP replies)"
        )));
    }
    Ok(m)
}

/// `account disable NAME --message TEXT` (mox's `LoginDisabled`): logins
/// over IMAP and SMTP submission, by password or TLS client key, are
/// refused with `message`; mail for the account's addresses is still
/// delivered. Sessions already logged in continue.
pub fn disable(store: &Store, name: &str, message: &str) -> Result<String, AccountError> {
    let m = check_disabled_message(message)?;
    store
        .account(name)
        .and_then(|a| a.set_login_disabled(Some(m)))
        .map_err(store_err("disabling login"))?;
    Ok(format!(
        "login of account {name:?} disabled: {m} (mail is still delivered; sessions logged in now continue)\n"
    ))
}

/// `account enable NAME`: allows logins again.
pub fn enable(store: &Store, name: &str) -> Result<String, AccountError> {
    let acct = store
        .account(name)
        .map_err(store_err("opening the account"))?;
    let was = acct
        .login_disabled()
        .map_err(store_err("reading the account"))?;
    if was.is_none() {
        return Ok(format!("login of account {name:?} is enabled already\n"));
    }
    acct.set_login_disabled(None)
        .map_err(store_err("enabling login"))?;
    Ok(format!("login of account {name:?} enabled\n"))
}

/// `account quota NAME BYTES|unlimited|default`.
pub fn set_quota(store: &Store, name: &str, quota: &str) -> Result<String, AccountError> {
    let q = parse_quota(quota)?;
    store
        .account(name)
        .and_then(|a| a.set_quota(q))
        .map_err(store_err("setting the quota"))?;
    Ok(format!(
        "quota of account {name:?} set to {}\n",
        quota_text(q)
    ))
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;

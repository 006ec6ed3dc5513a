//! LOGIN (RFC 9051 6.2.3) and the account, password and client-key checks
//! shared with AUTHENTICATE and the PREAUTH greeting. Failed attempts are
//! answered after a delay that grows per client IP (see `login_limit`);
//! every attempt is recorded in the store's login attempts.
//!
//! TLS client keys (issue 8): on a connection with a known client key,
//! password logins succeed only for the key's account; EXTERNAL logs in as
//! the key's login address or, with an authorisation identity, as any
//! address of the key's account.

use std::time::Duration;

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Code, Response, Status};
use moxide_proto::sasl::PasswordSecrets;
use moxide_storage::{Account, LoginAttempt, Store, StoreError, TlsPubKey};

use crate::imap::Session;

/// What a login attempt was, for the record and the logs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt<'a> {
    /// `LOGIN`, the SASL mechanism name, or `PREAUTH`.
    pub(crate) mechanism: &'a str,
    /// The user name or address given (empty when none was).
    pub(crate) username: &'a str,
    /// The account the name refers to, when known.
    pub(crate) account: Option<&'a str>,
}

/// The account a login name refers to: an email address of an account, or
/// an account name. `None` when there is none.
pub(crate) fn find_account(store: &Store, username: &str) -> Result<Option<Account>, StoreError> {
    let name = if username.contains('@') {
        match store.account_for_address(username)? {
            Some(n) => n,
            None => return Ok(None),
        }
    } else {
        username.to_string()
    };
    match store.account(&name) {
        Ok(a) => Ok(Some(a)),
        Err(StoreError::NoSuchAccount(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The account's stored password secrets (None without a password).
pub(crate) fn sasl_secrets(acct: &Account) -> Result<Option<PasswordSecrets>, StoreError> {
    acct.password_secrets()
}

/// Checks a plaintext password against the stored secrets.
pub(crate) fn verify_password(acct: &Account, password: &str) -> Result<bool, StoreError> {
    Ok(sasl_secrets(acct)?.is_some_and(|s| s.verify_plain(password)))
}

/// The registered key of this connection's TLS client certificate, if the
/// client presented one and it is known.
pub(crate) fn known_key(s: &Session) -> Result<Option<TlsPubKey>, StoreError> {
    match (&s.peer.client_key, s.peer.tls) {
        (Some(fp), true) => s.store.tls_pubkey(fp),
        _ => Ok(None),
    }
}

/// Records an attempt in the store; a failure to record is logged, never
/// fatal to the login.
pub(crate) fn record(s: &Session, a: Attempt<'_>, failure: &str) {
    let attempt = LoginAttempt {
        unix: s.unix_now(),
        account: a.account.map(str::to_string),
        address: a.username.to_string(),
        key_fingerprint: s.peer.client_key.clone(),
        mechanism: a.mechanism.to_string(),
        protocol: "imap".to_string(),
        remote_ip: s.peer.ip.to_string(),
        success: failure.is_empty(),
        failure: failure.to_string(),
    };
    if let Err(e) = s.store.record_login_attempt(&attempt) {
        tracing::error!(error = %e, "recording imap login attempt");
    }
}

/// Completes a successful password or EXTERNAL authentication: on a
/// connection with a known client key the account must be the key's.
pub(crate) fn succeed(s: &mut Session, tag: Tag, acct: Account, what: &str, a: Attempt<'_>) {
    let a = Attempt {
        account: Some(acct.name()),
        ..a
    };
    match known_key(s) {
        Ok(Some(key)) if key.account != acct.name() => {
            tracing::info!(account = acct.name(), key_account = %key.account, "imap login for another account than the client key's");
            return fail(s, tag, a, "account differs from the TLS client key's");
        }
        Ok(_) => {}
        Err(e) => return s.store_error(tag, e, "client key lookup"),
    }
    // Checked after the credentials, so the message reaches only who knows
    // them. No AUTHENTICATIONFAILED code: clients would ask for another
    // password (as mox).
    match acct.login_disabled() {
        Ok(None) => {}
        Ok(Some(message)) => {
            record(s, a, "login disabled");
            tracing::info!(account = acct.name(), ip = %s.peer.ip, mechanism = a.mechanism, "imap login refused: login disabled");
            return s.no(tag, None, &format!("login disabled for account: {message}"));
        }
        Err(e) => return s.store_error(tag, e, "login-disabled lookup"),
    }
    s.cfg.login_limit.succeeded(s.peer.ip);
    record(s, a, "");
    tracing::info!(account = acct.name(), ip = %s.peer.ip, mechanism = a.mechanism, "imap login");
    s.login_as(acct);
    let caps = s
        .cfg
        .capabilities(s.peer.tls, true, s.peer.tls_exporter.is_some());
    s.send(Response::Status(Status::ok(
        Some(tag),
        Some(Code::Capability(caps)),
        format!("{what} completed"),
    )));
}

/// Answers a failed login with NO [AUTHENTICATIONFAILED], after the delay
/// the client's earlier failures call for, and records it.
pub(crate) fn fail(s: &mut Session, tag: Tag, a: Attempt<'_>, why: &str) {
    let delay: Duration = s.cfg.login_limit.failed(s.peer.ip, s.now);
    record(s, a, why);
    tracing::info!(ip = %s.peer.ip, ?delay, mechanism = a.mechanism, why, "imap login failed");
    let resp = Response::Status(Status::no(
        Some(tag),
        Some(Code::AuthenticationFailed),
        "invalid credentials",
    ));
    let at = s.now + delay;
    s.send_delayed(at, resp);
}

/// AUTHENTICATE EXTERNAL's outcome (RFC 4422 appendix A): `fingerprint`
/// is the connection's key, `authzid` the identity asked for. Without an
/// identity the key's login address is used; with one it must be an
/// address of the key's account.
pub(crate) fn external(s: &mut Session, tag: Tag, fingerprint: &str, authzid: Option<&str>) {
    let username = authzid.unwrap_or("");
    let a = Attempt {
        mechanism: "EXTERNAL",
        username,
        account: None,
    };
    let key = match s.store.tls_pubkey(fingerprint) {
        Ok(k) => k,
        Err(e) => return s.store_error(tag, e, "client key lookup"),
    };
    let Some(key) = key else {
        return fail(s, tag, a, "unknown TLS client key");
    };
    let a = Attempt {
        account: Some(&key.account),
        username: authzid.unwrap_or(&key.login_address),
        ..a
    };
    // The identity (or the key's login address, which may have been
    // removed from the account since) must be an address of the account.
    let address = authzid.unwrap_or(&key.login_address);
    let owner = match s.store.account_for_address(address) {
        Ok(o) => o,
        Err(e) => return s.store_error(tag, e, "EXTERNAL address lookup"),
    };
    if owner.as_deref() != Some(key.account.as_str()) {
        return fail(s, tag, a, "identity is not an address of the key's account");
    }
    match s.store.account(&key.account) {
        Ok(acct) => succeed(s, tag, acct, "AUTHENTICATE", a),
        Err(StoreError::NoSuchAccount(_)) => fail(s, tag, a, "account of the key is gone"),
        Err(e) => s.store_error(tag, e, "EXTERNAL account"),
    }
}

/// The account a PREAUTH greeting logs in to: the known client key's,
/// unless the key asks for no IMAP preauth. Called for implicit TLS only
/// (RFC 9051 7.1.4: PREAUTH is a greeting; STARTTLS comes too late).
pub(crate) fn preauth_account(s: &Session) -> Option<(Account, TlsPubKey)> {
    let key = match known_key(s) {
        Ok(Some(k)) => k,
        Ok(None) => return None,
        Err(e) => {
            tracing::error!(error = %e, "client key lookup for PREAUTH");
            return None;
        }
    };
    if key.no_imap_preauth {
        return None;
    }

    let owner = s.store.account_for_address(&key.login_address);
    if !matches!(owner, Ok(Some(ref o)) if *o == key.account) {
        return None;
    }
    match s.store.account(&key.account) {
        // Disabled (or unreadable): no PREAUTH; a login then gets the
        // admin's message.
        Ok(acct) if !matches!(acct.login_disabled(), Ok(None)) => {
            tracing::info!(account = %key.account, "no PREAUTH: login disabled");
            None
        }
        Ok(acct) => Some((acct, key)),
        Err(e) => {
            tracing::error!(error = %e, account = %key.account, "account of client key");
            None
        }
    }
}

/// Whether plaintext passwords may be sent on this connection.
pub(crate) fn plaintext_allowed(s: &Session) -> bool {
    s.peer.tls || s.cfg.allow_plaintext_auth
}

/// LOGIN user password.
pub(crate) fn run(s: &mut Session, tag: Tag, username: &str, password: &str) {
    if !plaintext_allowed(s) {
        // RFC 9051 6.2.3: LOGINDISABLED is advertised without TLS.
        return s.no(tag, Some(Code::PrivacyRequired), "LOGIN needs TLS");
    }
    let a = Attempt {
        mechanism: "LOGIN",
        username,
        account: None,
    };
    let acct = match find_account(&s.store, username) {
        Ok(a) => a,
        Err(e) => return s.store_error(tag, e, "LOGIN account lookup"),
    };
    let Some(acct) = acct else {
        return fail(s, tag, a, "unknown user");
    };
    let name = acct.name().to_string();
    let a = Attempt {
        account: Some(&name),
        ..a
    };
    match verify_password(&acct, password) {
        Ok(true) => succeed(s, tag, acct, "LOGIN", a),
        Ok(false) => fail(s, tag, a, "bad password"),
        Err(e) => s.store_error(tag, e, "LOGIN password check"),
    }
}

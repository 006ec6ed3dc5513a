//! LOGIN (RFC 9051 6.2.3) and the account and password checks shared with
//! AUTHENTICATE. Failed attempts are answered after a delay that grows per
//! client IP (see `login_limit`).

use std::time::Duration;

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Code, Response, Status};
use moxide_proto::sasl::PasswordSecrets;
use moxide_storage::{Account, Store, StoreError};

use crate::imap::Session;

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

/// Completes a successful login or authentication.
pub(crate) fn succeed(s: &mut Session, tag: Tag, acct: Account, what: &str) {
    s.cfg.login_limit.succeeded(s.peer.ip);
    tracing::info!(account = acct.name(), ip = %s.peer.ip, "imap login");
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
/// the client's earlier failures call for.
pub(crate) fn fail(s: &mut Session, tag: Tag) {
    let delay: Duration = s.cfg.login_limit.failed(s.peer.ip, s.now);
    tracing::info!(ip = %s.peer.ip, ?delay, "imap login failed");
    let resp = Response::Status(Status::no(
        Some(tag),
        Some(Code::AuthenticationFailed),
        "invalid credentials",
    ));
    let at = s.now + delay;
    s.send_delayed(at, resp);
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
    let acct = match find_account(&s.store, username) {
        Ok(a) => a,
        Err(e) => return s.store_error(tag, e, "LOGIN account lookup"),
    };
    let Some(acct) = acct else {
        return fail(s, tag);
    };
    match verify_password(&acct, password) {
        Ok(true) => succeed(s, tag, acct, "LOGIN"),
        Ok(false) => fail(s, tag),
        Err(e) => s.store_error(tag, e, "LOGIN password check"),
    }
}

//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd` in one message.

use super::{PasswordSecrets, SaslError, Step, check_password, utf8};
use crate::secret::Secret;

/// PLAIN server state.
pub(super) struct Plain {
    /// Identity and password held until the secrets arrive.
    pending: Option<(String, Option<String>, Secret<String>)>,
}

impl Plain {
    pub(super) fn new() -> Plain {
        Plain { pending: None }
    }

    /// Parses the client message (RFC 4616 2).
    pub(super) fn step(&mut self, data: &[u8]) -> Step {
        if self.pending.is_some() {
            return Step::Failure(SaslError::OutOfOrder);
        }
        match parse(data) {
            Ok((authzid, authcid, password)) => {
                let step = Step::NeedSecrets {
                    authcid: authcid.clone(),
                    authzid: authzid.clone(),
                };
                self.pending = Some((authcid, authzid, password));
                step
            }
            Err(e) => Step::Failure(e),
        }
    }

    pub(super) fn provide_secrets(&mut self, secrets: Option<PasswordSecrets>) -> Step {
        match self.pending.take() {
            Some((authcid, authzid, password)) => {
                check_password(secrets, &password, authcid, authzid)
            }
            None => Step::Failure(SaslError::OutOfOrder),
        }
    }
}

/// message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 2); authcid
/// and passwd must not be empty. An empty authzid means none.
fn parse(data: &[u8]) -> Result<(Option<String>, String, Secret<String>), SaslError> {
    let mut fields = data.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::Malformed(
            "PLAIN needs exactly three NUL-separated fields",
        ));
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed("empty PLAIN authcid or password"));
    }
    let authzid = if authzid.is_empty() {
        None
    } else {
        Some(utf8(authzid)?)
    };
    let password = Secret::new(utf8(password)?);
    Ok((authzid, utf8(authcid)?, password))
}

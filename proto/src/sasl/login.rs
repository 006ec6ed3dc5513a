//! LOGIN (draft-murchison-sasl-login-00): the server asks `Username:` and
//! `Password:`, the client answers each in turn.

use super::{PasswordSecrets, SaslError, Step, check_password, utf8};
use crate::secret::Secret;

/// The username challenge (draft-murchison-sasl-login 2.1).
pub const USERNAME_CHALLENGE: &[u8] = b"Username:";
/// The password challenge.
pub const PASSWORD_CHALLENGE: &[u8] = b"Password:";

enum State {
    WantUsername,
    WantPassword(String),
    WantSecrets(String, Secret<String>),
    Done,
}

/// LOGIN server state.
pub(super) struct Login {
    state: State,
}

impl Login {
    pub(super) fn new() -> Login {
        Login {
            state: State::WantUsername,
        }
    }

    /// Without an initial response the server asks for the username.
    pub(super) fn start(&mut self) -> Step {
        Step::Challenge(USERNAME_CHALLENGE.to_vec())
    }

    /// Takes the username (possibly as initial response), then the password.
    pub(super) fn step(&mut self, data: &[u8]) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::WantUsername => match utf8(data) {
                Ok(user) if !user.is_empty() => {
                    self.state = State::WantPassword(user);
                    Step::Challenge(PASSWORD_CHALLENGE.to_vec())
                }
                Ok(_) => Step::Failure(SaslError::Malformed("empty LOGIN username")),
                Err(e) => Step::Failure(e),
            },
            State::WantPassword(user) => match utf8(data) {
                Ok(password) => {
                    self.state = State::WantSecrets(user.clone(), Secret::new(password));
                    Step::NeedSecrets {
                        authcid: user,
                        authzid: None,
                    }
                }
                Err(e) => Step::Failure(e),
            },
            State::WantSecrets(..) | State::Done => Step::Failure(SaslError::OutOfOrder),
        }
    }

    pub(super) fn provide_secrets(&mut self, secrets: Option<PasswordSecrets>) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::WantSecrets(user, password) => check_password(secrets, &password, user, None),
            _ => Step::Failure(SaslError::OutOfOrder),
        }
    }
}

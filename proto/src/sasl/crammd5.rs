//! CRAM-MD5 (RFC 2195): the server sends a unique challenge, the client
//! answers `user SP hex(HMAC-MD5(password, challenge))`.

use super::secrets::constant_time_eq;
use super::{PasswordSecrets, SaslError, Step, utf8};

enum State {
    Start,
    WantResponse,
    WantSecrets(String, [u8; 16]),
    Done,
}

/// CRAM-MD5 server state.
pub(super) struct CramMd5 {
    challenge: Vec<u8>,
    state: State,
}

impl CramMd5 {
    /// `challenge` is the caller's unique challenge string.
    pub(super) fn new(challenge: Vec<u8>) -> CramMd5 {
        CramMd5 {
            challenge,
            state: State::Start,
        }
    }

    pub(super) fn start(&mut self) -> Step {
        match self.state {
            State::Start => {
                self.state = State::WantResponse;
                Step::Challenge(self.challenge.clone())
            }
            _ => Step::Failure(SaslError::OutOfOrder),
        }
    }

    /// Parses `user SP digest` (RFC 2195 2; the user name may contain
    /// spaces, the digest is the last word: 32 hex digits).
    pub(super) fn step(&mut self, data: &[u8]) -> Step {
        if !matches!(self.state, State::WantResponse) {
            self.state = State::Done;
            return Step::Failure(SaslError::OutOfOrder);
        }
        self.state = State::Done;
        let Some(sp) = data.iter().rposition(|&b| b == b' ') else {
            return Step::Failure(SaslError::Malformed("CRAM-MD5 response without space"));
        };
        let (user, digest) = (
            data.get(..sp).unwrap_or_default(),
            data.get(sp + 1..).unwrap_or_default(),
        );
        let Some(digest) = decode_hex16(digest) else {
            return Step::Failure(SaslError::Malformed("CRAM-MD5 digest is not 32 hex digits"));
        };
        if user.is_empty() {
            return Step::Failure(SaslError::Malformed("empty CRAM-MD5 username"));
        }
        match utf8(user) {
            Ok(user) => {
                self.state = State::WantSecrets(user.clone(), digest);
                Step::NeedSecrets {
                    authcid: user,
                    authzid: None,
                }
            }
            Err(e) => Step::Failure(e),
        }
    }

    pub(super) fn provide_secrets(&mut self, secrets: Option<PasswordSecrets>) -> Step {
        let State::WantSecrets(user, digest) = std::mem::replace(&mut self.state, State::Done)
        else {
            return Step::Failure(SaslError::OutOfOrder);
        };
        let Some(secrets) = secrets else {
            return Step::Failure(SaslError::UnknownUser);
        };
        let expected = secrets.cram_md5.hmac(&self.challenge);
        if constant_time_eq(&expected, &digest) {
            Step::Success {
                authcid: user,
                authzid: None,
                final_data: None,
            }
        } else {
            Step::Failure(SaslError::BadCredentials)
        }
    }
}

fn decode_hex16(hex: &[u8]) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

//! EXTERNAL (RFC 4422 appendix A): the identity comes from outside the
//! exchange (here: the TLS client certificate's key); the client's one
//! message is the authorisation identity it asks for, possibly empty.

use super::{SaslError, Step, utf8};

/// EXTERNAL server state.
pub(super) struct External {
    /// The identity established by the external channel (the key
    /// fingerprint); `None` when there is none.
    identity: Option<String>,
    done: bool,
}

impl External {
    pub(super) fn new(identity: Option<String>) -> External {
        External {
            identity,
            done: false,
        }
    }

    /// The client's message: `[authz-id]` (RFC 4422 A.1). The outcome is
    /// `Success` with the external identity as `authcid` and the requested
    /// authorisation identity (`None` when empty); the caller checks it.
    pub(super) fn step(&mut self, data: &[u8]) -> Step {
        if self.done {
            return Step::Failure(SaslError::OutOfOrder);
        }
        self.done = true;
        let Some(identity) = self.identity.take() else {
            return Step::Failure(SaslError::NoExternalIdentity);
        };
        let authzid = if data.is_empty() {
            None
        } else {
            match utf8(data) {
                Ok(z) => Some(z),
                Err(e) => return Step::Failure(e),
            }
        };
        Step::Success {
            authcid: identity,
            authzid,
            final_data: None,
        }
    }
}

//! The server secret SASL mechanisms need, shared by IMAP and SMTP.

use moxide_storage::Store;

/// The key SCRAM derives an unknown user's simulated salt from
/// (`MechanismContext::unknown_user_key`): the store's secret, so the salt
/// is the same at every attempt, as a real account's is. If the secret
/// cannot be read, `random` (this exchange's nonce bytes) stands in and
/// the error is logged: an unknown user then gets a different salt each
/// time.
pub(crate) fn unknown_user_key(store: &Store, random: &[u8]) -> Vec<u8> {
    match store.server_secret() {
        Ok(secret) => secret.to_vec(),
        Err(e) => {
            tracing::error!(error = %e, "reading the server secret for SASL");
            random.to_vec()
        }
    }
}

//! Temporary stand-in for `moxide_proto::sasl::secrets::PasswordSecrets`,
//! with the same signatures, until it lands in proto. Only this file and the
//! `use` line in lib.rs change when it does.

use sha2::{Digest, Sha256};

/// Error decoding stored secrets.
#[derive(Debug)]
pub struct StructureError;

/// Password secrets (stand-in: salted SHA-256 only; never the plaintext).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordSecrets {
    bytes: Vec<u8>,
}

impl PasswordSecrets {
    /// Derive secrets from a password and salts.
    pub fn derive(
        password: &str,
        salt_scram256: [u8; 16],
        salt_scram1: [u8; 16],
    ) -> PasswordSecrets {
        let mut h = Sha256::new();
        h.update(salt_scram256);
        h.update(salt_scram1);
        h.update(password.as_bytes());
        let mut bytes = salt_scram256.to_vec();
        bytes.extend_from_slice(&salt_scram1);
        bytes.extend_from_slice(&h.finalize());
        PasswordSecrets { bytes }
    }
    /// Encode.
    pub fn encode(&self) -> Vec<u8> {
        self.bytes.clone()
    }
    /// Decode.
    pub fn decode(b: &[u8]) -> Result<PasswordSecrets, StructureError> {
        if b.len() != 64 {
            return Err(StructureError);
        }
        Ok(PasswordSecrets { bytes: b.to_vec() })
    }
}

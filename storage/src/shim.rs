//! Temporary stand-ins for `moxide_proto::message::MessageStructure` and
//! `moxide_proto::sasl::secrets::PasswordSecrets`, with the same signatures,
//! until those land in proto. Only this file and the `use` lines in lib.rs
//! change when they do.

use sha2::{Digest, Sha256};

/// Parsed structure of a message (stand-in: only the Message-ID).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageStructure {
    message_id: Option<String>,
}

/// Error decoding a stored structure.
#[derive(Debug)]
pub struct StructureError;

impl MessageStructure {
    /// Parse a message; never fails.
    pub fn parse(msg: &[u8]) -> MessageStructure {
        let parsed = mail_parser::MessageParser::new()
            .with_message_ids()
            .parse_headers(msg);
        MessageStructure {
            message_id: parsed.and_then(|m| m.message_id().map(str::to_string)),
        }
    }
    /// Compact encoding.
    pub fn encode(&self) -> Vec<u8> {
        self.message_id.clone().unwrap_or_default().into_bytes()
    }
    /// Decode [`MessageStructure::encode`] output.
    pub fn decode(b: &[u8]) -> Result<MessageStructure, StructureError> {
        let s = std::str::from_utf8(b).map_err(|_| StructureError)?;
        Ok(MessageStructure {
            message_id: (!s.is_empty()).then(|| s.to_string()),
        })
    }
    /// The Message-ID header value.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
}

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

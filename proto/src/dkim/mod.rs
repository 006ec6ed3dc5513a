//! DKIM: signature and key record parsing, canonicalisation, verification
//! and signing (RFC 6376), with ed25519-sha256 (RFC 8463) and the crypto
//! requirements of RFC 8301.
//!
//! Verification is an [`Evaluate`](crate::dns::Evaluate): [`Verifier`] asks
//! for `selector._domainkey.domain` TXT of every signature at once and gives
//! one [`SigResult`] per `DKIM-Signature` header, top to bottom. Signing is a
//! function of the message, the keys and the time ([`Signer`]).
//!
//! Choices (mox does the same unless noted):
//! - rsa-sha1 signatures are verified and reported, never trusted: a valid one
//!   gives [`Status::Policy`] (RFC 8301 3.1, RFC 8601 2.7.1 "policy").
//! - RSA keys must be 1024 to 8192 bits (RFC 8301 3.2); smaller is permerror.
//! - An expired signature (`x=` before the verification time) is permerror.
//! - `l=` larger than the canonical body is permerror.
//! - At most [`MAX_SIGNATURES`] signatures are evaluated; later ones are
//!   reported neutral without lookups, bounding the work a message can cause.

mod canon;
mod error;
mod header;
mod key;
mod record;
mod sign;
mod signature;
mod tags;
mod verify;

pub use canon::{
    BodyHash, Canon, body_hash, canonical_body, canonical_header_relaxed, canonical_header_simple,
};
pub use error::DkimError;
pub use header::{HeaderField, MessageError, select_headers, split_message};
pub use key::{
    KeyError, PrivateKey, PublicKey, generate_ed25519, generate_rsa, pkcs8_pem, rsa_modulus_bits,
};
pub use record::{KeyRecord, KeyType};
pub use sign::{DEFAULT_HEADERS, SignError, Signer, SignerSelector};
pub use signature::{Algorithm, HashAlgorithm, Signature};
pub use verify::{DEFAULT_TIMEOUT, MAX_SIGNATURES, SigResult, Verification, Verifier};

/// ring's random source, re-exported so callers of signing and key
/// generation need no ring dependency of their own.
pub use ring::rand::{SecureRandom, SystemRandom};

use std::fmt;

/// The result of one signature (RFC 8601 2.7.1; "policy" per RFC 8301).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The message has no signature (only for [`Verification::status`]).
    None,
    /// The signature verified with a trusted algorithm and key.
    Pass,
    /// The signature or body hash did not verify.
    Fail,
    /// The signature could not be evaluated for a reason that is not an
    /// error of the signer (too many signatures).
    Neutral,
    /// The signature verified but is not acceptable: rsa-sha1 (RFC 8301).
    Policy,
    /// A DNS failure or timeout: retrying later may succeed.
    TempError,
    /// The signature or key record is unusable: retrying will not help.
    PermError,
}

impl Status {
    /// The lower-case name used in Authentication-Results (RFC 8601).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::None => "none",
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Neutral => "neutral",
            Status::Policy => "policy",
            Status::TempError => "temperror",
            Status::PermError => "permerror",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

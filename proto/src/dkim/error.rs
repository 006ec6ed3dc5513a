//! Why a signature did not pass: every reason a verifier can give, each
//! mapped to its [`Status`].

use super::Status;
use crate::dns::Failure;

/// The reason of a non-pass result. The text says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DkimError {
    // --- DKIM-Signature header (RFC 6376 3.5) -> permerror
    /// The tag list does not follow RFC 6376 3.2.
    #[error("malformed tag list: {0}")]
    TagSyntax(String),
    /// A tag appears twice (RFC 6376 3.2: permerror).
    #[error("duplicate tag {0}=")]
    DuplicateTag(String),
    /// A required tag is missing.
    #[error("missing required tag {0}=")]
    MissingTag(&'static str),
    /// `v=` is not 1.
    #[error("unsupported signature version v={0} (only v=1)")]
    BadVersion(String),
    /// `a=` names an algorithm we do not know.
    #[error("unknown signing algorithm a={0}")]
    UnknownAlgorithm(String),
    /// `b=` or `bh=` (or a key's `p=`) is not base64.
    #[error("{0}= is not valid base64")]
    BadBase64(&'static str),
    /// `c=` is not simple or relaxed.
    #[error("unknown canonicalization c={0}")]
    BadCanonicalization(String),
    /// `q=` has no `dns/txt`.
    #[error("no supported query method in q={0} (only dns/txt)")]
    BadQueryMethod(String),
    /// A tag's value has the wrong form (number, domain, selector, ...).
    #[error("bad value for {tag}=: {value}")]
    BadValue { tag: &'static str, value: String },
    /// `i=` is not in `d=` or a subdomain of it (RFC 6376 3.5).
    #[error("identity i={identity} is not in signing domain d={domain}")]
    IdentityNotInDomain { identity: String, domain: String },
    /// `h=` does not list From (RFC 6376 5.4).
    #[error("h= does not include the From header")]
    FromNotSigned,
    /// `x=` is not after `t=` (RFC 6376 3.5).
    #[error("expiration x={expires} is before signing time t={signed}")]
    ExpiresBeforeSigned { signed: u64, expires: u64 },
    /// `x=` is before the verification time.
    #[error("signature expired at x={expires} (now {now})")]
    Expired { expires: u64, now: u64 },
    /// `l=` exceeds the canonical body length.
    #[error("l={length} is larger than the canonical body ({body} octets)")]
    BodyLengthTooLong { length: u64, body: u64 },
    // --- key record (RFC 6376 3.6.1) -> permerror
    /// No key record at the selector name (RFC 6376 6.1.2).
    #[error("no key record at {0}")]
    NoKeyRecord(String),
    /// The TXT record is not a usable key record.
    #[error("key record {name}: {reason}")]
    BadKeyRecord { name: String, reason: String },
    /// The key record has an empty `p=` (RFC 6376 3.6.1).
    #[error("key revoked (empty p=) at {0}")]
    KeyRevoked(String),
    /// The record's `k=` does not match the signature's `a=`.
    #[error("key type k={record} does not match algorithm a={signature}")]
    KeyTypeMismatch { record: String, signature: String },
    /// The record's `h=` does not allow the signature's hash.
    #[error("key record h={allowed} does not allow hash {hash}")]
    HashNotAllowed { allowed: String, hash: String },
    /// The record's `s=` does not include email.
    #[error("key record s={0} is not for email")]
    ServiceNotEmail(String),
    /// `t=s` and `i=` is in a subdomain of `d=` (RFC 6376 3.6.1).
    #[error("key has t=s but i={identity} is in a subdomain of d={domain}")]
    StrictSubdomain { identity: String, domain: String },
    /// The public key cannot be parsed.
    #[error("bad public key: {0}")]
    BadPublicKey(String),
    /// An RSA key under 1024 bits (RFC 8301 3.2).
    #[error("rsa key of {0} bits is too small (at least 1024, RFC 8301)")]
    KeyTooSmall(usize),
    /// An RSA key over 8192 bits.
    #[error("rsa key of {0} bits is too large (at most 8192)")]
    KeyTooLarge(usize),
    // --- verification -> fail
    /// The body hash differs from `bh=`: the body was changed.
    #[error("body hash does not match bh= (body changed)")]
    BodyHashMismatch,
    /// The signature does not verify with the key.
    #[error("signature does not verify (signed headers changed, or wrong key)")]
    SignatureMismatch,
    // --- policy
    /// rsa-sha1 verified but is not trusted (RFC 8301 3.1).
    #[error("rsa-sha1 signature verified but sha1 is not trusted (RFC 8301)")]
    Sha1NotTrusted,
    // --- neutral
    /// Beyond [`MAX_SIGNATURES`](super::MAX_SIGNATURES).
    #[error("too many signatures in message; not evaluated")]
    TooManySignatures,
    // --- temperror
    /// The key lookup failed.
    #[error("key lookup {name}: {failure}")]
    Dns { name: String, failure: Failure },
    /// The key lookup got no answer before the verifier's deadline.
    #[error("key lookup {0}: no answer before the deadline")]
    Timeout(String),
}

impl DkimError {
    /// The result this reason gives.
    pub fn status(&self) -> Status {
        match self {
            DkimError::BodyHashMismatch | DkimError::SignatureMismatch => Status::Fail,
            DkimError::Sha1NotTrusted => Status::Policy,
            DkimError::TooManySignatures => Status::Neutral,
            DkimError::Dns { .. } | DkimError::Timeout(_) => Status::TempError,
            _ => Status::PermError,
        }
    }
}

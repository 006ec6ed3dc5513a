//! The DKIM-Signature header field (RFC 6376 3.5).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::DkimError;
use super::canon::Canon;
use super::tags::{Tag, colon_list, parse_tags, strip_fws};

/// A hash algorithm of a signature or allowed by a key record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlgorithm {
    Sha1,
    Sha256,
}

impl HashAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha256 => "sha256",
        }
    }
}

/// The signing algorithm, `a=` (RFC 6376 3.3, RFC 8463 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    RsaSha256,
    /// Verified but never trusted (RFC 8301 3.1).
    RsaSha1,
    Ed25519Sha256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::RsaSha1 => "rsa-sha1",
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    pub fn hash(self) -> HashAlgorithm {
        match self {
            Algorithm::RsaSha1 => HashAlgorithm::Sha1,
            Algorithm::RsaSha256 | Algorithm::Ed25519Sha256 => HashAlgorithm::Sha256,
        }
    }

    /// The key type (`k=` of the record) this algorithm needs.
    pub fn key_type(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 | Algorithm::RsaSha1 => "rsa",
            Algorithm::Ed25519Sha256 => "ed25519",
        }
    }

    fn parse(s: &str) -> Option<Algorithm> {
        Some(match s.to_ascii_lowercase().as_str() {
            "rsa-sha256" => Algorithm::RsaSha256,
            "rsa-sha1" => Algorithm::RsaSha1,
            "ed25519-sha256" => Algorithm::Ed25519Sha256,
            _ => return None,
        })
    }
}

/// A parsed DKIM-Signature. Names are in canonical (lower-case) form, the
/// signed header names as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub algorithm: Algorithm,
    /// `b=`, decoded.
    pub signature: Vec<u8>,
    /// `bh=`, decoded.
    pub body_hash: Vec<u8>,
    pub header_canon: Canon,
    pub body_canon: Canon,
    /// `d=`, lower case.
    pub domain: String,
    /// `h=`, in order, as written.
    pub signed_headers: Vec<String>,
    /// `i=`; `@d` when absent (RFC 6376 3.5).
    pub identity: String,
    /// `l=`.
    pub length: Option<u64>,
    /// `s=`, lower case.
    pub selector: String,
    /// `t=`.
    pub timestamp: Option<u64>,
    /// `x=`.
    pub expiration: Option<u64>,
}

impl Signature {
    /// Parses the value of a DKIM-Signature header (everything after the
    /// colon). Every rule of RFC 6376 3.5 that makes a signature unusable is
    /// an error here; expiry against the current time is the verifier's.
    pub fn parse(value: &[u8]) -> Result<Signature, DkimError> {
        let tags = parse_tags(value)?;
        let get = |name: &str| tags.iter().find(|t| t.name == name).map(|t| t.value);
        let req = |name: &'static str| get(name).ok_or(DkimError::MissingTag(name));
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();

        let version = req("v")?;
        if version != b"1" {
            return Err(DkimError::BadVersion(text(version)));
        }
        let a = text(req("a")?);
        let algorithm = Algorithm::parse(&a).ok_or(DkimError::UnknownAlgorithm(a))?;
        let signature = base64(req("b")?, "b")?;
        if signature.is_empty() {
            return Err(DkimError::BadBase64("b"));
        }
        let body_hash = base64(req("bh")?, "bh")?;
        if body_hash.is_empty() {
            return Err(DkimError::BadBase64("bh"));
        }
        let domain = domain_value(req("d")?, "d")?;
        let selector = selector_value(req("s")?)?;
        let signed_headers = colon_list(req("h")?);
        if signed_headers.iter().any(|h| !valid_field_name(h)) {
            return Err(DkimError::BadValue {
                tag: "h",
                value: text(req("h")?),
            });
        }
        // RFC 6376 5.4: the From header field MUST be signed.
        if !signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("from"))
        {
            return Err(DkimError::FromNotSigned);
        }
        let (header_canon, body_canon) = match get("c") {
            None => (Canon::Simple, Canon::Simple),
            Some(c) => parse_canon(&text(c))?,
        };
        let identity = match get("i") {
            None => format!("@{domain}"),
            Some(i) => check_identity(&text(i), &domain)?,
        };
        if let Some(q) = get("q")
            && !colon_list(q)
                .iter()
                .any(|m| m.eq_ignore_ascii_case("dns/txt"))
        {
            return Err(DkimError::BadQueryMethod(text(q)));
        }
        let length = number(&tags, "l")?;
        let timestamp = number(&tags, "t")?;
        let expiration = number(&tags, "x")?;
        if let (Some(t), Some(x)) = (timestamp, expiration)
            && x <= t
        {
            // RFC 6376 3.5 x=: "the value of the "x=" tag MUST be greater
            // than the value of the "t=" tag if both are present".
            return Err(DkimError::ExpiresBeforeSigned {
                signed: t,
                expires: x,
            });
        }
        Ok(Signature {
            algorithm,
            signature,
            body_hash,
            header_canon,
            body_canon,
            domain,
            signed_headers,
            identity,
            length,
            selector,
            timestamp,
            expiration,
        })
    }

    /// The name of the key record: `selector._domainkey.domain`.
    pub fn key_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }

    /// The domain of `i=` (after the last "@"), lower case.
    pub fn identity_domain(&self) -> String {
        identity_domain(&self.identity)
    }
}

fn identity_domain(identity: &str) -> String {
    identity
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// `i=` must be `[local-part] "@" domain` with the domain d= or a
/// subdomain of it (RFC 6376 3.5).
fn check_identity(i: &str, domain: &str) -> Result<String, DkimError> {
    if !i.contains('@') {
        return Err(DkimError::BadValue {
            tag: "i",
            value: i.to_string(),
        });
    }
    let idom = identity_domain(i);
    if idom != domain && !idom.ends_with(&format!(".{domain}")) {
        return Err(DkimError::IdentityNotInDomain {
            identity: i.to_string(),
            domain: domain.to_string(),
        });
    }
    Ok(i.to_string())
}

fn parse_canon(c: &str) -> Result<(Canon, Canon), DkimError> {
    let bad = || DkimError::BadCanonicalization(c.to_string());
    let one = |s: &str| match s.to_ascii_lowercase().as_str() {
        "simple" => Ok(Canon::Simple),
        "relaxed" => Ok(Canon::Relaxed),
        _ => Err(bad()),
    };
    match c.split_once('/') {
        // RFC 6376 3.5 c=: "If only one algorithm is named, that algorithm
        // is used for the header and "simple" is used for the body."
        None => Ok((one(c)?, Canon::Simple)),
        Some((h, b)) => Ok((one(h)?, one(b)?)),
    }
}

fn number(tags: &[Tag<'_>], name: &'static str) -> Result<Option<u64>, DkimError> {
    let Some(tag) = tags.iter().find(|t| t.name == name) else {
        return Ok(None);
    };
    // RFC 6376 3.5: l= and t= are at most 76 digits; we accept what fits
    // in 64 bits, which is every real value.
    let s = std::str::from_utf8(tag.value).unwrap_or_default();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DkimError::BadValue {
            tag: name,
            value: String::from_utf8_lossy(tag.value).into_owned(),
        });
    }
    s.parse().map(Some).map_err(|_| DkimError::BadValue {
        tag: name,
        value: s.to_string(),
    })
}

pub(super) fn base64(value: &[u8], tag: &'static str) -> Result<Vec<u8>, DkimError> {
    STANDARD
        .decode(strip_fws(value))
        .map_err(|_| DkimError::BadBase64(tag))
}

pub(super) fn domain_value(v: &[u8], tag: &'static str) -> Result<String, DkimError> {
    let s = std::str::from_utf8(v).unwrap_or_default();
    // RFC 8616 4: a U-label d= is compared and looked up in A-labels.
    crate::dns::domain_to_ascii(s).map_err(|e| DkimError::BadValue {
        tag,
        value: format!("{} ({e})", String::from_utf8_lossy(v)),
    })
}

/// A selector is a dot-separated list of sub-domain labels (RFC 6376 3.1).
fn selector_value(v: &[u8]) -> Result<String, DkimError> {
    let s = domain_value(v, "s")?;
    let ok = s.split('.').all(|l| {
        l.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !ok {
        return Err(DkimError::BadValue { tag: "s", value: s });
    }
    Ok(s)
}

/// RFC 5322 field-name: printable ASCII except colon.
pub(super) fn valid_field_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b':')
}

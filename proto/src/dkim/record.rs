//! The key record at `selector._domainkey.domain` (RFC 6376 3.6.1).

use super::DkimError;
use super::key::PublicKey;
use super::signature::{HashAlgorithm, base64};
use super::tags::{colon_list, parse_tags};

/// The key type, `k=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    Ed25519,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

/// A parsed key record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// `k=`; rsa when absent.
    pub key_type: KeyType,
    /// `h=`: the hashes the key may be used with; `None` allows all.
    pub hashes: Option<Vec<HashAlgorithm>>,
    /// `h=` as written (for messages).
    pub hashes_text: Option<String>,
    /// `s=` includes `*` or `email` (absent: all).
    pub for_email: bool,
    /// `s=` as written.
    pub services_text: Option<String>,
    /// `t=y`: the domain is testing DKIM.
    pub testing: bool,
    /// `t=s`: `i=` must not be in a subdomain of `d=`.
    pub strict: bool,
    /// `n=`, notes for humans.
    pub notes: Option<String>,
    /// The public key; `None` when `p=` is empty (revoked).
    pub public_key: Option<PublicKey>,
}

impl KeyRecord {
    /// Parses a key record (a TXT record's strings joined). A
    /// [`DkimError::BadKeyRecord`] has an empty name: see `at_record`.
    pub fn parse(txt: &[u8]) -> Result<KeyRecord, DkimError> {
        let tags = parse_tags(txt).map_err(|e| bad(e.to_string()))?;
        let get = |name: &str| tags.iter().find(|t| t.name == name).map(|t| t.value);
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        // RFC 6376 3.6.1 v=: if present it MUST be the first tag and "DKIM1".
        if let Some(pos) = tags.iter().position(|t| t.name == "v") {
            if pos != 0 {
                return Err(bad("v= must be the first tag"));
            }
            if tags.first().map(|t| t.value) != Some(b"DKIM1") {
                return Err(bad(format!(
                    "unsupported version v={} (only DKIM1)",
                    text(get("v").unwrap_or_default())
                )));
            }
        }
        let key_type = match get("k").map(|k| text(k).to_ascii_lowercase()) {
            None => KeyType::Rsa,
            Some(k) if k == "rsa" => KeyType::Rsa,
            Some(k) if k == "ed25519" => KeyType::Ed25519,
            Some(k) => return Err(bad(format!("unknown key type k={k}"))),
        };
        let (hashes, hashes_text) = match get("h") {
            None => (None, None),
            Some(h) => {
                // Unknown hash names are ignored (RFC 6376 3.6.1 h=).
                let known = colon_list(h)
                    .iter()
                    .filter_map(|a| match a.to_ascii_lowercase().as_str() {
                        "sha1" => Some(HashAlgorithm::Sha1),
                        "sha256" => Some(HashAlgorithm::Sha256),
                        _ => None,
                    })
                    .collect();
                (Some(known), Some(text(h)))
            }
        };
        let (for_email, services_text) = match get("s") {
            None => (true, None),
            Some(s) => (
                colon_list(s)
                    .iter()
                    .any(|x| x == "*" || x.eq_ignore_ascii_case("email")),
                Some(text(s)),
            ),
        };
        let flags: Vec<String> = get("t").map(colon_list).unwrap_or_default();
        let testing = flags.iter().any(|f| f.eq_ignore_ascii_case("y"));
        let strict = flags.iter().any(|f| f.eq_ignore_ascii_case("s"));
        let p = get("p").ok_or_else(|| bad("missing required tag p="))?;
        let public_key = if p.iter().all(|b| b.is_ascii_whitespace()) {
            None
        } else {
            let data = base64(p, "p").map_err(|e| bad(e.to_string()))?;
            Some(PublicKey::parse(key_type.as_str(), &data)?)
        };
        Ok(KeyRecord {
            key_type,
            hashes,
            hashes_text,
            for_email,
            services_text,
            testing,
            strict,
            notes: get("n").map(text),
            public_key,
        })
    }

    /// Whether the key may be used with `hash` (RFC 6376 3.6.1 h=).
    pub fn allows(&self, hash: HashAlgorithm) -> bool {
        self.hashes.as_ref().is_none_or(|h| h.contains(&hash))
    }
}

/// A record error without the record's name (the verifier adds it).
fn bad(reason: impl Into<String>) -> DkimError {
    DkimError::BadKeyRecord {
        name: String::new(),
        reason: reason.into(),
    }
}

impl DkimError {
    /// Fills in the name of the key record a record error is about.
    pub(super) fn at_record(self, record_name: &str) -> DkimError {
        match self {
            DkimError::BadKeyRecord { reason, .. } => DkimError::BadKeyRecord {
                name: record_name.to_string(),
                reason,
            },
            other => other,
        }
    }
}

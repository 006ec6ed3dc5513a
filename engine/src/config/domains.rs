//! `domains.toml`: the local domains and their DKIM selectors (mox's
//! `domains.conf`). A domain is local when it is listed here.
//! [`super::example::DOMAINS`] documents every field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use moxide_proto::dkim::{Algorithm, Canon, DEFAULT_HEADERS, PrivateKey};
use serde::Deserialize;

use super::{ConfigError, dir_of, domain_name, parse_toml, read_text, resolve_path};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomains {
    #[serde(default)]
    domains: BTreeMap<String, RawDomain>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    #[serde(default)]
    dkim: Option<RawDkim>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    #[serde(default)]
    selectors: BTreeMap<String, RawSelector>,
    #[serde(default)]
    sign: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    private_key_file: PathBuf,
    headers: Option<Vec<String>>,
    #[serde(default = "yes")]
    oversign: bool,
    #[serde(default = "relaxed")]
    canonicalization: String,
    expiration_seconds: Option<u64>,
}

fn yes() -> bool {
    true
}
fn relaxed() -> String {
    "relaxed/relaxed".to_string()
}

/// The domains file, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Domains {
    /// The file it was read from.
    pub path: PathBuf,
    /// Canonical domain name → its settings.
    pub domains: BTreeMap<String, Domain>,
}

/// One local domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Domain {
    /// DKIM selectors by name (canonical, lower case).
    pub selectors: BTreeMap<String, Selector>,
    /// The selectors that sign submitted mail, in order.
    pub sign: Vec<String>,
}

/// A DKIM selector: a key and how to sign with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The PEM private key (PKCS#8 ed25519 or RSA, or PKCS#1 RSA).
    pub private_key_file: PathBuf,
    /// From the key: ed25519-sha256 or rsa-sha256.
    pub algorithm: Algorithm,
    /// Header fields to sign (From is always signed).
    pub headers: Vec<String>,
    /// Sign each header once more than present, so none can be added.
    pub oversign: bool,
    /// Header canonicalisation.
    pub header_canon: Canon,
    /// Body canonicalisation.
    pub body_canon: Canon,
    /// `x=` this many seconds after `t=`; none when `None`.
    pub expiration: Option<u64>,
}

/// Parses `c=`-style canonicalisation: `relaxed/simple`, or one word for
/// the header with a simple body (RFC 6376 3.5).
fn canonicalization(s: &str) -> Option<(Canon, Canon)> {
    let one = |w: &str| match w.to_ascii_lowercase().as_str() {
        "simple" => Some(Canon::Simple),
        "relaxed" => Some(Canon::Relaxed),
        _ => None,
    };
    match s.split_once('/') {
        Some((h, b)) => Some((one(h)?, one(b)?)),
        None => Some((one(s)?, Canon::Simple)),
    }
}

/// Reads a DKIM private key file.
pub fn read_private_key(path: &Path) -> Result<PrivateKey, String> {
    let pem = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{}: no such file (make a key with `moxide config dkim add` or `moxide dkim gened25519`)",
            path.display()
        ),
        _ => format!("{}: cannot read: {e}", path.display()),
    })?;
    PrivateKey::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
}

impl Domains {
    /// Reads and checks the domains file at `path`, including the DKIM
    /// key files it names.
    pub fn load(path: &Path) -> Result<Domains, ConfigError> {
        let text = read_text(path)?;
        Domains::parse(path, &text)
    }

    /// Checks `text` as the contents of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Domains, ConfigError> {
        let raw: RawDomains = parse_toml(path, text)?;
        let base = dir_of(path);
        let mut domains = BTreeMap::new();
        for (name, d) in raw.domains {
            let at = format!("domains.{name:?}");
            let canon = domain_name(&name).map_err(|m| ConfigError::field(path, &at, m))?;
            let domain = match d.dkim {
                None => Domain::default(),
                Some(k) => dkim(path, &base, &at, k)?,
            };
            if domains.insert(canon.clone(), domain).is_some() {
                return Err(ConfigError::field(
                    path,
                    at,
                    format!(
                        "{canon} is listed twice (names compare without case and trailing dot); keep one"
                    ),
                ));
            }
        }
        Ok(Domains {
            path: path.to_path_buf(),
            domains,
        })
    }

    /// Whether `domain` (any case, U-labels or A-labels) is a local
    /// domain.
    pub fn is_local(&self, domain: &str) -> bool {
        moxide_proto::dns::domain_to_ascii(domain).is_ok_and(|d| self.domains.contains_key(&d))
    }

    /// The configured domain whose DKIM selectors sign mail from `domain`:
    /// the domain itself, else its nearest listed parent that signs (as
    /// mox does). `None` when no such domain signs.
    pub fn signing_domain(&self, domain: &str) -> Option<(&str, &Domain)> {
        let mut d = moxide_proto::dns::domain_to_ascii(domain).ok()?;
        loop {
            if let Some((name, dom)) = self.domains.get_key_value(&d)
                && !dom.sign.is_empty()
            {
                return Some((name.as_str(), dom));
            }
            let (_, parent) = d.split_once('.')?;
            d = parent.to_string();
        }
    }
}

/// Checks the `dkim` table of a domain.
fn dkim(path: &Path, base: &Path, at: &str, k: RawDkim) -> Result<Domain, ConfigError> {
    let mut selectors = BTreeMap::new();
    for (name, s) in k.selectors {
        let sat = format!("{at}.dkim.selectors.{name}");
        let canon_name = domain_name(&name)
            .ok()
            .filter(|n| !n.contains('.'))
            .ok_or_else(|| {
                ConfigError::field(
                    path,
                    &sat,
                    "a selector name is one DNS label (letters, digits, hyphens), e.g. \"2024a\"",
                )
            })?;
        let file = resolve_path(base, &s.private_key_file);
        let key = read_private_key(&file)
            .map_err(|m| ConfigError::field(path, format!("{sat}.private_key_file"), m))?;
        let (header_canon, body_canon) = canonicalization(&s.canonicalization).ok_or_else(|| {
            ConfigError::field(
                path,
                format!("{sat}.canonicalization"),
                format!(
                    "{:?} is not header/body canonicalization; use \"relaxed/relaxed\", \"relaxed/simple\", \"simple/relaxed\" or \"simple/simple\"",
                    s.canonicalization
                ),
            )
        })?;
        let headers = match s.headers {
            None => DEFAULT_HEADERS.iter().map(|h| h.to_string()).collect(),
            Some(h) => {
                if let Some(bad) = h
                    .iter()
                    .find(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
                {
                    return Err(ConfigError::field(
                        path,
                        format!("{sat}.headers"),
                        format!("{bad:?} is not a header field name"),
                    ));
                }
                if !h.iter().any(|n| n.eq_ignore_ascii_case("From")) {
                    return Err(ConfigError::field(
                        path,
                        format!("{sat}.headers"),
                        "must include \"From\" (RFC 6376 5.4)",
                    ));
                }
                h
            }
        };
        if s.expiration_seconds == Some(0) {
            return Err(ConfigError::field(
                path,
                format!("{sat}.expiration_seconds"),
                "0 would expire at once; remove it for no expiration, or give e.g. 259200 (72 hours)",
            ));
        }
        selectors.insert(
            canon_name,
            Selector {
                private_key_file: file,
                algorithm: key.algorithm(),
                headers,
                oversign: s.oversign,
                header_canon,
                body_canon,
                expiration: s.expiration_seconds,
            },
        );
    }
    let mut sign = Vec::new();
    for s in k.sign {
        let l = s.to_ascii_lowercase();
        if !selectors.contains_key(&l) {
            return Err(ConfigError::field(
                path,
                format!("{at}.dkim.sign"),
                format!(
                    "selector {s:?} is not defined; add [{at}.dkim.selectors.{s}] or remove it from sign"
                ),
            ));
        }
        if sign.contains(&l) {
            return Err(ConfigError::field(
                path,
                format!("{at}.dkim.sign"),
                format!("selector {s:?} is listed twice"),
            ));
        }
        sign.push(l);
    }
    Ok(Domain { selectors, sign })
}

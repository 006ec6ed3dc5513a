//! DKIM signing of submitted mail (RFC 6376 5, RFC 8463): the selectors
//! configured in `domains.toml` for the domain of the `From` address, or
//! for its nearest configured parent domain (as mox does), each add a
//! `DKIM-Signature` header field above the message, after Message-ID and
//! Date were added, before the message is delivered or queued.
//!
//! A message that cannot be signed (malformed header) is logged and goes
//! out unsigned, as mox does: refusing it would help nobody, and the
//! receiver's DMARC evaluation decides.

use std::collections::BTreeMap;

use moxide_proto::dkim::{SignError, Signer, SignerSelector, SystemRandom};
use moxide_proto::message::address::parse_address_list;
use moxide_proto::message::header::HeaderBlock;

use crate::config::{ConfigError, Domains, domains::read_private_key};

/// The signers of every domain that signs, by canonical domain name.
#[derive(Debug, Default)]
pub struct DkimSigning {
    domains: BTreeMap<String, Signer>,
}

impl DkimSigning {
    /// No signing at all (localserve, tests).
    pub fn none() -> DkimSigning {
        DkimSigning::default()
    }

    /// The signers of the domains of `domains` that have `sign` selectors;
    /// reads their key files.
    pub fn from_domains(domains: &Domains) -> Result<DkimSigning, ConfigError> {
        let mut out = DkimSigning::default();
        for (name, d) in &domains.domains {
            let mut selectors = Vec::new();
            for sel_name in &d.sign {
                let field = format!("domains.{name:?}.dkim.selectors.{sel_name}");
                let Some(sel) = d.selectors.get(sel_name) else {
                    return Err(ConfigError::field(
                        &domains.path,
                        field,
                        "named in sign but not defined",
                    ));
                };
                let key = read_private_key(&sel.private_key_file).map_err(|m| {
                    ConfigError::field(&domains.path, format!("{field}.private_key_file"), m)
                })?;
                let mut s = SignerSelector::new(name, sel_name, key);
                s.headers = sel.headers.clone();
                s.oversign = sel.oversign;
                s.header_canon = sel.header_canon;
                s.body_canon = sel.body_canon;
                s.expiration = sel.expiration;
                selectors.push(s);
            }
            if !selectors.is_empty() {
                out.domains.insert(name.clone(), Signer::new(selectors));
            }
        }
        Ok(out)
    }

    /// Adds (or replaces) the signer of `domain` (canonical form).
    pub fn insert(&mut self, domain: &str, signer: Signer) {
        self.domains.insert(domain.to_ascii_lowercase(), signer);
    }

    /// Whether no domain signs.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// The domain and signer for mail from `domain`: the domain itself,
    /// else its nearest parent that signs.
    pub fn signer_for(&self, domain: &str) -> Option<(&str, &Signer)> {
        let mut d = moxide_proto::dns::domain_to_ascii(domain).ok()?;
        loop {
            if let Some((name, s)) = self.domains.get_key_value(&d) {
                return Some((name.as_str(), s));
            }
            let (_, parent) = d.split_once('.')?;
            d = parent.to_string();
        }
    }

    /// The `DKIM-Signature` header fields (CRLF-terminated) for `message`
    /// (the final message, Message-ID and Date included), signed at
    /// `unix`; `Ok(None)` when the From domain does not sign.
    pub fn sign(&self, message: &[u8], unix: i64) -> Result<Option<String>, SignError> {
        if self.domains.is_empty() {
            return Ok(None);
        }
        let Some(domain) = from_domain(message) else {
            return Ok(None);
        };
        let Some((_, signer)) = self.signer_for(&domain) else {
            return Ok(None);
        };
        let t = u64::try_from(unix).unwrap_or(0);
        signer.sign(message, t, &SystemRandom::new()).map(Some)
    }

    /// [`DkimSigning::sign`] for the submission path: the header fields to
    /// put above the message, empty when nothing signs; a signing failure
    /// is logged and gives none.
    pub fn header_for_submission(&self, message: &[u8], unix: i64) -> Vec<u8> {
        match self.sign(message, unix) {
            Ok(Some(h)) => h.into_bytes(),
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::error!(error = %e, "dkim signing failed, message goes out unsigned");
                Vec::new()
            }
        }
    }
}

/// The domain of the single address of the `From` header, lower case.
fn from_domain(message: &[u8]) -> Option<String> {
    let header = HeaderBlock::parse(message, 0, message.len());
    let value = header.value("From")?;
    let list: Vec<_> = parse_address_list(&value)
        .into_iter()
        .filter(|a| !a.is_group_start() && !a.is_group_end())
        .collect();
    let [one] = list.as_slice() else {
        return None;
    };
    let host = String::from_utf8_lossy(one.host.as_deref()?).to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests;

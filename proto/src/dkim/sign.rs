//! Signing (RFC 6376 5): DKIM-Signature header fields for a message, one per
//! configured selector.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SecureRandom;

use super::DkimError;
use super::canon::{BodyHash, Canon, body_hash};
use super::header::{HeaderField, MessageError, split_message};
use super::key::{KeyError, PrivateKey};
use super::signature::{HashAlgorithm, valid_field_name};
use super::verify::signed_data;
use crate::dns::normalize_name;

/// The header fields mox signs by default. Each is signed as often as it
/// occurs, plus once more when over-signing, so none can be added later.
pub const DEFAULT_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "References",
    "In-Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Type",
];

/// Header lines are folded before this many characters (RFC 5322 2.1.1).
const LINE_LIMIT: usize = 78;

/// One signing key and how to sign with it.
#[derive(Debug)]
pub struct SignerSelector {
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    pub key: PrivateKey,
    /// Header fields to sign (From is always signed).
    pub headers: Vec<String>,
    /// Sign each header once more than it occurs (RFC 6376 8.15).
    pub oversign: bool,
    pub header_canon: Canon,
    pub body_canon: Canon,
    /// Seconds after `t=` the signature expires (`x=`).
    pub expiration: Option<u64>,
    /// Add `l=` with the canonical body length.
    pub body_length: bool,
    /// `i=`; left out when `None` (it then defaults to `@d=`).
    pub identity: Option<String>,
}

impl SignerSelector {
    /// A selector with mox's defaults: [`DEFAULT_HEADERS`] over-signed,
    /// relaxed/relaxed, no expiration, no `l=`, no `i=`.
    pub fn new(domain: &str, selector: &str, key: PrivateKey) -> SignerSelector {
        SignerSelector {
            domain: domain.to_string(),
            selector: selector.to_string(),
            key,
            headers: DEFAULT_HEADERS.iter().map(|h| h.to_string()).collect(),
            oversign: true,
            header_canon: Canon::Relaxed,
            body_canon: Canon::Relaxed,
            expiration: None,
            body_length: false,
            identity: None,
        }
    }
}

/// Why a message cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("message: {0}")]
    Message(#[from] MessageError),
    /// RFC 6376 5.4: From MUST be signed; we also require exactly one.
    #[error("message must have exactly one From header, has {0}")]
    From(usize),
    #[error("selector {selector}: {reason}")]
    Selector { selector: String, reason: String },
    #[error("signing key: {0}")]
    Key(#[from] KeyError),
    #[error("internal: {0}")]
    Internal(#[from] DkimError),
}

/// Signs messages with a list of selectors.
#[derive(Debug, Default)]
pub struct Signer {
    pub selectors: Vec<SignerSelector>,
}

impl Signer {
    pub fn new(selectors: Vec<SignerSelector>) -> Signer {
        Signer { selectors }
    }

    /// The `DKIM-Signature:` fields (CRLF line ends, folded before 78
    /// characters) to put above `message`, one per selector, all signing the
    /// message as given. `unix_now` is `t=`. `rng` is only used by ring's
    /// RSA signing.
    pub fn sign(
        &self,
        message: &[u8],
        unix_now: u64,
        rng: &dyn SecureRandom,
    ) -> Result<String, SignError> {
        let (fields, body) = split_message(message)?;
        let froms = fields.iter().filter(|f| f.is("From")).count();
        if froms != 1 {
            return Err(SignError::From(froms));
        }
        let mut hashes: HashMap<(Canon, HashAlgorithm), BodyHash> = HashMap::new();
        let mut out = String::new();
        for sel in &self.selectors {
            let alg = sel.key.algorithm();
            let bh = hashes
                .entry((sel.body_canon, alg.hash()))
                .or_insert_with(|| body_hash(body, sel.body_canon, alg.hash(), None));
            let header = self.sign_one(sel, &fields, bh, unix_now, rng)?;
            out.push_str(&header);
        }
        Ok(out)
    }

    fn sign_one(
        &self,
        sel: &SignerSelector,
        fields: &[HeaderField<'_>],
        bh: &BodyHash,
        unix_now: u64,
        rng: &dyn SecureRandom,
    ) -> Result<String, SignError> {
        let bad = |reason: String| SignError::Selector {
            selector: sel.selector.clone(),
            reason,
        };
        let domain = normalize_name(&sel.domain).map_err(|e| bad(format!("domain: {e}")))?;
        let selector = normalize_name(&sel.selector).map_err(|e| bad(format!("selector: {e}")))?;
        if let Some(i) = &sel.identity {
            let idom = i.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
            let ok = idom.is_some_and(|d| d == domain || d.ends_with(&format!(".{domain}")));
            if !ok {
                return Err(bad(format!("identity {i} is not in domain {domain}")));
            }
        }
        let names = signed_names(sel, fields);
        if let Some(n) = names.iter().find(|n| !valid_field_name(n)) {
            return Err(bad(format!("bad header name {n:?}")));
        }
        let mut f = Folder::new("DKIM-Signature:");
        f.token("v=1;");
        f.token(&format!("a={};", sel.key.algorithm().as_str()));
        f.token(&format!("d={domain};"));
        f.token(&format!("s={selector};"));
        if let Some(i) = &sel.identity {
            f.token(&format!("i={i};"));
        }
        f.token(&format!(
            "c={}/{};",
            sel.header_canon.as_str(),
            sel.body_canon.as_str()
        ));
        f.token(&format!("t={unix_now};"));
        if let Some(x) = sel.expiration {
            f.token(&format!("x={};", unix_now.saturating_add(x.max(1))));
        }
        if sel.body_length {
            f.token(&format!("l={};", bh.canonical_len));
        }
        for (n, name) in names.iter().enumerate() {
            let end = if n + 1 == names.len() { ";" } else { ":" };
            if n == 0 {
                f.token(&format!("h={name}{end}"));
            } else {
                f.append(&format!("{name}{end}"));
            }
        }
        f.token(&format!("bh={};", STANDARD.encode(&bh.digest)));
        f.reserve_token("b=", 12);
        let unsigned = format!("{}\r\n", f.text);
        let (sig_fields, _) = split_message(unsigned.as_bytes())?;
        let Some(sig_field) = sig_fields.first() else {
            return Err(bad("internal: signature header did not parse".into()));
        };
        let data = signed_data(fields, sig_field, &names, sel.header_canon)?;
        let signature = sel.key.sign(&data, rng)?;
        f.stream(&STANDARD.encode(signature));
        Ok(format!("{}\r\n", f.text))
    }
}

/// `h=`: From first, then each configured header as often as the message
/// has it, plus once when over-signing.
fn signed_names(sel: &SignerSelector, fields: &[HeaderField<'_>]) -> Vec<String> {
    let mut names = Vec::new();
    let mut configured: Vec<&str> = vec!["From"];
    for h in &sel.headers {
        if !configured.iter().any(|c| c.eq_ignore_ascii_case(h)) {
            configured.push(h);
        }
    }
    for h in configured {
        let count = fields.iter().filter(|f| f.is(h)).count();
        let n = count + usize::from(sel.oversign);
        names.extend(std::iter::repeat_n(h.to_string(), n));
    }
    names
}

/// Builds a folded header: tokens separated by a space or a fold.
struct Folder {
    text: String,
    line_len: usize,
}

impl Folder {
    fn new(start: &str) -> Folder {
        Folder {
            text: start.to_string(),
            line_len: start.len(),
        }
    }

    fn fold(&mut self) {
        self.text.push_str("\r\n ");
        self.line_len = 1;
    }

    /// Adds `t` after a space, or on a new line when it does not fit.
    fn token(&mut self, t: &str) {
        self.reserve_token(t, 0);
    }

    /// As [`token`](Self::token), keeping `reserve` more characters free on
    /// the line.
    fn reserve_token(&mut self, t: &str, reserve: usize) {
        if self.line_len + 1 + t.len() + reserve > LINE_LIMIT && self.line_len > 1 {
            self.fold();
        } else {
            self.text.push(' ');
            self.line_len += 1;
        }
        self.text.push_str(t);
        self.line_len += t.len();
    }

    /// Adds `t` without a space, folding first when it does not fit.
    fn append(&mut self, t: &str) {
        if self.line_len + t.len() > LINE_LIMIT {
            self.fold();
        }
        self.text.push_str(t);
        self.line_len += t.len();
    }

    /// Adds `s` filling lines to the limit (base64 may be folded anywhere).
    fn stream(&mut self, s: &str) {
        let mut rest = s;
        while !rest.is_empty() {
            let room = LINE_LIMIT.saturating_sub(self.line_len);
            if room == 0 {
                self.fold();
                continue;
            }
            let (piece, tail) = rest.split_at(room.min(rest.len()));
            self.text.push_str(piece);
            self.line_len += piece.len();
            rest = tail;
        }
    }
}

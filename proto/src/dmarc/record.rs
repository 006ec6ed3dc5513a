//! DMARC policy records (RFC 7489 6.3, 6.4).

use std::fmt;

/// What the domain owner asks receivers to do with failing mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    fn parse(v: &str) -> Option<Policy> {
        match v.to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }

    /// The policy one step weaker, applied to messages sampled out by
    /// `pct` (RFC 7489 6.6.4): reject → quarantine, quarantine → none.
    pub fn weaker(self) -> Policy {
        match self {
            Policy::Reject => Policy::Quarantine,
            Policy::Quarantine | Policy::None => Policy::None,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        })
    }
}

/// Identifier alignment mode (RFC 7489 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alignment {
    /// Organizational domains must match.
    Relaxed,
    /// Domains must be identical.
    Strict,
}

impl fmt::Display for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Alignment::Relaxed => "r",
            Alignment::Strict => "s",
        })
    }
}

/// A reporting address from `rua` or `ruf` (RFC 7489 6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportUri {
    /// The URI, e.g. `mailto:dmarc@example.com`.
    pub uri: String,
    /// The `!size` limit in bytes, when given (`!10m` = 10 × 2^20).
    pub max_size: Option<u64>,
}

/// A parsed DMARC record. Tags the RFC does not define are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `p`: the policy for the domain itself.
    pub policy: Policy,
    /// `sp`: the policy for subdomains, when given (else `policy`).
    pub subdomain_policy: Option<Policy>,
    /// `adkim`, default relaxed.
    pub adkim: Alignment,
    /// `aspf`, default relaxed.
    pub aspf: Alignment,
    /// `pct`: percentage of failing messages the policy applies to (0–100).
    pub pct: u8,
    /// `rua`: where aggregate reports go.
    pub rua: Vec<ReportUri>,
    /// `ruf`: where failure reports go.
    pub ruf: Vec<ReportUri>,
    /// `fo`: failure reporting options as written, default `0`.
    pub fo: String,
    /// `rf`: failure report format, default `afrf`.
    pub rf: String,
    /// `ri`: aggregate report interval in seconds, default 86400.
    pub ri: u32,
    /// The record had no valid `p` but a valid `rua`, and is read as
    /// `p=none` (RFC 7489 6.6.3).
    pub policy_defaulted: bool,
}

/// Why a TXT record is not a usable DMARC record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// It does not start with `v=DMARC1`: not a DMARC record at all; such
    /// records are discarded during discovery (RFC 7489 6.6.3).
    NotDmarc,
    /// A DMARC record with a syntax error, explained.
    Invalid(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NotDmarc => f.write_str("not a DMARC record (must start with v=DMARC1)"),
            RecordError::Invalid(s) => write!(f, "invalid DMARC record: {s}"),
        }
    }
}

impl std::error::Error for RecordError {}

/// Whether a TXT record's text claims to be DMARC (starts with `v=DMARC1`,
/// spaces allowed around `=`, case-insensitively).
pub fn is_dmarc(text: &str) -> bool {
    let first = text.split(';').next().unwrap_or("");
    match first.split_once('=') {
        Some((k, v)) => k.trim() == "v" && v.trim().eq_ignore_ascii_case("DMARC1"),
        None => false,
    }
}

/// Parses a DMARC record (RFC 7489 6.4). Tag names are case-sensitive, as
/// the ABNF writes them; values are case-insensitive.
pub fn parse(text: &str) -> Result<Record, RecordError> {
    if !is_dmarc(text) {
        return Err(RecordError::NotDmarc);
    }
    let invalid = |s: String| Err(RecordError::Invalid(s));
    let mut r = Record {
        policy: Policy::None,
        subdomain_policy: None,
        adkim: Alignment::Relaxed,
        aspf: Alignment::Relaxed,
        pct: 100,
        rua: Vec::new(),
        ruf: Vec::new(),
        fo: "0".into(),
        rf: "afrf".into(),
        ri: 86400,
        policy_defaulted: false,
    };
    let mut policy: Option<Result<Policy, String>> = None;
    let mut seen: Vec<&str> = Vec::new();
    for (i, part) in text.split(';').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            // `v=DMARC1;` and a trailing `;` are fine; an empty term in
            // the middle is tolerated as mox and others do.
            continue;
        }
        let Some((tag, value)) = part.split_once('=') else {
            return invalid(format!("term {part:?} is not tag=value"));
        };
        let (tag, value) = (tag.trim(), value.trim());
        if seen.contains(&tag) {
            return invalid(format!("tag {tag} appears twice"));
        }
        seen.push(tag);
        match tag {
            "v" if i == 0 => {}
            "v" => return invalid("v= must be the first tag".into()),
            "p" => {
                policy = Some(
                    Policy::parse(value)
                        .ok_or_else(|| format!("p={value} is not none, quarantine or reject")),
                )
            }
            "sp" => match Policy::parse(value) {
                Some(p) => r.subdomain_policy = Some(p),
                None => return invalid(format!("sp={value} is not none, quarantine or reject")),
            },
            "adkim" => r.adkim = alignment(tag, value)?,
            "aspf" => r.aspf = alignment(tag, value)?,
            "pct" => match value.parse::<u8>() {
                Ok(n) if n <= 100 => r.pct = n,
                _ => return invalid(format!("pct={value} is not a number from 0 to 100")),
            },
            "rua" => r.rua = uris(tag, value)?,
            "ruf" => r.ruf = uris(tag, value)?,
            "fo" => {
                let ok = value
                    .split(':')
                    .all(|o| matches!(o.trim(), "0" | "1" | "d" | "s"));
                if !ok {
                    return invalid(format!(
                        "fo={value}: options are 0, 1, d and s separated by ':'"
                    ));
                }
                r.fo = value.to_string();
            }
            "rf" => {
                if value.is_empty() || !value.split(':').all(|f| is_keyword(f.trim())) {
                    return invalid(format!("rf={value} is not a list of report formats"));
                }
                r.rf = value.to_ascii_lowercase();
            }
            "ri" => match value.parse::<u32>() {
                Ok(n) => r.ri = n,
                Err(_) => return invalid(format!("ri={value} is not a number of seconds")),
            },
            // RFC 7489 6.3: unknown tags MUST be ignored.
            _ => {}
        }
    }
    match policy {
        Some(Ok(p)) => r.policy = p,
        // RFC 7489 6.6.3: no valid p but a valid rua: act as p=none.
        Some(Err(_)) | None if !r.rua.is_empty() => {
            r.policy = Policy::None;
            r.policy_defaulted = true;
        }
        Some(Err(e)) => return invalid(e),
        None => return invalid("p= is missing (and no rua= to fall back to p=none)".into()),
    }
    Ok(r)
}

fn alignment(tag: &str, value: &str) -> Result<Alignment, RecordError> {
    match value.to_ascii_lowercase().as_str() {
        "r" => Ok(Alignment::Relaxed),
        "s" => Ok(Alignment::Strict),
        _ => Err(RecordError::Invalid(format!("{tag}={value} is not r or s"))),
    }
}

fn is_keyword(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `dmarc-uri *(*WSP "," *WSP dmarc-uri)`, `dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]`.
fn uris(tag: &str, value: &str) -> Result<Vec<ReportUri>, RecordError> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        let (uri, size) = match item.rsplit_once('!') {
            Some((u, s)) => (u, Some(s)),
            None => (item, None),
        };
        let scheme_ok = uri.split_once(':').is_some_and(|(s, rest)| {
            !rest.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        });
        if !scheme_ok
            || uri
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(RecordError::Invalid(format!(
                "{tag}: {item:?} is not a URI"
            )));
        }
        let max_size = match size {
            None => None,
            Some(s) => Some(
                size_limit(s)
                    .ok_or_else(|| RecordError::Invalid(format!("{tag}: bad size limit !{s}")))?,
            ),
        };
        out.push(ReportUri {
            uri: uri.to_string(),
            max_size,
        });
    }
    Ok(out)
}

fn size_limit(s: &str) -> Option<u64> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], Some(c.to_ascii_lowercase())),
        _ => (s, None),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let shift = match unit {
        None => 0,
        Some('k') => 10,
        Some('m') => 20,
        Some('g') => 30,
        Some('t') => 40,
        Some(_) => return None,
    };
    n.checked_mul(1u64 << shift)
}

impl fmt::Display for Record {
    /// The record in canonical form, as `moxide dmarc lookup` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=DMARC1; p={}", self.policy)?;
        if let Some(sp) = self.subdomain_policy {
            write!(f, "; sp={sp}")?;
        }
        write!(
            f,
            "; adkim={}; aspf={}; pct={}",
            self.adkim, self.aspf, self.pct
        )?;
        let list = |v: &[ReportUri]| {
            v.iter()
                .map(|u| match u.max_size {
                    Some(n) => format!("{}!{n}", u.uri),
                    None => u.uri.clone(),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        if !self.rua.is_empty() {
            write!(f, "; rua={}", list(&self.rua))?;
        }
        if !self.ruf.is_empty() {
            write!(f, "; ruf={}", list(&self.ruf))?;
        }
        write!(f, "; fo={}; rf={}; ri={}", self.fo, self.rf, self.ri)
    }
}

//! The MTA-STS TXT record (RFC 8461 3.1) at `_mta-sts.<domain>`.

use std::fmt;

/// A parsed `v=STSv1` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `id`: changes whenever the policy changes (1–32 alphanumerics).
    pub id: String,
    /// Extension fields, as written.
    pub extensions: Vec<(String, String)>,
}

/// Why a TXT record is not a usable MTA-STS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// It does not start with `v=STSv1`: not an MTA-STS record (skipped).
    NotMtaSts,
    /// An MTA-STS record with a syntax error, explained.
    Invalid(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NotMtaSts => {
                f.write_str("not an MTA-STS record (must start with v=STSv1)")
            }
            RecordError::Invalid(s) => write!(f, "invalid MTA-STS record: {s}"),
        }
    }
}

impl std::error::Error for RecordError {}

/// The name to look up for `domain`'s record.
pub fn record_name(domain: &str) -> String {
    format!("_mta-sts.{}", domain.trim_end_matches('.'))
}

/// Whether a TXT text claims to be MTA-STS (starts with `v=STSv1`).
pub fn is_mtasts(text: &str) -> bool {
    text.split(';')
        .next()
        .and_then(|t| t.split_once('='))
        .is_some_and(|(k, v)| k.trim() == "v" && v.trim() == "STSv1")
}

/// Parses `v=STSv1; id=20160831085700Z;` (RFC 8461 3.1): `v` first, `id`
/// required, extension fields `name=value` kept, a trailing `;` allowed.
pub fn parse(text: &str) -> Result<Record, RecordError> {
    if !is_mtasts(text) {
        return Err(RecordError::NotMtaSts);
    }
    let invalid = |s: String| Err(RecordError::Invalid(s));
    let mut id = None;
    let mut extensions = Vec::new();
    let mut terms = text.split(';').map(str::trim).skip(1).peekable();
    while let Some(term) = terms.next() {
        if term.is_empty() {
            if terms.peek().is_none() {
                break;
            }
            return invalid("empty field between ';'".into());
        }
        let Some((k, v)) = term.split_once('=') else {
            return invalid(format!("field {term:?} is not name=value"));
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "id" => {
                if id.is_some() {
                    return invalid("id appears twice".into());
                }
                if v.is_empty() || v.len() > 32 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return invalid(format!("id={v:?} must be 1 to 32 letters and digits"));
                }
                id = Some(v.to_string());
            }
            "v" => return invalid("v appears twice".into()),
            _ => {
                let name_ok = !k.is_empty()
                    && k.len() <= 32
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
                let value_ok = v
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b';' && b != b'=');
                if !name_ok || !value_ok || v.is_empty() {
                    return invalid(format!("extension {k:?}={v:?} is malformed"));
                }
                extensions.push((k.to_string(), v.to_string()));
            }
        }
    }
    match id {
        Some(id) => Ok(Record { id, extensions }),
        None => invalid("id= is missing".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let r = parse("v=STSv1; id=20160831085700Z;").unwrap();
        assert_eq!(r.id, "20160831085700Z");
        let r = parse("v=STSv1;id=abc ; ext-1=x").unwrap();
        assert_eq!((r.id.as_str(), r.extensions.len()), ("abc", 1));
        assert_eq!(parse("v=spf1"), Err(RecordError::NotMtaSts));
        assert_eq!(parse("v=stsv1; id=1"), Err(RecordError::NotMtaSts));
        let bad = |s: &str| match parse(s) {
            Err(RecordError::Invalid(e)) => e,
            other => panic!("{s}: {other:?}"),
        };
        assert!(bad("v=STSv1").contains("id= is missing"));
        assert!(bad("v=STSv1; id=").contains("1 to 32"));
        assert!(bad("v=STSv1; id=a-b").contains("1 to 32"));
        assert!(bad(&format!("v=STSv1; id={}", "a".repeat(33))).contains("1 to 32"));
        assert!(bad("v=STSv1; id=1; id=2").contains("twice"));
        assert!(bad("v=STSv1;; id=1").contains("empty field"));
        assert_eq!(record_name("example.com."), "_mta-sts.example.com");
    }
}

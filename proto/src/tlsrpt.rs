//! TLSRPT policy records (RFC 8460 3): where a domain wants SMTP TLS
//! reports sent, published as TXT at `_smtp._tls.<domain>`.

use std::fmt;

/// A parsed `v=TLSRPTv1` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Report destinations: `mailto:` or `https:` URIs, in record order.
    pub rua: Vec<String>,
    /// Extension tags (`tlsrpt-ext-name=value`), kept as written.
    pub extensions: Vec<(String, String)>,
}

/// Why a TXT record is not a usable TLSRPT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// It does not start with `v=TLSRPTv1`: not a TLSRPT record.
    NotTlsrpt,
    /// A TLSRPT record with a syntax error, explained.
    Invalid(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NotTlsrpt => {
                f.write_str("not a TLSRPT record (must start with v=TLSRPTv1)")
            }
            RecordError::Invalid(s) => write!(f, "invalid TLSRPT record: {s}"),
        }
    }
}

impl std::error::Error for RecordError {}

/// The name to look up for `domain`'s TLSRPT record.
pub fn record_name(domain: &str) -> String {
    format!("_smtp._tls.{}", domain.trim_end_matches('.'))
}

/// Parses a TLSRPT record (RFC 8460 3):
/// `v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://example.com/tlsrpt`.
/// `v` must come first and is case-sensitive; `rua` is required; unknown
/// extension tags are kept; a trailing `;` is allowed.
pub fn parse(text: &str) -> Result<Record, RecordError> {
    let mut terms = text.split(';').map(str::trim);
    match terms.next().and_then(|t| t.split_once('=')) {
        Some((k, v)) if k.trim() == "v" && v.trim() == "TLSRPTv1" => {}
        _ => return Err(RecordError::NotTlsrpt),
    }
    let invalid = |s: String| Err(RecordError::Invalid(s));
    let mut rua: Option<Vec<String>> = None;
    let mut extensions = Vec::new();
    let mut terms = terms.peekable();
    while let Some(term) = terms.next() {
        if term.is_empty() {
            if terms.peek().is_none() {
                break;
            }
            return invalid("empty term between ';'".into());
        }
        let Some((k, v)) = term.split_once('=') else {
            return invalid(format!("term {term:?} is not name=value"));
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "rua" => {
                if rua.is_some() {
                    return invalid("rua appears twice".into());
                }
                let mut uris = Vec::new();
                for u in v.split(',').map(str::trim) {
                    let lower = u.to_ascii_lowercase();
                    let ok = (lower.starts_with("mailto:") && u.len() > 7 && u.contains('@'))
                        || (lower.starts_with("https://") && u.len() > 8);
                    if !ok
                        || u.bytes()
                            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b';')
                    {
                        return invalid(format!("rua: {u:?} is not a mailto: or https: URI"));
                    }
                    uris.push(u.to_string());
                }
                rua = Some(uris);
            }
            "v" => return invalid("v appears twice".into()),
            _ => {
                let name_ok = !k.is_empty()
                    && k.len() <= 32
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
                let value_ok = !v.is_empty()
                    && v.bytes()
                        .all(|b| (0x21..=0x7e).contains(&b) && b != b';' && b != b'=');
                if !name_ok || !value_ok {
                    return invalid(format!("extension {k:?}={v:?} is malformed"));
                }
                extensions.push((k.to_string(), v.to_string()));
            }
        }
    }
    match rua {
        Some(rua) => Ok(Record { rua, extensions }),
        None => invalid("rua= is missing".into()),
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=TLSRPTv1; rua={}", self.rua.join(","))?;
        for (k, v) in &self.extensions {
            write!(f, "; {k}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records() {
        let r = parse(
            "v=TLSRPTv1; rua=mailto:tls@example.com, https://report.example.com/tlsrpt; x-ext=1;",
        )
        .unwrap();
        assert_eq!(
            r.rua,
            [
                "mailto:tls@example.com",
                "https://report.example.com/tlsrpt"
            ]
        );
        assert_eq!(r.extensions, [("x-ext".to_string(), "1".to_string())]);
        assert_eq!(
            r.to_string(),
            "v=TLSRPTv1; rua=mailto:tls@example.com,https://report.example.com/tlsrpt; x-ext=1"
        );
        assert_eq!(record_name("example.com."), "_smtp._tls.example.com");
    }

    #[test]
    fn rejects_bad_records() {
        assert_eq!(parse("v=spf1 -all"), Err(RecordError::NotTlsrpt));
        assert_eq!(
            parse("v=tlsrptv1; rua=mailto:a@b"),
            Err(RecordError::NotTlsrpt)
        );
        assert_eq!(
            parse("rua=mailto:a@b; v=TLSRPTv1"),
            Err(RecordError::NotTlsrpt)
        );
        let bad = |s: &str| match parse(s) {
            Err(RecordError::Invalid(e)) => e,
            other => panic!("{s}: {other:?}"),
        };
        assert!(bad("v=TLSRPTv1").contains("rua= is missing"));
        assert!(bad("v=TLSRPTv1; rua=http://example.com/x").contains("not a mailto"));
        assert!(bad("v=TLSRPTv1; rua=mailto:nobody").contains("not a mailto"));
        assert!(bad("v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d").contains("twice"));
        assert!(bad("v=TLSRPTv1;; rua=mailto:a@b").contains("empty term"));
        assert!(bad("v=TLSRPTv1; rua=mailto:a@b; bad").contains("name=value"));
    }
}

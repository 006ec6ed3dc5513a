//! Domain names as the evaluators and the resolver exchange them.

use std::fmt;

/// Why a string is not a usable DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty (or just ".").
    Empty,
    /// A label between dots is empty (`a..b`, or a leading dot).
    EmptyLabel,
    /// A label is longer than 63 octets (RFC 1035 2.3.4).
    LabelTooLong,
    /// The name is longer than 253 octets in text form (RFC 1035 2.3.4).
    NameTooLong,
    /// The name holds a byte that is not printable ASCII; internationalised
    /// names must be converted to A-labels (RFC 5890) before lookup.
    NotAscii,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::Empty => "empty domain name",
            NameError::EmptyLabel => "empty label in domain name",
            NameError::LabelTooLong => "label longer than 63 octets",
            NameError::NameTooLong => "domain name longer than 253 octets",
            NameError::NotAscii => "domain name is not ASCII (convert to A-labels first)",
        })
    }
}

impl std::error::Error for NameError {}

/// The canonical text form of a name: ASCII lower case, no trailing dot,
/// every label 1–63 octets, the whole at most 253 octets. Names compare
/// equal exactly when their canonical forms do (RFC 4343: case-insensitive).
pub fn normalize_name(name: &str) -> Result<String, NameError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(NameError::NotAscii);
    }
    if name.len() > 253 {
        return Err(NameError::NameTooLong);
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > 63 {
            return Err(NameError::LabelTooLong);
        }
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(normalize_name("Example.COM."), Ok("example.com".into()));
        assert_eq!(
            normalize_name("_dmarc.a-b.example"),
            Ok("_dmarc.a-b.example".into())
        );
        assert_eq!(normalize_name("."), Err(NameError::Empty));
        assert_eq!(normalize_name("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(normalize_name(".a"), Err(NameError::EmptyLabel));
        assert_eq!(normalize_name("bücher.example"), Err(NameError::NotAscii));
        assert_eq!(normalize_name("a b.example"), Err(NameError::NotAscii));
        let long_label = "a".repeat(64);
        assert_eq!(normalize_name(&long_label), Err(NameError::LabelTooLong));
        let long_name = ["a".repeat(63).as_str(); 4].join(".");
        assert_eq!(long_name.len(), 255);
        assert_eq!(normalize_name(&long_name), Err(NameError::NameTooLong));
    }
}

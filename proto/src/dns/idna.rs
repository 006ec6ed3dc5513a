//! Internationalised domain names (IDNA, RFC 5890 and 5891, with the
//! mapping of UTS #46): one canonical form for every comparison.
//!
//! A domain may reach the server in U-labels (`exämple.test`, in SMTPUTF8
//! commands and headers, or typed into a configuration file) or in
//! A-labels (`xn--exmple-cua.test`). Both name the same domain, so every
//! place that compares domains (local domains, account addresses, DKIM
//! signing domains, DMARC and SPF lookups) converts to the canonical form
//! first: A-labels, ASCII lower case, no trailing dot. This is what DNS
//! needs too (RFC 5891 5.4: lookups use A-labels).
//!
//! The conversion is UTS #46 non-transitional processing with the rules
//! of a lookup (as mox uses Go's `idna.Lookup` profile): STD3 ASCII rules,
//! hyphen checks, joiner and bidi rules, and DNS length limits. Names that
//! are all ASCII and have no `xn--` label take the fast path of
//! [`normalize_name`] (so `_dmarc.example.org` and other non-host names
//! keep working); an `xn--` label is decoded and checked like a U-label,
//! so an invalid A-label is refused too.

use std::fmt;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::name::{NameError, normalize_name};

/// Why a name is not a valid (internationalised) domain name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdnaError {
    /// An ASCII name that breaks a DNS rule ([`normalize_name`]).
    Name(NameError),
    /// A U-label or `xn--` label that IDNA (UTS #46, RFC 5891) refuses:
    /// disallowed code points, bad punycode, hyphen or bidi rules, or a
    /// label or name too long once converted.
    Invalid,
}

impl fmt::Display for IdnaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdnaError::Name(e) => e.fmt(f),
            IdnaError::Invalid => f.write_str("invalid internationalized domain name (IDNA)"),
        }
    }
}

impl std::error::Error for IdnaError {}

/// Whether `name` needs IDNA processing: it has a non-ASCII byte or a
/// label starting with `xn--` (any case).
fn needs_idna(name: &str) -> bool {
    !name.is_ascii()
        || name
            .split('.')
            .any(|l| l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--")))
}

/// The canonical form of a domain name: A-labels, ASCII lower case, no
/// trailing dot (one trailing dot is accepted). `Exämple.TEST.` and
/// `xn--exmple-cua.test` both give `xn--exmple-cua.test`.
pub fn domain_to_ascii(name: &str) -> Result<String, IdnaError> {
    if !needs_idna(name) {
        return normalize_name(name).map_err(IdnaError::Name);
    }
    let bare = name.strip_suffix('.').unwrap_or(name);
    let ascii = Uts46::new()
        .to_ascii(
            bare.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
            DnsLength::Verify,
        )
        .map_err(|_| IdnaError::Invalid)?;
    normalize_name(&ascii).map_err(IdnaError::Name)
}

/// The domain for people to read: U-labels where the name has valid
/// A-labels, else the name as given (lower case). For messages and logs;
/// never for comparison.
pub fn domain_to_unicode(name: &str) -> String {
    match domain_to_ascii(name) {
        Ok(ascii) if needs_idna(&ascii) => {
            let (text, res) =
                Uts46::new().to_unicode(ascii.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
            match res {
                Ok(()) => text.into_owned(),
                Err(_) => ascii,
            }
        }
        Ok(ascii) => ascii,
        Err(_) => name.to_lowercase(),
    }
}

/// The canonical form of an email address for lookups and storage: the
/// local part lower case (as accounts store it), the domain by
/// [`domain_to_ascii`]. An address whose domain is not a valid name, or
/// that has no `@`, is only lower-cased: it then matches nothing that was
/// stored canonically.
pub fn address_to_ascii(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => match domain_to_ascii(domain) {
            Ok(d) => format!("{}@{d}", local.to_lowercase()),
            Err(_) => address.to_lowercase(),
        },
        None => address.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_labels_and_a_labels_give_one_form() {
        assert_eq!(
            domain_to_ascii("exämple.test"),
            Ok("xn--exmple-cua.test".into())
        );
        assert_eq!(
            domain_to_ascii("EXÄMPLE.Test."),
            Ok("xn--exmple-cua.test".into())
        );
        assert_eq!(
            domain_to_ascii("XN--EXMPLE-CUA.test"),
            Ok("xn--exmple-cua.test".into())
        );
        assert_eq!(
            domain_to_ascii("bücher.example"),
            Ok("xn--bcher-kva.example".into())
        );
        // UTS #46 mapping: full-width dot and letters fold.
        assert_eq!(
            domain_to_ascii("ｅｘａｍｐｌｅ。ｔｅｓｔ"),
            Ok("example.test".into())
        );
        // Non-transitional: ß stays (not "ss").
        assert_eq!(domain_to_ascii("faß.de"), Ok("xn--fa-hia.de".into()));
        // The ASCII fast path keeps non-host names.
        assert_eq!(
            domain_to_ascii("_dmarc.Example.ORG."),
            Ok("_dmarc.example.org".into())
        );
    }

    #[test]
    fn invalid_names_are_refused() {
        // Bad punycode in an A-label.
        assert_eq!(domain_to_ascii("xn--a.test"), Err(IdnaError::Invalid));
        // A disallowed code point (U+2764 is fine, U+0000-like controls not).
        assert_eq!(domain_to_ascii("a\u{7f}ä.test"), Err(IdnaError::Invalid));
        // A label that starts with a combining mark.
        assert_eq!(domain_to_ascii("\u{300}a.test"), Err(IdnaError::Invalid));
        // Hyphen rules.
        assert_eq!(domain_to_ascii("-ä.test"), Err(IdnaError::Invalid));
        // Too long once converted (a label of 63 ä's is > 63 octets).
        let long = format!("{}.test", "ä".repeat(63));
        assert_eq!(domain_to_ascii(&long), Err(IdnaError::Invalid));
        assert_eq!(
            domain_to_ascii("a..b"),
            Err(IdnaError::Name(NameError::EmptyLabel))
        );
        assert_eq!(
            IdnaError::Invalid.to_string(),
            "invalid internationalized domain name (IDNA)"
        );
    }

    #[test]
    fn addresses_and_display() {
        assert_eq!(
            address_to_ascii("Jörg@Exämple.test"),
            "jörg@xn--exmple-cua.test"
        );
        assert_eq!(
            address_to_ascii("user@XN--exmple-cua.TEST"),
            "user@xn--exmple-cua.test"
        );
        assert_eq!(address_to_ascii("User@Example.ORG"), "user@example.org");
        assert_eq!(address_to_ascii("x@xn--a.test"), "x@xn--a.test");
        assert_eq!(address_to_ascii("NoAt"), "noat");
        assert_eq!(domain_to_unicode("xn--exmple-cua.TEST"), "exämple.test");
        assert_eq!(domain_to_unicode("Example.org"), "example.org");
    }
}

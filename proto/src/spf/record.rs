//! SPF record syntax (RFC 7208 4.5, 4.6, 5, 6, 7.1): record selection, terms,
//! mechanisms with qualifiers and dual CIDR lengths, modifiers.
//!
//! Every violation of the grammar is a [`ParseError`] naming the term at
//! fault; check_host turns it into `permerror` (RFC 7208 4.6: the whole
//! record is checked before any term is evaluated).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::macros::{MacroError, MacroString};

/// The version tag every SPF record starts with (RFC 7208 4.5).
pub const VERSION: &str = "v=spf1";

/// Whether a TXT record (its strings joined) is an SPF record: it starts
/// with `v=spf1`, case-insensitively, followed by a space or its end (RFC
/// 7208 4.5). Records that are not are none of SPF's business.
pub fn is_spf_record(txt: &[u8]) -> bool {
    let v = VERSION.as_bytes();
    txt.len() >= v.len()
        && txt[..v.len()].eq_ignore_ascii_case(v)
        && matches!(txt.get(v.len()), None | Some(b' '))
}

/// A directive's qualifier (RFC 7208 4.6.2); `+` when omitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    fn from_byte(b: u8) -> Option<Qualifier> {
        Some(match b {
            b'+' => Qualifier::Pass,
            b'-' => Qualifier::Fail,
            b'~' => Qualifier::SoftFail,
            b'?' => Qualifier::Neutral,
            _ => return None,
        })
    }

    /// The qualifier's character.
    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }
}

/// Prefix lengths for `a` and `mx` (RFC 7208 5.6 dual-cidr-length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DualCidr {
    pub v4: u8,
    pub v6: u8,
}

impl Default for DualCidr {
    fn default() -> Self {
        DualCidr { v4: 32, v6: 128 }
    }
}

/// A mechanism (RFC 7208 5). Domain-specs are kept unexpanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(MacroString),
    A {
        domain: Option<MacroString>,
        cidr: DualCidr,
    },
    Mx {
        domain: Option<MacroString>,
        cidr: DualCidr,
    },
    Ptr(Option<MacroString>),
    Ip4 {
        addr: Ipv4Addr,
        prefix: u8,
    },
    Ip6 {
        addr: Ipv6Addr,
        prefix: u8,
    },
    Exists(MacroString),
}

impl Mechanism {
    /// Whether evaluating it counts against the limit of 10 DNS-querying
    /// terms (RFC 7208 4.6.4).
    pub fn queries_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// A qualifier and a mechanism, with the term as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub qualifier: Qualifier,
    pub mechanism: Mechanism,
    /// The term as it stands in the record (for results and diagnostics).
    pub text: String,
}

/// A parsed SPF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The directives in record order.
    pub directives: Vec<Directive>,
    /// `redirect=` (RFC 7208 6.1).
    pub redirect: Option<MacroString>,
    /// `exp=` (RFC 7208 6.2).
    pub exp: Option<MacroString>,
    /// Other modifiers, `(name, value)`: ignored by evaluation (RFC 7208 6).
    pub unknown: Vec<(String, MacroString)>,
}

/// What is wrong with a term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The record does not start with `v=spf1` and a space or its end.
    NoVersion,
    /// A byte outside printable US-ASCII (RFC 7208 3.1, 4.6.1 ABNF).
    BadByte(u8),
    UnknownMechanism(String),
    /// `all` takes no argument.
    AllArgument,
    /// The mechanism needs `:domain-spec`.
    MissingDomain,
    /// `:` with nothing after it.
    EmptyDomain,
    /// The mechanism takes no CIDR length.
    UnexpectedCidr,
    /// A CIDR length that is malformed, has a leading zero, or is too large.
    BadCidr(String),
    BadIp4(String),
    BadIp6(String),
    /// A domain-spec that does not end in a macro or `.` top-label (RFC 7208 7.1).
    BadDomainEnd,
    Macro(MacroError),
    /// `redirect` or `exp` a second time (RFC 7208 6).
    DuplicateModifier(&'static str),
    /// Unparseable text after the mechanism name.
    Trailing(String),
}

/// A syntax error: the term at fault, where it starts in the record, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the term in the record text.
    pub position: usize,
    /// The term as written (lossy for non-UTF-8 bytes).
    pub term: String,
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::NoVersion => write!(f, "record must start with \"{VERSION}\""),
            ParseErrorKind::BadByte(b) => write!(
                f,
                "byte 0x{b:02x} is not allowed (records are printable US-ASCII, terms separated by spaces)"
            ),
            ParseErrorKind::UnknownMechanism(m) => write!(
                f,
                "unknown mechanism {m:?} (known: all include a mx ptr ip4 ip6 exists; modifiers are name=value)"
            ),
            ParseErrorKind::AllArgument => f.write_str("\"all\" takes no argument"),
            ParseErrorKind::MissingDomain => f.write_str("this mechanism needs \":domain\""),
            ParseErrorKind::EmptyDomain => f.write_str("empty domain after \":\" or \"=\""),
            ParseErrorKind::UnexpectedCidr => f.write_str("this term takes no CIDR length"),
            ParseErrorKind::BadCidr(c) => write!(
                f,
                "bad CIDR length {c:?} (ip4 0-32, ip6 0-128, no leading zeros, ip6 after \"//\")"
            ),
            ParseErrorKind::BadIp4(a) => write!(f, "bad IPv4 network {a:?}"),
            ParseErrorKind::BadIp6(a) => write!(f, "bad IPv6 network {a:?}"),
            ParseErrorKind::BadDomainEnd => f.write_str(
                "domain must end in a macro or a \".\" and a top-level label (letters, digits, inner dashes, not all digits)",
            ),
            ParseErrorKind::Macro(e) => write!(f, "{e}"),
            ParseErrorKind::DuplicateModifier(m) => write!(f, "\"{m}=\" appears twice"),
            ParseErrorKind::Trailing(t) => write!(f, "unexpected {t:?}"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "term {:?} at byte {}: {}",
            self.term, self.position, self.kind
        )
    }
}

impl std::error::Error for ParseError {}

impl Record {
    /// Parses a whole record (TXT strings already joined), `v=spf1` included
    /// (RFC 7208 4.6.1: `record = version terms *SP`).
    pub fn parse(text: &[u8]) -> Result<Record, ParseError> {
        if !is_spf_record(text) {
            return Err(ParseError {
                position: 0,
                term: lossy(text.get(..VERSION.len()).unwrap_or(text)),
                kind: ParseErrorKind::NoVersion,
            });
        }
        let mut record = Record {
            directives: Vec::new(),
            redirect: None,
            exp: None,
            unknown: Vec::new(),
        };
        let mut pos = VERSION.len();
        while pos < text.len() {
            if text[pos] == b' ' {
                pos += 1;
                continue;
            }
            let end = text[pos..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(text.len(), |i| pos + i);
            let raw = &text[pos..end];
            let err = |kind| ParseError {
                position: pos,
                term: lossy(raw),
                kind,
            };
            if let Some(&b) = raw.iter().find(|&&b| !(0x21..=0x7e).contains(&b)) {
                return Err(err(ParseErrorKind::BadByte(b)));
            }
            // Checked printable ASCII above, so this is always valid UTF-8.
            let term = std::str::from_utf8(raw).map_err(|_| err(ParseErrorKind::BadByte(0x80)))?;
            parse_term(term, &mut record).map_err(err)?;
            pos = end;
        }
        Ok(record)
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )` followed by `=`.
fn modifier_name(term: &str) -> Option<(&str, &str)> {
    let (name, value) = term.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    .then_some((name, value))
}

fn parse_term(term: &str, record: &mut Record) -> Result<(), ParseErrorKind> {
    if let Some((name, value)) = modifier_name(term) {
        // RFC 7208 6: redirect and exp at most once; their values are
        // domain-specs. Unknown modifiers need a valid macro-string.
        if name.eq_ignore_ascii_case("redirect") || name.eq_ignore_ascii_case("exp") {
            let which = if name.eq_ignore_ascii_case("redirect") {
                "redirect"
            } else {
                "exp"
            };
            let spec = domain_spec(value)?;
            let slot = if which == "redirect" {
                &mut record.redirect
            } else {
                &mut record.exp
            };
            if slot.is_some() {
                return Err(ParseErrorKind::DuplicateModifier(which));
            }
            *slot = Some(spec);
        } else {
            let value = MacroString::parse(value, false).map_err(ParseErrorKind::Macro)?;
            record.unknown.push((name.to_string(), value));
        }
        return Ok(());
    }
    let bytes = term.as_bytes();
    let (qualifier, rest) = match bytes.first().copied().and_then(Qualifier::from_byte) {
        Some(q) => (q, &term[1..]),
        None => (Qualifier::Pass, term),
    };
    let name_end = rest.find([':', '/']).unwrap_or(rest.len());
    let (name, args) = rest.split_at(name_end);
    let mechanism = match name.to_ascii_lowercase().as_str() {
        "all" if args.is_empty() => Mechanism::All,
        "all" => return Err(ParseErrorKind::AllArgument),
        "include" => Mechanism::Include(required_domain(args)?),
        "exists" => Mechanism::Exists(required_domain(args)?),
        "ptr" => match args.strip_prefix(':') {
            Some(d) => Mechanism::Ptr(Some(domain_spec(d)?)),
            None if args.is_empty() => Mechanism::Ptr(None),
            None => return Err(ParseErrorKind::UnexpectedCidr),
        },
        "a" => {
            let (domain, cidr) = domain_and_cidr(args)?;
            Mechanism::A { domain, cidr }
        }
        "mx" => {
            let (domain, cidr) = domain_and_cidr(args)?;
            Mechanism::Mx { domain, cidr }
        }
        "ip4" => {
            let value = args
                .strip_prefix(':')
                .ok_or(ParseErrorKind::MissingDomain)?;
            let (addr, cidr) = value
                .split_once('/')
                .map_or((value, None), |(a, c)| (a, Some(c)));
            let addr = addr
                .parse::<Ipv4Addr>()
                .map_err(|_| ParseErrorKind::BadIp4(value.to_string()))?;
            let prefix = match cidr {
                Some(c) => cidr_length(c, 32)?,
                None => 32,
            };
            Mechanism::Ip4 { addr, prefix }
        }
        "ip6" => {
            let value = args
                .strip_prefix(':')
                .ok_or(ParseErrorKind::MissingDomain)?;
            let (addr, cidr) = value
                .split_once('/')
                .map_or((value, None), |(a, c)| (a, Some(c)));
            let addr = addr
                .parse::<Ipv6Addr>()
                .map_err(|_| ParseErrorKind::BadIp6(value.to_string()))?;
            let prefix = match cidr {
                Some(c) => cidr_length(c, 128)?,
                None => 128,
            };
            Mechanism::Ip6 { addr, prefix }
        }
        _ => return Err(ParseErrorKind::UnknownMechanism(name.to_string())),
    };
    record.directives.push(Directive {
        qualifier,
        mechanism,
        text: term.to_string(),
    });
    Ok(())
}

/// `":" domain-spec` with no CIDR length (include, exists).
fn required_domain(args: &str) -> Result<MacroString, ParseErrorKind> {
    match args.strip_prefix(':') {
        Some(d) => domain_spec(d),
        None if args.is_empty() => Err(ParseErrorKind::MissingDomain),
        None => Err(ParseErrorKind::UnexpectedCidr),
    }
}

/// `[ ":" domain-spec ] [ dual-cidr-length ]` (a, mx). The CIDR lengths are
/// taken from the end, so a domain-spec may hold `/` and `:` (RFC 7208 7.1:
/// any visible character).
fn domain_and_cidr(args: &str) -> Result<(Option<MacroString>, DualCidr), ParseErrorKind> {
    let mut rest = args;
    let mut cidr = DualCidr::default();
    if let Some(i) = rest.rfind("//")
        && is_digits(&rest[i + 2..])
    {
        cidr.v6 = cidr_length(&rest[i + 2..], 128)?;
        rest = &rest[..i];
    }
    if let Some(i) = rest.rfind('/')
        && is_digits(&rest[i + 1..])
        && !rest[..i].ends_with('/')
    {
        cidr.v4 = cidr_length(&rest[i + 1..], 32)?;
        rest = &rest[..i];
    }
    match rest.strip_prefix(':') {
        Some(d) => Ok((Some(domain_spec(d)?), cidr)),
        None if rest.is_empty() => Ok((None, cidr)),
        None if rest.starts_with('/') => Err(ParseErrorKind::BadCidr(rest.to_string())),
        None => Err(ParseErrorKind::Trailing(rest.to_string())),
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A CIDR length without its slash: `"0" / %x31-39 0*nDIGIT`, at most
/// `max` (RFC 7208 5.6; leading zeros are not allowed, as for addresses).
fn cidr_length(s: &str, max: u8) -> Result<u8, ParseErrorKind> {
    let bad = || ParseErrorKind::BadCidr(format!("/{s}"));
    if !is_digits(s) || (s.len() > 1 && s.starts_with('0')) || s.len() > 3 {
        return Err(bad());
    }
    match s.parse::<u8>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(bad()),
    }
}

/// A domain-spec (RFC 7208 7.1): `macro-string domain-end`, where
/// `domain-end = ( "." toplabel [ "." ] ) / macro-expand`.
pub fn domain_spec(s: &str) -> Result<MacroString, ParseErrorKind> {
    if s.is_empty() {
        return Err(ParseErrorKind::EmptyDomain);
    }
    let spec = MacroString::parse(s, false).map_err(ParseErrorKind::Macro)?;
    if spec.ends_with_macro() {
        return Ok(spec);
    }
    let tail = spec.literal_tail();
    let tail = tail.strip_suffix('.').unwrap_or(tail);
    match tail.rsplit_once('.') {
        Some((_, top)) if is_toplabel(top) => Ok(spec),
        _ => Err(ParseErrorKind::BadDomainEnd),
    }
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) /
///             ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`.
fn is_toplabel(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return false;
    }
    if b.contains(&b'-') {
        first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
    } else {
        b.iter().any(u8::is_ascii_alphabetic)
    }
}

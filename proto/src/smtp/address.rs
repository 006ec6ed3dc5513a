//! SMTP paths and their parts (RFC 5321 4.1.2, 4.1.3; UTF-8 extensions of
//! RFC 6531 3.3): mailboxes with dot-string or quoted local parts, domains,
//! address literals, and the EHLO/HELO argument.
//!
//! Parsers take the bytes after the verb and return what they read plus the
//! number of bytes used; UTF-8 is accepted everywhere, the connection
//! checks it against the SMTPUTF8 parameter (RFC 6531 3.5).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address literal: `[192.0.2.1]`, `[IPv6:2001:db8::1]` or a general
/// `[tag:content]` (RFC 5321 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressLiteral {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// `Standardized-tag ":" 1*dcontent`.
    General {
        /// The tag before the colon.
        tag: String,
        /// The content after it.
        content: String,
    },
}

impl fmt::Display for AddressLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressLiteral::Ip(IpAddr::V4(a)) => write!(f, "[{a}]"),
            AddressLiteral::Ip(IpAddr::V6(a)) => write!(f, "[IPv6:{a}]"),
            AddressLiteral::General { tag, content } => write!(f, "[{tag}:{content}]"),
        }
    }
}

/// The part after `@`, or the EHLO/HELO argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain as the client wrote it (ASCII or U-labels).
    Domain(String),
    /// An address literal.
    Literal(AddressLiteral),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Literal(l) => l.fmt(f),
        }
    }
}

/// `Local-part "@" ( Domain / address-literal )`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// The local part with quoting removed (`"a b"@x` gives `a b`).
    pub local_part: String,
    /// The domain or address literal.
    pub host: Host,
}

impl Mailbox {
    /// True when the address is all ASCII (no SMTPUTF8 needed).
    pub fn is_ascii(&self) -> bool {
        self.local_part.is_ascii()
            && match &self.host {
                Host::Domain(d) => d.is_ascii(),
                Host::Literal(_) => true,
            }
    }
}

impl fmt::Display for Mailbox {
    /// The address in SMTP syntax, quoting the local part when it is not a
    /// dot-string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_dot_string(self.local_part.as_bytes()) {
            f.write_str(&self.local_part)?;
        } else {
            f.write_str("\"")?;
            for c in self.local_part.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        write!(f, "@{}", self.host)
    }
}

/// The RCPT TO argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath {
    /// `<Postmaster>` without a domain (RFC 5321 4.1.1.3).
    Postmaster,
    /// A mailbox.
    Mailbox(Mailbox),
}

impl ForwardPath {
    /// True when the path is all ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => m.is_ascii(),
        }
    }
}

/// The MAIL FROM argument: `None` is the null path `<>`.
pub type ReversePath = Option<Mailbox>;

/// atext of RFC 5322 3.2.3, plus UTF-8 (RFC 6531 3.3).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// Dot-string = Atom *("." Atom).
fn is_dot_string(s: &[u8]) -> bool {
    !s.is_empty()
        && s.split(|&b| b == b'.')
            .all(|atom| !atom.is_empty() && atom.iter().all(|&b| is_atext(b)))
}

/// A cursor over the bytes of a command line.
pub(crate) struct Cursor<'a> {
    pub(crate) s: &'a [u8],
    pub(crate) i: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Cursor { s, i: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `word` ASCII case-insensitively.
    pub(crate) fn eat_ci(&mut self, word: &[u8]) -> bool {
        match self.s.get(self.i..self.i + word.len()) {
            Some(w) if w.eq_ignore_ascii_case(word) => {
                self.i += word.len();
                true
            }
            _ => false,
        }
    }

    /// Consumes bytes while `f` holds and returns them.
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        self.s.get(start..self.i).unwrap_or_default()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.s.get(self.i..).unwrap_or_default()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
}

/// Why a path or domain did not parse; the text of a 501 reply.
pub type SyntaxError = &'static str;

fn utf8(b: &[u8]) -> Result<String, SyntaxError> {
    String::from_utf8(b.to_vec()).map_err(|_| "invalid UTF-8")
}

/// `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig
/// [Ldh-str]` or a U-label. With `lenient`, `_` is allowed too (Windows
/// host names in EHLO, as most servers accept).
pub(crate) fn domain(c: &mut Cursor<'_>, lenient: bool) -> Result<String, SyntaxError> {
    let raw = c.take_while(|b| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b >= 0x80 || (lenient && b == b'_')
    });
    if raw.is_empty() {
        return Err("domain expected");
    }
    // A trailing dot (FQDN form) is accepted in EHLO only.
    let body = match raw.strip_suffix(b".") {
        Some(b) if lenient => b,
        _ => raw,
    };
    for label in body.split(|&b| b == b'.') {
        if label.is_empty() || label.len() > 63 {
            return Err("invalid domain label");
        }
        if label.first() == Some(&b'-') || label.last() == Some(&b'-') {
            return Err("domain label starts or ends with a hyphen");
        }
    }
    if raw.len() > 255 {
        return Err("domain too long");
    }
    let text = utf8(raw)?;
    // U-labels (SMTPUTF8, RFC 6531 3.3) and A-labels must be valid IDNA
    // (RFC 5891): the domain is compared and looked up in A-labels.
    if (!text.is_ascii() || text.to_ascii_lowercase().contains("xn--"))
        && crate::dns::domain_to_ascii(&text).is_err()
    {
        return Err("invalid internationalized domain name (IDNA, RFC 5891)");
    }
    Ok(text)
}

/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]"` (RFC 5321 4.1.3).
pub(crate) fn address_literal(c: &mut Cursor<'_>) -> Result<AddressLiteral, SyntaxError> {
    if !c.eat(b'[') {
        return Err("address literal expected");
    }
    let inner = c.take_while(|b| b != b']' && (33..=126).contains(&b));
    if !c.eat(b']') {
        return Err("address literal not closed");
    }
    let text = std::str::from_utf8(inner).map_err(|_| "invalid address literal")?;
    if let Some(v6) = text
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("IPv6:"))
        .and_then(|_| text.get(5..))
    {
        return v6
            .parse::<Ipv6Addr>()
            .map(|a| AddressLiteral::Ip(IpAddr::V6(a)))
            .map_err(|_| "invalid IPv6 address literal");
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return text
            .parse::<Ipv4Addr>()
            .map(|a| AddressLiteral::Ip(IpAddr::V4(a)))
            .map_err(|_| "invalid IPv4 address literal");
    }
    // General-address-literal = Standardized-tag ":" 1*dcontent.
    let (tag, content) = text.split_once(':').ok_or("invalid address literal")?;
    let tag_ok = !tag.is_empty()
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tag.ends_with('-');
    let content_ok = !content.is_empty()
        && content
            .bytes()
            .all(|b| (33..=90).contains(&b) || (94..=126).contains(&b));
    if !tag_ok || !content_ok {
        return Err("invalid address literal");
    }
    Ok(AddressLiteral::General {
        tag: tag.to_string(),
        content: content.to_string(),
    })
}

/// A domain or an address literal.
pub(crate) fn host(c: &mut Cursor<'_>, lenient: bool) -> Result<Host, SyntaxError> {
    if c.peek() == Some(b'[') {
        address_literal(c).map(Host::Literal)
    } else {
        domain(c, lenient).map(Host::Domain)
    }
}

/// `Local-part = Dot-string / Quoted-string`, returned unquoted.
fn local_part(c: &mut Cursor<'_>) -> Result<String, SyntaxError> {
    if c.eat(b'"') {
        let mut out = Vec::new();
        loop {
            match c.peek() {
                None => return Err("unterminated quoted local part"),
                Some(b'"') => {
                    c.i += 1;
                    break;
                }
                // quoted-pairSMTP = %d92 %d32-126
                Some(b'\\') => {
                    c.i += 1;
                    match c.peek() {
                        Some(b) if (32..=126).contains(&b) => {
                            out.push(b);
                            c.i += 1;
                        }
                        _ => return Err("invalid quoted pair in local part"),
                    }
                }
                // qtextSMTP = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
                Some(b) if (32..=126).contains(&b) || b >= 0x80 => {
                    out.push(b);
                    c.i += 1;
                }
                Some(_) => return Err("invalid character in quoted local part"),
            }
        }
        utf8(&out)
    } else {
        let raw = c.take_while(|b| is_atext(b) || b == b'.');
        if !is_dot_string(raw) {
            return Err("invalid local part");
        }
        utf8(raw)
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`.
pub(crate) fn mailbox(c: &mut Cursor<'_>) -> Result<Mailbox, SyntaxError> {
    let local_part = local_part(c)?;
    if !c.eat(b'@') {
        return Err("@ expected in address");
    }
    let host = host(c, false)?;
    Ok(Mailbox { local_part, host })
}

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"`; a source route (`A-d-l`) is
/// read and ignored (RFC 5321 4.1.2, C).
fn path_inner(c: &mut Cursor<'_>) -> Result<Mailbox, SyntaxError> {
    if c.peek() == Some(b'@') {
        loop {
            if !c.eat(b'@') {
                return Err("invalid source route");
            }
            domain(c, false)?;
            if c.eat(b':') {
                break;
            }
            if !c.eat(b',') {
                return Err("invalid source route");
            }
        }
    }
    mailbox(c)
}

/// `Reverse-path = Path / "<>"`.
pub(crate) fn reverse_path(c: &mut Cursor<'_>) -> Result<ReversePath, SyntaxError> {
    if !c.eat(b'<') {
        return Err("< expected before the address");
    }
    if c.eat(b'>') {
        return Ok(None);
    }
    let m = path_inner(c)?;
    if !c.eat(b'>') {
        return Err("> expected after the address");
    }
    Ok(Some(m))
}

/// `Forward-path = Path`, or `<Postmaster>` (RFC 5321 4.1.1.3).
pub(crate) fn forward_path(c: &mut Cursor<'_>) -> Result<ForwardPath, SyntaxError> {
    if !c.eat(b'<') {
        return Err("< expected before the address");
    }
    let save = c.i;
    if c.eat_ci(b"postmaster>") {
        return Ok(ForwardPath::Postmaster);
    }
    c.i = save;
    let m = path_inner(c)?;
    if !c.eat(b'>') {
        return Err("> expected after the address");
    }
    Ok(ForwardPath::Mailbox(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(s: &str) -> Result<ReversePath, SyntaxError> {
        let mut c = Cursor::new(s.as_bytes());
        let r = reverse_path(&mut c)?;
        if !c.at_end() {
            return Err("trailing");
        }
        Ok(r)
    }

    fn mb(local: &str, domain: &str) -> Mailbox {
        Mailbox {
            local_part: local.into(),
            host: Host::Domain(domain.into()),
        }
    }

    #[test]
    fn paths() {
        assert_eq!(rp("<>"), Ok(None));
        assert_eq!(rp("<a.b@x.example>"), Ok(Some(mb("a.b", "x.example"))));
        assert_eq!(
            rp("<@hosta.int,@jkl.org:userc@d.bar.org>"),
            Ok(Some(mb("userc", "d.bar.org")))
        );
        assert_eq!(rp("<\"a b\\\"c\"@x>"), Ok(Some(mb("a b\"c", "x"))));
        assert_eq!(
            rp("<jörg@bücher.example>"),
            Ok(Some(mb("jörg", "bücher.example")))
        );
        assert_eq!(
            rp("<u@[192.0.2.1]>"),
            Ok(Some(Mailbox {
                local_part: "u".into(),
                host: Host::Literal(AddressLiteral::Ip("192.0.2.1".parse().unwrap())),
            }))
        );
        for bad in [
            "a@b",
            "<a@b",
            "<a..b@c>",
            "<.a@c>",
            "<a@-c>",
            "<a@c..d>",
            "<a>",
            "<@x:>",
            "<\"a@b>",
            "<a@[1.2.3]>",
            "<a@[IPv6:zz]>",
            "<@x,y:a@b>",
            "<a b@c>",
        ] {
            assert!(rp(bad).is_err(), "{bad}");
        }
        let mut c = Cursor::new(b"<PostMaster>");
        assert_eq!(forward_path(&mut c), Ok(ForwardPath::Postmaster));
        let mut c = Cursor::new(b"<postmaster@x>");
        assert_eq!(
            forward_path(&mut c),
            Ok(ForwardPath::Mailbox(mb("postmaster", "x")))
        );
    }

    #[test]
    fn display_quotes_when_needed() {
        assert_eq!(mb("a.b", "x").to_string(), "a.b@x");
        assert_eq!(mb("a b\"", "x").to_string(), "\"a b\\\"\"@x");
        assert_eq!(mb("a..b", "x").to_string(), "\"a..b\"@x");
        let m = Mailbox {
            local_part: "u".into(),
            host: Host::Literal(AddressLiteral::Ip("2001:db8::1".parse().unwrap())),
        };
        assert_eq!(m.to_string(), "u@[IPv6:2001:db8::1]");
        assert!(!mb("jörg", "x").is_ascii());
    }

    #[test]
    fn hosts() {
        let h = |s: &str, l| host(&mut Cursor::new(s.as_bytes()), l);
        assert_eq!(
            h("my_pc.local", true),
            Ok(Host::Domain("my_pc.local".into()))
        );
        assert_eq!(h("my_pc.local", false), Ok(Host::Domain("my".into())));
        assert_eq!(h("x.example.", true), Ok(Host::Domain("x.example.".into())));
        assert_eq!(
            h("[x-tag:abc]", false),
            Ok(Host::Literal(AddressLiteral::General {
                tag: "x-tag".into(),
                content: "abc".into()
            }))
        );
        assert!(h(&"a".repeat(64), false).is_err());
        // U-labels stay as sent; invalid IDNs are syntax errors.
        assert_eq!(
            h("exämple.test", false),
            Ok(Host::Domain("exämple.test".into()))
        );
        assert_eq!(
            h("xn--exmple-cua.test", false),
            Ok(Host::Domain("xn--exmple-cua.test".into()))
        );
        let idna = Err("invalid internationalized domain name (IDNA, RFC 5891)");
        assert_eq!(h("xn--a.test", false), idna);
        assert_eq!(h("\u{300}a.test", false), idna);
    }
}

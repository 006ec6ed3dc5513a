//! SPF macros (RFC 7208 7): parsing of macro-strings and explain-strings,
//! expansion with transformers and delimiters, URL-escaping of upper-case
//! macro letters, truncation of expanded domain names.

use std::fmt;
use std::net::IpAddr;

/// One piece of a macro-string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text (visible characters other than `%`; spaces in
    /// explanations).
    Literal(String),
    /// `%{…}`: a letter with its transformers and delimiters.
    Macro(Macro),
    /// `%%`: a percent sign.
    Percent,
    /// `%_`: a space.
    Space,
    /// `%-`: `%20`, a URL-encoded space.
    UrlSpace,
}

/// `"%{" macro-letter transformers *delimiter "}"` (RFC 7208 7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// The letter in lower case: one of `slodiphv`, or `crt` in explanations.
    pub letter: char,
    /// Upper-case letter: the value is URL-escaped (RFC 7208 7.3).
    pub escape: bool,
    /// Keep this many right-hand parts (`None`: all).
    pub keep: Option<usize>,
    /// `r`: reverse the parts.
    pub reverse: bool,
    /// Split on these characters; empty means `.`.
    pub delimiters: String,
}

/// A parsed macro-string (a domain-spec, a modifier value, or an
/// explanation text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroString {
    pieces: Vec<Piece>,
    text: String,
}

/// Why a macro-string is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroError {
    /// `%` followed by something other than `{`, `%`, `_` or `-`.
    BadPercent(usize),
    /// `%{` without a closing `}`.
    Unterminated(usize),
    /// A letter not allowed here (`c`, `r`, `t` only in explanations).
    BadLetter(char, usize),
    /// A digit transformer of zero (RFC 7208 7.3).
    ZeroDigits(usize),
    /// A character inside `%{…}` that is no transformer or delimiter.
    BadTransformer(char, usize),
    /// A byte outside the allowed set (control characters, non-ASCII).
    BadChar(usize),
}

impl fmt::Display for MacroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacroError::BadPercent(i) => write!(
                f,
                "\"%\" at offset {i} must be followed by \"{{\", \"%\", \"_\" or \"-\" (write \"%%\" for a percent sign)"
            ),
            MacroError::Unterminated(i) => write!(f, "macro at offset {i} has no closing \"}}\""),
            MacroError::BadLetter(c, i) => write!(
                f,
                "macro letter {c:?} at offset {i} is not allowed here (slodiphv; c, r, t only in explanation text)"
            ),
            MacroError::ZeroDigits(i) => {
                write!(f, "macro at offset {i}: a digit transformer must not be 0")
            }
            MacroError::BadTransformer(c, i) => write!(
                f,
                "macro at offset {i}: {c:?} is not a transformer or delimiter (digits, r, then . - + , / _ =)"
            ),
            MacroError::BadChar(i) => write!(f, "character at offset {i} is not allowed"),
        }
    }
}

impl std::error::Error for MacroError {}

/// The values macros expand to (RFC 7208 7.2).
#[derive(Debug, Clone)]
pub struct MacroContext<'a> {
    /// `s`: the sender, `local@domain`.
    pub sender: &'a str,
    /// `l`: the local-part of the sender.
    pub local: &'a str,
    /// `o`: the domain of the sender.
    pub sender_domain: &'a str,
    /// `d`: the domain being checked.
    pub domain: &'a str,
    /// `i`, `c`, `v`: the client address (IPv4-mapped addresses as IPv4).
    pub ip: IpAddr,
    /// `h`: the HELO/EHLO domain.
    pub helo: &'a str,
    /// `p`: the validated domain name of the client, when known.
    pub validated: &'a str,
    /// `r`: the receiving host's domain name.
    pub receiver: &'a str,
    /// `t`: seconds since the Unix epoch.
    pub timestamp: u64,
}

/// The longest domain name an expansion may produce (RFC 7208 7.3).
const MAX_NAME: usize = 253;

impl MacroString {
    /// Parses `s`; `explain` allows spaces and the letters `c`, `r`, `t`
    /// (an explain-string, RFC 7208 6.2).
    pub fn parse(s: &str, explain: bool) -> Result<MacroString, MacroError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let b = s.as_bytes();
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            if c != b'%' {
                // macro-literal = %x21-24 / %x26-7E; explanations add SP.
                if !((0x21..=0x7e).contains(&c) || (explain && c == b' ')) {
                    return Err(MacroError::BadChar(i));
                }
                literal.push(char::from(c));
                i += 1;
                continue;
            }
            let piece = match b.get(i + 1) {
                Some(b'%') => Piece::Percent,
                Some(b'_') => Piece::Space,
                Some(b'-') => Piece::UrlSpace,
                Some(b'{') => {
                    let close = s[i..]
                        .find('}')
                        .map(|j| i + j)
                        .ok_or(MacroError::Unterminated(i))?;
                    let m = parse_macro(&s[i + 2..close], explain, i)?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Macro(m));
                    i = close + 1;
                    continue;
                }
                _ => return Err(MacroError::BadPercent(i)),
            };
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(piece);
            i += 2;
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(MacroString {
            pieces,
            text: s.to_string(),
        })
    }

    /// The pieces in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the last piece is a macro-expand (`%{…}`, `%%`, `%_`, `%-`).
    pub fn ends_with_macro(&self) -> bool {
        matches!(self.pieces.last(), Some(p) if !matches!(p, Piece::Literal(_)))
    }

    /// The literal text after the last macro-expand.
    pub fn literal_tail(&self) -> &str {
        match self.pieces.last() {
            Some(Piece::Literal(l)) => l,
            _ => "",
        }
    }

    /// Whether expansion needs the validated domain name (`%{p}`), which
    /// costs DNS lookups.
    pub fn uses_validated_name(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Macro(m) if m.letter == 'p'))
    }

    /// Expands the string as text (an explanation, RFC 7208 6.2).
    pub fn expand(&self, ctx: &MacroContext<'_>) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Literal(l) => out.push_str(l),
                Piece::Percent => out.push('%'),
                Piece::Space => out.push(' '),
                Piece::UrlSpace => out.push_str("%20"),
                Piece::Macro(m) => out.push_str(&m.expand(ctx)),
            }
        }
        out
    }

    /// Expands the string as a domain name to look up: the trailing dot is
    /// dropped and, over 253 octets, labels are removed from the left until
    /// it fits (RFC 7208 7.3).
    pub fn expand_domain(&self, ctx: &MacroContext<'_>) -> String {
        let full = self.expand(ctx);
        let mut name = full.strip_suffix('.').unwrap_or(&full);
        while name.len() > MAX_NAME {
            match name.split_once('.') {
                Some((_, rest)) => name = rest,
                None => break,
            }
        }
        name.to_string()
    }
}

impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The inside of `%{…}`: letter, `*DIGIT`, optional `r`, delimiters.
fn parse_macro(inner: &str, explain: bool, at: usize) -> Result<Macro, MacroError> {
    let mut chars = inner.chars();
    let raw = chars.next().ok_or(MacroError::BadLetter('}', at))?;
    let letter = raw.to_ascii_lowercase();
    let allowed = "slodiphv".contains(letter) || (explain && "crt".contains(letter));
    if !raw.is_ascii_alphabetic() || !allowed {
        return Err(MacroError::BadLetter(raw, at));
    }
    let rest = chars.as_str();
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, rest) = rest.split_at(digits_end);
    let keep = if digits.is_empty() {
        None
    } else {
        // More parts than any name has behave like "all"; cap the number.
        let n = digits
            .trim_start_matches('0')
            .get(..4)
            .unwrap_or(digits.trim_start_matches('0'))
            .parse::<usize>()
            .unwrap_or(0);
        if n == 0 {
            return Err(MacroError::ZeroDigits(at));
        }
        Some(n)
    };
    let (reverse, delims) = match rest.strip_prefix(['r', 'R']) {
        Some(d) => (true, d),
        None => (false, rest),
    };
    if let Some(c) = delims.chars().find(|c| !".-+,/_=".contains(*c)) {
        return Err(MacroError::BadTransformer(c, at));
    }
    Ok(Macro {
        letter,
        escape: raw.is_ascii_uppercase(),
        keep,
        reverse,
        delimiters: delims.to_string(),
    })
}

impl Macro {
    fn expand(&self, ctx: &MacroContext<'_>) -> String {
        let value = match self.letter {
            's' => ctx.sender.to_string(),
            'l' => ctx.local.to_string(),
            'o' => ctx.sender_domain.to_string(),
            'd' => ctx.domain.to_string(),
            'i' => dot_format(ctx.ip),
            'p' => ctx.validated.to_string(),
            'v' => match ctx.ip {
                IpAddr::V4(_) => "in-addr".to_string(),
                IpAddr::V6(_) => "ip6".to_string(),
            },
            'h' => ctx.helo.to_string(),
            'c' => ctx.ip.to_string(),
            'r' => ctx.receiver.to_string(),
            't' => ctx.timestamp.to_string(),
            _ => String::new(),
        };
        let value = self.transform(&value);
        if self.escape {
            url_escape(&value)
        } else {
            value
        }
    }

    /// Split on the delimiters, reverse, keep the right-hand parts, join
    /// with dots (RFC 7208 7.3).
    fn transform(&self, value: &str) -> String {
        if self.keep.is_none() && !self.reverse && self.delimiters.is_empty() {
            return value.to_string();
        }
        let delims = if self.delimiters.is_empty() {
            "."
        } else {
            &self.delimiters
        };
        let mut parts: Vec<&str> = value.split(|c| delims.contains(c)).collect();
        if self.reverse {
            parts.reverse();
        }
        if let Some(n) = self.keep
            && n < parts.len()
        {
            parts.drain(..parts.len() - n);
        }
        parts.join(".")
    }
}

/// `i`: dotted quad for IPv4, 32 dot-separated lower-case nibbles for IPv6
/// (RFC 7208 7.3).
pub fn dot_format(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(63);
            for byte in v6.octets() {
                for nibble in [byte >> 4, byte & 0xf] {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                }
            }
            out
        }
    }
}

/// Escapes everything but the URI unreserved characters (RFC 3986 2.3) as
/// `%XX`, as upper-case macro letters require (RFC 7208 7.3).
pub fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "macros_tests.rs"]
mod tests;

//! Address lists (RFC 5322 3.4) in the shape of the IMAP ENVELOPE
//! (RFC 9051 7.5.2): each address is (name, adl, mailbox, host), and a group
//! is written as a start marker (host NIL, mailbox = group name) followed by
//! its members and an end marker (all NIL).
//!
//! Values are kept as bytes as they appear in the header: encoded-words in
//! display names are not decoded (IMAP servers send them as written), quotes
//! and comments are removed, runs of whitespace become one space.

use super::header::Scanner;

/// One ENVELOPE address structure (RFC 9051 7.5.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Address {
    /// Display name (phrase), `None` when absent or empty.
    pub name: Option<Vec<u8>>,
    /// Source route (`@a,@b`, obsolete RFC 5322 4.4), usually `None`.
    pub adl: Option<Vec<u8>>,
    /// Local part; for a group start marker the group name; `None` for a
    /// group end marker.
    pub mailbox: Option<Vec<u8>>,
    /// Domain; `None` only for group markers. An address without a domain
    /// has an empty host.
    pub host: Option<Vec<u8>>,
}

impl Address {
    /// A plain mailbox address.
    pub fn mailbox(name: Option<Vec<u8>>, local: Vec<u8>, host: Vec<u8>) -> Address {
        Address {
            name: name.filter(|n| !n.is_empty()),
            adl: None,
            mailbox: Some(local),
            host: Some(host),
        }
    }

    /// The marker that opens a group (RFC 9051 7.5.2: host NIL, mailbox is
    /// the group name).
    pub fn group_start(name: Vec<u8>) -> Address {
        Address {
            name: None,
            adl: None,
            mailbox: Some(name),
            host: None,
        }
    }

    /// The marker that closes a group (all four fields NIL).
    pub fn group_end() -> Address {
        Address::default()
    }

    /// True for a group start marker.
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some()
    }

    /// True for a group end marker.
    pub fn is_group_end(&self) -> bool {
        self.host.is_none() && self.mailbox.is_none()
    }
}

/// A lexical token of a structured header (RFC 5322 3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An atom or dot-atom piece (never contains specials).
    Atom(Vec<u8>),
    /// A quoted string, unquoted.
    Quoted(Vec<u8>),
    /// A domain literal including its brackets.
    Literal(Vec<u8>),
    /// One of `<>@,;:.` and other specials.
    Special(u8),
}

/// A token plus whether whitespace (or a comment) preceded it.
#[derive(Debug, Clone)]
struct Lexeme {
    token: Token,
    spaced: bool,
    /// The content of the last comment before this token, if any.
    comment: Option<Vec<u8>>,
}

fn is_atext(b: u8) -> bool {
    b > b' '
        && b != 0x7f
        && !matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'['
                | b']'
                | b':'
                | b';'
                | b'@'
                | b'\\'
                | b','
                | b'.'
                | b'"'
        )
}

/// Splits an unfolded header value into lexemes; comments are dropped but
/// remembered on the following lexeme (or returned as the trailing comment).
fn lex(value: &[u8]) -> (Vec<Lexeme>, Option<Vec<u8>>) {
    let mut sc = Scanner::new(value);
    let mut out = Vec::new();
    loop {
        let before = sc.pos();
        let comment = sc.skip_cfws();
        let spaced = sc.pos() != before;
        let Some(b) = sc.peek() else {
            return (out, comment);
        };
        let token = match b {
            b'"' => Token::Quoted(sc.quoted()),
            b'[' => {
                let mut lit = Vec::new();
                while let Some(c) = sc.peek() {
                    sc.bump();
                    lit.push(c);
                    if c == b']' {
                        break;
                    }
                }
                Token::Literal(lit)
            }
            c if is_atext(c) => {
                let mut atom = Vec::new();
                while let Some(c) = sc.peek().filter(|&c| is_atext(c)) {
                    atom.push(c);
                    sc.bump();
                }
                Token::Atom(atom)
            }
            c => {
                sc.bump();
                Token::Special(c)
            }
        };
        out.push(Lexeme {
            token,
            spaced,
            comment,
        });
    }
}

/// Joins phrase tokens the way they were written: a space where whitespace
/// separated them, quoted strings unquoted, runs of whitespace as one space.
fn phrase(lexemes: &[Lexeme]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, lx) in lexemes.iter().enumerate() {
        if i > 0 && lx.spaced {
            out.push(b' ');
        }
        match &lx.token {
            Token::Atom(a) | Token::Literal(a) => out.extend_from_slice(a),
            Token::Quoted(q) => out.extend_from_slice(q),
            Token::Special(c) => out.push(*c),
        }
    }
    out
}

/// Joins tokens of a local part or domain without added spaces.
fn joined(lexemes: &[Lexeme]) -> Vec<u8> {
    let mut out = Vec::new();
    for lx in lexemes {
        match &lx.token {
            Token::Atom(a) | Token::Literal(a) | Token::Quoted(a) => out.extend_from_slice(a),
            Token::Special(c) => out.push(*c),
        }
    }
    out
}

fn is_special(lx: &Lexeme, c: u8) -> bool {
    lx.token == Token::Special(c)
}

/// At most this many address structures (including group markers) are kept
/// per header field; bounds memory and stored size for absurd headers.
pub const MAX_ADDRESSES: usize = 1000;

/// Parses an address-list header value (From, To, Cc, ...; RFC 5322 3.4) into
/// ENVELOPE address structures. Best effort: never fails; garbage between
/// commas becomes an address whose mailbox is the text and whose host is
/// empty; empty elements are skipped. Stops after [`MAX_ADDRESSES`], closing
/// an open group.
pub fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let (lexemes, trailing_comment) = lex(value);
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut in_group = false;
    while i < lexemes.len() {
        if out.len() >= MAX_ADDRESSES - 1 {
            if in_group {
                out.push(Address::group_end());
            }
            break;
        }
        // Find the end of this element: the next top-level `,` or `;`, or a
        // `:` that opens a group.
        let mut j = i;
        let mut angle = false;
        while let Some(lx) = lexemes.get(j) {
            match lx.token {
                Token::Special(b'<') => angle = true,
                Token::Special(b'>') => angle = false,
                Token::Special(b',' | b';') if !angle => break,
                Token::Special(b':') if !angle && !in_group => break,
                _ => {}
            }
            j += 1;
        }
        let element = lexemes.get(i..j).unwrap_or_default();
        let terminator = lexemes.get(j);
        if terminator.is_some_and(|t| is_special(t, b':')) {
            out.push(Address::group_start(phrase(element)));
            in_group = true;
        } else {
            let comment = match lexemes.get(j) {
                Some(next) => next.comment.clone(),
                None => trailing_comment.clone(),
            };
            if let Some(addr) = parse_mailbox(element, comment) {
                out.push(addr);
            }
            if in_group && terminator.is_none_or(|t| is_special(t, b';')) {
                out.push(Address::group_end());
                in_group = false;
            }
        }
        i = j + 1;
    }
    out
}

/// Parses one mailbox (`name-addr` or `addr-spec`, RFC 5322 3.4). The comment
/// after an addr-spec serves as the name when there is no display name.
fn parse_mailbox(lexemes: &[Lexeme], trailing_comment: Option<Vec<u8>>) -> Option<Address> {
    if lexemes.is_empty() {
        return None;
    }
    if let Some(open) = lexemes.iter().position(|lx| is_special(lx, b'<')) {
        let name = phrase(lexemes.get(..open).unwrap_or_default());
        let rest = lexemes.get(open + 1..).unwrap_or_default();
        let close = rest
            .iter()
            .position(|lx| is_special(lx, b'>'))
            .unwrap_or(rest.len());
        let mut inner = rest.get(..close).unwrap_or_default();
        // RFC 5322 4.4 obs-route: `@a,@b:` before the addr-spec.
        let mut adl = None;
        if inner.first().is_some_and(|lx| is_special(lx, b'@'))
            && let Some(colon) = inner.iter().position(|lx| is_special(lx, b':'))
        {
            adl = Some(joined(inner.get(..colon).unwrap_or_default()));
            inner = inner.get(colon + 1..).unwrap_or_default();
        }
        if inner.is_empty() && name.is_empty() {
            return None;
        }
        let (local, host) = addr_spec(inner);
        let name = if name.is_empty() {
            trailing_comment.map(|c| collapse_spaces(&c))
        } else {
            Some(name)
        };
        let mut addr = Address::mailbox(name, local, host);
        addr.adl = adl;
        return Some(addr);
    }
    let (local, host) = addr_spec(lexemes);
    let name = trailing_comment.map(|c| collapse_spaces(&c));
    Some(Address::mailbox(name, local, host))
}

/// Splits an addr-spec at its last `@` into local part and domain.
fn addr_spec(lexemes: &[Lexeme]) -> (Vec<u8>, Vec<u8>) {
    match lexemes.iter().rposition(|lx| is_special(lx, b'@')) {
        Some(at) => (
            joined(lexemes.get(..at).unwrap_or_default()),
            joined(lexemes.get(at + 1..).unwrap_or_default()),
        ),
        None => (joined(lexemes), Vec::new()),
    }
}

fn collapse_spaces(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        let b = if b == b'\t' { b' ' } else { b };
        if b == b' ' && (out.is_empty() || out.last() == Some(&b' ')) {
            continue;
        }
        out.push(b);
    }
    while out.last() == Some(&b' ') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address::mailbox(
            name.map(|n| n.as_bytes().to_vec()),
            mailbox.as_bytes().to_vec(),
            host.as_bytes().to_vec(),
        )
    }

    #[test]
    fn name_addr_and_addr_spec() {
        let got = parse_address_list(b"\"Joe Q. Public\" <john.q.public@example.com>, Mary Smith <mary@x.test>, jdoe@example.org");
        assert_eq!(
            got,
            vec![
                a(Some("Joe Q. Public"), "john.q.public", "example.com"),
                a(Some("Mary Smith"), "mary", "x.test"),
                a(None, "jdoe", "example.org"),
            ]
        );
    }

    #[test]
    fn group_markers() {
        let got = parse_address_list(b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;");
        assert_eq!(
            got,
            vec![
                Address::group_start(b"A Group".to_vec()),
                a(Some("Ed Jones"), "c", "a.test"),
                a(None, "joe", "where.test"),
                a(Some("John"), "jdoe", "one.test"),
                Address::group_end(),
                Address::group_start(b"Undisclosed recipients".to_vec()),
                Address::group_end(),
            ]
        );
    }

    #[test]
    fn comments_quotes_routes_and_encoded_words() {
        let got = parse_address_list(b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>, jdoe@example.org (John Doe), <@r1,@r2:u@h>, =?utf-8?q?J=C3=B6rg?= <j@h>, \"a b\"@c");
        let mut route = a(None, "u", "h");
        route.adl = Some(b"@r1,@r2".to_vec());
        assert_eq!(
            got,
            vec![
                a(Some("Pete"), "pete", "silly.test"),
                a(Some("John Doe"), "jdoe", "example.org"),
                route,
                a(Some("=?utf-8?q?J=C3=B6rg?="), "j", "h"),
                a(None, "a b", "c"),
            ]
        );
    }

    #[test]
    fn broken_input_is_best_effort() {
        assert_eq!(parse_address_list(b""), vec![]);
        assert_eq!(parse_address_list(b" , ,"), vec![]);
        assert_eq!(
            parse_address_list(b"undisclosed-recipients"),
            vec![a(None, "undisclosed-recipients", "")]
        );
        assert_eq!(
            parse_address_list(b"Bob <bob@x"),
            vec![a(Some("Bob"), "bob", "x")]
        );
        assert_eq!(
            parse_address_list(b"G: a@b"),
            vec![
                Address::group_start(b"G".to_vec()),
                a(None, "a", "b"),
                Address::group_end()
            ]
        );
    }
}

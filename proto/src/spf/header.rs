//! The `Received-SPF` header field (RFC 7208 9.1).
//!
//! ```text
//! Received-SPF: pass (mx.example.org: domain of joe@example.com designates
//!     192.0.2.1 as permitted sender) client-ip=192.0.2.1;
//!     envelope-from=joe@example.com; helo=mail.example.com;
//!     receiver=mx.example.org; identity=mailfrom; mechanism=ip4:192.0.2.0/24
//! ```

use std::net::IpAddr;

use super::identity::Identity;
use super::{SpfOutcome, SpfResult};

/// What a `Received-SPF` field says about one check.
#[derive(Debug, Clone)]
pub struct ReceivedSpf<'a> {
    pub outcome: &'a SpfOutcome,
    pub identity: Identity,
    /// The SMTP client's address.
    pub client_ip: IpAddr,
    /// MAIL FROM without angle brackets (empty for `<>`).
    pub envelope_from: &'a str,
    /// The HELO/EHLO name as given.
    pub helo: &'a str,
    /// The receiving host's name.
    pub receiver: &'a str,
}

/// Lines are folded before this many octets (RFC 5322 2.1.1).
const LINE: usize = 78;

/// The header field, folded, ending in CRLF.
pub fn received_spf(r: &ReceivedSpf<'_>) -> String {
    let o = r.outcome;
    let ip = r.client_ip;
    let sender = if r.identity == Identity::Helo || r.envelope_from.is_empty() {
        format!("postmaster@{}", r.helo)
    } else {
        r.envelope_from.to_string()
    };
    // RFC 7208 9.1: the comment says what the result means, for people.
    let what = match o.result {
        SpfResult::Pass => format!("domain of {sender} designates {ip} as permitted sender"),
        SpfResult::Fail => {
            format!("domain of {sender} does not designate {ip} as permitted sender")
        }
        SpfResult::SoftFail => {
            format!("domain of transitioning {sender} does not designate {ip} as permitted sender")
        }
        SpfResult::Neutral => {
            format!("{ip} is neither permitted nor denied by domain of {sender}")
        }
        SpfResult::None => format!("domain of {sender} does not designate permitted sender hosts"),
        SpfResult::TempError => format!("temporary error evaluating SPF for {sender}"),
        SpfResult::PermError => format!("permanent error in the SPF record for {sender}"),
    };
    let comment = format!("({}: {})", r.receiver, what);
    let mut pairs = vec![
        pair("client-ip", &ip.to_string()),
        pair("envelope-from", r.envelope_from),
        pair("helo", r.helo),
    ];
    if let Some(p) = &o.problem {
        // Problems quote records, which may hold any bytes: ASCII only.
        let p: String = p
            .chars()
            .map(|c| if c.is_ascii() { c } else { '?' })
            .collect();
        pairs.push(pair("problem", &p));
    }
    pairs.push(pair("receiver", r.receiver));
    pairs.push(pair("identity", r.identity.as_str()));
    if let Some(m) = &o.mechanism {
        pairs.push(pair("mechanism", m));
    }
    let mut words: Vec<String> = vec!["Received-SPF:".to_string(), o.result.as_str().to_string()];
    // Fold inside the comment at its spaces (escaped text has none that
    // unfolding could change: a fold only replaces a space).
    words.extend(escape_comment(&comment).split(' ').map(str::to_string));
    let n = pairs.len();
    for (i, p) in pairs.into_iter().enumerate() {
        words.push(if i + 1 < n { format!("{p};") } else { p });
    }
    fold(&words)
}

/// `key=value` with the value as a dot-atom when it is one, else a
/// quoted-string (RFC 7208 9.1, RFC 5322 3.2.4).
fn pair(key: &str, value: &str) -> String {
    if is_dot_atom(value) {
        format!("{key}={value}")
    } else {
        let mut q = String::with_capacity(value.len() + 2);
        q.push('"');
        for c in value.chars() {
            match c {
                '"' | '\\' => {
                    q.push('\\');
                    q.push(c);
                }
                // No control characters in a header: shown as '?'.
                c if c.is_control() => q.push('?'),
                c => q.push(c),
            }
        }
        q.push('"');
        format!("{key}={q}")
    }
}

/// RFC 5322 3.2.3 `dot-atom-text`.
fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
        })
}

/// Backslash-escapes parentheses and backslashes inside the comment's
/// text (RFC 5322 3.2.2 quoted-pair), keeping the outer parentheses;
/// control characters become '?'.
fn escape_comment(comment: &str) -> String {
    let inner = comment
        .strip_prefix('(')
        .and_then(|c| c.strip_suffix(')'))
        .unwrap_or(comment);
    let mut out = String::with_capacity(comment.len() + 2);
    out.push('(');
    for c in inner.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out.push(')');
    out
}

/// Joins words with spaces, folding with CRLF TAB before a word that would
/// pass [`LINE`] octets; ends with CRLF.
fn fold(words: &[String]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            if line + 1 + w.len() > LINE {
                out.push_str("\r\n\t");
                line = 1;
            } else {
                out.push(' ');
                line += 1;
            }
        }
        out.push_str(w);
        line += w.len();
    }
    out.push_str("\r\n");
    out
}

//! Base subject extraction for SORT and THREAD (RFC 5256 2.1).

use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;

/// The result of base subject extraction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct BaseSubject {
    /// The base subject, case preserved; compare it with ASCII
    /// case-insensitive matching (RFC 5256 uses i;ascii-casemap).
    pub text: String,
    /// True when a reply or forward marker (`Re:`, `Fwd:`, `(fwd)`,
    /// `[fwd: ...]`) was removed (RFC 5256 2.1, used by THREAD=REFERENCES).
    pub is_reply_or_forward: bool,
}

/// Decodes RFC 2047 encoded-words in an unstructured header value to UTF-8
/// (undecodable bytes become U+FFFD).
pub fn decode_unstructured(raw: &[u8]) -> String {
    let mut buf = Vec::with_capacity(raw.len() + 1);
    buf.extend_from_slice(raw);
    buf.push(b'\n');
    match MessageStream::new(&buf).parse_unstructured() {
        HeaderValue::Text(t) => t.into_owned(),
        _ => String::new(),
    }
}

/// Extracts the base subject from a raw (unfolded, encoded) Subject value
/// (RFC 5256 2.1 steps 1-6).
pub fn base_subject(raw: &[u8]) -> BaseSubject {
    // Step 1: decode encoded-words, turn tabs and continuations into spaces,
    // collapse runs of whitespace.
    let decoded = decode_unstructured(raw);
    let mut s = String::with_capacity(decoded.len());
    for c in decoded.chars() {
        let c = if c.is_ascii_whitespace() { ' ' } else { c };
        if c == ' ' && s.ends_with(' ') {
            continue;
        }
        s.push(c);
    }
    let mut reply = false;
    let mut cur: &str = &s;
    loop {
        // Step 2: remove trailing "(fwd)" and whitespace.
        loop {
            let t = cur.trim_end_matches(' ');
            if let Some(stripped) = strip_suffix_ci(t, "(fwd)") {
                reply = true;
                cur = stripped;
            } else {
                cur = t;
                break;
            }
        }
        // Steps 3-5: remove leaders and blobs until nothing changes.
        loop {
            let before = cur.len();
            // Step 3: subj-leader = (*subj-blob subj-refwd) / WSP.
            loop {
                if let Some(rest) = cur.strip_prefix(' ') {
                    cur = rest;
                } else if let Some(rest) = strip_leader(cur) {
                    reply = true;
                    cur = rest;
                } else {
                    break;
                }
            }
            // Step 4: a leading blob, unless that would empty the subject.
            if let Some(rest) = strip_blob(cur)
                && !rest.is_empty()
            {
                cur = rest;
            }
            if cur.len() == before {
                break;
            }
        }
        // Step 6: "[fwd:" ... "]".
        if let Some(inner) = strip_prefix_ci(cur, "[fwd:").and_then(|r| r.strip_suffix(']')) {
            reply = true;
            cur = inner;
            continue;
        }
        break;
    }
    BaseSubject {
        text: cur.to_string(),
        is_reply_or_forward: reply,
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    if tail.eq_ignore_ascii_case(suffix) {
        s.get(..cut)
    } else {
        None
    }
}

/// subj-blob = "[" *BLOBCHAR "]" *WSP; BLOBCHAR is any char but `[` and `]`.
fn strip_blob(s: &str) -> Option<&str> {
    let rest = s.strip_prefix('[')?;
    let close = rest.find(['[', ']'])?;
    let after = rest.get(close..)?.strip_prefix(']')?;
    Some(after.trim_start_matches(' '))
}

/// *subj-blob subj-refwd, where
/// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
fn strip_leader(s: &str) -> Option<&str> {
    let mut cur = s;
    while let Some(rest) = strip_blob(cur) {
        cur = rest;
    }
    let rest = strip_prefix_ci(cur, "re")
        .or_else(|| strip_prefix_ci(cur, "fwd"))
        .or_else(|| strip_prefix_ci(cur, "fw"))?;
    let rest = rest.trim_start_matches(' ');
    let rest = strip_blob(rest).unwrap_or(rest);
    rest.strip_prefix(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> (String, bool) {
        let b = base_subject(s.as_bytes());
        (b.text, b.is_reply_or_forward)
    }

    #[test]
    fn plain_subject_unchanged() {
        assert_eq!(base("Hello  world "), ("Hello world".into(), false));
        assert_eq!(base(""), ("".into(), false));
    }

    #[test]
    fn reply_and_forward_markers() {
        assert_eq!(base("Re: hello"), ("hello".into(), true));
        assert_eq!(base("RE: Fwd: re[2]: hello (fwd)"), ("hello".into(), true));
        assert_eq!(base("Fw:hello"), ("hello".into(), true));
        assert_eq!(base("[fwd: Re: hello]"), ("hello".into(), true));
        assert_eq!(base("[list] Re: hello"), ("hello".into(), true));
    }

    #[test]
    fn blobs() {
        assert_eq!(base("[list] hello"), ("hello".into(), false));
        assert_eq!(base("[only-blob]"), ("[only-blob]".into(), false));
        assert_eq!(base("Reply needed"), ("Reply needed".into(), false));
        assert_eq!(base("[a][b] x"), ("x".into(), false));
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(
            base("Re: =?utf-8?q?H=C3=A9llo?=\t there"),
            ("Héllo there".into(), true)
        );
    }
}

//! Canonicalisation of header fields and bodies (RFC 6376 3.4) and the
//! body hash (RFC 6376 3.7).

use ring::digest;

use super::signature::HashAlgorithm;

/// A canonicalisation algorithm (RFC 6376 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Canon {
    Simple,
    Relaxed,
}

impl Canon {
    pub fn as_str(self) -> &'static str {
        match self {
            Canon::Simple => "simple",
            Canon::Relaxed => "relaxed",
        }
    }
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// "simple" header canonicalisation (RFC 6376 3.4.1): the field exactly as
/// it is, folding and final CRLF included.
pub fn canonical_header_simple(field: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(field);
}

/// "relaxed" header canonicalisation (RFC 6376 3.4.2) of a whole field
/// (`name:value`, with or without its final CRLF): lower-case name, unfolded,
/// runs of WSP made one space, WSP at the value's ends and around the colon
/// removed. Appends `name:value` and a CRLF when `crlf`.
pub fn canonical_header_relaxed(field: &[u8], crlf: bool, out: &mut Vec<u8>) {
    let (name, value) = match field.iter().position(|&b| b == b':') {
        Some(i) => (
            field.get(..i).unwrap_or_default(),
            field.get(i + 1..).unwrap_or_default(),
        ),
        None => (field, &[][..]),
    };
    let name_end = name.iter().rposition(|&b| !is_wsp(b)).map_or(0, |i| i + 1);
    out.extend(
        name.get(..name_end)
            .unwrap_or_default()
            .iter()
            .map(u8::to_ascii_lowercase),
    );
    out.push(b':');
    // Unfold (drop CR and LF), then compress WSP; leading and trailing WSP go.
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        if b == b'\r' || b == b'\n' {
            continue;
        }
        if is_wsp(b) {
            pending_space = started;
            continue;
        }
        if pending_space {
            out.push(b' ');
            pending_space = false;
        }
        started = true;
        out.push(b);
    }
    if crlf {
        out.extend_from_slice(b"\r\n");
    }
}

/// Feeds the canonical form of `body` to `sink` in pieces (RFC 6376 3.4.3,
/// 3.4.4 with errata 1384):
/// - simple: trailing empty lines removed, a final CRLF ensured; an empty
///   body is one CRLF.
/// - relaxed: WSP at line ends removed, other WSP runs made one space,
///   trailing empty lines removed, a final CRLF added to a non-empty body;
///   an empty body stays empty.
pub fn canonical_body(body: &[u8], canon: Canon, sink: &mut dyn FnMut(&[u8])) {
    match canon {
        Canon::Simple => {
            let mut end = body.len();
            while end >= 2 && body.get(end - 2..end) == Some(b"\r\n") {
                end -= 2;
            }
            let kept = body.get(..end).unwrap_or_default();
            if !kept.is_empty() {
                sink(kept);
            }
            sink(b"\r\n");
        }
        Canon::Relaxed => relaxed_body(body, sink),
    }
}

fn relaxed_body(body: &[u8], sink: &mut dyn FnMut(&[u8])) {
    let mut empty_lines = 0usize;
    let mut line_buf: Vec<u8> = Vec::with_capacity(128);
    let mut rest = body;
    while !rest.is_empty() {
        let (line, next) = match rest.windows(2).position(|w| w == b"\r\n") {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i + 2..).unwrap_or_default(),
            ),
            None => (rest, &[][..]),
        };
        rest = next;
        let end = line.iter().rposition(|&b| !is_wsp(b)).map_or(0, |i| i + 1);
        let line = line.get(..end).unwrap_or_default();
        if line.is_empty() {
            empty_lines += 1;
            continue;
        }
        for _ in 0..empty_lines {
            sink(b"\r\n");
        }
        empty_lines = 0;
        if line
            .windows(2)
            .any(|w| is_wsp(w[0]) && (w[0] == b'\t' || is_wsp(w[1])))
        {
            line_buf.clear();
            let mut in_wsp = false;
            for &b in line {
                if is_wsp(b) {
                    if !in_wsp {
                        line_buf.push(b' ');
                    }
                    in_wsp = true;
                } else {
                    line_buf.push(b);
                    in_wsp = false;
                }
            }
            sink(&line_buf);
        } else {
            // No tab and no run of spaces: the line is already canonical.
            sink(line);
        }
        sink(b"\r\n");
    }
}

/// A computed body hash with the canonical body length (for `l=` checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyHash {
    pub digest: Vec<u8>,
    /// Length of the whole canonical body, not only the hashed part.
    pub canonical_len: u64,
}

/// Hashes the canonical body, or its first `limit` octets (`l=`).
pub fn body_hash(body: &[u8], canon: Canon, hash: HashAlgorithm, limit: Option<u64>) -> BodyHash {
    let mut ctx = digest::Context::new(match hash {
        HashAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        HashAlgorithm::Sha256 => &digest::SHA256,
    });
    let mut total: u64 = 0;
    canonical_body(body, canon, &mut |piece| {
        let len = piece.len() as u64;
        let take = match limit {
            None => piece.len(),
            Some(l) => usize::try_from(l.saturating_sub(total).min(len)).unwrap_or(piece.len()),
        };
        ctx.update(piece.get(..take).unwrap_or(piece));
        total = total.saturating_add(len);
    });
    BodyHash {
        digest: ctx.finish().as_ref().to_vec(),
        canonical_len: total,
    }
}

#[cfg(test)]
#[path = "canon_tests.rs"]
mod tests;

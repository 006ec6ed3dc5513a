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

/// Output is gathered in blocks of this size before going to the sink.
const RELAXED_BLOCK: usize = 8192;

fn relaxed_body(body: &[u8], sink: &mut dyn FnMut(&[u8])) {
    let mut empty_lines = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(RELAXED_BLOCK + 1024);
    let mut rest = body;
    while !rest.is_empty() {
        // A line ends at CRLF; a bare LF or CR is an ordinary byte.
        let mut search = 0;
        let (line, next) = loop {
            match rest
                .get(search..)
                .and_then(|r| r.iter().position(|&b| b == b'\n'))
            {
                Some(i) if search + i > 0 && rest.get(search + i - 1) == Some(&b'\r') => {
                    let end = search + i;
                    break (
                        rest.get(..end - 1).unwrap_or_default(),
                        rest.get(end + 1..).unwrap_or_default(),
                    );
                }
                Some(i) => search += i + 1,
                None => break (rest, &[][..]),
            }
        };
        rest = next;
        let mark = out.len();
        let mut in_wsp = false;
        let mut any = false;
        for &b in line {
            if is_wsp(b) {
                in_wsp = true;
            } else {
                if in_wsp {
                    out.push(b' ');
                    in_wsp = false;
                }
                out.push(b);
                any = true;
            }
        }
        // WSP at the end of the line was never written.
        if !any {
            // A line of only WSP (or nothing) is an empty line; whether it
            // is kept depends on what follows.
            out.truncate(mark);
            empty_lines += 1;
            continue;
        }
        if empty_lines > 0 {
            let text = out.split_off(mark);
            for _ in 0..empty_lines {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(&text);
            empty_lines = 0;
        }
        out.extend_from_slice(b"\r\n");
        if out.len() >= RELAXED_BLOCK {
            sink(&out);
            out.clear();
        }
    }
    if !out.is_empty() {
        sink(&out);
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

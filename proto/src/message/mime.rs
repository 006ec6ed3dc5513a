//! The multipart splitter (RFC 2046 5.1.1).
//!
//! A boundary delimiter is only recognised at the start of a line:
//! `CRLF "--" boundary [ "--" ] *LWSP CRLF`. The line break before the dashes
//! belongs to the delimiter, not to the preceding part. Text that merely
//! contains the boundary (`x --boundary`, `--boundary-more`) is part content.
//! This is where we differ from mail-parser 0.11, which matches a boundary
//! anywhere in a line.

use std::ops::Range;

use super::header::line_at;

/// What a line of a multipart body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delimiter {
    /// `--boundary`: a new part follows.
    Part,
    /// `--boundary--`: the close delimiter; the epilogue follows.
    Close,
}

/// Classifies the line `line` (without its line break) against `boundary`.
fn classify(line: &[u8], boundary: &[u8]) -> Option<Delimiter> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (kind, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (Delimiter::Close, r),
        None => (Delimiter::Part, rest),
    };
    // RFC 2046 5.1.1: transport-padding (linear whitespace) may follow.
    if rest.iter().all(|&b| b == b' ' || b == b'\t') {
        Some(kind)
    } else {
        None
    }
}

/// Splits the multipart body `msg[start..end]` at `boundary` and returns the
/// byte range of each body part (header and body of the part, without the
/// delimiter lines and without the line break that precedes a delimiter).
///
/// The preamble (before the first delimiter) and the epilogue (after the close
/// delimiter) are not parts. A missing close delimiter ends the last part at
/// `end`. An empty boundary or a body without any delimiter yields no parts.
/// More than `max_parts` parts yield `None` (the caller leaves the multipart
/// unsplit rather than build an unbounded tree).
pub fn split_multipart(
    msg: &[u8],
    start: usize,
    end: usize,
    boundary: &[u8],
    max_parts: usize,
) -> Option<Vec<Range<usize>>> {
    let end = end.min(msg.len());
    let mut parts = Vec::new();
    if boundary.is_empty() || start >= end {
        return Some(parts);
    }
    let mut part_start: Option<usize> = None;
    let mut pos = start;
    while pos < end {
        let (line_end, next) = line_at(msg, pos, end);
        let line = msg.get(pos..line_end).unwrap_or_default();
        if let Some(kind) = classify(line, boundary) {
            if let Some(ps) = part_start.take() {
                if parts.len() >= max_parts {
                    return None;
                }
                parts.push(ps..content_end(msg, ps, pos));
            }
            if kind == Delimiter::Close {
                return Some(parts);
            }
            part_start = Some(next);
        }
        pos = next;
    }
    if let Some(ps) = part_start {
        if parts.len() >= max_parts {
            return None;
        }
        parts.push(ps..end.max(ps));
    }
    Some(parts)
}

/// The end of a part's content whose next delimiter line starts at `delim`:
/// the line break before the delimiter is removed, but never before
/// `part_start`.
fn content_end(msg: &[u8], part_start: usize, delim: usize) -> usize {
    let mut e = delim;
    if e > part_start && msg.get(e - 1) == Some(&b'\n') {
        e -= 1;
        if e > part_start && msg.get(e - 1) == Some(&b'\r') {
            e -= 1;
        }
    }
    e.max(part_start)
}

/// Counts text lines in `body` (RFC 9051 7.5.2 body-fld-lines): the number of
/// line feeds, plus one for a final line without a line break.
pub fn count_lines(body: &[u8]) -> u64 {
    let lf = body.iter().filter(|&&b| b == b'\n').count() as u64;
    match body.last() {
        Some(b'\n') | None => lf,
        Some(_) => lf + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(msg: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
        split_multipart(msg, 0, msg.len(), boundary.as_bytes(), 100)
            .expect("under the part limit")
            .into_iter()
            .map(|r| &msg[r])
            .collect()
    }

    #[test]
    fn simple_two_parts_with_preamble_and_epilogue() {
        let m = b"preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue\r\n";
        assert_eq!(
            parts(m, "b"),
            vec![&b"A: 1\r\n\r\none"[..], &b"\r\ntwo"[..]]
        );
    }

    #[test]
    fn boundary_like_text_is_content() {
        let m = b"--b\r\n\r\nx --b\r\n--bb\r\n--b-- trailing\r\n--b- \r\nend\r\n--b--\r\n";
        assert_eq!(
            parts(m, "b"),
            vec![&b"\r\nx --b\r\n--bb\r\n--b-- trailing\r\n--b- \r\nend"[..]]
        );
    }

    #[test]
    fn transport_padding_allowed() {
        let m = b"--b \t\r\n\r\none\r\n--b-- \r\n";
        assert_eq!(parts(m, "b"), vec![&b"\r\none"[..]]);
    }

    #[test]
    fn missing_close_delimiter_runs_to_end() {
        let m = b"--b\n\none\n--b\n\ntwo\n";
        assert_eq!(parts(m, "b"), vec![&b"\none"[..], &b"\ntwo\n"[..]]);
    }

    #[test]
    fn adjacent_delimiters_give_empty_part() {
        let m = b"--b\r\n--b\r\nx\r\n--b--";
        assert_eq!(parts(m, "b"), vec![&b""[..], &b"x"[..]]);
    }

    #[test]
    fn no_delimiter_no_parts() {
        assert!(parts(b"just text\r\n", "b").is_empty());
        assert!(parts(b"--b\r\n", "").is_empty());
    }

    #[test]
    fn too_many_parts() {
        let m = b"--b\r\n1\r\n--b\r\n2\r\n--b\r\n3";
        assert_eq!(
            split_multipart(m, 0, m.len(), b"b", 3).map(|p| p.len()),
            Some(3)
        );
        assert_eq!(split_multipart(m, 0, m.len(), b"b", 2), None);
        let m = b"--b\r\n1\r\n--b\r\n2\r\n--b--";
        assert_eq!(
            split_multipart(m, 0, m.len(), b"b", 2).map(|p| p.len()),
            Some(2)
        );
        assert_eq!(split_multipart(m, 0, m.len(), b"b", 1), None);
    }

    #[test]
    fn lines() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\r\n"), 1);
        assert_eq!(count_lines(b"a\r\nb"), 2);
        assert_eq!(count_lines(b"\n\n"), 2);
    }
}

//! Framing and parsing of server replies (RFC 5321 4.2): lines of
//! `code[-| ]text`, a multi-line reply continuing while the fourth octet is
//! `-`, every line with the same code. Input arrives in pieces of any size;
//! the reader keeps what is not yet a whole reply.
//!
//! Limits: a line of more than [`MAX_REPLY_LINE`] octets (CRLF included)
//! and a reply of more than [`MAX_REPLY_LINES`] lines are errors. Lines end
//! in CRLF; a bare LF is accepted as line end (sloppy servers), a CR not
//! before LF is kept in the text.

use std::fmt;

use super::super::reply::{Enhanced, Reply};

/// Longest reply line, CRLF included. RFC 5321 4.5.3.1.5 says 512; real
/// servers send longer ones.
pub const MAX_REPLY_LINE: usize = 2000;
/// Most lines in one reply (EHLO replies have ~20).
pub const MAX_REPLY_LINES: usize = 128;
/// Offending input shown in an error, at most.
const SHOWN: usize = 100;

/// A reply that cannot be read; the connection cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// A line that is not `code[-| ]text`, or whose code differs from the
    /// first line's; the line escaped and truncated.
    Malformed(String),
    /// A line over [`MAX_REPLY_LINE`] octets.
    LineTooLong,
    /// A reply over [`MAX_REPLY_LINES`] lines.
    TooManyLines,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Malformed(s) => write!(f, "malformed reply line \"{s}\""),
            ReplyError::LineTooLong => {
                write!(f, "reply line longer than {MAX_REPLY_LINE} octets")
            }
            ReplyError::TooManyLines => write!(f, "reply of more than {MAX_REPLY_LINES} lines"),
        }
    }
}

/// Bytes escaped for a log line (`\r`, `\n`, `\x00`...), at most [`SHOWN`]
/// of them, `...` when cut.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut s: String = bytes
        .iter()
        .take(SHOWN)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    if bytes.len() > SHOWN {
        s.push_str("...");
    }
    s
}

/// Incremental reply reader.
#[derive(Debug, Default)]
pub struct ReplyReader {
    buf: Vec<u8>,
    /// Lines of the reply being read: code and text.
    lines: Vec<(u16, String)>,
}

impl ReplyReader {
    /// An empty reader.
    pub fn new() -> ReplyReader {
        ReplyReader::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not part of a complete reply yet (a partial line
    /// counts).
    pub fn has_buffered(&self) -> bool {
        !self.buf.is_empty() || !self.lines.is_empty()
    }

    /// The next complete reply, if one is buffered. After an error the
    /// reader's state is undefined: stop using it.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, ReplyError> {
        loop {
            let Some(lf) = self.buf.iter().position(|&b| b == b'\n') else {
                if self.buf.len() >= MAX_REPLY_LINE {
                    return Err(ReplyError::LineTooLong);
                }
                return Ok(None);
            };
            if lf + 1 > MAX_REPLY_LINE {
                return Err(ReplyError::LineTooLong);
            }
            let line: Vec<u8> = self.buf.drain(..=lf).collect();
            let content = line
                .strip_suffix(b"\r\n")
                .or_else(|| line.strip_suffix(b"\n"))
                .unwrap_or(&line);
            let (code, last, text) = parse_line(content)?;
            if let Some((first, _)) = self.lines.first()
                && *first != code
            {
                return Err(ReplyError::Malformed(escape(content)));
            }
            if self.lines.len() >= MAX_REPLY_LINES {
                return Err(ReplyError::TooManyLines);
            }
            self.lines.push((code, text));
            if last {
                return Ok(Some(assemble(std::mem::take(&mut self.lines))));
            }
        }
    }
}

/// `code SP text`, `code "-" text` or `code` alone: (code, last line, text).
fn parse_line(line: &[u8]) -> Result<(u16, bool, String), ReplyError> {
    let bad = || ReplyError::Malformed(escape(line));
    let digits = line.get(..3).ok_or_else(bad)?;
    // RFC 5321 4.2: 2-5, 0-5, 0-9.
    let ok = matches!(digits, [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9']);
    if !ok {
        return Err(bad());
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let (last, text) = match line.get(3) {
        None => (true, &[][..]),
        Some(b' ') => (true, line.get(4..).unwrap_or_default()),
        Some(b'-') => (false, line.get(4..).unwrap_or_default()),
        Some(_) => return Err(bad()),
    };
    Ok((code, last, String::from_utf8_lossy(text).into_owned()))
}

/// The reply of the lines read; the enhanced code (RFC 2034) is taken from
/// the first line and stripped from every line that carries it.
fn assemble(lines: Vec<(u16, String)>) -> Reply {
    let code = lines.first().map(|(c, _)| *c).unwrap_or(0);
    let enhanced = lines
        .first()
        .and_then(|(_, t)| enhanced_prefix(code, t))
        .map(|(e, _)| e);
    let lines = lines
        .into_iter()
        .map(|(_, t)| match enhanced_prefix(code, &t) {
            Some((e, rest)) if Some(e) == enhanced => rest.to_string(),
            _ => t,
        })
        .collect();
    Reply {
        code,
        enhanced,
        lines,
    }
}

/// `class "." subject "." detail` at the start of `text` (RFC 3463 2),
/// whose class matches the reply code's first digit, and the text after it
/// and its space.
fn enhanced_prefix(code: u16, text: &str) -> Option<(Enhanced, &str)> {
    let end = text.find(' ').unwrap_or(text.len());
    let word = text.get(..end)?;
    let mut parts = word.split('.');
    let class: u8 = number(parts.next()?, 1)?.try_into().ok()?;
    let subject = number(parts.next()?, 3)?;
    let detail = number(parts.next()?, 3)?;
    if parts.next().is_some() || u16::from(class) != code / 100 || !matches!(class, 2 | 4 | 5) {
        return None;
    }
    let rest = text.get(end..).unwrap_or_default();
    Some((
        (class, subject, detail),
        rest.strip_prefix(' ').unwrap_or(rest),
    ))
}

/// 1 to `max` ASCII digits.
fn number(s: &str, max: usize) -> Option<u16> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Result<Vec<Reply>, ReplyError> {
        let mut r = ReplyReader::new();
        r.push(input);
        let mut out = Vec::new();
        while let Some(reply) = r.next_reply()? {
            out.push(reply);
        }
        Ok(out)
    }

    #[test]
    fn single_and_multi_line_with_enhanced_codes() {
        let replies =
            read_all(b"220 mx.example ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n")
                .unwrap();
        assert_eq!(replies[0], Reply::new(220, None, "mx.example ESMTP"));
        assert_eq!(
            replies[1].lines,
            vec!["mx".to_string(), "PIPELINING".into(), "SIZE 10".into()]
        );
        let r = &read_all(b"550-5.7.1 first\r\n550 5.7.1 second\r\n").unwrap()[0];
        assert_eq!(r.enhanced, Some((5, 7, 1)));
        assert_eq!(r.lines, vec!["first".to_string(), "second".into()]);
        // Class must match the code; otherwise it is text.
        let r = &read_all(b"250 5.7.1 odd\r\n").unwrap()[0];
        assert_eq!((r.enhanced, r.lines[0].as_str()), (None, "5.7.1 odd"));
        // A code alone, and a bare LF.
        let r = &read_all(b"250\n").unwrap()[0];
        assert_eq!((r.code, r.lines.clone()), (250, vec![String::new()]));
        assert_eq!(
            read_all(b"250 2.0.0\r\n").unwrap()[0],
            Reply::new(250, Some((2, 0, 0)), "")
        );
    }

    #[test]
    fn garbage_and_limits() {
        assert_eq!(
            read_all(b"hello\x01\r\n").unwrap_err(),
            ReplyError::Malformed("hello\\x01".into())
        );
        assert_eq!(
            read_all(b"250-a\r\n251 b\r\n").unwrap_err(),
            ReplyError::Malformed("251 b".into())
        );
        assert_eq!(
            read_all(b"250xa\r\n").unwrap_err(),
            ReplyError::Malformed("250xa".into())
        );
        assert_eq!(
            read_all(b"199 x\r\n").unwrap_err(),
            ReplyError::Malformed("199 x".into())
        );
        let long = [
            b"250 ".to_vec(),
            vec![b'a'; MAX_REPLY_LINE - 6],
            b"\r\n".to_vec(),
        ]
        .concat();
        assert_eq!(long.len(), MAX_REPLY_LINE);
        assert_eq!(read_all(&long).unwrap().len(), 1);
        let longer = [
            b"250 ".to_vec(),
            vec![b'a'; MAX_REPLY_LINE - 5],
            b"\r\n".to_vec(),
        ]
        .concat();
        assert_eq!(read_all(&longer).unwrap_err(), ReplyError::LineTooLong);
        // Without a line end, the limit applies too.
        assert_eq!(
            read_all(&vec![b'2'; MAX_REPLY_LINE]).unwrap_err(),
            ReplyError::LineTooLong
        );
        let many = b"250-x\r\n".repeat(MAX_REPLY_LINES - 1);
        let ok = [many.clone(), b"250 x\r\n".to_vec()].concat();
        assert_eq!(read_all(&ok).unwrap()[0].lines.len(), MAX_REPLY_LINES);
        let over = [many, b"250-x\r\n250 x\r\n".to_vec()].concat();
        assert_eq!(read_all(&over).unwrap_err(), ReplyError::TooManyLines);
        let shown = escape(&[b'x'; 150]);
        assert_eq!(shown, format!("{}...", "x".repeat(100)));
    }
}

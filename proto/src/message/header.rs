//! Header blocks: finding where a header ends, splitting it into fields,
//! unfolding values, and the MIME parameter syntax of `Content-Type` and
//! `Content-Disposition` (RFC 5322 2.2, RFC 2045 5.1, RFC 2183 2).
//!
//! Everything here works on byte offsets into the whole message so that the
//! part tree can record ranges; nothing here allocates more than the values it
//! returns, and nothing panics on malformed input.

/// One header field: its name and its raw value (the bytes after the colon up
/// to, not including, the line break that ends the field; folded lines stay
/// folded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// Field name as written, without the colon or trailing whitespace.
    pub name: &'a [u8],
    /// Value bytes as written, including any folding line breaks.
    pub raw_value: &'a [u8],
}

impl HeaderField<'_> {
    /// The value unfolded (RFC 5322 2.2.3) and trimmed of surrounding
    /// whitespace.
    pub fn value(&self) -> Vec<u8> {
        unfold(self.raw_value)
    }
}

/// A parsed header block of one entity (a message or a body part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderBlock<'a> {
    /// Fields in order of appearance.
    pub fields: Vec<HeaderField<'a>>,
    /// Offset just past the header, including the blank line that ends it;
    /// this is where the body starts.
    pub end: usize,
}

impl<'a> HeaderBlock<'a> {
    /// Parses the header that starts at `start` in `msg`, not looking beyond
    /// `limit`. The header ends after the first empty line (`CRLF` or a bare
    /// `LF`); without one, the header runs to `limit` and the body is empty.
    /// Lines that are neither fields nor continuations are skipped.
    pub fn parse(msg: &'a [u8], start: usize, limit: usize) -> HeaderBlock<'a> {
        let limit = limit.min(msg.len());
        let mut fields: Vec<HeaderField<'a>> = Vec::new();
        let mut pos = start.min(limit);
        // The field being collected: (name, value start, value end).
        let mut current: Option<(&'a [u8], usize, usize)> = None;
        while pos < limit {
            let (line_end, next) = line_at(msg, pos, limit);
            let line = msg.get(pos..line_end).unwrap_or_default();
            if line.is_empty() {
                // RFC 5322 2.1: the empty line separates header and body.
                pos = next;
                break;
            }
            let first = line.first().copied().unwrap_or(b' ');
            if first == b' ' || first == b'\t' {
                // RFC 5322 2.2.3: a continuation of the current field.
                if let Some(field) = current.as_mut() {
                    field.2 = line_end;
                }
            } else {
                if let Some((name, vstart, vend)) = current.take() {
                    fields.push(field_at(msg, name, vstart, vend));
                }
                current = split_name(line).map(|(name, colon)| (name, pos + colon + 1, line_end));
            }
            pos = next;
        }
        if let Some((name, vstart, vend)) = current {
            fields.push(field_at(msg, name, vstart, vend));
        }
        HeaderBlock { fields, end: pos }
    }

    /// The first field with this name (ASCII case-insensitive).
    pub fn first(&self, name: &str) -> Option<&HeaderField<'a>> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The unfolded, trimmed value of the first field with this name.
    pub fn value(&self, name: &str) -> Option<Vec<u8>> {
        self.first(name).map(HeaderField::value)
    }
}

fn field_at<'a>(msg: &'a [u8], name: &'a [u8], vstart: usize, vend: usize) -> HeaderField<'a> {
    HeaderField {
        name,
        raw_value: msg.get(vstart..vend.max(vstart)).unwrap_or_default(),
    }
}

/// Returns the end of the line content starting at `pos` (before `CRLF` or
/// `LF`) and the start of the next line. A line without a terminator ends at
/// `limit`.
pub fn line_at(msg: &[u8], pos: usize, limit: usize) -> (usize, usize) {
    let rest = msg.get(pos..limit).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let lf = pos + i;
            let end = if i > 0 && rest.get(i - 1) == Some(&b'\r') {
                lf - 1
            } else {
                lf
            };
            (end, lf + 1)
        }
        None => {
            // A trailing CR without LF at the very end is still a line break.
            let end = if rest.last() == Some(&b'\r') {
                limit - 1
            } else {
                limit
            };
            (end, limit)
        }
    }
}

/// Splits `Name: value` into the name and the colon's index. The name must be
/// printable ASCII without spaces (RFC 5322 2.2); whitespace between name and
/// colon is tolerated (RFC 5322 4.5, obsolete syntax).
fn split_name(line: &[u8]) -> Option<(&[u8], usize)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line.get(..colon)?;
    let trimmed_len = name
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    let name = name.get(..trimmed_len)?;
    if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
        return None;
    }
    Some((name, colon))
}

/// Unfolds a raw header value (RFC 5322 2.2.3: remove line breaks that are
/// followed by whitespace) and trims leading and trailing whitespace.
pub fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let end = out
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    out.truncate(end);
    let start = out
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(out.len());
    out.drain(..start);
    out
}

/// The header fields of `header` (a whole header block as stored, including
/// its blank line) whose names are (`exclude == false`) or are not
/// (`exclude == true`) in `names`, compared ASCII case-insensitively; each
/// field with its folded lines and line breaks as written, followed by the
/// blank line if `header` has one. This is BODY[HEADER.FIELDS (...)] and
/// BODY[HEADER.FIELDS.NOT (...)] (RFC 9051 6.4.5).
pub fn select_fields(header: &[u8], names: &[&[u8]], exclude: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut keep = false;
    while pos < header.len() {
        let (line_end, next) = line_at(header, pos, header.len());
        let line = header.get(pos..line_end).unwrap_or_default();
        let whole = header.get(pos..next).unwrap_or_default();
        if line.is_empty() {
            out.extend_from_slice(whole);
            break;
        }
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            keep = match split_name(line) {
                Some((name, _)) => names.iter().any(|n| n.eq_ignore_ascii_case(name)) != exclude,
                None => false,
            };
        }
        if keep {
            out.extend_from_slice(whole);
        }
        pos = next;
    }
    out
}

/// A MIME parameter (`name=value`) with the value unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Parameter name as written (`charset`, `boundary`, `name*0*`, ...).
    pub name: Vec<u8>,
    /// Value with quoting removed; RFC 2231 encodings are left as written.
    pub value: Vec<u8>,
}

/// RFC 2045 5.1 `tspecials`, which end a token.
fn is_tspecial(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')'
            | b'<'
            | b'>'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'\\'
            | b'"'
            | b'/'
            | b'['
            | b']'
            | b'?'
            | b'='
    )
}

fn is_token_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f && !is_tspecial(b)
}

/// A cursor over an unfolded structured value.
pub(crate) struct Scanner<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Scanner { s, pos: 0 }
    }

    /// The current offset into the scanned value.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn bump(&mut self) {
        self.pos = (self.pos + 1).min(self.s.len());
    }

    /// Skips whitespace and comments (RFC 5322 3.2.2 CFWS), returning the
    /// content of the last comment seen, if any.
    pub(crate) fn skip_cfws(&mut self) -> Option<Vec<u8>> {
        let mut last_comment = None;
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.bump(),
                Some(b'(') => last_comment = Some(self.comment()),
                _ => return last_comment,
            }
        }
    }

    /// Reads a (possibly nested) comment starting at `(`; returns its text
    /// with quoted-pairs resolved. An unterminated comment runs to the end.
    fn comment(&mut self) -> Vec<u8> {
        let mut depth = 0usize;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b'(' => {
                    if depth > 0 {
                        out.push(b);
                    }
                    depth += 1;
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                    out.push(b);
                }
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.bump();
                    }
                }
                _ => out.push(b),
            }
        }
        out
    }

    /// Reads a quoted string starting at `"`, returning its content with
    /// quoted-pairs resolved. An unterminated string runs to the end.
    pub(crate) fn quoted(&mut self) -> Vec<u8> {
        self.bump();
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.bump();
                    }
                }
                _ => out.push(b),
            }
        }
        out
    }

    /// Reads an RFC 2045 token (possibly empty).
    fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(is_token_byte) {
            self.bump();
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }

    /// Skips to just after the next `;` (or to the end).
    fn skip_past_semicolon(&mut self) {
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b';' => return,
                b'"' => {
                    // Do not stop at a `;` inside a quoted string.
                    self.pos = self.pos.saturating_sub(1);
                    self.quoted();
                }
                _ => {}
            }
        }
    }
}

/// Parses `type/subtype *(; param)` (RFC 2045 5.1). Returns `None` when the
/// type or subtype is missing, so the caller applies the default.
pub fn parse_content_type(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<Param>)> {
    let mut sc = Scanner::new(value);
    sc.skip_cfws();
    let media_type = sc.token().to_vec();
    sc.skip_cfws();
    if media_type.is_empty() || sc.peek() != Some(b'/') {
        return None;
    }
    sc.bump();
    sc.skip_cfws();
    let subtype = sc.token().to_vec();
    if subtype.is_empty() {
        return None;
    }
    let params = parse_params(&mut sc);
    Some((media_type, subtype, params))
}

/// Parses `disposition-type *(; param)` (RFC 2183 2). `None` when the type
/// is missing.
pub fn parse_disposition(value: &[u8]) -> Option<(Vec<u8>, Vec<Param>)> {
    let mut sc = Scanner::new(value);
    sc.skip_cfws();
    let kind = sc.token().to_vec();
    if kind.is_empty() {
        return None;
    }
    let params = parse_params(&mut sc);
    Some((kind, params))
}

/// Parses `*(";" name "=" value)`; a malformed parameter is skipped up to the
/// next `;`.
fn parse_params(sc: &mut Scanner<'_>) -> Vec<Param> {
    let mut params = Vec::new();
    sc.skip_past_semicolon();
    while sc.peek().is_some() {
        sc.skip_cfws();
        let name = sc.token().to_vec();
        sc.skip_cfws();
        if name.is_empty() || sc.peek() != Some(b'=') {
            sc.skip_past_semicolon();
            continue;
        }
        sc.bump();
        sc.skip_cfws();
        let value = if sc.peek() == Some(b'"') {
            sc.quoted()
        } else {
            sc.token().to_vec()
        };
        params.push(Param { name, value });
        sc.skip_past_semicolon();
    }
    params
}

/// Parses a comma-separated list of tokens such as `Content-Language`
/// (RFC 3282 2).
pub fn parse_token_list(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut sc = Scanner::new(value);
    loop {
        sc.skip_cfws();
        let start = sc.pos;
        while sc
            .peek()
            .is_some_and(|b| b != b',' && b != b'(' && b > b' ' && b != 0x7f)
        {
            sc.bump();
        }
        if let Some(tok) = sc.s.get(start..sc.pos).filter(|t| !t.is_empty()) {
            out.push(tok.to_vec());
        }
        sc.skip_cfws();
        match sc.peek() {
            None => return out,
            _ => sc.bump(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] =
        b"From: a@b\r\nSubject: one\r\n two\r\nX-Junk\r\nTo: c@d\r\nsubject: again\r\n\r\n";

    #[test]
    fn select_header_fields() {
        assert_eq!(
            select_fields(HEADER, &[b"SUBJECT"], false),
            b"Subject: one\r\n two\r\nsubject: again\r\n\r\n"
        );
        assert_eq!(
            select_fields(HEADER, &[b"subject", b"x-junk"], true),
            b"From: a@b\r\nTo: c@d\r\n\r\n"
        );
        assert_eq!(select_fields(b"From: a@b", &[b"from"], false), b"From: a@b");
        assert_eq!(select_fields(b"", &[b"from"], false), b"");
    }

    #[test]
    fn header_block_fields_and_end() {
        let block = HeaderBlock::parse(HEADER, 0, HEADER.len());
        assert_eq!(block.end, HEADER.len());
        let names: Vec<&[u8]> = block.fields.iter().map(|f| f.name).collect();
        assert_eq!(names, vec![&b"From"[..], b"Subject", b"To", b"subject"]);
        assert_eq!(block.value("subject").as_deref(), Some(&b"one two"[..]));
        assert_eq!(block.fields[1].raw_value, b" one\r\n two");
    }

    #[test]
    fn content_type_and_params() {
        let (t, s, p) =
            parse_content_type(b" Text/Plain (c) ; charset = \"utf\\-8\" ;; bad ; format=flowed")
                .expect("valid");
        assert_eq!((t.as_slice(), s.as_slice()), (&b"Text"[..], &b"Plain"[..]));
        assert_eq!(
            p,
            vec![
                Param {
                    name: b"charset".to_vec(),
                    value: b"utf-8".to_vec()
                },
                Param {
                    name: b"format".to_vec(),
                    value: b"flowed".to_vec()
                },
            ]
        );
        assert_eq!(parse_content_type(b"text"), None);
        assert_eq!(parse_content_type(b"/plain"), None);
        let (k, p) = parse_disposition(b"attachment; filename=\"a;b.txt\"").expect("valid");
        assert_eq!(k, b"attachment");
        assert_eq!(p[0].value, b"a;b.txt");
        assert_eq!(
            parse_token_list(b"en-US, (x) de ,,"),
            vec![b"en-US".to_vec(), b"de".to_vec()]
        );
    }
}

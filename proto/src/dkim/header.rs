//! The header section of a message as DKIM sees it: raw fields in order
//! (RFC 5322 2.2), and the selection of signed fields (RFC 6376 5.4.2).

use std::fmt;

/// One header field exactly as it appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// The field name, without trailing whitespace before the colon.
    pub name: &'a [u8],
    /// The whole field: name, colon, value, folding and the final line end.
    pub raw: &'a [u8],
    /// The value: everything after the colon up to (not including) the final
    /// line end.
    pub value: &'a [u8],
}

impl HeaderField<'_> {
    /// Whether the name matches `name`, case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The raw field without its final CRLF (or LF).
    pub fn without_line_end(&self) -> &[u8] {
        let r = self.raw;
        let r = r.strip_suffix(b"\n").unwrap_or(r);
        r.strip_suffix(b"\r").unwrap_or(r)
    }
}

/// A header section DKIM cannot work with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// A line in the header section that is neither a field (no colon, or a
    /// bad field name) nor a continuation.
    MalformedHeader { line: usize },
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::MalformedHeader { line } => {
                write!(
                    f,
                    "malformed header at line {line}: not a field or continuation"
                )
            }
        }
    }
}

impl std::error::Error for MessageError {}

/// Appends the field from `start` to `end` whose colon is at `name_end`.
fn finish_field<'a>(
    msg: &'a [u8],
    fields: &mut Vec<HeaderField<'a>>,
    start: usize,
    name_end: usize,
    end: usize,
) {
    let raw = msg.get(start..end).unwrap_or_default();
    let name_raw = msg.get(start..name_end).unwrap_or_default();
    let trimmed = name_raw
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    let value_end = if raw.ends_with(b"\r\n") {
        end - 2
    } else if raw.ends_with(b"\n") {
        end - 1
    } else {
        end
    };
    fields.push(HeaderField {
        name: name_raw.get(..trimmed).unwrap_or_default(),
        raw,
        value: msg.get(name_end + 1..value_end).unwrap_or_default(),
    });
}

/// Splits a message into its header fields and its body. The header
/// section ends at the first empty line (which belongs to neither part);
/// without one, the whole message is header and the body is empty.
/// Lines end in CRLF; a bare LF is accepted as a line end too.
pub fn split_message(msg: &[u8]) -> Result<(Vec<HeaderField<'_>>, &[u8]), MessageError> {
    let mut fields: Vec<HeaderField<'_>> = Vec::new();
    let mut pos = 0;
    let mut line_no = 0;
    let mut current: Option<(usize, usize)> = None; // (start, name_end)
    loop {
        let rest = msg.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            if let Some((s, n)) = current {
                finish_field(msg, &mut fields, s, n, pos);
            }
            return Ok((fields, &[]));
        }
        line_no += 1;
        let line_len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = rest.get(..line_len).unwrap_or_default();
        if line == b"\r\n" || line == b"\n" {
            if let Some((s, n)) = current {
                finish_field(msg, &mut fields, s, n, pos);
            }
            return Ok((fields, msg.get(pos + line_len..).unwrap_or_default()));
        }
        let first = line.first().copied().unwrap_or(b' ');
        if first == b' ' || first == b'\t' {
            if current.is_none() {
                return Err(MessageError::MalformedHeader { line: line_no });
            }
        } else {
            if let Some((s, n)) = current {
                finish_field(msg, &mut fields, s, n, pos);
            }
            let colon = line.iter().position(|&b| b == b':');
            let Some(colon) = colon else {
                return Err(MessageError::MalformedHeader { line: line_no });
            };
            let name = line.get(..colon).unwrap_or_default();
            let name_trim = name
                .iter()
                .rposition(|&b| b != b' ' && b != b'\t')
                .map_or(0, |i| i + 1);
            let name = name.get(..name_trim).unwrap_or_default();
            if name.is_empty() || !name.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
                return Err(MessageError::MalformedHeader { line: line_no });
            }
            current = Some((pos, pos + colon));
        }
        pos += line_len;
    }
}

/// The fields `h=` selects (RFC 6376 5.4.2): for each name, the last
/// instance not selected yet, from the bottom up; a name with no instance
/// left selects nothing (over-signing). `exclude` is the index of the
/// signature's own field, which never signs itself.
pub fn select_headers<'f, 'a>(
    fields: &'f [HeaderField<'a>],
    names: &[String],
    exclude: Option<usize>,
) -> Vec<&'f HeaderField<'a>> {
    let mut used = vec![false; fields.len()];
    if let Some(e) = exclude
        && let Some(u) = used.get_mut(e)
    {
        *u = true;
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let found = fields
            .iter()
            .enumerate()
            .rev()
            .find(|(i, f)| !used.get(*i).copied().unwrap_or(true) && f.is(name));
        if let Some((i, f)) = found {
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_fields_and_body() {
        let msg = b"From: a\r\nSubject: x\r\n y\r\nTo : b\r\n\r\nbody\r\n";
        let (fields, body) = split_message(msg).unwrap();
        assert_eq!(body, b"body\r\n");
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[1].name, b"Subject");
        assert_eq!(fields[1].raw, b"Subject: x\r\n y\r\n");
        assert_eq!(fields[1].value, b" x\r\n y");
        assert_eq!(fields[2].name, b"To");
        assert_eq!(fields[2].without_line_end(), b"To : b");
        // No empty line: all header, empty body.
        let (fields, body) = split_message(b"From: a\r\n").unwrap();
        assert_eq!((fields.len(), body), (1, &b""[..]));
        // Header without line end at end of input.
        let (fields, _) = split_message(b"From: a").unwrap();
        assert_eq!(fields[0].raw, b"From: a");
        assert_eq!(fields[0].value, b" a");
    }

    #[test]
    fn malformed_headers() {
        assert_eq!(
            split_message(b" From: a\r\n\r\n"),
            Err(MessageError::MalformedHeader { line: 1 })
        );
        assert_eq!(
            split_message(b"From: a\r\nnocolon\r\n\r\n"),
            Err(MessageError::MalformedHeader { line: 2 })
        );
        assert_eq!(
            split_message(b":empty\r\n\r\n"),
            Err(MessageError::MalformedHeader { line: 1 })
        );
    }

    #[test]
    fn bottom_up_selection_and_oversigning() {
        let msg = b"Received: 1\r\nTo: first\r\nFrom: f\r\nTo: second\r\n\r\n";
        let (fields, _) = split_message(msg).unwrap();
        let names: Vec<String> = ["to", "TO", "to", "from", "from"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let sel: Vec<&[u8]> = select_headers(&fields, &names, None)
            .iter()
            .map(|f| f.raw)
            .collect();
        // Last To first, then the earlier one; the third To and the second
        // From select nothing.
        assert_eq!(
            sel,
            vec![&b"To: second\r\n"[..], b"To: first\r\n", b"From: f\r\n"]
        );
        // The excluded field is never selected.
        let sel = select_headers(&fields, &["received".to_string()], Some(0));
        assert!(sel.is_empty());
    }
}

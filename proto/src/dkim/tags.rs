//! Tag=value lists (RFC 6376 3.2), the syntax of both the DKIM-Signature
//! header and the key record.
//!
//! ```text
//! tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//! tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//! tag-name  =  ALPHA *ALNUMPUNC
//! tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
//! tval      =  1*VALCHAR            ; VALCHAR = %x21-3A / %x3C-7E
//! ```

use std::ops::Range;

use super::DkimError;

/// One tag: its name and value, and where the value sits in the input
/// (the verifier deletes the `b=` value by range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<'a> {
    pub name: &'a str,
    pub value: &'a [u8],
    /// Byte range of the value in the parsed input, leading and trailing
    /// whitespace excluded.
    pub value_range: Range<usize>,
    /// Byte offset just after the `=`.
    pub after_equals: usize,
}

fn is_fws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Parses a tag list. Duplicate tags are an error (RFC 6376 3.2). Bytes of
/// 0x80 and above are accepted in values (RFC 8616: UTF-8 in i=).
pub fn parse_tags(input: &[u8]) -> Result<Vec<Tag<'_>>, DkimError> {
    let mut tags: Vec<Tag<'_>> = Vec::new();
    let mut start = 0;
    let segments: Vec<&[u8]> = input.split(|&b| b == b';').collect();
    let count = segments.len();
    for (i, seg) in segments.into_iter().enumerate() {
        let seg_start = start;
        start += seg.len() + 1;
        if seg.iter().all(|&b| is_fws(b)) {
            // Only the part after a trailing ";" may be empty.
            if i + 1 == count {
                break;
            }
            return Err(DkimError::TagSyntax("empty tag between ';'".into()));
        }
        let Some(eq) = seg.iter().position(|&b| b == b'=') else {
            return Err(DkimError::TagSyntax(format!(
                "no '=' in {:?}",
                String::from_utf8_lossy(trim(seg).0)
            )));
        };
        let name_bytes = trim(seg.get(..eq).unwrap_or_default()).0;
        let name = std::str::from_utf8(name_bytes).unwrap_or_default();
        let valid_name = name_bytes.first().is_some_and(u8::is_ascii_alphabetic)
            && name_bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            return Err(DkimError::TagSyntax(format!(
                "bad tag name {:?}",
                String::from_utf8_lossy(name_bytes)
            )));
        }
        let raw_value = seg.get(eq + 1..).unwrap_or_default();
        let (value, lead) = trim(raw_value);
        if let Some(&bad) = value
            .iter()
            .find(|&&b| !(is_fws(b) || (0x21..=0x7e).contains(&b) || b >= 0x80))
        {
            return Err(DkimError::TagSyntax(format!(
                "control character 0x{bad:02x} in {name}="
            )));
        }
        if tags.iter().any(|t| t.name == name) {
            return Err(DkimError::DuplicateTag(name.to_string()));
        }
        let vstart = seg_start + eq + 1 + lead;
        tags.push(Tag {
            name,
            value,
            value_range: vstart..vstart + value.len(),
            after_equals: seg_start + eq + 1,
        });
    }
    Ok(tags)
}

/// Strips folding whitespace at both ends; also returns how many bytes were
/// removed at the start.
pub fn trim(s: &[u8]) -> (&[u8], usize) {
    let lead = s.iter().take_while(|&&b| is_fws(b)).count();
    let rest = s.get(lead..).unwrap_or_default();
    let tail = rest.iter().rev().take_while(|&&b| is_fws(b)).count();
    (rest.get(..rest.len() - tail).unwrap_or_default(), lead)
}

/// The value with all folding whitespace removed (base64 data, RFC 6376
/// 3.5 `b=`: "whitespace is ignored in this value").
pub fn strip_fws(value: &[u8]) -> Vec<u8> {
    value.iter().copied().filter(|&b| !is_fws(b)).collect()
}

/// Splits a colon-separated list (h=, q=, key h=, s=, t=), trimming each
/// element.
pub fn colon_list(value: &[u8]) -> Vec<String> {
    value
        .split(|&b| b == b':')
        .map(|p| String::from_utf8_lossy(trim(p).0).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_with_folding_and_ranges() {
        let input = b" v=1; a = rsa-sha256;\r\n\tb=ab\r\n cd ;bh=x;";
        let tags = parse_tags(input).unwrap();
        let names: Vec<&str> = tags.iter().map(|t| t.name).collect();
        assert_eq!(names, ["v", "a", "b", "bh"]);
        assert_eq!(tags[1].value, b"rsa-sha256");
        assert_eq!(tags[2].value, b"ab\r\n cd");
        assert_eq!(&input[tags[2].value_range.clone()], b"ab\r\n cd");
        assert_eq!(&input[tags[2].after_equals..], b"ab\r\n cd ;bh=x;");
        assert_eq!(strip_fws(tags[2].value), b"abcd");
    }

    #[test]
    fn tag_errors() {
        assert_eq!(
            parse_tags(b"v=1; v=1"),
            Err(DkimError::DuplicateTag("v".into()))
        );
        assert_eq!(
            parse_tags(b"v=1;; a=b"),
            Err(DkimError::TagSyntax("empty tag between ';'".into()))
        );
        assert_eq!(
            parse_tags(b"v=1; novalue"),
            Err(DkimError::TagSyntax("no '=' in \"novalue\"".into()))
        );
        assert_eq!(
            parse_tags(b"1v=1"),
            Err(DkimError::TagSyntax("bad tag name \"1v\"".into()))
        );
        assert_eq!(
            parse_tags(b"v=1\x00"),
            Err(DkimError::TagSyntax("control character 0x00 in v=".into()))
        );
        assert_eq!(parse_tags(b"").unwrap(), vec![]);
        assert_eq!(parse_tags(b"a=").unwrap()[0].value, b"");
    }

    #[test]
    fn colon_lists() {
        assert_eq!(
            colon_list(b"From : To:\r\n subject"),
            ["From", "To", "subject"]
        );
    }
}

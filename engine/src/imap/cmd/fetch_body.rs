//! Message data for FETCH: BODY[section]<partial> (RFC 9051 6.4.5),
//! BINARY[part] with content-transfer-encoding decoded (RFC 3516), PREVIEW
//! (RFC 8970), all from the stored structure's byte spans.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use moxide_proto::imap::core::{Section, SectionText};
use moxide_proto::message::header::select_fields;
use moxide_proto::message::{MessageStructure, Part, PartKind};

/// Longest PREVIEW in characters (RFC 8970 3).
const PREVIEW_CHARS: usize = 256;

fn slice(raw: &[u8], span: moxide_proto::message::Span) -> Vec<u8> {
    span.slice(raw).unwrap_or_default().to_vec()
}

/// The bytes of `BODY[section]`; a part that does not exist gives the
/// empty string (as mox and Dovecot answer).
pub(crate) fn section_data<'a>(raw: &[u8], st: &'a MessageStructure, section: &Section) -> Vec<u8> {
    if section.part.is_empty() && section.text.is_none() {
        return raw.to_vec();
    }
    let Some(part) = st.part(&section.part) else {
        return Vec::new();
    };
    // For HEADER/TEXT the part must be the message itself or an
    // encapsulated message (RFC 9051 6.4.5).
    let message_root = |p: &'a Part| -> Option<&'a Part> {
        if section.part.is_empty() {
            return Some(st.root());
        }
        match &p.kind {
            PartKind::Message(nested) => Some(&nested.root),
            _ => None,
        }
    };
    match &section.text {
        None => slice(raw, part.body),
        Some(SectionText::Mime) => slice(raw, part.header),
        Some(SectionText::Header) => message_root(part)
            .map(|r| slice(raw, r.header))
            .unwrap_or_default(),
        Some(SectionText::Text) => message_root(part)
            .map(|r| slice(raw, r.body))
            .unwrap_or_default(),
        Some(SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names)) => {
            let exclude = matches!(section.text, Some(SectionText::HeaderFieldsNot(_)));
            let Some(r) = message_root(part) else {
                return Vec::new();
            };
            let header = slice(raw, r.header);
            let names: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
            select_fields(&header, &names, exclude)
        }
    }
}

/// `<origin.count>`: the bytes from `origin`, at most `count`.
pub(crate) fn partial(data: Vec<u8>, origin: u64, count: u64) -> Vec<u8> {
    let start = usize::try_from(origin)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let end = usize::try_from(origin.saturating_add(count))
        .unwrap_or(usize::MAX)
        .min(data.len());
    data.get(start..end).unwrap_or_default().to_vec()
}

/// A content-transfer-encoding BINARY cannot decode (RFC 3516 4.3:
/// `NO [UNKNOWN-CTE]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnknownCte;

/// Decodes a body by its content-transfer-encoding.
pub(crate) fn decode_cte(encoding: &[u8], body: &[u8]) -> Result<Vec<u8>, UnknownCte> {
    let enc = String::from_utf8_lossy(encoding)
        .trim()
        .to_ascii_lowercase();
    match enc.as_str() {
        "7bit" | "8bit" | "binary" | "" => Ok(body.to_vec()),
        "base64" => {
            let clean: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            Ok(base64_decode(&clean).unwrap_or_default())
        }
        "quoted-printable" => Ok(quoted_printable_decode(body).unwrap_or_else(|| body.to_vec())),
        _ => Err(UnknownCte),
    }
}

/// The decoded bytes of `BINARY[part]`; the empty path is the whole
/// message, undecoded.
pub(crate) fn binary_data(
    raw: &[u8],
    st: &MessageStructure,
    path: &[u32],
) -> Result<Vec<u8>, UnknownCte> {
    if path.is_empty() {
        return Ok(raw.to_vec());
    }
    let Some(part) = st.part(path) else {
        return Ok(Vec::new());
    };
    let body = slice(raw, part.body);
    match part.kind {
        PartKind::Basic => decode_cte(part.encoding_or_default(), &body),
        _ => Ok(body),
    }
}

/// The text of a part: CTE and charset decoded (unknown charsets are read
/// as UTF-8 with replacement characters).
pub(crate) fn part_text(raw: &[u8], part: &Part) -> String {
    let body = slice(raw, part.body);
    let bytes = decode_cte(part.encoding_or_default(), &body).unwrap_or(body);
    let charset = part.content_type.param("charset").unwrap_or(b"utf-8");
    match charset_decoder(charset) {
        Some(dec) => dec(&bytes),
        None => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The text leaves of a message, in order (text/plain and text/html;
/// attachments excluded).
pub(crate) fn text_parts(st: &MessageStructure) -> Vec<&Part> {
    let mut out = Vec::new();
    st.root().walk(&mut |p| {
        let attachment = p
            .disposition
            .as_ref()
            .is_some_and(|d| d.kind.eq_ignore_ascii_case(b"attachment"));
        if matches!(p.kind, PartKind::Basic) && p.content_type.is_type("text") && !attachment {
            out.push(p);
        }
    });
    out
}

/// Removes HTML tags and decodes a few entities, for PREVIEW.
fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// PREVIEW (RFC 8970): up to 256 characters of the first text part, with
/// whitespace collapsed; None when there is no text.
pub(crate) fn preview(raw: &[u8], st: &MessageStructure) -> Option<String> {
    let parts = text_parts(st);
    let part = parts
        .iter()
        .find(|p| p.content_type.is("text", "plain"))
        .or_else(|| parts.first())?;
    let mut text = part_text(raw, part);
    if part.content_type.is("text", "html") {
        text = strip_html(&text);
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() >= PREVIEW_CHARS {
            break;
        }
    }
    let out: String = out.chars().take(PREVIEW_CHARS).collect();
    Some(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: a@b.example\r\nSubject: t\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9  au\r\n lait\r\n--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--x--\r\n";

    #[test]
    fn sections() {
        let st = MessageStructure::parse(MSG);
        let sec = |part: Vec<u32>, text| Section { part, text };
        assert_eq!(
            section_data(
                MSG,
                &st,
                &sec(
                    vec![],
                    Some(SectionText::HeaderFields(vec!["subject".into()]))
                )
            ),
            b"Subject: t\r\n\r\n"
        );
        assert_eq!(
            section_data(MSG, &st, &sec(vec![1], None)),
            b"Caf=E9  au\r\n lait"
        );
        assert_eq!(
            section_data(MSG, &st, &sec(vec![2], Some(SectionText::Mime))),
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        );
        assert_eq!(section_data(MSG, &st, &sec(vec![3], None)), b"");
        assert_eq!(binary_data(MSG, &st, &[2]), Ok(vec![0, 1, 2]));
        assert_eq!(
            binary_data(MSG, &st, &[1]).unwrap(),
            b"Caf\xe9  au\r\n lait"
        );
        assert_eq!(preview(MSG, &st).as_deref(), Some("Café au lait"));
        assert_eq!(partial(b"hello".to_vec(), 1, 3), b"ell");
        assert_eq!(partial(b"hello".to_vec(), 9, 3), b"");
        assert_eq!(decode_cte(b"x-uue", b"abc"), Err(UnknownCte));
    }
}

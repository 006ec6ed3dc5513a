//! The MIME part tree with byte ranges (RFC 2045, RFC 2046, RFC 9051 7.5.2
//! BODYSTRUCTURE).

use super::envelope::Envelope;
use super::header::{HeaderBlock, Param, parse_content_type, parse_disposition, parse_token_list};
use super::mime::{count_lines, split_multipart};

/// Parts nested deeper than this are not split further; they become
/// [`PartKind::Basic`] leaves (protects the stack and bounds work).
pub const MAX_DEPTH: usize = 50;

/// At most about this many parts are built per message; once the budget is
/// spent, remaining multiparts and messages are not split further. Bounds
/// memory for messages made of thousands of tiny parts.
pub const MAX_PARTS: usize = 10_000;

/// A byte range `start..end` within the message (`start <= end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u64,
    /// Offset just past the last byte.
    pub end: u64,
}

impl Span {
    /// Creates a span; `end` is raised to `start` if smaller.
    pub fn new(start: u64, end: u64) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// Number of bytes in the span.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when the span holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of the span in `msg`, `None` if it lies outside.
    pub fn slice<'a>(&self, msg: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.start).ok()?;
        let end = usize::try_from(self.end).ok()?;
        msg.get(start..end)
    }

    fn from_usize(start: usize, end: usize) -> Span {
        Span::new(start as u64, end as u64)
    }
}

/// A Content-Type: media type, subtype and parameters, as written (case
/// preserved, quotes removed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType {
    /// Media type, e.g. `text`.
    pub media_type: Vec<u8>,
    /// Subtype, e.g. `plain`.
    pub subtype: Vec<u8>,
    /// Parameters in order of appearance.
    pub params: Vec<Param>,
}

impl ContentType {
    /// `text/plain; charset=us-ascii`, the default of RFC 2045 5.2.
    pub fn default_text() -> ContentType {
        ContentType {
            media_type: b"text".to_vec(),
            subtype: b"plain".to_vec(),
            params: vec![Param {
                name: b"charset".to_vec(),
                value: b"us-ascii".to_vec(),
            }],
        }
    }

    /// `message/rfc822`, the default inside multipart/digest (RFC 2046 5.1.5).
    pub fn default_digest() -> ContentType {
        ContentType {
            media_type: b"message".to_vec(),
            subtype: b"rfc822".to_vec(),
            params: Vec::new(),
        }
    }

    /// Case-insensitive check of type and subtype.
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type.as_bytes())
            && self.subtype.eq_ignore_ascii_case(subtype.as_bytes())
    }

    /// Case-insensitive check of the media type only.
    pub fn is_type(&self, media_type: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type.as_bytes())
    }

    /// The value of the first parameter with this name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        find_param(&self.params, name)
    }

    /// True for `message/rfc822` and `message/global` (RFC 6532 3.5), the
    /// types whose body is an encapsulated message.
    pub fn is_encapsulated_message(&self) -> bool {
        self.is("message", "rfc822") || self.is("message", "global")
    }

    /// Whether the line count is part of BODYSTRUCTURE for this type
    /// (RFC 9051 7.5.2: text/* and message/rfc822).
    pub fn has_lines(&self) -> bool {
        self.is_type("text") || self.is_encapsulated_message()
    }
}

fn find_param<'a>(params: &'a [Param], name: &str) -> Option<&'a [u8]> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|p| p.value.as_slice())
}

/// A Content-Disposition (RFC 2183).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Disposition {
    /// `inline`, `attachment`, ... as written.
    pub kind: Vec<u8>,
    /// Parameters in order of appearance.
    pub params: Vec<Param>,
}

/// A message embedded in a message/rfc822 or message/global part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NestedMessage {
    /// ENVELOPE of the embedded message.
    pub envelope: Envelope,
    /// The embedded message as a part: its header span is the embedded
    /// message's header, its body span is the embedded message's text.
    pub root: Part,
}

/// What a part contains.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PartKind {
    /// A leaf: IMAP writes a basic or text body (even for a multipart or
    /// message type that could not be split, e.g. a multipart without
    /// boundary or a base64-encoded message/rfc822).
    Basic,
    /// A multipart with at least one child, in order.
    Multipart(Vec<Part>),
    /// An encapsulated message (message/rfc822 or message/global).
    Message(Box<NestedMessage>),
}

/// One MIME entity with everything BODYSTRUCTURE needs and the byte ranges
/// that BODY[...] sections read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Part {
    /// The header including the blank line that ends it (BODY[n.MIME], or
    /// BODY[HEADER] for a message).
    pub header: Span,
    /// The body (BODY[n], or BODY[TEXT] for a message); its length is the
    /// body size in octets.
    pub body: Span,
    /// Content-Type, or the default when absent or invalid.
    pub content_type: ContentType,
    /// Content-ID, unfolded.
    pub id: Option<Vec<u8>>,
    /// Content-Description, unfolded (not decoded).
    pub description: Option<Vec<u8>>,
    /// Content-Transfer-Encoding as written; `None` means 7BIT.
    pub encoding: Option<Vec<u8>>,
    /// Content-MD5, unfolded.
    pub md5: Option<Vec<u8>>,
    /// Content-Disposition.
    pub disposition: Option<Disposition>,
    /// Content-Language tags.
    pub language: Vec<Vec<u8>>,
    /// Content-Location, unfolded.
    pub location: Option<Vec<u8>>,
    /// Text lines of the body, counted for text/* and message/rfc822 and
    /// message/global parts (0 otherwise).
    pub lines: u64,
    /// Leaf, children or embedded message.
    pub kind: PartKind,
}

impl Part {
    /// Content-Transfer-Encoding with the default applied (RFC 2045 6.1).
    pub fn encoding_or_default(&self) -> &[u8] {
        self.encoding.as_deref().unwrap_or(b"7BIT")
    }

    /// The body size in octets.
    pub fn size(&self) -> u64 {
        self.body.len()
    }

    /// Children of a multipart, empty otherwise.
    pub fn children(&self) -> &[Part] {
        match &self.kind {
            PartKind::Multipart(c) => c,
            _ => &[],
        }
    }

    /// Finds a part by IMAP section part number (RFC 9051 6.4.5), treating
    /// `self` as the body of a message. The empty path is `self`. A
    /// non-multipart body has only part 1 (itself); the parts of a
    /// message/rfc822 part are those of its encapsulated message's body.
    pub fn find(&self, path: &[u32]) -> Option<&Part> {
        let Some((&n, rest)) = path.split_first() else {
            return Some(self);
        };
        let child = match &self.kind {
            PartKind::Multipart(children) => {
                children.get(usize::try_from(n).ok()?.checked_sub(1)?)?
            }
            _ if n == 1 => self,
            _ => return None,
        };
        if rest.is_empty() {
            return Some(child);
        }
        match &child.kind {
            PartKind::Message(nested) => nested.root.find(rest),
            PartKind::Multipart(_) => child.find(rest),
            PartKind::Basic => None,
        }
    }

    /// Calls `f` for this part and every part below it, depth first,
    /// including the roots of encapsulated messages.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Part)) {
        f(self);
        match &self.kind {
            PartKind::Basic => {}
            PartKind::Multipart(children) => {
                for c in children {
                    c.walk(f);
                }
            }
            PartKind::Message(nested) => nested.root.walk(f),
        }
    }
}

/// Parses the entity at `msg[start..end]` whose header is `block`.
/// `default` is the type used without a valid Content-Type.
pub(crate) fn parse_part(
    msg: &[u8],
    block: &HeaderBlock<'_>,
    start: usize,
    end: usize,
    default: fn() -> ContentType,
    depth: usize,
    budget: &mut usize,
) -> Part {
    *budget = budget.saturating_sub(1);
    let body_start = block.end.clamp(start, end.max(start));
    let end = end.max(body_start);
    let content_type = block
        .value("content-type")
        .and_then(|v| parse_content_type(&v))
        .map_or_else(default, |(media_type, subtype, params)| ContentType {
            media_type,
            subtype,
            params,
        });
    let encoding = block.value("content-transfer-encoding");
    let mut part = Part {
        header: Span::from_usize(start, body_start),
        body: Span::from_usize(body_start, end),
        id: block.value("content-id"),
        description: block.value("content-description"),
        md5: block.value("content-md5"),
        disposition: block
            .value("content-disposition")
            .and_then(|v| parse_disposition(&v))
            .map(|(kind, params)| Disposition { kind, params }),
        language: block
            .value("content-language")
            .map(|v| parse_token_list(&v))
            .unwrap_or_default(),
        location: block.value("content-location"),
        lines: 0,
        kind: PartKind::Basic,
        encoding,
        content_type,
    };
    let body = msg.get(body_start..end).unwrap_or_default();
    if part.content_type.has_lines() {
        part.lines = count_lines(body);
    }
    if depth >= MAX_DEPTH || *budget == 0 {
        return part;
    }
    if part.content_type.is_type("multipart") {
        let boundary = part.content_type.param("boundary").unwrap_or_default();
        let ranges = split_multipart(msg, body_start, end, boundary, *budget).unwrap_or_default();
        if !ranges.is_empty() {
            // RFC 2046 5.1.5: parts of a digest default to message/rfc822.
            let child_default = if part.content_type.subtype.eq_ignore_ascii_case(b"digest") {
                ContentType::default_digest
            } else {
                ContentType::default_text
            };
            let children = ranges
                .into_iter()
                .map(|r| {
                    let child_block = HeaderBlock::parse(msg, r.start, r.end);
                    parse_part(
                        msg,
                        &child_block,
                        r.start,
                        r.end,
                        child_default,
                        depth + 1,
                        budget,
                    )
                })
                .collect();
            part.kind = PartKind::Multipart(children);
        }
    } else if part.content_type.is_encapsulated_message() && is_identity_encoding(&part.encoding) {
        let nested_block = HeaderBlock::parse(msg, body_start, end);
        let envelope = Envelope::from_header(&nested_block);
        let root = parse_part(
            msg,
            &nested_block,
            body_start,
            end,
            ContentType::default_text,
            depth + 1,
            budget,
        );
        part.kind = PartKind::Message(Box::new(NestedMessage { envelope, root }));
    }
    part
}

/// RFC 2046 5.2.1: message/rfc822 may only use 7bit, 8bit or binary; other
/// encodings hide the message, so the part stays a leaf.
fn is_identity_encoding(encoding: &Option<Vec<u8>>) -> bool {
    match encoding {
        None => true,
        Some(e) => [&b"7bit"[..], b"8bit", b"binary"]
            .iter()
            .any(|id| e.eq_ignore_ascii_case(id)),
    }
}

//! Compact binary form of a [`MessageStructure`](super::MessageStructure),
//! stored next to every message.
//!
//! Layout (all integers LEB128 varints, strings length-prefixed):
//! `version(1 byte) envelope references part`.
//! * envelope: a bitmap of present fields, then the present fields in order
//!   (date, subject, in-reply-to, message-id as strings; from, sender,
//!   reply-to, to, cc, bcc as address lists: count, then per address a bitmap
//!   of present fields and the strings).
//! * part: a flag word (kind, which optional fields are present), the
//!   content type, parameters, the spans as deltas (header start relative to
//!   the previous sibling's body end or the parent's body start, zigzag; the
//!   rest as lengths), the line count for text and message types, the
//!   optional fields, then children or the embedded message.
//!
//! Common media types, parameter names and values are one-byte table
//! references: a "table string" is a varint `x`; `x < table.len()` is
//! `table[x]`, otherwise `x - table.len()` bytes follow.

use super::address::Address;
use super::envelope::Envelope;
use super::header::Param;
use super::structure::{ContentType, Disposition, MAX_DEPTH, NestedMessage, Part, PartKind, Span};

/// Format version written as the first byte.
const VERSION: u8 = 1;

/// Why stored structure bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StructureError {
    /// The data ends in the middle of a value.
    #[error("structure data is truncated")]
    Truncated,
    /// The first byte names a format this code does not know.
    #[error("unknown structure format version {0}")]
    UnknownVersion(u8),
    /// A varint is longer than 64 bits.
    #[error("malformed varint")]
    BadVarint,
    /// A flag word has bits this version does not define, or a bad kind.
    #[error("invalid flags {0:#x}")]
    BadFlags(u64),
    /// A span does not fit in 64 bits.
    #[error("offset overflow")]
    OffsetOverflow,
    /// A multipart with no children (parse never produces one).
    #[error("multipart without parts")]
    EmptyMultipart,
    /// Parts nested deeper than parse produces.
    #[error("parts nested too deeply")]
    TooDeep,
    /// A message-id is not UTF-8.
    #[error("message-id is not UTF-8")]
    BadUtf8,
    /// Bytes remain after the structure.
    #[error("{0} bytes after the structure")]
    TrailingBytes(usize),
}

static TYPES: &[(&[u8], &[u8])] = &[
    (b"text", b"plain"),
    (b"text", b"html"),
    (b"multipart", b"mixed"),
    (b"multipart", b"alternative"),
    (b"multipart", b"related"),
    (b"message", b"rfc822"),
    (b"application", b"octet-stream"),
    (b"application", b"pdf"),
    (b"image", b"jpeg"),
    (b"image", b"png"),
    (b"image", b"gif"),
    (b"multipart", b"signed"),
    (b"application", b"pgp-signature"),
    (b"application", b"pkcs7-signature"),
    (b"multipart", b"report"),
    (b"message", b"delivery-status"),
    (b"text", b"rfc822-headers"),
    (b"text", b"calendar"),
    (b"message", b"global"),
    (b"application", b"zip"),
    (b"TEXT", b"PLAIN"),
    (b"TEXT", b"HTML"),
];

static PARAM_NAMES: &[&[u8]] = &[
    b"charset",
    b"boundary",
    b"name",
    b"filename",
    b"format",
    b"delsp",
    b"type",
    b"protocol",
    b"micalg",
    b"report-type",
    b"method",
    b"size",
    b"creation-date",
    b"modification-date",
    b"reply-type",
    b"CHARSET",
];

static WORDS: &[&[u8]] = &[
    b"utf-8",
    b"UTF-8",
    b"us-ascii",
    b"US-ASCII",
    b"iso-8859-1",
    b"ISO-8859-1",
    b"iso-8859-15",
    b"ISO-8859-15",
    b"windows-1252",
    b"Windows-1252",
    b"flowed",
    b"fixed",
    b"yes",
    b"no",
    b"inline",
    b"attachment",
    b"7bit",
    b"8bit",
    b"base64",
    b"quoted-printable",
    b"7BIT",
    b"8BIT",
    b"BASE64",
    b"QUOTED-PRINTABLE",
    b"binary",
    b"Quoted-Printable",
    b"Base64",
    b"application/pgp-signature",
    b"pgp-sha256",
    b"delivery-status",
];

const KIND_MASK: u64 = 0b11;
const F_ID: u64 = 1 << 2;
const F_DESCRIPTION: u64 = 1 << 3;
const F_ENCODING: u64 = 1 << 4;
const F_MD5: u64 = 1 << 5;
const F_DISPOSITION: u64 = 1 << 6;
const F_LOCATION: u64 = 1 << 7;
const F_LANGUAGE: u64 = 1 << 8;
const F_PARAMS: u64 = 1 << 9;
const PART_FLAGS: u64 = (1 << 10) - 1;
const ENVELOPE_FLAGS: u64 = (1 << 10) - 1;

/// Encodes the stored fields of a structure.
pub(crate) fn encode(envelope: &Envelope, root: &Part, references: &[String]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(128));
    w.0.push(VERSION);
    w.envelope(envelope);
    w.varint(references.len() as u64);
    for r in references {
        w.bytes(r.as_bytes());
    }
    w.part(root, 0);
    w.0
}

/// Decodes what [`encode`] wrote.
pub(crate) fn decode(bytes: &[u8]) -> Result<(Envelope, Part, Vec<String>), StructureError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let version = r.byte()?;
    if version != VERSION {
        return Err(StructureError::UnknownVersion(version));
    }
    let envelope = r.envelope()?;
    let count = r.varint()?;
    let mut references = Vec::new();
    for _ in 0..count {
        let raw = r.bytes()?;
        references.push(String::from_utf8(raw).map_err(|_| StructureError::BadUtf8)?);
    }
    let root = r.part(0, 0)?;
    let left = bytes.len().saturating_sub(r.pos);
    if left != 0 {
        return Err(StructureError::TrailingBytes(left));
    }
    Ok((envelope, root, references))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn table_str(&mut self, table: &[&[u8]], s: &[u8]) {
        match table.iter().position(|t| *t == s) {
            Some(i) => self.varint(i as u64),
            None => {
                self.varint((table.len() + s.len()) as u64);
                self.0.extend_from_slice(s);
            }
        }
    }

    fn opt(&mut self, s: &Option<Vec<u8>>) {
        if let Some(s) = s {
            self.bytes(s);
        }
    }

    fn envelope(&mut self, e: &Envelope) {
        let lists = [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc];
        let mut flags = 0u64;
        for (i, s) in [&e.date, &e.subject, &e.in_reply_to, &e.message_id]
            .iter()
            .enumerate()
        {
            if s.is_some() {
                flags |= 1 << i;
            }
        }
        for (i, l) in lists.iter().enumerate() {
            if !l.is_empty() {
                flags |= 1 << (4 + i);
            }
        }
        self.varint(flags);
        for s in [&e.date, &e.subject, &e.in_reply_to, &e.message_id] {
            self.opt(s);
        }
        for l in lists.into_iter().filter(|l| !l.is_empty()) {
            self.varint(l.len() as u64);
            for a in l {
                let fields = [&a.name, &a.adl, &a.mailbox, &a.host];
                let bits = fields
                    .iter()
                    .enumerate()
                    .fold(0u8, |acc, (i, f)| acc | (u8::from(f.is_some()) << i));
                self.0.push(bits);
                for f in fields {
                    self.opt(f);
                }
            }
        }
    }

    fn params(&mut self, params: &[Param]) {
        self.varint(params.len() as u64);
        for p in params {
            self.table_str(PARAM_NAMES, &p.name);
            self.table_str(WORDS, &p.value);
        }
    }

    /// Writes `part`; `cursor` is where its header start is measured from.
    fn part(&mut self, p: &Part, cursor: u64) {
        let mut flags = match p.kind {
            PartKind::Basic => 0,
            PartKind::Multipart(_) => 1,
            PartKind::Message(_) => 2,
        };
        for (bit, present) in [
            (F_ID, p.id.is_some()),
            (F_DESCRIPTION, p.description.is_some()),
            (F_ENCODING, p.encoding.is_some()),
            (F_MD5, p.md5.is_some()),
            (F_DISPOSITION, p.disposition.is_some()),
            (F_LOCATION, p.location.is_some()),
            (F_LANGUAGE, !p.language.is_empty()),
            (F_PARAMS, !p.content_type.params.is_empty()),
        ] {
            if present {
                flags |= bit;
            }
        }
        self.varint(flags);
        let ct = &p.content_type;
        match TYPES
            .iter()
            .position(|(t, s)| *t == ct.media_type.as_slice() && *s == ct.subtype.as_slice())
        {
            Some(i) => self.varint(i as u64),
            None => {
                self.varint((TYPES.len() + ct.media_type.len()) as u64);
                self.0.extend_from_slice(&ct.media_type);
                self.bytes(&ct.subtype);
            }
        }
        if !ct.params.is_empty() {
            self.params(&ct.params);
        }
        self.varint(zigzag(p.header.start.wrapping_sub(cursor) as i64));
        self.varint(p.header.len());
        self.varint(zigzag(p.body.start.wrapping_sub(p.header.end) as i64));
        self.varint(p.body.len());
        if ct.has_lines() {
            self.varint(p.lines);
        }
        self.opt(&p.id);
        self.opt(&p.description);
        if let Some(e) = &p.encoding {
            self.table_str(WORDS, e);
        }
        self.opt(&p.md5);
        if let Some(d) = &p.disposition {
            self.table_str(WORDS, &d.kind);
            self.params(&d.params);
        }
        self.opt(&p.location);
        if !p.language.is_empty() {
            self.varint(p.language.len() as u64);
            for l in &p.language {
                self.bytes(l);
            }
        }
        match &p.kind {
            PartKind::Basic => {}
            PartKind::Multipart(children) => {
                self.varint(children.len() as u64);
                let mut c = p.body.start;
                for child in children {
                    self.part(child, c);
                    c = child.body.end;
                }
            }
            PartKind::Message(nested) => {
                self.envelope(&nested.envelope);
                self.part(&nested.root, p.body.start);
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, StructureError> {
        let b = *self.buf.get(self.pos).ok_or(StructureError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, StructureError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(StructureError::BadVarint);
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(StructureError::BadVarint)
    }

    fn take(&mut self, len: u64) -> Result<Vec<u8>, StructureError> {
        let len = usize::try_from(len).map_err(|_| StructureError::Truncated)?;
        let end = self.pos.checked_add(len).ok_or(StructureError::Truncated)?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(StructureError::Truncated)?;
        self.pos = end;
        Ok(s.to_vec())
    }

    fn bytes(&mut self) -> Result<Vec<u8>, StructureError> {
        let len = self.varint()?;
        self.take(len)
    }

    fn table_str(&mut self, table: &[&[u8]]) -> Result<Vec<u8>, StructureError> {
        let x = self.varint()?;
        match usize::try_from(x).ok().and_then(|i| table.get(i)) {
            Some(s) => Ok(s.to_vec()),
            None => self.take(x - table.len() as u64),
        }
    }

    fn opt(&mut self, present: bool) -> Result<Option<Vec<u8>>, StructureError> {
        if present {
            self.bytes().map(Some)
        } else {
            Ok(None)
        }
    }

    fn envelope(&mut self) -> Result<Envelope, StructureError> {
        let flags = self.varint()?;
        if flags & !ENVELOPE_FLAGS != 0 {
            return Err(StructureError::BadFlags(flags));
        }
        let mut e = Envelope {
            date: self.opt(flags & 1 != 0)?,
            subject: self.opt(flags & 2 != 0)?,
            in_reply_to: self.opt(flags & 4 != 0)?,
            message_id: self.opt(flags & 8 != 0)?,
            ..Envelope::default()
        };
        for (i, list) in [
            &mut e.from,
            &mut e.sender,
            &mut e.reply_to,
            &mut e.to,
            &mut e.cc,
            &mut e.bcc,
        ]
        .into_iter()
        .enumerate()
        {
            if flags & (1 << (4 + i)) == 0 {
                continue;
            }
            let count = self.varint()?;
            for _ in 0..count {
                let bits = self.byte()?;
                if bits & !0x0f != 0 {
                    return Err(StructureError::BadFlags(u64::from(bits)));
                }
                list.push(Address {
                    name: self.opt(bits & 1 != 0)?,
                    adl: self.opt(bits & 2 != 0)?,
                    mailbox: self.opt(bits & 4 != 0)?,
                    host: self.opt(bits & 8 != 0)?,
                });
            }
        }
        Ok(e)
    }

    fn params(&mut self) -> Result<Vec<Param>, StructureError> {
        let count = self.varint()?;
        let mut params = Vec::new();
        for _ in 0..count {
            let name = self.table_str(PARAM_NAMES)?;
            let value = self.table_str(WORDS)?;
            params.push(Param { name, value });
        }
        Ok(params)
    }

    fn part(&mut self, cursor: u64, depth: usize) -> Result<Part, StructureError> {
        if depth > MAX_DEPTH {
            return Err(StructureError::TooDeep);
        }
        let flags = self.varint()?;
        if flags & !PART_FLAGS != 0 || flags & KIND_MASK == 3 {
            return Err(StructureError::BadFlags(flags));
        }
        let x = self.varint()?;
        let (media_type, subtype) = match usize::try_from(x).ok().and_then(|i| TYPES.get(i)) {
            Some((t, s)) => (t.to_vec(), s.to_vec()),
            None => {
                let t = self.take(x - TYPES.len() as u64)?;
                (t, self.bytes()?)
            }
        };
        let params = if flags & F_PARAMS != 0 {
            self.params()?
        } else {
            Vec::new()
        };
        let content_type = ContentType {
            media_type,
            subtype,
            params,
        };
        let h_start = cursor.wrapping_add(unzigzag(self.varint()?) as u64);
        let h_end = h_start
            .checked_add(self.varint()?)
            .ok_or(StructureError::OffsetOverflow)?;
        let b_start = h_end.wrapping_add(unzigzag(self.varint()?) as u64);
        let b_end = b_start
            .checked_add(self.varint()?)
            .ok_or(StructureError::OffsetOverflow)?;
        let lines = if content_type.has_lines() {
            self.varint()?
        } else {
            0
        };
        let id = self.opt(flags & F_ID != 0)?;
        let description = self.opt(flags & F_DESCRIPTION != 0)?;
        let encoding = if flags & F_ENCODING != 0 {
            Some(self.table_str(WORDS)?)
        } else {
            None
        };
        let md5 = self.opt(flags & F_MD5 != 0)?;
        let disposition = if flags & F_DISPOSITION != 0 {
            let kind = self.table_str(WORDS)?;
            Some(Disposition {
                kind,
                params: self.params()?,
            })
        } else {
            None
        };
        let location = self.opt(flags & F_LOCATION != 0)?;
        let mut language = Vec::new();
        if flags & F_LANGUAGE != 0 {
            for _ in 0..self.varint()? {
                language.push(self.bytes()?);
            }
        }
        let body = Span {
            start: b_start,
            end: b_end,
        };
        let kind = match flags & KIND_MASK {
            1 => {
                let count = self.varint()?;
                if count == 0 {
                    return Err(StructureError::EmptyMultipart);
                }
                let mut children = Vec::new();
                let mut c = body.start;
                for _ in 0..count {
                    let child = self.part(c, depth + 1)?;
                    c = child.body.end;
                    children.push(child);
                }
                PartKind::Multipart(children)
            }
            2 => {
                let envelope = self.envelope()?;
                let root = self.part(body.start, depth + 1)?;
                PartKind::Message(Box::new(NestedMessage { envelope, root }))
            }
            _ => PartKind::Basic,
        };
        Ok(Part {
            header: Span {
                start: h_start,
                end: h_end,
            },
            body,
            content_type,
            id,
            description,
            encoding,
            md5,
            disposition,
            language,
            location,
            lines,
            kind,
        })
    }
}

//! The parsed structure of an RFC 5322 / MIME message: everything IMAP FETCH
//! (ENVELOPE, BODYSTRUCTURE, BODY[section]), SORT and THREAD need, so the
//! server never reparses a stored message file.
//!
//! [`MessageStructure::parse`] never fails and never panics: broken mail is
//! parsed on a best-effort basis. Byte ranges ([`Span`]) point into the parsed
//! bytes, so a section is served by reading a range of the message file.
//! [`MessageStructure::encode`] / [`MessageStructure::decode`] store it in a
//! compact binary form.
//!
//! The part tree, header splitting and address parsing are our own code;
//! mail-parser is used only to decode encoded-words and parse dates (its
//! 0.11 MIME splitter matches boundaries inside lines).

pub mod address;
pub mod codec;
pub mod envelope;
pub mod header;
pub mod imap_envelope;
pub mod mime;
pub mod structure;
pub mod subject;

pub use address::Address;
pub use codec::StructureError;
pub use envelope::Envelope;
pub use header::Param;
pub use structure::{ContentType, Disposition, NestedMessage, Part, PartKind, Span};
pub use subject::BaseSubject;

use header::HeaderBlock;

/// At most this many References message-ids are kept (the last ones).
pub const MAX_REFERENCES: usize = 100;

/// The parsed structure of one message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageStructure {
    envelope: Envelope,
    root: Part,
    references: Vec<String>,
    // Derived from the above on parse and decode; not stored.
    message_id: Option<String>,
    in_reply_to: Vec<String>,
    date: Option<i64>,
    base_subject: BaseSubject,
}

impl MessageStructure {
    /// Parses a message. Never fails and never panics; every [`Span`] in the
    /// result lies within `msg`.
    pub fn parse(msg: &[u8]) -> MessageStructure {
        let block = HeaderBlock::parse(msg, 0, msg.len());
        let envelope = Envelope::from_header(&block);
        let mut references = block
            .value("references")
            .map(|v| envelope::message_ids(&v))
            .unwrap_or_default();
        // Keep the most recent ancestors; the parent is last.
        let excess = references.len().saturating_sub(MAX_REFERENCES);
        references.drain(..excess);
        let mut budget = structure::MAX_PARTS;
        let root = structure::parse_part(
            msg,
            &block,
            0,
            msg.len(),
            ContentType::default_text,
            0,
            &mut budget,
        );
        MessageStructure::from_parts(envelope, root, references)
    }

    /// Assembles a structure and computes the derived fields.
    fn from_parts(envelope: Envelope, root: Part, references: Vec<String>) -> MessageStructure {
        let message_id = envelope
            .message_id
            .as_deref()
            .and_then(envelope::message_id);
        let in_reply_to = envelope
            .in_reply_to
            .as_deref()
            .map(envelope::message_ids)
            .unwrap_or_default();
        let date = envelope.parsed_date();
        let base_subject = envelope
            .subject
            .as_deref()
            .map(subject::base_subject)
            .unwrap_or_default();
        MessageStructure {
            envelope,
            root,
            references,
            message_id,
            in_reply_to,
            date,
            base_subject,
        }
    }

    /// The ENVELOPE fields (RFC 9051 7.5.2).
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The message as a part: its header span is the message header
    /// (BODY[HEADER]), its body span the text (BODY[TEXT]), its kind the
    /// BODYSTRUCTURE tree.
    pub fn root(&self) -> &Part {
        &self.root
    }

    /// Finds a part by section part number (RFC 9051 6.4.5); see
    /// [`Part::find`]. `&[]` is the whole message.
    pub fn part(&self, path: &[u32]) -> Option<&Part> {
        self.root.find(path)
    }

    /// The Message-ID without angle brackets.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The Date header as Unix seconds, `None` when absent or invalid.
    pub fn date(&self) -> Option<i64> {
        self.date
    }

    /// The base subject (RFC 5256 2.1); empty without a Subject.
    pub fn base_subject(&self) -> &BaseSubject {
        &self.base_subject
    }

    /// Message-ids of the References header, oldest first, without brackets;
    /// at most the last [`MAX_REFERENCES`].
    pub fn references(&self) -> &[String] {
        &self.references
    }

    /// Message-ids of the In-Reply-To header, without brackets.
    pub fn in_reply_to(&self) -> &[String] {
        &self.in_reply_to
    }

    /// The parent chain THREAD=REFERENCES uses (RFC 5256 2.2 step 1A): the
    /// References ids, or else the first In-Reply-To id.
    pub fn thread_references(&self) -> &[String] {
        if self.references.is_empty() {
            self.in_reply_to.get(..1).unwrap_or_default()
        } else {
            &self.references
        }
    }

    /// The compact binary form (see [`codec`]).
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(&self.envelope, &self.root, &self.references)
    }

    /// Reads the form written by [`MessageStructure::encode`]. Never panics
    /// on corrupt input.
    pub fn decode(bytes: &[u8]) -> Result<MessageStructure, StructureError> {
        let (envelope, root, references) = codec::decode(bytes)?;
        Ok(MessageStructure::from_parts(envelope, root, references))
    }
}

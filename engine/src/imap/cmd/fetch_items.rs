//! The general FETCH path: the data items of one message as response
//! values (RFC 9051 7.5.2), loading the stored structure and the message
//! data only when an item needs them. `fetch_fast` writes the common
//! metadata-only requests without building these values.

use moxide_proto::imap::cmd::FetchAttr;
use moxide_proto::imap::core::{Section, SectionText};
use moxide_proto::imap::resp::FetchItem;
use moxide_proto::message::MessageStructure;
use moxide_storage::{Account, Message, MessageContent, StoreError};

use super::fetch_body::{self, UnknownCte};
use crate::imap::convert;

/// Why building a message's items failed.
pub(crate) enum ItemError {
    Store(StoreError),
    UnknownCte,
}

impl From<StoreError> for ItemError {
    fn from(e: StoreError) -> Self {
        ItemError::Store(e)
    }
}

impl From<UnknownCte> for ItemError {
    fn from(_: UnknownCte) -> Self {
        ItemError::UnknownCte
    }
}

/// A message with its structure and data loaded on first use; the
/// content record is looked up once and gives both the structure and the
/// prefix the file reads need.
pub(crate) struct Loaded<'a> {
    pub(crate) acct: &'a Account,
    pub(crate) m: &'a Message,
    content: Option<MessageContent>,
    st: Option<MessageStructure>,
    raw: Option<Vec<u8>>,
    /// The message up to the end of its header, when only that was read.
    head: Option<Vec<u8>>,
}

impl<'a> Loaded<'a> {
    /// Nothing loaded yet.
    pub(crate) fn new(acct: &'a Account, m: &'a Message) -> Loaded<'a> {
        Loaded {
            acct,
            m,
            content: None,
            st: None,
            raw: None,
            head: None,
        }
    }

    fn content(&mut self) -> Result<&MessageContent, StoreError> {
        let c = match self.content.take() {
            Some(c) => c,
            None => self.acct.message_content(self.m)?,
        };
        Ok(self.content.insert(c))
    }

    fn structure(&mut self) -> Result<&MessageStructure, StoreError> {
        let st = match self.st.take() {
            Some(st) => st,
            None => self.content()?.structure()?,
        };
        Ok(self.st.insert(st))
    }

    /// `len` bytes of the message from `offset` (fewer at the end).
    fn range(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        let (acct, m) = (self.acct, self.m);
        let c = self.content()?;
        acct.read_content_range(m, c, offset, len)
    }

    fn both(&mut self) -> Result<(&MessageStructure, &[u8]), StoreError> {
        let raw = match self.raw.take() {
            Some(r) => r,
            None => self.range(0, self.m.size)?,
        };
        let st = match self.st.take() {
            Some(st) => st,
            None => self.content()?.structure()?,
        };
        Ok((self.st.insert(st), self.raw.insert(raw)))
    }

    /// The structure and the message from its start through at least the
    /// end of its header (all of it when already loaded): what HEADER,
    /// HEADER.FIELDS (…) and RFC822.HEADER of the message itself read,
    /// without reading the body from the file.
    fn header(&mut self) -> Result<(&MessageStructure, &[u8]), StoreError> {
        if self.raw.is_some() {
            return self.both();
        }
        let st = match self.st.take() {
            Some(st) => st,
            None => self.content()?.structure()?,
        };
        let head = match self.head.take() {
            Some(h) => h,
            None => self.range(0, st.root().header.end)?,
        };
        Ok((self.st.insert(st), self.head.insert(head)))
    }
}

/// Whether `section` of the message itself needs only its header.
fn header_only(section: &Section) -> bool {
    section.part.is_empty()
        && matches!(
            section.text,
            Some(
                SectionText::Header
                    | SectionText::HeaderFields(_)
                    | SectionText::HeaderFieldsNot(_)
            )
        )
}

/// Whether an item sets `\Seen` (RFC 9051 6.4.5).
pub(crate) fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Rfc822
            | FetchAttr::Rfc822Text
            | FetchAttr::BodySection { peek: false, .. }
            | FetchAttr::Binary { peek: false, .. }
    )
}

fn origin(p: Option<(u64, u64)>) -> Option<u32> {
    p.map(|(o, _)| u32::try_from(o).unwrap_or(u32::MAX))
}

fn cut(data: Vec<u8>, p: Option<(u64, u64)>) -> Vec<u8> {
    match p {
        Some((o, n)) => fetch_body::partial(data, o, n),
        None => data,
    }
}

/// The data items for one message, in the order of `attrs`.
pub(crate) fn items(l: &mut Loaded<'_>, attrs: &[FetchAttr]) -> Result<Vec<FetchItem>, ItemError> {
    let m = l.m;
    let mut out = Vec::with_capacity(attrs.len());
    for a in attrs {
        let item = match a {
            FetchAttr::Uid => FetchItem::Uid(m.uid),
            FetchAttr::Flags => FetchItem::Flags(convert::flag_fetch(m.flags, &m.keywords)),
            FetchAttr::InternalDate => {
                FetchItem::InternalDate(convert::datetime(m.received, m.received_tz))
            }
            FetchAttr::Rfc822Size => FetchItem::Rfc822Size(m.size),
            FetchAttr::ModSeq => FetchItem::ModSeq(m.modseq),
            FetchAttr::SaveDate => {
                FetchItem::SaveDate((m.saved != 0).then(|| convert::datetime(m.saved, 0)))
            }
            FetchAttr::Envelope => {
                FetchItem::Envelope(Box::new(convert::envelope(l.structure()?.envelope())))
            }
            FetchAttr::Body => {
                FetchItem::Body(Box::new(convert::body(l.structure()?.root(), false)))
            }
            FetchAttr::BodyStructure => {
                FetchItem::BodyStructure(Box::new(convert::body(l.structure()?.root(), true)))
            }
            FetchAttr::Rfc822 => FetchItem::Rfc822(Some(l.both()?.1.to_vec())),
            FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
                let text = if matches!(a, FetchAttr::Rfc822Header) {
                    SectionText::Header
                } else {
                    SectionText::Text
                };
                let (st, raw) = if matches!(a, FetchAttr::Rfc822Header) {
                    l.header()?
                } else {
                    l.both()?
                };
                let sec = Section {
                    part: Vec::new(),
                    text: Some(text),
                };
                let data = fetch_body::section_data(raw, st, &sec);
                if matches!(a, FetchAttr::Rfc822Header) {
                    FetchItem::Rfc822Header(Some(data))
                } else {
                    FetchItem::Rfc822Text(Some(data))
                }
            }
            // A partial of the whole message reads only that range.
            FetchAttr::BodySection {
                section,
                partial: Some((o, n)),
                ..
            } if section.part.is_empty() && section.text.is_none() && l.raw.is_none() => {
                FetchItem::BodySection {
                    section: section.clone(),
                    origin: origin(Some((*o, *n))),
                    data: Some(l.range(*o, *n)?),
                }
            }
            FetchAttr::BodySection {
                section, partial, ..
            } => {
                let (st, raw) = if header_only(section) {
                    l.header()?
                } else {
                    l.both()?
                };
                let data = cut(fetch_body::section_data(raw, st, section), *partial);
                FetchItem::BodySection {
                    section: section.clone(),
                    origin: origin(*partial),
                    data: Some(data),
                }
            }
            FetchAttr::Binary { part, partial, .. } => {
                let (st, raw) = l.both()?;
                let data = cut(fetch_body::binary_data(raw, st, part)?, *partial);
                FetchItem::Binary {
                    part: part.clone(),
                    origin: origin(*partial),
                    data: Some(data),
                }
            }
            FetchAttr::BinarySize(part) => {
                let (st, raw) = l.both()?;
                let size = fetch_body::binary_data(raw, st, part)?.len();
                FetchItem::BinarySize {
                    part: part.clone(),
                    size: u32::try_from(size).unwrap_or(u32::MAX),
                }
            }
            FetchAttr::Preview { .. } => {
                let (st, raw) = l.both()?;
                FetchItem::Preview(fetch_body::preview(raw, st))
            }
        };
        out.push(item);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "fetch_header_tests.rs"]
mod tests;

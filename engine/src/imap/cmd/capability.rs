//! CAPABILITY (RFC 9051 6.1.1).

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::Data;

use crate::imap::Session;

/// `* CAPABILITY …` then OK.
pub(crate) fn run(s: &mut Session, tag: Tag) {
    let caps = s.capabilities();
    s.data(Data::Capability(caps));
    s.ok(tag, None, "CAPABILITY completed");
}

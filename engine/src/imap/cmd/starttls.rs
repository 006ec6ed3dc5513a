//! STARTTLS (RFC 9051 6.2.1). The connection discards buffered input and
//! asks the runtime for the handshake after the OK.

use moxide_proto::imap::core::Tag;

use crate::imap::Session;

/// OK, unless TLS is already active or not offered.
pub(crate) fn run(s: &mut Session, tag: Tag) {
    if s.peer.tls {
        return s.bad(tag, "TLS is already active");
    }
    if !s.cfg.starttls {
        return s.bad(tag, "STARTTLS is not available");
    }
    s.ok(tag, None, "begin TLS negotiation now");
}

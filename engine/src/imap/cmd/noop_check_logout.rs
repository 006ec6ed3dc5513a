//! NOOP (RFC 9051 6.1.2), CHECK (RFC 3501 6.4.1: a NOOP here, every
//! change is durable at once) and LOGOUT (RFC 9051 6.1.3).

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Response, Status};

use crate::imap::Session;

/// NOOP and CHECK: send pending updates, then OK.
pub(crate) fn noop(s: &mut Session, tag: Tag) {
    s.ok(tag, None, "NOOP completed");
}

/// LOGOUT: `* BYE`, then OK; the connection closes after the OK.
pub(crate) fn logout(s: &mut Session, tag: Tag) {
    s.send(Response::Status(Status::bye(None, "logging out")));
    s.sel = None;
    s.user = None;
    s.send(Response::Status(Status::ok(
        Some(tag),
        None,
        "LOGOUT completed",
    )));
}

//! IDLE (RFC 9051 6.3.13, RFC 2177): updates are sent as they are
//! committed (see `Session::handle_changes`) until the client's DONE.

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Continue, Response};

use crate::imap::Session;

/// `+ idling`, then whatever is pending.
pub(crate) fn start(s: &mut Session, tag: Tag) {
    s.idle = Some(tag);
    s.send(Response::Continue(Continue::Text("idling".to_string())));
    s.flush_updates();
}

/// DONE: OK with the tag of the IDLE command.
pub(crate) fn done(s: &mut Session) {
    if let Some(tag) = s.idle.take() {
        s.ok(tag, None, "IDLE terminated");
    }
}

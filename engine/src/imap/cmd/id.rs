//! ID (RFC 2971): the client's fields are logged, the server answers with
//! its name.

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::Data;

use crate::imap::Session;

/// `* ID ("name" "moxide")` then OK.
pub(crate) fn run(s: &mut Session, tag: Tag, params: Option<&[(String, Option<String>)]>) {
    if let Some(p) = params {
        tracing::debug!(client_id = ?p, ip = %s.peer.ip, "imap client id");
    }
    let name = s.cfg.id_name.clone();
    s.data(Data::Id(Some(vec![("name".to_string(), Some(name))])));
    s.ok(tag, None, "ID completed");
}

//! ENABLE (RFC 5161): IMAP4rev2 (RFC 9051), UTF8=ACCEPT (RFC 6855),
//! CONDSTORE and QRESYNC (RFC 7162 3.1, 3.2; QRESYNC implies CONDSTORE).

use moxide_proto::imap::core::{Atom, Tag};
use moxide_proto::imap::resp::Data;

use crate::imap::Session;

/// `* ENABLED` with the extensions turned on by this command, then OK.
pub(crate) fn run(s: &mut Session, tag: Tag, caps: &[Atom]) {
    let mut enabled = Vec::new();
    for c in caps {
        let name = c.as_str().to_ascii_uppercase();
        let newly = match name.as_str() {
            "IMAP4REV2" => !std::mem::replace(&mut s.ext.rev2, true),
            "UTF8=ACCEPT" => !std::mem::replace(&mut s.ext.utf8, true),
            "CONDSTORE" => !std::mem::replace(&mut s.ext.condstore, true),
            "QRESYNC" => {
                s.ext.condstore = true;
                !std::mem::replace(&mut s.ext.qresync, true)
            }
            _ => false,
        };
        if newly {
            let canonical = match name.as_str() {
                "IMAP4REV2" => "IMAP4rev2".to_string(),
                other => other.to_string(),
            };
            enabled.push(canonical);
        }
    }
    // RFC 5161 3.1: the ENABLED response is sent even when empty.
    s.data(Data::Enabled(enabled));
    s.ok(tag, None, "ENABLE completed");
}

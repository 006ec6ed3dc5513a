//! NAMESPACE (RFC 2342, RFC 9051 6.3.10): one personal namespace, prefix
//! "" and delimiter "/".

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Data, NamespaceDesc, Namespaces};

use crate::imap::Session;

/// `* NAMESPACE (("" "/")) NIL NIL` then OK.
pub(crate) fn run(s: &mut Session, tag: Tag) {
    s.data(Data::Namespace(Namespaces {
        personal: Some(vec![NamespaceDesc {
            prefix: String::new(),
            delimiter: Some('/'),
            extensions: Vec::new(),
        }]),
        other: None,
        shared: None,
    }));
    s.ok(tag, None, "NAMESPACE completed");
}

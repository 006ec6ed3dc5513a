//! COMPRESS DEFLATE (RFC 4978): the connection switches both directions to
//! DEFLATE right after the OK.

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::Code;

use crate::imap::Session;

/// OK for DEFLATE once; NO [COMPRESSIONACTIVE] when already on.
pub(crate) fn run(s: &mut Session, tag: Tag, mechanism: &str) {
    if !mechanism.eq_ignore_ascii_case("DEFLATE") {
        return s.bad(tag, "only DEFLATE is supported");
    }
    if s.conn.is_compressed() {
        return s.no(
            tag,
            Some(Code::CompressionActive),
            "compression already active",
        );
    }
    s.ok(tag, None, "DEFLATE active");
}

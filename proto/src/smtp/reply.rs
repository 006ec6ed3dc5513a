//! SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 2034,
//! RFC 3463), and the standard replies of this server as constructors.

/// An enhanced status code `class.subject.detail` (RFC 3463 2).
pub type Enhanced = (u8, u16, u16);

/// One reply: a three-digit code, an optional enhanced status code and one
/// or more text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code, 200..=599.
    pub code: u16,
    /// The enhanced status code written at the start of every line's text.
    pub enhanced: Option<Enhanced>,
    /// Text lines; CR and LF in them are replaced by spaces when encoding.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, enhanced: Option<Enhanced>, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced,
            lines: vec![text.into()],
        }
    }

    /// A one-line reply with an enhanced status code.
    pub fn with(code: u16, enhanced: Enhanced, text: impl Into<String>) -> Reply {
        Reply::new(code, Some(enhanced), text)
    }

    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// Appends the wire form: `code-text` for all lines but the last,
    /// `code text` for the last (RFC 5321 4.2.1), each ending in CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let code = self.code.clamp(200, 599);
        let empty = [String::new()];
        let lines: &[String] = if self.lines.is_empty() {
            &empty
        } else {
            &self.lines
        };
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            out.extend_from_slice(code.to_string().as_bytes());
            out.push(if i == last { b' ' } else { b'-' });
            if let Some((c, s, d)) = self.enhanced {
                out.extend_from_slice(format!("{c}.{s}.{d}").as_bytes());
                if !line.is_empty() {
                    out.push(b' ');
                }
            }
            // A reply line never contains a line break (reply injection).
            out.extend(
                line.bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    // Standard replies (RFC 5321 4.2.2, 4.2.3; RFC 3463 3).

    /// `250 2.0.0 ok` (RSET, NOOP).
    pub fn ok() -> Reply {
        Reply::with(250, (2, 0, 0), "ok")
    }

    /// `250 2.1.0 sender ok`.
    pub fn sender_ok() -> Reply {
        Reply::with(250, (2, 1, 0), "sender ok")
    }

    /// `250 2.1.5 recipient ok`.
    pub fn recipient_ok() -> Reply {
        Reply::with(250, (2, 1, 5), "recipient ok")
    }

    /// `354 end data with <CR><LF>.<CR><LF>` (no enhanced code: RFC 2034 3
    /// applies to 2xx, 4xx and 5xx only).
    pub fn start_data() -> Reply {
        Reply::new(354, None, "end data with <CR><LF>.<CR><LF>")
    }

    /// `250 2.0.0 message accepted`: the default reply to a stored message.
    pub fn message_accepted() -> Reply {
        Reply::with(250, (2, 0, 0), "message accepted")
    }

    /// `250 2.0.0 n octets received` for a BDAT chunk that is not the last.
    pub fn chunk_received(n: u64) -> Reply {
        Reply::with(250, (2, 0, 0), format!("{n} octets received"))
    }

    /// `221 2.0.0 bye`.
    pub fn bye() -> Reply {
        Reply::with(221, (2, 0, 0), "bye")
    }

    /// `220 2.0.0 ready to start TLS` (RFC 3207 4).
    pub fn tls_ready() -> Reply {
        Reply::with(220, (2, 0, 0), "ready to start TLS")
    }

    /// `235 2.7.0 authentication successful` (RFC 4954 6).
    pub fn auth_ok() -> Reply {
        Reply::with(235, (2, 7, 0), "authentication successful")
    }

    /// `252 2.1.5 ...`: VRFY is answered without verifying (RFC 5321 3.5.3).
    pub fn cannot_verify() -> Reply {
        Reply::with(
            252,
            (2, 1, 5),
            "cannot verify user, but will accept message and attempt delivery",
        )
    }

    /// `502 5.5.1 EXPN not implemented`.
    pub fn expn_not_implemented() -> Reply {
        Reply::with(502, (5, 5, 1), "EXPN not implemented")
    }

    /// `214 2.0.0 ...`: the answer to HELP (RFC 5321 4.1.1.8, 4.2.2: 214
    /// help message), pointing to the specification, as mox does.
    pub fn help() -> Reply {
        Reply::with(214, (2, 0, 0), "see RFC 5321 (SMTP)")
    }

    /// `500 5.5.1 unknown command`.
    pub fn unknown_command() -> Reply {
        Reply::with(500, (5, 5, 1), "unknown command")
    }

    /// `500 5.5.2 line too long` (RFC 5321 4.5.3.1.4: 1000 octets with CRLF).
    pub fn line_too_long() -> Reply {
        Reply::with(500, (5, 5, 2), "line too long")
    }

    /// `500 5.5.2 bare CR or LF` in a command line (SMTP smuggling defence).
    pub fn bare_line_ending() -> Reply {
        Reply::with(
            500,
            (5, 5, 2),
            "bare CR or LF not allowed, lines end with CRLF",
        )
    }

    /// `500 5.5.2 ...`: message data held a bare CR or LF; the message is
    /// refused (SMTP smuggling defence, as mox and Postfix).
    pub fn bare_line_ending_in_data() -> Reply {
        Reply::with(
            500,
            (5, 5, 2),
            "bare CR or LF in message data, message refused (possible SMTP smuggling)",
        )
    }

    /// `501 5.5.4 text`: a syntax error in a command's arguments.
    pub fn syntax(text: impl Into<String>) -> Reply {
        Reply::with(501, (5, 5, 4), text)
    }

    /// `503 5.5.1 text`: a command out of sequence.
    pub fn bad_sequence(text: impl Into<String>) -> Reply {
        Reply::with(503, (5, 5, 1), text)
    }

    /// `504 5.5.4 ...`: unsupported AUTH mechanism (RFC 4954 6).
    pub fn mechanism_unsupported() -> Reply {
        Reply::with(504, (5, 5, 4), "authentication mechanism not supported")
    }

    /// `555 5.5.4 ...`: unknown MAIL/RCPT parameter (RFC 5321 4.1.1.11).
    pub fn unsupported_parameter(name: &str) -> Reply {
        Reply::with(555, (5, 5, 4), format!("unsupported parameter {name}"))
    }

    /// `552 5.3.4 message too big` (RFC 1870 6).
    pub fn too_big() -> Reply {
        Reply::with(552, (5, 3, 4), "message too big")
    }

    /// `452 4.5.3 too many recipients` (RFC 5321 4.5.3.1.10, RFC 9422).
    pub fn too_many_recipients() -> Reply {
        Reply::with(452, (4, 5, 3), "too many recipients")
    }

    /// `554 5.5.1 no valid recipients` (RFC 5321 3.3).
    pub fn no_recipients() -> Reply {
        Reply::with(554, (5, 5, 1), "no valid recipients")
    }

    /// `553 5.6.7 ...`: a non-ASCII address without SMTPUTF8 (RFC 6531 3.5).
    pub fn utf8_without_smtputf8() -> Reply {
        Reply::with(
            553,
            (5, 6, 7),
            "non-ASCII address requires the SMTPUTF8 parameter",
        )
    }

    /// `530 5.7.0 authentication required` (RFC 4954 6).
    pub fn auth_required() -> Reply {
        Reply::with(530, (5, 7, 0), "authentication required")
    }

    /// `535 5.7.8 authentication credentials invalid` (RFC 4954 6).
    pub fn auth_failed() -> Reply {
        Reply::with(535, (5, 7, 8), "authentication credentials invalid")
    }

    /// `501 5.0.0 authentication cancelled` (RFC 4954 4).
    pub fn auth_cancelled() -> Reply {
        Reply::with(501, (5, 0, 0), "authentication cancelled")
    }

    /// `538 5.7.11 encryption required` (RFC 4954 6).
    pub fn encryption_required() -> Reply {
        Reply::with(
            538,
            (5, 7, 11),
            "encryption required for requested authentication mechanism",
        )
    }

    /// `530 5.7.10 REQUIRETLS needs TLS` (RFC 8689 5).
    pub fn requiretls_without_tls() -> Reply {
        Reply::with(530, (5, 7, 10), "REQUIRETLS needs a TLS connection")
    }

    /// `421 4.7.0 too many errors`, before closing.
    pub fn too_many_errors(hostname: &str) -> Reply {
        Reply::with(
            421,
            (4, 7, 0),
            format!("{hostname} too many errors, closing"),
        )
    }

    /// `421 4.4.2 timeout`, before closing (RFC 5321 4.5.3.2).
    pub fn timeout(hostname: &str) -> Reply {
        Reply::with(421, (4, 4, 2), format!("{hostname} timeout, closing"))
    }

    /// `421 4.5.0 ...`: framing that cannot recover (bad BDAT size).
    pub fn cannot_continue(hostname: &str) -> Reply {
        Reply::with(
            421,
            (4, 5, 0),
            format!("{hostname} cannot continue, closing"),
        )
    }

    /// `451 4.3.0 text`: a local error (storage), as DESIGN.md "Errors".
    pub fn local_error(text: impl Into<String>) -> Reply {
        Reply::with(451, (4, 3, 0), text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_and_without_enhanced() {
        assert_eq!(Reply::sender_ok().to_bytes(), b"250 2.1.0 sender ok\r\n");
        assert_eq!(
            Reply::start_data().to_bytes(),
            b"354 end data with <CR><LF>.<CR><LF>\r\n"
        );
        assert_eq!(Reply::new(250, None, "").to_bytes(), b"250 \r\n");
        assert_eq!(
            Reply::new(250, Some((2, 0, 0)), "").to_bytes(),
            b"250 2.0.0\r\n"
        );
    }

    #[test]
    fn multi_line_and_injection() {
        let r = Reply {
            code: 250,
            enhanced: None,
            lines: vec!["mx.example".into(), "PIPELINING".into(), "SIZE 10".into()],
        };
        assert_eq!(
            r.to_bytes(),
            b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 10\r\n"
        );
        let r = Reply {
            code: 550,
            enhanced: Some((5, 7, 1)),
            lines: vec!["a".into(), "b\r\n250 ok".into()],
        };
        assert_eq!(r.to_bytes(), b"550-5.7.1 a\r\n550 5.7.1 b  250 ok\r\n");
        assert!(!r.is_positive());
        assert!(Reply::start_data().is_positive());
    }
}

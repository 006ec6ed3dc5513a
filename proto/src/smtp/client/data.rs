//! DATA transparency for sending (RFC 5321 4.5.2): a line starting with `.`
//! gets another `.`, the data ends with `CRLF.CRLF`.
//!
//! Line endings are normalised to CRLF: a bare LF or a bare CR becomes
//! CRLF. Receivers refuse bare line endings (SMTP smuggling defence, our
//! own server among them) and a bare CR or LF could otherwise make
//! receivers disagree on where the data ends.

/// Streaming encoder; feed the message in pieces of any size, then call
/// [`DotStuffer::finish`].
#[derive(Debug, Clone)]
pub struct DotStuffer {
    line_start: bool,
    /// A CR was read and not yet written (it may start a CRLF).
    pending_cr: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer::new()
    }
}

impl DotStuffer {
    /// An encoder at the start of the data.
    pub fn new() -> DotStuffer {
        DotStuffer {
            line_start: true,
            pending_cr: false,
        }
    }

    /// Appends the encoded form of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 64 + 2);
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                out.extend_from_slice(b"\r\n");
                self.line_start = true;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    self.line_start = true;
                }
                _ => {
                    if self.line_start && b == b'.' {
                        out.push(b'.');
                    }
                    out.push(b);
                    self.line_start = false;
                }
            }
        }
    }

    /// Appends the end of the data: a CRLF if the message did not end with
    /// one, then `.CRLF`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr || !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        self.pending_cr = false;
        self.line_start = true;
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::data::DotDecoder;

    fn stuff(pieces: &[&[u8]]) -> Vec<u8> {
        let mut e = DotStuffer::new();
        let mut out = Vec::new();
        for p in pieces {
            e.encode(p, &mut out);
        }
        e.finish(&mut out);
        out
    }

    #[test]
    fn known_answers() {
        assert_eq!(stuff(&[]), b".\r\n");
        assert_eq!(stuff(&[b"a\r\n"]), b"a\r\n.\r\n");
        assert_eq!(stuff(&[b"a"]), b"a\r\n.\r\n");
        assert_eq!(stuff(&[b".\r\n..x\r\n"]), b"..\r\n...x\r\n.\r\n");
        assert_eq!(stuff(&[b"a\n.b\rc\r"]), b"a\r\n..b\r\nc\r\n.\r\n");
        // Split inside CRLF and before a dot.
        assert_eq!(stuff(&[b"a\r", b"\n", b".", b"b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(stuff(&[b"x\r\n.\r\n"]), b"x\r\n..\r\n.\r\n");
    }

    #[test]
    fn server_decoder_gives_the_message_back() {
        let msg = b"Subject: x\r\n\r\n.hidden\r\n..two\r\nend.\r\n.\r\n";
        let wire = stuff(&[msg]);
        let mut d = DotDecoder::new();
        let mut out = Vec::new();
        let (used, done) = d.decode(&wire, &mut out);
        assert!(done);
        assert_eq!(used, wire.len());
        assert_eq!(out, msg);
    }
}

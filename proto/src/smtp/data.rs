//! DATA transparency (RFC 5321 4.5.2): a streaming decoder that removes
//! dot-stuffing and finds the end of the message.
//!
//! The message ends only at `CRLF.CRLF` (the data starts at a line start, so
//! a first line of `.` ends an empty message). Lines end only at CRLF: a
//! bare LF or a bare CR neither ends a line nor the message, so `\n.\n`,
//! `\r.\r`, `\n.\r\n` and `\r\n.\n` stay inside the data. A message holding
//! any bare CR or LF is flagged ([`DotDecoder::bare_line_ending`]) and the
//! server refuses it with `500 5.5.2` once it is read to its end, as mox and
//! Postfix do: such a message is the tool of SMTP smuggling, where another
//! server would have seen an end of data inside it.
//!
//! Lines in message data are not limited to 1000 octets (RFC 5321
//! 4.5.3.1.6 lets servers accept longer ones; the message size limit still
//! applies), so streaming needs no line buffer.
//!
//! BDAT chunks (RFC 3030) are length-framed and need no decoder; their
//! bytes are passed on as sent, bare CR and LF included (no smuggling is
//! possible where the length, not a line, ends the data).

/// Where the decoder is within the line structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// At the start of a line (after CRLF, or at the start of the data).
    LineStart,
    /// Inside a line.
    Mid,
    /// After a CR inside a line (not yet emitted).
    Cr,
    /// After a `.` at the start of a line (removed).
    Dot,
    /// After `.` CR at the start of a line.
    DotCr,
}

/// Streaming DATA decoder; feed it input in pieces of any size.
#[derive(Debug, Clone)]
pub struct DotDecoder {
    st: St,
    bare: bool,
    done: bool,
}

impl Default for DotDecoder {
    fn default() -> Self {
        DotDecoder::new()
    }
}

impl DotDecoder {
    /// A decoder at the start of the message data.
    pub fn new() -> DotDecoder {
        DotDecoder {
            st: St::LineStart,
            bare: false,
            done: false,
        }
    }

    /// True once the message held a bare CR or a bare LF.
    pub fn bare_line_ending(&self) -> bool {
        self.bare
    }

    /// True once the end of data was seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes `input`, appending message bytes (dot-unstuffed, CRLF line
    /// ends kept) to `out`. Returns the number of input bytes used and
    /// whether the end of data was reached; bytes after the end are not
    /// used. After the end, nothing is used.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        if self.done {
            return (0, true);
        }
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            match self.st {
                St::Mid => {
                    let rest = input.get(i..).unwrap_or_default();
                    match rest.iter().position(|&x| x == b'\r' || x == b'\n') {
                        None => {
                            out.extend_from_slice(rest);
                            return (input.len(), false);
                        }
                        Some(n) => {
                            out.extend_from_slice(rest.get(..n).unwrap_or_default());
                            i += n;
                            if input.get(i) == Some(&b'\r') {
                                self.st = St::Cr;
                            } else {
                                // Bare LF: kept as data, no line start.
                                self.bare = true;
                                out.push(b'\n');
                            }
                            i += 1;
                        }
                    }
                }
                St::LineStart => {
                    if b == b'.' {
                        self.st = St::Dot;
                        i += 1;
                    } else {
                        self.st = St::Mid;
                    }
                }
                St::Cr => {
                    if b == b'\n' {
                        out.extend_from_slice(b"\r\n");
                        self.st = St::LineStart;
                        i += 1;
                    } else {
                        // Bare CR: kept as data; `b` is read as part of the line.
                        self.bare = true;
                        out.push(b'\r');
                        self.st = St::Mid;
                    }
                }
                St::Dot => {
                    if b == b'\r' {
                        self.st = St::DotCr;
                        i += 1;
                    } else {
                        // A stuffed dot (RFC 5321 4.5.2): removed.
                        self.st = St::Mid;
                    }
                }
                St::DotCr => {
                    if b == b'\n' {
                        self.done = true;
                        return (i + 1, true);
                    }
                    self.bare = true;
                    out.push(b'\r');
                    self.st = St::Mid;
                }
            }
        }
        (input.len(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes.
    fn run(input: &[u8], step: usize) -> (Vec<u8>, Option<usize>, bool) {
        let mut d = DotDecoder::new();
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < input.len() {
            let end = (pos + step).min(input.len());
            let (n, done) = d.decode(&input[pos..end], &mut out);
            pos += n;
            if done {
                return (out, Some(pos), d.bare_line_ending());
            }
        }
        (out, None, d.bare_line_ending())
    }

    #[test]
    fn ends_only_at_crlf_dot_crlf() {
        for step in [1, 2, 3, 7, 1000] {
            assert_eq!(run(b".\r\n", step), (vec![], Some(3), false));
            assert_eq!(
                run(b"a\r\n..b\r\n.c\r\n.\r\nMAIL", step),
                (b"a\r\n.b\r\nc\r\n".to_vec(), Some(15), false)
            );
            assert_eq!(run(b"a\r\n.\r", step), (b"a\r\n".to_vec(), None, false));
        }
    }

    #[test]
    fn smuggling_sequences_stay_in_the_data() {
        for seq in [
            &b"\n.\n"[..],
            b"\r.\r",
            b"\n.\r\n",
            b"\r\n.\n",
            b"\r\n.\r\r\n",
        ] {
            let mut input = b"x".to_vec();
            input.extend_from_slice(seq);
            input.extend_from_slice(b"MAIL FROM:<a@b>\r\n");
            for step in [1, 3, 100] {
                let (_, end, bare) = run(&input, step);
                assert_eq!(end, None, "{seq:?} ended the data");
                assert!(bare, "{seq:?} not flagged");
            }
            input.extend_from_slice(b".\r\n");
            let (_, end, bare) = run(&input, 5);
            assert_eq!(end, Some(input.len()));
            assert!(bare);
        }
        // Bare characters inside the data are kept as they were.
        assert_eq!(
            run(b"a\nb\rc\r\n.\r\n", 2),
            (b"a\nb\rc\r\n".to_vec(), Some(10), true)
        );
    }
}

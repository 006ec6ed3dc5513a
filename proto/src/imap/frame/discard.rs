//! Discarding: the rest of a refused command ("poisoned": its
//! non-synchronising literals are skipped, never parsed) and lines over the
//! limit, up to their LF.

use super::{ANNOUNCE_TAIL, Announce, Frame, Framer, Mode, Reject, announcement};

impl Framer {
    /// Runs the discarding modes (poisoned command, long line). `Ok` when
    /// done with them; `Err(None)` when more input is needed; `Err(Some)`
    /// with a frame to report (a long line's refusal, or fatal).
    pub(super) fn discard(&mut self) -> Result<(), Option<Frame>> {
        loop {
            match self.mode.clone() {
                Mode::Poison { skip } if skip > 0 => {
                    let avail = u64::try_from(self.buf.len()).unwrap_or(u64::MAX);
                    let n = skip.min(avail);
                    self.consume(usize::try_from(n).unwrap_or(usize::MAX));
                    self.mode = Mode::Poison { skip: skip - n };
                    if skip > n {
                        return Err(None);
                    }
                }
                Mode::Poison { .. } => {
                    let Some(lf) = self.find_lf() else {
                        if self.line_overflows() {
                            self.start_long_line(true, true, None);
                            continue;
                        }
                        return Err(None);
                    };
                    let line = self.consume(lf + 1);
                    self.mode = match announcement(&line) {
                        Some(Announce {
                            non_sync: true,
                            len: Some(n),
                        }) => Mode::Poison { skip: n },
                        Some(Announce {
                            non_sync: true,
                            len: None,
                        }) => return Err(Some(self.fatal())),
                        _ => Mode::Lines,
                    };
                }
                Mode::LongLine {
                    tag,
                    rejected,
                    literals,
                    mut tail,
                } => {
                    let lf = self.find_lf();
                    let upto = lf.map_or(self.buf.len(), |p| p + 1);
                    let chunk = self.consume(upto);
                    tail.extend_from_slice(&chunk);
                    let cut = tail.len().saturating_sub(ANNOUNCE_TAIL);
                    tail.drain(..cut);
                    if lf.is_none() {
                        self.mode = Mode::LongLine {
                            tag,
                            rejected,
                            literals,
                            tail,
                        };
                        return Err(None);
                    }
                    let ann = if literals { announcement(&tail) } else { None };
                    let frame = self.refuse(0, ann, Reject::bad(tag, "line too long"));
                    if !rejected || matches!(frame, Frame::Fatal(_)) {
                        return Err(Some(frame));
                    }
                }
                _ => return Ok(()),
            }
        }
    }
}

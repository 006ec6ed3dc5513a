//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951, no zlib header) in
//! both directions. Output is flushed with a sync flush at each
//! `poll_transmit` so the client can decode everything sent so far
//! (RFC 4978 4). Input is inflated in bounded steps, so a small compressed
//! input cannot expand past the framer's limits at once.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Largest amount of plaintext one inflate step produces.
pub(super) const INFLATE_STEP: usize = 16 * 1024;

/// The compressing side (server to client).
#[derive(Debug)]
pub(super) struct Deflater {
    z: Compress,
    /// Something was written since the last flush.
    dirty: bool,
}

impl Deflater {
    pub(super) fn new() -> Self {
        Deflater {
            z: Compress::new(Compression::default(), false),
            dirty: false,
        }
    }

    /// Compresses `input` into `out` (buffered inside the compressor until
    /// [`Deflater::flush`]).
    pub(super) fn write(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.dirty |= !input.is_empty();
        self.run(input, out, FlushCompress::None);
    }

    /// Sync-flushes everything written so far into `out` (nothing when
    /// nothing was written since the last flush).
    pub(super) fn flush(&mut self, out: &mut Vec<u8>) {
        if self.dirty {
            self.dirty = false;
            self.run(&[], out, FlushCompress::Sync);
        }
    }

    fn run(&mut self, mut input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        loop {
            out.reserve(input.len() / 2 + 64);
            let before = self.z.total_in();
            let len_before = out.len();
            // Compressing into a Vec cannot fail for a well-formed stream;
            // on an internal error stop rather than loop.
            if self.z.compress_vec(input, out, flush).is_err() {
                return;
            }
            let used = usize::try_from(self.z.total_in() - before).unwrap_or(input.len());
            input = input.get(used..).unwrap_or_default();
            let filled = out.capacity() - out.len() == 0;
            if input.is_empty() && !filled {
                return;
            }
            if used == 0 && out.len() == len_before {
                // No progress possible: avoid looping.
                return;
            }
        }
    }
}

/// The decompressing side (client to server).
#[derive(Debug)]
pub(super) struct Inflater {
    z: Decompress,
    /// Compressed bytes not inflated yet.
    input: Vec<u8>,
    /// The client ended the DEFLATE stream; later bytes are ignored.
    ended: bool,
}

impl Inflater {
    pub(super) fn new() -> Self {
        Inflater {
            z: Decompress::new(false),
            input: Vec::new(),
            ended: false,
        }
    }

    /// Adds compressed input.
    pub(super) fn push(&mut self, bytes: &[u8]) {
        if !self.ended {
            self.input.extend_from_slice(bytes);
        }
    }

    /// Compressed bytes waiting to be inflated.
    pub(super) fn pending(&self) -> usize {
        self.input.len()
    }

    /// Inflates at most [`INFLATE_STEP`] bytes into `out`. Ok(true) when it
    /// consumed or produced something; Err on invalid data.
    pub(super) fn inflate(&mut self, out: &mut Vec<u8>) -> Result<bool, ()> {
        out.reserve(INFLATE_STEP);
        let before_in = self.z.total_in();
        let before_len = out.len();
        let status = self
            .z
            .decompress_vec(&self.input, out, FlushDecompress::None)
            .map_err(|_| ())?;
        let used = usize::try_from(self.z.total_in() - before_in).unwrap_or(self.input.len());
        self.input.drain(..used.min(self.input.len()));
        if status == Status::StreamEnd {
            self.ended = true;
            self.input = Vec::new();
        }
        Ok(used > 0 || out.len() > before_len || self.ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_both_sides() {
        let mut d = Deflater::new();
        let mut wire = Vec::new();
        d.write(b"* OK hello\r\n", &mut wire);
        d.flush(&mut wire);
        let mut i = Inflater::new();
        i.push(&wire);
        let mut plain = Vec::new();
        while i.pending() > 0 {
            assert!(i.inflate(&mut plain).unwrap());
        }
        assert_eq!(plain, b"* OK hello\r\n");
    }

    #[test]
    fn inflation_is_bounded_per_step() {
        let mut d = Deflater::new();
        let mut wire = Vec::new();
        d.write(&vec![b'a'; 1 << 20], &mut wire);
        d.flush(&mut wire);
        assert!(wire.len() < 8 * 1024);
        let mut i = Inflater::new();
        i.push(&wire);
        let mut chunk = Vec::new();
        assert!(i.inflate(&mut chunk).unwrap());
        assert!(chunk.len() <= INFLATE_STEP + 64, "{}", chunk.len());
        assert!(i.inflate(&mut Vec::new()).is_ok());
    }

    #[test]
    fn garbage_is_an_error() {
        let mut i = Inflater::new();
        i.push(&[0xff; 16]);
        assert!(i.inflate(&mut Vec::new()).is_err());
    }
}

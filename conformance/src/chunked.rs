//! The bare core under any chunking of the input: [`Chunked`] wraps a
//! [`Driver`] and hands each client send to it in pieces cut at
//! pseudo-random points (seeded, so a failure repeats), or byte by byte.
//! A transcript must give the same exchange however its bytes are cut.

use crate::runner::{Driver, Outcome, run};
use crate::transcript::Transcript;

/// How sends are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cuts {
    /// One byte at a time.
    Bytes,
    /// Pieces of 1..=16 bytes, lengths from a xorshift generator with this
    /// seed (non-zero).
    Seeded(u64),
}

/// A driver whose sends reach `inner` in pieces.
pub struct Chunked<D> {
    inner: D,
    cuts: Cuts,
    state: u64,
}

impl<D: Driver> Chunked<D> {
    /// Wraps `inner`.
    pub fn new(inner: D, cuts: Cuts) -> Chunked<D> {
        let state = match cuts {
            Cuts::Bytes => 1,
            Cuts::Seeded(s) => s.max(1),
        };
        Chunked { inner, cuts, state }
    }

    fn next_len(&mut self) -> usize {
        match self.cuts {
            Cuts::Bytes => 1,
            Cuts::Seeded(_) => {
                // xorshift64 (Marsaglia 2003).
                let mut x = self.state;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                self.state = x;
                (x % 16) as usize + 1
            }
        }
    }
}

impl<D: Driver> Driver for Chunked<D> {
    fn open(&mut self, n: usize) -> Result<(), String> {
        self.inner.open(n)
    }

    fn send(&mut self, n: usize, bytes: &[u8]) -> Result<(), String> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let k = self.next_len().min(rest.len());
            let (piece, tail) = rest.split_at(k);
            self.inner.send(n, piece)?;
            rest = tail;
        }
        Ok(())
    }

    fn next_line(&mut self, n: usize) -> Result<Option<Vec<u8>>, String> {
        self.inner.next_line(n)
    }

    fn pending_lines(&mut self, n: usize) -> Vec<Vec<u8>> {
        self.inner.pending_lines(n)
    }

    fn greeting_visible(&self) -> bool {
        self.inner.greeting_visible()
    }

    fn finish(&mut self) -> Result<(), String> {
        self.inner.finish()
    }

    fn tls_exporter(&mut self, n: usize) -> Option<Vec<u8>> {
        self.inner.tls_exporter(n)
    }

    fn eof(&mut self, n: usize) -> Result<(), String> {
        self.inner.eof(n)
    }
}

/// Runs `t` on a fresh bare core with its sends cut as `cuts` says.
pub fn run_core_chunked(t: &Transcript, cuts: Cuts) -> Outcome {
    match crate::core::Core::for_transcript(t) {
        Ok(c) => run(t, &mut Chunked::new(c, cuts)),
        Err(e) => Outcome {
            failure: Some(e),
            log: Vec::new(),
        },
    }
}

/// The client bytes of `t` (its `C:`, `C~` and `C|` lines), to decide
/// whether byte-by-byte feeding is cheap enough.
pub fn client_bytes(t: &Transcript) -> usize {
    t.steps
        .iter()
        .map(|s| match s {
            crate::transcript::Step::Send(b) => b.len(),
            _ => 0,
        })
        .sum()
}

//! The framer's input buffer: a `Vec` with a read offset, so taking
//! commands off the front costs time linear in what is taken, not in what
//! stays buffered (many small pipelined commands would otherwise be
//! quadratic).

use std::ops::Deref;

/// Compaction happens only past this many consumed bytes.
const COMPACT_MIN: usize = 4096;

/// Buffered input; derefs to the unread bytes. `Debug` shows sizes only:
/// the bytes may hold a password (LOGIN, AUTHENTICATE).
#[derive(Default)]
pub(super) struct InBuf {
    data: Vec<u8>,
    /// Bytes of `data` already taken.
    head: usize,
}

impl Deref for InBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.data.get(self.head..).unwrap_or_default()
    }
}

impl std::fmt::Debug for InBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InBuf({} bytes unread)", self.len())
    }
}

impl InBuf {
    /// Appends input, first dropping taken bytes when they are at least
    /// half of the buffer.
    pub(super) fn extend_from_slice(&mut self, bytes: &[u8]) {
        if self.head > 0 && self.head * 2 >= self.data.len() {
            self.data.drain(..self.head);
            self.head = 0;
        }
        self.data.extend_from_slice(bytes);
    }

    /// Allocated size.
    pub(super) fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// Drops everything.
    pub(super) fn clear(&mut self) {
        self.data.clear();
        self.head = 0;
    }

    /// Drops everything and frees the memory.
    pub(super) fn release(&mut self) {
        *self = InBuf::default();
    }

    /// Takes the first `n` unread bytes (all of them when fewer).
    pub(super) fn take_front(&mut self, n: usize) -> Vec<u8> {
        let avail = self.data.len() - self.head;
        let n = n.min(avail);
        if n == avail && self.head == 0 {
            return std::mem::take(&mut self.data);
        }
        let end = self.head + n;
        let taken = self.data.get(self.head..end).unwrap_or_default().to_vec();
        self.head = end;
        if self.head == self.data.len() {
            self.clear();
        } else if self.head >= COMPACT_MIN && self.head * 2 >= self.data.len() {
            self.data.drain(..self.head);
            self.head = 0;
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_and_compact() {
        let mut b = InBuf::default();
        b.extend_from_slice(b"abcdef");
        assert_eq!(b.take_front(2), b"ab");
        assert_eq!(&b[..], b"cdef");
        b.extend_from_slice(b"gh");
        assert_eq!(&b[..], b"cdefgh");
        assert_eq!(b.take_front(100), b"cdefgh");
        assert!(b.is_empty());
        let big = vec![7u8; 10_000];
        b.extend_from_slice(&big);
        for _ in 0..9 {
            assert_eq!(b.take_front(1000).len(), 1000);
        }
        assert_eq!(b.len(), 1000);
        assert!(b.head < 10_000);
        assert_eq!(b.take_front(1000), vec![7u8; 1000]);
    }
}

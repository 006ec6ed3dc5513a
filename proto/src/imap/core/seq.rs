//! Sequence sets (RFC 9051 9 `sequence-set`, RFC 5182 `$`) and UID sets as
//! servers send them (RFC 4315 `uid-set`, RFC 7162 VANISHED).

use super::error::{IResult, ParseError};
use super::{nz_number, write_number};

/// One end of a range: a number, or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    /// A message sequence number or UID (never 0).
    Value(u32),
    /// `*`: the largest number in use in the mailbox.
    Last,
}

impl SeqNum {
    /// The number this end stands for, with `*` meaning `largest`.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqNum::Value(v) => v,
            SeqNum::Last => largest,
        }
    }
}

/// `seq-number` or `seq-range`; a single number has `start == end`.
/// The order of the ends does not matter (RFC 9051 9: `4:2` = `2:4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// First end as written.
    pub start: SeqNum,
    /// Second end as written (equal to `start` for a single number).
    pub end: SeqNum,
}

impl SeqRange {
    /// A single number.
    pub fn single(n: SeqNum) -> Self {
        SeqRange { start: n, end: n }
    }

    /// The range as `(low, high)` given the largest number in use.
    pub fn bounds(&self, largest: u32) -> (u32, u32) {
        let a = self.start.resolve(largest);
        let b = self.end.resolve(largest);
        (a.min(b), a.max(b))
    }
}

/// A sequence set as clients send it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Comma-separated numbers and ranges (never empty).
    Ranges(Vec<SeqRange>),
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)` (RFC 5182).
    LastResult,
}

impl SequenceSet {
    /// Whether `n` is in the set, `*` standing for `largest`. `$` contains
    /// nothing here: the caller substitutes the saved result first.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            SequenceSet::Ranges(r) => r.iter().any(|r| {
                let (lo, hi) = r.bounds(largest);
                lo <= n && n <= hi
            }),
            SequenceSet::LastResult => false,
        }
    }

    /// A set with one range `start:end`.
    pub fn range(start: u32, end: u32) -> Self {
        SequenceSet::Ranges(vec![SeqRange {
            start: SeqNum::Value(start),
            end: SeqNum::Value(end),
        }])
    }
}

/// `seq-number` (RFC 9051 9): `nz-number / "*"`.
pub fn seq_number(i: &[u8]) -> IResult<'_, SeqNum> {
    match i.first() {
        Some(b'*') => Ok((&i[1..], SeqNum::Last)),
        _ => nz_number(i).map(|(r, n)| (r, SeqNum::Value(n))),
    }
}

fn seq_range(i: &[u8]) -> IResult<'_, SeqRange> {
    let (i, start) = seq_number(i)?;
    match i.first() {
        Some(b':') => {
            let (i, end) = seq_number(&i[1..])?;
            Ok((i, SeqRange { start, end }))
        }
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        _ => Ok((i, SeqRange::single(start))),
    }
}

/// `sequence-set` (RFC 9051 9), including `$` (RFC 5182).
pub fn sequence_set(i: &[u8]) -> IResult<'_, SequenceSet> {
    if let Some(b'$') = i.first() {
        return Ok((&i[1..], SequenceSet::LastResult));
    }
    let mut ranges = Vec::new();
    let mut i = i;
    loop {
        let (rest, r) = seq_range(i).map_err(|e| match e {
            nom::Err::Error(_) => ParseError::fail(i, "expected a sequence set"),
            e => e,
        })?;
        ranges.push(r);
        match rest.first() {
            Some(b',') => i = &rest[1..],
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            _ => return Ok((rest, SequenceSet::Ranges(ranges))),
        }
    }
}

/// Writes a sequence set.
pub fn write_sequence_set(out: &mut Vec<u8>, set: &SequenceSet) {
    match set {
        SequenceSet::LastResult => out.push(b'$'),
        SequenceSet::Ranges(ranges) => {
            for (n, r) in ranges.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_seq_number(out, r.start);
                if r.end != r.start {
                    out.push(b':');
                    write_seq_number(out, r.end);
                }
            }
        }
    }
}

fn write_seq_number(out: &mut Vec<u8>, n: SeqNum) {
    match n {
        SeqNum::Value(v) => write_number(out, v),
        SeqNum::Last => out.push(b'*'),
    }
}

/// A set of UIDs as a server sends it: ranges of non-zero numbers, no `*`
/// (RFC 4315 `uid-set`, RFC 7162 `known-uids`). Ranges are `(low, high)`,
/// kept in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UidSet(pub Vec<(u32, u32)>);

impl UidSet {
    /// Builds the shortest set from ascending numbers (consecutive numbers
    /// become ranges).
    pub fn from_sorted(nums: impl IntoIterator<Item = u32>) -> Self {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for n in nums {
            match ranges.last_mut() {
                Some((_, hi)) if hi.checked_add(1) == Some(n) => *hi = n,
                Some((_, hi)) if *hi == n => {}
                _ => ranges.push((n, n)),
            }
        }
        UidSet(ranges)
    }

    /// True when the set holds no number.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All numbers of the set, range by range.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|&(lo, hi)| lo.min(hi)..=hi.max(lo))
    }
}

/// `uid-set` (RFC 4315 4): `(uniqueid / uid-range) *("," ...)`.
pub fn uid_set(i: &[u8]) -> IResult<'_, UidSet> {
    let mut ranges = Vec::new();
    let mut i = i;
    loop {
        let (rest, lo) = nz_number(i)?;
        let (rest, hi) = match rest.first() {
            Some(b':') => nz_number(&rest[1..])?,
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            _ => (rest, lo),
        };
        ranges.push((lo, hi));
        match rest.first() {
            Some(b',') => i = &rest[1..],
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            _ => return Ok((rest, UidSet(ranges))),
        }
    }
}

/// Writes a UID set; an empty set is not valid IMAP and the caller must not
/// write one.
pub fn write_uid_set(out: &mut Vec<u8>, set: &UidSet) {
    for (n, &(lo, hi)) in set.0.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_number(out, lo);
        if hi != lo {
            out.push(b':');
            write_number(out, hi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_write() {
        let (rest, s) = sequence_set(b"1,3:5,7:*,* ").unwrap();
        assert_eq!(rest, b" ");
        let mut out = Vec::new();
        write_sequence_set(&mut out, &s);
        assert_eq!(out, b"1,3:5,7:*,*");
        assert!(s.contains(4, 10));
        assert!(!s.contains(6, 10));
        assert!(s.contains(10, 10));
        assert_eq!(sequence_set(b"$ ").unwrap().1, SequenceSet::LastResult);
        assert!(sequence_set(b"0 ").is_err());
        assert!(sequence_set(b"1, ").is_err());
        assert!(matches!(sequence_set(b"1:"), Err(nom::Err::Incomplete(_))));
        // RFC 9051 9: 4:2 is the same as 2:4.
        assert!(sequence_set(b"4:2 ").unwrap().1.contains(3, 10));
    }

    #[test]
    fn uid_sets() {
        let s = UidSet::from_sorted([1, 2, 3, 5, 7, 8]);
        let mut out = Vec::new();
        write_uid_set(&mut out, &s);
        assert_eq!(out, b"1:3,5,7:8");
        assert_eq!(uid_set(b"1:3,5,7:8 ").unwrap().1, s);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 2, 3, 5, 7, 8]);
        assert!(uid_set(b"* ").is_err());
    }
}

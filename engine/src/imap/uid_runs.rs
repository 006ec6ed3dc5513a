//! The UIDs a session knows of its selected mailbox, stored as runs of
//! consecutive UIDs with prefix counts, so that a mailbox whose UIDs are
//! mostly contiguous (the usual case: APPEND and delivery allocate UIDs in
//! order) costs a few bytes per run instead of four per message, and
//! sequence number ↔ UID mapping is a binary search over runs
//! (RFC 9051 2.3.1.2: sequence number = position in ascending UID order).

/// One run: UIDs `start..=end`, preceded by `before` UIDs in earlier runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: u32,
    end: u32,
    before: u32,
}

impl Run {
    fn len(&self) -> u32 {
        self.end - self.start + 1
    }
}

/// An ascending set of UIDs indexed by position (0-based; sequence number
/// = index + 1). Invariants: runs ascending, non-empty, non-adjacent
/// (`end + 1 < next.start`), `before` = sum of lengths of earlier runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UidRuns {
    runs: Vec<Run>,
}

impl UidRuns {
    /// An empty set.
    pub(crate) fn new() -> UidRuns {
        UidRuns { runs: Vec::new() }
    }

    /// From ascending inclusive runs (as [`moxide_storage::Account::uid_runs`]
    /// returns them). Overlapping, unsorted or reversed runs are normalised;
    /// 0 is not a UID and is dropped.
    pub(crate) fn from_runs(runs: &[(u32, u32)]) -> UidRuns {
        let mut out = UidRuns::new();
        let runs: Vec<(u32, u32)> = runs
            .iter()
            .filter(|r| r.0.max(r.1) > 0)
            .map(|&(a, b)| (a.min(b).max(1), a.max(b)))
            .collect();
        if runs.windows(2).all(|w| w[0].1 < w[1].0) {
            for (s, e) in runs {
                out.push_run(s, e);
            }
        } else {
            let mut v = runs;
            v.sort_unstable();
            for (s, e) in v {
                let s = match out.last() {
                    Some(l) if e <= l => continue,
                    Some(l) if s <= l => l + 1,
                    _ => s,
                };
                out.push_run(s, e);
            }
        }
        out.runs.shrink_to_fit();
        out
    }

    /// From ascending UIDs (duplicates ignored).
    #[cfg(test)]
    pub(crate) fn from_sorted(uids: &[u32]) -> UidRuns {
        let mut out = UidRuns::new();
        for &u in uids {
            if out.last().is_none_or(|l| u > l) {
                out.push(u);
            }
        }
        out
    }

    /// Appends `start..=end` (`start` above every UID in the set).
    fn push_run(&mut self, start: u32, end: u32) {
        let before = self.len_u32();
        match self.runs.last_mut() {
            Some(l) if l.end.checked_add(1) == Some(start) => l.end = end,
            _ => self.runs.push(Run { start, end, before }),
        }
    }

    /// Appends `uid`, which must be above [`UidRuns::last`]; a UID not
    /// above it, or 0 (not a UID, RFC 9051 2.3.1.1), is ignored (returns
    /// false).
    pub(crate) fn push(&mut self, uid: u32) -> bool {
        if uid == 0 || self.last().is_some_and(|l| uid <= l) {
            return false;
        }
        self.push_run(uid, uid);
        true
    }

    fn len_u32(&self) -> u32 {
        self.runs.last().map_or(0, |r| r.before + r.len())
    }

    /// Number of UIDs.
    pub(crate) fn len(&self) -> usize {
        self.len_u32() as usize
    }

    /// Whether the set is empty.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Smallest UID.
    pub(crate) fn first(&self) -> Option<u32> {
        self.runs.first().map(|r| r.start)
    }

    /// Largest UID.
    pub(crate) fn last(&self) -> Option<u32> {
        self.runs.last().map(|r| r.end)
    }

    /// The UID at `index` (sequence number - 1).
    pub(crate) fn get(&self, index: usize) -> Option<u32> {
        let i = u32::try_from(index).ok()?;
        let r = self
            .runs
            .partition_point(|r| r.before <= i)
            .checked_sub(1)?;
        let run = self.runs.get(r)?;
        let off = i - run.before;
        (off < run.len()).then(|| run.start + off)
    }

    /// Index (sequence number - 1) of `uid`, if present.
    pub(crate) fn position(&self, uid: u32) -> Option<usize> {
        let r = self.runs.partition_point(|r| r.end < uid);
        let run = self.runs.get(r)?;
        (run.start <= uid).then(|| (run.before + (uid - run.start)) as usize)
    }

    /// Number of UIDs at or below `uid`.
    pub(crate) fn count_le(&self, uid: u32) -> usize {
        match uid.checked_add(1) {
            Some(next) => self.rank(next),
            None => self.len(),
        }
    }

    /// Number of UIDs below `uid` (the index `uid` has or would have).
    pub(crate) fn rank(&self, uid: u32) -> usize {
        let r = self.runs.partition_point(|r| r.end < uid);
        match self.runs.get(r) {
            Some(run) if run.start <= uid => (run.before + (uid - run.start)) as usize,
            Some(run) => run.before as usize,
            None => self.len(),
        }
    }

    /// Removes `uids` (any order; absent ones ignored) in one pass over the
    /// runs. Returns the index each removed UID had before the removal,
    /// ascending by UID (so the k-th of them, counting from 0, had sequence
    /// number `index - k + 1` at the moment it was removed in that order).
    pub(crate) fn remove(&mut self, uids: &[u32]) -> Vec<(u32, usize)> {
        let mut gone: Vec<(u32, usize)> = uids
            .iter()
            .filter_map(|&u| self.position(u).map(|i| (u, i)))
            .collect();
        if gone.is_empty() {
            return gone;
        }
        gone.sort_unstable();
        gone.dedup();
        let mut out = UidRuns {
            runs: Vec::with_capacity(self.runs.len() + gone.len()),
        };
        let mut g = gone.iter().map(|p| p.0).peekable();
        for run in &self.runs {
            // Start of the part of the run not yet emitted; None past u32::MAX.
            let mut from = Some(run.start);
            while let Some(u) = g.next_if(|&u| u <= run.end) {
                // Every removed UID is in some run, and earlier runs have
                // consumed the smaller ones: `u` is in this run.
                if let Some(f) = from.filter(|&f| f < u) {
                    out.push_run(f, u - 1);
                }
                from = u.checked_add(1);
            }
            if let Some(f) = from.filter(|&f| f <= run.end) {
                out.push_run(f, run.end);
            }
        }
        let mut out = out.runs;
        out.shrink_to_fit();
        self.runs = out;
        gone
    }

    /// Heap bytes held (for tests and measurements).
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<Run>()
    }

    /// All UIDs, ascending.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.runs.iter().flat_map(|r| r.start..=r.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(set: &UidRuns, model: &[u32]) {
        assert_eq!(set.len(), model.len());
        assert_eq!(set.iter().collect::<Vec<_>>(), model);
        assert_eq!(set.first(), model.first().copied());
        assert_eq!(set.last(), model.last().copied());
        assert_eq!(set.is_empty(), model.is_empty());
        for (i, &u) in model.iter().enumerate() {
            assert_eq!(set.get(i), Some(u));
            assert_eq!(set.position(u), Some(i));
        }
        assert_eq!(set.get(model.len()), None);
        let mut before = 0;
        for w in set.runs.iter() {
            assert!(w.start <= w.end);
            assert_eq!(w.before, before);
            before += w.len();
        }
        for w in set.runs.windows(2) {
            assert!(w[0].end + 1 < w[1].start, "{:?}", set.runs);
        }
    }

    #[test]
    fn contiguous_mailbox_is_one_run() {
        let s = UidRuns::from_runs(&[(1, 50_000)]);
        assert_eq!(s.len(), 50_000);
        assert_eq!(s.get(0), Some(1));
        assert_eq!(s.get(49_999), Some(50_000));
        assert_eq!(s.get(50_000), None);
        assert_eq!(s.position(25_000), Some(24_999));
        assert_eq!(s.position(50_001), None);
        assert_eq!(s.heap_bytes(), 12);
    }

    #[test]
    fn removal_splits_and_reports_old_indexes() {
        let mut s = UidRuns::from_runs(&[(1, 10), (20, 22)]);
        assert_eq!(
            s.remove(&[22, 5, 1, 99, 5, 10]),
            vec![(1, 0), (5, 4), (10, 9), (22, 12)]
        );
        check(&s, &[2, 3, 4, 6, 7, 8, 9, 20, 21]);
        assert_eq!(s.remove(&[20, 21]), vec![(20, 7), (21, 8)]);
        check(&s, &[2, 3, 4, 6, 7, 8, 9]);
        assert_eq!(s.remove(&[2, 3, 4, 6, 7, 8, 9]).len(), 7);
        check(&s, &[]);
        assert!(s.push(7));
        assert!(!s.push(7));
        check(&s, &[7]);
    }

    #[test]
    fn rank_counts_smaller_uids() {
        let s = UidRuns::from_sorted(&[3, 5, 9, 10]);
        let r: Vec<usize> = (0..12).map(|u| s.rank(u)).collect();
        assert_eq!(r, vec![0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4]);
        check(
            &UidRuns::from_runs(&[(5, 9), (1, 3), (2, 6), (4, 2)]),
            &[1, 2, 3, 4, 5, 6, 7, 8, 9],
        );
        check(
            &UidRuns::from_runs(&[(u32::MAX - 1, u32::MAX)]),
            &[u32::MAX - 1, u32::MAX],
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Append(u32),
        Remove(Vec<u32>),
        Get(usize),
        Position(u32),
        Rank(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (1u32..4).prop_map(Op::Append),
            2 => prop::collection::vec(0u32..80, 0..6).prop_map(Op::Remove),
            1 => (0usize..80).prop_map(Op::Get),
            1 => (0u32..80).prop_map(Op::Position),
            1 => (0u32..80).prop_map(Op::Rank),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn behaves_like_a_sorted_vec(
            start in prop::collection::vec(1u32..60, 0..40),
            ops in prop::collection::vec(op(), 0..40),
        ) {
            let mut model: Vec<u32> = start.clone();
            model.sort_unstable();
            model.dedup();
            let mut set = UidRuns::from_sorted(&model);
            check(&set, &model);
            for op in ops {
                match op {
                    Op::Append(gap) => {
                        let uid = model.last().copied().unwrap_or(0) + gap;
                        prop_assert!(set.push(uid));
                        model.push(uid);
                    }
                    Op::Remove(uids) => {
                        let mut want: Vec<(u32, usize)> = uids
                            .iter()
                            .filter_map(|u| model.binary_search(u).ok().map(|i| (*u, i)))
                            .collect();
                        want.sort_unstable();
                        want.dedup();
                        prop_assert_eq!(set.remove(&uids), want);
                        model.retain(|u| !uids.contains(u));
                    }
                    Op::Get(i) => prop_assert_eq!(set.get(i), model.get(i).copied()),
                    Op::Position(u) => prop_assert_eq!(set.position(u), model.binary_search(&u).ok()),
                    Op::Rank(u) => {
                        prop_assert_eq!(set.rank(u), model.partition_point(|&m| m < u));
                        prop_assert_eq!(set.count_le(u), model.partition_point(|&m| m <= u));
                    }
                }
                check(&set, &model);
            }
        }
    }
}

//! The resolver's answer cache: TTL-bounded, with a memory limit; when full,
//! the oldest entries go first.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::types::{Lookup, Query, Rdata};

/// Bytes an entry costs besides its names and data (map slots, the entry
/// itself): an estimate that keeps the limit honest for small answers.
const ENTRY_OVERHEAD: usize = 160;

#[derive(Debug)]
struct Entry {
    lookup: Lookup,
    expires: Instant,
    seq: u64,
    size: usize,
}

/// Answers by query. Only [`Lookup::Records`], [`Lookup::NxDomain`] and
/// [`Lookup::NoData`] are stored.
#[derive(Debug)]
pub struct Cache {
    entries: HashMap<Query, Entry>,
    /// Insertion order: sequence number → query (oldest first).
    order: BTreeMap<u64, Query>,
    next_seq: u64,
    bytes: usize,
    limit: usize,
}

impl Cache {
    /// An empty cache holding at most about `limit` bytes.
    pub fn new(limit: usize) -> Cache {
        Cache {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
            limit,
        }
    }

    /// The estimated bytes in use.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The number of entries (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Stores `lookup` for `ttl` seconds from `now`. A TTL of 0, a failure
    /// or an entry larger than the whole limit is not stored.
    pub fn insert(&mut self, now: Instant, query: &Query, lookup: &Lookup, ttl: u32) {
        if ttl == 0 || matches!(lookup, Lookup::Failed(_)) {
            return;
        }
        let size = entry_size(query, lookup);
        if size > self.limit {
            return;
        }
        self.remove(query);
        while self.bytes + size > self.limit {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.bytes -= e.size;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, query.clone());
        self.bytes += size;
        self.entries.insert(
            query.clone(),
            Entry {
                lookup: lookup.clone(),
                expires: now + Duration::from_secs(u64::from(ttl)),
                seq,
                size,
            },
        );
    }

    /// The stored answer for `query` if it has not expired at `now`, with
    /// [`Records::ttl`](super::Records::ttl) set to the seconds left.
    pub fn get(&mut self, now: Instant, query: &Query) -> Option<Lookup> {
        let e = self.entries.get(query)?;
        if now >= e.expires {
            self.remove(query);
            return None;
        }
        let left = e.expires.duration_since(now).as_secs();
        let mut lookup = e.lookup.clone();
        if let Lookup::Records(r) = &mut lookup {
            r.ttl = u32::try_from(left).unwrap_or(u32::MAX);
        }
        Some(lookup)
    }

    fn remove(&mut self, query: &Query) {
        if let Some(e) = self.entries.remove(query) {
            self.order.remove(&e.seq);
            self.bytes -= e.size;
        }
    }
}

/// The estimated memory of one entry.
fn entry_size(query: &Query, lookup: &Lookup) -> usize {
    let data: usize = match lookup {
        Lookup::Records(r) => r.canonical.len() + r.data.iter().map(rdata_size).sum::<usize>(),
        _ => 0,
    };
    // The query is stored twice (map key and order list).
    ENTRY_OVERHEAD + 2 * query.name.len() + data
}

fn rdata_size(r: &Rdata) -> usize {
    32 + match r {
        Rdata::A(_) | Rdata::Aaaa(_) => 0,
        Rdata::Mx { exchange, .. } => exchange.len(),
        Rdata::Txt(parts) => parts.iter().map(|p| p.len() + 24).sum(),
        Rdata::Tlsa { data, .. } => data.len(),
        Rdata::Ptr(n) | Rdata::Cname(n) | Rdata::Ns(n) => n.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{RecordType, Records};
    use std::net::Ipv4Addr;

    fn a(name: &str, ip: [u8; 4]) -> (Query, Lookup) {
        (
            Query::new(name, RecordType::A),
            Lookup::Records(Records {
                canonical: name.into(),
                data: vec![Rdata::A(Ipv4Addr::from(ip))],
                ttl: 300,
                authentic: false,
            }),
        )
    }

    #[test]
    fn ttl_counts_down_and_expires() {
        let t0 = Instant::now();
        let mut c = Cache::new(10_000);
        let (q, l) = a("a.example", [192, 0, 2, 1]);
        c.insert(t0, &q, &l, 300);
        let Some(Lookup::Records(r)) = c.get(t0 + Duration::from_millis(100_500), &q) else {
            panic!("cached answer expected")
        };
        assert_eq!(r.ttl, 199);
        assert_eq!(r.data, vec![Rdata::A(Ipv4Addr::new(192, 0, 2, 1))]);
        assert_eq!(c.get(t0 + Duration::from_secs(300), &q), None);
        assert_eq!((c.len(), c.bytes()), (0, 0));
    }

    #[test]
    fn zero_ttl_and_failures_not_stored() {
        let t0 = Instant::now();
        let mut c = Cache::new(10_000);
        let (q, l) = a("a.example", [192, 0, 2, 1]);
        c.insert(t0, &q, &l, 0);
        c.insert(t0, &q, &Lookup::Failed(crate::dns::Failure::ServFail), 300);
        assert!(c.is_empty());
        let nx = Lookup::NxDomain { authentic: true };
        c.insert(t0, &q, &nx, 60);
        assert_eq!(c.get(t0, &q), Some(nx));
    }

    #[test]
    fn memory_limit_evicts_oldest_first() {
        let t0 = Instant::now();
        let (q1, l1) = a("one.example", [192, 0, 2, 1]);
        let one = entry_size(&q1, &l1);
        // Room for exactly three entries of this size.
        let mut c = Cache::new(3 * one);
        for (i, name) in ["one.example", "two.example", "six.example", "ten.example"]
            .iter()
            .enumerate()
        {
            let (q, l) = a(name, [192, 0, 2, i as u8]);
            c.insert(t0, &q, &l, 300);
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.bytes(), 3 * one);
        assert_eq!(c.get(t0, &q1), None);
        for name in ["two.example", "six.example", "ten.example"] {
            assert!(
                c.get(t0, &Query::new(name, RecordType::A)).is_some(),
                "{name}"
            );
        }
        // Replacing an entry does not count it twice.
        let (q, l) = a("ten.example", [192, 0, 2, 9]);
        c.insert(t0, &q, &l, 300);
        assert_eq!((c.len(), c.bytes()), (3, 3 * one));
        // An entry larger than the limit is not stored and evicts nothing.
        let big = Lookup::Records(Records {
            canonical: "big.example".into(),
            data: vec![Rdata::Txt(vec![vec![b'x'; 4 * one]])],
            ttl: 300,
            authentic: false,
        });
        c.insert(t0, &Query::new("big.example", RecordType::Txt), &big, 300);
        assert_eq!(c.len(), 3);
    }
}

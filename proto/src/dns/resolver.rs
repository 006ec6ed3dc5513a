//! The sans-IO stub resolver: one per process, shared by all connections.
//! It sends queries to recursive resolvers, matches responses, retries
//! across servers, falls back to TCP on truncation, follows CNAMEs the
//! server did not, coalesces identical lookups and caches answers. The
//! runtime moves its datagrams and streams and keeps its timer.
//!
//! Calling contract (quinn-proto style):
//! - [`Resolver::lookup`] starts a lookup and returns its handle.
//! - After any `lookup`/`handle_*` call the runtime drains
//!   [`poll_transmit`](Resolver::poll_transmit) (sending each
//!   [`Transmit`]), then [`poll_answer`](Resolver::poll_answer), then reads
//!   [`poll_timeout`](Resolver::poll_timeout) and calls
//!   [`handle_timeout`](Resolver::handle_timeout) when it passes (a
//!   spurious call is harmless).
//! - Datagrams from a server go to [`handle_udp`](Resolver::handle_udp);
//!   a complete TCP response (its 2-byte length prefix removed) to
//!   [`handle_tcp`](Resolver::handle_tcp); a send, connect or read error to
//!   [`handle_failed`](Resolver::handle_failed). The runtime may stop
//!   listening for an exchange once [`is_waiting`](Resolver::is_waiting)
//!   is false for it.
//!
//! Every lookup ends with exactly one answer per handle, at the latest when
//! its lookup timeout passes.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use super::cache::Cache;
use super::message::{MAX_CNAME_CHAIN, Reply, SentQuery, decode_response, encode_query};
use super::name::normalize_name;
use super::resolv_conf::ResolverConfig;
use super::types::{Failure, Lookup, Query};

/// Randomness the runtime injects (message ids, 0x20 case patterns); it
/// should come from the operating system's CSPRNG.
pub type Random = Box<dyn FnMut() -> u64 + Send>;

/// Identifies one [`Resolver::lookup`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupHandle(pub u64);

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    /// A new TCP connection per exchange; the bytes carry the 2-byte length
    /// prefix (RFC 1035 4.2.2).
    Tcp,
}

/// A message for the runtime to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub server: SocketAddr,
    pub transport: Transport,
    /// The message id: with `server`, names the exchange in
    /// [`Resolver::handle_failed`] and [`Resolver::is_waiting`].
    pub id: u16,
    pub bytes: Vec<u8>,
}

/// One message sent and not yet answered.
#[derive(Debug)]
struct Exchange {
    flight: u64,
    sent: SentQuery,
    transport: Transport,
}

/// One lookup on the wire, shared by every handle asking the same query.
#[derive(Debug)]
struct Flight {
    query: Query,
    /// The name asked now: the query's, or a CNAME target.
    current: Query,
    waiters: Vec<LookupHandle>,
    deadline: Instant,
    /// When the next send goes out if nothing answers (`None`: no sends
    /// left, wait for the deadline).
    next_send: Option<Instant>,
    /// Sends made for `current` (index into the server rotation).
    sends: usize,
    /// The server rotation starts here.
    first_server: usize,
    /// Truncation was seen: further sends use TCP.
    tcp: bool,
    /// Servers that answered with an error for `current`.
    errored: Vec<SocketAddr>,
    last_error: Option<Failure>,
    exchanges: Vec<(SocketAddr, u16)>,
    /// CNAMEs followed so far, the smallest TTL among them, and whether
    /// every answer on the way was authentic.
    hops: usize,
    visited: Vec<String>,
    chain_ttl: u32,
    authentic: bool,
}

/// The stub resolver state machine. See the module documentation for the
/// calling contract.
pub struct Resolver {
    config: ResolverConfig,
    random: Random,
    cache: Cache,
    flights: HashMap<u64, Flight>,
    by_query: HashMap<Query, u64>,
    exchanges: HashMap<(SocketAddr, u16), Exchange>,
    transmits: VecDeque<Transmit>,
    answers: VecDeque<(LookupHandle, Lookup)>,
    next_handle: u64,
    next_flight: u64,
    rotation: usize,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("config", &self.config)
            .field("flights", &self.flights.len())
            .field("cache_entries", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver with `config`, drawing ids and case patterns from `random`.
    pub fn new(config: ResolverConfig, random: Random) -> Resolver {
        Resolver {
            cache: Cache::new(config.cache_bytes),
            config,
            random,
            flights: HashMap::new(),
            by_query: HashMap::new(),
            exchanges: HashMap::new(),
            transmits: VecDeque::new(),
            answers: VecDeque::new(),
            next_handle: 0,
            next_flight: 0,
            rotation: 0,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// Estimated bytes held by the answer cache.
    pub fn cache_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// Starts a lookup. The answer comes from [`poll_answer`](Self::poll_answer)
    /// with the returned handle: at once when cached, else after the
    /// exchanges this asks the runtime to make.
    pub fn lookup(&mut self, now: Instant, query: Query) -> LookupHandle {
        let handle = LookupHandle(self.next_handle);
        self.next_handle += 1;
        let query = match normalize_name(&query.name) {
            Ok(name) => Query::new(name, query.rtype),
            Err(e) => {
                let msg = format!("{:?}: {e}", query.name);
                self.answers
                    .push_back((handle, Lookup::Failed(Failure::Malformed(msg))));
                return handle;
            }
        };
        if let Some(hit) = self.cache.get(now, &query) {
            self.answers.push_back((handle, hit));
            return handle;
        }
        if let Some(f) = self
            .by_query
            .get(&query)
            .and_then(|id| self.flights.get_mut(id))
        {
            // RFC 5452 5: one query on the wire for identical questions.
            f.waiters.push(handle);
            return handle;
        }
        if self.config.servers.is_empty() {
            let f = Failure::Network("no nameserver configured".into());
            self.answers.push_back((handle, Lookup::Failed(f)));
            return handle;
        }
        let id = self.next_flight;
        self.next_flight += 1;
        let first_server = if self.config.rotate {
            self.rotation = self.rotation.wrapping_add(1);
            (self.rotation - 1) % self.config.servers.len()
        } else {
            0
        };
        self.flights.insert(
            id,
            Flight {
                current: query.clone(),
                query: query.clone(),
                waiters: vec![handle],
                deadline: now + self.config.lookup_timeout,
                next_send: None,
                sends: 0,
                first_server,
                tcp: false,
                errored: Vec::new(),
                last_error: None,
                exchanges: Vec::new(),
                hops: 0,
                visited: vec![query.name.clone()],
                chain_ttl: u32::MAX,
                authentic: true,
            },
        );
        self.by_query.insert(query, id);
        self.send_next(now, id);
        handle
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next finished lookup.
    pub fn poll_answer(&mut self) -> Option<(LookupHandle, Lookup)> {
        self.answers.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.flights
            .values()
            .map(|f| f.next_send.map_or(f.deadline, |s| s.min(f.deadline)))
            .min()
    }

    /// Whether a response to exchange `id` with `server` is still wanted.
    pub fn is_waiting(&self, server: SocketAddr, id: u16) -> bool {
        self.exchanges.contains_key(&(server, id))
    }

    /// Sends the next attempts whose time has come; fails lookups whose
    /// deadline passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .flights
            .iter()
            .filter(|(_, f)| now >= f.deadline || f.next_send.is_some_and(|s| now >= s))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(f) = self.flights.get(&id) else {
                continue;
            };
            if now >= f.deadline {
                let failure = f.last_error.clone().unwrap_or(Failure::Timeout);
                self.finish(id, Lookup::Failed(failure), 0, now);
            } else {
                self.send_next(now, id);
            }
        }
    }

    /// A datagram from `from`. Anything that is not a response to a query
    /// we have open with that server is ignored.
    pub fn handle_udp(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        self.handle_response(now, from, Transport::Udp, bytes);
    }

    /// A complete response read over TCP from `server`, without its length
    /// prefix.
    pub fn handle_tcp(&mut self, now: Instant, server: SocketAddr, bytes: &[u8]) {
        self.handle_response(now, server, Transport::Tcp, bytes);
    }

    /// Exchange `id` with `server` failed (send error, connection refused,
    /// TCP connection closed early): the next attempt goes out now.
    pub fn handle_failed(&mut self, now: Instant, server: SocketAddr, id: u16, reason: &str) {
        let Some(ex) = self.exchanges.remove(&(server, id)) else {
            return;
        };
        let failure = Failure::Network(format!("{server}: {reason}"));
        self.server_error(now, ex.flight, server, id, failure);
    }

    fn handle_response(&mut self, now: Instant, server: SocketAddr, t: Transport, bytes: &[u8]) {
        let Some(id) = bytes.get(0..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            return;
        };
        let key = (server, id);
        let reply = match self.exchanges.get(&key) {
            Some(ex) if ex.transport == t => match decode_response(&ex.sent, bytes) {
                Ok(r) => r,
                // Not ours after all (wrong question …): keep waiting.
                Err(_) => return,
            },
            _ => return,
        };
        let Some(ex) = self.exchanges.remove(&key) else {
            return;
        };
        let flight = ex.flight;
        if let Some(f) = self.flights.get_mut(&flight) {
            f.exchanges.retain(|k| *k != key);
        }
        match reply {
            Reply::Final { lookup, cache_ttl } => self.finish(flight, lookup, cache_ttl, now),
            Reply::Alias {
                target,
                hops,
                ttl,
                authentic,
            } => self.follow(now, flight, target, hops, ttl, authentic),
            Reply::Truncated if t == Transport::Udp => {
                // RFC 7766 5: retry over TCP, same server, at once.
                if let Some(f) = self.flights.get_mut(&flight) {
                    f.tcp = true;
                }
                self.send_to(now, flight, server);
            }
            Reply::Truncated => {
                let e = Failure::Malformed(format!("{server}: truncated response over TCP"));
                self.server_error(now, flight, server, id, e);
            }
            Reply::ServerError(e) => self.server_error(now, flight, server, id, e.failure()),
        }
    }

    /// A server could not answer: try one that has not failed yet, now; when
    /// none is left and nothing else is in the air, give up with `failure`.
    fn server_error(&mut self, now: Instant, flight: u64, server: SocketAddr, id: u16, e: Failure) {
        let Some(f) = self.flights.get_mut(&flight) else {
            return;
        };
        f.exchanges.retain(|k| *k != (server, id));
        if !f.errored.contains(&server) {
            f.errored.push(server);
        }
        f.last_error = Some(e.clone());
        let all_failed = self.config.servers.iter().all(|s| f.errored.contains(s));
        if all_failed {
            if f.exchanges.is_empty() {
                self.finish(flight, Lookup::Failed(e), 0, now);
            } else {
                f.next_send = None;
            }
            return;
        }
        self.send_next(now, flight);
    }

    /// Continues a lookup at a CNAME target the server did not resolve.
    fn follow(&mut self, now: Instant, id: u64, target: String, hops: usize, ttl: u32, ad: bool) {
        let Some(f) = self.flights.get_mut(&id) else {
            return;
        };
        f.hops += hops;
        f.chain_ttl = f.chain_ttl.min(ttl);
        f.authentic &= ad;
        if f.hops > MAX_CNAME_CHAIN || f.visited.contains(&target) {
            self.finish(id, Lookup::Failed(Failure::CnameLoop), 0, now);
            return;
        }
        f.visited.push(target.clone());
        f.current = Query::new(target, f.query.rtype);
        for key in std::mem::take(&mut f.exchanges) {
            self.exchanges.remove(&key);
        }
        f.sends = 0;
        f.errored.clear();
        f.last_error = None;
        let current = f.current.clone();
        if let Some(hit) = self.cache.get(now, &current) {
            let ttl = match &hit {
                Lookup::Records(r) => r.ttl,
                _ => 0,
            };
            self.finish(id, hit, ttl, now);
            return;
        }
        self.send_next(now, id);
    }

    /// Sends the next attempt of the rotation, skipping servers that
    /// answered with an error; with none left, waits for the deadline.
    fn send_next(&mut self, now: Instant, id: u64) {
        let n = self.config.servers.len();
        let total = n * usize::from(self.config.attempts.max(1));
        loop {
            let Some(f) = self.flights.get_mut(&id) else {
                return;
            };
            if f.sends >= total {
                f.next_send = None;
                return;
            }
            let idx = (f.first_server + f.sends) % n;
            f.sends += 1;
            let Some(&server) = self.config.servers.get(idx) else {
                return;
            };
            if f.errored.contains(&server) {
                continue;
            }
            self.send_to(now, id, server);
            return;
        }
    }

    /// Sends the flight's current query to `server` (UDP, or TCP after a
    /// truncation) and sets the next send time.
    fn send_to(&mut self, now: Instant, id: u64, server: SocketAddr) {
        let wait = self.config.attempt_wait();
        let Some(f) = self.flights.get(&id) else {
            return;
        };
        let (current, transport) = (
            f.current.clone(),
            if f.tcp {
                Transport::Tcp
            } else {
                Transport::Udp
            },
        );
        let msg_id = self.fresh_id(server);
        let seed = self.config.randomize_case.then(|| (self.random)());
        let (sent, bytes) = match encode_query(&current, msg_id, seed) {
            Ok(x) => x,
            Err(e) => {
                self.finish(id, Lookup::Failed(e), 0, now);
                return;
            }
        };
        let bytes = match transport {
            Transport::Udp => bytes,
            Transport::Tcp => {
                // The query is far below 64 KiB: the name is at most 255 bytes.
                let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
                let mut framed = Vec::with_capacity(bytes.len() + 2);
                framed.extend_from_slice(&len.to_be_bytes());
                framed.extend_from_slice(&bytes);
                framed
            }
        };
        self.exchanges.insert(
            (server, msg_id),
            Exchange {
                flight: id,
                sent,
                transport,
            },
        );
        if let Some(f) = self.flights.get_mut(&id) {
            f.exchanges.push((server, msg_id));
            f.next_send = Some(now + wait);
        }
        self.transmits.push_back(Transmit {
            server,
            transport,
            id: msg_id,
            bytes,
        });
    }

    /// A random id not in use with `server` (RFC 5452 4.3).
    fn fresh_id(&mut self, server: SocketAddr) -> u16 {
        let mut id = 0;
        for _ in 0..64 {
            id = ((self.random)() & 0xffff) as u16;
            if !self.exchanges.contains_key(&(server, id)) {
                break;
            }
        }
        id
    }

    /// Ends a flight: caches the outcome under the original query, answers
    /// every waiter and forgets the flight's exchanges.
    fn finish(&mut self, id: u64, lookup: Lookup, cache_ttl: u32, now: Instant) {
        let Some(f) = self.flights.remove(&id) else {
            return;
        };
        self.by_query.remove(&f.query);
        for key in &f.exchanges {
            self.exchanges.remove(key);
        }
        let lookup = match lookup {
            Lookup::Records(mut r) => {
                r.ttl = r.ttl.min(f.chain_ttl);
                r.authentic &= f.authentic;
                Lookup::Records(r)
            }
            Lookup::NxDomain { authentic } => Lookup::NxDomain {
                authentic: authentic && f.authentic,
            },
            Lookup::NoData { authentic } => Lookup::NoData {
                authentic: authentic && f.authentic,
            },
            failed => failed,
        };
        let cap = match lookup {
            Lookup::Records(_) => self.config.max_ttl,
            _ => self.config.max_negative_ttl,
        };
        let ttl = cache_ttl.min(f.chain_ttl).min(cap);
        self.cache.insert(now, &f.query, &lookup, ttl);
        for h in f.waiters {
            self.answers.push_back((h, lookup.clone()));
        }
    }
}

#[cfg(test)]
#[path = "resolver_tests.rs"]
mod tests;

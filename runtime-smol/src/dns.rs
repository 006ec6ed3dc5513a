//! DNS on smol: a task runs the sans-IO stub resolver
//! ([`moxide_proto::dns::Resolver`]) and moves its messages. Each UDP
//! exchange gets its own socket on a random port, connected to the server
//! (the kernel then drops datagrams from other addresses and reports ICMP
//! "port unreachable" as an error), and each TCP fallback its own
//! connection; both are dropped as soon as the resolver stops waiting for
//! them.
//!
//! Use [`Resolver`] from anywhere in the binary: it is cheap to clone and
//! all clones share one cache. Lookups work from any executor (the driver
//! task runs on smol's global executor).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use moxide_proto::dns::{
    Evaluate, Failure, Lookup, LookupHandle, LookupId, Poll, Query, Resolver as Core,
    ResolverConfig, Transmit, Transport,
};
use smol::Task;
use smol::channel::{Receiver, Sender};
use smol::net::{TcpStream, UdpSocket};

/// Where the system's resolver settings live.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// A handle on the process's stub resolver.
#[derive(Clone, Debug)]
pub struct Resolver {
    requests: Sender<Request>,
    config: Arc<ResolverConfig>,
}

/// A lookup asked of the driver; the answer goes to `reply` with `tag`.
struct Request {
    query: Query,
    tag: u64,
    reply: Sender<(u64, Lookup)>,
}

/// What an exchange task reports.
enum Net {
    Udp(SocketAddr, Vec<u8>),
    Tcp(SocketAddr, Vec<u8>),
    Failed(SocketAddr, u16, String),
}

impl Resolver {
    /// The resolver of /etc/resolv.conf (its nameservers and `options
    /// timeout: attempts: rotate`); without the file, 127.0.0.1 and ::1 as
    /// glibc does. Lines it cannot use are logged as warnings.
    pub fn from_system() -> io::Result<Resolver> {
        let text = match std::fs::read_to_string(RESOLV_CONF) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading {RESOLV_CONF}: {e}"),
                ));
            }
        };
        let (config, warnings) = ResolverConfig::from_resolv_conf(&text);
        for w in warnings {
            tracing::warn!("{RESOLV_CONF} {w}");
        }
        Ok(Resolver::with_config(config))
    }

    /// A resolver asking these servers, with the default settings.
    pub fn with_servers(servers: Vec<SocketAddr>) -> Resolver {
        Resolver::with_config(ResolverConfig::with_servers(servers))
    }

    /// A resolver with these settings; starts its driver task.
    pub fn with_config(config: ResolverConfig) -> Resolver {
        let (requests, rx) = smol::channel::unbounded();
        let core = Core::new(config.clone(), Box::new(random_u64));
        smol::spawn(drive(core, rx)).detach();
        Resolver {
            requests,
            config: Arc::new(config),
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// Looks `q` up; ends within the configured lookup timeout.
    pub async fn lookup(&self, q: Query) -> Lookup {
        let (tx, rx) = smol::channel::bounded(1);
        if let Some(failed) = self.start(q, 0, tx).await {
            return failed;
        }
        match rx.recv().await {
            Ok((_, lookup)) => lookup,
            Err(_) => stopped(),
        }
    }

    /// Runs an evaluator to completion: its lookups run concurrently as
    /// it asks for them, and when its deadline passes it is polled with
    /// that time (it then gives its temporary-error result).
    pub async fn evaluate<E: Evaluate>(&self, mut ev: E) -> E::Output {
        let (tx, rx) = smol::channel::unbounded();
        let mut outstanding = 0usize;
        loop {
            match ev.poll(Instant::now()) {
                Poll::Ready(out) => return out,
                Poll::Lookup(id, q) => {
                    match self.start(q, u64::from(id.0), tx.clone()).await {
                        Some(failed) => ev.handle_answer(Instant::now(), id, failed),
                        None => outstanding += 1,
                    }
                    continue;
                }
                Poll::Pending => {}
            }
            let deadline = ev.deadline();
            let timer = match deadline {
                Some(d) => Timer::at(d),
                None if outstanding == 0 => {
                    // The evaluator breaks its contract (pending with nothing
                    // to wait for): poll it again later rather than hang.
                    tracing::error!("DNS evaluator pending with no lookup and no deadline");
                    Timer::after(Duration::from_secs(1))
                }
                None => Timer::never(),
            };
            let answer = future::or(async { rx.recv().await.ok() }, async {
                timer.await;
                None
            })
            .await;
            if let Some((tag, lookup)) = answer {
                outstanding = outstanding.saturating_sub(1);
                let id = LookupId(u32::try_from(tag).unwrap_or(u32::MAX));
                ev.handle_answer(Instant::now(), id, lookup);
            }
        }
    }

    /// Hands a lookup to the driver; `Some` when the driver is gone.
    async fn start(&self, query: Query, tag: u64, reply: Sender<(u64, Lookup)>) -> Option<Lookup> {
        let req = Request { query, tag, reply };
        self.requests.send(req).await.err().map(|_| stopped())
    }
}

/// The process's resolver, for connections' [`Need::Dns`] requests.
static SHARED: OnceLock<Resolver> = OnceLock::new();

/// Makes `r` the resolver [`shared`] returns (call once at start-up, before
/// serving: e.g. with the nameserver from the config or a test's).
/// Returns `r` back when one is already in use.
pub fn install_shared(r: Resolver) -> Result<(), Resolver> {
    SHARED.set(r)
}

/// The process's resolver: the installed one, else that of
/// /etc/resolv.conf (on a read error, 127.0.0.1 and ::1, logged).
///
/// [`Need::Dns`]: moxide_proto::conn::Need::Dns
pub fn shared() -> Resolver {
    SHARED
        .get_or_init(|| {
            Resolver::from_system().unwrap_or_else(|e| {
                tracing::error!(error = %e, "DNS: using 127.0.0.1 and ::1");
                Resolver::with_config(ResolverConfig::from_resolv_conf("").0)
            })
        })
        .clone()
}

fn stopped() -> Lookup {
    Lookup::Failed(Failure::Network("resolver task stopped".into()))
}

/// 64 random bits from the OS; should the OS source fail, from std's
/// per-process random hasher keys mixed with a counter and the time.
fn random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos());
        h.write_u64(std::process::id().into());
        h.finish()
    })
}

/// The driver: owns the sans-IO resolver; ends when every [`Resolver`]
/// handle is gone.
async fn drive(mut core: Core, requests: Receiver<Request>) {
    let (net_tx, net_rx) = smol::channel::unbounded::<Net>();
    let mut waiters: HashMap<LookupHandle, (u64, Sender<(u64, Lookup)>)> = HashMap::new();
    let mut exchanges: HashMap<(SocketAddr, u16), Task<()>> = HashMap::new();
    loop {
        while let Some(t) = core.poll_transmit() {
            let key = (t.server, t.id);
            exchanges.insert(key, smol::spawn(exchange(t, net_tx.clone())));
        }
        while let Some((handle, lookup)) = core.poll_answer() {
            if let Some((tag, reply)) = waiters.remove(&handle) {
                // The asker may have gone away: nothing to do then.
                let _ = reply.try_send((tag, lookup));
            }
        }
        // Dropping a task cancels it and closes its socket.
        exchanges.retain(|(server, id), _| core.is_waiting(*server, *id));
        let timer = match core.poll_timeout() {
            Some(t) => Timer::at(t),
            None => Timer::never(),
        };
        enum Event {
            Request(Option<Request>),
            Net(Option<Net>),
            Timer,
        }
        let event = future::or(
            async { Event::Request(requests.recv().await.ok()) },
            future::or(async { Event::Net(net_rx.recv().await.ok()) }, async {
                timer.await;
                Event::Timer
            }),
        )
        .await;
        let now = Instant::now();
        match event {
            Event::Request(None) => return,
            Event::Request(Some(req)) => {
                let handle = core.lookup(now, req.query);
                waiters.insert(handle, (req.tag, req.reply));
            }
            Event::Net(Some(Net::Udp(server, bytes))) => core.handle_udp(now, server, &bytes),
            Event::Net(Some(Net::Tcp(server, bytes))) => core.handle_tcp(now, server, &bytes),
            Event::Net(Some(Net::Failed(server, id, reason))) => {
                core.handle_failed(now, server, id, &reason)
            }
            // We hold a sender: the channel cannot close.
            Event::Net(None) => {}
            Event::Timer => core.handle_timeout(now),
        }
    }
}

/// One exchange: send, then report every response (UDP: every datagram,
/// the resolver picks; TCP: the one framed response) or the error.
async fn exchange(t: Transmit, net: Sender<Net>) {
    let (server, id) = (t.server, t.id);
    let result = match t.transport {
        Transport::Udp => udp_exchange(server, &t.bytes, &net).await,
        Transport::Tcp => tcp_exchange(server, &t.bytes)
            .await
            .map(|bytes| Net::Tcp(server, bytes)),
    };
    let report = match result {
        Ok(n) => n,
        Err(e) => Net::Failed(server, id, e.to_string()),
    };
    let _ = net.send(report).await;
}

/// Sends over a fresh connected UDP socket and forwards datagrams until the
/// task is dropped; returns only on a socket error.
async fn udp_exchange(server: SocketAddr, bytes: &[u8], net: &Sender<Net>) -> io::Result<Net> {
    let local = match server.ip() {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    socket.send(bytes).await?;
    // EDNS0 lets a server send up to what we advertised; take any size.
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = socket.recv(&mut buf).await?;
        let datagram = buf.get(..n).unwrap_or_default().to_vec();
        if net.send(Net::Udp(server, datagram)).await.is_err() {
            return Err(io::Error::other("resolver stopped"));
        }
    }
}

/// Sends the length-prefixed query over a new TCP connection and reads one
/// length-prefixed response (RFC 1035 4.2.2), returned without its prefix.
async fn tcp_exchange(server: SocketAddr, bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(server).await?;
    stream.write_all(bytes).await?;
    stream.flush().await?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut msg).await?;
    Ok(msg)
}

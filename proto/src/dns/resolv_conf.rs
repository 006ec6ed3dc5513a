//! The stub resolver's settings and their reading from /etc/resolv.conf
//! (resolv.conf(5)): `nameserver`, `options timeout: attempts: rotate`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

/// The DNS port (RFC 1035 4.2).
pub const DNS_PORT: u16 = 53;
/// glibc's MAXNS: nameservers after the third are not used.
pub const MAX_NAMESERVERS: usize = 3;
/// glibc's RES_MAXRETRANS (seconds) and RES_MAXRETRY.
const MAX_TIMEOUT_SECS: u64 = 30;
const MAX_ATTEMPTS: u8 = 5;

/// How the stub resolver talks to its nameservers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    /// Recursive resolvers to ask, in order.
    pub servers: Vec<SocketAddr>,
    /// Sends of one query to each server (resolv.conf `attempts:`, 2).
    pub attempts: u8,
    /// How long one send waits before the next server is asked. `None`:
    /// the lookup timeout split evenly over all sends.
    pub attempt_timeout: Option<Duration>,
    /// The whole time a lookup may take, TCP fallback and CNAME
    /// follow-ups included; then it fails with `Failure::Timeout`.
    pub lookup_timeout: Duration,
    /// Start each lookup at the next server (resolv.conf `rotate`).
    pub rotate: bool,
    /// Send names with random letter case and require the response to echo
    /// it (0x20, draft-vixie-dnsext-dns0x20). Off by default: some
    /// forwarders do not preserve case.
    pub randomize_case: bool,
    /// Memory the answer cache may use, in bytes.
    pub cache_bytes: usize,
    /// Positive answers are cached at most this long (seconds).
    pub max_ttl: u32,
    /// Negative answers (NXDOMAIN, NODATA) at most this long (seconds).
    pub max_negative_ttl: u32,
}

impl Default for ResolverConfig {
    /// No servers; 2 attempts per server; 5 s per lookup; 1 MiB cache;
    /// TTLs capped at a day, negative ones at an hour.
    fn default() -> ResolverConfig {
        ResolverConfig {
            servers: Vec::new(),
            attempts: 2,
            attempt_timeout: None,
            lookup_timeout: Duration::from_secs(5),
            rotate: false,
            randomize_case: false,
            cache_bytes: 1 << 20,
            max_ttl: 86_400,
            max_negative_ttl: 3_600,
        }
    }
}

impl ResolverConfig {
    /// The defaults with these servers.
    pub fn with_servers(servers: Vec<SocketAddr>) -> ResolverConfig {
        ResolverConfig {
            servers,
            ..ResolverConfig::default()
        }
    }

    /// How long each send waits before the next one goes out.
    pub fn attempt_wait(&self) -> Duration {
        if let Some(t) = self.attempt_timeout {
            return t;
        }
        let sends = u32::from(self.attempts.max(1))
            .saturating_mul(u32::try_from(self.servers.len().max(1)).unwrap_or(u32::MAX));
        self.lookup_timeout / sends
    }

    /// Reads resolv.conf text. Lines it cannot use are returned as
    /// warnings (with their line number), never an error: a resolver with
    /// the remaining settings is still useful. Without a usable
    /// `nameserver` line the servers are 127.0.0.1 and ::1, as in glibc
    /// and Go.
    ///
    /// `options timeout:N` sets the wait per send as in glibc (at most
    /// 30 s); the lookup then takes at most N × attempts × servers, capped
    /// at 30 s. Without it a lookup takes at most 5 s in total. An extension
    /// to glibc: `nameserver 192.0.2.1:5353` and `nameserver [2001:db8::1]:5353`
    /// name a port.
    pub fn from_resolv_conf(text: &str) -> (ResolverConfig, Vec<String>) {
        let mut c = ResolverConfig::default();
        let mut warnings = Vec::new();
        let mut timeout: Option<u64> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split(['#', ';']).next().unwrap_or("").trim();
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => match words.next().and_then(parse_server) {
                    Some(_) if c.servers.len() >= MAX_NAMESERVERS => warnings.push(format!(
                        "line {}: more than {MAX_NAMESERVERS} nameservers, ignored: {line}",
                        i + 1
                    )),
                    Some(addr) => c.servers.push(addr),
                    None => {
                        warnings.push(format!("line {}: not a nameserver address: {line}", i + 1))
                    }
                },
                Some("options") => {
                    for opt in words {
                        if opt == "rotate" {
                            c.rotate = true;
                        } else if let Some(v) = opt.strip_prefix("timeout:") {
                            match v.parse::<u64>() {
                                Ok(n) => timeout = Some(n.clamp(1, MAX_TIMEOUT_SECS)),
                                Err(_) => {
                                    warnings.push(format!("line {}: bad option {opt}", i + 1))
                                }
                            }
                        } else if let Some(v) = opt.strip_prefix("attempts:") {
                            match v.parse::<u8>() {
                                Ok(n) => c.attempts = n.clamp(1, MAX_ATTEMPTS),
                                Err(_) => {
                                    warnings.push(format!("line {}: bad option {opt}", i + 1))
                                }
                            }
                        }
                        // Other options (ndots, edns0, trust-ad, …) do not
                        // change how mail lookups of absolute names work.
                    }
                }
                _ => {}
            }
        }
        if c.servers.is_empty() {
            c.servers = vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DNS_PORT),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), DNS_PORT),
            ];
        }
        if let Some(n) = timeout {
            c.attempt_timeout = Some(Duration::from_secs(n));
            let sends = u64::from(c.attempts) * c.servers.len() as u64;
            c.lookup_timeout = Duration::from_secs((n * sends).min(MAX_TIMEOUT_SECS));
        }
        (c, warnings)
    }
}

/// `192.0.2.1`, `2001:db8::1`, `fe80::1%2` (numeric scope), or with a port:
/// `192.0.2.1:5353`, `[2001:db8::1]:5353`.
fn parse_server(s: &str) -> Option<SocketAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, DNS_PORT));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Some(addr);
    }
    let (ip, scope) = s.split_once('%')?;
    let ip = ip.parse::<Ipv6Addr>().ok()?;
    let scope = scope.parse::<u32>().ok()?;
    Some(SocketAddr::V6(SocketAddrV6::new(ip, DNS_PORT, 0, scope)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_options_and_warnings() {
        let text = "\
# generated
search example.com
nameserver 192.0.2.53
nameserver 2001:db8::53 # v6
nameserver [2001:db8::54]:5353
nameserver 192.0.2.99
nameserver not-an-ip
options ndots:2 timeout:3 attempts:4 rotate
";
        let (c, w) = ResolverConfig::from_resolv_conf(text);
        assert_eq!(
            c.servers,
            vec![
                "192.0.2.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap(),
                "[2001:db8::54]:5353".parse().unwrap(),
            ]
        );
        assert_eq!(
            w,
            vec![
                "line 6: more than 3 nameservers, ignored: nameserver 192.0.2.99".to_string(),
                "line 7: not a nameserver address: nameserver not-an-ip".to_string(),
            ]
        );
        assert!(c.rotate);
        assert_eq!(c.attempts, 4);
        assert_eq!(c.attempt_timeout, Some(Duration::from_secs(3)));
        // 3 s × 4 attempts × 3 servers = 36 s, capped at 30 s.
        assert_eq!(c.lookup_timeout, Duration::from_secs(30));
        assert_eq!(c.attempt_wait(), Duration::from_secs(3));
    }

    #[test]
    fn defaults_without_nameserver_or_options() {
        let (c, w) = ResolverConfig::from_resolv_conf("; nothing\noptions attempts:x\n");
        assert_eq!(w, vec!["line 2: bad option attempts:x".to_string()]);
        assert_eq!(
            c.servers,
            vec![
                "127.0.0.1:53".parse::<SocketAddr>().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
        assert_eq!((c.attempts, c.rotate), (2, false));
        assert_eq!(c.lookup_timeout, Duration::from_secs(5));
        // 5 s over 2 attempts × 2 servers.
        assert_eq!(c.attempt_wait(), Duration::from_millis(1250));
    }

    #[test]
    fn scoped_and_clamped() {
        let (c, w) =
            ResolverConfig::from_resolv_conf("nameserver fe80::1%2\noptions timeout:0 attempts:9");
        assert!(w.is_empty());
        assert_eq!(
            c.servers,
            vec![SocketAddr::V6(SocketAddrV6::new(
                "fe80::1".parse().unwrap(),
                53,
                0,
                2
            ))]
        );
        assert_eq!(c.attempts, 5);
        assert_eq!(c.attempt_timeout, Some(Duration::from_secs(1)));
        assert_eq!(c.lookup_timeout, Duration::from_secs(5));
    }
}

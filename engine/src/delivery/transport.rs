//! How a job leaves: directly to the recipient domain's MX hosts (the
//! default), or through a smarthost by submission with authentication.
//! And the per-host connection limit the runner consults before dialing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use moxide_proto::sasl::Mechanism;
use moxide_proto::secret::Secret;

/// The SMTP port for MX delivery (RFC 5321 4.5.4).
pub const SMTP_PORT: u16 = 25;

/// A way to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// MX lookup and delivery to the MX hosts on `port`: 25, or another
    /// port in tests (the TLSA name still uses the port dialed).
    Direct { port: u16 },
    /// Everything to one host, authenticated; no MX lookup.
    Smarthost(Smarthost),
}

impl Default for Transport {
    fn default() -> Transport {
        Transport::Direct { port: SMTP_PORT }
    }
}

/// How the smarthost's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmarthostVerify {
    /// WebPKI for the smarthost's name (the default).
    Pkix,
    /// Any certificate: for a relay with a self-signed certificate on a
    /// network the admin trusts.
    Any,
    /// No TLS at all (plain submission to a relay on a trusted network;
    /// AUTH PLAIN/LOGIN are then refused by the client).
    None,
}

/// A relay host reached by submission (RFC 6409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smarthost {
    /// Host name or IP address literal.
    pub host: String,
    /// 587 (STARTTLS) or 465 (implicit TLS) usually.
    pub port: u16,
    /// TLS from the first byte (RFC 8314), else STARTTLS.
    pub implicit_tls: bool,
    pub auth: Option<SmarthostAuth>,
    pub verify: SmarthostVerify,
}

/// Credentials for the smarthost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmarthostAuth {
    pub username: String,
    pub password: Secret<String>,
    /// Mechanisms allowed; empty means all the client supports.
    pub mechanisms: Vec<Mechanism>,
}

/// Limits concurrent connections per destination host: the runner takes a
/// permit before dialing and holds it until the connection ends. Cheap to
/// clone; clones share the counts.
#[derive(Debug, Clone)]
pub struct HostLimits {
    max_per_host: usize,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

/// One connection slot to a host, released on drop.
#[derive(Debug)]
pub struct HostPermit {
    host: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl HostLimits {
    /// At most `max_per_host` connections to one host (at least 1).
    pub fn new(max_per_host: usize) -> HostLimits {
        HostLimits {
            max_per_host: max_per_host.max(1),
            counts: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A slot for `host` (case-insensitive), or `None` when all are taken:
    /// the runner waits for a permit to be dropped and asks again.
    pub fn try_acquire(&self, host: &str) -> Option<HostPermit> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let mut counts = self.counts.lock().ok()?;
        let n = counts.entry(host.clone()).or_insert(0);
        if *n >= self.max_per_host {
            return None;
        }
        *n += 1;
        Some(HostPermit {
            host,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Connections open to `host` now.
    pub fn in_use(&self, host: &str) -> usize {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.counts
            .lock()
            .map(|c| c.get(&host).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.lock()
            && let Some(n) = counts.get_mut(&self.host)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.host);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_per_host() {
        let l = HostLimits::new(2);
        let a = l.try_acquire("MX.example.com.").unwrap();
        let b = l.try_acquire("mx.example.com").unwrap();
        assert!(l.try_acquire("mx.example.com").is_none());
        // Other hosts are not affected.
        let c = l.clone().try_acquire("mx.example.net").unwrap();
        assert_eq!(l.in_use("mx.example.com"), 2);
        drop(a);
        assert_eq!(l.in_use("mx.example.com"), 1);
        let d = l.try_acquire("mx.example.com").unwrap();
        drop((b, c, d));
        assert_eq!(l.in_use("mx.example.com"), 0);
        assert_eq!(l.in_use("mx.example.net"), 0);
        // Zero is taken as one.
        let l = HostLimits::new(0);
        let _p = l.try_acquire("h").unwrap();
        assert!(l.try_acquire("h").is_none());
    }

    #[test]
    fn default_transport_is_direct_on_25() {
        assert_eq!(Transport::default(), Transport::Direct { port: 25 });
    }
}

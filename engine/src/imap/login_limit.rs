//! Failed logins per client IP with growing delays (as mox): the first few
//! failures are answered at once, later ones only after a delay that doubles
//! with every failure, up to a maximum. Time comes from the `now` arguments.
//! One limiter is shared by IMAP and SMTP submission (clones share their
//! record), so password guessing on one protocol slows the other too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures answered without delay.
const FREE_FAILURES: u32 = 3;
/// Longest delay before a failed login is answered.
const MAX_DELAY: Duration = Duration::from_secs(30);
/// A client's record is forgotten this long after its last failure.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// At most this many addresses are tracked; expired ones are dropped first.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// Shared failed-login accounting (inside the IMAP and SMTP configs).
/// Cloning gives a handle to the same record.
#[derive(Debug, Default, Clone)]
pub struct LoginLimiter {
    entries: Arc<Mutex<HashMap<IpAddr, Entry>>>,
}

impl LoginLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Records a failed login from `ip` and returns how long to wait before
    /// answering it.
    pub fn failed(&self, ip: IpAddr, now: Instant) -> Duration {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| now.saturating_duration_since(e.last) < FORGET_AFTER);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        let e = map.entry(ip).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(e.last) >= FORGET_AFTER {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last = now;
        delay_for(e.failures)
    }

    /// Failures recorded for `ip` that are still remembered at `now`.
    pub fn failures(&self, ip: IpAddr, now: Instant) -> u32 {
        match self.lock().get(&ip) {
            Some(e) if now.saturating_duration_since(e.last) < FORGET_AFTER => e.failures,
            _ => 0,
        }
    }

    /// A successful login from `ip` clears its record.
    pub fn succeeded(&self, ip: IpAddr) {
        self.lock().remove(&ip);
    }
}

/// The delay after the `failures`-th failure: none for the first
/// [`FREE_FAILURES`], then 1 s, 2 s, 4 s, … up to [`MAX_DELAY`].
pub fn delay_for(failures: u32) -> Duration {
    if failures <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let exp = (failures - FREE_FAILURES - 1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_reset() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        let d: Vec<u64> = (0..9).map(|_| l.failed(ip, t0).as_secs()).collect();
        assert_eq!(d, vec![0, 0, 0, 1, 2, 4, 8, 16, 30]);
        assert_eq!(l.failures(ip, t0), 9);
        // Another address is not affected.
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(l.failed(other, t0), Duration::ZERO);
        // Forgotten after an hour.
        let later = t0 + FORGET_AFTER;
        assert_eq!(l.failures(ip, later), 0);
        assert_eq!(l.failed(ip, later), Duration::ZERO);
        l.succeeded(ip);
        assert_eq!(l.failures(ip, later), 0);
    }

    #[test]
    fn clones_share_the_record() {
        let imap = LoginLimiter::default();
        let smtp = imap.clone();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(imap.failed(ip, t0), Duration::ZERO);
        }
        assert_eq!(smtp.failed(ip, t0), Duration::from_secs(1));
        assert_eq!(imap.failures(ip, t0), 4);
        smtp.succeeded(ip);
        assert_eq!(imap.failures(ip, t0), 0);
    }
}

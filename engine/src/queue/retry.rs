//! When to try again (as mox: 7.5 minutes doubling per attempt, RFC 5321
//! 4.5.4.1 asks for at least 30 minutes between retries of one host, which
//! the per-domain ordering and doubling reach from the third attempt on),
//! when to send the delay DSN, and when to give up.

/// The retry schedule. All durations in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failed attempt; doubles after each further one.
    pub first_delay: i64,
    /// The wait never grows beyond this.
    pub max_delay: i64,
    /// A message still not delivered this long after it was queued fails
    /// (RFC 5321 4.5.4.1: give up after 4-5 days). The last attempt is
    /// made at this time.
    pub give_up_after: i64,
    /// After this many attempts failed temporarily, the sender gets one
    /// delay DSN (mox: the 5th attempt, about 2 hours after queueing).
    pub delay_dsn_after_attempts: u32,
}

impl Default for RetryPolicy {
    /// Attempts at 0, 7.5 m, 22.5 m, 52.5 m, 1 h 52.5 m (delay DSN),
    /// 3 h 52.5 m, 7 h 52.5 m, 15 h 52.5 m, then every 16 h, the last at
    /// 5 days, after which the message fails.
    fn default() -> Self {
        RetryPolicy {
            first_delay: 450,
            max_delay: 16 * 3600,
            give_up_after: 5 * 24 * 3600,
            delay_dsn_after_attempts: 5,
        }
    }
}

impl RetryPolicy {
    /// The wait after attempt number `attempts` (1 = the first) failed.
    pub fn delay(&self, attempts: u32) -> i64 {
        let doublings = attempts.saturating_sub(1).min(62);
        let factor = 1i64.checked_shl(doublings).unwrap_or(i64::MAX);
        self.first_delay
            .saturating_mul(factor)
            .min(self.max_delay)
            .max(1)
    }

    /// When the attempt after attempt number `attempts`, started at `now`,
    /// is due: `now + delay`, but not after the give-up time (that is when
    /// the last attempt happens).
    pub fn next_attempt(&self, created: i64, now: i64, attempts: u32) -> i64 {
        now.saturating_add(self.delay(attempts))
            .min(self.expires(created))
            .max(now)
    }

    /// When a message queued at `created` fails if still not delivered.
    pub fn expires(&self, created: i64) -> i64 {
        created.saturating_add(self.give_up_after)
    }

    /// Whether a temporary failure at `now` is final.
    pub fn expired(&self, created: i64, now: i64) -> bool {
        now >= self.expires(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_matches_mox_then_caps() {
        let p = RetryPolicy::default();
        let delays: Vec<i64> = (1..=10).map(|a| p.delay(a)).collect();
        assert_eq!(
            delays,
            vec![
                450, 900, 1800, 3600, 7200, 14400, 28800, 57600, 57600, 57600
            ]
        );
        assert_eq!(p.delay(u32::MAX), 57600);
        // The attempt after one near the end is clamped to the give-up time.
        assert_eq!(p.next_attempt(0, 400_000, 14), 432_000);
        assert!(!p.expired(0, 431_999));
        assert!(p.expired(0, 432_000));
    }
}

//! Connection slots per mail host for the queue runner: the engine's
//! [`HostLimits`] counts them, and a task that finds every slot of a host
//! taken waits here until one is given back, instead of asking again on a
//! timer. Runtime-independent (event-listener), so both runtimes' runners
//! use it through `queue_drive`.

use event_listener::Event;
use moxide_engine::delivery::{HostLimits, HostPermit};

/// At most `max_per_host` connections per host, with waiting.
pub struct HostSlots {
    limits: HostLimits,
    /// Notified whenever a [`HostSlot`] is dropped.
    freed: Event,
}

/// One connection slot to a host; dropping it gives the slot back and
/// wakes the tasks waiting for one.
pub struct HostSlot<'a> {
    permit: Option<HostPermit>,
    freed: &'a Event,
}

impl HostSlots {
    /// At most `max_per_host` connections to one host (at least 1).
    pub fn new(max_per_host: usize) -> HostSlots {
        HostSlots {
            limits: HostLimits::new(max_per_host),
            freed: Event::new(),
        }
    }

    /// A slot for `host` (case-insensitive), waiting as long as all are
    /// taken. Waiters are woken by every slot given back and then compete
    /// for it; one that loses waits again.
    pub async fn acquire(&self, host: &str) -> HostSlot<'_> {
        loop {
            // Listen before trying, so a slot given back between the try
            // and the wait still wakes this task.
            let listener = self.freed.listen();
            if let Some(permit) = self.limits.try_acquire(host) {
                return HostSlot {
                    permit: Some(permit),
                    freed: &self.freed,
                };
            }
            listener.await;
        }
    }

    /// Connections open to `host` now.
    pub fn in_use(&self, host: &str) -> usize {
        self.limits.in_use(host)
    }
}

impl Drop for HostSlot<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.freed.notify(usize::MAX);
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use futures_lite::future::{block_on, poll_once};

    use super::*;

    #[test]
    fn a_waiter_gets_the_slot_as_soon_as_it_is_given_back() {
        let slots = HostSlots::new(1);
        block_on(async {
            let first = slots.acquire("MX.Example.").await;
            assert_eq!(slots.in_use("mx.example"), 1);
            let mut waiting = pin!(slots.acquire("mx.example"));
            // All taken: the second waits.
            assert!(poll_once(waiting.as_mut()).await.is_none());
            assert!(poll_once(waiting.as_mut()).await.is_none());
            // Another host is not limited by this one.
            let other = slots.acquire("mx2.example").await;
            drop(other);
            assert!(poll_once(waiting.as_mut()).await.is_none());
            // Giving the slot back lets the waiter through at its next poll,
            // with no timer involved.
            drop(first);
            let second = poll_once(waiting.as_mut())
                .await
                .expect("woken and through after the slot was given back");
            assert_eq!(slots.in_use("mx.example"), 1);
            drop(second);
            assert_eq!(slots.in_use("mx.example"), 0);
        });
    }

    #[test]
    fn two_slots_per_host_let_two_through_and_the_third_waits() {
        let slots = HostSlots::new(2);
        block_on(async {
            let a = slots.acquire("mx.example").await;
            let b = slots.acquire("mx.example").await;
            let mut c = pin!(slots.acquire("mx.example"));
            assert!(poll_once(c.as_mut()).await.is_none());
            drop(b);
            let c = poll_once(c.as_mut()).await.expect("third through");
            assert_eq!(slots.in_use("mx.example"), 2);
            drop((a, c));
            assert_eq!(slots.in_use("mx.example"), 0);
        });
    }
}

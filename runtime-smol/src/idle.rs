//! Giving memory back while the server is idle: a task on the runtime's
//! timer that feeds the store's write counter to
//! [`moxide_storage::IdleTrigger`] and, when it fires, flushes the store's
//! memtables ([`Store::shrink_idle`], on the blocking pool: it writes and
//! fsyncs) and trims the heap. The tokio runtime has the same task on its
//! own timer (`moxide_tokio::idle`). DESIGN.md "Memory of a long-running
//! server" has the figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Timer;
use moxide_storage::{IdleTrigger, Store};

use crate::serve::trim_heap;

/// How long the store must see no writes before [`idle_shrink`] flushes
/// its memtables.
pub const IDLE_QUIET: Duration = Duration::from_secs(10);

/// Runs forever: once the store has had no writes for `quiet` (and again
/// after each later burst of writes), flushes its memtables to disk and
/// trims the heap. A flush, never a drop: a failed flush leaves the writes
/// in the journal and the memtables, and the next burst of writes tries
/// again. Spawn it next to the accept loops with [`IDLE_QUIET`].
pub async fn idle_shrink(store: Arc<Store>, quiet: Duration) {
    let mut trigger = IdleTrigger::new(quiet);
    loop {
        Timer::after(trigger.tick_interval()).await;
        if !trigger.handle_tick(Instant::now(), store.write_seqno()) {
            continue;
        }
        let s = store.clone();
        let flushed = crate::blocking_pool::unblock(move || shrink_now(&s)).await;
        after_shrink(&mut trigger, &store, flushed);
    }
}

/// The blocking half of one idle shrink, for a runtime's blocking pool:
/// flushes the store's memtables ([`Store::shrink_idle`]: disk writes and
/// fsyncs) and logs the outcome. Returns whether the flush succeeded.
/// Both runtimes' `idle_shrink` tasks call it.
pub fn shrink_now(store: &Store) -> bool {
    match store.shrink_idle() {
        Ok(r) => {
            tracing::debug!(?r, "idle: memtables flushed");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "idle: flushing memtables failed");
            false
        }
    }
}

/// What follows one idle shrink, on the runtime's own thread: tells
/// `trigger` the write counter the flush left, re-arms it when writes
/// came in during a successful flush (they are flushed once quiet again),
/// and trims the heap. `flushed` is [`shrink_now`]'s result (false when
/// the blocking task did not finish).
pub fn after_shrink(trigger: &mut IdleTrigger, store: &Store, flushed: bool) {
    trigger.handle_shrunk(Instant::now(), store.write_seqno());
    if flushed && store.memtable_bytes() > 0 {
        trigger.rearm();
    }
    trim_heap();
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_lite::FutureExt;
    use moxide_storage::{Flags, NewAccount, NewMessage, StoreConfig};

    use super::*;

    fn message(n: u32) -> Vec<u8> {
        format!("From: <a@example.org>\r\nSubject: {n}\r\n\r\nbody {n}\r\n").into_bytes()
    }

    /// Waits up to 10 s for the store's memtables to be empty.
    async fn memtables_emptied(store: &Store) -> bool {
        for _ in 0..1000 {
            if store.memtable_bytes() == 0 {
                return true;
            }
            Timer::after(Duration::from_millis(10)).await;
        }
        false
    }

    #[test]
    fn flushes_after_the_quiet_period_and_again_after_new_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), StoreConfig::default()).unwrap());
        let acct = store.create_account("mjl", NewAccount::default()).unwrap();
        let inbox = acct.mailbox("INBOX").unwrap().id;
        let deliver = |n: u32| {
            let data = message(n);
            let m = NewMessage {
                data: &data,
                prefix: Vec::new(),
                flags: Flags::NONE,
                keywords: Vec::new(),
                received: 1_700_000_000,
                received_tz: 0,
                saved: 1_700_000_000,
            };
            acct.deliver(inbox, &m).unwrap();
        };
        deliver(1);
        assert!(store.memtable_bytes() > 0);

        let quiet = Duration::from_millis(300);
        let shrinker = idle_shrink(store.clone(), quiet);
        let test = async {
            // Not before the quiet period (the first tick only sees the
            // counter).
            Timer::after(Duration::from_millis(100)).await;
            assert!(store.memtable_bytes() > 0);
            assert!(memtables_emptied(&store).await, "no flush after idling");
            // A later write is flushed too, once quiet again.
            deliver(2);
            assert!(store.memtable_bytes() > 0);
            assert!(memtables_emptied(&store).await, "no flush after new writes");
        };
        smol::block_on(test.or(async {
            shrinker.await;
            unreachable!("idle_shrink returned");
        }));

        // Both messages are in tables and readable after a reopen, and the
        // journal replay filled nothing.
        drop(acct);
        drop(store);
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(store.memtable_bytes(), 0);
        let acct = store.account("mjl").unwrap();
        let recs = acct.messages_in(inbox, 1..=u32::MAX).unwrap();
        assert_eq!(recs.len(), 2);
        for (i, m) in recs.iter().enumerate() {
            assert_eq!(acct.read_message(m).unwrap(), message(i as u32 + 1));
        }
    }
}

//! Giving memory back while the server is idle, on tokio: the smol
//! runtime's `moxide::idle::idle_shrink` on tokio's timer and blocking
//! pool, with the same two steps (`moxide::idle::shrink_now` on the
//! blocking pool, then `moxide::idle::after_shrink`). After `quiet`
//! without writes to the store, [`Store::shrink_idle`] flushes its
//! memtables, then the heap is trimmed.

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use moxide::idle::IDLE_QUIET;
use moxide::idle::{after_shrink, shrink_now};
use moxide_storage::{IdleTrigger, Store};

/// Runs forever: once the store has had no writes for `quiet` (and again
/// after each later burst of writes), flushes its memtables to disk and
/// trims the heap. A flush, never a drop: a failed flush leaves the writes
/// in the journal and the memtables. Spawn it next to the accept loops
/// with [`IDLE_QUIET`]. A runtime shut down meanwhile waits for a flush in
/// progress (tokio's blocking pool).
pub async fn idle_shrink(store: Arc<Store>, quiet: Duration) {
    let mut trigger = IdleTrigger::new(quiet);
    loop {
        tokio::time::sleep(trigger.tick_interval()).await;
        if !trigger.handle_tick(Instant::now(), store.write_seqno()) {
            continue;
        }
        let s = store.clone();
        let flushed = match tokio::task::spawn_blocking(move || shrink_now(&s)).await {
            Ok(flushed) => flushed,
            Err(e) => {
                tracing::warn!(error = %e, "idle: flushing memtables did not finish");
                false
            }
        };
        after_shrink(&mut trigger, &store, flushed);
    }
}

#[cfg(test)]
mod tests {
    use moxide_storage::{Flags, NewAccount, NewMessage, StoreConfig};

    use super::*;

    #[test]
    fn flushes_the_memtables_once_the_store_is_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), StoreConfig::default()).unwrap());
        let acct = store.create_account("mjl", NewAccount::default()).unwrap();
        let inbox = acct.mailbox("INBOX").unwrap().id;
        let data = b"Subject: x\r\n\r\nbody\r\n".to_vec();
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
        assert!(store.memtable_bytes() > 0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let emptied = rt.block_on(async {
            tokio::spawn(idle_shrink(store.clone(), Duration::from_millis(300)));
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(
                store.memtable_bytes() > 0,
                "flushed before the quiet period"
            );
            for _ in 0..1000 {
                if store.memtable_bytes() == 0 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            false
        });
        assert!(emptied, "no flush after idling");
        drop(rt);
        drop(acct);
        drop(store);
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(store.memtable_bytes(), 0);
        let acct = store.account("mjl").unwrap();
        let recs = acct.messages_in(inbox, 1..=u32::MAX).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(acct.read_message(&recs[0]).unwrap(), data);
    }
}

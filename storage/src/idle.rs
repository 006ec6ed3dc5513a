//! Giving memory back when the store is idle: [`Store::shrink_idle`] flushes
//! fjall's memtables (the unflushed writes every keyspace holds in memory,
//! refilled from the journal at start) into tables, and [`IdleTrigger`]
//! decides when to call it from the store's write counter and the time the
//! runtime passes in. See DESIGN.md "Memory of a long-running server".

use std::time::{Duration, Instant};

use crate::error::{Result, StoreError};
use crate::keys;
use crate::store::Store;

/// What [`Store::shrink_idle`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShrinkReport {
    /// Keyspaces whose memtable held writes and was flushed.
    pub keyspaces_flushed: usize,
    /// Bytes held in memtables before the flush (fjall's write buffer).
    pub memtable_bytes_before: u64,
    /// Bytes held in memtables after it: writes that arrived meanwhile,
    /// and for a moment the flushed ones (fjall's worker updates its count
    /// just after freeing a memtable).
    pub memtable_bytes_after: u64,
}

impl Store {
    /// A number that changes with every write to the database (fjall's next
    /// sequence number; reads leave it alone, a flush by
    /// [`Store::shrink_idle`] moves it too). [`IdleTrigger`] compares it
    /// over time.
    pub fn write_seqno(&self) -> u64 {
        self.inner.db.seqno()
    }

    /// Bytes of writes held in memtables (active and sealed, all keyspaces).
    pub fn memtable_bytes(&self) -> u64 {
        self.inner.db.write_buffer_size()
    }

    /// Bytes of blocks in fjall's block cache (at most
    /// [`crate::StoreConfig::cache_bytes`]).
    pub fn cache_bytes_used(&self) -> u64 {
        self.inner.db.cache_size()
    }

    /// Frees the memtables just flushed. fjall keeps each flushed memtable
    /// in its version history (for readers that started before the flush)
    /// until a later memtable rotation collects the versions no reader can
    /// see; without writes that rotation never comes and the memtables'
    /// memory stays allocated. So this writes a tombstone for a key that
    /// never exists ([`keys::idle_gc`]) and rotates the `meta` memtable that
    /// now holds it: the rotation collects the old versions of every
    /// keyspace, and the tombstone's tiny memtable is flushed like the
    /// others. No record changes.
    fn collect_flushed_memtables(&self) -> Result<()> {
        let meta = &self.inner.ks.meta;
        meta.remove(keys::idle_gc())?;
        meta.rotate_memtable()?;
        self.wait_flushed()
    }

    /// Waits until fjall's worker has flushed every sealed memtable.
    fn wait_flushed(&self) -> Result<()> {
        let ks = &self.inner.ks;
        let all = [&ks.meta, &ks.msgs, &ks.modseq, &ks.content, &ks.msgid];
        let mut waited = Duration::ZERO;
        while all.iter().any(|k| k.sealed_memtable_count() > 0) {
            if waited >= FLUSH_WAIT {
                let dir = self.inner.dir.join("db");
                return Err(StoreError::io(
                    "flush memtables",
                    dir,
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "memtables still unflushed after 60 s",
                    ),
                ));
            }
            std::thread::sleep(FLUSH_POLL);
            waited += FLUSH_POLL;
        }
        Ok(())
    }

    /// Flushes every keyspace's non-empty memtable to a table on disk and
    /// waits until the flushes are done, so the memtables' memory is freed
    /// and a later start has nothing to replay from the journal. Nothing is
    /// dropped: every write stays readable, from the new tables. Blocks the
    /// calling thread (disk writes and fsyncs); writes may go on meanwhile.
    /// Meant to run when the server has been idle for a while (see
    /// [`IdleTrigger`]); cheap when there is nothing to flush.
    pub fn shrink_idle(&self) -> Result<ShrinkReport> {
        let before = self.memtable_bytes();
        let ks = &self.inner.ks;
        let all = [&ks.meta, &ks.msgs, &ks.modseq, &ks.content, &ks.msgid];
        let mut flushed = 0;
        for k in all {
            // false for an empty memtable: nothing to do.
            if k.rotate_memtable()? {
                flushed += 1;
            }
        }
        // fjall's worker flushes the sealed memtables (journal fsync, table
        // write, fsync).
        self.wait_flushed()?;
        if flushed > 0 {
            self.collect_flushed_memtables()?;
        }
        Ok(ShrinkReport {
            keyspaces_flushed: flushed,
            memtable_bytes_before: before,
            memtable_bytes_after: self.memtable_bytes(),
        })
    }
}

/// How long [`Store::shrink_idle`] waits for fjall's flushes.
const FLUSH_WAIT: Duration = Duration::from_secs(60);
/// How often it looks whether they are done.
const FLUSH_POLL: Duration = Duration::from_millis(5);

/// Decides when an idle store should shrink: once its write counter
/// ([`Store::write_seqno`]) has not changed for the quiet period, and only
/// once per burst of writes (a store that is never written is left alone
/// after the first shrink, which empties what the journal replay filled at
/// start). Sans-IO: the runtime calls [`IdleTrigger::handle_tick`] with the
/// time and the counter, every [`IdleTrigger::tick_interval`] or more
/// often; when it returns `true` the runtime runs [`Store::shrink_idle`]
/// and then MUST call [`IdleTrigger::handle_shrunk`] with the counter as
/// the shrink left it (the flush moves it).
#[derive(Clone, Debug)]
pub struct IdleTrigger {
    quiet: Duration,
    /// The counter at the last tick and when it was first seen so.
    seen: Option<(u64, Instant)>,
    /// Writes happened since the last shrink (or the start).
    pending: bool,
}

impl IdleTrigger {
    /// A trigger that fires after `quiet` without writes.
    pub fn new(quiet: Duration) -> IdleTrigger {
        IdleTrigger {
            quiet,
            seen: None,
            pending: true,
        }
    }

    /// How often the runtime should call [`IdleTrigger::handle_tick`]: a
    /// fifth of the quiet period (at least 100 ms), so the shrink comes
    /// at most 20% late.
    pub fn tick_interval(&self) -> Duration {
        (self.quiet / 5).max(Duration::from_millis(100))
    }

    /// Takes the write counter at `now`; returns `true` when the store
    /// should shrink now (the caller then calls [`Store::shrink_idle`]).
    /// Time going backwards counts as no time passing.
    pub fn handle_tick(&mut self, now: Instant, write_seqno: u64) -> bool {
        match self.seen {
            Some((seqno, since)) if seqno == write_seqno => {
                if self.pending && now.saturating_duration_since(since) >= self.quiet {
                    self.pending = false;
                    return true;
                }
                false
            }
            _ => {
                // First tick, or writes since the last one.
                if self.seen.is_some() {
                    self.pending = true;
                }
                self.seen = Some((write_seqno, now));
                false
            }
        }
    }

    /// The shrink that [`IdleTrigger::handle_tick`] asked for is done (or
    /// failed) at `now`, leaving the write counter at `write_seqno`: the
    /// counter's move by the flush itself is not a write. Writes made
    /// while the shrink ran are counted with it: when the memtables are not
    /// empty afterwards, call [`IdleTrigger::rearm`].
    pub fn handle_shrunk(&mut self, now: Instant, write_seqno: u64) {
        self.seen = Some((write_seqno, now));
        self.pending = false;
    }

    /// After [`IdleTrigger::handle_shrunk`]: the shrink succeeded but the
    /// memtables are not empty, so writes arrived while it ran. Fire again
    /// once the counter has been still for the quiet period, without
    /// waiting for another write (else those writes would stay in memory
    /// for as long as the store stays idle).
    pub fn rearm(&mut self) {
        self.pending = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: Duration = Duration::from_secs(10);

    #[test]
    fn fires_once_after_the_quiet_period_then_again_only_after_writes() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut t = IdleTrigger::new(QUIET);
        assert_eq!(t.tick_interval(), Duration::from_secs(2));
        // Start: what the journal replay left is shrunk after QUIET.
        assert!(!t.handle_tick(at(0), 7));
        assert!(!t.handle_tick(at(9), 7));
        assert!(t.handle_tick(at(10), 7));
        // The flush moved the counter from 7 to 13: not a write.
        t.handle_shrunk(at(11), 13);
        // Nothing written: never again.
        assert!(!t.handle_tick(at(12), 13));
        assert!(!t.handle_tick(at(1000), 13));
        // Writes at 1001 and 1005: QUIET counts from the last change seen.
        assert!(!t.handle_tick(at(1001), 14));
        assert!(!t.handle_tick(at(1005), 15));
        assert!(!t.handle_tick(at(1014), 15));
        assert!(t.handle_tick(at(1015), 15));
        t.handle_shrunk(at(1015), 16);
        assert!(!t.handle_tick(at(1016), 16));
        assert!(!t.handle_tick(at(2000), 16));
    }

    #[test]
    fn rearmed_after_writes_during_the_shrink_fires_once_quiet_again() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut t = IdleTrigger::new(QUIET);
        assert!(!t.handle_tick(at(0), 7));
        assert!(t.handle_tick(at(10), 7));
        // A write landed while the flush ran: the counter the shrink left
        // includes it, and the memtables were not empty afterwards.
        t.handle_shrunk(at(11), 14);
        t.rearm();
        assert!(!t.handle_tick(at(12), 14));
        assert!(!t.handle_tick(at(20), 14));
        assert!(t.handle_tick(at(21), 14));
        // That shrink found nothing new: quiet from then on.
        t.handle_shrunk(at(21), 14);
        assert!(!t.handle_tick(at(22), 14));
        assert!(!t.handle_tick(at(2000), 14));
    }

    #[test]
    fn steady_writes_never_fire_and_time_going_back_is_no_time() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut t = IdleTrigger::new(QUIET);
        for i in 0..100u64 {
            assert!(!t.handle_tick(t0 + Duration::from_secs(i * 2), i));
        }
        let last = t0 + Duration::from_secs(198);
        assert!(!t.handle_tick(last - Duration::from_secs(50), 99));
        assert!(!t.handle_tick(last + Duration::from_secs(9), 99));
        assert!(t.handle_tick(last + Duration::from_secs(10), 99));
    }

    #[test]
    fn tick_interval_has_a_floor() {
        assert_eq!(
            IdleTrigger::new(Duration::from_millis(200)).tick_interval(),
            Duration::from_millis(100)
        );
    }
}

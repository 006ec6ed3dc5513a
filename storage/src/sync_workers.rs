//! Helper threads for fsync passes ([`crate::files`]): a pass syncs its
//! files and directories from several threads at once so the file system
//! commits them together, and these threads are kept between passes
//! instead of being spawned for each one. A single APPEND's pass (its file
//! and its bucket directory) used to spawn and join a thread per message;
//! with the workers kept, a pass costs a hand-off to a waiting thread.
//!
//! Workers are started on demand up to a limit and end after a while
//! without work, so an idle server holds none.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::error::{Result, StoreError};

/// A unit of work handed to a worker, and where its result goes.
struct Task {
    work: Box<dyn FnOnce() -> Result<()> + Send + 'static>,
    done: mpsc::Sender<Result<()>>,
}

/// A pool of fsync helper threads.
pub(crate) struct SyncWorkers {
    state: Mutex<State>,
    /// Signalled when a task is queued.
    work: Condvar,
    /// Most threads alive at once.
    max: usize,
    /// How long a worker waits for work before it ends.
    idle: Duration,
}

struct State {
    queue: VecDeque<Task>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for work.
    waiting: usize,
    /// Threads started since the pool was created (for tests and
    /// diagnostics).
    started: u64,
}

/// The process's pool: at most [`SYNC_WORKERS`] threads, each ending after
/// [`WORKER_IDLE`] without work.
pub(crate) static POOL: SyncWorkers = SyncWorkers::new(SYNC_WORKERS, WORKER_IDLE);

/// Most helper threads of the process's pool: a pass uses up to 16 threads,
/// the caller's own among them.
pub(crate) const SYNC_WORKERS: usize = 15;

/// How long an idle worker of the process's pool waits before it ends:
/// long enough to serve a stream of deliveries without a thread start per
/// message, short enough that a quiet server holds no threads.
const WORKER_IDLE: Duration = Duration::from_secs(2);

/// fsync helper threads the process has started so far: a diagnostic (a
/// stream of deliveries should start a handful, not one per message).
pub fn fsync_workers_started() -> u64 {
    POOL.started()
}

impl SyncWorkers {
    /// A pool of at most `max` threads that end after `idle` without work.
    pub(crate) const fn new(max: usize, idle: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                waiting: 0,
                started: 0,
            }),
            work: Condvar::new(),
            max,
            idle,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Threads started since the pool was created.
    pub(crate) fn started(&self) -> u64 {
        self.lock().started
    }

    /// Threads alive now.
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        self.lock().threads
    }

    /// Runs every group of `groups` and returns the first error (all of
    /// them run regardless): the first group on the calling thread, the
    /// others on workers.
    pub(crate) fn run<J>(&'static self, mut groups: Vec<Vec<J>>) -> Result<()>
    where
        J: FnOnce() -> Result<()> + Send + 'static,
    {
        if groups.is_empty() {
            return Ok(());
        }
        let own = groups.remove(0);
        let handed = groups.len();
        let (tx, rx) = mpsc::channel::<Result<()>>();
        for group in groups {
            self.submit(Task {
                work: Box::new(move || run_group(group)),
                done: tx.clone(),
            });
        }
        drop(tx);
        let mut res = run_group(own);
        for _ in 0..handed {
            // A task dropped unrun (a worker panicked) closes its sender.
            let r = rx
                .recv()
                .unwrap_or_else(|_| Err(StoreError::corrupt("fsync worker stopped")));
            if res.is_ok() {
                res = r;
            }
        }
        res
    }

    /// Queues `task` for a worker and wakes one, or starts one when none
    /// waits and the limit allows (else a busy worker takes it next). When
    /// no thread can be started and none is alive, the queued tasks run on
    /// the calling thread.
    fn submit(&'static self, task: Task) {
        let mut st = self.lock();
        st.queue.push_back(task);
        if st.waiting >= st.queue.len() {
            drop(st);
            self.work.notify_one();
            return;
        }
        if st.threads >= self.max {
            return;
        }
        st.threads += 1;
        st.started += 1;
        drop(st);
        let spawned = std::thread::Builder::new()
            .name("moxide-fsync".into())
            .spawn(move || self.work_loop());
        if spawned.is_err() {
            let mut st = self.lock();
            st.threads -= 1;
            if st.threads == 0 {
                let tasks = std::mem::take(&mut st.queue);
                drop(st);
                for t in tasks {
                    let _ = t.done.send((t.work)());
                }
            }
        }
    }

    /// A worker: runs queued tasks until none comes for `idle`. A task's
    /// result is sent with the pool locked, so a caller that submits its
    /// next pass right away finds this worker waiting (and does not start
    /// another thread).
    fn work_loop(&self) {
        let alive = Alive(self);
        let mut st = self.lock();
        loop {
            if let Some(task) = st.queue.pop_front() {
                drop(st);
                let r = (task.work)();
                st = self.lock();
                let _ = task.done.send(r);
                continue;
            }
            st.waiting += 1;
            let (guard, timeout) = self
                .work
                .wait_timeout(st, self.idle)
                .unwrap_or_else(PoisonError::into_inner);
            st = guard;
            st.waiting -= 1;
            if timeout.timed_out() && st.queue.is_empty() {
                st.threads -= 1;
                std::mem::forget(alive);
                return;
            }
        }
    }
}

/// Counts a worker out if it ends by a panic (a task's), so the pool
/// starts another instead of waiting for it.
struct Alive<'a>(&'a SyncWorkers);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.lock().threads -= 1;
    }
}

fn run_group<J: FnOnce() -> Result<()>>(group: Vec<J>) -> Result<()> {
    let mut res = Ok(());
    for job in group {
        let r = job();
        if res.is_ok() {
            res = r;
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A job that counts itself in `ran` and returns `result`.
    fn job(
        ran: &Arc<AtomicUsize>,
        result: Result<()>,
    ) -> impl FnOnce() -> Result<()> + Send + 'static {
        let ran = ran.clone();
        move || {
            ran.fetch_add(1, Ordering::SeqCst);
            result
        }
    }

    /// A pool of its own per test, so other tests' passes do not count.
    fn pool(max: usize, idle_ms: u64) -> &'static SyncWorkers {
        Box::leak(Box::new(SyncWorkers::new(
            max,
            Duration::from_millis(idle_ms),
        )))
    }

    #[test]
    fn passes_reuse_one_worker_instead_of_a_thread_each() {
        let p = pool(4, 10_000);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..200 {
            // One APPEND's pass: its file here, its directory on a worker.
            p.run(vec![vec![job(&ran, Ok(()))], vec![job(&ran, Ok(()))]])
                .unwrap();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 400);
        assert_eq!(p.started(), 1);
        assert_eq!(p.threads(), 1);
    }

    #[test]
    fn idle_workers_end_and_a_later_pass_starts_one_again() {
        let p = pool(4, 50);
        let ran = Arc::new(AtomicUsize::new(0));
        p.run(vec![vec![job(&ran, Ok(()))], vec![job(&ran, Ok(()))]])
            .unwrap();
        assert_eq!(p.started(), 1);
        let t0 = std::time::Instant::now();
        while p.threads() != 0 {
            assert!(t0.elapsed() < Duration::from_secs(10), "worker never ended");
            std::thread::sleep(Duration::from_millis(10));
        }
        p.run(vec![vec![job(&ran, Ok(()))], vec![job(&ran, Ok(()))]])
            .unwrap();
        assert_eq!(p.started(), 2);
        assert_eq!(ran.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn more_groups_than_workers_all_run_on_at_most_max_threads() {
        let p = pool(3, 10_000);
        let ran = Arc::new(AtomicUsize::new(0));
        let groups = (0..10)
            .map(|_| vec![job(&ran, Ok(())), job(&ran, Ok(()))])
            .collect();
        p.run(groups).unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 20);
        assert!(p.started() <= 3, "started {}", p.started());
        assert!(p.threads() <= 3);
    }

    #[test]
    fn an_error_on_a_worker_is_returned_after_every_job_ran() {
        let p = pool(4, 10_000);
        let ran = Arc::new(AtomicUsize::new(0));
        let err = || Err(StoreError::corrupt("disk full"));
        let r = p.run(vec![
            vec![job(&ran, Ok(())), job(&ran, Ok(()))],
            vec![job(&ran, err()), job(&ran, Ok(()))],
            vec![job(&ran, Ok(()))],
        ]);
        assert_eq!(r.unwrap_err().to_string(), err().unwrap_err().to_string());
        assert_eq!(ran.load(Ordering::SeqCst), 5);
        // The caller's own group failing is reported too.
        let r = p.run(vec![vec![job(&ran, err())], vec![job(&ran, Ok(()))]]);
        assert!(r.is_err());
        assert_eq!(ran.load(Ordering::SeqCst), 7);
    }

    #[test]
    fn concurrent_callers_share_the_workers() {
        let p = pool(2, 10_000);
        let ran = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let ran = ran.clone();
                s.spawn(move || {
                    for _ in 0..50 {
                        let groups = (0..3).map(|_| vec![job(&ran, Ok(()))]).collect();
                        p.run(groups).unwrap();
                    }
                });
            }
        });
        assert_eq!(ran.load(Ordering::SeqCst), 4 * 50 * 3);
        assert!(p.started() <= 2, "started {}", p.started());
    }

    #[test]
    fn a_panicking_job_fails_its_pass_and_the_pool_goes_on() {
        let p = pool(1, 10_000);
        let ran = Arc::new(AtomicUsize::new(0));
        let boom = || -> Result<()> { panic!("job panicked on purpose") };
        let r = p.run(vec![
            vec![Box::new(job(&ran, Ok(()))) as Box<dyn FnOnce() -> Result<()> + Send>],
            vec![Box::new(boom)],
        ]);
        assert_eq!(
            r.unwrap_err().to_string(),
            StoreError::corrupt("fsync worker stopped").to_string()
        );
        let t0 = std::time::Instant::now();
        while p.threads() != 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "dead worker still counted"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        p.run(vec![vec![job(&ran, Ok(()))], vec![job(&ran, Ok(()))]])
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 3);
        assert_eq!(p.started(), 2);
    }
}

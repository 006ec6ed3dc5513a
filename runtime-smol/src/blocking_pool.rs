//! The smol runtime's thread pool for blocking work (store reads and
//! writes, fsyncs, the idle flush, control requests), used in place of
//! `smol::unblock`.
//!
//! Why not `smol::unblock`: its pool (the `blocking` crate, 1.7) keeps every
//! thread it ever started; a thread exits only while the pool is over its
//! 500-thread limit. Each kept thread keeps glibc's per-thread cache of
//! freed chunks (tcache), which `malloc_trim` cannot return and which keeps
//! the heap pages around those chunks from being returned either. After
//! 20,000 APPENDs over 4 connections, six idle pool threads left the
//! server with 7.6 MB of anonymous memory 40 s later, against 2.5 MB with
//! glibc's tcache switched off (bench/imap-vs-dovecot/README.md). Here a
//! thread that has had no work for [`IDLE_EXIT`] exits, which hands its
//! tcache back to the heap, and the idle task's trim returns it.
//!
//! Contract of [`unblock`]: the closure runs exactly once on a pool thread,
//! even if the caller's future is dropped before it finishes; a panic in
//! the closure is resumed in the caller. At most [`MAX_THREADS`] threads
//! run at once; further work waits in a FIFO queue.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// How long a pool thread waits for work before it exits.
pub const IDLE_EXIT: Duration = Duration::from_secs(2);

/// Most pool threads at once (the `blocking` crate's default too).
pub const MAX_THREADS: usize = 500;

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<State>,
    work: Condvar,
}

struct State {
    queue: VecDeque<Job>,
    /// Threads waiting for work.
    idle: usize,
    /// Threads alive (idle or running a job).
    threads: usize,
}

static POOL: Pool = Pool {
    state: Mutex::new(State {
        queue: VecDeque::new(),
        idle: 0,
        threads: 0,
    }),
    work: Condvar::new(),
};

/// Queues `f` for a pool thread now and returns a future of its result;
/// see the module contract.
pub fn unblock<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = T> + Send + 'static {
    let (tx, rx) = smol::channel::bounded(1);
    POOL.submit(Box::new(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        // The caller may have gone away: then nobody wants the result.
        let _ = tx.try_send(result);
    }));
    async move {
        match rx.recv().await {
            Ok(Ok(v)) => v,
            Ok(Err(payload)) => panic::resume_unwind(payload),
            // Every queued job runs and sends; the sender is only dropped
            // unsent if the process is exiting.
            Err(_) => panic!("blocking pool dropped a job"),
        }
    }
}

/// Threads of the pool alive now (idle or busy).
pub fn threads() -> usize {
    POOL.lock().threads
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and catch their panics, so a poisoned
        // lock still holds consistent counts.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn submit(&'static self, job: Job) {
        let mut st = self.lock();
        st.queue.push_back(job);
        if st.idle >= st.queue.len() {
            self.work.notify_one();
            return;
        }
        if st.threads < MAX_THREADS {
            st.threads += 1;
            let spawned = thread::Builder::new()
                .name("moxide-blocking".into())
                .spawn(move || self.run());
            if spawned.is_ok() {
                return;
            }
            st.threads -= 1;
        }
        // No thread could be added: wake a busy one's successor if any
        // exists; with no thread at all, run the work here rather than
        // never (the caller's executor thread blocks meanwhile).
        if st.threads > 0 {
            self.work.notify_one();
            return;
        }
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            tracing::warn!("blocking pool: no thread could be started; running the job inline");
            job();
        }
    }

    /// A pool thread: runs queued jobs, exits after [`IDLE_EXIT`] without.
    fn run(&'static self) {
        let mut st = self.lock();
        loop {
            while let Some(job) = st.queue.pop_front() {
                drop(st);
                job();
                st = self.lock();
            }
            st.idle += 1;
            let (guard, waited) = self
                .work
                .wait_timeout(st, IDLE_EXIT)
                .unwrap_or_else(PoisonError::into_inner);
            st = guard;
            st.idle -= 1;
            if waited.timed_out() && st.queue.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Instant;

    use super::*;

    /// Counts, in its `Arc`, the pool threads that exited after running a
    /// job of the test (a thread-local is dropped when its thread ends).
    struct ExitSignal(Arc<AtomicUsize>);

    impl Drop for ExitSignal {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    thread_local! {
        static ON_EXIT: RefCell<Option<ExitSignal>> = const { RefCell::new(None) };
    }

    #[test]
    fn returns_the_result_and_resumes_a_panic() {
        assert_eq!(smol::block_on(unblock(|| 6 * 7)), 42);
        let caught = panic::catch_unwind(|| smol::block_on(unblock(|| panic!("job failed"))));
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"job failed"));
        // The pool still works after a panicking job.
        assert_eq!(smol::block_on(unblock(|| "ok")), "ok");
    }

    #[test]
    fn runs_concurrent_jobs_on_several_threads_which_exit_when_idle() {
        // Four jobs that can only finish together need four threads.
        let n = 4;
        let barrier = Arc::new(Barrier::new(n));
        let exited = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..n)
            .map(|i| {
                let (b, exited) = (barrier.clone(), exited.clone());
                unblock(move || {
                    b.wait();
                    ON_EXIT.with(|e| *e.borrow_mut() = Some(ExitSignal(exited)));
                    (i, thread::current().name().map(str::to_string))
                })
            })
            .collect();
        let results = smol::block_on(async {
            let mut out = Vec::new();
            for j in jobs {
                out.push(j.await);
            }
            out
        });
        let name = Some("moxide-blocking".to_string());
        assert_eq!(
            results,
            (0..n).map(|i| (i, name.clone())).collect::<Vec<_>>()
        );
        // They are still there right after the work...
        assert_eq!(exited.load(Ordering::SeqCst), 0);
        // ...and exit once idle for IDLE_EXIT (later if other tests of
        // this crate gave them work meanwhile).
        let start = Instant::now();
        while exited.load(Ordering::SeqCst) < n {
            assert!(
                start.elapsed() < IDLE_EXIT * 5,
                "{} of {n} pool threads exited after {:?}",
                exited.load(Ordering::SeqCst),
                start.elapsed()
            );
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            start.elapsed() >= IDLE_EXIT / 2,
            "exited after {:?}, before being idle for long",
            start.elapsed()
        );
    }

    #[test]
    fn a_job_whose_caller_went_away_still_runs_once() {
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let gate = Arc::new(Barrier::new(2));
        let g = gate.clone();
        let fut = unblock(move || {
            g.wait();
            r.fetch_add(1, Ordering::SeqCst);
        });
        drop(fut);
        gate.wait();
        let start = Instant::now();
        while ran.load(Ordering::SeqCst) == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "job never ran");
            thread::sleep(Duration::from_millis(10));
        }
        thread::sleep(Duration::from_millis(100));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn many_more_jobs_than_threads_all_complete() {
        let total: u64 = smol::block_on(async {
            let jobs: Vec<_> = (0..2000u64).map(|i| unblock(move || i)).collect();
            let mut sum = 0;
            for j in jobs {
                sum += j.await;
            }
            sum
        });
        assert_eq!(total, (0..2000u64).sum::<u64>());
    }
}

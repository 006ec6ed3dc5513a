//! `moxide_tokio::queue_runner` against `moxide-tokio localserve` and
//! scripted servers: the same cases as the smol runner's (delivery over
//! STARTTLS, failure DSN on a 5xx, a refused connection rescheduled 7.5
//! minutes later, REQUIRETLS without STARTTLS sending nothing, stop and
//! drop with an attempt running, MTA-STS enforce over HTTPS and PKIX).

const BIN: &str = env!("CARGO_BIN_EXE_moxide-tokio");

#[path = "../../runtime-smol/tests/common/mod.rs"]
mod common;
#[path = "../../runtime-smol/tests/common/https_server.rs"]
mod https_server;
#[path = "../../runtime-smol/tests/common/python_server.rs"]
mod python_server;

include!("../../runtime-smol/tests/cases/queue_runner.rs");
include!("../../runtime-smol/tests/cases/queue_runner_mtasts.rs");

/// The runner on a current-thread tokio runtime of its own thread, which
/// runs until `stop`.
struct Runner {
    /// `true`: stop; `false`: drop the runner (abandon).
    stop: tokio::sync::oneshot::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

fn start_runner(q: Arc<Queue>, cfg: RunnerConfig) -> Runner {
    let (stop, stopped) = tokio::sync::oneshot::channel::<bool>();
    let (ready_tx, ready) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let runner = moxide_tokio::queue_runner::spawn(q, cfg);
            ready_tx.send(()).unwrap();
            if stopped.await == Ok(false) {
                drop(runner);
                // The runtime lives on, so the test sees what the drop
                // did, not what the runtime's shutdown would do.
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            } else {
                runner.stop().await;
            }
        });
    });
    // The queue's notify is set once spawn has returned.
    ready.recv().unwrap();
    Runner { stop, thread }
}

impl Runner {
    fn stop(self) {
        self.stop.send(true).unwrap();
        self.thread.join().unwrap();
    }

    /// Drops the runner: running attempts are cancelled (the runtime's
    /// thread is left running).
    fn abandon(self) {
        self.stop.send(false).unwrap();
        drop(self.thread);
    }
}

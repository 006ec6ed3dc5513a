//! `moxide::queue_runner` on smol: a queued message delivered to a
//! localserve over STARTTLS (queue empty after), a 5xx giving a failure
//! DSN, a refused connection and a 4xx rescheduled 7.5 minutes later, REQUIRETLS to
//! a server without STARTTLS sending nothing, garbage from the server a
//! temporary failure, a smarthost with AUTH over implicit TLS, stop and
//! drop with an attempt running, and an MTA-STS enforce policy fetched over HTTPS
//! (PKIX delivery with a trusted certificate; nothing sent without). The
//! cases are shared with the tokio runner (tests/cases/queue_runner*.rs).

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;
#[path = "common/https_server.rs"]
mod https_server;
#[path = "common/python_server.rs"]
mod python_server;

include!("cases/queue_runner.rs");
include!("cases/queue_runner_mtasts.rs");

/// The runner on smol (its tasks run on smol's global executor).
struct Runner(moxide::queue_runner::QueueRunner);

fn start_runner(q: Arc<Queue>, cfg: RunnerConfig) -> Runner {
    Runner(moxide::queue_runner::spawn(q, cfg))
}

impl Runner {
    fn stop(self) {
        smol::block_on(self.0.stop());
    }

    /// Drops the runner: running attempts are cancelled.
    fn abandon(self) {
        drop(self.0);
    }
}

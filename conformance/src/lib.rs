//! moxide conformance: IMAP transcripts (`conformance/imap/*.txt`, format in
//! `conformance/README.md`) and their harness.
//!
//! - [`run_core_all`] runs every transcript on the bare core ([`core::Core`]:
//!   engine sessions over a fresh store, fixed clock, deterministic nonces),
//!   compares with the `S:` lines, snapshots the exchange with insta into
//!   the top-level `snapshots/`, and runs the store's consistency check.
//! - [`loopback::run_all`] runs the same transcripts over real TCP with
//!   STARTTLS and over implicit TLS against a running server.
//!
//! A transcript marked `@known-failure <reason>` states correct behaviour
//! the engine lacks: its failure is reported as ignored, and its passing
//! fails the run so the mark gets removed.
#![forbid(unsafe_code)]

pub mod chunked;
pub mod core;
pub mod dns_fixture;
pub mod loopback;
pub mod pattern;
pub mod replay;
pub mod runner;
pub mod scram;
pub mod smtp;
pub mod smtp_core;
pub mod smtp_loopback;
pub mod smtp_runner;
pub mod transcript;

use std::path::{Path, PathBuf};

pub use runner::{Driver, Outcome, run};
pub use transcript::{Step, Transcript, parse};

/// The directory of the IMAP transcripts.
pub fn imap_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("imap")
}

/// Every IMAP transcript, sorted by name; `TRANSCRIPT=substring` in the
/// environment selects some.
pub fn imap_transcripts() -> Result<Vec<Transcript>, String> {
    let dir = imap_dir();
    let filter = std::env::var("TRANSCRIPT").ok();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        out.push(parse(&name, &text).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    Ok(out)
}

/// How a transcript ended, judged against its marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Ran as written.
    Passed,
    /// Failed as its `@known-failure` mark says (reported as ignored).
    KnownFailure { reason: String, detail: String },
    /// Not run here (`@core-only` over a runtime).
    Skipped { reason: String },
    /// Failed without a mark, or passed with one.
    Failed(String),
}

/// The verdict for an outcome of `t`.
pub fn judge(t: &Transcript, o: &Outcome) -> Verdict {
    match (&t.known_failure, &o.failure) {
        (None, None) => Verdict::Passed,
        (None, Some(f)) => Verdict::Failed(f.clone()),
        (Some(reason), Some(f)) => Verdict::KnownFailure {
            reason: reason.clone(),
            detail: f.clone(),
        },
        (Some(reason), None) => Verdict::Failed(format!(
            "passes now: remove `@known-failure {reason}` from the transcript"
        )),
    }
}

/// Prints one line per transcript and returns the failures.
pub fn report(label: &str, results: &[(String, Verdict)]) -> Vec<String> {
    let mut failed = Vec::new();
    let (mut ok, mut known, mut skipped) = (0, 0, 0);
    for (name, v) in results {
        match v {
            Verdict::Passed => {
                ok += 1;
                println!("{label} {name}: ok");
            }
            Verdict::KnownFailure { reason, detail } => {
                known += 1;
                println!("{label} {name}: ignored, known failure: {reason}\n    ({detail})");
            }
            Verdict::Skipped { reason } => {
                skipped += 1;
                println!("{label} {name}: skipped: {reason}");
            }
            Verdict::Failed(f) => {
                println!("{label} {name}: FAILED: {f}");
                failed.push(format!("{name}: {f}"));
            }
        }
    }
    println!(
        "{label}: {ok} passed, {known} known failures (ignored), {skipped} skipped, {} failed",
        failed.len()
    );
    failed
}

/// Runs one transcript on the bare core.
pub fn run_core(t: &Transcript) -> Outcome {
    match core::Core::for_transcript(t) {
        Ok(mut c) => run(t, &mut c),
        Err(e) => Outcome {
            failure: Some(e),
            log: Vec::new(),
        },
    }
}

/// Runs every transcript on the bare core, checks each snapshot
/// (`snapshots/imap__<name>.snap`), and returns (name, verdict) pairs;
/// a snapshot mismatch is a failure. Transcripts run on a few threads
/// (each has its own store; the time goes to fsync); snapshots are
/// checked in order afterwards.
pub fn run_core_all() -> Result<Vec<(String, Verdict)>, String> {
    let transcripts = imap_transcripts()?;
    let outcomes = par_map(&transcripts, run_core);
    let mut results = Vec::new();
    for (t, o) in transcripts.iter().zip(outcomes) {
        let mut v = judge(t, &o);
        if let Err(e) = check_snapshot(&t.name, &o.snapshot())
            && matches!(v, Verdict::Passed | Verdict::KnownFailure { .. })
        {
            v = Verdict::Failed(format!("snapshot: {e}"));
        }
        results.push((t.name.clone(), v));
    }
    Ok(results)
}

/// How many transcripts run at once.
const PARALLEL: usize = 4;

/// `f` over `items` on [`PARALLEL`] threads, results in order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL.min(items.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| match m.into_inner() {
            Ok(Some(r)) => r,
            // A worker panicked (a harness bug): the scope re-raised it.
            _ => unreachable!("every item has a result"),
        })
        .collect()
}

/// Compares (or, as insta decides, writes) the snapshot `imap__<name>`.
fn check_snapshot(name: &str, content: &str) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    // Relative to this file (conformance/src/lib.rs).
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let name = format!("imap__{name}");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, content));
    }));
    result.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "snapshot assertion failed".to_string())
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    })
}

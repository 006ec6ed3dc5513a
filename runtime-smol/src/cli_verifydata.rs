//! `moxide verifydata [DATADIR | --dir DIR | --config PATH]`: the
//! consistency check of a data directory that no server has open,
//! typically a backup (as mox's `verifydata`).
//!
//! DATADIR is a data directory (the one holding `db/`: `data_dir` of
//! `moxide serve`, `<dir>/data` of localserve) or a directory holding one
//! as `data/` (a localserve directory, or a backup made by
//! `moxide backup`); as for the other admin commands, `--config PATH`
//! names `moxide serve`'s data_dir and `--dir DIR` (default
//! `$HOME/.config/moxide-localserve`) a localserve directory. The database allows one process at a time, so a data
//! directory a server runs on is refused (its control socket answers, or
//! the database lock is held): the admin stops the server or verifies a
//! backup. Like mox's, the check opens the store as a server would: schema
//! upgrades of a newer moxide are applied, expunged messages whose erasure
//! was interrupted are erased, and files of commits a crash interrupted are
//! removed; run it on a backup before upgrading.
//!
//! Output: one line per problem on standard output (account, mailbox, UID
//! and file named), then the summary line; exit status 0 when clean, 1
//! when problems were found, 2 for usage and I/O errors (message on
//! standard error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use moxide_storage::{Store, StoreConfig, VerifyReport};

/// Exit status when problems were found.
pub const EXIT_PROBLEMS: u8 = 1;
/// Exit status for usage and I/O errors.
pub const EXIT_ERROR: u8 = 2;

/// The data directory of `dir`: `dir` itself when it holds `db/`, else
/// `dir/data` when that holds `db/` (a localserve directory or a backup).
pub fn resolve_data_dir(dir: &Path) -> Result<PathBuf, String> {
    if !dir.is_dir() {
        return Err(format!("{}: no such directory", dir.display()));
    }
    if dir.join("db").is_dir() {
        return Ok(dir.to_path_buf());
    }
    let data = crate::localserve::data_dir(dir);
    if data.join("db").is_dir() {
        return Ok(data);
    }
    Err(format!(
        "{}: not a moxide data directory (neither db/ nor data/db/ is in it)",
        dir.display()
    ))
}

/// Opens the store of data directory `data` for a tool, refusing when a
/// server runs on it: `moxide verifydata` and `moxide backup` of a stopped
/// server use this.
pub fn open_stopped(data: &Path, verb: &str) -> Result<Store, String> {
    let running = || {
        format!(
            "{}: a server is running on this data directory; stop it first{}",
            data.display(),
            if verb == "verify" {
                ", or verify a backup (`moxide backup DEST`, then `moxide verifydata DEST`)"
            } else {
                ""
            }
        )
    };
    if std::os::unix::net::UnixStream::connect(crate::ctl::socket_path(data)).is_ok() {
        return Err(running());
    }
    match Store::open(data, StoreConfig::default()) {
        Ok(s) => Ok(s),
        Err(e) if e.is_locked() => Err(running()),
        Err(e) => Err(format!("opening the store in {}: {e}", data.display())),
    }
}

/// Verifies `dir` (see [`resolve_data_dir`]); returns the report, or an
/// error message for standard error.
pub fn verify_dir(dir: &Path) -> Result<VerifyReport, String> {
    let data = resolve_data_dir(dir)?;
    let store = open_stopped(&data, "verify")?;
    let report = store
        .verify()
        .map_err(|e| format!("checking {}: {e}", data.display()))?;
    store
        .wait_background()
        .map_err(|e| format!("upgrading {}: {e}", data.display()))?;
    Ok(report)
}

/// The lines `moxide verifydata` prints: each problem, then the summary.
pub fn format_report(report: &VerifyReport) -> String {
    let mut out = String::new();
    for p in &report.problems {
        out.push_str(p);
        out.push('\n');
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

/// `moxide verifydata [DATADIR | --dir DIR | --config PATH]`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The data directory, localserve directory or backup.
    #[arg(value_name = "DATADIR", conflicts_with_all = ["dir", "config"])]
    pub datadir: Option<PathBuf>,
    /// The localserve directory [default: $HOME/.config/moxide-localserve].
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub dir: Option<PathBuf>,
    /// The moxide.toml of `moxide serve`: its data_dir.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// The directory to verify: DATADIR, the localserve directory, or the
/// data_dir of the configuration.
fn target(args: VerifyArgs) -> Result<PathBuf, String> {
    match (args.datadir, args.dir, args.config) {
        (Some(d), _, _) | (None, Some(d), _) => Ok(d),
        (None, None, Some(path)) => moxide_engine::config::load(&path)
            .map(|cfg| cfg.data_dir)
            .map_err(|e| e.to_string()),
        (None, None, None) => crate::localserve::default_dir(),
    }
}

/// Runs `moxide verifydata`.
pub fn run(args: VerifyArgs) -> ExitCode {
    match target(args).and_then(|dir| verify_dir(&dir)) {
        Ok(r) => {
            print!("{}", format_report(&r));
            if r.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_PROBLEMS)
            }
        }
        Err(e) => {
            eprintln!("moxide verifydata: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

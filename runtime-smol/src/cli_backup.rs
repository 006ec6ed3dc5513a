//! `moxide backup [--config PATH | --dir DIR] DEST`: a consistent copy of
//! a server's data and configuration, as mox's `backup`, made while the
//! server runs (through its control socket, by the server, which holds the
//! store) or of a stopped one (directly).
//!
//! DEST must not exist or be empty. It gets the files of the configuration
//! directory (the localserve directory, or the directory of `moxide.toml`)
//! without the data directory, and the data in `DEST/data`: the database as
//! of one instant and the message and queue files it references
//! ([`moxide_storage::Store::backup_to`]). For localserve and for a
//! `moxide.toml` with the default `data_dir = "data"`, DEST is thus a
//! directory to run from as it is. The copy is then verified with the check
//! of `moxide verifydata`; exit status 0 when it is clean, 1 when it has
//! problems, 2 when the backup failed.

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use moxide_storage::Store;

use crate::cli_verifydata::{EXIT_ERROR, EXIT_PROBLEMS, format_report, open_stopped};

/// `moxide backup [--config PATH | --dir DIR] DEST`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The localserve directory [default: $HOME/.config/moxide-localserve].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The moxide.toml of `moxide serve` instead of the localserve
    /// directory.
    #[arg(long, value_name = "PATH", conflicts_with = "dir")]
    pub config: Option<PathBuf>,
    /// Where the backup goes; must not exist or be empty.
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,
}

/// Backs up `store` into `dest` (a new data directory) and returns what
/// `moxide backup` prints about it. The control socket handler and the
/// stopped-server path both call this.
pub fn backup_data(store: &Store, dest: &Path) -> Result<String, String> {
    let r = store.backup_to(dest).map_err(|e| {
        format!(
            "backing up {}: {e} (remove what was copied into {} before trying again)",
            store.dir().display(),
            dest.display()
        )
    })?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "database: {} entries as of one instant, into {}",
        r.db_entries,
        dest.join("db").display()
    );
    let _ = writeln!(
        out,
        "message files: {}, queue files: {} ({} hard-linked, {} copied with {} bytes)",
        r.message_files,
        r.queue_files,
        r.linked,
        (r.message_files + r.queue_files).saturating_sub(r.linked),
        r.bytes_copied
    );
    for m in &r.missing {
        let _ = writeln!(
            out,
            "missing in the source: {} (the backup lacks it too)",
            m.display()
        );
    }
    Ok(out)
}

/// Where the configuration and the data of the server to back up are.
struct Source {
    config_dir: PathBuf,
    data_dir: PathBuf,
}

fn source(args: &BackupArgs) -> Result<Source, String> {
    match &args.config {
        Some(path) => {
            let cfg = moxide_engine::config::load(path).map_err(|e| e.to_string())?;
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            Ok(Source {
                config_dir: absolute(dir)?,
                data_dir: absolute(&cfg.data_dir)?,
            })
        }
        None => {
            let dir = match &args.dir {
                Some(d) => d.clone(),
                None => crate::localserve::default_dir()?,
            };
            if !dir.join("data").join("db").is_dir() {
                return Err(format!(
                    "{}: not a localserve directory with data (no data/db/ in it)",
                    dir.display()
                ));
            }
            let dir = absolute(&dir)?;
            Ok(Source {
                data_dir: crate::localserve::data_dir(&dir),
                config_dir: dir,
            })
        }
    }
}

fn absolute(p: &Path) -> Result<PathBuf, String> {
    std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// Runs `moxide backup`: the backup, its verification, the report.
pub fn run(args: BackupArgs) -> ExitCode {
    match backup(&args) {
        Ok((out, clean)) => {
            print!("{out}");
            if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_PROBLEMS)
            }
        }
        Err(e) => {
            eprintln!("moxide backup: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Makes the backup; returns the output and whether the copy verified
/// clean.
fn backup(args: &BackupArgs) -> Result<(String, bool), String> {
    let src = source(args)?;
    let dest = absolute(&args.dest)?;
    if dest.starts_with(&src.data_dir) {
        return Err(format!(
            "{}: the backup cannot go inside the data directory {}",
            dest.display(),
            src.data_dir.display()
        ));
    }
    match std::fs::read_dir(&dest).map(|mut entries| entries.next().is_some()) {
        Ok(true) => {
            return Err(format!(
                "{}: the destination exists and is not empty",
                dest.display()
            ));
        }
        Ok(false) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", dest.display())),
    }
    // DEST is made by whoever copies the data (the server, through the
    // control socket, may run as another user than this command).
    let dest_data = dest.join("data");
    let mut out = String::new();
    let req = crate::ctl::Request::Backup {
        dest: dest_data.clone(),
    };
    let data_out = match crate::ctl::request(&src.data_dir, &req) {
        Some(outcome) => {
            let _ = writeln!(out, "backing up the running server's data (control socket)");
            let bytes = outcome?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        None => {
            let _ = writeln!(out, "backing up the data of a stopped server");
            let store = open_stopped(&src.data_dir, "back up")?;
            backup_data(&store, &dest_data)?
        }
    };
    out.push_str(&data_out);
    let n = copy_config(&src.config_dir, &dest, &[&src.data_dir, &dest])?;
    let _ = writeln!(
        out,
        "config: {n} files from {} into {}",
        src.config_dir.display(),
        dest.display()
    );
    if src.data_dir != src.config_dir.join("data") {
        let _ = writeln!(
            out,
            "note: data_dir of the copied moxide.toml still names {}; point it at {} to run from the backup",
            src.data_dir.display(),
            dest_data.display()
        );
    }
    let report = crate::cli_verifydata::verify_dir(&dest_data)
        .map_err(|e| format!("verifying the backup: {e}"))?;
    let _ = write!(out, "verified: {}", format_report(&report));
    let _ = writeln!(out, "backup in {}", dest.display());
    Ok((out, report.problems.is_empty()))
}

/// Copies the files of `from` into `to` (directories, regular files with
/// their permissions, symbolic links as links), leaving out the paths in
/// `skip` and sockets; everything fsynced. Returns the number of files.
fn copy_config(from: &Path, to: &Path, skip: &[&Path]) -> Result<u64, String> {
    let mut n = 0;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("{}: {e}", from.display()))?;
        let src = e.path();
        if skip.iter().any(|s| *s == src) {
            continue;
        }
        let dst = to.join(e.file_name());
        let err = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
        let ft = e.file_type().map_err(|x| err("reading", &src, x))?;
        if ft.is_dir() {
            let mode = e
                .metadata()
                .map_err(|x| err("reading", &src, x))?
                .permissions()
                .mode();
            std::fs::create_dir(&dst).map_err(|x| err("creating", &dst, x))?;
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(mode & 0o7777))
                .map_err(|x| err("setting permissions of", &dst, x))?;
            n += copy_config(&src, &dst, skip)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|x| err("reading", &src, x))?;
            std::os::unix::fs::symlink(&target, &dst).map_err(|x| err("creating", &dst, x))?;
            n += 1;
        } else if ft.is_file() {
            // std::fs::copy keeps the permission bits (a key stays 0600).
            std::fs::copy(&src, &dst).map_err(|x| err("copying", &src, x))?;
            File::open(&dst)
                .and_then(|f| f.sync_all())
                .map_err(|x| err("fsync", &dst, x))?;
            n += 1;
        }
    }
    File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("fsync {}: {e}", to.display()))?;
    Ok(n)
}

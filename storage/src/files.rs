//! Message files: immutable, one per message identity, at
//! `accounts/<account id>/msg/<msg id / 8192>/<msg id>`. A file is written
//! and fsynced (with its directory) before the commit that references it.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// Files per directory.
const PER_DIR: u64 = 8192;

/// Directory of an account's files.
pub(crate) fn account_dir(root: &Path, acct: u32) -> PathBuf {
    root.join("accounts").join(acct.to_string())
}

fn msg_root(root: &Path, acct: u32) -> PathBuf {
    account_dir(root, acct).join("msg")
}

fn bucket_dir(root: &Path, acct: u32, bucket: u64) -> PathBuf {
    msg_root(root, acct).join(bucket.to_string())
}

/// Path of a message file relative to the data directory
/// (`accounts/<account id>/msg/<msg id / 8192>/<msg id>`), for messages
/// that name a file to an admin and for backups.
pub(crate) fn rel_path(acct: u32, msg_id: u64) -> PathBuf {
    msg_path(Path::new(""), acct, msg_id)
}

/// Path of a message file.
pub(crate) fn msg_path(root: &Path, acct: u32, msg_id: u64) -> PathBuf {
    bucket_dir(root, acct, msg_id / PER_DIR).join(msg_id.to_string())
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("fsync directory", dir, e))
}

/// Create the bucket directory for `msg_id` if needed, fsyncing the parents
/// of what was created.
fn ensure_bucket(root: &Path, acct: u32, msg_id: u64) -> Result<PathBuf> {
    let dir = bucket_dir(root, acct, msg_id / PER_DIR);
    if dir.is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::io("create directory", &dir, e))?;
    let mut p = dir.as_path();
    // fsync every parent up to the data directory so the new entries last.
    while let Some(parent) = p.parent() {
        fsync_dir(parent)?;
        if parent == root {
            break;
        }
        p = parent;
    }
    Ok(dir)
}

/// Write message files (`(msg id, bytes)`), then fsync all of them and their
/// directories: one fsync pass for a whole group. On error, files written
/// so far are removed.
pub(crate) fn write_files(root: &Path, acct: u32, files: &[(u64, &[u8])]) -> Result<()> {
    let res = write_files_inner(root, acct, files);
    if res.is_err() {
        for (id, _) in files {
            let _ = std::fs::remove_file(msg_path(root, acct, *id));
        }
    }
    res
}

fn write_files_inner(root: &Path, acct: u32, files: &[(u64, &[u8])]) -> Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    // Bounded number of open handles per pass.
    let chunks = files.chunks(OPEN_PER_PASS);
    let last = chunks.len().saturating_sub(1);
    for (i, chunk) in chunks.enumerate() {
        let mut open = Vec::with_capacity(chunk.len());
        for (id, data) in chunk {
            let dir = ensure_bucket(root, acct, *id)?;
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
            let path = msg_path(root, acct, *id);
            let mut f = File::create(&path).map_err(|e| StoreError::io("create", &path, e))?;
            f.write_all(data)
                .map_err(|e| StoreError::io("write", &path, e))?;
            open.push(SyncJob::File(f, path));
        }
        // The directories go with the last pass: their entries must be
        // durable before the commit, in any order with the files' data.
        if i == last {
            open.extend(dirs.iter().cloned().map(SyncJob::Dir));
        }
        sync_pass(open)?;
    }
    Ok(())
}

/// Files written (and open) per sync pass.
const OPEN_PER_PASS: usize = 512;
/// Most threads one sync pass uses, the caller's among them.
const SYNC_THREADS: usize = crate::sync_workers::SYNC_WORKERS + 1;

/// One thing to make durable; the file is closed once synced.
enum SyncJob {
    /// A file's data (fdatasync).
    File(File, PathBuf),
    /// A directory's entries (fsync).
    Dir(PathBuf),
}

impl SyncJob {
    fn run(self) -> Result<()> {
        match self {
            SyncJob::File(f, path) => f.sync_data().map_err(|e| StoreError::io("fsync", path, e)),
            SyncJob::Dir(dir) => fsync_dir(&dir),
        }
    }
}

/// fsync files and directories, from several threads at once when there
/// is more than one: the file system then commits them together (on ext4
/// concurrent fsyncs share one journal commit, sequential ones each wait
/// for their own). A group commit's files and its bucket directory thus
/// cost about one sync latency instead of one per file plus one. The
/// other threads are the kept workers of [`crate::sync_workers::POOL`],
/// not threads started for the pass.
fn sync_pass(jobs: Vec<SyncJob>) -> Result<()> {
    if jobs.len() <= 1 {
        return jobs.into_iter().try_for_each(SyncJob::run);
    }
    let per_thread = jobs.len().div_ceil(SYNC_THREADS);
    let mut groups: Vec<Vec<SyncJob>> = Vec::with_capacity(SYNC_THREADS);
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        groups.push(jobs.by_ref().take(per_thread).collect());
    }
    let groups = groups
        .into_iter()
        .map(|g| g.into_iter().map(|j| move || j.run()).collect())
        .collect();
    crate::sync_workers::POOL.run(groups)
}

/// Make `dst` a new file with the contents of `src` (a hard link when the
/// file system allows), durable. For COPY.
pub(crate) fn link_files(root: &Path, acct: u32, pairs: &[(u64, u64)]) -> Result<()> {
    let res = link_files_inner(root, acct, pairs);
    if res.is_err() {
        for (_, dst) in pairs {
            let _ = std::fs::remove_file(msg_path(root, acct, *dst));
        }
    }
    res
}

fn link_files_inner(root: &Path, acct: u32, pairs: &[(u64, u64)]) -> Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (src, dst) in pairs {
        let dir = ensure_bucket(root, acct, *dst)?;
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
        let s = msg_path(root, acct, *src);
        let d = msg_path(root, acct, *dst);
        let _ = std::fs::remove_file(&d);
        if std::fs::hard_link(&s, &d).is_err() {
            std::fs::copy(&s, &d).map_err(|e| StoreError::io("copy", &d, e))?;
            File::open(&d)
                .and_then(|f| f.sync_data())
                .map_err(|e| StoreError::io("fsync", &d, e))?;
        }
    }
    for d in &dirs {
        fsync_dir(d)?;
    }
    Ok(())
}

/// Remove a message file; a missing file is not an error.
pub(crate) fn remove(root: &Path, acct: u32, msg_id: u64) -> Result<()> {
    let p = msg_path(root, acct, msg_id);
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove", p, e)),
    }
}

/// Size of a message file.
pub(crate) fn file_size(root: &Path, acct: u32, msg_id: u64) -> Result<u64> {
    let p = msg_path(root, acct, msg_id);
    std::fs::metadata(&p)
        .map(|m| m.len())
        .map_err(|e| StoreError::io("stat", p, e))
}

/// Append `len` bytes at `offset` of a message file (fewer at the end) to
/// `out`. `out` grows once by exactly the bytes to read and is filled by
/// positioned reads (`pread`): a whole file is one read call, where
/// `Read::take` + `read_to_end` probed, grew its buffer and read again.
pub(crate) fn read_range(
    root: &Path,
    acct: u32,
    msg_id: u64,
    offset: u64,
    len: u64,
    out: &mut Vec<u8>,
) -> Result<()> {
    let p = msg_path(root, acct, msg_id);
    let f = File::open(&p).map_err(|e| StoreError::io("open", &p, e))?;
    // The buffer is sized by what the file holds, not by `len` alone: a
    // record claiming a larger size must not make us allocate it.
    let size = f
        .metadata()
        .map_err(|e| StoreError::io("stat", &p, e))?
        .len();
    let len = usize::try_from(len.min(size.saturating_sub(offset)))
        .map_err(|_| StoreError::corrupt(format!("read of {len} bytes from {}", p.display())))?;
    let base = out.len();
    out.resize(base.saturating_add(len), 0);
    let mut filled = 0;
    while filled < len {
        let at = offset.saturating_add(filled as u64);
        let rest = out.get_mut(base + filled..).unwrap_or_default();
        match f.read_at(rest, at) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.truncate(base);
                return Err(StoreError::io("read", &p, e));
            }
        }
    }
    out.truncate(base + filled);
    Ok(())
}

/// All message files of an account: (msg id, size). Anything else (names
/// that are not numbers, a file outside its bucket directory, files beside
/// the buckets) is returned as `Err(path)` so the consistency check can
/// report it.
pub(crate) fn list(
    root: &Path,
    acct: u32,
) -> Result<Vec<std::result::Result<(u64, u64), PathBuf>>> {
    let mut out = Vec::new();
    let mroot = msg_root(root, acct);
    let buckets = match std::fs::read_dir(&mroot) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::io("list", mroot, e)),
    };
    for b in buckets {
        let b = b.map_err(|e| StoreError::io("list", &mroot, e))?;
        let bpath = b.path();
        let bucket = b.file_name().to_str().and_then(|s| s.parse::<u64>().ok());
        let is_dir = b
            .file_type()
            .map_err(|e| StoreError::io("stat", &bpath, e))?
            .is_dir();
        let Some(bucket) = bucket.filter(|_| is_dir) else {
            out.push(Err(bpath));
            continue;
        };
        let entries = std::fs::read_dir(&bpath).map_err(|e| StoreError::io("list", &bpath, e))?;
        for e in entries {
            let e = e.map_err(|err| StoreError::io("list", &bpath, err))?;
            let path = e.path();
            let id = e
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u64>().ok())
                .filter(|id| id / PER_DIR == bucket);
            let size = e
                .metadata()
                .map_err(|err| StoreError::io("stat", &path, err))?
                .len();
            out.push(id.map(|id| (id, size)).ok_or(path));
        }
    }
    Ok(out)
}

/// Remove files left by a crash between writing and committing: files with
/// ids from `next_msg_id` on. Files of one transaction are created in id
/// order, so the leftovers are `next_msg_id`, `next_msg_id + 1`, ... up to
/// the first id without a file: cheap when there is nothing to remove.
pub(crate) fn remove_uncommitted(root: &Path, acct: u32, next_msg_id: u64) -> Result<usize> {
    let mut removed = 0;
    let mut id = next_msg_id;
    loop {
        let p = msg_path(root, acct, id);
        match std::fs::remove_file(&p) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(StoreError::io("remove", p, e)),
        }
        id = id.saturating_add(1);
    }
    Ok(removed)
}

//! Message files of the outgoing queue: `queue/<file id>` under the data
//! directory, immutable, written and fsynced (with the directory) before
//! the commit that references them.
//!
//! One file holds the message of one submission; every queue entry made
//! from it (one per recipient domain) names it by its file id, which is the
//! id of the first of those entries. A file is removed when the last entry
//! naming it is removed (the `q` index in `meta`, see [`crate::keys`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// The queue directory.
pub(crate) fn queue_dir(root: &Path) -> PathBuf {
    root.join("queue")
}

/// Path of a queue message file.
pub(crate) fn path(root: &Path, file_id: u64) -> PathBuf {
    queue_dir(root).join(file_id.to_string())
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("fsync directory", dir, e))
}

/// Writes the file of `file_id` and makes it durable (file and directory,
/// and the directory's parent when the directory was created). A file left
/// by an earlier crash with the same id is replaced.
pub(crate) fn write(root: &Path, file_id: u64, data: &[u8]) -> Result<()> {
    let dir = queue_dir(root);
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io("create directory", &dir, e))?;
        fsync_dir(root)?;
    }
    let p = path(root, file_id);
    let res = write_synced(&p, data).and_then(|()| fsync_dir(&dir));
    if res.is_err() {
        let _ = std::fs::remove_file(&p);
    }
    res
}

fn write_synced(p: &Path, data: &[u8]) -> Result<()> {
    let mut f = File::create(p).map_err(|e| StoreError::io("create", p, e))?;
    f.write_all(data)
        .map_err(|e| StoreError::io("write", p, e))?;
    f.sync_data().map_err(|e| StoreError::io("fsync", p, e))
}

/// Reads a whole queue file.
pub(crate) fn read(root: &Path, file_id: u64) -> Result<Vec<u8>> {
    let p = path(root, file_id);
    std::fs::read(&p).map_err(|e| StoreError::io("read", p, e))
}

/// Size of a queue file, `None` when it does not exist.
pub(crate) fn size(root: &Path, file_id: u64) -> Result<Option<u64>> {
    let p = path(root, file_id);
    match std::fs::metadata(&p) {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("stat", p, e)),
    }
}

/// Removes a queue file; a missing file is not an error.
pub(crate) fn remove(root: &Path, file_id: u64) -> Result<()> {
    let p = path(root, file_id);
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove", p, e)),
    }
}

/// Every file in the queue directory: file id, or the path of a name that
/// is not a number (for the consistency check).
pub(crate) fn list(root: &Path) -> Result<Vec<std::result::Result<u64, PathBuf>>> {
    let dir = queue_dir(root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list", dir, e)),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|err| StoreError::io("list", &dir, err))?;
        let id = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok());
        out.push(id.ok_or_else(|| e.path()));
    }
    Ok(out)
}

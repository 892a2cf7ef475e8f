//! A state file kept by one writer at a time and read by anyone at any
//! time: the writers take turns under a lock file, and each change is
//! written whole to a temporary file, synced, renamed over the old one and
//! the directory synced, so a reader never sees half a file and a crash
//! leaves the old or the new state, never a mix. The notifier's state and
//! the quiet state (silences, acknowledgements) are both kept this way.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};
use serde::Serialize;

/// Why a lock could not be taken: the message names the file and the
/// step; `kind` lets a caller add advice (e.g. on a permission error).
#[derive(Debug)]
pub struct LockError {
    pub message: String,
    pub kind: io::ErrorKind,
}

/// A state directory whose lock file this process holds until dropped;
/// the state files in it are written only through it.
#[derive(Debug)]
pub struct Locked {
    dir: PathBuf,
    _lock: File,
}

impl Locked {
    /// Waits for the exclusive lock of `dir/lock_name` (created, mode
    /// 0600, if missing; `dir` must exist).
    pub fn take(dir: &Path, lock_name: &str) -> Result<Locked, LockError> {
        Ok(Locked {
            dir: dir.to_owned(),
            _lock: lock(&dir.join(lock_name))?,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `value` as pretty JSON to `name` in the directory,
    /// atomically and durably, with `mode` whatever the umask.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T, mode: u32) -> Result<(), String> {
        write_json(&self.dir, name, value, mode)
    }
}

/// Opens (creating, mode 0600) the lock file `path` and waits for its
/// exclusive lock, held until the returned file is dropped.
fn lock(path: &Path) -> Result<File, LockError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| LockError {
            message: format!("{}: cannot open lock file: {e}", path.display()),
            kind: e.kind(),
        })?;
    flock(&file, FlockOperation::LockExclusive).map_err(|e| {
        let e = io::Error::from(e);
        LockError {
            message: format!("{}: cannot lock: {e}", path.display()),
            kind: e.kind(),
        }
    })?;
    Ok(file)
}

/// Writes `value` as pretty JSON to `dir/name`, atomically and durably,
/// with `mode` whatever the umask (the notifier's is 0077, and a file the
/// unprivileged broadcaster reads must be 0644).
fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T, mode: u32) -> Result<(), String> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let fail = |what: &str, e: io::Error| format!("{}: cannot {what}: {e}", tmp.display());
    let mut text = serde_json::to_vec_pretty(value)
        .map_err(|e| format!("{}: cannot encode: {e}", path.display()))?;
    text.push(b'\n');
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| fail("create", e))?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| fail("set the mode of", e))?;
    f.write_all(&text).map_err(|e| fail("write", e))?;
    f.sync_all().map_err(|e| fail("sync", e))?;
    fs::rename(&tmp, &path).map_err(|e| {
        format!(
            "{}: cannot rename to {}: {e}",
            tmp.display(),
            path.display()
        )
    })?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("{}: cannot sync directory: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_whole_with_its_mode_and_no_temporary_file_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let held = Locked::take(tmp.path(), "x.lock").unwrap();
        held.write_json("x.json", &vec![1, 2], 0o644).unwrap();
        let path = tmp.path().join("x.json");
        assert_eq!(fs::read_to_string(&path).unwrap(), "[\n  1,\n  2\n]\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert!(!tmp.path().join("x.json.tmp").exists());
    }

    #[test]
    fn a_lock_file_that_cannot_be_opened_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Locked::take(&tmp.path().join("missing-dir"), "x.lock").unwrap_err();
        assert!(
            e.message
                .contains("missing-dir/x.lock: cannot open lock file"),
            "{}",
            e.message
        );
        assert_eq!(e.kind, io::ErrorKind::NotFound);
    }
}

//! Which deliveries are still owed, and who is delivering one right now:
//! one small file per delivery in `notify.owed/` under the state
//! directory, beside the state file that holds the events themselves.
//!
//! A delivery's file is made (empty) when the notifier owes it, before the
//! state that owes it is saved. Whoever delivers it first *claims* it (an
//! exclusive lock on the file, which ends with the process, so a crash
//! leaves nothing claimed), writes in it the number of attempts started,
//! and removes it once delivered or given up: a delivery whose file is gone
//! is done. So two notifier passes at once (or a pass and a hook unit) never
//! run one delivery twice, and finishing a delivery touches one small file
//! instead of rewriting the whole state: a burst of 1,000 changes is
//! delivered in seconds, not in minutes.
//!
//! Durability: the files made for new deliveries are synced (one directory
//! sync) before the state naming them is saved. A removal is synced by
//! [`Owed::sync`], which a delivery's own process calls when it is done
//! and a pass delivering many calls at least once a second: a power cut in
//! between can re-send what was delivered in the last second, never lose
//! anything. The attempts count is not synced on its own (a power cut may
//! give a failing hook one more attempt).

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// The directory of owed deliveries, in the state directory.
pub const OWED_DIR: &str = "notify.owed";

/// The deliveries still owed.
#[derive(Debug)]
pub struct Owed {
    dir: PathBuf,
}

/// What claiming a delivery found.
#[derive(Debug)]
pub enum Claimed {
    /// Ours to deliver, until the [`Claim`] is dropped or settled.
    Mine(Claim),
    /// Another process is delivering it now.
    Busy,
    /// No longer owed: delivered or given up.
    Settled,
}

/// A delivery claimed by this process.
#[derive(Debug)]
pub struct Claim {
    file: File,
    path: PathBuf,
    attempts: u32,
}

impl Owed {
    /// The directory in `state_dir`, made if needed.
    pub fn open(state_dir: &Path) -> Result<Owed, String> {
        let dir = state_dir.join(OWED_DIR);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("{}: cannot create directory: {e}", dir.display()))?;
        Ok(Owed { dir })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    /// Owes delivery `key` (with `attempts` already started, for a state
    /// from before this directory). Durable after [`Owed::sync`].
    pub fn add(&self, key: &str, attempts: u32) -> Result<(), String> {
        let path = self.path(key);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("{}: cannot create: {e}", path.display()))?;
        if attempts > 0 {
            write_attempts(&file, &path, attempts)?;
        }
        Ok(())
    }

    /// The keys of every delivery owed.
    pub fn keys(&self) -> Result<BTreeSet<String>, String> {
        let read = fs::read_dir(&self.dir)
            .map_err(|e| format!("{}: cannot read directory: {e}", self.dir.display()))?;
        let mut keys = BTreeSet::new();
        for entry in read {
            let entry =
                entry.map_err(|e| format!("{}: cannot read directory: {e}", self.dir.display()))?;
            if let Ok(name) = entry.file_name().into_string() {
                keys.insert(name);
            }
        }
        Ok(keys)
    }

    /// Forgets `key` (a file no state owes: left by a crash before the
    /// state was saved, or by a state set aside).
    pub fn remove(&self, key: &str) -> Result<(), String> {
        let path = self.path(key);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(format!("{}: cannot remove: {e}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// Makes what was added and removed so far durable.
    pub fn sync(&self) -> Result<(), String> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("{}: cannot sync directory: {e}", self.dir.display()))
    }

    /// Claims delivery `key` for this process, without waiting.
    pub fn claim(&self, key: &str) -> Result<Claimed, String> {
        let path = self.path(key);
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Claimed::Settled),
            Err(e) => return Err(format!("{}: cannot open: {e}", path.display())),
        };
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => return Ok(Claimed::Busy),
            Err(e) => return Err(format!("{}: cannot lock: {e}", path.display())),
        }
        // Settled by its holder between our open and our lock.
        let meta = file
            .metadata()
            .map_err(|e| format!("{}: cannot stat: {e}", path.display()))?;
        if meta.nlink() == 0 {
            return Ok(Claimed::Settled);
        }
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let attempts = match text.trim() {
            "" => 0,
            t => t.parse().map_err(|_| {
                format!(
                    "{}: \"{}\" is not a number of attempts, expected a whole number",
                    path.display(),
                    t.escape_debug()
                )
            })?,
        };
        Ok(Claimed::Mine(Claim {
            file,
            path,
            attempts,
        }))
    }
}

impl Claim {
    /// Attempts started so far (by any process).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Counts one more attempt, before it starts; its number.
    pub fn start_attempt(&mut self) -> Result<u32, String> {
        self.attempts = self.attempts.saturating_add(1);
        write_attempts(&self.file, &self.path, self.attempts)?;
        Ok(self.attempts)
    }

    /// No longer owed (delivered, or given up): the file goes. Durable
    /// after [`Owed::sync`].
    pub fn settle(self) -> Result<(), String> {
        // The path still names our file unless something else removed it
        // (a state set aside): then there is nothing of ours to remove.
        let ours = match (fs::symlink_metadata(&self.path), self.file.metadata()) {
            (Ok(there), Ok(mine)) => there.ino() == mine.ino() && there.dev() == mine.dev(),
            _ => false,
        };
        if ours {
            fs::remove_file(&self.path)
                .map_err(|e| format!("{}: cannot remove: {e}", self.path.display()))?;
        }
        Ok(())
    }
}

fn write_attempts(file: &File, path: &Path, attempts: u32) -> Result<(), String> {
    let text = format!("{attempts}\n");
    file.write_all_at(text.as_bytes(), 0)
        .and_then(|()| file.set_len(text.len() as u64))
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mine(c: Claimed) -> Claim {
        match c {
            Claimed::Mine(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_claim_excludes_others_until_dropped_and_settled_is_done() {
        let tmp = tempfile::tempdir().unwrap();
        let owed = Owed::open(tmp.path()).unwrap();
        owed.add("1-rec", 0).unwrap();
        owed.sync().unwrap();
        assert_eq!(owed.keys().unwrap(), BTreeSet::from(["1-rec".to_owned()]));
        let mut c = mine(owed.claim("1-rec").unwrap());
        assert_eq!(c.attempts(), 0);
        assert!(matches!(owed.claim("1-rec").unwrap(), Claimed::Busy));
        assert_eq!(c.start_attempt().unwrap(), 1);
        drop(c);
        // Dropped (a crash): claimable again, its attempts kept.
        let mut c = mine(owed.claim("1-rec").unwrap());
        assert_eq!(c.attempts(), 1);
        assert_eq!(c.start_attempt().unwrap(), 2);
        c.settle().unwrap();
        assert!(matches!(owed.claim("1-rec").unwrap(), Claimed::Settled));
        assert!(owed.keys().unwrap().is_empty());
        assert!(matches!(owed.claim("nope").unwrap(), Claimed::Settled));
    }

    #[test]
    fn a_bad_attempts_count_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let owed = Owed::open(tmp.path()).unwrap();
        owed.add("3-rec", 2).unwrap();
        assert_eq!(mine(owed.claim("3-rec").unwrap()).attempts(), 2);
        fs::write(tmp.path().join(OWED_DIR).join("3-rec"), "x\n").unwrap();
        let err = owed.claim("3-rec").unwrap_err();
        assert!(
            err.contains("notify.owed/3-rec: \"x\" is not a number"),
            "{err}"
        );
    }
}

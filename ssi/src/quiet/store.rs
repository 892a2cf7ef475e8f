//! The quiet state on disk: silences and acknowledgements, one JSON file
//! (`quiet.json`) in the notifier's state directory, so that they survive
//! restarts, reboots and upgrades.
//!
//! Writers (`ssi-status silence`/`unsilence`/`ack` and the notifier, which
//! drops what has ended) take turns under `quiet.lock`; each change is
//! written whole to a temporary file, synced and renamed over the old one,
//! so readers (`ssi-status list`, the broadcaster) need no lock and never
//! see half a file. The file is readable by all (mode 0644): the
//! unprivileged broadcaster shows it; only who may write the directory may
//! change it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use serde::{Deserialize, Serialize};

use crate::statefile;
use crate::status::Status;

/// Overrides the notifier's state directory (tests, unusual installs).
pub const STATE_DIR_ENV: &str = "SSI_STATE_DIR";
/// The notifier's state directory, where `quiet.json` is.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/service-status-indicator";

/// The state directory from [`STATE_DIR_ENV`], or the default (the
/// broadcaster reads `quiet.json` there).
pub fn state_dir() -> PathBuf {
    crate::dirs::env_path(STATE_DIR_ENV, DEFAULT_STATE_DIR)
}

/// The file's name in the state directory.
pub const QUIET_FILE: &str = "quiet.json";
const LOCK_FILE: &str = "quiet.lock";
/// Advice added to an error of the quiet state's directory or lock.
pub const NEEDS_RIGHTS: &str =
    "changing silences and acknowledgements needs the rights to the notifier's state (root by default)";
const VERSION: u32 = 1;
/// The id a silence of every check (`silence --all`) is kept under.
pub const ALL: &str = "*";

/// One silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Who set it (the invoking user).
    pub by: String,
    /// Why (`""` when not said).
    pub reason: String,
    /// When it was set, Unix seconds.
    pub since: i64,
    /// When it ends by itself, Unix seconds; `None`: when lifted.
    pub until: Option<i64>,
}

/// One acknowledgement of a check's current problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// Who set it.
    pub by: String,
    /// Why (`""` when not said).
    pub reason: String,
    /// When it was set, Unix seconds.
    pub since: i64,
    /// The status acknowledged: the acknowledgement holds while the check
    /// stays in it.
    pub status: Status,
}

/// Everything `quiet.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietState {
    /// The format's version.
    pub version: u32,
    /// Silences by check id ([`ALL`]: every check).
    #[serde(default)]
    pub silences: BTreeMap<String, Silence>,
    /// Acknowledgements by check id.
    #[serde(default)]
    pub acks: BTreeMap<String, Ack>,
}

impl Default for QuietState {
    fn default() -> QuietState {
        QuietState {
            version: VERSION,
            silences: BTreeMap::new(),
            acks: BTreeMap::new(),
        }
    }
}

impl QuietState {
    /// Drops the silences that ended by `now`; their ids.
    pub fn expire(&mut self, now: Timestamp) -> Vec<String> {
        let now = now.as_second();
        let ended: Vec<String> = self
            .silences
            .iter()
            .filter(|(_, s)| s.until.is_some_and(|u| u <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ended {
            self.silences.remove(id);
        }
        ended
    }
}

/// Reads the quiet state in `dir` without a lock (writers rename whole
/// files). A missing file is no silence; a file that cannot be read or is
/// not the quiet state is an error naming it.
pub fn read(dir: &Path) -> Result<QuietState, String> {
    let path = dir.join(QUIET_FILE);
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(QuietState::default()),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    match serde_json::from_slice::<QuietState>(&text) {
        Ok(s) if s.version == VERSION => Ok(s),
        Ok(s) => Err(format!(
            "{}: version {}, expected {VERSION}",
            path.display(),
            s.version
        )),
        Err(e) => Err(format!(
            "{}: {e}, expected the quiet state (silences and acknowledgements)",
            path.display()
        )),
    }
}

/// The quiet state, locked for writing until dropped.
#[derive(Debug)]
pub struct Store {
    dir: statefile::Locked,
}

impl Store {
    /// Waits for the lock of `dir` (which must exist: the notifier's state
    /// directory). Without the right to write there, the error says so.
    pub fn lock(dir: &Path) -> Result<Store, String> {
        let dir = statefile::Locked::take(dir, LOCK_FILE).map_err(|e| {
            let mut m = e.message;
            if e.kind == io::ErrorKind::PermissionDenied {
                m.push_str("; ");
                m.push_str(NEEDS_RIGHTS);
            }
            m
        })?;
        Ok(Store { dir })
    }

    /// Reads the state (see [`read`]).
    pub fn load(&self) -> Result<QuietState, String> {
        read(self.dir.dir())
    }

    /// Writes the state atomically and durably.
    pub fn save(&self, state: &QuietState) -> Result<(), String> {
        // Readable by all: the unprivileged broadcaster shows it.
        self.dir.write_json(QUIET_FILE, state, 0o644)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_loads_back_readable_by_all_and_expired_silences_go() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::lock(tmp.path()).unwrap();
        assert_eq!(store.load().unwrap(), QuietState::default());
        let mut s = QuietState::default();
        let silence = |until| Silence {
            by: "root".into(),
            reason: "disk swap".into(),
            since: 100,
            until,
        };
        s.silences.insert("disk".into(), silence(Some(200)));
        s.silences.insert("web".into(), silence(None));
        s.acks.insert(
            "db".into(),
            Ack {
                by: "alice".into(),
                reason: String::new(),
                since: 100,
                status: Status::Failure,
            },
        );
        store.save(&s).unwrap();
        assert_eq!(read(tmp.path()).unwrap(), s);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(tmp.path().join(QUIET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        assert_eq!(
            s.expire(Timestamp::from_second(199).unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(s.expire(Timestamp::from_second(200).unwrap()), vec!["disk"]);
        assert_eq!(s.silences.keys().collect::<Vec<_>>(), vec!["web"]);
    }

    #[test]
    fn a_file_that_is_not_the_quiet_state_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(QUIET_FILE), "[1, 2").unwrap();
        let e = read(tmp.path()).unwrap_err();
        assert!(
            e.starts_with(&tmp.path().join(QUIET_FILE).display().to_string()),
            "{e}"
        );
        assert!(e.contains("expected the quiet state"), "{e}");
    }
}

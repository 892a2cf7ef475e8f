//! The notifier's memory, one JSON file under the state directory: what
//! it last saw of each check and the deliveries it owes (their events), so
//! that nothing is sent twice and nothing is lost across restarts and
//! reboots. Which of those are still owed, and who is delivering one, is
//! kept beside it in [`super::owed`], so that finishing a delivery does not
//! rewrite this file.
//!
//! Every change is written whole to a temporary file, synced, renamed over
//! the old one and the directory synced: a crash leaves the old state or
//! the new, never half of one. Readers and writers (the notifier and each
//! hook's delivery) take turns under a lock file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use ssi::statefile;

use super::detect::Check;
use super::event::Event;
use super::owed::Owed;

/// The state file's name in the state directory.
pub const STATE_FILE: &str = "notify.state";
const LOCK_FILE: &str = "notify.lock";
/// 2: deliveries still owed are the files of [`super::owed`]; a version 1
/// file (attempts counted here) is read and moved on to it.
const VERSION: u32 = 2;

/// Everything the notifier keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The format's version.
    pub version: u32,
    /// Each check by id.
    pub checks: BTreeMap<String, Check>,
    /// The paths of the scripts last seen invalid (see
    /// [`super::detect::validity`]). Absent from state files written before
    /// it existed: it then starts empty.
    #[serde(default)]
    pub invalid: BTreeSet<String>,
    /// The number of the next delivery.
    pub next: u64,
    /// Deliveries owed, by key (`<number>-<hook>`, the instance name of
    /// its `ssi-notify-hook@.service`); those done leave it at the next
    /// pass, once their [`super::owed`] file is gone.
    pub outbox: BTreeMap<String, Delivery>,
}

impl Default for State {
    fn default() -> State {
        State {
            version: VERSION,
            checks: BTreeMap::new(),
            invalid: BTreeSet::new(),
            next: 1,
            outbox: BTreeMap::new(),
        }
    }
}

/// One event owed to one hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The hook's file name in the hooks directory.
    pub hook: String,
    /// The event's unique key (see [`super::detect::Scan::events`]).
    pub key: String,
    /// The event.
    pub event: Event,
    /// Attempts started, in a version 1 state only (since, they are
    /// counted in the delivery's [`super::owed`] file).
    #[serde(default, skip_serializing)]
    pub attempts: u32,
}

impl State {
    /// The deliveries of the outbox in the order they were owed (by the
    /// number of their key: "10-…" after "9-…").
    pub fn in_order(&self) -> Vec<(&String, &Delivery)> {
        let mut all: Vec<_> = self.outbox.iter().collect();
        all.sort_by_key(|(k, _)| {
            let n = k.split('-').next().and_then(|n| n.parse::<u64>().ok());
            (n.unwrap_or(u64::MAX), (*k).clone())
        });
        all
    }

    /// Owes `event` (unique `key`) to the hook named `hook`; the delivery's
    /// key, or `None` when that event is already owed to that hook.
    pub fn queue(&mut self, hook: &str, key: &str, event: Event) -> Option<String> {
        if self.outbox.values().any(|d| d.hook == hook && d.key == key) {
            return None;
        }
        let name: String = hook
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let id = format!("{}-{name}", self.next);
        self.next += 1;
        self.outbox.insert(
            id.clone(),
            Delivery {
                hook: hook.to_owned(),
                key: key.to_owned(),
                event,
                attempts: 0,
            },
        );
        Some(id)
    }
}

/// The state as loaded.
#[derive(Debug)]
pub struct Loaded {
    /// The state.
    pub state: State,
    /// No state was there to compare with (first start, or set aside).
    pub fresh: bool,
    /// What was wrong with the file, and where it was kept.
    pub warning: Option<String>,
}

/// The state directory, locked for this process until dropped.
#[derive(Debug)]
pub struct Store {
    dir: statefile::Locked,
}

impl Store {
    /// Creates `dir` if needed and waits for its lock.
    pub fn lock(dir: &Path) -> Result<Store, String> {
        fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create state directory: {e}", dir.display()))?;
        let dir = statefile::Locked::take(dir, LOCK_FILE).map_err(|e| e.message)?;
        Ok(Store { dir })
    }

    /// The state file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.dir().join(STATE_FILE)
    }

    /// Reads the state. A missing file is a fresh start. A file that is
    /// not the notifier's state (corrupt, or a version this build does not
    /// know) is renamed to `notify.state.bad-<seconds>` and kept for a
    /// person to read, and the notifier starts afresh from the present
    /// statuses (which re-sends nothing); the warning says so. A file that
    /// cannot be read at all is an error: nothing is decided without it.
    pub fn load(&self) -> Result<Loaded, String> {
        let path = self.path();
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Loaded {
                    state: State::default(),
                    fresh: true,
                    warning: None,
                })
            }
            Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
        };
        let why = match serde_json::from_slice::<State>(&text) {
            Ok(state) if state.version == VERSION => {
                return Ok(Loaded {
                    state,
                    fresh: false,
                    warning: None,
                })
            }
            Ok(mut state) if state.version == 1 => {
                // Its deliveries were owed while in the outbox: they are
                // owed in the directory from now on, attempts and all.
                let owed = Owed::open(self.dir.dir())?;
                for (key, d) in &state.outbox {
                    owed.add(key, d.attempts)?;
                }
                owed.sync()?;
                state.version = VERSION;
                // Once: a second reading must not owe them again.
                self.save(&state)?;
                return Ok(Loaded {
                    state,
                    fresh: false,
                    warning: None,
                });
            }
            Ok(state) => format!("version {}, expected {VERSION}", state.version),
            Err(e) => format!("{e}, expected the notifier's JSON state"),
        };
        let aside = self
            .dir
            .dir()
            .join(format!("{STATE_FILE}.bad-{}", Timestamp::now().as_second()));
        fs::rename(&path, &aside).map_err(|e| {
            format!(
                "{}: {why}; cannot keep it aside as {}: {e}",
                path.display(),
                aside.display()
            )
        })?;
        Ok(Loaded {
            state: State::default(),
            fresh: true,
            warning: Some(format!(
                "{}: {why}; kept as {}, starting afresh from the present statuses",
                path.display(),
                aside.display()
            )),
        })
    }

    /// Writes the state atomically and durably.
    pub fn save(&self, state: &State) -> Result<(), String> {
        self.dir.write_json(STATE_FILE, state, 0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::Kind;
    use ssi::logfile::forward::Mark;
    use ssi::status::Status;

    fn event() -> Event {
        Event {
            event: Kind::Change,
            id: "disk".into(),
            name: "Disk".into(),
            status: "FAILURE".into(),
            previous_status: "OK".into(),
            message: String::new(),
            timestamp: "2026-11-26T10:00:00Z".into(),
            host: "h".into(),
        }
    }

    #[test]
    fn saved_state_loads_back_and_no_temporary_file_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let store = Store::lock(&dir).unwrap();
        let first = store.load().unwrap();
        assert!(first.fresh && first.warning.is_none());
        let mut s = State::default();
        s.checks.insert(
            "disk".into(),
            Check {
                confirmed: Some(Status::Failure),
                mark: Mark {
                    offset: 42,
                    witness: b"\n".to_vec(),
                    ..Mark::default()
                },
                ..Check::default()
            },
        );
        assert_eq!(
            s.queue("email.sh", "disk@1:42", event()).as_deref(),
            Some("1-email_sh")
        );
        assert_eq!(s.queue("email.sh", "disk@1:42", event()), None, "owed once");
        assert_eq!(
            s.queue("webhook", "disk@1:42", event()).as_deref(),
            Some("2-webhook")
        );
        store.save(&s).unwrap();
        let again = store.load().unwrap();
        assert!(!again.fresh);
        assert_eq!(again.state, s);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn a_state_file_from_before_validity_was_kept_loads() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::lock(tmp.path()).unwrap();
        // As the notifier wrote it before `invalid` existed.
        fs::write(
            store.path(),
            r#"{
  "version": 1,
  "checks": {
    "disk": {"confirmed": "FAILURE", "candidate": "FAILURE", "count": 1, "late": false, "inode": 7, "offset": 42}
  },
  "next": 5,
  "outbox": {}
}
"#,
        )
        .unwrap();
        let loaded = store.load().unwrap();
        assert!(!loaded.fresh && loaded.warning.is_none(), "{loaded:?}");
        assert!(loaded.state.invalid.is_empty());
        assert_eq!(loaded.state.checks["disk"].mark.offset, 42);
        assert_eq!(loaded.state.next, 5);
        // Saved with the field, it loads back with it.
        let mut s = loaded.state;
        s.invalid.insert("/scripts/Bad+Name.sh".into());
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap().state, s);
    }

    #[test]
    fn a_bad_state_file_is_kept_aside_named_and_replaced_by_a_fresh_start() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::lock(tmp.path()).unwrap();
        fs::write(store.path(), "{\"version\": 1, \"checks\": [").unwrap();
        let loaded = store.load().unwrap();
        assert!(loaded.fresh);
        assert_eq!(loaded.state, State::default());
        let warning = loaded.warning.unwrap();
        assert!(
            warning.starts_with(&store.path().display().to_string()),
            "{warning}"
        );
        assert!(warning.contains("kept as"), "{warning}");
        let aside: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".bad-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert!(
            warning.contains(&aside[0].display().to_string()),
            "{warning}"
        );
        assert_eq!(
            fs::read_to_string(&aside[0]).unwrap(),
            "{\"version\": 1, \"checks\": ["
        );
        // A future version is not guessed at either.
        fs::write(
            store.path(),
            "{\"version\": 9, \"checks\": {}, \"next\": 1, \"outbox\": {}}",
        )
        .unwrap();
        let loaded = store.load().unwrap();
        assert!(loaded.warning.unwrap().contains("version 9, expected 2"));
    }

    #[test]
    fn an_unreadable_state_file_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::lock(tmp.path()).unwrap();
        fs::create_dir(store.path()).unwrap();
        let err = store.load().unwrap_err();
        assert!(
            err.starts_with(&store.path().display().to_string()),
            "{err}"
        );
    }

    /// A state file written before marks kept a witness (and a device)
    /// loads, its marks without them: the next look reads on at the offset
    /// as before.
    #[test]
    fn a_state_file_without_witnesses_loads() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::lock(tmp.path()).unwrap();
        fs::write(
            store.path(),
            r#"{"version": 1, "next": 3, "outbox": {}, "checks": {"disk": {
                "confirmed": "FAILURE", "candidate": "FAILURE", "count": 2,
                "late": false, "inode": 1234, "offset": 567}}}"#,
        )
        .unwrap();
        let loaded = store.load().unwrap();
        assert!(loaded.warning.is_none(), "{:?}", loaded.warning);
        let disk = &loaded.state.checks["disk"];
        assert_eq!(
            disk.mark,
            Mark {
                dev: None,
                inode: 1234,
                offset: 567,
                witness: Vec::new()
            }
        );
        assert_eq!(disk.confirmed, Some(Status::Failure));
    }

    /// A version 1 state owed its deliveries in its outbox, attempts
    /// counted there: loaded once, they are owed in `notify.owed/`, their
    /// attempts kept, and a second load does not owe them again.
    #[test]
    fn a_version_1_outbox_moves_to_the_owed_directory_once() {
        use crate::notify::owed::{Claimed, Owed};
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::lock(tmp.path()).unwrap();
        let mut old = serde_json::to_value(State::default()).unwrap();
        old["version"] = 1.into();
        old["next"] = 8.into();
        let mut d = serde_json::to_value(Delivery {
            hook: "email".into(),
            key: "disk@1:42".into(),
            event: event(),
            attempts: 0,
        })
        .unwrap();
        d["attempts"] = 2.into();
        old["outbox"] = serde_json::json!({ "7-email": d });
        fs::write(store.path(), old.to_string()).unwrap();
        let loaded = store.load().unwrap();
        assert!(loaded.warning.is_none() && !loaded.fresh, "{loaded:?}");
        assert_eq!(loaded.state.version, VERSION);
        assert_eq!(loaded.state.outbox["7-email"].event, event());
        let owed = Owed::open(tmp.path()).unwrap();
        let Claimed::Mine(claim) = owed.claim("7-email").unwrap() else {
            panic!("not owed");
        };
        assert_eq!(claim.attempts(), 2);
        claim.settle().unwrap();
        // Saved as version 2 at once: read again, nothing is owed again.
        let again = store.load().unwrap();
        assert_eq!(again.state.version, VERSION);
        assert!(owed.keys().unwrap().is_empty());
    }
}

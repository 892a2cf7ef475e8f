//! Step 1 of the data flow: following the log files: per-file offsets,
//! complete lines only, and the file replaced or truncated under us
//! (logrotate's rename+create and copytruncate, a log deleted and
//! recreated).

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use rustix::process::{getrlimit, Resource};
use ssi::logfile::forward::{Mark, Reader};
use ssi::logfile::{last_status_in, not_regular};
use ssi::perfdata::Perfdata;
use ssi::service::is_id;
use ssi::status::{rfc3339, StatusLineRef};

use crate::hub::Hub;
use crate::messages::StatusUpdate;

/// The service id a log file name belongs to: `<id>.log`, where `<id>` is
/// a service id ([`ssi::service::is_id`]).
pub fn log_id(name: &str) -> Option<&str> {
    name.strip_suffix(".log").filter(|id| is_id(id))
}

/// How a log came to be looked at, which decides where a log not followed
/// before starts being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The start-up scan: what the logs hold is history; only each one's
    /// last status counts.
    AtStart,
    /// Created in the directory (an inotify create event): a file starts
    /// empty, so all it holds was written since, by a check's run.
    Created,
    /// Another inotify event for the name.
    Event,
    /// Renamed (or moved) into the directory: history, like at start.
    MovedIn,
    /// The periodic (or overflow) rescan: a log that did not change since
    /// it was last read is not opened.
    Rescan,
}

/// A new log holding more than this when first seen, and not known to have
/// been created empty (its creation event was lost, or it is found by the
/// rescan), is history: it starts at its end with its last status. Up to
/// this much is a check's first run, read from its start so that none of
/// its lines is missed.
pub const REPLAY_MAX: u64 = 64 * 1024;

/// A log being followed. Its descriptor is held only while it is among the
/// most recently changed logs (see [`Tailer::max_open`]); an idle log is
/// known by its mark (device, inode, offset, the bytes before it) and
/// times, and reopened by path when it changes.
struct Tracked {
    file: Option<File>,
    reader: Reader,
    /// Modification and change times (ns) seen just before the last read.
    mtime: (i64, i64),
    ctime: (i64, i64),
    /// When the descriptor was last used (a counter), for eviction.
    used: u64,
    /// The last line read was a status line: a `perfdata:` line now is
    /// that run's performance data.
    after_status: bool,
}

impl Tracked {
    fn new(file: File, meta: &std::fs::Metadata) -> Tracked {
        Tracked {
            file: Some(file),
            reader: Reader::new(Mark::start(meta)),
            mtime: (0, 0),
            ctime: (0, 0),
            used: 0,
            after_status: false,
        }
    }

    fn same_file(&self, meta: &std::fs::Metadata) -> bool {
        self.reader.mark().same_file(meta)
    }

    /// Size and times as last read: nothing was written since.
    fn unchanged(&self, meta: &std::fs::Metadata) -> bool {
        meta.len() == self.reader.mark().offset
            && (meta.mtime(), meta.mtime_nsec()) == self.mtime
            && (meta.ctime(), meta.ctime_nsec()) == self.ctime
    }

    fn note_times(&mut self, meta: &std::fs::Metadata) {
        self.mtime = (meta.mtime(), meta.mtime_nsec());
        self.ctime = (meta.ctime(), meta.ctime_nsec());
    }
}

/// Follows every `<id>.log` in one directory and publishes status lines.
pub struct Tailer {
    dir: PathBuf,
    files: HashMap<String, Tracked>,
    tz: TimeZone,
    hub: Arc<Hub>,
    /// Files already reported as unreadable (each is reported once).
    warned: HashMap<String, String>,
    /// Status lines published so far.
    published: u64,
    /// Descriptors held at most, and held now.
    max_open: usize,
    open: usize,
    /// Ticks at every use of a descriptor.
    clock: u64,
    /// Scratch space for reads, kept across them.
    buf: Vec<u8>,
}

impl Tailer {
    /// A tailer for `dir`; nothing is read until [`Tailer::scan`].
    pub fn new(dir: PathBuf, hub: Arc<Hub>) -> Tailer {
        Tailer {
            dir,
            files: HashMap::new(),
            tz: TimeZone::system(),
            hub,
            warned: HashMap::new(),
            published: 0,
            max_open: max_open(),
            open: 0,
            clock: 0,
            buf: Vec::new(),
        }
    }

    /// Number of status lines published so far.
    pub fn published(&self) -> u64 {
        self.published
    }

    /// Holds at most `n` log descriptors (tests; normally from the limit).
    #[cfg(test)]
    fn with_max_open(mut self, n: usize) -> Tailer {
        self.max_open = n;
        self
    }

    /// Checks every log in the directory (and forgets vanished ones).
    /// `initial`: logs found now are existing history, so only their last
    /// status counts.
    pub fn scan(&mut self, initial: bool) {
        let seen = if initial { Seen::AtStart } else { Seen::Rescan };
        let mut names: Vec<String> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| log_id(n).is_some())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.extend(self.files.keys().cloned());
        names.sort();
        names.dedup();
        for name in names {
            self.check(&name, seen);
        }
    }

    /// Brings one file up to date after an event (or a rescan).
    pub fn check(&mut self, name: &str, seen: Seen) {
        let Some(id) = log_id(name).map(str::to_owned) else {
            return;
        };
        let path = self.dir.join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => m,
            Ok(m) => {
                // Gone, as far as logs go: finish what was written before.
                self.forget(name, &id);
                self.warn(name, &path, not_regular(&m));
                return;
            }
            Err(e) => {
                self.forget(name, &id);
                if e.kind() == io::ErrorKind::NotFound {
                    self.warned.remove(name);
                } else {
                    self.warn(name, &path, e.to_string());
                }
                return;
            }
        };
        if let Some(mut t) = self.files.remove(name) {
            if t.same_file(&meta) {
                if seen == Seen::Rescan && t.unchanged(&meta) {
                    self.files.insert(name.to_owned(), t);
                    return;
                }
                match self.reopen(&path, &mut t) {
                    Ok(true) => {
                        self.update(&id, &mut t);
                        self.files.insert(name.to_owned(), t);
                        self.evict();
                        return;
                    }
                    // Replaced between the stat and the open.
                    Ok(false) => {}
                    Err(e) => {
                        self.files.insert(name.to_owned(), t);
                        self.warn(name, &path, e.to_string());
                        return;
                    }
                }
            }
            // Replaced (rename+create, delete+recreate, moved over): drain
            // the old one if still held, then take the new one below.
            self.drain(&id, t);
        }
        self.start(name, &id, &path, seen);
        self.evict();
    }

    /// Opens the log again if its descriptor was let go; `Ok(false)` when
    /// the name no longer leads to the same file.
    fn reopen(&mut self, path: &Path, t: &mut Tracked) -> io::Result<bool> {
        if t.file.is_none() {
            let file = open_log(path)?;
            if !t.same_file(&file.metadata()?) {
                return Ok(false);
            }
            t.file = Some(file);
            self.open += 1;
        }
        self.clock += 1;
        t.used = self.clock;
        Ok(true)
    }

    /// Reads what was appended (or the whole log again if it was truncated).
    fn update(&mut self, id: &str, t: &mut Tracked) {
        let Some(file) = t.file.take() else { return };
        // Times before reading: a write after them is seen as a change.
        if let Ok(meta) = file.metadata() {
            t.note_times(&meta);
        }
        self.read_new(id, t, &file);
        t.file = Some(file);
    }

    /// Starts following a log not followed before (or one that replaced
    /// the one followed under this name).
    fn start(&mut self, name: &str, id: &str, path: &Path, seen: Seen) {
        let file = match open_log(path) {
            Ok(f) => f,
            Err(e) => {
                self.warn(name, path, e.to_string());
                return;
            }
        };
        // What was opened is what counts: the name may have been swapped
        // (for a FIFO, say) since it was looked at.
        let meta = match file.metadata() {
            Ok(m) if m.is_file() => m,
            Ok(m) => {
                self.warn(name, path, not_regular(&m));
                return;
            }
            Err(e) => {
                self.warn(name, path, e.to_string());
                return;
            }
        };
        self.warned.remove(name);
        let mut t = Tracked::new(file, &meta);
        t.note_times(&meta);
        let history = match seen {
            Seen::AtStart | Seen::MovedIn => true,
            Seen::Created => false,
            Seen::Event | Seen::Rescan => meta.len() > REPLAY_MAX,
        };
        let Some(mut file) = t.file.take() else {
            return;
        };
        if history {
            t.reader.seek(&file, meta.len());
            if let Ok(Some(last)) = last_status_in(&mut file, &self.tz) {
                self.published += 1;
                self.hub.set_status(StatusUpdate {
                    service_id: id.to_owned(),
                    status: last.line.status,
                    message: last.line.message,
                    timestamp: rfc3339(last.timestamp),
                });
                if let Some(p) = last.perfdata {
                    self.hub.metrics.set_perfdata(id, Perfdata::parse(&p));
                }
            }
        }
        self.read_new(id, &mut t, &file);
        if seen == Seen::AtStart {
            // Idle until it changes: at start nothing is recent.
            drop(file);
        } else {
            t.file = Some(file);
            self.open += 1;
            self.clock += 1;
            t.used = self.clock;
        }
        self.files.insert(name.to_owned(), t);
    }

    /// Forgets a log that is gone, after reading what was appended to it
    /// while its descriptor was still held.
    fn forget(&mut self, name: &str, id: &str) {
        if let Some(t) = self.files.remove(name) {
            self.drain(id, t);
        }
    }

    fn drain(&mut self, id: &str, mut t: Tracked) {
        if let Some(file) = t.file.take() {
            self.open -= 1;
            self.read_new(id, &mut t, &file);
        }
    }

    /// Lets go of the least recently used descriptors beyond the bound
    /// (down to three quarters of it, so eviction is rare).
    fn evict(&mut self) {
        if self.open <= self.max_open {
            return;
        }
        let mut held: Vec<(u64, &mut Tracked)> = self
            .files
            .values_mut()
            .filter(|t| t.file.is_some())
            .map(|t| (t.used, t))
            .collect();
        held.sort_unstable_by_key(|(used, _)| *used);
        let keep = self.max_open * 3 / 4;
        let closing = held.len().saturating_sub(keep);
        for (_, t) in held.into_iter().take(closing) {
            t.file = None;
        }
        self.open -= closing;
    }

    /// Reports a problem with a log once (until it changes).
    fn warn(&mut self, name: &str, path: &Path, msg: String) {
        if self.warned.get(name) != Some(&msg) {
            log::warn!("ssi-broadcaster: {}: {msg}, ignoring.", path.display());
            self.warned.insert(name.to_owned(), msg);
        }
    }

    /// Reads from the mark to the end, publishing complete status lines
    /// (the whole log again if it was truncated or overwritten meanwhile:
    /// [`Reader::read`]).
    fn read_new(&mut self, id: &str, t: &mut Tracked, file: &File) {
        let mut buf = std::mem::take(&mut self.buf);
        loop {
            let tz = &self.tz;
            let mut updates = Vec::new();
            // The performance data of the last status line read, which
            // may be one read before.
            let mut perfdata = None;
            let after_status = &mut t.after_status;
            // A line without a time stamp takes the log's modification
            // time, as in every other reader (ssi::status::stamp).
            let seen = file
                .metadata()
                .map_or_else(|_| Timestamp::now(), |m| ssi::logfile::modified(&m));
            let read = t.reader.read(file, &mut buf, |line, _| {
                if let Some(sl) = StatusLineRef::parse(line) {
                    let ts = sl.timestamp(seen, tz);
                    updates.push(StatusUpdate {
                        service_id: id.to_owned(),
                        status: sl.status,
                        message: sl.message().into_owned(),
                        timestamp: rfc3339(ts),
                    });
                    perfdata = None;
                    *after_status = true;
                } else {
                    if *after_status {
                        perfdata = Perfdata::of_line(line);
                    }
                    *after_status = false;
                }
            });
            if !matches!(read, Ok(n) if n > 0) {
                break;
            }
            // One publication per chunk read: a burst wakes clients rarely.
            self.published += updates.len() as u64;
            self.hub.set_statuses(updates);
            if let Some(p) = perfdata {
                self.hub.metrics.set_perfdata(id, p);
            }
        }
        self.buf = buf;
    }
}

/// The bound on held log descriptors: an eighth of the descriptor limit
/// (clients and the listener need the rest), between 16 and 256.
fn max_open() -> usize {
    // No soft limit (None) is infinity.
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    (soft / 8).clamp(16, 256) as usize
}

/// Opens a log without following a symlink out of the directory and
/// without blocking on a FIFO planted there (nor keeping it across exec).
fn open_log(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::VecDeque;
    use std::io::Write;

    use crate::hub;
    use crate::messages::ServiceInfo;

    /// A tailer on a temporary directory, in UTC, and a client of its hub
    /// that knows the services `ids`.
    struct Rig {
        dir: tempfile::TempDir,
        hub: Arc<Hub>,
        client: Arc<hub::Cursor>,
        tailer: Tailer,
    }

    impl Rig {
        fn new(ids: &[&str]) -> Rig {
            let dir = tempfile::tempdir().unwrap();
            let hub = Arc::new(Hub::new(1 << 20, usize::MAX));
            hub.set_services(
                ids.iter()
                    .map(|id| ServiceInfo {
                        id: (*id).into(),
                        name: (*id).into(),
                        description: String::new(),
                        version: "1".into(),
                        schedule: "daily".into(),
                    })
                    .collect(),
            );
            let (client, _) = hub.subscribe().unwrap();
            let mut tailer = Tailer::new(dir.path().to_owned(), hub.clone());
            tailer.tz = TimeZone::UTC;
            let mut rig = Rig {
                dir,
                hub,
                client,
                tailer,
            };
            rig.updates();
            rig
        }

        fn path(&self, id: &str) -> PathBuf {
            self.dir.path().join(format!("{id}.log"))
        }

        fn append(&self, id: &str, bytes: &[u8]) {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(id))
                .unwrap();
            f.write_all(bytes).unwrap();
        }

        /// Status updates published since the last call: (id, status,
        /// message, timestamp).
        fn updates(&mut self) -> Vec<[String; 4]> {
            let mut frames = VecDeque::new();
            self.hub.fetch(&self.client, &mut frames, usize::MAX);
            frames
                .iter()
                .filter_map(|f| {
                    let head = match f[1] & 0x7f {
                        126 => 4,
                        127 => 10,
                        _ => 2,
                    };
                    let v: serde_json::Value = serde_json::from_slice(&f[head..]).unwrap();
                    let d = &v["data"];
                    (v["type"] == "agent.service_status_update").then(|| {
                        ["service_id", "status", "message", "timestamp"]
                            .map(|k| d[k].as_str().unwrap().to_owned())
                    })
                })
                .collect()
        }
    }

    fn held(t: &Tailer) -> usize {
        t.files.values().filter(|t| t.file.is_some()).count()
    }

    /// copytruncate, then a longer line, all between two reads: the old
    /// offset falls inside the new line. Its tail looks like a status.
    #[test]
    fn truncated_and_rewritten_past_the_offset_reads_the_new_line_whole() {
        let mut rig = Rig::new(&["svc"]);
        let old = format!("{:<73}\n", "2026-11-26 10:00:00, OK, all good");
        assert_eq!(old.len(), 74);
        rig.append("svc", old.as_bytes());
        rig.tailer.check("svc.log", Seen::Event);
        assert_eq!(rig.updates()[0][2], "all good");

        let head = "2026-11-26 10:05:00, FAILURE, disk gone; the next check will say";
        let new = format!("{head:<75}OK, half of a line\n");
        assert_eq!(new.len(), 94);
        std::fs::File::create(rig.path("svc")).unwrap();
        rig.append("svc", new.as_bytes());
        rig.tailer.check("svc.log", Seen::Event);
        let got = rig.updates();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0][1], "FAILURE");
        assert!(got[0][2].starts_with("disk gone;"), "{got:?}");
        assert_eq!(got[0][3], "2026-11-26T10:05:00Z");
        // And on from there.
        rig.append("svc", b"2026-11-26 10:10:00, OK, back\n");
        rig.tailer.check("svc.log", Seen::Event);
        assert_eq!(rig.updates()[0][2], "back");
    }

    /// The `perfdata:` line after a status line is its run's, also when
    /// read one event later; at start the last run's is read back.
    #[test]
    fn perfdata_lines_reach_the_metrics() {
        let labels = |hub: &Hub| -> Vec<String> {
            let snap = hub.metrics.snapshot(0, Timestamp::now());
            snap.checks
                .iter()
                .flat_map(|c| c.perfdata.iter().flat_map(|p| &p.metrics))
                .map(|m| format!("{}={:?}", m.label, m.value))
                .collect()
        };
        let mut rig = Rig::new(&["svc"]);
        let d = {
            let dir = tempfile::tempdir().unwrap();
            let s = dir.path().join("svc.sh");
            std::fs::write(
                &s,
                "#!/bin/sh\n# name: Svc\n# description: d\n# version: 1\n# schedule: daily\n",
            )
            .unwrap();
            std::fs::set_permissions(&s, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            ssi::service::discover(dir.path()).unwrap()
        };
        rig.hub.metrics.set_scripts(&d);
        rig.append("svc", b"2026-12-05 10:00:00, WARNING, DISK WARNING\n");
        rig.tailer.check("svc.log", Seen::Event);
        assert!(labels(&rig.hub).is_empty());
        rig.append("svc", b"perfdata: '/'=1KB;2;3 load1=0.5\n");
        rig.tailer.check("svc.log", Seen::Event);
        assert_eq!(labels(&rig.hub), ["/=Some(1024.0)", "load1=Some(0.5)"]);
        rig.append(
            "svc",
            b"2026-12-05 10:05:00, OK, no numbers\nperfdata: stray=1 after noise\n",
        );
        rig.tailer.check("svc.log", Seen::Event);
        assert_eq!(
            labels(&rig.hub),
            ["stray=Some(1.0)"],
            "directly after: its run's"
        );
        rig.append(
            "svc",
            b"2026-12-05 10:10:00, OK, again\nnoise\nperfdata: late=1\n",
        );
        rig.tailer.check("svc.log", Seen::Event);
        assert!(labels(&rig.hub).is_empty(), "not directly after: none");
        assert_eq!(rig.updates().len(), 3, "the statuses count as before");
        // A broadcaster started now reads the last run's back.
        rig.append("svc", b"2026-12-05 10:15:00, OK, last\nperfdata: x=2s\n");
        let hub = Arc::new(Hub::new(1 << 20, usize::MAX));
        hub.metrics.set_scripts(&d);
        let mut t = Tailer::new(rig.dir.path().to_owned(), hub.clone());
        t.scan(true);
        assert_eq!(labels(&hub), ["x=Some(2.0)"]);
    }

    /// Truncated to less than was read, with a partial line pending.
    #[test]
    fn truncated_below_the_offset_forgets_the_partial_line() {
        let mut rig = Rig::new(&["svc"]);
        rig.append("svc", b"OK, one\nWARNING, cut he");
        rig.tailer.check("svc.log", Seen::Event);
        assert_eq!(rig.updates().len(), 1);
        std::fs::write(rig.path("svc"), b"re\nERROR, x\n").unwrap();
        rig.tailer.check("svc.log", Seen::Event);
        let got = rig.updates();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0][1].as_str(), got[0][2].as_str()), ("ERROR", "x"));
    }

    /// An idle log costs no descriptor, and its changes are still read:
    /// lines appended, and a truncation found by the rescan.
    #[test]
    fn descriptors_are_held_for_recently_changed_logs_only() {
        let ids: Vec<String> = (0..100).map(|i| format!("s{i:03}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut rig = Rig::new(&refs);
        for id in &ids {
            rig.append(id, format!("OK, {id} at start\n").as_bytes());
        }
        rig.tailer = Tailer::new(rig.dir.path().to_owned(), rig.hub.clone()).with_max_open(16);
        rig.tailer.scan(true);
        assert_eq!(rig.updates().len(), 100);
        assert_eq!((held(&rig.tailer), rig.tailer.open), (0, 0));
        for id in &ids {
            rig.append(id, format!("WARNING, {id} later\n").as_bytes());
            rig.tailer.check(&format!("{id}.log"), Seen::Event);
            assert!(rig.tailer.open <= 16);
            assert_eq!(held(&rig.tailer), rig.tailer.open);
        }
        let got = rig.updates();
        assert_eq!(got.len(), 100);
        assert!(got
            .iter()
            .zip(&ids)
            .all(|(u, id)| u[2] == format!("{id} later")));
        // s000 was let go long ago; rewritten behind our back, the rescan
        // finds it by its size and times and reads it anew.
        assert!(rig.tailer.files["s000.log"].file.is_none());
        std::fs::write(rig.path("s000"), b"ERROR, rewritten\n").unwrap();
        rig.tailer.scan(false);
        let got = rig.updates();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0][2], "rewritten");
        assert!(rig.tailer.open <= 16);
    }

    /// A recently changed log still held is read to its end after being
    /// renamed away (logrotate), then the new one from its start.
    #[test]
    fn rotated_log_is_drained_through_its_descriptor() {
        let mut rig = Rig::new(&["svc"]);
        rig.append("svc", b"OK, one\n");
        rig.tailer.check("svc.log", Seen::Event);
        rig.append("svc", b"WARNING, two\n");
        std::fs::rename(rig.path("svc"), rig.dir.path().join("svc.log.1")).unwrap();
        rig.append("svc", b"UNKNOWN, three\nFAILURE, four\n");
        rig.tailer.check("svc.log", Seen::Event);
        let got: Vec<String> = rig.updates().into_iter().map(|u| u[2].clone()).collect();
        assert_eq!(got, ["one", "two", "three", "four"]);
    }

    /// A log moved in is history: one update with its last status. A log
    /// created empty and then written is a first run: every line.
    #[test]
    fn moved_in_starts_at_its_end_created_streams() {
        let mut rig = Rig::new(&["moved", "fresh"]);
        rig.tailer.scan(true);
        let elsewhere = rig.dir.path().join("moved.tmp");
        std::fs::write(&elsewhere, b"OK, a\nWARNING, b\nnoise\n").unwrap();
        std::fs::rename(&elsewhere, rig.path("moved")).unwrap();
        rig.tailer.check("moved.log", Seen::MovedIn);
        let got = rig.updates();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0][2], "b");
        rig.append("moved", b"ERROR, c\n");
        rig.tailer.check("moved.log", Seen::Event);
        assert_eq!(rig.updates()[0][2], "c");

        rig.append("fresh", b"");
        rig.tailer.check("fresh.log", Seen::Event);
        rig.append("fresh", b"UNKNOWN, first\nOK, second\n");
        rig.tailer.check("fresh.log", Seen::Event);
        let got: Vec<String> = rig.updates().into_iter().map(|u| u[2].clone()).collect();
        assert_eq!(got, ["first", "second"]);
    }

    /// A large log found by the rescan is history; one whose creation was
    /// seen was written since, by a run, and is read whole.
    #[test]
    fn large_new_log_starts_at_its_end_unless_created() {
        let mut rig = Rig::new(&["big", "made"]);
        rig.tailer.scan(true);
        let lines = REPLAY_MAX as usize / 8 + 1;
        let mut content = "OK, old\n".repeat(lines);
        content.push_str("WARNING, newest\n");
        rig.append("big", content.as_bytes());
        rig.tailer.scan(false);
        let got = rig.updates();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0][2], "newest");

        rig.append("made", content.as_bytes());
        rig.tailer.check("made.log", Seen::Created);
        assert_eq!(rig.updates().len(), lines + 1);
    }

    /// A FIFO where a log should be is refused after opening it, without
    /// blocking, at start and later.
    #[test]
    fn fifo_is_refused_without_blocking() {
        let mut rig = Rig::new(&["svc", "pipe"]);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            rig.path("pipe"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        rig.append("svc", b"OK, fine\n");
        rig.tailer.scan(true);
        rig.tailer
            .start("pipe.log", "pipe", &rig.path("pipe"), Seen::Event);
        assert!(rig.tailer.warned["pipe.log"].contains("a FIFO"));
        assert!(!rig.tailer.files.contains_key("pipe.log"));
        assert_eq!(rig.updates().len(), 1);
    }

    #[test]
    fn log_ids() {
        assert_eq!(log_id("disk_usage.log"), Some("disk_usage"));
        assert_eq!(log_id("disk_usage.log.1"), None);
        assert_eq!(log_id("Disk.log"), None);
        assert_eq!(log_id(".log"), None);
    }
}

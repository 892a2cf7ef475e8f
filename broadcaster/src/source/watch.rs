//! Step 1 of the data flow: watching the two directories with inotify (via
//! `notify`): log files feed the tailer, script changes re-run discovery. A
//! directory that does not exist yet is waited for by watching its nearest
//! existing ancestor; a queue overflow, and a slow periodic timer, trigger
//! a full rescan.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, EventKind, ModifyKind, RenameMode};
use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};

use crate::hub::Hub;
use crate::messages::ServiceInfo;
use crate::source::tail::{log_id, Seen, Tailer};

/// How long after a burst the heap is trimmed (clients free their queues
/// as they catch up).
const TRIM_DELAY: Duration = Duration::from_secs(1);
/// How many lines published in one go make a burst.
const BURST_LINES: u64 = 1000;
/// How often to rescan (and retry inotify) while inotify cannot be used,
/// e.g. when the user's inotify instances or watches are exhausted: slower
/// than events, but a live view rather than a minute behind.
const DEGRADED_RESCAN: Duration = Duration::from_secs(1);

/// A directory of interest and what is actually watched for it.
struct Target {
    dir: PathBuf,
    /// `dir` itself, or its nearest existing ancestor while it is missing,
    /// with its (device, inode): a directory deleted and recreated under
    /// the same name needs a new watch.
    watched: Option<(PathBuf, (u64, u64))>,
}

impl Target {
    fn watched_path(&self) -> Option<&Path> {
        self.watched.as_ref().map(|(p, _)| p.as_path())
    }
}

/// A new inotify watcher sending to `tx`, unless a simulated failure is due.
fn new_watcher(
    tx: &Sender<notify::Result<Event>>,
    simulated_failures: &mut u32,
) -> notify::Result<RecommendedWatcher> {
    if *simulated_failures > 0 {
        *simulated_failures -= 1;
        return Err(notify::Error::generic(
            "simulated: too many inotify instances",
        ));
    }
    notify::recommended_watcher(tx.clone())
}

/// Asks the watcher thread for a full rescan, as if inotify had
/// overflowed (SIGHUP).
#[derive(Clone)]
pub struct RescanRequest(Sender<notify::Result<Event>>);

impl RescanRequest {
    /// Requests a rescan; returns at once.
    pub fn send(&self) {
        let ev = Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        let _ = self.0.send(Ok(ev));
    }
}

/// The watcher thread's state.
pub struct Watch {
    watcher: Option<RecommendedWatcher>,
    events: Receiver<notify::Result<Event>>,
    /// Kept for `rescan_request`, so the channel also works without inotify.
    requests: Sender<notify::Result<Event>>,
    /// Kept while events are wanted, to make a new watcher when inotify
    /// could not be had (or was lost); `None` in rescan-only mode.
    sender: Option<Sender<notify::Result<Event>>>,
    /// A directory watch could not be placed at the last attempt.
    watch_failed: bool,
    /// Simulated inotify failures still to come (tests).
    inotify_failures: u32,
    logs: Target,
    scripts: Target,
    tailer: Tailer,
    hub: Arc<Hub>,
    rescan_every: Duration,
    /// Last discovery error, reported once until it changes.
    scripts_error: Option<String>,
}

impl Watch {
    /// Sets up the watches and loads the initial services and statuses.
    /// With `use_events` false no inotify watch is made and only the
    /// periodic rescan notices changes.
    pub fn start(
        log_dir: PathBuf,
        scripts_dir: PathBuf,
        hub: Arc<Hub>,
        rescan_every: Duration,
        use_events: bool,
        inotify_failures: u32,
    ) -> Watch {
        let (tx, events) = channel();
        let requests = tx.clone();
        let mut inotify_failures = inotify_failures;
        let (watcher, sender) = if use_events {
            let watcher = match new_watcher(&tx, &mut inotify_failures) {
                Ok(w) => Some(w),
                Err(e) => {
                    log::warn!("ssi-broadcaster: cannot use inotify ({e}), rescanning every {}s until it can.",
                        DEGRADED_RESCAN.as_secs()
                    );
                    None
                }
            };
            (watcher, Some(tx))
        } else {
            drop(tx);
            (None, None)
        };
        let mut w = Watch {
            watcher,
            events,
            requests,
            sender,
            watch_failed: false,
            inotify_failures,
            logs: Target {
                dir: log_dir.clone(),
                watched: None,
            },
            scripts: Target {
                dir: scripts_dir,
                watched: None,
            },
            tailer: Tailer::new(log_dir, hub.clone()),
            hub,
            rescan_every,
            scripts_error: None,
        };
        // Watch first, then read: a change in between is seen twice, never lost.
        let _ = w.place_watches();
        w.load_scripts();
        w.tailer.scan(true);
        w
    }

    /// A handle that makes this watcher rescan everything.
    pub fn rescan_request(&self) -> RescanRequest {
        RescanRequest(self.requests.clone())
    }

    /// Runs forever, applying events as they come.
    pub fn run(mut self) {
        let mut next_rescan = Instant::now() + self.rescan_interval();
        let mut trim_at: Option<Instant> = None;
        loop {
            let wake_at = trim_at.map_or(next_rescan, |t| t.min(next_rescan));
            let timeout = wake_at.saturating_duration_since(Instant::now());
            // Also without inotify: rescan requests come this way.
            let first = match self.events.recv_timeout(timeout) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    self.watcher = None;
                    std::thread::sleep(timeout);
                    None
                }
            };
            if let Some(ev) = first {
                // Take everything already queued: one pass per burst.
                let mut batch = vec![ev];
                while let Ok(ev) = self.events.try_recv() {
                    batch.push(ev);
                    if batch.len() >= 4096 {
                        break;
                    }
                }
                let before = self.tailer.published();
                self.apply(batch);
                if self.tailer.published() - before >= BURST_LINES {
                    trim_at = Some(Instant::now() + TRIM_DELAY);
                }
            }
            // Deadlines are checked after events too: a busy log must not
            // postpone the safety rescan forever.
            let now = Instant::now();
            if trim_at.is_some_and(|t| now >= t) {
                if self.hub.is_drained() {
                    trim_at = None;
                    // After a burst the heap is full of freed frames and
                    // queues; glibc keeps them unless asked.
                    crate::heap::trim();
                } else {
                    trim_at = Some(now + TRIM_DELAY);
                }
            }
            if now >= next_rescan {
                self.rescan();
                next_rescan = Instant::now() + self.rescan_interval();
            }
        }
    }

    /// The safety rescan's period, short while events cannot be relied on.
    fn rescan_interval(&self) -> Duration {
        let degraded = self.sender.is_some() && (self.watcher.is_none() || self.watch_failed);
        if degraded {
            self.rescan_every.min(DEGRADED_RESCAN)
        } else {
            self.rescan_every
        }
    }

    /// Makes a new inotify watcher when there is none but events are
    /// wanted; the watches are placed afresh by the caller.
    fn retry_inotify(&mut self) {
        if self.watcher.is_some() {
            return;
        }
        let Some(tx) = &self.sender else { return };
        if let Ok(w) = new_watcher(tx, &mut self.inotify_failures) {
            log::info!("ssi-broadcaster: inotify works again, following changes as they happen.");
            self.watcher = Some(w);
            self.logs.watched = None;
            self.scripts.watched = None;
        }
    }

    fn rescan(&mut self) {
        self.retry_inotify();
        let _ = self.place_watches();
        self.load_scripts();
        self.tailer.scan(false);
    }

    fn apply(&mut self, batch: Vec<notify::Result<Event>>) {
        // Each log named, and whether it was created or moved in.
        let mut logs = BTreeMap::new();
        let mut scripts_changed = false;
        let mut replace = false;
        let mut rescan = false;
        // Whether the log or the scripts directory itself was removed.
        let mut lost = [false; 2];
        for ev in batch {
            let ev = match ev {
                Ok(ev) => ev,
                Err(_) => {
                    rescan = true;
                    continue;
                }
            };
            if ev.need_rescan() {
                rescan = true;
            }
            // Opening a file (ours included: discovery reads every script)
            // changes nothing.
            if matches!(
                ev.kind,
                EventKind::Access(AccessKind::Open(_) | AccessKind::Read)
            ) {
                continue;
            }
            // The destination of a rename: a file that arrives whole.
            let moved_to = match ev.kind {
                EventKind::Modify(ModifyKind::Name(RenameMode::To)) => ev.paths.first(),
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => ev.paths.get(1),
                _ => None,
            };
            for path in &ev.paths {
                let parent = path.parent();
                if parent == Some(self.logs.dir.as_path()) {
                    if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                        if log_id(name).is_some() {
                            let seen = logs.entry(name.to_owned()).or_insert(Seen::Event);
                            if moved_to == Some(path) {
                                *seen = Seen::MovedIn;
                            } else if ev.kind.is_create() && *seen == Seen::Event {
                                *seen = Seen::Created;
                            }
                        }
                    }
                }
                if parent == Some(self.scripts.dir.as_path()) {
                    scripts_changed = true;
                }
                for (i, t) in [&self.logs, &self.scripts].into_iter().enumerate() {
                    let waiting = t.watched_path() != Some(t.dir.as_path());
                    if path == &t.dir || (waiting && t.dir.starts_with(path)) {
                        replace = true;
                    }
                    if path == &t.dir && ev.kind.is_remove() {
                        lost[i] = true;
                    }
                }
            }
        }
        // A directory removed took its watch with it. One made again at
        // once may get the same inode number, so the watch's identity
        // alone would say nothing changed: forget it, so it is watched
        // (and its logs scanned) anew.
        for (t, lost) in [&mut self.logs, &mut self.scripts].into_iter().zip(lost) {
            if lost {
                t.watched = None;
            }
        }
        let mut full_log_scan = rescan;
        if rescan || replace {
            full_log_scan |= self.place_watches();
            scripts_changed = true;
        }
        if scripts_changed {
            self.load_scripts();
        }
        if full_log_scan {
            self.tailer.scan(false);
        } else {
            for (name, seen) in logs {
                self.tailer.check(&name, seen);
            }
        }
    }

    /// Watches each directory, or its nearest existing ancestor while
    /// missing. Returns whether the log directory's watch changed.
    fn place_watches(&mut self) -> bool {
        let Some(watcher) = self.watcher.as_mut() else {
            return false;
        };
        let mut failed = false;
        let logs_before = self.logs.watched.clone();
        for t in [&mut self.logs, &mut self.scripts] {
            // Deeper levels may appear while the watch moves (mkdir -p):
            // look again after each new watch, which sees everything later.
            for _ in 0..64 {
                let want = nearest_existing(&t.dir);
                if want == t.watched {
                    break;
                }
                if let Some((old, _)) = t.watched.take() {
                    let _ = watcher.unwatch(&old);
                }
                let Some((w, id)) = want else { break };
                match watcher.watch(&w, RecursiveMode::NonRecursive) {
                    Ok(()) => t.watched = Some((w, id)),
                    Err(e) => {
                        if !self.watch_failed {
                            log::warn!("ssi-broadcaster: {}: cannot watch ({e}), rescanning every {}s until it can.",
                                w.display(),
                                DEGRADED_RESCAN.as_secs()
                            );
                        }
                        failed = true;
                        break;
                    }
                }
            }
        }
        // Both targets may share an ancestor: unwatching one must not drop
        // the other's watch, so re-assert the survivors.
        for t in [&self.logs, &self.scripts] {
            if let Some(w) = t.watched_path() {
                let _ = watcher.watch(w, RecursiveMode::NonRecursive);
            }
        }
        self.watch_failed = failed;
        self.logs.watched != logs_before
    }

    fn load_scripts(&mut self) {
        match ssi::service::discover(&self.scripts.dir) {
            Ok(d) => {
                self.scripts_error = None;
                self.hub.metrics.set_scripts(&d);
                self.hub.refused.set(&d);
                let services = d
                    .valid()
                    .map(|v| ServiceInfo {
                        id: v.id.as_str().to_owned(),
                        name: v.name.to_owned(),
                        description: v.description.to_owned(),
                        version: v.version.to_owned(),
                        schedule: v.schedule_text.to_owned(),
                    })
                    .collect();
                self.hub.set_services(services);
            }
            Err(e) => {
                // Keep the last known services rather than flapping them away.
                let msg = e.to_string();
                if self.scripts_error.as_ref() != Some(&msg) {
                    log::warn!("ssi-broadcaster: {msg}");
                    self.scripts_error = Some(msg);
                }
            }
        }
    }
}

/// `dir` if it is a directory, else its nearest ancestor that is, with
/// its (device, inode).
fn nearest_existing(dir: &Path) -> Option<(PathBuf, (u64, u64))> {
    dir.ancestors().find_map(|p| match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => Some((p.to_path_buf(), (m.dev(), m.ino()))),
        _ => None,
    })
}

//! One service as `ssi-status` presents it: the script as the generator
//! judges it, its log's last status, and what systemd says about its units.

use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;
use ssi::logfile::{read_last_status, LastStatus};
use ssi::service::{Problem, Script, ServiceId};
use ssi::status::{rfc3339, Status};

use crate::systemd;

/// What systemd says about one service's timer and service units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitsState {
    /// The timer, when systemctl reported it.
    pub timer: Option<systemd::Unit>,
    /// The service, when systemctl reported it.
    pub service: Option<systemd::Unit>,
}

impl UnitsState {
    /// When the timer fires next.
    pub fn next_run(&self) -> Option<Timestamp> {
        self.timer.as_ref()?.timestamp("NextElapseUSecRealtime")
    }

    /// When the timer last fired.
    pub fn last_trigger(&self) -> Option<Timestamp> {
        self.timer.as_ref()?.timestamp("LastTriggerUSec")
    }

    /// Whether the timer is active (`None` when unknown).
    pub fn timer_active(&self) -> Option<bool> {
        let t = self.timer.as_ref()?;
        Some(t.is_loaded() && t.get("ActiveState") == Some("active"))
    }
}

/// One service (or refused script) with everything known about it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The script as the generator judges it.
    pub script: Script,
    /// `<log dir>/<id>.log`, when the script has an id.
    pub log: Option<PathBuf>,
    /// The log's last status line.
    pub last: Option<LastStatus>,
    /// Why the log could not be read (a missing log is not an error).
    pub log_error: Option<String>,
    /// systemd's view; `None` when systemd is not running or not asked.
    pub units: Option<UnitsState>,
    /// Silenced, acknowledged, in maintenance ([`crate::quiet::attach`]).
    pub quiet: ssi::quiet::Quiet,
    /// The local zone, where the schedule elapses.
    tz: TimeZone,
}

impl Entry {
    /// Reads the last status of `script`'s log in `log_dir`.
    pub fn new(script: Script, log_dir: &Path, tz: &TimeZone) -> Entry {
        let log = script
            .id
            .as_ref()
            .map(|id| log_dir.join(id.log_file_name()));
        let (last, log_error) = match &log {
            Some(path) => match read_last_status(path, tz) {
                Ok(last) => (last, None),
                Err(e) => (None, Some(format!("cannot read {}: {e}", path.display()))),
            },
            None => (None, None),
        };
        Entry {
            script,
            log,
            last,
            log_error,
            units: None,
            quiet: ssi::quiet::Quiet::default(),
            tz: tz.clone(),
        }
    }

    /// A valid script whose log has no status line yet (and could be
    /// read): it has not run, or not reported, since it was installed.
    pub fn not_run_yet(&self) -> bool {
        self.script.is_valid() && self.last.is_none() && self.log_error.is_none()
    }

    /// When the script runs next: with systemd, the timer's next elapse
    /// (none for a timer that is not active or not loaded: it will not
    /// fire); without, the schedule's next elapse after `now`, what systemd
    /// computes for the timer.
    pub fn next_run(&self, now: Timestamp) -> Option<Timestamp> {
        if let Some(units) = &self.units {
            return units.next_run();
        }
        if !self.script.is_valid() {
            return None;
        }
        let spec = self.script.schedule.as_ref()?;
        spec.next_elapse(now, &self.tz).map(|z| z.timestamp())
    }

    /// `ssi_<id>`, when the script has an id.
    pub fn unit_stem(&self) -> Option<String> {
        self.script.id.as_ref().map(|id| id.unit_stem())
    }

    /// The name shown for the service: its id, or the file name when the
    /// file name makes no id.
    pub fn label(&self) -> String {
        match &self.script.id {
            Some(id) => id.to_string(),
            None => self
                .script
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.script.path.display().to_string()),
        }
    }

    /// The timer fired at T, the run's time limit has passed since, and
    /// the log has no status line from T or later: the run never reported.
    pub fn is_late(&self, now: Timestamp) -> bool {
        let Some(timeout) = self.script.manifest.timeout else {
            return false;
        };
        ssi::late::is_late(
            self.units.as_ref().and_then(UnitsState::last_trigger),
            timeout,
            self.last.as_ref().map(|l| l.timestamp),
            now,
        )
    }

    /// The entry as its JSON object.
    pub fn to_json(&self, now: Timestamp) -> EntryJson {
        let s = &self.script;
        let m = &s.manifest;
        let units = self.units.as_ref();
        let timer = units.and_then(|u| u.timer.as_ref());
        let service = units.and_then(|u| u.service.as_ref());
        EntryJson {
            id: s.id.as_ref().map(|i| i.to_string()),
            unit: self.unit_stem(),
            path: s.path.display().to_string(),
            valid: s.is_valid(),
            errors: s.problems().iter().map(ToString::to_string).collect(),
            problems: s.problems().iter().map(ProblemJson::new).collect(),
            warnings: s.warnings.iter().map(ToString::to_string).collect(),
            name: m.name.clone(),
            description: m.description.clone(),
            version: m.version.clone(),
            schedule: m.schedule.clone(),
            timeout: m.timeout,
            schedule_normalized: s.schedule.as_ref().map(|c| c.normalized()),
            status: self.last.as_ref().map(|l| l.line.status),
            timestamp: self.last.as_ref().map(|l| rfc3339(l.timestamp)),
            message: self.last.as_ref().map(|l| l.line.message.clone()),
            log: self.log.as_ref().map(|p| p.display().to_string()),
            log_error: self.log_error.clone(),
            late: self.is_late(now),
            not_run_yet: self.not_run_yet(),
            next_run: self.next_run(now).map(rfc3339),
            last_trigger: units.and_then(UnitsState::last_trigger).map(rfc3339),
            timer_active: units.and_then(UnitsState::timer_active),
            timer_state: timer.and_then(systemd::Unit::state),
            service_state: service.and_then(systemd::Unit::state),
            service_result: service.and_then(|u| u.get("Result")).map(str::to_owned),
            exit_status: service
                .and_then(|u| u.get("ExecMainStatus"))
                .and_then(|v| v.parse().ok()),
            maintenance_window: m.maintenance.clone(),
            remind_every: m.remind_every,
            quiet: self.quiet.clone(),
        }
    }
}

/// One problem of a script in JSON: `{"code": "not-executable", "text": "…"}`.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemJson {
    /// Stable, machine-readable (`ssi-status(1)` lists them).
    pub code: &'static str,
    /// What `errors` says.
    pub text: String,
}

impl ProblemJson {
    fn new(p: &Problem) -> ProblemJson {
        ProblemJson {
            code: p.code(),
            text: p.to_string(),
        }
    }
}

/// The JSON object of one service (`list --json`, `check --json`,
/// `show --json`); every field is always present, `null` when unknown.
#[derive(Debug, Clone, Serialize)]
pub struct EntryJson {
    /// Service id, or null when the file name makes none.
    pub id: Option<String>,
    /// `ssi_<id>`.
    pub unit: Option<String>,
    /// The script.
    pub path: String,
    /// Passes every rule.
    pub valid: bool,
    /// One entry per problem.
    pub errors: Vec<String>,
    /// The same problems, each with a stable machine-readable code.
    pub problems: Vec<ProblemJson>,
    /// Manifest comments that look like misspelled keys; they do not make
    /// the script invalid.
    pub warnings: Vec<String>,
    /// `# name:`.
    pub name: Option<String>,
    /// `# description:`.
    pub description: Option<String>,
    /// `# version:`.
    pub version: Option<String>,
    /// `# schedule:` without its comment.
    pub schedule: Option<String>,
    /// Seconds.
    pub timeout: Option<u32>,
    /// systemd's normalized form of the schedule.
    pub schedule_normalized: Option<String>,
    /// Last status.
    pub status: Option<Status>,
    /// Its time, RFC 3339 UTC.
    pub timestamp: Option<String>,
    /// Its message.
    pub message: Option<String>,
    /// The log file.
    pub log: Option<String>,
    /// Why the log could not be read.
    pub log_error: Option<String>,
    /// The timer fired, the timeout passed, and no status came.
    pub late: bool,
    /// A valid script without a status line yet.
    pub not_run_yet: bool,
    /// Next run, RFC 3339 UTC: the timer's next elapse, or without
    /// systemd the schedule's.
    pub next_run: Option<String>,
    /// Timer's last trigger, RFC 3339 UTC.
    pub last_trigger: Option<String>,
    /// Timer loaded and active.
    pub timer_active: Option<bool>,
    /// Timer state as `systemctl status` words it, e.g. `active (waiting)`.
    pub timer_state: Option<String>,
    /// Service state, e.g. `inactive (dead)`.
    pub service_state: Option<String>,
    /// Service's last result, e.g. `success`, `exit-code`, `timeout`.
    pub service_result: Option<String>,
    /// Exit status of the last run.
    pub exit_status: Option<i32>,
    /// `# maintenance:` as written.
    pub maintenance_window: Option<String>,
    /// `# remind-every:` in seconds.
    pub remind_every: Option<u32>,
    /// `silenced`, `acknowledged`, `maintenance`: each null, or who, why,
    /// since and until when.
    #[serde(flatten)]
    pub quiet: ssi::quiet::Quiet,
}

/// The units to ask systemd about: the timer and the service of each id.
pub fn unit_names<'a>(ids: impl IntoIterator<Item = &'a ServiceId>) -> Vec<String> {
    ids.into_iter()
        .flat_map(|id| {
            let stem = id.unit_stem();
            [format!("{stem}.timer"), format!("{stem}.service")]
        })
        .collect()
}

/// Attaches systemd's answer to every entry with an id.
pub fn attach(entries: &mut [Entry], mut state: systemd::State) {
    for e in entries {
        if let Some(stem) = e.unit_stem() {
            e.units = Some(UnitsState {
                timer: state.take(&format!("{stem}.timer")),
                service: state.take(&format!("{stem}.service")),
            });
        }
    }
}

/// Reads every script's last status, keeping their order. Logs are
/// independent and on a big installation reading them is most of the
/// work, so large sets are split over a few threads.
pub fn read_all(scripts: Vec<Script>, log_dir: &Path, tz: &TimeZone) -> Vec<Entry> {
    const PER_THREAD_MIN: usize = 64;
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(4)
        .min(scripts.len() / PER_THREAD_MIN)
        .max(1);
    if threads == 1 {
        return scripts
            .into_iter()
            .map(|s| Entry::new(s, log_dir, tz))
            .collect();
    }
    let per = scripts.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Script>> = Vec::with_capacity(threads);
    let mut rest = scripts.into_iter();
    loop {
        let chunk: Vec<Script> = rest.by_ref().take(per).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|s| Entry::new(s, log_dir, tz))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            // A reader thread cannot panic on input (errors are values);
            // if one did, its panic is re-raised rather than entries lost.
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

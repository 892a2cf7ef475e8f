//! From status lines and lateness to events: the one place that decides
//! what is worth telling someone.
//!
//! Per check, the *confirmed* status is the one last announced (or taken
//! as the starting point). A new status is announced once it held for
//! `after` consecutive status lines (flap control, `# notify-after:`); a
//! status that comes back to the confirmed one before that announces
//! nothing. A check's first status announces itself only when it is bad
//! (a new check that starts OK is no news). Lateness is announced when it
//! starts and when it ends, once each.
//!
//! A script's validity is announced when it changes ([`validity`]): a
//! script refused now that was not refused last time (valid then, new, or
//! no state yet) is `invalid`, once; a refused one that passes again is
//! `valid`, once. Validity is never judged here: only the
//! [`Verdict`](ssi::service::Verdict) of [`ssi::service`] counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::event::{Event, Kind};
use ssi::logfile::forward::{read_new, Mark};
use ssi::service::Script;
use ssi::status::{rfc3339, Status, StatusLine};

/// What the notifier remembers of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The status last announced, or taken as the starting point.
    pub confirmed: Option<Status>,
    /// The status of the latest lines, and for how many lines in a row.
    pub candidate: Option<Status>,
    /// How many status lines in a row said `candidate`.
    pub count: u32,
    /// Whether the check was last announced late.
    pub late: bool,
    /// Set when a change of status was kept quiet (see
    /// [`super::hush`]): what had been told before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untold: Option<Untold>,
    /// When a bad status of it was last told (Unix seconds), for
    /// reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told_at: Option<i64>,
    /// Where the last look at the log stopped (after the last line looked
    /// at); its fields sit beside the others in the state file.
    #[serde(flatten)]
    pub mark: Mark,
}

/// A check whose change of status was kept quiet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Untold {
    /// The status last told before it (`None`: none yet).
    pub told: Option<Status>,
}

/// A confirmed change of status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// `Change` or `Recovery`.
    pub kind: Kind,
    /// The status before (`None`: the check's first).
    pub previous: Option<Status>,
    /// The status now.
    pub status: Status,
}

/// OK and UPDATE: nothing needs doing now.
pub fn is_good(s: Status) -> bool {
    matches!(s, Status::Ok | Status::Update)
}

impl Check {
    /// Takes the next status line's status; the change it confirms, if any,
    /// when a new status must hold for `after` lines.
    pub fn observe(&mut self, status: Status, after: u32) -> Option<Change> {
        if self.candidate == Some(status) {
            self.count = self.count.saturating_add(1);
        } else {
            self.candidate = Some(status);
            self.count = 1;
        }
        if self.confirmed == Some(status) || self.count < after.max(1) {
            return None;
        }
        let previous = self.confirmed.replace(status);
        let kind = match previous {
            None if is_good(status) => return None,
            Some(p) if is_good(status) && !is_good(p) => Kind::Recovery,
            _ => Kind::Change,
        };
        Some(Change {
            kind,
            previous,
            status,
        })
    }

    /// Takes whether the check is late now; `Late` or `OnTime` when that
    /// differs from what was last announced.
    pub fn lateness(&mut self, late: bool) -> Option<Kind> {
        if late == self.late {
            return None;
        }
        self.late = late;
        Some(if late { Kind::Late } else { Kind::OnTime })
    }
}

/// One valid check as a scan sees it.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its service id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its log.
    pub log: PathBuf,
    /// Runs a new status must hold (`# notify-after:` or the default).
    pub after: u32,
    /// Whether it is late (`ssi::late::is_late`); `None` when unknown
    /// (systemd not running): lateness then is left as it was.
    pub late: Option<bool>,
    /// Its timeout, for the message of a late event.
    pub timeout: u32,
}

/// What one scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Each event with its unique key (check id, log inode and offset of the
    /// status line, or the kind of lateness and when).
    pub events: Vec<(String, Event)>,
    /// Logs that could not be read, one message each (naming the file).
    pub warnings: Vec<String>,
}

/// Reads what each check's log gained since `checks` last saw it and
/// updates `checks`; forgets checks that are gone, but keeps, untouched,
/// those whose ids are in `refused` (scripts there but invalid now), so
/// that a script valid again goes on from where its log was left instead
/// of reading it from the start and telling its history again. With `baseline` (no
/// state to compare with: a first start, or a state file set aside),
/// checks not yet known take their current status and lateness as the
/// starting point silently; otherwise a check not yet known is new, and its
/// log is read from the start.
pub fn scan(
    checks: &mut BTreeMap<String, Check>,
    inputs: &[Input],
    refused: &BTreeSet<String>,
    baseline: bool,
    tz: &TimeZone,
    now: Timestamp,
    host: &str,
) -> Scan {
    let mut out = Scan::default();
    checks.retain(|id, _| refused.contains(id) || inputs.iter().any(|i| &i.id == id));
    for input in inputs {
        let known = checks.contains_key(&input.id);
        let check = checks.entry(input.id.clone()).or_default();
        let event = |kind: Kind,
                     previous: Option<Status>,
                     status: Option<Status>,
                     message: String,
                     at: Timestamp| Event {
            event: kind,
            id: input.id.clone(),
            name: input.name.clone(),
            status: status.map_or_else(String::new, |s| s.as_str().to_owned()),
            previous_status: previous.map_or_else(String::new, |s| s.as_str().to_owned()),
            message,
            timestamp: rfc3339(at),
            host: host.to_owned(),
        };
        let mut reported = false;
        match read_new(&input.log, &check.mark) {
            Ok(None) => {}
            Err(e) => out.warnings.push(format!(
                "{}: cannot read: {e}, skipping",
                input.log.display()
            )),
            Ok(Some(new)) => {
                for (text, end) in &new.lines {
                    let Some(line) = StatusLine::parse(text) else {
                        continue;
                    };
                    reported = true;
                    if baseline && !known {
                        check.confirmed = Some(line.status);
                        check.candidate = Some(line.status);
                        check.count = 1;
                        continue;
                    }
                    if let Some(c) = check.observe(line.status, input.after) {
                        let at = line.timestamp(new.mtime, tz);
                        let key = format!("{}@{}:{end}", input.id, new.mark.inode);
                        out.events.push((
                            key,
                            event(c.kind, c.previous, Some(c.status), line.message.clone(), at),
                        ));
                    }
                }
                check.mark = new.mark;
            }
        }
        if let Some(late) = input.late {
            if baseline && !known {
                check.late = late;
            // A timer that fires again gives the rule a new deadline: a
            // check that never reports is "not late yet" for a while after
            // each trigger. Lateness ends when the check reports.
            } else if let Some(kind) =
                check.lateness(if reported { late } else { late || check.late })
            {
                let message = match kind {
                    Kind::Late => format!(
                        "the last run did not report within its timeout of {} s",
                        input.timeout
                    ),
                    _ => String::from("reporting again"),
                };
                let key = format!("{}@{}:{}", input.id, kind.as_str(), now.as_second());
                out.events.push((
                    key,
                    event(kind, check.confirmed, check.confirmed, message, now),
                ));
            }
        }
    }
    out
}

/// The events of scripts turning invalid or valid again, each with its
/// unique key (script path, kind and when), from every script of the
/// scripts directory as [`ssi::service::discover`] judged it (collisions
/// included). `invalid` holds the paths refused last time and becomes those
/// refused now. A refused script not in it is told (`invalid`, its problems
/// as the message, as `ssi-status check` gives them), even on a first start
/// or after a state file was set aside: its check does not run, which is
/// news however often it was told before. A script in it that passes now is
/// told (`valid`). A new valid script is no news, and a script gone from
/// the directory is forgotten without a word (deleting a script is how one
/// stops a check).
pub fn validity<'a>(
    invalid: &mut BTreeSet<String>,
    scripts: impl IntoIterator<Item = &'a Script>,
    now: Timestamp,
    host: &str,
) -> Vec<(String, Event)> {
    let mut events = Vec::new();
    let mut refused = BTreeSet::new();
    for script in scripts {
        let path = script.path.display().to_string();
        let valid = script.is_valid();
        if !valid {
            refused.insert(path.clone());
        }
        let (kind, message) = match (valid, invalid.contains(&path)) {
            (false, false) => (Kind::Invalid, script.reason()),
            (true, true) => (Kind::Valid, String::from("valid again")),
            _ => continue,
        };
        let id = match &script.id {
            Some(id) => id.to_string(),
            None => script
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.clone()),
        };
        events.push((
            format!("{path}@{}:{}", kind.as_str(), now.as_second()),
            Event {
                event: kind,
                id,
                name: script.manifest.name.clone().unwrap_or_default(),
                status: String::new(),
                previous_status: String::new(),
                message,
                timestamp: rfc3339(now),
                host: host.to_owned(),
            },
        ));
    }
    *invalid = refused;
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, OpenOptions};
    use std::io::Write;
    use Status::*;

    fn run(
        statuses: &[Status],
        after: u32,
        start: Option<Status>,
    ) -> Vec<(Kind, Option<Status>, Status)> {
        let mut c = Check {
            confirmed: start,
            candidate: start,
            count: u32::from(start.is_some()),
            ..Check::default()
        };
        statuses
            .iter()
            .filter_map(|s| c.observe(*s, after))
            .map(|c| (c.kind, c.previous, c.status))
            .collect()
    }

    #[test]
    fn a_change_and_a_recovery_once_each() {
        assert_eq!(
            run(&[Ok, Failure, Failure, Ok], 1, None),
            vec![
                (Kind::Change, Some(Ok), Failure),
                (Kind::Recovery, Some(Failure), Ok)
            ]
        );
        assert_eq!(
            run(&[Warning, Failure, Update], 1, Some(Ok)),
            vec![
                (Kind::Change, Some(Ok), Warning),
                (Kind::Change, Some(Warning), Failure),
                (Kind::Recovery, Some(Failure), Update)
            ]
        );
        assert_eq!(
            run(&[Ok, Update], 1, Some(Ok)),
            vec![(Kind::Change, Some(Ok), Update)]
        );
    }

    #[test]
    fn a_first_status_is_news_only_when_bad() {
        assert_eq!(run(&[Ok, Ok], 1, None), vec![]);
        assert_eq!(run(&[Error], 1, None), vec![(Kind::Change, None, Error)]);
    }

    #[test]
    fn flap_control_waits_for_n_runs_in_a_row() {
        assert_eq!(
            run(&[Failure, Ok, Failure, Failure, Ok], 3, Some(Ok)),
            vec![]
        );
        assert_eq!(
            run(
                &[Failure, Failure, Failure, Failure, Ok, Ok, Ok],
                3,
                Some(Ok)
            ),
            vec![
                (Kind::Change, Some(Ok), Failure),
                (Kind::Recovery, Some(Failure), Ok)
            ]
        );
        // A different bad status restarts the count.
        assert_eq!(run(&[Failure, Failure, Error, Error], 3, Some(Ok)), vec![]);
    }

    #[test]
    fn lateness_starts_and_ends_once() {
        let mut c = Check::default();
        assert_eq!(c.lateness(false), None);
        assert_eq!(c.lateness(true), Some(Kind::Late));
        assert_eq!(c.lateness(true), None);
        assert_eq!(c.lateness(false), Some(Kind::OnTime));
    }

    fn append(p: &std::path::Path, s: &str) {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap()
            .write_all(s.as_bytes())
            .unwrap();
    }

    fn input(log: PathBuf, after: u32, late: Option<bool>) -> Input {
        Input {
            id: "disk".into(),
            name: "Disk usage".into(),
            log,
            after,
            late,
            timeout: 20,
        }
    }

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    fn kinds(s: &Scan) -> Vec<(&str, &str, &str)> {
        s.events
            .iter()
            .map(|(_, e)| {
                (
                    e.event.as_str(),
                    e.previous_status.as_str(),
                    e.status.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn scans_read_each_line_once_and_key_events_uniquely() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("disk.log");
        let tz = TimeZone::UTC;
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut checks = BTreeMap::new();
        let inputs = [input(log.clone(), 1, None)];
        append(&log, "2026-11-26 10:00:00, OK\nnoise\n");
        let s = scan(&mut checks, &inputs, &none(), false, &tz, now, "h");
        assert_eq!(kinds(&s), vec![]);
        append(
            &log,
            "2026-11-26 10:01:00, FAILURE, / at 99%\n2026-11-26 10:02:00, FAILURE\n",
        );
        let s = scan(&mut checks, &inputs, &none(), false, &tz, now, "h");
        assert_eq!(kinds(&s), vec![("change", "OK", "FAILURE")]);
        let e = &s.events[0].1;
        assert_eq!(
            (e.message.as_str(), e.timestamp.as_str(), e.host.as_str()),
            ("/ at 99%", "2026-11-26T10:01:00Z", "h")
        );
        append(&log, "2026-11-26 10:03:00, OK\n");
        let s2 = scan(&mut checks, &inputs, &none(), false, &tz, now, "h");
        assert_eq!(kinds(&s2), vec![("recovery", "FAILURE", "OK")]);
        assert_ne!(s.events[0].0, s2.events[0].0);
        assert_eq!(
            kinds(&scan(&mut checks, &inputs, &none(), false, &tz, now, "h")),
            vec![]
        );
        // Gone scripts are forgotten.
        scan(&mut checks, &[], &none(), false, &tz, now, "h");
        assert!(checks.is_empty());
    }

    #[test]
    fn a_baseline_takes_the_present_silently_then_follows() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("disk.log");
        let tz = TimeZone::UTC;
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut checks = BTreeMap::new();
        append(&log, "OK\nFAILURE\n");
        let inputs = [input(log.clone(), 1, Some(true))];
        assert_eq!(
            kinds(&scan(&mut checks, &inputs, &none(), true, &tz, now, "h")),
            vec![]
        );
        assert_eq!(checks["disk"].confirmed, Some(Failure));
        assert!(checks["disk"].late);
        append(&log, "OK\n");
        let inputs = [input(log.clone(), 1, Some(false))];
        assert_eq!(
            kinds(&scan(&mut checks, &inputs, &none(), true, &tz, now, "h")),
            vec![("recovery", "FAILURE", "OK"), ("on-time", "OK", "OK")]
        );
    }

    #[test]
    fn a_new_check_is_read_from_its_start_and_late_once() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("disk.log");
        fs::write(&log, "ERROR, crashed\n").unwrap();
        let tz = TimeZone::UTC;
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut checks = BTreeMap::new();
        let inputs = [input(log.clone(), 1, Some(true))];
        let s = scan(&mut checks, &inputs, &none(), false, &tz, now, "h");
        assert_eq!(
            kinds(&s),
            vec![("change", "", "ERROR"), ("late", "ERROR", "ERROR")]
        );
        assert!(s.events[1].1.message.contains("20 s"));
        assert_eq!(
            kinds(&scan(&mut checks, &inputs, &none(), false, &tz, now, "h")),
            vec![]
        );
    }
}

#[cfg(test)]
mod validity_tests {
    use super::*;
    use ssi::service::discover;
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    const GOOD: &str =
        "#!/bin/sh\n# name: Disk usage\n# description: d\n# version: 1\n# schedule: hourly\n";

    fn put(dir: &Path, name: &str, text: &str) {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// One notifier pass over `dir`: (event, id, message) of each event.
    fn pass(dir: &Path, invalid: &mut BTreeSet<String>) -> Vec<(String, String, String)> {
        let found = discover(dir).unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        validity(invalid, &found.scripts, now, "h")
            .into_iter()
            .map(|(key, e)| {
                assert!(key.contains(e.event.as_str()), "{key}");
                assert_eq!((e.status.as_str(), e.previous_status.as_str()), ("", ""));
                assert_eq!(e.timestamp, "2027-01-15T08:00:00Z");
                (e.event.as_str().to_owned(), e.id, e.message)
            })
            .collect()
    }

    fn ev(kind: &str, id: &str, message: &str) -> (String, String, String) {
        (kind.to_owned(), id.to_owned(), message.to_owned())
    }

    #[test]
    fn valid_to_invalid_is_told_once_and_valid_again_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        put(dir, "disk.bash", GOOD);
        let mut invalid = BTreeSet::new();
        assert_eq!(pass(dir, &mut invalid), vec![], "a new valid script");
        put(dir, "disk.bash", &GOOD.replace("hourly", "*:0/5x"));
        let script = ssi::service::check_file(&dir.join("disk.bash"));
        let events = pass(dir, &mut invalid);
        assert_eq!(events, vec![ev("invalid", "disk", &script.reason())]);
        assert!(events[0].2.contains("*:0/5x"), "{events:?}");
        assert_eq!(pass(dir, &mut invalid), vec![], "told once");
        // Another problem on top: still the same transition.
        fs::set_permissions(dir.join("disk.bash"), fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(pass(dir, &mut invalid), vec![]);
        put(dir, "disk.bash", GOOD);
        assert_eq!(
            pass(dir, &mut invalid),
            vec![ev("valid", "disk", "valid again")]
        );
        assert_eq!(pass(dir, &mut invalid), vec![]);
        assert!(invalid.is_empty());
    }

    #[test]
    fn a_new_invalid_script_is_told_and_a_deleted_one_forgotten_silently() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        put(dir, "ok.sh", GOOD);
        // No state yet (a first start) is no exception: it is told.
        let mut invalid = BTreeSet::new();
        put(dir, "Bad+Name.sh", GOOD);
        let events = pass(dir, &mut invalid);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            (events[0].0.as_str(), events[0].1.as_str()),
            ("invalid", "Bad+Name.sh"),
            "the file name stands for an id it cannot make"
        );
        fs::remove_file(dir.join("Bad+Name.sh")).unwrap();
        assert_eq!(pass(dir, &mut invalid), vec![], "deleted: no event");
        assert!(invalid.is_empty(), "and forgotten");
        // Dropped in again, broken: new, told again.
        put(dir, "Bad+Name.sh", GOOD);
        assert_eq!(pass(dir, &mut invalid).len(), 1);
    }

    #[test]
    fn a_collision_makes_both_scripts_invalid_each_told() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        put(dir, "a-b.sh", GOOD);
        let mut invalid = BTreeSet::new();
        assert_eq!(pass(dir, &mut invalid), vec![]);
        put(dir, "a.b.sh", GOOD);
        let events = pass(dir, &mut invalid);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events
            .iter()
            .all(|(k, id, m)| k == "invalid" && id == "a_b" && m.contains("also the id of")));
        fs::remove_file(dir.join("a.b.sh")).unwrap();
        assert_eq!(
            pass(dir, &mut invalid),
            vec![ev("valid", "a_b", "valid again")]
        );
    }

    #[test]
    fn a_refused_check_keeps_its_place_in_its_log() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("disk.log");
        fs::write(&log, "OK\nFAILURE\nOK\n").unwrap();
        let tz = TimeZone::UTC;
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let input = Input {
            id: "disk".into(),
            name: "Disk usage".into(),
            log: log.clone(),
            after: 1,
            late: None,
            timeout: 20,
        };
        let mut checks = BTreeMap::new();
        let none = BTreeSet::new();
        scan(
            &mut checks,
            std::slice::from_ref(&input),
            &none,
            true,
            &tz,
            now,
            "h",
        );
        // Refused for a while: not read, not forgotten.
        let refused = BTreeSet::from([String::from("disk")]);
        let s = scan(&mut checks, &[], &refused, false, &tz, now, "h");
        assert!(s.events.is_empty());
        assert_eq!(checks["disk"].mark.offset, 14);
        // Valid again: its history is not told again, only what is new.
        fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(b"WARNING\n")
            .unwrap();
        let s = scan(&mut checks, &[input], &none, false, &tz, now, "h");
        let told: Vec<_> = s.events.iter().map(|(_, e)| e.event.as_str()).collect();
        assert_eq!(told, ["change"]);
        assert_eq!(s.events[0].1.status, "WARNING");
    }
}

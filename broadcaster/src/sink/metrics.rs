//! Step 3 of the data flow: the metrics registry, a sink of the hub: what
//! `GET /metrics` ([`crate::http::metrics`]) shows, rendered by the
//! library's one renderer ([`ssi::metrics`]) from what the broadcaster
//! holds in memory. A scrape reads no file: the watcher hands over each
//! discovery ([`Registry::set_scripts`]) and the hub each status line
//! ([`Registry::record`]). The registry has a lock of its own, held only to
//! copy a few values, so a scrape never waits on the fan-out lock that
//! streaming takes, and streaming never waits on a scrape's rendering.
//!
//! Lateness is [`ssi::late::is_late`], the rule `ssi-status` applies, with
//! the trigger computed from the schedule ([`ssi::late::computed_trigger`]):
//! a scrape answers from memory and starts no `systemctl`. The
//! schedule's next run is computed when a status line or a script changes,
//! not per scrape.
//!
//! The performance data of each check's last run ([`Registry::set_perfdata`])
//! comes from the tailer, which reads the `perfdata:` line after a status
//! line; a status line alone clears it (its run gave none). Malformed
//! performance data is logged once per check, again only when what is
//! wrong changes.
//!
//! The one exception: silences and acknowledgements are set by
//! `ssi-status` in another process, so a scrape (and `GET /api/quiet`)
//! reads the small `quiet.json` of the notifier's state directory whole,
//! outside the lock, and judges each check by [`ssi::quiet::judge`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::calendar::{CalendarSpec, LocalZone};
use ssi::late::{computed_trigger, first_run_after, is_late, schedule_interval};
use ssi::metrics::{render, Broadcaster, Check, CheckInfo, Format, QuietFlags, Snapshot};
use ssi::perfdata::Perfdata;
use ssi::quiet::store::QuietState;
use ssi::quiet::window::Window;
use ssi::quiet::Quiet;
use ssi::service::Discovery;
use ssi::status::Status;

use crate::messages::StatusUpdate;
use crate::sink::rendered::{Key, Rendered};

/// One script with an id, as the metrics need it.
struct Script {
    info: Option<Arc<CheckInfo>>,
    valid: bool,
    schedule: Option<Arc<CalendarSpec>>,
    timeout: u32,
    /// When this broadcaster first saw it: what lateness counts from
    /// before the first status line.
    first_seen: Timestamp,
    /// The schedule's first run after the last status line (or
    /// `first_seen`), and the gap to the run after it.
    first_run: Option<Timestamp>,
    interval: Option<u64>,
    /// Its manifest's maintenance window.
    window: Option<Arc<Window>>,
}

/// The last status line of one log, and how many were seen.
#[derive(Clone, Copy)]
struct Seen {
    status: Status,
    at: Timestamp,
    lines: u64,
}

#[derive(Default)]
struct State {
    scripts: BTreeMap<String, Script>,
    without_id: u64,
    /// Per log id, also for logs without a script (a script added later
    /// comes with its status, as on the WebSocket).
    seen: BTreeMap<String, Seen>,
    /// One more at every change of the above: names what a rendered body shows.
    generation: u64,
    /// Per log id, the performance data of the last run, when it gave any.
    perfdata: BTreeMap<String, Arc<Perfdata>>,
    /// Per log id, the problems last logged of its performance data.
    reported: BTreeMap<String, Vec<String>>,
}

/// What `/metrics` shows, kept up to date by the watcher and the hub.
pub struct Registry {
    state: Mutex<State>,
    tz: TimeZone,
    /// Where `quiet.json` is (the notifier's state directory).
    quiet_dir: std::path::PathBuf,
    /// The last body of each format (scrapes render only after a change).
    rendered: Rendered,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(LocalZone::from_env().time_zone().clone())
    }
}

impl Registry {
    /// An empty registry; schedules without a zone of their own are read
    /// in `tz`, as systemd reads them in the local zone.
    pub fn new(tz: TimeZone) -> Registry {
        Registry {
            state: Mutex::new(State::default()),
            tz,
            quiet_dir: ssi::quiet::store::state_dir(),
            rendered: Rendered::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a few plain assignments: a poisoned lock still
        // holds consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the scripts of a discovery: valid and refused ones with an id,
    /// and the number of those without one.
    pub fn set_scripts(&self, d: &Discovery) {
        let now = Timestamp::now();
        let mut st = self.lock();
        let mut old = std::mem::take(&mut st.scripts);
        let mut without_id = 0;
        for s in &d.scripts {
            let Some(id) = &s.id else {
                without_id += 1;
                continue;
            };
            let valid = s.valid();
            let first_seen = old.remove(id.as_str()).map_or(now, |o| o.first_seen);
            let mut script = Script {
                info: valid.map(|v| {
                    Arc::new(CheckInfo {
                        name: v.name.to_owned(),
                        version: v.version.to_owned(),
                        schedule: v.schedule_text.to_owned(),
                    })
                }),
                valid: valid.is_some(),
                schedule: valid.map(|v| Arc::new(v.schedule.clone())),
                timeout: valid.map_or(0, |v| v.timeout),
                first_seen,
                first_run: None,
                interval: None,
                window: s
                    .manifest
                    .maintenance
                    .as_deref()
                    .and_then(|w| Window::parse(w).ok())
                    .map(Arc::new),
            };
            self.plan(&mut script, st.seen.get(id.as_str()).map(|s| s.at), now);
            // Two scripts with one id are both refused: one entry, invalid.
            st.scripts
                .entry(id.as_str().to_owned())
                .and_modify(|e| e.valid = false)
                .or_insert(script);
        }
        st.without_id = without_id;
        st.generation += 1;
    }

    /// Counts status lines and keeps the last one of each log.
    pub fn record(&self, updates: &[StatusUpdate]) {
        let now = Timestamp::now();
        let mut st = self.lock();
        for u in updates {
            let status = u.status;
            let Ok(at) = u.timestamp.parse::<Timestamp>() else {
                continue;
            };
            let lines = st.seen.get(&u.service_id).map_or(0, |s| s.lines) + 1;
            st.seen
                .insert(u.service_id.clone(), Seen { status, at, lines });
            // A new run: its performance data, if any, follows.
            st.perfdata.remove(&u.service_id);
            if let Some(script) = st.scripts.get_mut(&u.service_id) {
                self.plan(script, Some(at), now);
            }
        }
        st.generation += 1;
    }

    /// Takes the performance data of the run whose status line `id` last
    /// recorded, logging its problems when they differ from the ones last
    /// logged for `id`.
    pub fn set_perfdata(&self, id: &str, perfdata: Perfdata) {
        let mut st = self.lock();
        if perfdata.problems.is_empty() {
            st.reported.remove(id);
        } else if st.reported.get(id) != Some(&perfdata.problems) {
            log::warn!(
                "ssi-broadcaster: {id}: {}, ignoring.",
                perfdata.problems.join("; ")
            );
            st.reported.insert(id.to_owned(), perfdata.problems.clone());
        }
        st.perfdata.insert(id.to_owned(), Arc::new(perfdata));
        st.generation += 1;
    }

    /// The schedule's next run after the last line (or since first seen).
    fn plan(&self, s: &mut Script, last: Option<Timestamp>, now: Timestamp) {
        let Some(schedule) = &s.schedule else {
            return;
        };
        s.first_run = first_run_after(schedule, last.unwrap_or(s.first_seen), &self.tz);
        s.interval = schedule_interval(schedule, last.unwrap_or(now), &self.tz);
    }

    /// Reads the quiet state; a missing file is none, a bad one is said on
    /// stderr (the journal) and counts as none.
    fn quiet_state(&self) -> QuietState {
        ssi::quiet::store::read(&self.quiet_dir).unwrap_or_else(|e| {
            log::warn!("{e}");
            QuietState::default()
        })
    }

    /// How each check with an id is quiet at `now`, by id (every check).
    pub fn quiet(&self, now: Timestamp) -> BTreeMap<String, Quiet> {
        let state = self.quiet_state();
        let windows: Vec<(String, Option<Arc<Window>>)> = self
            .lock()
            .scripts
            .iter()
            .map(|(id, s)| (id.clone(), s.window.clone()))
            .collect();
        windows
            .into_iter()
            .map(|(id, w)| {
                let q = ssi::quiet::judge(&state, &id, w.as_deref(), now, &self.tz);
                (id, q)
            })
            .collect()
    }

    /// Whether the check `id` (script `s`) is late at `now`.
    fn late(st: &State, id: &str, s: &Script, now: Timestamp) -> bool {
        let last = st.seen.get(id).map(|s| s.at);
        s.valid && is_late(computed_trigger(s.first_run, now), s.timeout, last, now)
    }

    /// What a scrape at `now` with `quiet` would show, named without
    /// copying it.
    fn key(&self, clients: u64, now: Timestamp, quiet: &BTreeMap<String, Quiet>) -> Key {
        let quiet = quiet.values().map(QuietFlags::from).collect();
        let st = self.lock();
        Key {
            generation: st.generation,
            clients,
            late: st
                .scripts
                .iter()
                .map(|(id, s)| Self::late(&st, id, s, now))
                .collect(),
            quiet,
        }
    }

    /// The scrape body at `now` in `format`: the last one rendered, unless
    /// something it shows has changed since.
    pub fn body(&self, clients: u64, now: Timestamp, format: Format) -> Arc<str> {
        // Silences are set by another program: `quiet.json` is read once,
        // before the lock, for both the key and the body it names.
        let quiet = self.quiet(now);
        let key = self.key(clients, now, &quiet);
        self.rendered.get(key, format, || {
            render(&self.snapshot_with(clients, now, &quiet), format)
        })
    }

    /// Everything a scrape shows at `now`, copied under the lock (the
    /// tests' view of what [`Registry::body`] renders).
    #[cfg(test)]
    pub fn snapshot(&self, clients: u64, now: Timestamp) -> Snapshot {
        self.snapshot_with(clients, now, &self.quiet(now))
    }

    /// Everything a scrape shows at `now`, with `quiet` as judged for it,
    /// copied under the lock.
    fn snapshot_with(
        &self,
        clients: u64,
        now: Timestamp,
        quiet: &BTreeMap<String, Quiet>,
    ) -> Snapshot {
        let st = self.lock();
        let checks = st
            .scripts
            .iter()
            .map(|(id, s)| {
                let seen = st.seen.get(id);
                let last = seen.map(|s| s.at);
                Check {
                    id: id.clone(),
                    valid: s.valid,
                    info: s.info.as_deref().cloned(),
                    status: seen.map(|s| s.status),
                    last_status: last,
                    late: Self::late(&st, id, s, now),
                    interval_secs: s.interval,
                    status_lines: Some(seen.map_or(0, |s| s.lines)),
                    quiet: quiet.get(id).map(QuietFlags::from).unwrap_or_default(),
                    perfdata: st.perfdata.get(id).cloned(),
                }
            })
            .collect();
        Snapshot {
            checks,
            without_id: st.without_id,
            broadcaster: Some(Broadcaster { clients }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssi::metrics::{render, Format};

    fn update(id: &str, status: &'static str, ts: &str) -> StatusUpdate {
        StatusUpdate {
            service_id: id.into(),
            status: status.parse().unwrap(),
            message: String::new(),
            timestamp: ts.into(),
        }
    }

    #[test]
    fn counts_lines_and_keeps_the_last() {
        let r = Registry::new(TimeZone::UTC);
        r.record(&[
            update("a", "OK", "2026-11-26T10:00:00Z"),
            update("a", "FAILURE", "2026-11-26T10:05:00Z"),
            update("b", "OK", "2026-11-26T10:00:00Z"),
        ]);
        let st = r.lock();
        let a = st.seen["a"];
        assert_eq!((a.status, a.lines), (Status::Failure, 2));
        assert_eq!(a.at, "2026-11-26T10:05:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn perfdata_is_the_last_runs_and_a_status_line_alone_clears_it() {
        let r = Registry::new(TimeZone::UTC);
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("load.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\n# name: Load\n# description: d\n# version: 1\n# schedule: minutely\necho OK\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        r.set_scripts(&ssi::service::discover(dir.path()).unwrap());
        r.record(&[update("load", "OK", "2026-11-26T10:00:00Z")]);
        r.set_perfdata("load", Perfdata::parse("load1=0.5;1;2 bad=x"));
        let now = "2026-11-26T10:00:01Z".parse().unwrap();
        let text = render(&r.snapshot(0, now), Format::Text);
        assert!(
            text.contains("ssi_check_perfdata{id=\"load\",label=\"load1\",unit=\"number\"} 0.5\n"),
            "{text}"
        );
        assert!(
            text.contains("ssi_check_perfdata_ignored{id=\"load\"} 1\n"),
            "{text}"
        );
        assert_eq!(r.lock().reported["load"].len(), 1);
        r.record(&[update("load", "OK", "2026-11-26T10:01:00Z")]);
        let text = render(&r.snapshot(0, now), Format::Text);
        assert!(!text.contains("ssi_check_perfdata{"), "{text}");
    }

    #[test]
    fn late_by_the_computed_trigger_until_a_line_comes() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("minutely.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\n# name: Minutely\n# description: d\n# version: 1\n# schedule: minutely\n# timeout: 20\necho OK\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let d = ssi::service::discover(dir.path()).unwrap();
        assert!(d.scripts[0].is_valid(), "{:?}", d.scripts[0].problems());
        let r = Registry::new(TimeZone::UTC);
        r.set_scripts(&d);
        let seen = r.lock().scripts["minutely"].first_seen;
        let at = |s: i64| {
            seen.checked_add(jiff::SignedDuration::from_secs(s))
                .unwrap()
        };
        let late = |now| r.snapshot(0, now).checks[0].late;
        assert!(!late(at(10)), "not yet run");
        assert!(late(at(200)), "a run was due and its time limit passed");
        r.record(&[update("minutely", "OK", &at(190).to_string())]);
        assert!(!late(at(200)), "a line came");
        assert!(late(at(190 + 60 + 21)), "the next run is late again");
    }

    #[test]
    fn quiet_gauges_follow_the_state_file_and_the_manifest_window() {
        let dir = tempfile::tempdir().unwrap();
        let scripts = dir.path().join("scripts");
        std::fs::create_dir(&scripts).unwrap();
        for (file, extra) in [
            ("a.sh", ""),
            ("b.sh", "# maintenance: *-*-* 10:00 for 1h\n"),
        ] {
            let p = scripts.join(file);
            std::fs::write(
                &p,
                format!("#!/bin/sh\n# name: Check\n# description: d\n# version: 1\n# schedule: hourly\n{extra}echo OK\n"),
            )
            .unwrap();
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        std::fs::write(
            dir.path().join("quiet.json"),
            r#"{"version":1,"silences":{"a":{"by":"root","reason":"r","since":0,"until":null}},"acks":{"b":{"by":"root","reason":"","since":0,"status":"FAILURE"}}}"#,
        )
        .unwrap();
        let mut r = Registry::new(TimeZone::UTC);
        r.quiet_dir = dir.path().to_owned();
        r.set_scripts(&ssi::service::discover(&scripts).unwrap());
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let text = |now| render(&r.snapshot(0, now), Format::Text);
        let t = text(at("2026-12-05T10:30:00Z"));
        for line in [
            "ssi_check_silenced{id=\"a\"} 1",
            "ssi_check_silenced{id=\"b\"} 0",
            "ssi_check_acknowledged{id=\"a\"} 0",
            "ssi_check_acknowledged{id=\"b\"} 1",
            "ssi_check_in_maintenance{id=\"a\"} 0",
            "ssi_check_in_maintenance{id=\"b\"} 1",
        ] {
            assert!(t.lines().any(|l| l == line), "{line} in\n{t}");
        }
        let t = text(at("2026-12-05T11:00:00Z"));
        assert!(
            t.lines()
                .any(|l| l == "ssi_check_in_maintenance{id=\"b\"} 0"),
            "{t}"
        );
        let q = r.quiet(at("2026-12-05T10:30:00Z"));
        assert_eq!(q["a"].silenced.as_ref().unwrap().reason, "r");
    }

    /// Silences are set by another program and lateness by the clock: a
    /// stored body is not served once either has changed what it shows.
    #[test]
    fn a_scrape_renders_again_when_quiet_json_or_the_clock_changes() {
        let dir = tempfile::tempdir().unwrap();
        let scripts = dir.path().join("scripts");
        std::fs::create_dir(&scripts).unwrap();
        let p = scripts.join("a.sh");
        std::fs::write(
            &p,
            "#!/bin/sh\n# name: Check\n# description: d\n# version: 1\n# schedule: hourly\necho OK\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let mut r = Registry::new(TimeZone::UTC);
        r.quiet_dir = dir.path().to_owned();
        r.set_scripts(&ssi::service::discover(&scripts).unwrap());
        let now: Timestamp = "2026-12-05T10:30:00Z".parse().unwrap();
        r.record(&[update("a", "OK", "2026-12-05T10:00:00Z")]);
        let first = r.body(0, now, Format::Text);
        assert!(
            first.lines().any(|l| l == "ssi_check_silenced{id=\"a\"} 0"),
            "{first}"
        );
        assert!(Arc::ptr_eq(&first, &r.body(0, now, Format::Text)));
        std::fs::write(
            dir.path().join("quiet.json"),
            r#"{"version":1,"silences":{"a":{"by":"root","reason":"r","since":0,"until":null}},"acks":{}}"#,
        )
        .unwrap();
        let silenced = r.body(0, now, Format::Text);
        assert!(
            silenced
                .lines()
                .any(|l| l == "ssi_check_silenced{id=\"a\"} 1"),
            "a silence set by another program: rendered again\n{silenced}"
        );
        let later = now
            .checked_add(jiff::SignedDuration::from_hours(3))
            .unwrap();
        let late = r.body(0, later, Format::Text);
        assert!(
            late.lines().any(|l| l == "ssi_check_late{id=\"a\"} 1"),
            "runs were missed: rendered again\n{late}"
        );
    }

    #[test]
    fn a_scrape_renders_only_after_a_change() {
        let r = Registry::new(TimeZone::UTC);
        r.record(&[update("a", "OK", "2026-11-26T10:00:00Z")]);
        let now = Timestamp::now();
        let first = r.body(0, now, Format::Text);
        assert!(first.contains("ssi_broadcaster_clients 0"), "{first}");
        let again = r.body(0, now, Format::Text);
        assert!(
            Arc::ptr_eq(&first, &again),
            "nothing changed: the same body"
        );
        r.record(&[update("a", "FAILURE", "2026-11-26T10:05:00Z")]);
        let after = r.body(0, now, Format::Text);
        assert!(
            !Arc::ptr_eq(&first, &after),
            "a status line: rendered again"
        );
        let before = r.body(0, now, Format::Text);
        r.set_perfdata("a", Perfdata::parse("load1=0.5;1;2"));
        let perf = r.body(0, now, Format::Text);
        assert!(
            !Arc::ptr_eq(&before, &perf),
            "performance data: rendered again"
        );
        let after = perf;
        let more_clients = r.body(1, now, Format::Text);
        assert!(!Arc::ptr_eq(&after, &more_clients), "a client came");
        assert!(
            more_clients.contains("ssi_broadcaster_clients 1"),
            "{more_clients}"
        );
    }
}

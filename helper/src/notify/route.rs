//! Routing: which events a hook wants, declared beside it in
//! `<hook>.route` (so `dba.route` for the hook `dba`). Without one, a hook
//! gets every event.
//!
//! ```text
//! file     = *( blank / comment / setting )
//! comment  = *space "#" *any EOL
//! setting  = *space key *space "=" *space word *( 1*space word ) *space EOL
//! key      = "checks" / "statuses" / "events"
//! ```
//!
//! `checks` are id globs (`*` any run of characters, `?` one), `statuses`
//! the six status names, `events` the event names; each key given is a
//! filter every event must pass. `statuses` filters the events that carry a
//! status: `invalid` and `valid` pass it. A declaration that does not parse
//! refuses its hook (told in the notifier's log and by `notify-test`),
//! rather than page the wrong people.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::event::{Event, Kind};
use ssi::service::{discover_executables, Executable};
use ssi::status::Status;

/// The ending of a routing declaration's file name.
pub const SUFFIX: &str = ".route";

/// What one hook wants; `None` for a key not given (everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// Id globs.
    pub checks: Option<Vec<String>>,
    /// Statuses.
    pub statuses: Option<Vec<Status>>,
    /// Event kinds.
    pub events: Option<Vec<Kind>>,
}

/// Whether `glob` (`*`, `?`) matches all of `s`.
fn glob(glob: &[u8], s: &[u8]) -> bool {
    match (glob.split_first(), s.split_first()) {
        (None, _) => s.is_empty(),
        (Some((b'*', rest)), _) => (0..=s.len()).any(|i| self::glob(rest, &s[i..])),
        (Some((b'?', rest)), Some((_, srest))) => self::glob(rest, srest),
        (Some((g, rest)), Some((c, srest))) => g == c && self::glob(rest, srest),
        (Some(_), None) => false,
    }
}

impl Route {
    /// Parses a declaration; the error names the line, the key and the
    /// value, and says what was expected.
    pub fn parse(text: &str) -> Result<Route, String> {
        let mut route = Route::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let n = n + 1;
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!(
                    "line {n}: {line:?}: expected \"checks =\", \"statuses =\" or \"events =\" and words"
                ));
            };
            let (key, words) = (key.trim(), value.split_whitespace());
            let twice = || format!("line {n}: {key} given twice, expected it once");
            match key {
                "checks" => {
                    let mut v = Vec::new();
                    for w in words {
                        if !w.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"_*?".contains(&b)
                        }) {
                            return Err(format!(
                                "line {n}: checks {w:?}: expected a service id or a glob of one (a-z, 0-9, _, * and ?)"
                            ));
                        }
                        v.push(w.to_owned());
                    }
                    if route.checks.replace(v).is_some() {
                        return Err(twice());
                    }
                }
                "statuses" => {
                    let mut v = Vec::new();
                    for w in words {
                        v.push(w.parse::<Status>().map_err(|_| {
                            format!("line {n}: statuses {w:?}: expected OK, UPDATE, WARNING, FAILURE, ERROR or UNKNOWN")
                        })?);
                    }
                    if route.statuses.replace(v).is_some() {
                        return Err(twice());
                    }
                }
                "events" => {
                    let mut v = Vec::new();
                    for w in words {
                        v.push(w.parse::<Kind>().map_err(|()| {
                            format!("line {n}: events {w:?}: expected change, recovery, reminder, late, on-time, invalid, valid or test")
                        })?);
                    }
                    if route.events.replace(v).is_some() {
                        return Err(twice());
                    }
                }
                _ => {
                    return Err(format!(
                        "line {n}: unknown key {key:?}, expected checks, statuses or events"
                    ))
                }
            }
        }
        Ok(route)
    }

    /// Whether the hook wants `event`.
    pub fn wants(&self, event: &Event) -> bool {
        let checks = self.checks.as_ref().map_or(true, |globs| {
            globs
                .iter()
                .any(|g| glob(g.as_bytes(), event.id.as_bytes()))
        });
        let statuses = match (&self.statuses, event.status.parse::<Status>()) {
            (Some(list), Ok(s)) => list.contains(&s),
            _ => true,
        };
        let events = self
            .events
            .as_ref()
            .map_or(true, |list| list.contains(&event.event));
        checks && statuses && events
    }

    /// One line for people: `checks db_*; statuses FAILURE ERROR; every event`.
    pub fn describe(&self) -> String {
        let checks = match &self.checks {
            Some(v) => format!("checks {}", v.join(" ")),
            None => String::from("every check"),
        };
        let statuses = match &self.statuses {
            Some(v) => format!(
                "statuses {}",
                v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
            ),
            None => String::from("every status"),
        };
        let events = match &self.events {
            Some(v) => format!(
                "events {}",
                v.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" ")
            ),
            None => String::from("every event"),
        };
        format!("{checks}; {statuses}; {events}")
    }
}

/// A hook of the hooks directory and its routing declaration.
#[derive(Debug, Clone)]
pub struct Hook {
    /// The hook, trusted or not.
    pub exe: Executable,
    /// `<hook>.route`: `None` when there is none; `Err` when it cannot be
    /// read, is writable by others than its owner, or does not parse (the
    /// message names the file).
    pub route: Result<Option<Route>, String>,
}

impl Hook {
    /// The file name of the hook.
    pub fn name(&self) -> String {
        self.exe
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Why it may not run, or `None` when it may.
    pub fn refusal(&self) -> Option<String> {
        if !self.exe.is_trusted() {
            return Some(self.exe.reason());
        }
        self.route.as_ref().err().cloned()
    }

    /// Whether it may run and wants `event`.
    pub fn wants(&self, event: &Event) -> bool {
        match &self.route {
            Ok(None) => self.exe.is_trusted(),
            Ok(Some(r)) => self.exe.is_trusted() && r.wants(event),
            Err(_) => false,
        }
    }
}

fn read_route(path: &Path) -> Result<Option<Route>, String> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "{}: writable by group or others, expected only its owner to change it",
            path.display()
        ));
    }
    let text =
        fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    Route::parse(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Every hook of `dir` (as [`discover_executables`] finds them, routing
/// declarations left out) with its routing declaration.
pub fn hooks(dir: &Path) -> io::Result<Vec<Hook>> {
    Ok(discover_executables(dir)?
        .into_iter()
        .filter(|e| !e.path.to_string_lossy().ends_with(SUFFIX))
        .map(|exe| {
            let mut route_path = PathBuf::from(exe.path.as_os_str());
            route_path.as_mut_os_string().push(SUFFIX);
            let route = read_route(&route_path);
            Hook { exe, route }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: Kind, id: &str, status: &str) -> Event {
        Event {
            event: kind,
            id: id.into(),
            name: String::new(),
            status: status.into(),
            previous_status: String::new(),
            message: String::new(),
            timestamp: String::new(),
            host: String::new(),
        }
    }

    #[test]
    fn a_declaration_filters_by_id_glob_status_and_event() {
        let r = Route::parse(
            "# the DBA\nchecks = db_* postgres?\nstatuses = FAILURE ERROR OK\nevents = change recovery reminder\n",
        )
        .unwrap();
        assert!(r.wants(&ev(Kind::Change, "db_main", "FAILURE")));
        assert!(r.wants(&ev(Kind::Recovery, "postgres1", "OK")));
        assert!(
            !r.wants(&ev(Kind::Change, "disk", "FAILURE")),
            "other check"
        );
        assert!(!r.wants(&ev(Kind::Change, "db_main", "WARNING")), "status");
        assert!(!r.wants(&ev(Kind::Late, "db_main", "FAILURE")), "event");
        assert!(
            !r.wants(&ev(Kind::Change, "postgres", "FAILURE")),
            "? is one"
        );
        let all = Route::parse("").unwrap();
        assert!(all.wants(&ev(Kind::Invalid, "x", "")));
        let s = Route::parse("statuses = FAILURE").unwrap();
        assert!(s.wants(&ev(Kind::Invalid, "x", "")), "no status to filter");
        assert_eq!(
            r.describe(),
            "checks db_* postgres?; statuses FAILURE ERROR OK; events change recovery reminder"
        );
    }

    #[test]
    fn a_bad_declaration_says_where_and_what_was_expected() {
        assert_eq!(
            Route::parse("checks = DB_*").unwrap_err(),
            "line 1: checks \"DB_*\": expected a service id or a glob of one (a-z, 0-9, _, * and ?)"
        );
        assert_eq!(
            Route::parse("\nstatuses = FAIL").unwrap_err(),
            "line 2: statuses \"FAIL\": expected OK, UPDATE, WARNING, FAILURE, ERROR or UNKNOWN"
        );
        assert_eq!(
            Route::parse("events = paged").unwrap_err(),
            "line 1: events \"paged\": expected change, recovery, reminder, late, on-time, invalid, valid or test"
        );
        assert_eq!(
            Route::parse("hosts = a").unwrap_err(),
            "line 1: unknown key \"hosts\", expected checks, statuses or events"
        );
        assert_eq!(
            Route::parse("checks = a\nchecks = b").unwrap_err(),
            "line 2: checks given twice, expected it once"
        );
        assert!(Route::parse("checks db")
            .unwrap_err()
            .starts_with("line 1: \"checks db\": expected"));
    }

    #[test]
    fn hooks_come_with_their_declarations_which_are_not_hooks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for (name, text, mode) in [
            ("dba", "#!/bin/sh\n", 0o755),
            ("dba.route", "checks = db_*\n", 0o644),
            ("chat", "#!/bin/sh\n", 0o755),
            ("pager", "#!/bin/sh\n", 0o755),
            ("pager.route", "statuses = BAD\n", 0o644),
        ] {
            fs::write(dir.join(name), text).unwrap();
            fs::set_permissions(dir.join(name), fs::Permissions::from_mode(mode)).unwrap();
        }
        let found = hooks(dir).unwrap();
        let names: Vec<_> = found.iter().map(Hook::name).collect();
        assert_eq!(names, ["chat", "dba", "pager"]);
        let e = ev(Kind::Change, "db_main", "FAILURE");
        assert!(found[0].wants(&e) && found[1].wants(&e) && !found[2].wants(&e));
        assert!(!found[1].wants(&ev(Kind::Change, "disk", "FAILURE")));
        let why = found[2].refusal().unwrap();
        assert!(
            why.contains("pager.route: line 1: statuses \"BAD\""),
            "{why}"
        );
    }
}

//! What systemd knows about our units, asked in one batched
//! `systemctl show` call, and starting a unit through `systemctl start`.
//!
//! Everything here degrades: no systemd, no `systemctl`, a failing or
//! garbled `systemctl` all mean "no state", never an error that stops a
//! listing.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::basetime;

/// Overrides the `systemctl` program (tests, unusual installs).
pub const SYSTEMCTL_ENV: &str = "SSI_SYSTEMCTL";
/// `1` pretends systemd is running, `0` that it is not (tests); unset or
/// anything else looks at `/run/systemd/system`.
pub const ASSUME_SYSTEMD_ENV: &str = "SSI_ASSUME_SYSTEMD";

/// The properties we read, for timers and services alike (a property a
/// unit type lacks is simply absent or empty).
pub const PROPERTIES: &str = "Id,LoadState,ActiveState,SubState,Result,\
NextElapseUSecRealtime,LastTriggerUSec,ExecMainStatus,ExecMainStartTimestamp,ExecMainExitTimestamp";

/// Whether systemd is the running init system, as `sd_booted()` decides
/// it, unless [`ASSUME_SYSTEMD_ENV`] says otherwise.
pub fn is_running() -> bool {
    match std::env::var(ASSUME_SYSTEMD_ENV).as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => Path::new("/run/systemd/system").exists(),
    }
}

/// The `systemctl` program to run.
pub fn program() -> OsString {
    match std::env::var_os(SYSTEMCTL_ENV) {
        Some(p) if !p.is_empty() => p,
        _ => OsString::from("systemctl"),
    }
}

/// The properties of one unit, as `systemctl show` printed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unit {
    props: HashMap<String, String>,
}

impl Unit {
    /// A property's value; `None` when absent, empty or `n/a`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty() && *v != "n/a")
    }

    /// A time stamp property; `None` when unset or unparsable.
    pub fn timestamp(&self, key: &str) -> Option<Timestamp> {
        self.get(key).and_then(parse_timestamp)
    }

    /// Whether systemd knows the unit (`LoadState=loaded`).
    pub fn is_loaded(&self) -> bool {
        self.get("LoadState") == Some("loaded")
    }

    /// `active (waiting)`, `inactive (dead)`, `not-found`, …: what
    /// `systemctl status` would call it.
    pub fn state(&self) -> Option<String> {
        if let Some(load) = self.get("LoadState") {
            if load != "loaded" {
                return Some(load.to_owned());
            }
        }
        match (self.get("ActiveState"), self.get("SubState")) {
            (Some(a), Some(s)) => Some(format!("{a} ({s})")),
            (Some(a), None) => Some(a.to_owned()),
            _ => None,
        }
    }
}

/// The state of many units, by unit name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    units: HashMap<String, Unit>,
}

impl State {
    /// The unit named `name` (e.g. `ssi_x.timer`), if systemctl reported it.
    #[cfg(test)]
    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.units.get(name)
    }

    /// Takes the unit named `name` out of the state.
    pub fn take(&mut self, name: &str) -> Option<Unit> {
        self.units.remove(name)
    }

    /// How many units were reported.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.units.len()
    }
}

/// Asks systemd about `units` in one `systemctl show` call. `Err` says
/// why there is no state (the caller reports it and carries on).
pub fn show(units: &[String]) -> Result<State, String> {
    if units.is_empty() {
        return Ok(State::default());
    }
    let prog = program();
    // systemd 252 prints NextElapseUSecRealtime and LastTriggerUSec in
    // the pretty form whatever --timestamp= says (ExecMain*Timestamp obey
    // it); TZ=UTC keeps the pretty form unambiguous.
    let out = Command::new(&prog)
        .env("TZ", "UTC")
        .arg("show")
        .arg("--timestamp=unix")
        .arg(format!("--property={PROPERTIES}"))
        .args(units)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", prog.to_string_lossy()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!(
            "{} show failed ({}){}{}",
            prog.to_string_lossy(),
            out.status,
            if first.is_empty() { "" } else { ": " },
            first.trim()
        ));
    }
    Ok(parse_show(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses `systemctl show` output: blocks of `Key=value` lines separated
/// by blank lines, one block per unit, matched to its unit by `Id=` (not
/// by position, so a missing or extra block cannot shift the others).
/// Blocks without an `Id=` and lines without `=` are ignored.
pub fn parse_show(out: &str) -> State {
    let mut state = State::default();
    let mut current = Unit::default();
    let mut flush = |unit: &mut Unit| {
        let unit = std::mem::take(unit);
        if let Some(id) = unit.props.get("Id").filter(|id| !id.is_empty()) {
            state.units.insert(id.clone(), unit);
        }
    };
    for line in out.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            flush(&mut current);
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            current.props.insert(k.trim().to_owned(), v.to_owned());
        }
    }
    flush(&mut current);
    state
}

/// A `systemctl show` time stamp: `@1764151200` (`--timestamp=unix`), or
/// the pretty `Thu 2026-11-26 10:00:00 UTC` that systemd 252 still uses
/// for timer properties. `0`, empty and unparsable values are `None`.
pub fn parse_timestamp(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    if let Some(secs) = v.strip_prefix('@') {
        let usec = basetime::epoch_usec(secs)?.ok()?;
        return if usec == 0 {
            None
        } else {
            Timestamp::from_microsecond(i64::try_from(usec).ok()?).ok()
        };
    }
    let mut parts = v.split_whitespace();
    let mut first = parts.next()?;
    // Optional weekday.
    if first.chars().all(|c| c.is_ascii_alphabetic()) {
        first = parts.next()?;
    }
    // The same date and time grammar as --base-time.
    let dt = basetime::parse_date(first)?.to_datetime(basetime::parse_time(parts.next()?)?);
    let tz = match parts.next() {
        Some("UTC") | Some("GMT") => TimeZone::UTC,
        Some(name) => TimeZone::get(name).unwrap_or_else(|_| TimeZone::system()),
        None => TimeZone::system(),
    };
    tz.to_ambiguous_zoned(dt)
        .compatible()
        .ok()
        .map(|z| z.timestamp())
}

/// Why `systemctl start` did not run a unit to success; each carries
/// systemctl's message (lines joined by `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// `systemctl` could not be run at all.
    Spawn(String),
    /// systemd does not know the unit.
    NotFound(String),
    /// Not allowed to start it.
    Denied(String),
    /// The unit ran and failed (or the job failed otherwise).
    Failed(String),
}

/// Starts `unit` and waits for it: a oneshot service's start job ends
/// when its run does.
pub fn start(unit: &str) -> Result<(), StartError> {
    let prog = program();
    let out = Command::new(&prog)
        .arg("start")
        .arg(unit)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| StartError::Spawn(format!("cannot run {}: {e}", prog.to_string_lossy())))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let text = err
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let text = if text.is_empty() {
        format!("{} start {unit}: {}", prog.to_string_lossy(), out.status)
    } else {
        text
    };
    Err(classify_start_error(out.status.code(), text))
}

/// Sorts a failed `systemctl start` by its exit code (systemctl uses the
/// LSB codes: 4 = insufficient privilege, 5 = not installed) and,
/// because not every path sets those, by its message.
fn classify_start_error(code: Option<i32>, text: String) -> StartError {
    let lower = text.to_lowercase();
    if code == Some(5) || lower.contains("not found") || lower.contains("not loaded") {
        StartError::NotFound(text)
    } else if code == Some(4)
        || lower.contains("access denied")
        || lower.contains("permission denied")
        || lower.contains("authentication required")
        || lower.contains("not permitted")
    {
        StartError::Denied(text)
    } else {
        StartError::Failed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_matched_by_id() {
        let out = "Id=ssi_b.timer\nActiveState=active\nSubState=waiting\nLoadState=loaded\n\
NextElapseUSecRealtime=@1764151200\nLastTriggerUSec=n/a\n\n\
LoadState=loaded\nId=ssi_a.service\nResult=exit-code\nExecMainStatus=3\n\n\n\
ActiveState=stray block without id\n\nId=ssi_c.timer\r\nLoadState=not-found\r\n";
        let s = parse_show(out);
        assert_eq!(s.len(), 3);
        let b = s.unit("ssi_b.timer").unwrap();
        assert_eq!(b.state().as_deref(), Some("active (waiting)"));
        assert_eq!(
            b.timestamp("NextElapseUSecRealtime"),
            Some(Timestamp::from_second(1_764_151_200).unwrap())
        );
        assert_eq!(b.timestamp("LastTriggerUSec"), None);
        let a = s.unit("ssi_a.service").unwrap();
        assert_eq!(a.get("Result"), Some("exit-code"));
        assert_eq!(a.get("ExecMainStatus"), Some("3"));
        let c = s.unit("ssi_c.timer").unwrap();
        assert!(!c.is_loaded());
        assert_eq!(c.state().as_deref(), Some("not-found"));
    }

    /// What systemd 252 printed for a transient timer, its service and a
    /// unit that does not exist (captured in a container).
    #[test]
    fn real_systemd_252_output() {
        let out = "NextElapseUSecRealtime=Thu 2026-11-26 04:18:20 UTC\n\
LastTriggerUSec=Thu 2026-11-26 04:18:10 UTC\nResult=success\nId=ssi_probe.timer\n\
LoadState=loaded\nActiveState=active\nSubState=waiting\n\n\
Result=success\nExecMainStartTimestamp=@1795666690\nExecMainExitTimestamp=@1795666690\n\
ExecMainStatus=0\nId=ssi_probe.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\n\n\
NextElapseUSecRealtime=\nLastTriggerUSec=\nResult=success\nId=ssi_nope.timer\n\
LoadState=not-found\nActiveState=inactive\nSubState=dead\n";
        let s = parse_show(out);
        let t = s.unit("ssi_probe.timer").unwrap();
        assert_eq!(
            t.timestamp("LastTriggerUSec"),
            Some(Timestamp::from_second(1_795_666_690).unwrap())
        );
        assert_eq!(
            t.timestamp("NextElapseUSecRealtime"),
            Some(Timestamp::from_second(1_795_666_700).unwrap())
        );
        assert_eq!(t.state().as_deref(), Some("active (waiting)"));
        let sv = s.unit("ssi_probe.service").unwrap();
        assert_eq!(
            sv.timestamp("ExecMainStartTimestamp"),
            Some(Timestamp::from_second(1_795_666_690).unwrap())
        );
        let nope = s.unit("ssi_nope.timer").unwrap();
        assert_eq!(nope.timestamp("LastTriggerUSec"), None);
        assert_eq!(nope.state().as_deref(), Some("not-found"));
    }

    proptest::proptest! {
        /// Whatever systemctl prints, parsing neither panics nor invents
        /// units without an `Id=`.
        #[test]
        fn any_output_parses(out in "(?s).{0,400}") {
            let state = parse_show(&out);
            proptest::prop_assert!(state.len() <= out.matches("Id=").count());
        }

        #[test]
        fn any_timestamp_parses(v in "(?s).{0,40}") {
            let _ = parse_timestamp(&v);
        }
    }

    #[test]
    fn garbage_gives_no_units() {
        assert_eq!(parse_show("").len(), 0);
        assert_eq!(parse_show("\n\nno equals here\n\x00\x01\n").len(), 0);
    }

    #[test]
    fn timestamps() {
        let t = Timestamp::from_second(1_764_151_200).unwrap();
        assert_eq!(parse_timestamp("@1764151200"), Some(t));
        assert_eq!(parse_timestamp("Wed 2025-11-26 10:00:00 UTC"), Some(t));
        assert_eq!(parse_timestamp("2025-11-26 10:00:00 UTC"), Some(t));
        assert_eq!(parse_timestamp("@0"), None);
        assert_eq!(parse_timestamp("@x"), None);
        assert_eq!(parse_timestamp("soon"), None);
        assert_eq!(parse_timestamp(""), None);
    }

    #[test]
    fn start_errors() {
        assert!(matches!(
            classify_start_error(
                Some(5),
                "Failed to start x.service: Unit x.service not found.".into()
            ),
            StartError::NotFound(_)
        ));
        assert!(matches!(
            classify_start_error(Some(1), "Failed to start x.service: Access denied".into()),
            StartError::Denied(_)
        ));
        assert!(matches!(
            classify_start_error(Some(4), "Interactive authentication required.".into()),
            StartError::Denied(_)
        ));
        assert!(matches!(
            classify_start_error(
                Some(1),
                "Job for x.service failed because the control process exited with error code."
                    .into()
            ),
            StartError::Failed(_)
        ));
    }
}

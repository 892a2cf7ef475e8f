//! What systemd knows about units: their properties, asked in one
//! batched `systemctl show` call, bounded in time. The one reader of
//! systemd's properties for `ssi-status` and `ssi-broadcaster`.
//!
//! Everything here degrades: no systemd, no `systemctl`, a failing, hanging
//! or garbled `systemctl` all mean "no state", never an error that stops a
//! listing or an answer.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::timestamp::{epoch_usec, parse_date, parse_time};

/// Overrides the `systemctl` program (tests, unusual installs).
pub const SYSTEMCTL_ENV: &str = "SSI_SYSTEMCTL";
/// `1` pretends systemd is running, `0` that it is not (tests); unset or
/// anything else looks at `/run/systemd/system`.
pub const ASSUME_SYSTEMD_ENV: &str = "SSI_ASSUME_SYSTEMD";

/// The properties of a service unit that date its last run: when its main
/// process started and when it exited, on the wall clock (which
/// `--timestamp=unix` gives to the second only) and on the monotonic one
/// (raw microseconds, which time the run exactly).
pub const RUN_PROPERTIES: &[&str] = &[
    "ExecMainStartTimestamp",
    "ExecMainExitTimestamp",
    "ExecMainStartTimestampMonotonic",
    "ExecMainExitTimestampMonotonic",
];

/// Whether systemd is the running init system, as `sd_booted()` decides
/// it, unless [`ASSUME_SYSTEMD_ENV`] says otherwise.
pub fn is_running() -> bool {
    match std::env::var(ASSUME_SYSTEMD_ENV).as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => Path::new("/run/systemd/system").exists(),
    }
}

/// The `systemctl` program to run: [`SYSTEMCTL_ENV`], else `systemctl`
/// from `PATH`.
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

    /// Whether a service's main process is running now: it started after
    /// its last exit, or never exited ([`Unit::last_run`] is then the run
    /// before, or none).
    pub fn run_under_way(&self) -> bool {
        match (
            self.timestamp("ExecMainStartTimestamp"),
            self.timestamp("ExecMainExitTimestamp"),
        ) {
            (Some(start), Some(exit)) => start > exit,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// A service's last finished run: when its main process started and
    /// when it exited ([`RUN_PROPERTIES`]). `None` when either is unset,
    /// or the exit is older than the start (a run is under way, and the
    /// exit is the previous run's).
    pub fn last_run(&self) -> Option<(Timestamp, Timestamp)> {
        let start = self.timestamp("ExecMainStartTimestamp")?;
        let exit = self.timestamp("ExecMainExitTimestamp")?;
        if exit < start {
            return None;
        }
        // The wall clock says when; the monotonic clock says how long, to
        // the microsecond (the wall clock's seconds would make a 0.3 s run
        // take 0 or 1 s).
        let usec = |key| self.get(key).and_then(|v| v.parse::<u64>().ok());
        let took = match (
            usec("ExecMainStartTimestampMonotonic"),
            usec("ExecMainExitTimestampMonotonic"),
        ) {
            (Some(from), Some(to)) if from > 0 && to >= from => i64::try_from(to - from)
                .ok()
                .map(SignedDuration::from_micros),
            _ => None,
        };
        let exit = took.and_then(|d| start.checked_add(d).ok()).unwrap_or(exit);
        Some((start, exit))
    }
}

/// The state of many units, by unit name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    units: HashMap<String, Unit>,
}

impl State {
    /// The unit named `name` (e.g. `ssi_x.timer`), if systemctl reported it.
    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.units.get(name)
    }

    /// Takes the unit named `name` out of the state.
    pub fn take(&mut self, name: &str) -> Option<Unit> {
        self.units.remove(name)
    }

    /// How many units were reported.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// Whether no unit was reported.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

/// Asks systemd for `properties` (plus `Id`, which matches each answer
/// to its unit) of `units`, in one `systemctl show` call. With a
/// `timeout`, a `systemctl` still running after it is killed (its whole
/// process group) and reaped, and the answer is `Err`. `Err` says why
/// there is no state; the caller reports it and carries on.
pub fn show(
    units: &[String],
    properties: &[&str],
    timeout: Option<Duration>,
) -> Result<State, String> {
    if units.is_empty() {
        return Ok(State::default());
    }
    let prog = program();
    let name = prog.to_string_lossy().into_owned();
    let mut props = String::from("Id");
    for p in properties {
        props.push(',');
        props.push_str(p);
    }
    // systemd 252 prints NextElapseUSecRealtime and LastTriggerUSec in
    // the pretty form whatever --timestamp= says (ExecMain*Timestamp obey
    // it); TZ=UTC keeps the pretty form unambiguous.
    let mut cmd = Command::new(&prog);
    cmd.env("TZ", "UTC")
        .arg("show")
        .arg("--timestamp=unix")
        .arg(format!("--property={props}"))
        .args(units)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if timeout.is_some() {
        // Its own process group, so that a timeout ends whatever it started.
        cmd.process_group(0);
    }
    let child = cmd.spawn().map_err(|e| format!("cannot run {name}: {e}"))?;
    let (status, stdout, stderr) = match timeout {
        Some(t) => collect_within(child, t).map_err(|e| match e {
            Collect::TimedOut => format!("{name} show did not answer within {t:?}; killed"),
            Collect::Io(e) => format!("cannot read from {name} show: {e}"),
        })?,
        None => {
            let out = child
                .wait_with_output()
                .map_err(|e| format!("cannot read from {name} show: {e}"))?;
            (out.status, out.stdout, out.stderr)
        }
    };
    if !status.success() {
        let err = String::from_utf8_lossy(&stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!(
            "{name} show failed ({status}){}{}",
            if first.is_empty() { "" } else { ": " },
            first.trim()
        ));
    }
    Ok(parse_show(&String::from_utf8_lossy(&stdout)))
}

/// One read from a pipe that poll said is ready, into `into`; whether
/// the pipe is still open.
fn read_some(pipe: &mut impl Read, buf: &mut [u8], into: &mut Vec<u8>) -> io::Result<bool> {
    match pipe.read(buf) {
        Ok(0) => Ok(false),
        Ok(n) => {
            into.extend_from_slice(&buf[..n]);
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
        Err(e) => Err(e),
    }
}

enum Collect {
    TimedOut,
    Io(io::Error),
}

/// Reads `child`'s stdout and stderr to their ends and reaps it, unless
/// that takes longer than `timeout`: then its process group is killed and
/// it is reaped all the same.
fn collect_within(
    mut child: Child,
    timeout: Duration,
) -> Result<(ExitStatus, Vec<u8>, Vec<u8>), Collect> {
    let deadline = Instant::now() + timeout;
    let give_up = |child: &mut Child, why: Collect| {
        let pid = rustix::process::Pid::from_child(child);
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        let _ = child.kill();
        let _ = child.wait();
        why
    };
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(give_up(
            &mut child,
            Collect::Io(io::ErrorKind::BrokenPipe.into()),
        ));
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let (mut out_open, mut err_open) = (true, true);
    let mut buf = [0u8; 16 * 1024];
    while out_open || err_open {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(give_up(&mut child, Collect::TimedOut));
        }
        let wait = Timespec::try_from(left).unwrap_or(Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        });
        let mut fds = Vec::with_capacity(2);
        if out_open {
            fds.push(PollFd::new(&out, PollFlags::IN));
        }
        if err_open {
            fds.push(PollFd::new(&err, PollFlags::IN));
        }
        match poll(&mut fds, Some(&wait)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(give_up(&mut child, Collect::Io(e.into()))),
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let mut ready = ready.into_iter();
        if out_open && ready.next() == Some(true) {
            out_open = read_some(&mut out, &mut buf, &mut stdout)
                .map_err(|e| give_up(&mut child, Collect::Io(e)))?;
        }
        if err_open && ready.next() == Some(true) {
            err_open = read_some(&mut err, &mut buf, &mut stderr)
                .map_err(|e| give_up(&mut child, Collect::Io(e)))?;
        }
    }
    // Both pipes closed: it has exited, or is about to.
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok((status, stdout, stderr)),
            Ok(None) if Instant::now() >= deadline => {
                return Err(give_up(&mut child, Collect::TimedOut))
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(give_up(&mut child, Collect::Io(e))),
        }
    }
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
        let usec = epoch_usec(secs)?.ok()?;
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
    let dt = parse_date(first)?.to_datetime(parse_time(parts.next()?)?);
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
    fn last_run_needs_an_exit_after_the_start() {
        let s = parse_show(
            "Id=a.service\nExecMainStartTimestamp=@100\nExecMainExitTimestamp=@103.25\n\n\
Id=b.service\nExecMainStartTimestamp=@200\nExecMainExitTimestamp=@150\n\n\
Id=c.service\nExecMainStartTimestamp=@200\nExecMainExitTimestamp=\n",
        );
        let ts = |us| Timestamp::from_microsecond(us).unwrap();
        assert_eq!(
            s.unit("a.service").unwrap().last_run(),
            Some((ts(100_000_000), ts(103_250_000)))
        );
        assert_eq!(s.unit("b.service").unwrap().last_run(), None);
        assert_eq!(s.unit("c.service").unwrap().last_run(), None);
        // b started after its last exit, c never exited: both under way.
        assert!(!s.unit("a.service").unwrap().run_under_way());
        assert!(s.unit("b.service").unwrap().run_under_way());
        assert!(s.unit("c.service").unwrap().run_under_way());
    }

    /// systemd 252's `--timestamp=unix` gives whole seconds: a run of
    /// 0.31 s that crossed a second would take 1 s. The monotonic
    /// timestamps (raw microseconds) time it exactly.
    #[test]
    fn last_run_is_timed_by_the_monotonic_clock() {
        let s = parse_show(
            "Id=a.service\nExecMainStartTimestamp=@100\nExecMainExitTimestamp=@101\n\
ExecMainStartTimestampMonotonic=5000900000\nExecMainExitTimestampMonotonic=5001210000\n\n\
Id=b.service\nExecMainStartTimestamp=@100\nExecMainExitTimestamp=@101\n\
ExecMainStartTimestampMonotonic=0\nExecMainExitTimestampMonotonic=5001210000\n",
        );
        let ts = |us| Timestamp::from_microsecond(us).unwrap();
        assert_eq!(
            s.unit("a.service").unwrap().last_run(),
            Some((ts(100_000_000), ts(100_310_000)))
        );
        // No monotonic start: the wall clock's seconds.
        assert_eq!(
            s.unit("b.service").unwrap().last_run(),
            Some((ts(100_000_000), ts(101_000_000)))
        );
    }
}

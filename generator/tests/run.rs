//! `ssi-run` as a unit runs it: real scripts and the real Monitoring Plugins
//! (`check_dummy`, `check_tcp` on loopback), standard output appended to a
//! log, and what the log then holds read back with the library's status
//! grammar.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ssi::status::{Status, StatusLine};

const RUNNER: &str = env!("CARGO_BIN_EXE_ssi-run");
const PLUGINS: &str = "/usr/lib/nagios/plugins";

struct Check {
    dir: tempfile::TempDir,
    script: PathBuf,
    log: PathBuf,
}

fn check(body: &str) -> Check {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("check.sh");
    fs::write(&script, body).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("check.log");
    Check { dir, script, log }
}

impl Check {
    /// Runs the check through `ssi-run` (extra runner arguments first),
    /// standard output appended to the log as systemd's `append:` does.
    fn run(&self, args: &[&str]) -> Output {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        Command::new(RUNNER)
            .args(args)
            .arg(&self.script)
            .env("TZ", "UTC")
            .stdout(log)
            .output()
            .unwrap()
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap()
    }

    fn statuses(&self) -> Vec<StatusLine> {
        self.log().lines().filter_map(StatusLine::parse).collect()
    }
}

fn plugin(name: &str) -> String {
    let p = Path::new(PLUGINS).join(name);
    assert!(
        p.exists(),
        "{} is missing (tests/deps.sh installs monitoring-plugins-basic)",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

fn now_utc() -> jiff::civil::DateTime {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .datetime()
}

#[test]
fn stamps_status_lines_printed_without_a_time() {
    let c = check(
        "#!/bin/sh\n\
         echo 'working on it'\n\
         echo '2001-02-03 04:05:06, WARNING, kept as written'\n\
         echo '  ok, no time'\n",
    );
    let before = now_utc().round(jiff::Unit::Second).unwrap() - jiff::Span::new().seconds(1);
    let out = c.run(&[]);
    let after = now_utc();
    assert!(out.status.success(), "{out:?}");
    let log = c.log();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines[0], "working on it");
    assert_eq!(lines[1], "2001-02-03 04:05:06, WARNING, kept as written");
    let stamped = StatusLine::parse(lines[2]).unwrap();
    let t = stamped.time.expect("a time stamp was added");
    assert!(before <= t && t <= after, "{t} not in {before}..{after}");
    assert!(lines[2].ends_with(", ok, no time"), "{}", lines[2]);
    assert_eq!(lines.len(), 3);
}

#[test]
fn a_crash_says_why_with_the_last_line_of_stderr() {
    let c = check(
        "#!/bin/bash\necho 'first' >&2\necho 'half a line' | tr -d '\\n'\nfoo_no_such_command\n",
    );
    let out = c.run(&[]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    // Standard error still goes on (to the journal, under systemd).
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("first") && err.contains("foo_no_such_command: command not found"),
        "{err}"
    );
    let log = c.log();
    assert!(log.starts_with("half a line\n"), "{log:?}");
    let last = c.statuses().pop().unwrap();
    assert_eq!(last.status, Status::Error);
    assert_eq!(
        last.message,
        "exited with status 127: line 4: foo_no_such_command: command not found"
    );
    assert!(last.time.is_some());
}

#[test]
fn a_failure_without_stderr_and_a_signal() {
    let c = check("#!/bin/sh\nexit 3\n");
    let out = c.run(&[]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(c.statuses().pop().unwrap().message, "exited with status 3");

    let c = check("#!/bin/sh\necho 'about to die' >&2\nkill -KILL $$\n");
    let out = c.run(&[]);
    assert_eq!(out.status.code(), Some(128 + 9));
    let last = c.statuses().pop().unwrap();
    assert_eq!(last.status, Status::Error);
    assert_eq!(last.message, "killed by signal KILL: about to die");
}

#[test]
fn a_script_that_cannot_start() {
    let c = check("#!/bin/sh\necho OK\n");
    fs::set_permissions(&c.script, fs::Permissions::from_mode(0o644)).unwrap();
    let out = c.run(&[]);
    assert_eq!(out.status.code(), Some(126));
    let last = c.statuses().pop().unwrap();
    assert_eq!(last.status, Status::Error);
    assert!(
        last.message.starts_with("could not start "),
        "{}",
        last.message
    );
    assert!(
        last.message.contains("ermission denied"),
        "{}",
        last.message
    );
}

#[test]
fn usage_errors() {
    let out = Command::new(RUNNER).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ssi-run: expected a SCRIPT to run"));
    let out = Command::new(RUNNER)
        .args(["--output", "icinga", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--output \"icinga\": expected \"status\" or \"nagios\""));
}

/// The real `check_dummy` gives each exit status and its text.
#[test]
fn nagios_check_dummy_each_exit_status() {
    let dummy = plugin("check_dummy");
    for (code, want, text) in [
        (0, Status::Ok, "OK: all good"),
        (1, Status::Warning, "WARNING: so-so"),
        (2, Status::Failure, "CRITICAL: broken"),
        (3, Status::Unknown, "UNKNOWN: who knows"),
    ] {
        let msg = text.split_once(": ").unwrap().1;
        let c = check(&format!("#!/bin/sh\nexec {dummy} {code} '{msg}'\n"));
        let out = c.run(&["--output", "nagios"]);
        assert!(out.status.success(), "{code}: {out:?}");
        let s = c.statuses();
        assert_eq!(s.len(), 1, "{code}: {}", c.log());
        assert_eq!(s[0].status, want, "{code}");
        assert_eq!(s[0].message, text, "{code}");
        assert!(s[0].time.is_some());
    }
    // Anything else is UNKNOWN, with what the plugin said.
    let c = check(&format!("#!/bin/sh\nexec {dummy} 4\n"));
    c.run(&["--output", "nagios"]);
    let s = c.statuses();
    assert_eq!(s[0].status, Status::Unknown, "{}", c.log());
    assert!(
        s[0].message
            .contains("Status 4 is not a supported error state"),
        "{}",
        c.log()
    );
}

/// The real `check_tcp`: a listening loopback port is OK with the plugin's
/// text and its performance data on the next line; a closed one FAILURE.
#[test]
fn nagios_check_tcp_open_then_closed() {
    let tcp = plugin("check_tcp");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let c = check(&format!("#!/bin/sh\nexec {tcp} -H 127.0.0.1 -p {port}\n"));
    let out = c.run(&["--output", "nagios"]);
    assert!(out.status.success(), "{out:?}");
    let log = c.log();
    let lines: Vec<&str> = log.lines().collect();
    let ok = StatusLine::parse(lines[0]).unwrap();
    assert_eq!(ok.status, Status::Ok, "{log}");
    assert!(ok.message.starts_with("TCP OK - "), "{log}");
    assert!(!ok.message.contains('|'), "{log}");
    assert!(lines[1].starts_with("perfdata: time="), "{log}");

    drop(listener);
    let out = c.run(&["--output", "nagios"]);
    assert!(out.status.success(), "{out:?}");
    let last = c.statuses().pop().unwrap();
    assert_eq!(last.status, Status::Failure, "{}", c.log());
    assert!(last.message.contains("Connection refused"), "{}", c.log());
    let _ = &c.dir;
}

/// What the runner writes of a plugin's performance data is what the
/// library reads back: the `perfdata:` line after its status line, long
/// output between them or not, in base units.
#[test]
fn nagios_perfdata_reads_back_with_the_library() {
    let c = check(
        "#!/bin/sh\nprintf 'DISK WARNING - / at 60%%| /=12MB;20;30;0;40\\nlong line\\n| rpm=3\\n'\nexit 1\n",
    );
    let out = c.run(&["--output", "nagios"]);
    assert!(out.status.success(), "{out:?}");
    let last = ssi::logfile::read_last_status(&c.log, &jiff::tz::TimeZone::UTC)
        .unwrap()
        .unwrap();
    assert_eq!(last.line.status, Status::Warning, "{}", c.log());
    assert_eq!(last.line.message, "DISK WARNING - / at 60%", "{}", c.log());
    let p = ssi::perfdata::Perfdata::parse(last.perfdata.as_deref().unwrap_or(""));
    let got: Vec<(&str, Option<f64>, &str)> = p
        .metrics
        .iter()
        .map(|m| (m.label.as_str(), m.value, m.unit.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("/", Some(12.0 * 1024.0 * 1024.0), "bytes"),
            ("rpm", Some(3.0), "number"),
        ],
        "{}",
        c.log()
    );
    assert_eq!(p.ignored, 0, "{}", c.log());
}

//! Silence, acknowledgement, maintenance windows, reminders and routing
//! through `ssi-status` as processes, without systemd (the notifier then
//! delivers itself), against real hook scripts that record what they got.
//! `SSI_NOW` moves the clock.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ssi-status");

struct Site {
    dir: tempfile::TempDir,
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        for d in ["scripts", "logs", "hooks", "state"] {
            fs::create_dir(dir.path().join(d)).unwrap();
            chmod(&dir.path().join(d), 0o755);
        }
        Site { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// A check script `file` with extra manifest lines `header`.
    fn script(&self, file: &str, header: &str) {
        let s = self.path("scripts").join(file);
        fs::write(
            &s,
            format!("#!/bin/sh\n# name: Check {file}\n# description: d\n# version: 1\n# schedule: hourly\n{header}echo OK\n"),
        )
        .unwrap();
        chmod(&s, 0o755);
    }

    /// A hook that appends its stdin (the event's JSON) to `<name>.out`.
    fn hook(&self, name: &str) {
        let p = self.path("hooks").join(name);
        let out = self.path(&format!("{name}.out"));
        fs::write(&p, format!("#!/bin/sh\ncat >> '{}'\n", out.display())).unwrap();
        chmod(&p, 0o755);
    }

    /// What hook `name` was told so far: `event id previous -> status`.
    fn told(&self, name: &str) -> Vec<String> {
        fs::read_to_string(self.path(&format!("{name}.out")))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                format!(
                    "{} {} {} -> {}",
                    v["event"].as_str().unwrap(),
                    v["id"].as_str().unwrap(),
                    v["previous_status"].as_str().unwrap(),
                    v["status"].as_str().unwrap()
                )
            })
            .collect()
    }

    fn status(&self, id: &str, status: &str) {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&format!("logs/{id}.log")))
            .unwrap()
            .write_all(format!("2026-12-05 10:00:00, {status}\n").as_bytes())
            .unwrap();
    }

    fn ssi(&self, now: &str, args: &[&str]) -> Output {
        std::process::Command::new(BIN)
            .args(args)
            .env("SSI_SCRIPTS_DIR", self.path("scripts"))
            .env("SSI_LOG_DIR", self.path("logs"))
            .env("SSI_HOOKS_DIR", self.path("hooks"))
            .env("SSI_STATE_DIR", self.path("state"))
            .env("SSI_ASSUME_SYSTEMD", "0")
            .env("SSI_NOW", now)
            .env("TZ", "UTC")
            .env_remove("SSI_NOTIFY_AFTER")
            .env_remove("SSI_REMIND_EVERY")
            .output()
            .unwrap()
    }

    fn ok(&self, now: &str, args: &[&str]) -> String {
        let out = self.ssi(now, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn notify(&self, now: &str) -> String {
        let out = self.ssi(now, &["notify", "--retry-sec", "0"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

const T0: &str = "2026-12-05 10:00:00 UTC";

fn none() -> Vec<String> {
    Vec::new()
}

#[test]
fn a_silenced_failure_runs_no_hook_and_is_told_once_lifted() {
    let s = Site::new();
    s.script("disk.sh", "");
    s.hook("rec");
    s.status("disk", "OK");
    s.notify(T0);
    let out = s.ok(T0, &["silence", "disk", "--reason", "disk swap"]);
    assert_eq!(out, "disk: silenced until lifted\n");
    s.status("disk", "FAILURE");
    let log = s.notify(T0);
    assert!(log.contains("disk: change not told: silenced by "), "{log}");
    assert!(log.contains(": disk swap"), "{log}");
    assert_eq!(s.told("rec"), none());
    let list = s.ok(T0, &["list"]);
    assert!(list.contains("FAILURE [silenced]"), "{list}");
    assert_eq!(s.ok(T0, &["unsilence", "disk"]), "disk: silence lifted\n");
    s.notify(T0);
    assert_eq!(s.told("rec"), ["change disk OK -> FAILURE"]);
    s.notify(T0);
    s.status("disk", "OK");
    s.notify(T0);
    assert_eq!(
        s.told("rec"),
        ["change disk OK -> FAILURE", "recovery disk FAILURE -> OK"]
    );
}

#[test]
fn a_silence_for_a_span_expires_by_itself_and_is_dropped() {
    let s = Site::new();
    s.script("disk.sh", "");
    s.hook("rec");
    s.status("disk", "OK");
    s.notify(T0);
    s.ok(T0, &["silence", "disk", "--for", "30min"]);
    s.status("disk", "WARNING");
    s.notify("2026-12-05 10:29:59 UTC");
    assert_eq!(s.told("rec"), none());
    let log = s.notify("2026-12-05 10:30:00 UTC");
    assert!(log.contains("disk: silence ended"), "{log}");
    assert_eq!(s.told("rec"), ["change disk OK -> WARNING"]);
    let state = fs::read_to_string(s.path("state/quiet.json")).unwrap();
    assert!(!state.contains("\"disk\""), "dropped: {state}");
}

#[test]
fn an_acknowledged_failure_is_quiet_until_recovery_which_is_told_once() {
    let s = Site::new();
    s.script("disk.sh", "# remind-every: 5min\n");
    s.hook("rec");
    s.status("disk", "OK");
    s.notify(T0);
    s.status("disk", "FAILURE");
    s.notify(T0);
    assert_eq!(s.told("rec"), ["change disk OK -> FAILURE"]);
    let out = s.ok(T0, &["ack", "disk", "--reason", "replacing the disk"]);
    assert_eq!(out, "disk: FAILURE acknowledged until it recovers\n");
    let json: Value = serde_json::from_str(&s.ok(T0, &["show", "disk", "--json"])).unwrap();
    assert_eq!(json["acknowledged"]["reason"], "replacing the disk");
    assert_eq!(json["acknowledged"]["status"], "FAILURE");
    // No reminder while acknowledged, and the same status again is no news.
    s.status("disk", "FAILURE");
    s.notify("2026-12-05 11:00:00 UTC");
    assert_eq!(s.told("rec").len(), 1);
    s.status("disk", "OK");
    let log = s.notify("2026-12-05 11:01:00 UTC");
    assert!(log.contains("disk: acknowledgement ended"), "{log}");
    s.notify("2026-12-05 11:02:00 UTC");
    assert_eq!(
        s.told("rec"),
        ["change disk OK -> FAILURE", "recovery disk FAILURE -> OK"]
    );
    let json: Value = serde_json::from_str(&s.ok(T0, &["show", "disk", "--json"])).unwrap();
    assert_eq!(json["acknowledged"], Value::Null);
}

#[test]
fn a_change_in_a_maintenance_window_is_told_once_at_its_end_if_still_bad() {
    let s = Site::new();
    s.script("disk.sh", "# maintenance: *-*-* 10:00 for 1h\n");
    s.hook("rec");
    s.status("disk", "OK");
    s.notify("2026-12-05 09:00:00 UTC");
    s.status("disk", "FAILURE");
    s.notify("2026-12-05 10:10:00 UTC");
    let list = s.ok("2026-12-05 10:10:00 UTC", &["list"]);
    assert!(list.contains("FAILURE [maintenance]"), "{list}");
    s.notify("2026-12-05 10:59:59 UTC");
    assert_eq!(s.told("rec"), none());
    s.notify("2026-12-05 11:00:00 UTC");
    s.notify("2026-12-05 11:01:00 UTC");
    assert_eq!(s.told("rec"), ["change disk OK -> FAILURE"]);
}

#[test]
fn a_one_off_window_for_everything() {
    let s = Site::new();
    s.script("disk.sh", "");
    s.script("web.sh", "");
    s.hook("rec");
    s.status("disk", "OK");
    s.status("web", "OK");
    s.notify(T0);
    let out = s.ok(
        T0,
        &[
            "silence",
            "--all",
            "--until",
            "2026-12-05 12:00",
            "--reason",
            "upgrade",
        ],
    );
    assert_eq!(
        out,
        "every check: in maintenance until Sat 2026-12-05 12:00:00 UTC\n"
    );
    s.status("disk", "FAILURE");
    s.status("web", "FAILURE");
    s.status("web", "OK");
    s.notify("2026-12-05 11:00:00 UTC");
    assert_eq!(s.told("rec"), none());
    let json: Value =
        serde_json::from_str(&s.ok("2026-12-05 11:00:00 UTC", &["list", "--json"])).unwrap();
    assert_eq!(json[0]["maintenance"]["reason"], "upgrade");
    assert_eq!(json[0]["maintenance"]["all"], true);
    s.notify("2026-12-05 12:00:00 UTC");
    assert_eq!(
        s.told("rec"),
        ["change disk OK -> FAILURE"],
        "web recovered inside"
    );
}

#[test]
fn a_reminder_comes_after_its_interval_and_not_before() {
    let s = Site::new();
    s.script("disk.sh", "# remind-every: 10min\n");
    s.hook("rec");
    s.status("disk", "OK");
    s.notify(T0);
    s.status("disk", "FAILURE");
    s.notify(T0);
    s.notify("2026-12-05 10:09:59 UTC");
    assert_eq!(s.told("rec"), ["change disk OK -> FAILURE"]);
    s.notify("2026-12-05 10:10:00 UTC");
    s.notify("2026-12-05 10:10:30 UTC");
    assert_eq!(
        s.told("rec"),
        [
            "change disk OK -> FAILURE",
            "reminder disk FAILURE -> FAILURE"
        ]
    );
}

#[test]
fn a_global_reminder_interval_applies_to_checks_without_their_own() {
    let s = Site::new();
    s.script("disk.sh", "");
    s.hook("rec");
    s.status("disk", "OK");
    s.notify(T0);
    s.status("disk", "ERROR");
    s.notify(T0);
    let out = s.ssi(
        "2026-12-05 11:00:00 UTC",
        &["notify", "--remind-every", "1h", "--retry-sec", "0"],
    );
    assert!(out.status.success());
    assert_eq!(
        s.told("rec").last().unwrap(),
        "reminder disk ERROR -> ERROR"
    );
    let bad = s.ssi(T0, &["notify", "--remind-every", "often"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("--remind-every \"often\": expected a time span"));
}

#[test]
fn a_routed_hook_gets_only_its_checks() {
    let s = Site::new();
    s.script("disk.sh", "");
    s.script("db-main.sh", "");
    s.hook("dba");
    s.hook("chat");
    fs::write(
        s.path("hooks/dba.route"),
        "# the DBA's pager\nchecks = db_*\nstatuses = FAILURE ERROR OK\n",
    )
    .unwrap();
    s.status("disk", "OK");
    s.status("db_main", "OK");
    s.notify(T0);
    s.status("disk", "FAILURE");
    s.status("db_main", "WARNING");
    s.status("db_main", "FAILURE");
    s.notify(T0);
    assert_eq!(s.told("dba"), ["change db_main WARNING -> FAILURE"]);
    assert_eq!(
        s.told("chat"),
        [
            "change db_main OK -> WARNING",
            "change db_main WARNING -> FAILURE",
            "change disk OK -> FAILURE"
        ]
    );
    let out = s.ok(T0, &["notify-test"]);
    assert!(
        out.contains("dba: ok (route: checks db_*; statuses FAILURE ERROR OK; every event)"),
        "{out}"
    );
    fs::write(s.path("hooks/dba.route"), "checks = DB\n").unwrap();
    let out = s.ssi(T0, &["notify-test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("dba: failed: refused: ")
            && stdout.contains("dba.route: line 1: checks \"DB\": expected"),
        "{stdout}"
    );
}

#[test]
fn lifting_what_is_not_silenced_is_an_error_that_changes_nothing() {
    let s = Site::new();
    s.script("disk.sh", "");
    s.script("web.sh", "");
    s.ok(T0, &["silence", "web"]);
    let before = fs::read(s.path("state/quiet.json")).unwrap();
    let out = s.ssi(T0, &["unsilence", "disk", "web"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ssi-status: disk: not silenced; nothing changed\n"
    );
    assert_eq!(fs::read(s.path("state/quiet.json")).unwrap(), before);
    let out = s.ssi(T0, &["silence", "web", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read(s.path("state/quiet.json")).unwrap(), before);
}

#[test]
fn without_the_rights_to_the_state_the_error_says_so() {
    let s = Site::new();
    s.script("disk.sh", "");
    let locked = s.path("state");
    chmod(s.dir.path(), 0o755);
    chmod(&locked, 0o555);
    // Root writes anyway: run as nobody when we are root.
    let out = if rustix_is_root() {
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                BIN,
                "silence",
                "disk",
            ])
            .env("SSI_SCRIPTS_DIR", s.path("scripts"))
            .env("SSI_LOG_DIR", s.path("logs"))
            .env("SSI_STATE_DIR", &locked)
            .env("SSI_ASSUME_SYSTEMD", "0")
            .output()
            .unwrap()
    } else {
        s.ssi(T0, &["silence", "disk"])
    };
    chmod(&locked, 0o755);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("quiet.lock: cannot open lock file: Permission denied"),
        "{err}"
    );
    assert!(
        err.contains("needs the rights to the notifier's state (root by default)"),
        "{err}"
    );
    assert!(!s.path("state/quiet.json").exists());
}

fn rustix_is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

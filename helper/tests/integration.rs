//! `ssi-status` run as a process on copies of the fixtures, for what
//! trycmd cannot express: JSON checked field by field, the arguments a
//! fake `systemctl` on PATH received, sparse multi-GiB logs and file modes
//! git cannot store.

mod common;

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::compared;
use serde_json::{Map, Value};

const BIN: &str = env!("CARGO_BIN_EXE_ssi-status");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A private copy of a fixture directory (modes kept), to chmod or write.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join(name), tmp.path());
    tmp
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// `ssi-status ARGS` in `dir` with the fixture layout (`scripts/`,
/// `logs/`), UTC, and systemd assumed absent unless `env` says otherwise.
fn ssi_status(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env("TZ", "UTC")
        .env("SSI_SCRIPTS_DIR", dir.join("scripts"))
        .env("SSI_LOG_DIR", dir.join("logs"))
        .env("SSI_ASSUME_SYSTEMD", "0")
        .env_remove("SSI_SYSTEMCTL")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// PATH with `dir/bin` first, so the fixture's fake `systemctl` wins.
fn path_with_fake(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The fields every list/check/show object has, and their JSON types.
const LIST_FIELDS: [(&str, &str); 32] = [
    ("id", "string?"),
    ("unit", "string?"),
    ("path", "string"),
    ("valid", "bool"),
    ("errors", "array"),
    ("problems", "array"),
    ("warnings", "array"),
    ("name", "string?"),
    ("description", "string?"),
    ("version", "string?"),
    ("schedule", "string?"),
    ("timeout", "number?"),
    ("schedule_normalized", "string?"),
    ("status", "string?"),
    ("timestamp", "string?"),
    ("message", "string?"),
    ("log", "string?"),
    ("log_error", "string?"),
    ("late", "bool"),
    ("not_run_yet", "bool"),
    ("next_run", "string?"),
    ("last_trigger", "string?"),
    ("timer_active", "bool?"),
    ("timer_state", "string?"),
    ("service_state", "string?"),
    ("service_result", "string?"),
    ("exit_status", "number?"),
    ("maintenance_window", "string?"),
    ("remind_every", "number?"),
    ("silenced", "object?"),
    ("acknowledged", "object?"),
    ("maintenance", "object?"),
];

fn assert_type(obj: &Map<String, Value>, key: &str, ty: &str) {
    let v = obj
        .get(key)
        .unwrap_or_else(|| panic!("field {key} missing in {obj:?}"));
    let (base, nullable) = ty.strip_suffix('?').map_or((ty, false), |b| (b, true));
    let ok = match v {
        Value::Null => nullable,
        Value::String(_) => base == "string",
        Value::Bool(_) => base == "bool",
        Value::Number(_) => base == "number",
        Value::Array(_) => base == "array",
        Value::Object(_) => base == "object",
    };
    assert!(ok, "field {key}: expected {ty}, got {v}");
}

/// Every object has exactly `fields` (plus `extra`), each of its type.
fn assert_shape(obj: &Map<String, Value>, extra: &[(&str, &str)]) {
    let all: Vec<(&str, &str)> = LIST_FIELDS.iter().chain(extra).copied().collect();
    for (k, t) in &all {
        assert_type(obj, k, t);
    }
    for k in obj.keys() {
        assert!(all.iter().any(|(f, _)| f == k), "unexpected field {k}");
    }
}

fn by_id<'a>(arr: &'a [Value], id: &str) -> &'a Map<String, Value> {
    arr.iter()
        .filter_map(Value::as_object)
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("no object with id {id}"))
}

fn json_array(o: &Output) -> Vec<Value> {
    match serde_json::from_slice(&o.stdout).unwrap() {
        Value::Array(a) => a,
        other => panic!("expected an array, got {other}"),
    }
}

#[test]
fn list_json_statuses_and_shape() {
    let dir = fixtures().join("basic");
    let out = ssi_status(&dir, &["list", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let arr = json_array(&out);
    for o in &arr {
        assert_shape(o.as_object().unwrap(), &[]);
    }
    // Sorted by id, scripts without an id last.
    let ids: Vec<&Value> = arr.iter().map(|o| &o["id"]).collect();
    assert_eq!(
        ids,
        [
            "backup",
            "broken",
            "disk_usage",
            "dummy_service",
            "never_ran",
            "no_time",
            "not_exec",
            "quiet",
            "updates"
        ]
        .iter()
        .map(|s| Value::from(*s))
        .chain([Value::Null])
        .collect::<Vec<_>>()
        .iter()
        .collect::<Vec<_>>()
    );
    assert!(
        !arr.iter()
            .any(|o| o["path"].as_str().unwrap().ends_with('~')),
        "editor backups are skipped"
    );

    // Non-status lines after the last status line do not hide it.
    let d = by_id(&arr, "disk_usage");
    assert_eq!(d["unit"], "ssi_disk_usage");
    assert_eq!(d["name"], "Disk Usage");
    assert_eq!(d["version"], "1.2");
    assert_eq!(d["schedule"], "*:0/5", "trailing comment removed");
    assert_eq!(d["timeout"], 30);
    assert_eq!(d["status"], "WARNING", "lower-case status upper-cased");
    assert_eq!(d["timestamp"], "2026-11-25T10:00:00Z");
    assert_eq!(d["message"], "/ at 91%");
    assert_eq!(d["late"], false);
    assert_eq!(d["log"], dir.join("logs/disk_usage.log").to_str().unwrap());
    // Without systemd the next run is the schedule's (*:0/5; issue 23
    // wants a script's next run in every view), the systemd fields are null.
    let next = d["next_run"].as_str().expect("next_run from the schedule");
    assert!(next.ends_with(":00Z"), "{next}");
    let minute: u32 = next[14..16].parse().unwrap();
    assert_eq!(minute % 5, 0, "{next}");
    for k in [
        "last_trigger",
        "timer_active",
        "timer_state",
        "service_state",
        "service_result",
        "exit_status",
    ] {
        assert_eq!(d[k], Value::Null, "{k}");
    }

    let d = by_id(&arr, "dummy_service");
    assert_eq!(d["status"], "OK");
    assert_eq!(d["message"], "", "a line without message has \"\"");
    assert_eq!(d["timestamp"], "2026-11-25T00:00:00Z");

    // Empty and missing logs: no status yet.
    for id in ["quiet", "never_ran"] {
        let d = by_id(&arr, id);
        for k in ["status", "timestamp", "message", "log_error"] {
            assert_eq!(d[k], Value::Null, "{id}.{k}");
        }
    }

    // A line without time stamp takes the log's modification time.
    let d = by_id(&arr, "no_time");
    assert_eq!(d["status"], "FAILURE");
    assert_eq!(d["message"], "disk gone");
    let mtime = fs::metadata(dir.join("logs/no_time.log"))
        .unwrap()
        .modified()
        .unwrap();
    let mtime = jiff::Timestamp::try_from(mtime).unwrap();
    assert_eq!(d["timestamp"], ssi::status::rfc3339(mtime));

    // Invalid scripts: every problem, one entry each.
    let d = by_id(&arr, "broken");
    assert_eq!(d["valid"], false);
    let errors: Vec<&str> = d["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("name \"ab\"")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("version \"1 2\"")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("description")),
        "{errors:?}"
    );
    assert_eq!(d["description"], Value::Null);
    let d = by_id(&arr, "not_exec");
    assert!(d["errors"][0].as_str().unwrap().contains("not executable"));

    let no_id = arr.last().unwrap();
    assert_eq!(no_id["unit"], Value::Null);
    assert_eq!(no_id["log"], Value::Null);
    assert_eq!(no_id["valid"], false);
    assert!(no_id["errors"][0].as_str().unwrap().contains("'+'"));
}

#[test]
fn one_systemctl_call_for_every_unit() {
    let tmp = copy_fixture("basic");
    let dir = tmp.path();
    let calls = dir.join("calls");
    let path = path_with_fake(dir);
    let env = [
        ("SSI_ASSUME_SYSTEMD", "1"),
        ("PATH", path.as_str()),
        ("FAKE_SYSTEMCTL_LOG", calls.to_str().unwrap()),
    ];
    let out = ssi_status(dir, &["list"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let log = fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "one systemctl call, got {lines:?}");
    let args: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(args[0], "show");
    assert!(args.contains(&"--timestamp=unix"), "{args:?}");
    assert!(
        args.iter()
            .any(|a| a.starts_with("--property=Id,") && a.contains("LastTriggerUSec")),
        "{args:?}"
    );
    let mut units: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with("ssi_"))
        .copied()
        .collect();
    units.sort();
    let ids = [
        "backup",
        "broken",
        "disk_usage",
        "dummy_service",
        "never_ran",
        "no_time",
        "not_exec",
        "quiet",
        "updates",
    ];
    let mut want: Vec<String> = ids
        .iter()
        .flat_map(|i| [format!("ssi_{i}.service"), format!("ssi_{i}.timer")])
        .collect();
    want.sort();
    assert_eq!(units, want);

    // The state columns, from the fake's answers.
    let table = stdout(&out);
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("NEXT RUN") && header.contains("TIMER"),
        "{header}"
    );
    let disk = table
        .lines()
        .find(|l| l.starts_with("disk_usage "))
        .unwrap();
    assert!(disk.contains("2026-11-25 10:10:00"), "{disk}");
    assert!(disk.contains("active (waiting)"), "{disk}");
    let never = table.lines().find(|l| l.starts_with("never_ran ")).unwrap();
    assert!(never.contains("not-found"), "{never}");

    // `show` asks once, about its own two units only.
    fs::remove_file(&calls).unwrap();
    let out = ssi_status(dir, &["show", "disk_usage"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = fs::read_to_string(&calls).unwrap();
    let units: Vec<&str> = log
        .split_whitespace()
        .filter(|a| a.starts_with("ssi_"))
        .collect();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert_eq!(units, ["ssi_disk_usage.timer", "ssi_disk_usage.service"]);
    assert!(stdout(&out).contains("active (waiting); next Wed 2026-11-25 10:10:00 UTC"));

    // `list --json` and `--nagios` ask once too.
    for args in [&["list", "--json"][..], &["--nagios"]] {
        fs::remove_file(&calls).unwrap();
        let out = ssi_status(dir, args, &env);
        assert!(out.status.code().is_some(), "{}", stderr(&out));
        let log = fs::read_to_string(&calls).unwrap();
        assert_eq!(log.lines().count(), 1, "{args:?}: {log}");
    }
}

#[test]
fn systemd_fields_and_late_detection_in_json() {
    let dir = fixtures().join("basic");
    let env = [
        ("SSI_ASSUME_SYSTEMD", "1"),
        ("SSI_SYSTEMCTL", "bin/systemctl"),
    ];
    let out = ssi_status(&dir, &["list", "--json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let arr = json_array(&out);
    for o in &arr {
        assert_shape(o.as_object().unwrap(), &[]);
    }
    // Timer fired at 10:05, timeout 30 s, last status 10:00: late.
    let d = by_id(&arr, "disk_usage");
    assert_eq!(d["late"], true);
    assert_eq!(d["next_run"], "2026-11-25T10:10:00Z");
    assert_eq!(d["last_trigger"], "2026-11-25T10:05:00Z");
    assert_eq!(d["timer_active"], true);
    assert_eq!(d["timer_state"], "active (waiting)");
    assert_eq!(d["service_state"], "inactive (dead)");
    assert_eq!(d["service_result"], "success");
    assert_eq!(d["exit_status"], 0);
    // Timer fired at 00:00 and the status line is from 00:00: not late.
    let d = by_id(&arr, "dummy_service");
    assert_eq!(d["late"], false);
    assert_eq!(d["last_trigger"], "2026-11-25T00:00:00Z");
    // Never triggered ("n/a", empty next elapse): nothing to be late for.
    let d = by_id(&arr, "backup");
    assert_eq!(d["late"], false);
    assert_eq!(d["last_trigger"], Value::Null);
    assert_eq!(d["next_run"], Value::Null);
    assert_eq!(d["timer_active"], false);
    assert_eq!(d["service_result"], "exit-code");
    assert_eq!(d["exit_status"], 3);
    // Units systemd does not know.
    let d = by_id(&arr, "quiet");
    assert_eq!(d["timer_state"], "not-found");
    assert_eq!(d["timer_active"], false);
    // A script without id has no units to ask about.
    let no_id = arr.last().unwrap();
    assert_eq!(no_id["timer_state"], Value::Null);
}

#[test]
fn failing_or_garbled_systemctl_degrades_to_no_state() {
    let tmp = copy_fixture("basic");
    let dir = tmp.path();
    let path = path_with_fake(dir);
    let out = ssi_status(
        dir,
        &["list", "--json"],
        &[
            ("SSI_ASSUME_SYSTEMD", "1"),
            ("PATH", path.as_str()),
            ("FAKE_SYSTEMCTL_BROKEN", "1"),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).starts_with("ssi-status: systemctl show failed"),
        "{}",
        stderr(&out)
    );
    let arr = json_array(&out);
    assert_eq!(by_id(&arr, "disk_usage")["timer_state"], Value::Null);
    assert_eq!(by_id(&arr, "disk_usage")["status"], "WARNING");

    // Exit 0 but nonsense on stdout: no units matched, nothing crashes.
    let garbled = dir.join("bin/garbled");
    fs::write(
        &garbled,
        "#!/bin/sh\nprintf 'Id\\n=\\n\\377\\376 nonsense\\nId=ssi_unrelated.timer\\nLastTriggerUSec=@notanumber\\n'\n",
    )
    .unwrap();
    fs::set_permissions(&garbled, fs::Permissions::from_mode(0o755)).unwrap();
    for args in [&["list"][..], &["show", "disk_usage"], &["--nagios"]] {
        let out = ssi_status(
            dir,
            args,
            &[
                ("SSI_ASSUME_SYSTEMD", "1"),
                ("SSI_SYSTEMCTL", garbled.to_str().unwrap()),
            ],
        );
        assert!(
            matches!(out.status.code(), Some(0..=3)),
            "{args:?}: {out:?}"
        );
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    let out = ssi_status(
        dir,
        &["list", "--json"],
        &[
            ("SSI_ASSUME_SYSTEMD", "1"),
            ("SSI_SYSTEMCTL", garbled.to_str().unwrap()),
        ],
    );
    let arr = json_array(&out);
    let d = by_id(&arr, "disk_usage");
    assert_eq!(d["status"], "WARNING");
    assert_eq!(d["timer_state"], Value::Null);
    assert_eq!(d["late"], false);
}

/// On a terminal (a pty from util-linux `script`), statuses are coloured
/// unless NO_COLOR is set; skipped without `script`.
#[test]
fn colours_on_a_terminal_unless_no_color() {
    let dir = fixtures().join("basic");
    let on_tty = |no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &format!("{BIN} list"), "/dev/null"])
            .current_dir(&dir)
            .env("TZ", "UTC")
            .env("SSI_SCRIPTS_DIR", "scripts")
            .env("SSI_LOG_DIR", "logs")
            .env("SSI_ASSUME_SYSTEMD", "0")
            .env("COLUMNS", "400")
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        cmd.output().ok().filter(|o| o.status.success())
    };
    let Some(coloured) = on_tty(None) else {
        eprintln!("script(1) not available, skipped");
        return;
    };
    let coloured = stdout(&coloured);
    assert!(coloured.contains("\x1b[33mWARNING\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[1;31mINVALID\x1b[0m"), "{coloured}");
    let plain = stdout(&on_tty(Some("1")).unwrap());
    assert!(
        plain.contains("WARNING") && !plain.contains('\x1b'),
        "{plain}"
    );
    // An empty NO_COLOR does not count (no-color.org).
    assert!(stdout(&on_tty(Some("")).unwrap()).contains('\x1b'));
}

#[test]
fn long_messages_are_cut_on_a_narrow_terminal() {
    let dir = fixtures().join("basic");
    let run = |args: &str| {
        Command::new("script")
            .args(["-qec", &format!("{BIN} {args}"), "/dev/null"])
            .current_dir(&dir)
            .env("TZ", "UTC")
            .env("SSI_SCRIPTS_DIR", "scripts")
            .env("SSI_LOG_DIR", "logs")
            .env("SSI_ASSUME_SYSTEMD", "0")
            .env("COLUMNS", "100")
            .env("NO_COLOR", "1")
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let Some(cut) = run("list") else {
        eprintln!("script(1) not available, skipped");
        return;
    };
    let cut = stdout(&cut);
    let broken = cut.lines().find(|l| l.starts_with("broken ")).unwrap();
    assert!(broken.trim_end().ends_with('…'), "{broken}");
    assert!(broken.trim_end().chars().count() <= 100, "{broken}");
    let full = stdout(&run("list --full").unwrap());
    let broken = full.lines().find(|l| l.starts_with("broken ")).unwrap();
    assert!(
        broken.trim_end().ends_with("line in the header"),
        "{broken}"
    );
}

#[test]
fn group_writable_script_is_refused() {
    let tmp = copy_fixture("nagios-ok");
    let dir = tmp.path();
    let script = dir.join("scripts/updates.sh");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o775)).unwrap();
    let out = ssi_status(dir, &["list", "--json"], &[]);
    let arr = json_array(&out);
    let d = by_id(&arr, "updates");
    assert_eq!(d["valid"], false);
    assert!(
        d["errors"][0]
            .as_str()
            .unwrap()
            .contains("writable by group or others (mode 0775)"),
        "{d:?}"
    );
    let out = ssi_status(dir, &["check", script.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("writable by group or others"));
}

#[test]
fn unreadable_log_is_reported_not_fatal() {
    let tmp = copy_fixture("nagios-ok");
    let dir = tmp.path();
    let log = dir.join("logs/updates.log");
    fs::remove_file(&log).unwrap();
    fs::create_dir(&log).unwrap();
    let out = ssi_status(dir, &["list", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let arr = json_array(&out);
    let d = by_id(&arr, "updates");
    assert_eq!(d["status"], Value::Null);
    let err = d["log_error"].as_str().unwrap();
    assert!(
        err.starts_with(&format!("cannot read {}: ", log.display())) && err.contains("directory"),
        "{err}"
    );
    assert_eq!(
        by_id(&arr, "dummy_service")["status"],
        "OK",
        "the others are fine"
    );

    let out = ssi_status(dir, &["show", "updates"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("(cannot read {}: ", log.display())));
}

/// A log of `size` bytes that is one big hole, then `tail`.
fn sparse_log(path: &Path, size: u64, tail: &[u8]) {
    let mut f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    f.seek(SeekFrom::End(0)).unwrap();
    f.write_all(tail).unwrap();
}

#[test]
fn sparse_multi_gib_log() {
    let tmp = copy_fixture("nagios-ok");
    let dir = tmp.path();
    let log = dir.join("logs/updates.log");
    sparse_log(
        &log,
        3 << 30,
        b"\n2026-11-25 11:00:00, warning, 12 pending\nnot a status line\n",
    );
    let out = ssi_status(dir, &["list", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let arr = json_array(&out);
    let d = by_id(&arr, "updates");
    assert_eq!(d["status"], "WARNING");
    assert_eq!(d["message"], "12 pending");
    assert_eq!(d["timestamp"], "2026-11-25T11:00:00Z");

    let out = ssi_status(dir, &["show", "updates", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let obj: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tail: Vec<&str> = obj["log_tail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(tail.last().copied(), Some("not a status line"), "{tail:?}");
    assert_eq!(
        tail[tail.len() - 2],
        "2026-11-25 11:00:00, warning, 12 pending"
    );

    // A multi-GiB log that is nothing but zeros has no status, and still
    // answers (only the end is read).
    sparse_log(&log, 2 << 30, b"");
    let out = ssi_status(dir, &["list", "--json"], &[]);
    let arr = json_array(&out);
    assert_eq!(by_id(&arr, "updates")["status"], Value::Null);
}

#[test]
fn show_json_fields() {
    let dir = fixtures().join("basic");
    let out = ssi_status(&dir, &["show", "ssi_disk_usage.service", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let obj: Value = serde_json::from_slice(&out.stdout).unwrap();
    let obj = obj.as_object().unwrap();
    assert_shape(
        obj,
        &[
            ("service_unit", "string?"),
            ("timer_unit", "string?"),
            ("systemd", "bool"),
            ("log_tail", "array"),
            ("availability", "object?"),
            ("last_run_duration_ms", "number?"),
        ],
    );
    assert_eq!(obj["id"], "disk_usage");
    let av = obj["availability"].as_object().unwrap();
    for window in ["24h", "7d"] {
        let share = av[window].as_object().unwrap();
        assert_type(share, "good", "number");
        assert_type(share, "total", "number");
        assert_type(share, "ratio", "number?");
    }
    assert_type(av, "complete", "bool");
    assert_type(av, "since", "string?");
    assert_eq!(obj["service_unit"], "ssi_disk_usage.service");
    assert_eq!(obj["timer_unit"], "ssi_disk_usage.timer");
    assert_eq!(obj["systemd"], false);
    assert_eq!(obj["status"], "WARNING");
    let tail = obj["log_tail"].as_array().unwrap();
    assert_eq!(tail.len(), 5);
    assert_eq!(tail[0], "2026-11-25 09:55:00, OK, / at 80%");
    // Invalid UTF-8 is replaced, never fatal.
    assert!(tail[4].as_str().unwrap().contains('\u{FFFD}'));
}

#[test]
fn check_json_fields() {
    let dir = fixtures().join("basic");
    let out = ssi_status(
        &dir,
        &[
            "check",
            "--json",
            "--base-time",
            "2026-11-26 10:00:00",
            "--iterations",
            "2",
            "scripts/updates.sh",
            "scripts/broken.sh",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "broken.sh is invalid");
    let arr = json_array(&out);
    for o in &arr {
        assert_shape(o.as_object().unwrap(), &[("next_elapse", "array")]);
    }
    assert_eq!(arr[0]["id"], "broken", "sorted by id");
    assert_eq!(arr[0]["valid"], false);
    assert_eq!(arr[1]["id"], "updates");
    assert_eq!(arr[1]["status"], "UPDATE", "status read from the log dir");
    assert_eq!(arr[1]["timeout"], 300);
}

#[test]
fn check_json_schedule_and_elapses() {
    let dir = fixtures().join("basic");
    let out = ssi_status(
        &dir,
        &[
            "check",
            "--json",
            "--base-time",
            "2026-11-26 10:00:00",
            "--iterations",
            "3",
            "scripts/updates.sh",
            "scripts/disk-usage.bash",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let arr = json_array(&out);
    let d = by_id(&arr, "disk_usage");
    assert_eq!(d["valid"], true);
    assert_eq!(d["schedule_normalized"], "*-*-* *:00/5:00");
    assert_eq!(
        d["next_elapse"],
        serde_json::json!([
            "Thu 2026-11-26 10:05:00 UTC",
            "Thu 2026-11-26 10:10:00 UTC",
            "Thu 2026-11-26 10:15:00 UTC"
        ])
    );
    let u = by_id(&arr, "updates");
    assert_eq!(u["schedule_normalized"], "Mon..Fri *-*-* 08:00:00");
    assert_eq!(
        u["next_elapse"],
        serde_json::json!([
            "Fri 2026-11-27 08:00:00 UTC",
            "Mon 2026-11-30 08:00:00 UTC",
            "Tue 2026-12-01 08:00:00 UTC"
        ])
    );
}

#[test]
fn list_marks_valid_scripts() {
    let dir = fixtures().join("basic");
    let out = ssi_status(&dir, &["list", "--json"], &[]);
    let arr = json_array(&out);
    for id in ["disk_usage", "dummy_service", "updates", "backup", "quiet"] {
        assert_eq!(by_id(&arr, id)["valid"], true, "{id}");
        assert_eq!(by_id(&arr, id)["errors"], serde_json::json!([]), "{id}");
    }
    assert_eq!(
        by_id(&arr, "dummy_service")["schedule_normalized"],
        "*-*-* 00:00:00"
    );
}

/// `check` prints the normalized form and the elapses exactly as the
/// installed `systemd-analyze calendar` does (skipped without it).
#[test]
fn check_agrees_with_systemd_analyze() {
    assert!(
        Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_ok(),
        "systemd-analyze is not installed (sudo make test-deps installs it)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let schedules = [
        "*:0/5",
        "daily",
        "Mon..Fri 08:00",
        "weekly",
        "*-*-01 00:00",
        "Sat,Sun 10:30",
        "*-02-29 12:00",
        "quarterly",
        "*:*:0/10",
        "*-*-* 02:30",
    ];
    // Around the spring DST change in Europe (29 March 2026).
    let base = "2026-03-28 12:00:00 UTC";
    for (i, schedule) in schedules.iter().enumerate() {
        let script = tmp.path().join(format!("s{i}.sh"));
        fs::write(
            &script,
            format!("#!/bin/sh\n# name: Schedule {i}\n# description: d\n# version: 1\n# schedule: {schedule}\necho OK\n"),
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        for tz in ["UTC", "Europe/Berlin", "America/New_York"] {
            let ours = ssi_status(
                tmp.path(),
                &[
                    "check",
                    "--base-time",
                    base,
                    "--iterations",
                    "4",
                    script.to_str().unwrap(),
                ],
                &[("TZ", tz)],
            );
            assert_eq!(ours.status.code(), Some(0), "{schedule}: {}", stdout(&ours));
            let theirs = Command::new("systemd-analyze")
                .args([
                    "calendar",
                    "--iterations=4",
                    &format!("--base-time={base}"),
                    schedule,
                ])
                .env("TZ", tz)
                .output()
                .unwrap();
            assert!(theirs.status.success(), "{schedule}");
            let (ours, theirs) = (compared(&stdout(&ours)), compared(&stdout(&theirs)));
            assert!(theirs.len() >= 2, "{schedule} {tz}: {theirs:?}");
            assert_eq!(ours, theirs, "{schedule} in {tz}");
        }
    }
}

#[test]
fn unreadable_log_in_the_table() {
    let tmp = copy_fixture("nagios-ok");
    let dir = tmp.path();
    let log = dir.join("logs/updates.log");
    fs::remove_file(&log).unwrap();
    fs::create_dir(&log).unwrap();
    let out = ssi_status(dir, &["list"], &[]);
    let table = stdout(&out);
    let row = table.lines().find(|l| l.starts_with("updates ")).unwrap();
    assert!(
        row.contains(&format!("cannot read {}", log.display())),
        "{row}"
    );
}

#[test]
fn run_starts_the_unit_and_prints_the_new_status() {
    let tmp = copy_fixture("basic");
    let dir = tmp.path();
    let calls = dir.join("calls");
    let path = path_with_fake(dir);
    let out = ssi_status(
        dir,
        &["run", "ssi_dummy_service"],
        &[
            ("SSI_ASSUME_SYSTEMD", "1"),
            ("PATH", path.as_str()),
            ("FAKE_SYSTEMCTL_LOG", calls.to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(&calls).unwrap(),
        "start ssi_dummy_service.service\n"
    );
    assert!(
        stdout(&out).ends_with(", OK, ran by the fake systemctl\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn prometheus_output_replaces_the_file_atomically() {
    let tmp = copy_fixture("basic");
    let out_dir = tmp.path().join("textfile");
    fs::create_dir(&out_dir).unwrap();
    let prom = out_dir.join("ssi.prom");
    fs::write(&prom, "old content\n").unwrap();
    // A reader that opened the old file (node_exporter mid-read) keeps
    // reading the whole old file: the new one is renamed over it, never
    // truncated and rewritten in place.
    let mut old = File::open(&prom).unwrap();
    let o = ssi_status(
        tmp.path(),
        &["list", "--prometheus", "--output", prom.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "nothing printed with --output");
    let mut was = String::new();
    std::io::Read::read_to_string(&mut old, &mut was).unwrap();
    assert_eq!(was, "old content\n");
    let now = fs::read_to_string(&prom).unwrap();
    let printed = stdout(&ssi_status(tmp.path(), &["list", "--prometheus"], &[]));
    assert_eq!(now, printed, "the file holds what --prometheus prints");
    assert!(now.contains("ssi_check_status{id=\"backup\",status=\"FAILURE\"} 1\n"));
    assert_eq!(
        fs::metadata(&prom).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let names: Vec<_> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["ssi.prom"], "no temporary file left behind");
}

#[test]
fn prometheus_output_error_names_the_file() {
    let tmp = copy_fixture("basic");
    let dir = tmp.path().join("ro");
    fs::create_dir(&dir).unwrap();
    // A directory where the file should be: the rename fails, and the
    // temporary file is cleaned up.
    fs::create_dir(dir.join("ssi.prom")).unwrap();
    fs::write(dir.join("ssi.prom/keep"), "").unwrap();
    let target = dir.join("ssi.prom");
    let o = ssi_status(
        tmp.path(),
        &["list", "--prometheus", "--output", target.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("to {}: ", target.display())) && err.contains("cannot rename"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "temporary removed");
}

/// The names of the files in the watched directory that were opened or
/// read since the last call (events on the directory itself have no name
/// and are left out).
fn opened_names(inotify: &rustix::fd::OwnedFd) -> Vec<String> {
    use rustix::fs::inotify::Reader;
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
    let mut reader = Reader::new(inotify, &mut buf);
    let mut names = Vec::new();
    loop {
        match reader.next() {
            Ok(ev) => {
                if let Some(name) = ev.file_name() {
                    names.push(name.to_string_lossy().into_owned());
                }
            }
            Err(rustix::io::Errno::AGAIN) => break,
            Err(e) => panic!("reading inotify events: {e}"),
        }
    }
    names.sort();
    names.dedup();
    names
}

/// `show ID` and `run ID` read only ID's log: another service's log that
/// is a FIFO changes nothing in their output or exit status, and the
/// kernel (inotify on the log dir) sees no other log opened, while
/// `list`, which reads every log, opens it and reports it.
#[test]
fn show_and_run_read_only_their_own_log() {
    use rustix::fs::inotify::{self, CreateFlags, WatchFlags};

    /// Exit status, stdout and stderr of `show dummy_service` then `run
    /// dummy_service` (its time cut off) with the fixture's path as
    /// `[DIR]`, and the logs each opened; with backup.log a FIFO when
    /// `fifo`. Then `list`, which must show what a FIFO does to a reader.
    fn session(fifo: bool) -> Vec<(Option<i32>, String, String, Vec<String>)> {
        let tmp = copy_fixture("basic");
        let dir = tmp.path();
        let logs = dir.join("logs");
        let other = logs.join("backup.log");
        if fifo {
            fs::remove_file(&other).unwrap();
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &other,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o600),
                0,
            )
            .unwrap();
        }
        let watch = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).unwrap();
        inotify::add_watch(&watch, &logs, WatchFlags::OPEN | WatchFlags::ACCESS).unwrap();
        let path = path_with_fake(dir);
        let show_env = [("SSI_NOW", "2026-11-25 12:00:00 UTC")];
        let run_env = [("SSI_ASSUME_SYSTEMD", "1"), ("PATH", path.as_str())];
        let mut seen = Vec::new();
        for (args, env) in [
            (["show", "dummy_service"], &show_env[..]),
            (["run", "dummy_service"], &run_env[..]),
        ] {
            let o = ssi_status(dir, &args, env);
            let mut out = stdout(&o).replace(&dir.display().to_string(), "[DIR]");
            if args[0] == "run" {
                // The line starts with the time of the run.
                out = out.split_once(", ").map_or("", |(_, r)| r).to_owned();
            }
            let err = stderr(&o).replace(&dir.display().to_string(), "[DIR]");
            seen.push((o.status.code(), out, err, opened_names(&watch)));
        }

        let list = ssi_status(dir, &["list", "--full"], &[]);
        assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
        assert!(opened_names(&watch).contains(&"backup.log".to_owned()));
        let table = stdout(&list);
        let row = table.lines().find(|l| l.starts_with("backup ")).unwrap();
        let warned = row.contains(&format!(
            "cannot read {}: not a regular file but a FIFO",
            other.display()
        ));
        assert_eq!(warned, fifo, "{row}");
        seen
    }

    let normal = session(false);
    let with_fifo = session(true);
    assert_eq!(with_fifo, normal);
    let (show, run) = (&with_fifo[0], &with_fifo[1]);
    assert_eq!(show.0, Some(0), "{}", show.2);
    assert_eq!(run.0, Some(0), "{}", run.2);
    assert_eq!(run.1, "OK, ran by the fake systemctl\n");
    for (_, out, err, opened) in &with_fifo {
        assert_eq!(opened, &["dummy_service.log"]);
        assert!(
            !out.contains("backup") && !err.contains("backup"),
            "{out}{err}"
        );
    }
}

//! `ssi-status notify`, `notify-deliver` and `notify-test` as processes,
//! without systemd (`SSI_ASSUME_SYSTEMD=0`: the notifier then delivers
//! itself), against real hook scripts that record what they got.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ssi-status");

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    /// A scripts dir with one check `disk` (extra manifest lines in
    /// `header`), a log dir, a hooks dir and a state dir.
    fn new(header: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        for d in ["scripts", "logs", "hooks", "state"] {
            fs::create_dir(dir.path().join(d)).unwrap();
            chmod(&dir.path().join(d), 0o755);
        }
        let s = dir.path().join("scripts/disk.bash");
        fs::write(
            &s,
            format!("#!/bin/sh\n# name: Disk usage\n# description: d\n# version: 1\n# schedule: hourly\n{header}echo OK\n"),
        )
        .unwrap();
        chmod(&s, 0o755);
        Site { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// A hook that appends its SSI_ environment and stdin to `<name>.out`,
    /// then runs `then`.
    fn hook(&self, name: &str, then: &str) {
        let out = self.path(&format!("{name}.out"));
        let p = self.path("hooks").join(name);
        fs::write(
            &p,
            format!(
                "#!/bin/sh\n{{ env | grep '^SSI_[A-Z_]*=' | grep -v _DIR= | sort; cat; }} >> '{}'\n{then}\n",
                out.display()
            ),
        )
        .unwrap();
        chmod(&p, 0o755);
    }

    fn runs(&self, name: &str) -> Vec<Value> {
        fs::read_to_string(self.path(&format!("{name}.out")))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn status(&self, line: &str) {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("logs/disk.log"))
            .unwrap()
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn ssi(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("SSI_SCRIPTS_DIR", self.path("scripts"))
            .env("SSI_LOG_DIR", self.path("logs"))
            .env("SSI_HOOKS_DIR", self.path("hooks"))
            .env("SSI_STATE_DIR", self.path("state"))
            .env("SSI_ASSUME_SYSTEMD", "0")
            .env("TZ", "UTC")
            .env_remove("SSI_NOTIFY_AFTER");
        cmd
    }

    fn notify(&self) -> Output {
        let out = self.ssi(&["notify", "--retry-sec", "0"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn summary(runs: &[Value]) -> Vec<String> {
    runs.iter()
        .map(|r| {
            format!(
                "{} {} -> {}",
                r["event"].as_str().unwrap(),
                r["previous_status"].as_str().unwrap(),
                r["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn ok_failure_failure_ok_tells_a_change_and_a_recovery_once() {
    let site = Site::new("");
    site.hook("rec", "");
    for (i, st) in ["OK", "FAILURE", "FAILURE", "OK"].iter().enumerate() {
        site.status(&format!("2026-11-26 10:0{i}:00, {st}, disk {st}"));
        site.notify();
    }
    site.notify();
    let runs = site.runs("rec");
    assert_eq!(
        summary(&runs),
        ["change OK -> FAILURE", "recovery FAILURE -> OK"]
    );
    assert_eq!(runs[0]["message"], "disk FAILURE");
    assert_eq!(runs[0]["timestamp"], "2026-11-26T10:01:00Z");
    assert_eq!(runs[0]["name"], "Disk usage");
    // The environment says the same as the JSON.
    let text = fs::read_to_string(site.path("rec.out")).unwrap();
    for var in [
        "SSI_EVENT=change",
        "SSI_ID=disk",
        "SSI_NAME=Disk usage",
        "SSI_STATUS=FAILURE",
        "SSI_PREVIOUS_STATUS=OK",
        "SSI_MESSAGE=disk FAILURE",
        "SSI_TIMESTAMP=2026-11-26T10:01:00Z",
    ] {
        assert!(text.lines().any(|l| l == var), "{var} in {text}");
    }
    let state: Value =
        serde_json::from_str(&fs::read_to_string(site.path("state/notify.state")).unwrap())
            .unwrap();
    assert_eq!(state["outbox"], serde_json::json!({}));
}

#[test]
fn notify_after_3_keeps_a_single_failure_quiet() {
    let site = Site::new("# notify-after: 3\n");
    site.hook("rec", "");
    for st in ["OK", "FAILURE", "OK", "OK", "FAILURE", "FAILURE", "OK"] {
        site.status(st);
        site.notify();
    }
    assert_eq!(summary(&site.runs("rec")), Vec::<String>::new());
    // The generator's rules accept the key: the check stays valid.
    let out = site.ssi(&["check", site.path("scripts/disk.bash").to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The global default applies to checks without the key.
    let site = Site::new("");
    site.hook("rec", "");
    for st in ["OK", "FAILURE", "OK", "FAILURE", "FAILURE"] {
        site.status(st);
        let out = site.ssi(&["notify", "--after", "2"]);
        assert!(out.status.success());
    }
    assert_eq!(summary(&site.runs("rec")), ["change OK -> FAILURE"]);
}

#[test]
fn a_failing_hook_is_retried_then_given_up_and_never_blocks_another() {
    let site = Site::new("");
    site.hook("bad", "exit 7");
    site.hook("good", "");
    site.status("OK");
    site.notify();
    site.status("FAILURE");
    let out = site.ssi(&["notify", "--attempts", "3", "--retry-sec", "0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(site.runs("bad").len(), 3, "{stderr}");
    assert_eq!(site.runs("good").len(), 1, "{stderr}");
    assert!(
        stderr.contains("bad (change of disk): attempt 3 of 3 failed: exit status: 7; giving up"),
        "{stderr}"
    );
    // Given up is done: the next pass does not start it again.
    site.notify();
    assert_eq!(site.runs("bad").len(), 3);
}

#[test]
fn an_untrusted_hook_is_refused_with_the_reason() {
    let site = Site::new("");
    site.hook("open", "");
    chmod(&site.path("hooks/open"), 0o777);
    site.status("OK");
    site.notify();
    site.status("ERROR");
    let out = site.notify();
    assert_eq!(site.runs("open").len(), 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hooks/open: it is writable by group or others")
            || stderr.contains("writable by group or others"),
        "{stderr}"
    );
}

#[test]
fn a_bad_state_file_is_named_kept_and_nothing_is_re_sent() {
    let site = Site::new("");
    site.hook("rec", "");
    site.status("FAILURE");
    site.notify();
    fs::write(site.path("state/notify.state"), "garbage").unwrap();
    let out = site.notify();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: expected value",
            site.path("state/notify.state").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("kept as"), "{stderr}");
    let kept: Vec<_> = fs::read_dir(site.path("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("notify.state.bad-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        site.runs("rec").len(),
        0,
        "the present FAILURE is not re-sent"
    );
    site.status("OK");
    site.notify();
    assert_eq!(summary(&site.runs("rec")), ["recovery FAILURE -> OK"]);
}

#[test]
fn notify_test_reports_each_hook() {
    let site = Site::new("");
    site.hook("good", "echo sent");
    site.hook("bad", "exit 3");
    site.status("2026-11-26 10:00:00, WARNING, / at 91%");
    let out = site.ssi(&["notify-test", "disk"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let hooks = site.path("hooks");
    assert_eq!(
        stdout,
        format!(
            "{0}/bad: failed: exit status: 3\n{0}/good: ok\n",
            hooks.display()
        )
    );
    let runs = site.runs("good");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0]["event"].as_str(),
            runs[0]["id"].as_str(),
            runs[0]["status"].as_str()
        ),
        (Some("test"), Some("disk"), Some("WARNING"))
    );
    // A test is no change: "WARNING (was WARNING)" in a mail read as one.
    assert_eq!(runs[0]["previous_status"].as_str(), Some(""));
    fs::remove_file(site.path("hooks/bad")).unwrap();
    let out = site.ssi(&["notify-test"]);
    assert!(out.status.success());
}

#[test]
fn a_broken_manifest_is_told_once_as_invalid_and_its_fix_as_valid() {
    let site = Site::new("");
    site.hook("rec", "");
    site.status("OK");
    site.notify();
    site.status("FAILURE");
    site.notify();
    let script = site.path("scripts/disk.bash");
    let good = fs::read_to_string(&script).unwrap();
    fs::write(&script, good.replace("hourly", "*:0/5x")).unwrap();
    site.notify();
    site.notify();
    let runs = site.runs("rec");
    assert_eq!(summary(&runs), ["change OK -> FAILURE", "invalid  -> "]);
    // The problems as `ssi-status list` and `check` give them.
    let out = site.ssi(&["list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<&str> = list[0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(!errors.is_empty() && errors[0].contains("*:0/5x"), "{list}");
    assert_eq!(runs[1]["message"], errors.join("; "));
    assert_eq!(
        (runs[1]["id"].as_str(), runs[1]["name"].as_str()),
        (Some("disk"), Some("Disk usage"))
    );
    let text = fs::read_to_string(site.path("rec.out")).unwrap();
    for var in [
        "SSI_EVENT=invalid",
        "SSI_ID=disk",
        "SSI_STATUS=",
        "SSI_PREVIOUS_STATUS=",
    ] {
        assert!(text.lines().any(|l| l == var), "{var} in {text}");
    }
    // Fixed: told once, and the log's history is not told again.
    fs::write(&script, &good).unwrap();
    site.notify();
    site.notify();
    let runs = site.runs("rec");
    assert_eq!(
        summary(&runs),
        ["change OK -> FAILURE", "invalid  -> ", "valid  -> "]
    );
    assert_eq!(runs[2]["message"], "valid again");
    // A broken script dropped in is told; once deleted, nothing is.
    let new = site.path("scripts/new-check.sh");
    fs::write(&new, "#!/bin/sh\n# name: New\necho OK\n").unwrap();
    chmod(&new, 0o755);
    site.notify();
    fs::remove_file(&new).unwrap();
    site.notify();
    let runs = site.runs("rec");
    assert_eq!(runs.len(), 4, "{}", summary(&runs).join(", "));
    assert_eq!(
        (runs[3]["event"].as_str(), runs[3]["id"].as_str()),
        (Some("invalid"), Some("new_check"))
    );
    assert!(
        runs[3]["message"]
            .as_str()
            .unwrap()
            .contains("missing \"# description:\" line"),
        "{}",
        runs[3]
    );
}

/// Two notifier passes at once (as two path units, or a path unit and the
/// timer, start them) deliver each change once: whoever delivers claims
/// the delivery first. It was delivered twice ("attempt 2").
#[test]
fn two_passes_at_once_deliver_each_change_once() {
    let site = Site::new("");
    // Slow enough that the second pass comes while the first delivers.
    site.hook("rec", "sleep 1");
    site.status("OK");
    site.notify();
    for st in ["FAILURE", "OK"] {
        site.status(st);
        let passes: Vec<_> = (0..2)
            .map(|_| {
                site.cmd(&["notify", "--retry-sec", "0"])
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for p in passes {
            let out = p.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            assert!(!stderr.contains("attempt 2"), "{stderr}");
        }
    }
    site.notify();
    assert_eq!(
        summary(&site.runs("rec")),
        ["change OK -> FAILURE", "recovery FAILURE -> OK"]
    );
    assert!(fs::read_dir(site.path("state/notify.owed"))
        .unwrap()
        .next()
        .is_none());
}

/// Many changes in one pass reach a hook in the order they happened
/// (delivery "10-…" was run before "2-…").
#[test]
fn many_changes_in_one_pass_are_delivered_in_order() {
    let site = Site::new("");
    site.hook("rec", "");
    site.status("OK");
    site.notify();
    let mut want = Vec::new();
    let mut before = "OK";
    for i in 0..12 {
        let st = if i % 2 == 0 { "FAILURE" } else { "OK" };
        site.status(&format!("2026-11-26 10:{i:02}:00, {st}, run {i}"));
        let kind = if st == "OK" { "recovery" } else { "change" };
        want.push(format!("{kind} {before} -> {st}"));
        before = st;
    }
    site.notify();
    let runs = site.runs("rec");
    assert_eq!(summary(&runs), want);
    let messages: Vec<_> = runs
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    let in_order: Vec<_> = (0..12).map(|i| format!("run {i}")).collect();
    assert_eq!(messages, in_order);
}

/// A status line followed by 1.2 MB of other output is told, as `list`
/// shows it (the notifier jumped to the last MiB and never told it).
#[test]
fn a_status_line_before_much_output_is_told() {
    let site = Site::new("");
    site.hook("rec", "");
    site.status("OK");
    site.notify();
    site.status("2026-11-26 10:05:00, FAILURE, disk gone");
    let noise = format!("{}\n", "trace ".repeat(99)).repeat(2100);
    assert!(noise.len() > 1_200_000);
    site.status(noise.trim_end());
    let list: Value = serde_json::from_slice(&site.ssi(&["list", "--json"]).stdout).unwrap();
    assert_eq!(list[0]["status"], "FAILURE");
    site.notify();
    let runs = site.runs("rec");
    assert_eq!(summary(&runs), ["change OK -> FAILURE"]);
    assert_eq!(runs[0]["message"], "disk gone");
}

/// A NUL byte (from /proc/PID/cmdline) in a message, or an escape
/// sequence, no longer makes the event undeliverable ("cannot start: nul
/// byte found in provided data", given up, exit 0): the hook gets U+FFFD.
#[test]
fn a_message_with_control_bytes_is_delivered_cleaned() {
    let site = Site::new("");
    site.hook("rec", "");
    site.status("OK");
    site.notify();
    site.status("FAILURE, runaway: sleep\u{0}100\u{1b}[2J");
    let out = site.notify();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("delivered (attempt 1)"), "{stderr}");
    let runs = site.runs("rec");
    assert_eq!(summary(&runs), ["change OK -> FAILURE"]);
    assert_eq!(runs[0]["message"], "runaway: sleep\u{fffd}100\u{fffd}[2J");
    let text = fs::read_to_string(site.path("rec.out")).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "SSI_MESSAGE=runaway: sleep\u{fffd}100\u{fffd}[2J"),
        "{text}"
    );
}

/// A fake `systemctl` in the site that appends each call's arguments to
/// `systemctl.calls` (and prints nothing, as `start --no-block` does).
fn fake_systemctl(site: &Site) -> PathBuf {
    let p = site.path("systemctl");
    fs::write(
        &p,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\n",
            site.path("systemctl.calls").display()
        ),
    )
    .unwrap();
    chmod(&p, 0o755);
    p
}

/// The delivery keys each `systemctl start` call named, one list per call
/// (calls other than `start` are left out).
fn started(site: &Site) -> Vec<Vec<String>> {
    let calls = fs::read_to_string(site.path("systemctl.calls")).unwrap_or_default();
    fs::remove_file(site.path("systemctl.calls")).ok();
    calls
        .lines()
        .filter(|l| l.starts_with("start "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|u| u.strip_prefix("ssi-notify-hook@"))
                .map(|u| u.trim_end_matches(".service").to_owned())
                .collect()
        })
        .collect()
}

/// Under systemd, each delivery runs in its own unit; two events of one
/// check told in one pass (FAILURE then its recovery) reached the hook in
/// either order, since the pass started both units at once. Now a pass
/// starts only the oldest owed delivery of each hook and check (another
/// check's at once), the second of a check waits while the first is owed,
/// and the first, once delivered or given up, starts the second; a later
/// pass starts whatever is owed and not running.
#[test]
fn under_systemd_one_check_is_told_to_one_hook_in_order() {
    let site = Site::new("");
    let other = site.path("scripts/load.bash");
    fs::write(
        &other,
        "#!/bin/sh\n# name: Load\n# description: l\n# version: 1\n# schedule: hourly\necho OK\n",
    )
    .unwrap();
    chmod(&other, 0o755);
    site.hook("rec", "");
    site.hook("bad", "exit 7");
    let systemctl = fake_systemctl(&site);
    let under_systemd = |args: &[&str]| {
        let out = site
            .cmd(args)
            .env("SSI_ASSUME_SYSTEMD", "1")
            .env("SSI_SYSTEMCTL", &systemctl)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    };
    let load_status = |line: &str| {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(site.path("logs/load.log"))
            .unwrap();
        writeln!(f, "{line}").unwrap();
    };
    site.status("OK");
    load_status("OK");
    site.notify();
    // Both lines at once: one pass owes the change and the recovery.
    site.status("2026-11-26 10:01:00, FAILURE, disk full\n2026-11-26 10:02:00, OK, disk fine");
    load_status("2026-11-26 10:01:30, WARNING, load 9");
    let (code, stderr) = under_systemd(&["notify"]);
    assert_eq!(code, Some(0), "{stderr}");
    let key = |what: &str, hook: &str| -> String {
        let line = stderr
            .lines()
            .find(|l| l.contains(what) && l.ends_with(&format!("-{hook}")))
            .unwrap_or_else(|| panic!("{what} to {hook} in {stderr}"));
        line.rsplit(' ').next().unwrap().to_owned()
    };
    let (fail_rec, ok_rec) = (key("disk: change", "rec"), key("disk: recovery", "rec"));
    let (fail_bad, ok_bad) = (key("disk: change", "bad"), key("disk: recovery", "bad"));
    let load_rec = key("load: change", "rec");
    let load_bad = key("load: change", "bad");
    let mut first = started(&site);
    assert_eq!(first.len(), 1, "one systemctl call: {first:?}");
    first[0].sort();
    let mut want = vec![
        fail_rec.clone(),
        fail_bad.clone(),
        load_rec.clone(),
        load_bad.clone(),
    ];
    want.sort();
    assert_eq!(first[0], want, "only the first of each hook and check");

    // The recovery started out of turn waits: nothing told, still owed.
    let (code, stderr) = under_systemd(&["notify-deliver", &ok_rec]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("waits for delivery {fail_rec}")),
        "{stderr}"
    );
    assert!(site.runs("rec").is_empty());
    assert!(started(&site).is_empty());
    assert!(site.path("state/notify.owed").join(&ok_rec).exists());

    // A later pass (a unit died) starts the first again, not the second.
    let (code, stderr) = under_systemd(&["notify"]);
    assert_eq!(code, Some(0), "{stderr}");
    let mut again = started(&site);
    again[0].sort();
    assert_eq!(again, [want.clone()]);

    // Delivered, the failure starts its recovery, and only that.
    let (code, stderr) = under_systemd(&["notify-deliver", &fail_rec]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary(&site.runs("rec")), ["change OK -> FAILURE"]);
    assert_eq!(started(&site), [[ok_rec.clone()]]);
    let (code, stderr) = under_systemd(&["notify-deliver", &ok_rec]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        summary(&site.runs("rec")),
        ["change OK -> FAILURE", "recovery FAILURE -> OK"]
    );
    // The last of its chain starts nothing.
    assert!(started(&site).is_empty());

    // Given up after its attempts, a delivery lets the next go too.
    let (code, stderr) = under_systemd(&["notify-deliver", "--attempts", "1", &fail_bad]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("giving up"), "{stderr}");
    assert_eq!(started(&site), [[ok_bad.clone()]]);

    // The other check was never held back by disk's chain.
    let (code, stderr) = under_systemd(&["notify-deliver", &load_rec]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(started(&site).is_empty());
    assert_eq!(
        summary(&site.runs("rec")),
        [
            "change OK -> FAILURE",
            "recovery FAILURE -> OK",
            "change OK -> WARNING"
        ]
    );
    // Each exactly once: nothing of rec's is owed any more, and a pass
    // starts only what is (bad's recovery and load's change).
    let (code, stderr) = under_systemd(&["notify"]);
    assert_eq!(code, Some(0), "{stderr}");
    let mut rest = started(&site);
    rest[0].sort();
    let mut want = vec![ok_bad, load_bad];
    want.sort();
    assert_eq!(rest, [want]);
    assert_eq!(site.runs("rec").len(), 3);
}

//! `make bench`: how long a burst of changes takes to be delivered.
//!
//! 1,000 checks each turn from OK to FAILURE at once; one notifier pass
//! (`ssi-status notify`, the release binary, delivering itself as without
//! systemd) tells each change to one hook that reads its event and records
//! the check. Target: under 5 s, every change delivered exactly once. (It
//! was 25-28 s when each delivery rewrote and synced the whole state twice
//! and waited on a 10 ms tick for the hook's exit.)
//!
//! `SSI_BENCH_RUNS` bursts (default 3), each on a fresh data set, in a
//! temporary directory on the disk (`SSI_BENCH_DIR` to choose where): the
//! state's syncs are part of what is measured, so not on a tmpfs.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ssi-status");
const CHECKS: usize = 1_000;
const TARGET: Duration = Duration::from_secs(5);

fn main() {
    let runs: usize = std::env::var("SSI_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let base = std::env::var_os("SSI_BENCH_DIR").unwrap_or_else(|| "/var/tmp".into());
    let mut times = Vec::new();
    for _ in 0..runs {
        let tmp = tempfile::Builder::new()
            .prefix("ssi-bench-notify.")
            .tempdir_in(&base)
            .expect("temp dir");
        times.push(burst(tmp.path()));
    }
    times.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    println!(
        "notify: {CHECKS} changes in one burst, delivered once each: median {:.0} ms, min {:.0} ms, max {:.0} ms (target < {} ms) {}",
        ms(&times[times.len() / 2]),
        ms(&times[0]),
        ms(&times[times.len() - 1]),
        TARGET.as_millis(),
        if times[times.len() / 2] < TARGET { "ok" } else { "SLOW" }
    );
}

/// One burst in `dir`: the time of the pass that delivers it.
fn burst(dir: &Path) -> Duration {
    let (scripts, logs, hooks, state) = (
        dir.join("scripts"),
        dir.join("logs"),
        dir.join("hooks"),
        dir.join("state"),
    );
    for d in [dir, &scripts, &logs, &hooks, &state] {
        fs::create_dir_all(d).expect("mkdir");
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    for i in 0..CHECKS {
        let script = scripts.join(format!("check-{i:04}.sh"));
        fs::write(
            &script,
            format!(
                "#!/bin/sh\n# name: Check number {i}\n# description: Benchmark check {i}\n\
                 # version: 1\n# schedule: hourly\necho OK\n"
            ),
        )
        .expect("write script");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        append(
            &logs.join(format!("check_{i:04}.log")),
            "2026-11-26 10:00:00, OK",
        );
    }
    let out = dir.join("hook.out");
    let hook = hooks.join("rec");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\ncat > /dev/null\necho \"$SSI_ID\" >> '{}'\n",
            out.display()
        ),
    )
    .expect("write hook");
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    let pass = || {
        let t = Instant::now();
        let status = Command::new(BIN)
            .args(["notify", "--retry-sec", "0"])
            .env("SSI_SCRIPTS_DIR", &scripts)
            .env("SSI_LOG_DIR", &logs)
            .env("SSI_HOOKS_DIR", &hooks)
            .env("SSI_STATE_DIR", &state)
            .env("SSI_ASSUME_SYSTEMD", "0")
            .env("TZ", "UTC")
            .env_remove("SSI_NOTIFY_AFTER")
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run ssi-status notify");
        assert!(status.success(), "ssi-status notify: {status}");
        t.elapsed()
    };
    // The starting point, told nothing.
    pass();
    for i in 0..CHECKS {
        append(
            &logs.join(format!("check_{i:04}.log")),
            "2026-11-26 10:05:00, FAILURE, broken",
        );
    }
    let took = pass();
    let mut told: BTreeMap<String, usize> = BTreeMap::new();
    for id in fs::read_to_string(&out).unwrap_or_default().lines() {
        *told.entry(id.to_owned()).or_default() += 1;
    }
    assert_eq!(told.len(), CHECKS, "every change delivered");
    assert!(told.values().all(|&n| n == 1), "each exactly once");
    took
}

fn append(path: &Path, line: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()))
        .expect("append");
}

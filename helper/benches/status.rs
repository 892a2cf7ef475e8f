//! `make bench`: how fast `ssi-status` answers on a big installation.
//!
//! - `list` over 1,000 services whose logs total 10 GiB (sparse files, each
//!   ending in real status lines): target < 100 ms.
//! - the same with systemd "running" (a fake `systemctl` that prints a
//!   canned answer for all 2,000 units), to include the batched call.
//! - `show` on one service with a 2 GiB log: target < 20 ms.
//!
//! Each runs the release binary as a process N times (`SSI_BENCH_RUNS`,
//! default 30) after one warm-up, and prints mean / median / min / max.
//! `SSI_BENCH_DIR=/some/dir` builds the data set there and keeps it.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ssi-status");
const SERVICES: usize = 1_000;
const TOTAL_LOG_BYTES: u64 = 10 << 30;

fn main() {
    let runs: usize = std::env::var("SSI_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    // SSI_BENCH_DIR keeps the data set for profiling; default a temp dir.
    let tmp = tempfile::tempdir().expect("temp dir");
    let kept = std::env::var_os("SSI_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = kept.as_deref().unwrap_or(tmp.path());
    let (scripts, logs) = (dir.join("scripts"), dir.join("logs"));
    fs::create_dir_all(&scripts).expect("scripts dir");
    fs::create_dir_all(&logs).expect("logs dir");
    fs::set_permissions(&scripts, fs::Permissions::from_mode(0o755)).expect("chmod");

    let per_log = TOTAL_LOG_BYTES / SERVICES as u64;
    let mut show_output = String::new();
    for i in 0..SERVICES {
        let id = format!("check_{i:04}");
        let script = scripts.join(format!("check-{i:04}.sh"));
        fs::write(
            &script,
            format!(
                "#!/bin/sh\n# name: Check number {i}\n# description: Benchmark check {i}\n\
                 # version: 1.{i}\n# schedule: *:0/5\n# timeout: 30\n\necho OK\n"
            ),
        )
        .expect("write script");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        sparse_log(&logs.join(format!("{id}.log")), per_log, i);
        for unit in ["timer", "service"] {
            show_output.push_str(&format!(
                "NextElapseUSecRealtime=Wed 2026-11-25 10:10:00 UTC\n\
                 LastTriggerUSec=Wed 2026-11-25 10:05:00 UTC\nResult=success\n\
                 ExecMainStatus=0\nExecMainStartTimestamp=@1795601100\n\
                 Id=ssi_{id}.{unit}\nLoadState=loaded\nActiveState=active\nSubState=waiting\n\n"
            ));
        }
    }
    let canned = dir.join("show.txt");
    fs::write(&canned, show_output).expect("canned output");
    let fake = dir.join("systemctl");
    fs::write(
        &fake,
        format!("#!/bin/sh\nexec cat '{}'\n", canned.display()),
    )
    .expect("fake");
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).expect("chmod");

    // One service with a 2 GiB log for `show`.
    let big = dir.join("big");
    fs::create_dir_all(big.join("scripts")).expect("dir");
    fs::create_dir_all(big.join("logs")).expect("dir");
    fs::set_permissions(big.join("scripts"), fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::copy(
        scripts.join("check-0000.sh"),
        big.join("scripts/check-0000.sh"),
    )
    .expect("copy");
    sparse_log(&big.join("logs/check_0000.log"), 2 << 30, 0);

    let total: u64 = fs::read_dir(&logs)
        .expect("read logs")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{SERVICES} services, logs {:.2} GiB apparent size (sparse), {runs} runs each\n",
        total as f64 / (1u64 << 30) as f64
    );

    let plain = [("SSI_ASSUME_SYSTEMD", "0")];
    let with_systemd = [
        ("SSI_ASSUME_SYSTEMD", "1"),
        ("SSI_SYSTEMCTL", fake.to_str().expect("utf-8 path")),
    ];
    report(
        "list (1,000 services, 10 GiB logs)",
        100,
        runs,
        dir,
        &["list"],
        &plain,
    );
    report("list --json", 100, runs, dir, &["list", "--json"], &plain);
    report(
        "list + systemctl show (2,000 units)",
        100,
        runs,
        dir,
        &["list"],
        &with_systemd,
    );
    report(
        "show (one 2 GiB log)",
        20,
        runs,
        &big,
        &["show", "check_0000"],
        &plain,
    );
}

/// A log of about `size` bytes: a hole, then a few hundred real lines
/// ending in a status line, as months of a check's output would.
fn sparse_log(path: &Path, size: u64, i: usize) {
    let mut tail = String::new();
    for h in 0..200 {
        tail.push_str(&format!(
            "2026-11-25 {:02}:{:02}:00, OK, run {h} of check {i}\n+ some trace output\n",
            h / 12 % 24,
            h % 12 * 5
        ));
    }
    tail.push_str("2026-11-26 10:00:00, WARNING, disk at 91%\n");
    let mut f = File::create(path).expect("create log");
    f.set_len(size.saturating_sub(tail.len() as u64))
        .expect("size log");
    f.seek(SeekFrom::End(0)).expect("seek");
    f.write_all(tail.as_bytes()).expect("write log");
}

fn report(
    what: &str,
    target_ms: u128,
    runs: usize,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) {
    let run = || {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("TZ", "UTC")
            .env("SSI_SCRIPTS_DIR", dir.join("scripts"))
            .env("SSI_LOG_DIR", dir.join("logs"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let start = Instant::now();
        let out = cmd.output().expect("run ssi-status");
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        took
    };
    run(); // warm the page cache and the binary
    let mut times: Vec<Duration> = (0..runs).map(|_| run()).collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    let median = ms(times[times.len() / 2]);
    let verdict = if (median as u128) < target_ms {
        "ok"
    } else {
        "OVER TARGET"
    };
    println!(
        "{what:<40} mean {mean:7.2} ms  median {median:7.2} ms  min {:7.2}  max {:7.2}  target < {target_ms} ms: {verdict}",
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
}

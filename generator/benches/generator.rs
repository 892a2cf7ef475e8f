//! `make bench`: the generator against its floor. For 1,000 and 10,000
//! scripts, output goes to a tmpfs (as `/run/systemd/generator` is) and the
//! run is compared with `cp -a` of the very same output tree onto the same
//! tmpfs: the least any generator that writes these files must spend.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const GENERATOR: &str = env!("CARGO_BIN_EXE_ssi-generator");
const RUNS: usize = 15;

fn tmpfs_root() -> PathBuf {
    let base = std::env::var_os("SSI_BENCH_TMPFS")
        .map_or_else(|| PathBuf::from("/dev/shm"), PathBuf::from);
    base.join(format!("ssi-bench-generator-{}", std::process::id()))
}

fn make_scripts(dir: &Path, n: usize) {
    fs::create_dir_all(dir).unwrap();
    let schedules = [
        "*:0/5",
        "daily",
        "Mon..Fri *-*-* 08:00:00",
        "hourly",
        "*-*-* 00/2:30:00",
    ];
    for i in 0..n {
        let p = dir.join(format!("check-{i:05}.sh"));
        fs::write(
            &p,
            format!(
                "#!/bin/bash\n# name: Check number {i}\n# description: Benchmark check {i} with a % sign\n# version: 1.{i}\n# schedule: {}  # comment\n# timeout: 30\n\necho \"OK, fine\"\n",
                schedules[i % schedules.len()]
            ),
        )
        .unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times `RUNS` runs of `f(i)`, each writing into `out(i)`; every output but
/// the first is removed right away (untimed), so the tmpfs does not fill up
/// with hundreds of thousands of entries that would slow later runs.
fn time_runs(out: impl Fn(usize) -> PathBuf, mut f: impl FnMut(&Path)) -> Duration {
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let dir = out(i);
        let t = Instant::now();
        f(&dir);
        times.push(t.elapsed());
        if i > 0 {
            fs::remove_dir_all(&dir).unwrap();
        }
    }
    median(times)
}

fn main() {
    let root = tmpfs_root();
    let _ = fs::remove_dir_all(&root);
    println!(
        "generator vs cp -a floor, output on tmpfs ({}), median of {RUNS} runs",
        root.display()
    );
    let mut per_script = Vec::new();
    for n in [1_000usize, 10_000] {
        let scripts = root.join(format!("scripts-{n}"));
        make_scripts(&scripts, n);
        let gen_time = time_runs(
            |i| root.join(format!("gen-{n}-{i}")),
            |out| {
                fs::create_dir(out).unwrap();
                let st = Command::new(GENERATOR)
                    .arg(out)
                    .env("SSI_SCRIPTS_DIR", &scripts)
                    .env_remove("SYSTEMD_LOG_LEVEL")
                    .status()
                    .unwrap();
                assert!(st.success());
            },
        );
        let reference = root.join(format!("gen-{n}-0"));
        let units = fs::read_dir(&reference).unwrap().count() - 1;
        assert_eq!(units, 2 * n, "every script must get a service and a timer");
        let cp_time = time_runs(
            |i| root.join(format!("cp-{n}-{i}")),
            |out| {
                let st = Command::new("cp")
                    .arg("-a")
                    .arg(&reference)
                    .arg(out)
                    .status()
                    .unwrap();
                assert!(st.success());
            },
        );
        let ratio = gen_time.as_secs_f64() / cp_time.as_secs_f64();
        println!(
            "{n:>6} scripts: generator {:>8.2} ms, cp -a {:>8.2} ms, ratio {ratio:.2}x, {:.1} µs/script",
            gen_time.as_secs_f64() * 1e3,
            cp_time.as_secs_f64() * 1e3,
            gen_time.as_secs_f64() * 1e6 / n as f64
        );
        per_script.push(gen_time.as_secs_f64() / n as f64);
        let _ = fs::remove_dir_all(root.join(format!("gen-{n}-0")));
        let _ = fs::remove_dir_all(root.join(format!("cp-{n}-0")));
    }
    println!(
        "growth 1,000 -> 10,000: {:.2}x time per script (1.00 = linear)",
        per_script[1] / per_script[0]
    );
    let _ = fs::remove_dir_all(&root);
}

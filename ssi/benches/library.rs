//! `make bench`: the `ssi` library's hot paths — parsing 10,000 manifests
//! and finding the last status line of a 2 GiB (sparse) log, which must not
//! depend on the log's size.

use std::fs;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use ssi::logfile::read_last_status;
use ssi::manifest;

fn per_op(total: Duration, n: usize) -> String {
    format!(
        "{:.2} ms total, {:.2} µs/op",
        total.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e6 / n as f64
    )
}

fn main() {
    let n = 10_000;
    let manifests: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            format!(
                "#!/bin/bash\n#\n# name: Check number {i}\n# description: A check with a longer description {i}\n# version: 1.{i}\n# schedule: *:0/5  # every five minutes\n# timeout: 1min 30s # generous\n\nset -eu\necho OK\n"
            )
            .into_bytes()
        })
        .collect();
    let t = Instant::now();
    for m in &manifests {
        let p = manifest::parse(black_box(m));
        assert!(p.errors.is_empty());
        black_box(p);
    }
    println!("parse {n} manifests: {}", per_op(t.elapsed(), n));

    let dir = tempfile::tempdir().unwrap();
    for size_gib in [0u64, 2] {
        let path = dir.path().join(format!("log-{size_gib}.log"));
        let f = fs::File::create(&path).unwrap();
        // A sparse hole of `size_gib` GiB, then a few real lines.
        f.set_len(size_gib << 30).unwrap();
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        for i in 0..50 {
            writeln!(f, "2026-11-26 10:{:02}:00, OK, line {i}", i % 60).unwrap();
        }
        writeln!(f, "trailing noise").unwrap();
        let reps = 2_000;
        let t = Instant::now();
        for _ in 0..reps {
            let s = read_last_status(black_box(&path), &TimeZone::UTC).unwrap();
            assert!(s.is_some());
        }
        println!(
            "last status of a {} log: {}",
            if size_gib == 0 {
                "tiny".to_owned()
            } else {
                format!("{size_gib} GiB sparse")
            },
            per_op(t.elapsed(), reps)
        );
    }
}

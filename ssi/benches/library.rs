//! `make bench`: the `ssi` library's hot paths — parsing 10,000 manifests,
//! finding the last status line of a 2 GiB (sparse) log, which must not
//! depend on the log's size, and the history of a check (last 50 lines and
//! availability over 7 days) from a 2 GiB log (target: under 20 ms).

use std::fs;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use ssi::history::{read_history, Query};
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

    // History: a 2 GiB sparse hole, then 8 days of a check that runs every
    // 5 minutes and prints a line of output before its status line.
    let path = dir.path().join("history-2.log");
    let f = fs::File::create(&path).unwrap();
    f.set_len(2 << 30).unwrap();
    let mut f = std::io::BufWriter::new(fs::OpenOptions::new().append(true).open(&path).unwrap());
    let now = jiff::Timestamp::now();
    let runs = 8 * 288;
    for i in (0..runs).rev() {
        let t = now - jiff::SignedDuration::from_secs(300 * i as i64 + 60);
        let st = if i % 50 == 7 { "WARNING" } else { "OK" };
        writeln!(f, "+ checking the thing, run {i}, with some detail").unwrap();
        writeln!(
            f,
            "{}, {st}, run {i} went fine",
            t.strftime("%Y-%m-%d %H:%M:%S")
        )
        .unwrap();
    }
    drop(f);
    let q = Query {
        limit: 50,
        since: None,
        now,
    };
    let reps = 50;
    let t = Instant::now();
    for _ in 0..reps {
        let h = read_history(black_box(&path), &TimeZone::UTC, &q).unwrap();
        assert_eq!(h.entries.len(), 50);
        assert!(h.availability.complete);
        assert_eq!(h.availability.week.total, 7 * 288);
        black_box(h);
    }
    let took = t.elapsed();
    println!(
        "history of a check from a 2 GiB log (50 lines, 7 d = 2016 status lines): {} (target: under 20 ms)",
        per_op(took, reps)
    );
    assert!(
        took / 50 < Duration::from_millis(20),
        "history slower than 20 ms"
    );
}

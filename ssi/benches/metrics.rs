//! `make bench`: rendering the Prometheus metrics of 1,000 checks, in both
//! formats (the scrape target is 5 ms end to end; see also
//! `broadcaster/benches/scrape.rs`), without performance data and with a
//! plugin's (check_load's six labels) on every check; and parsing that
//! performance data.

use std::hint::black_box;
use std::time::Instant;

use std::sync::Arc;

use jiff::Timestamp;
use ssi::metrics::{render, Broadcaster, Check, CheckInfo, Format, Snapshot};
use ssi::perfdata::Perfdata;
use ssi::status::Status;

/// What check_load -r says.
const LOAD: &str = "load1=1.520;;;0; scaled_load1=0.760;0.900;1.500;0; load5=3.570;;;0; \
    scaled_load5=1.785;0.800;1.200;0; load15=6.260;;;0; scaled_load15=3.130;0.700;1.000;0;";

fn main() {
    let n = 1000;
    let mut snapshot = Snapshot {
        checks: (0..n)
            .map(|i| Check {
                id: format!("check_{i:04}"),
                valid: i % 50 != 0,
                info: Some(CheckInfo {
                    name: format!("Check \"number\" {i} – ✓"),
                    version: format!("1.{i}"),
                    schedule: "*:0/5".into(),
                }),
                status: Some(Status::ALL[i % 6]),
                last_status: Some(Timestamp::from_second(1_764_151_200 + i as i64).unwrap()),
                late: i % 7 == 0,
                interval_secs: Some(300),
                quiet: Default::default(),
                status_lines: Some(i as u64),
                perfdata: None,
            })
            .collect(),
        without_id: 1,
        broadcaster: Some(Broadcaster { clients: 10 }),
    };
    bench(&snapshot, n, "");
    let reps = 2000;
    let t = Instant::now();
    for _ in 0..reps {
        black_box(Perfdata::parse(black_box(LOAD)));
    }
    println!(
        "parse check_load's performance data (6 labels): {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(reps)
    );
    let load = Arc::new(Perfdata::parse(LOAD));
    for c in &mut snapshot.checks {
        c.perfdata = Some(load.clone());
    }
    bench(&snapshot, n, ", 6 performance labels each");
}

fn bench(snapshot: &Snapshot, n: usize, what: &str) {
    for (label, format) in [
        ("text 0.0.4", Format::Text),
        ("OpenMetrics", Format::OpenMetrics),
    ] {
        let reps = 200;
        let mut bytes = 0;
        let t = Instant::now();
        for _ in 0..reps {
            bytes = black_box(render(black_box(snapshot), format)).len();
        }
        println!(
            "render {n} checks{what}, {label} ({} KiB): {:.3} ms per render",
            bytes / 1024,
            t.elapsed().as_secs_f64() * 1e3 / f64::from(reps)
        );
    }
}

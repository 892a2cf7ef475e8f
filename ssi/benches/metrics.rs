//! `make bench`: rendering the Prometheus metrics of 1,000 checks, in both
//! formats (the scrape target is 5 ms end to end; see also
//! `broadcaster/benches/scrape.rs`).

use std::hint::black_box;
use std::time::Instant;

use jiff::Timestamp;
use ssi::metrics::{render, Broadcaster, Check, CheckInfo, Format, Snapshot};
use ssi::status::Status;

fn main() {
    let n = 1000;
    let snapshot = Snapshot {
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
            })
            .collect(),
        without_id: 1,
        broadcaster: Some(Broadcaster { clients: 10 }),
    };
    for (label, format) in [
        ("text 0.0.4", Format::Text),
        ("OpenMetrics", Format::OpenMetrics),
    ] {
        let reps = 200;
        let mut bytes = 0;
        let t = Instant::now();
        for _ in 0..reps {
            bytes = black_box(render(black_box(&snapshot), format)).len();
        }
        println!(
            "render {n} checks, {label} ({} KiB): {:.3} ms per render",
            bytes / 1024,
            t.elapsed().as_secs_f64() * 1e3 / f64::from(reps)
        );
    }
}

//! `GET /metrics` of `ssi-broadcaster` with 1,000 checks: the time from
//! sending the request on loopback to the last byte of the answer (one
//! connection per scrape, as Prometheus's `Connection: close` here gives),
//! while the registry holds 1,000 scripts, each with a status line. The
//! target is under 5 ms per scrape. `ssi/benches/metrics.rs` measures the
//! rendering alone.
//!
//! Run: `cargo bench -p ssi-broadcaster --bench scrape`
//! Knobs: `SSI_BENCH_CHECKS=1000`, `SSI_BENCH_SCRAPES=200`,
//! `SSI_BENCH_BASELINE=PATH` to measure another `ssi-broadcaster` binary
//! (e.g. the previous commit's) right after, on the same checks.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Fixture, Server, PROMETHEUS_ACCEPT};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn scrape(port: u16, accept: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: {accept}\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::with_capacity(1 << 20);
    s.read_to_end(&mut out).unwrap();
    out
}

fn main() {
    let checks = knob("SSI_BENCH_CHECKS", 1000);
    let scrapes = knob("SSI_BENCH_SCRAPES", 200);
    let fx = Fixture::new();
    let statuses = ["OK", "WARNING", "FAILURE", "ERROR", "UPDATE", "UNKNOWN"];
    let ids = fx.checks(checks, |i| {
        format!("# name: Check number {i}\n# description: d\n# version: 1.{i}\n# schedule: *:0/5\n# timeout: 30\n")
    });
    for (i, id) in ids.iter().enumerate() {
        std::fs::write(
            fx.log(id),
            format!("2026-11-26 10:00:00, {}, message {i}\n", statuses[i % 6]),
        )
        .unwrap();
    }
    measure("this build", Server::start(&fx), checks, scrapes);
    if let Some(b) = std::env::var_os("SSI_BENCH_BASELINE") {
        let b = std::path::PathBuf::from(b);
        let label = format!("baseline {}", b.display());
        measure(&label, Server::start_program(&b, &fx), checks, scrapes);
    }
}

fn measure(label: &str, server: Server, checks: usize, scrapes: usize) {
    println!("== {label}");
    let port = server.port;
    // Until every check has its status.
    let want = format!(
        "ssi_check_status_lines_total{{id=\"check_{:04}\"}} 1",
        checks - 1
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&scrape(port, "text/plain")).contains(&want) {
        assert!(Instant::now() < deadline, "statuses never all arrived");
        std::thread::sleep(Duration::from_millis(100));
    }
    for (label, accept) in [
        ("text 0.0.4", "text/plain"),
        ("OpenMetrics", PROMETHEUS_ACCEPT),
    ] {
        let mut times: Vec<Duration> = (0..scrapes)
            .map(|_| {
                let t = Instant::now();
                let body = scrape(port, accept);
                let took = t.elapsed();
                assert!(body.starts_with(b"HTTP/1.1 200"));
                took
            })
            .collect();
        times.sort();
        let bytes = scrape(port, accept).len();
        println!(
            "GET /metrics, {checks} checks, {label} ({} KiB): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {scrapes} scrapes",
            bytes / 1024,
            times[scrapes / 2].as_secs_f64() * 1e3,
            times[scrapes * 99 / 100].as_secs_f64() * 1e3,
            times[scrapes - 1].as_secs_f64() * 1e3,
        );
    }
    drop(server);
}

//! `GET /metrics` with 1,000 checks, side by side in one run: this build of
//! `ssi-broadcaster`, a baseline build when given, and node_exporter's
//! textfile collector serving the same 1,000 checks (what an administrator
//! would otherwise run). Each is timed from sending the request on loopback
//! to the last byte of the answer, one connection per scrape
//! (`Connection: close`), by the same client code, asking for the text
//! format 0.0.4 and then for OpenMetrics with Prometheus's own `Accept`
//! header. The broadcaster's target is under 5 ms per scrape, p99
//! included; `ssi/benches/metrics.rs` measures the rendering alone. Each
//! is measured twice: on idle CPUs, and with a thread spinning on every
//! CPU (a machine doing other work, where the tail shows what a server
//! does per scrape).
//!
//! node_exporter's textfile is written by the real `ssi-status list
//! --prometheus --output FILE`, the command its textfile unit runs, on the
//! same scripts and logs. Cargo names only this crate's binaries to a bench
//! (`CARGO_BIN_EXE_*`), so `ssi-status` is looked for beside this build's
//! `ssi-broadcaster` (same target directory and profile; `make bench`
//! builds it first) or taken from `SSI_BENCH_SSI_STATUS`. Where it is not
//! there, the textfile is this build's own `/metrics` text body instead
//! (the same renderer, `ssi::metrics`, so the same exposition, plus the
//! broadcaster's own counters), and the bench says so. node_exporter
//! itself runs on a free loopback port with every collector off but the
//! textfile one, and is ended by its pid; where it is not installed the
//! comparison is skipped with a note (`tests/deps.sh` installs it).
//!
//! Run: `cargo bench -p ssi-broadcaster --bench scrape`
//! Knobs: `SSI_BENCH_CHECKS=1000`, `SSI_BENCH_SCRAPES=200`,
//! `SSI_BENCH_BASELINE=PATH` to measure another `ssi-broadcaster` binary
//! (e.g. the previous commit's) right after, on the same checks,
//! `SSI_BENCH_SSI_STATUS=PATH` for the `ssi-status` that writes the
//! textfile, `SSI_BENCH_NODE_EXPORTER=0` to skip node_exporter,
//! `SSI_BENCH_BUSY=N` threads spinning in the second pass (default: one
//! per CPU; 0 skips it).

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Fixture, Server, PROMETHEUS_ACCEPT};

/// Debian's name for node_exporter, then upstream's.
const NODE_EXPORTERS: [&str; 2] = ["prometheus-node-exporter", "node_exporter"];

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn scrape(port: u16, accept: &str) -> Vec<u8> {
    get(port, "/metrics", accept)
}

fn get(port: u16, path: &str, accept: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::with_capacity(1 << 20);
    s.read_to_end(&mut out).unwrap();
    out
}

/// The answer's `Content-Type`, without parameters.
fn content_type(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(answer);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.split(';').next().unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "-".to_owned())
}

/// The body of an answer (after the header), undoing chunked transfer
/// coding where the server used it.
fn body(answer: &[u8]) -> Vec<u8> {
    let Some(at) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Vec::new();
    };
    let head = String::from_utf8_lossy(&answer[..at]).to_ascii_lowercase();
    let rest = &answer[at + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return rest.to_vec();
    }
    let mut out = Vec::new();
    let mut rest = rest;
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || rest.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[(eol + 4 + size).min(rest.len())..];
    }
    out
}

/// One server and format's figures.
struct Row {
    server: String,
    /// Threads spinning on the CPUs meanwhile.
    busy: usize,
    asked: String,
    answered: String,
    kib: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    scrapes: usize,
}

fn main() {
    let checks = knob("SSI_BENCH_CHECKS", 1000);
    let scrapes = knob("SSI_BENCH_SCRAPES", 200).max(1);
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy = knob("SSI_BENCH_BUSY", cpus);
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
    let last = format!("check_{:04}", checks.saturating_sub(1));
    // Until every check has its status (the broadcaster reads the logs
    // after it starts; this counter is its own).
    let all_read = format!("ssi_check_status_lines_total{{id=\"{last}\"}} 1");
    let mut rows = Vec::new();

    let server = Server::start(&fx);
    rows.extend(measure(
        "this build",
        server.port,
        "/healthz",
        &all_read,
        checks,
        scrapes,
        busy,
    ));
    // The fallback textfile, should no ssi-status be found.
    let own_text = body(&scrape(server.port, "text/plain"));
    drop(server);

    if let Some(b) = std::env::var_os("SSI_BENCH_BASELINE") {
        let b = PathBuf::from(b);
        println!("baseline: {}", b.display());
        let server = Server::start_program(&b, &fx);
        rows.extend(measure(
            "baseline",
            server.port,
            "/healthz",
            &all_read,
            checks,
            scrapes,
            busy,
        ));
        drop(server);
    }

    let node_exporter = NODE_EXPORTERS.into_iter().find(|c| which(c));
    match node_exporter {
        _ if knob("SSI_BENCH_NODE_EXPORTER", 1) == 0 => {
            println!("note: node_exporter comparison skipped (SSI_BENCH_NODE_EXPORTER=0)")
        }
        None => println!(
            "note: node_exporter comparison skipped ({} not installed; tests/deps.sh installs it)",
            NODE_EXPORTERS.join(" or ")
        ),
        Some(program) => {
            let dir = fx.tmp.path().join("textfile");
            std::fs::create_dir(&dir).unwrap();
            let prom = dir.join("ssi.prom");
            write_textfile(&fx, &prom, &own_text);
            let ne = NodeExporter::start(program, &dir, fx.tmp.path());
            // The series every check has, in the textfile from the start.
            let served = format!("ssi_check_valid{{id=\"{last}\"}} 1");
            rows.extend(measure(
                "node_exporter (textfile)",
                ne.port,
                "/",
                &served,
                checks,
                scrapes,
                busy,
            ));
            drop(ne);
        }
    }

    println!();
    println!(
        "| server | CPUs | {checks} checks, asked for | answered | body | scrapes | p50 | p99 | max | p50 vs this build |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let ours = rows
            .iter()
            .find(|o| o.server == "this build" && o.asked == r.asked && o.busy == r.busy)
            .map_or(f64::NAN, |o| o.p50_ms);
        let cpus = if r.busy == 0 {
            "idle".to_owned()
        } else {
            format!("{} threads spinning", r.busy)
        };
        println!(
            "| {} | {cpus} | {} | {} | {} KiB | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.1}× |",
            r.server,
            r.asked,
            r.answered,
            r.kib,
            r.scrapes,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.p50_ms / ours,
        );
    }
}

/// node_exporter's textfile: written by the real `ssi-status list
/// --prometheus --output FILE` where there is one, else `fallback` (this
/// build's own `/metrics` text body).
fn write_textfile(fx: &Fixture, prom: &Path, fallback: &[u8]) {
    let ssi_status = std::env::var_os("SSI_BENCH_SSI_STATUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_BIN_EXE_ssi-broadcaster")).with_file_name("ssi-status")
        });
    if ssi_status.is_file() {
        let out = Command::new(&ssi_status)
            .args(["list", "--prometheus", "--output"])
            .arg(prom)
            .env("SSI_SCRIPTS_DIR", &fx.scripts)
            .env("SSI_LOG_DIR", &fx.logs)
            .env("SSI_STATE_DIR", fx.tmp.path().join("state"))
            .env_remove("SSI_ASSUME_SYSTEMD")
            .env_remove("SSI_SYSTEMCTL")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{}: cannot run: {e}", ssi_status.display()));
        assert!(
            out.status.success(),
            "{} list --prometheus --output {}: {}\n{}",
            ssi_status.display(),
            prom.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let age = std::fs::metadata(&ssi_status)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map_or_else(|| "?".to_owned(), |d| format!("{} s", d.as_secs()));
        println!(
            "textfile: {} list --prometheus --output {} (binary built {age} ago)",
            ssi_status.display(),
            prom.display()
        );
    } else {
        std::fs::write(prom, fallback).unwrap();
        println!(
            "textfile: {} not found (make bench builds it; or set SSI_BENCH_SSI_STATUS), so this build's own /metrics text body, the same exposition",
            ssi_status.display()
        );
    }
}

fn which(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// node_exporter on a loopback port, serving only `textfile_dir`; ended by
/// its pid when dropped.
struct NodeExporter {
    child: Child,
    port: u16,
}

impl NodeExporter {
    fn start(program: &str, textfile_dir: &Path, scratch: &Path) -> NodeExporter {
        let port = free_port();
        let log = scratch.join("node_exporter.log");
        let child = Command::new(program)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                textfile_dir.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: cannot start: {e}"));
        let mut ne = NodeExporter { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = ne.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "{program} did not answer on 127.0.0.1:{port} ({}):\n{}",
                    exited.map_or("still running after 20 s".to_owned(), |s| s.to_string()),
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "node_exporter: {program} (pid {}) on 127.0.0.1:{port}",
            ne.child.id()
        );
        ne
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        // SAFETY: signalling the child this bench started, by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Threads that keep every CPU busy until dropped: the scrapes of a
/// machine that is doing other work too, where a scrape's tail is what
/// the server does per scrape (the 12.9 ms p99 was measured so).
struct Busy {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Busy {
    fn start(n: usize) -> Busy {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Busy { stop, threads }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Times `scrapes` scrapes of `port` in each format, once its text answer
/// contains `ready`: on idle CPUs, then (when `busy` > 0) with `busy`
/// threads spinning. And as many requests of the server's smallest page,
/// `floor`, under the same conditions: what any answer costs there (on
/// busy CPUs, mostly waiting for a turn), which a scrape cannot beat.
fn measure(
    label: &str,
    port: u16,
    floor: &str,
    ready: &str,
    checks: usize,
    scrapes: usize,
    busy: usize,
) -> Vec<Row> {
    println!("== {label}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&scrape(port, "text/plain")).contains(ready) {
        assert!(
            Instant::now() < deadline,
            "{label}: its /metrics never had {ready}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut rows = Vec::new();
    let spins = if busy > 0 { vec![0, busy] } else { vec![0] };
    let floor_label = format!("floor: GET {floor}");
    for (spin, (asked, path, accept)) in spins.into_iter().flat_map(|spin| {
        [
            ("text 0.0.4", "/metrics", "text/plain"),
            ("OpenMetrics", "/metrics", PROMETHEUS_ACCEPT),
            (&floor_label, floor, "*/*"),
        ]
        .map(|f| (spin, f))
    }) {
        let _spinning = (spin > 0).then(|| Busy::start(spin));
        let mut times: Vec<Duration> = (0..scrapes)
            .map(|_| {
                let t = Instant::now();
                let answer = get(port, path, accept);
                let took = t.elapsed();
                assert!(
                    answer.starts_with(b"HTTP/1.1 200"),
                    "{label}: {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(200)])
                );
                took
            })
            .collect();
        times.sort();
        let answer = get(port, path, accept);
        let answered = content_type(&answer);
        let kib = body(&answer).len() / 1024;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let row = Row {
            server: label.to_owned(),
            busy: spin,
            asked: asked.to_owned(),
            answered,
            kib,
            p50_ms: ms(times[scrapes / 2]),
            p99_ms: ms(times[scrapes * 99 / 100]),
            max_ms: ms(times[scrapes - 1]),
            scrapes,
        };
        let cpus = if spin == 0 {
            String::new()
        } else {
            format!(", {spin} threads spinning")
        };
        println!(
            "GET {path}, {checks} checks, {asked} ({} KiB, answered {}{cpus}): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {scrapes} scrapes",
            row.kib, row.answered, row.p50_ms, row.p99_ms, row.max_ms,
        );
        rows.push(row);
    }
    rows
}

//! Fan-out benchmark: `ssi-broadcaster` against websocketd + `tail -F`
//! (one tail per client, what users would otherwise pick), same machine,
//! same run, loopback only.
//!
//! For each client count (default 100 and 1,000): latency from append to
//! receipt for paced lines (p50/p99 over every receipt), time for each
//! burst — 100 lines (issue 27's burst figure), then 20,000 — to reach
//! every client (and whether every line arrived, in order), RSS idle and
//! after the bursts (whole process tree), and CPU time while idle.
//!
//! Measuring method: since issue 27's second pass the viewers are cheap —
//! `SSI_BENCH_READERS` (default 2) threads each hold many WebSockets and
//! wait in `poll(2)`, stamping each frame as it is read — so on a small
//! machine the tail is the server's, not the bench scheduling its own
//! 1,000 threads. Figures taken before then used a blocking thread per
//! viewer; `SSI_BENCH_VIEWERS=threads` still measures that way.
//!
//! Run: `cargo bench -p ssi-broadcaster --bench fanout`
//! Knobs: `SSI_BENCH_CLIENTS=100,1000`, `SSI_BENCH_IDLE_SECS=60`,
//! `SSI_BENCH_PACED=200` (lines, 10 ms apart), `SSI_BENCH_BURST=100,20000`
//! (a comma list of burst sizes, measured one after the other),
//! `SSI_BENCH_VIEWERS=poll|threads`, `SSI_BENCH_READERS=2`,
//! `SSI_BENCH_WEBSOCKETD=0` to skip the comparison,
//! `SSI_BENCH_BASELINE=PATH` to measure another `ssi-broadcaster` binary
//! (e.g. the previous commit's) side by side, same run, same load.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_ssi-broadcaster");

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Ssi,
    /// `SSI_BENCH_BASELINE`: another build of ssi-broadcaster.
    Baseline,
    Websocketd,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ssi => "ssi-broadcaster",
            Kind::Baseline => "baseline ssi-broadcaster",
            Kind::Websocketd => "websocketd+tail",
        }
    }
}

struct Config {
    paced: u64,
    bursts: Vec<u64>,
    idle: Duration,
    baseline: Option<PathBuf>,
    /// `SSI_BENCH_VIEWERS=threads`: a thread per viewer (the old method).
    threads: bool,
    /// `SSI_BENCH_READERS`: poll threads sharing the viewers.
    readers: usize,
}

struct Report {
    kind: Kind,
    clients: usize,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    paced_missing: usize,
    /// Per burst: its lines, until every client had the last, complete clients.
    bursts: Vec<(u64, f64, usize)>,
    rss_idle_kib: u64,
    rss_loaded_kib: u64,
    rss_settled_kib: u64,
    rss_peak_kib: u64,
    idle_cpu_ms: u64,
    idle_secs: u64,
}

fn main() {
    // `cargo bench` passes --bench; nothing else is expected.
    let clients: Vec<usize> = std::env::var("SSI_BENCH_CLIENTS")
        .unwrap_or_else(|_| "100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let num = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let cfg = Config {
        paced: num("SSI_BENCH_PACED", 200),
        bursts: std::env::var("SSI_BENCH_BURST")
            .unwrap_or_else(|_| "100,20000".into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .filter(|&n| n > 0)
            .collect(),
        idle: Duration::from_secs(num("SSI_BENCH_IDLE_SECS", 60)),
        baseline: std::env::var_os("SSI_BENCH_BASELINE").map(PathBuf::from),
        threads: std::env::var("SSI_BENCH_VIEWERS").is_ok_and(|v| v == "threads"),
        readers: num("SSI_BENCH_READERS", 2) as usize,
    };
    eprintln!(
        "viewers: {}",
        if cfg.threads {
            "one blocking thread each (SSI_BENCH_VIEWERS=threads)".to_string()
        } else {
            format!("{} poll(2) threads sharing them", cfg.readers)
        }
    );
    let with_websocketd = num("SSI_BENCH_WEBSOCKETD", 1) != 0 && which("websocketd");
    if !with_websocketd {
        eprintln!("note: websocketd comparison skipped (not installed or SSI_BENCH_WEBSOCKETD=0)");
    }
    raise_nofile();

    let mut reports = Vec::new();
    for &n in &clients {
        let mut kinds = vec![Kind::Ssi];
        if cfg.baseline.is_some() {
            kinds.push(Kind::Baseline);
        }
        if with_websocketd {
            kinds.push(Kind::Websocketd);
        }
        for kind in kinds {
            eprintln!("== {} with {n} clients", kind.name());
            reports.push(run(kind, n, &cfg));
        }
    }

    println!();
    let bursts: String = cfg
        .bursts
        .iter()
        .map(|b| format!(" burst {b} lines: all clients done | complete clients |"))
        .collect();
    println!(
        "| server | clients | paced p50 | paced p99 | paced max | paced lost |{bursts} RSS idle | RSS right after burst | RSS after idle period | RSS peak | CPU idle |"
    );
    println!(
        "|---|---|---|---|---|---|{}---|---|---|---|---|",
        "---|---|".repeat(cfg.bursts.len())
    );
    for r in &reports {
        let bursts: String = r
            .bursts
            .iter()
            .map(|(_, ms, complete)| format!(" {ms:.0} ms | {complete}/{} |", r.clients))
            .collect();
        println!(
            "| {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {} |{bursts} {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {} ms in {} s |",
            r.kind.name(),
            r.clients,
            r.p50_us / 1000.0,
            r.p99_us / 1000.0,
            r.max_us / 1000.0,
            r.paced_missing,
            r.rss_idle_kib as f64 / 1024.0,
            r.rss_loaded_kib as f64 / 1024.0,
            r.rss_settled_kib as f64 / 1024.0,
            r.rss_peak_kib as f64 / 1024.0,
            r.idle_cpu_ms,
            r.idle_secs,
        );
    }
}

fn which(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).exists()))
        .unwrap_or(false)
}

fn raise_nofile() {
    // SAFETY: plain get/setrlimit on our own process.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

struct Server {
    child: Child,
    port: u16,
    _tmp: tempfile::TempDir,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM lets both servers close their clients cleanly; any tail
        // websocketd leaves behind is ended by pid afterwards.
        let children = tree_pids(self.child.id());
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _reap = Reap(children[1..].to_vec());
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

/// Kills leftover grandchildren (websocketd's tails) when dropped.
struct Reap(Vec<u32>);

impl Drop for Reap {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                // SAFETY: signalling a process this benchmark started.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn start(kind: Kind, cfg: &Config) -> Server {
    let tmp = tempfile::tempdir().unwrap();
    let scripts = tmp.path().join("scripts");
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&scripts).unwrap();
    std::fs::create_dir(&logs).unwrap();
    let script = scripts.join("bench.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n# name: Bench\n# description: bench\n# version: 1\n# schedule: minutely\necho OK\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = logs.join("bench.log");
    std::fs::write(&log, "").unwrap();
    let port = free_port();
    let bin = match (kind, &cfg.baseline) {
        (Kind::Baseline, Some(b)) => b.clone(),
        _ => PathBuf::from(BIN),
    };
    let child = match kind {
        Kind::Ssi | Kind::Baseline => Command::new(bin)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--max-clients")
            .arg("5000")
            .arg("--log-dir")
            .arg(&logs)
            .arg("--scripts-dir")
            .arg(&scripts)
            // Every bench client comes from 127.0.0.1 and they all connect
            // at once: the per-source limit on pending handshakes (a
            // defence against slow-head attacks) would refuse most of them.
            .env("SSI_BROADCASTER_MAX_PENDING", "5000")
            .env("SSI_BROADCASTER_MAX_PENDING_PER_SOURCE", "5000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        Kind::Websocketd => Command::new("websocketd")
            .arg(format!("--port={port}"))
            .arg("--address=127.0.0.1")
            .arg("--loglevel=error")
            .args(["tail", "-n0", "-F"])
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{} did not start", kind.name());
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        port,
        _tmp: tmp,
        log,
    }
}

/// What one client saw of one burst.
#[derive(Default, Clone)]
struct BurstSeen {
    received: u64,
    in_order: bool,
    next: u64,
    done: Option<Instant>,
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    paced_latency_ns: Vec<u64>,
    /// Each paced receipt's line number (beside its latency).
    paced_line: Vec<usize>,
    bursts: Vec<BurstSeen>,
}

struct Shared {
    warm: AtomicUsize,
    burst_done: AtomicUsize,
    paced_seen: AtomicUsize,
}

/// The line's payload after `OK, ` (websocketd sends the raw line,
/// ssi-broadcaster a JSON status update whose message is the payload).
fn payload(kind: Kind, text: &str) -> Option<&str> {
    match kind {
        Kind::Websocketd => text.trim_end().strip_prefix("OK, "),
        Kind::Ssi | Kind::Baseline => {
            let start = text.find("\"message\":\"")? + "\"message\":\"".len();
            let rest = &text[start..];
            Some(&rest[..rest.find('"')?])
        }
    }
}

/// One viewer's bookkeeping, fed every text message it receives.
struct Viewer {
    kind: Kind,
    bursts: Vec<u64>,
    shared: Arc<Shared>,
    seen: Seen,
    warm: bool,
}

impl Viewer {
    fn new(kind: Kind, bursts: Vec<u64>, shared: Arc<Shared>) -> Viewer {
        let seen = Seen {
            bursts: vec![
                BurstSeen {
                    in_order: true,
                    ..BurstSeen::default()
                };
                bursts.len()
            ],
            ..Seen::default()
        };
        Viewer {
            kind,
            bursts,
            shared,
            seen,
            warm: false,
        }
    }

    /// Takes one message received at `recv` (ns since the epoch); false
    /// once the end line came.
    fn take(&mut self, msg: &str, recv: u64) -> bool {
        let Some(p) = payload(self.kind, msg) else {
            return true;
        };
        let mut f = p.split(' ');
        match (f.next(), f.next(), f.next()) {
            (Some("W"), _, _) if !self.warm => {
                self.warm = true;
                self.shared.warm.fetch_add(1, Ordering::SeqCst);
            }
            (Some("P"), Some(i), Some(t)) => {
                let sent: u64 = t.parse().unwrap_or(recv);
                self.seen.paced_latency_ns.push(recv.saturating_sub(sent));
                self.seen.paced_line.push(i.parse().unwrap_or(usize::MAX));
                self.shared.paced_seen.fetch_add(1, Ordering::Relaxed);
            }
            (Some("B"), Some(seq), Some(round)) => {
                let seq: u64 = seq.parse().unwrap_or(u64::MAX);
                let round: usize = round.parse().unwrap_or(usize::MAX);
                let (Some(b), Some(&len)) =
                    (self.seen.bursts.get_mut(round), self.bursts.get(round))
                else {
                    return true;
                };
                if seq != b.next {
                    b.in_order = false;
                }
                b.next = seq + 1;
                b.received += 1;
                if seq + 1 == len {
                    b.done = Some(Instant::now());
                    self.shared.burst_done.fetch_add(1, Ordering::SeqCst);
                }
            }
            (Some("E"), _, _) => return false,
            _ => {}
        }
        true
    }
}

type Ws = tungstenite::WebSocket<TcpStream>;

fn connect(port: u16) -> Ws {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    let (ws, _) = tungstenite::client::client(format!("ws://127.0.0.1:{port}/"), stream).unwrap();
    ws
}

/// `SSI_BENCH_VIEWERS=threads`: one blocking thread per viewer (the method
/// before; on 2 cores it mostly measures the bench's own scheduling).
fn client(kind: Kind, port: u16, bursts: Vec<u64>, shared: Arc<Shared>) -> Vec<Seen> {
    let mut ws = connect(port);
    let mut v = Viewer::new(kind, bursts, shared);
    loop {
        let msg = match ws.read() {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        if !v.take(&msg, now_ns()) {
            break;
        }
    }
    vec![v.seen]
}

/// A viewer's socket that asks the kernel to stamp each segment as it
/// arrives (`SO_TIMESTAMPNS`, CLOCK_REALTIME like `now_ns`) and keeps the
/// stamp of the last read, so a frame's arrival is when the server's write
/// reached the socket, not when this bench got round to reading it.
struct Stamped {
    s: TcpStream,
    last: Option<u64>,
}

impl Stamped {
    fn new(s: TcpStream) -> Stamped {
        let on: libc::c_int = 1;
        // SAFETY: setsockopt with a live fd and an int of the right size.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&s),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        Stamped { s, last: None }
    }
}

impl std::io::Read for Stamped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; 16];
        // SAFETY: msghdr points at `iov` and `control`, both live across
        // the call; the cmsg walk stays inside `control` (msg_controllen
        // as the kernel set it).
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control) as _;
            let n = libc::recvmsg(std::os::fd::AsRawFd::as_raw_fd(&self.s), &mut msg, 0);
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    self.last = Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
            Ok(n as usize)
        }
    }
}

impl std::io::Write for Stamped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.s.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.s.flush()
    }
}

/// `SSI_BENCH_VIEWERS=poll` (the default): one thread serving `count`
/// viewers. It connects them one after the other (blocking handshakes, so
/// never more than one pending per thread), then waits in `poll(2)` on all
/// of their sockets and reads each readable one until it would block,
/// stamping every message with the kernel's arrival time of its socket's
/// last read (the time of parsing where the kernel gave none).
fn poller(kind: Kind, port: u16, count: usize, bursts: Vec<u64>, shared: Arc<Shared>) -> Vec<Seen> {
    let mut conns: Vec<(tungstenite::WebSocket<Stamped>, Viewer)> = (0..count)
        .map(|_| {
            let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let (ws, _) = tungstenite::client::client(
                format!("ws://127.0.0.1:{port}/"),
                Stamped::new(stream),
            )
            .unwrap();
            ws.get_ref().s.set_nonblocking(true).unwrap();
            (ws, Viewer::new(kind, bursts.clone(), shared.clone()))
        })
        .collect();
    let mut open = vec![true; count];
    let mut fds: Vec<libc::pollfd> = conns
        .iter()
        .map(|(ws, _)| libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&ws.get_ref().s),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut left = count;
    while left > 0 {
        // SAFETY: `fds` is a live slice of pollfd for the call's duration.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
        if r < 0 {
            continue;
        }
        for i in 0..count {
            if fds[i].revents == 0 || !open[i] {
                continue;
            }
            fds[i].revents = 0;
            let (ws, v) = &mut conns[i];
            let alive = loop {
                match ws.read() {
                    Ok(Message::Text(t)) => {
                        let recv = ws.get_ref().last.unwrap_or_else(now_ns);
                        if !v.take(&t, recv) {
                            break false;
                        }
                    }
                    Ok(Message::Close(_)) => break false,
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock =>
                    {
                        break true;
                    }
                    Err(_) => break false,
                }
            };
            if !alive {
                open[i] = false;
                // A negative fd is ignored by poll(2).
                fds[i].fd = -1;
                left -= 1;
            }
        }
    }
    conns.into_iter().map(|(_, v)| v.seen).collect()
}

fn append(log: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn tree_pids(root: u32) -> Vec<u32> {
    let mut pids = vec![root];
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                let after = stat.rsplit(')').next().unwrap_or("");
                let ppid: u32 = after
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if ppid == root {
                    pids.push(pid);
                }
            }
        }
    }
    pids
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)
                    .map(|v| v.trim().trim_end_matches(" kB").parse().unwrap_or(0))
            })
        })
        .unwrap_or(0)
}

fn tree_rss_kib(root: u32) -> u64 {
    tree_pids(root)
        .into_iter()
        .map(|p| status_kib(p, "VmRSS:"))
        .sum()
}

fn tree_cpu_ticks(root: u32) -> u64 {
    tree_pids(root)
        .into_iter()
        .map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let f: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            let get = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            get(11) + get(12)
        })
        .sum()
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !cond() {
        if Instant::now() > deadline {
            eprintln!("   timeout waiting for {what}");
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

fn run(kind: Kind, n: usize, cfg: &Config) -> Report {
    let server = start(kind, cfg);
    let pid = server.child.id();
    let shared = Arc::new(Shared {
        warm: AtomicUsize::new(0),
        burst_done: AtomicUsize::new(0),
        paced_seen: AtomicUsize::new(0),
    });
    let mut handles = Vec::new();
    if cfg.threads {
        for i in 0..n {
            let sh = shared.clone();
            let port = server.port;
            let bursts = cfg.bursts.clone();
            handles.push(
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn(move || client(kind, port, bursts, sh))
                    .unwrap(),
            );
            // Stay under the listen backlog.
            if i % 64 == 63 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    } else {
        let readers = cfg.readers.clamp(1, n.max(1));
        for r in 0..readers {
            let count = n / readers + usize::from(r < n % readers);
            let sh = shared.clone();
            let port = server.port;
            let bursts = cfg.bursts.clone();
            handles.push(
                std::thread::Builder::new()
                    .spawn(move || poller(kind, port, count, bursts, sh))
                    .unwrap(),
            );
        }
    }
    // Every client is connected and following the log once it saw a W line.
    let start = Instant::now();
    while shared.warm.load(Ordering::SeqCst) < n && start.elapsed() < Duration::from_secs(60) {
        append(&server.log, "OK, W 0 0\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "   {} of {n} clients connected and warm",
        shared.warm.load(Ordering::SeqCst)
    );
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle_kib = tree_rss_kib(pid);

    // Paced lines, 10 ms apart.
    for i in 0..cfg.paced {
        append(&server.log, &format!("OK, P {i} {}\n", now_ns()));
        std::thread::sleep(Duration::from_millis(10));
    }
    let want = cfg.paced as usize * n;
    wait_until("paced lines", Duration::from_secs(30), || {
        shared.paced_seen.load(Ordering::Relaxed) >= want
    });

    // The bursts: every line of one in one write, one after the other.
    let mut starts = Vec::new();
    for (round, &len) in cfg.bursts.iter().enumerate() {
        let mut text = String::with_capacity(len as usize * 40);
        for i in 0..len {
            text.push_str(&format!("OK, B {i} {round}\n"));
        }
        shared.burst_done.store(0, Ordering::SeqCst);
        starts.push(Instant::now());
        append(&server.log, &text);
        wait_until("the burst", Duration::from_secs(300), || {
            shared.burst_done.load(Ordering::SeqCst) >= n
        });
        std::thread::sleep(Duration::from_millis(500));
    }
    let rss_loaded_kib = tree_rss_kib(pid);
    // Sum of each process's own peak (VmHWM) in the tree.
    let rss_peak_kib = tree_pids(pid)
        .into_iter()
        .map(|p| status_kib(p, "VmHWM:"))
        .sum();

    // Idle CPU with every client still connected.
    std::thread::sleep(Duration::from_millis(500));
    let before = tree_cpu_ticks(pid);
    std::thread::sleep(cfg.idle);
    let after = tree_cpu_ticks(pid);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let idle_cpu_ms = (after.saturating_sub(before)) * 1000 / hz;
    let rss_settled_kib = tree_rss_kib(pid);

    append(&server.log, "OK, E\n");
    let mut lat: Vec<u64> = Vec::new();
    let mut complete = vec![0; cfg.bursts.len()];
    let mut last = starts.clone();
    // Per paced line, its first and last viewer's latency: how late the
    // line left the server's source and hub, and how long the fan-out took.
    let mut first_last = vec![(u64::MAX, 0u64); cfg.paced as usize];
    for s in handles.into_iter().flat_map(|h| h.join().unwrap()) {
        for (&l, &i) in s.paced_latency_ns.iter().zip(&s.paced_line) {
            if let Some(fl) = first_last.get_mut(i) {
                *fl = (fl.0.min(l), fl.1.max(l));
            }
        }
        lat.extend(&s.paced_latency_ns);
        for (round, b) in s.bursts.iter().enumerate() {
            if b.received == cfg.bursts[round] && b.in_order {
                complete[round] += 1;
            }
            if let Some(d) = b.done {
                last[round] = last[round].max(d);
            }
        }
    }
    drop(server);
    let mut firsts: Vec<u64> = first_last
        .iter()
        .map(|f| f.0)
        .filter(|&f| f != u64::MAX)
        .collect();
    let mut spreads: Vec<u64> = first_last
        .iter()
        .filter(|f| f.0 != u64::MAX)
        .map(|f| f.1 - f.0)
        .collect();
    firsts.sort_unstable();
    spreads.sort_unstable();
    let ms = |v: &[u64], p: f64| {
        v.get(((v.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(f64::NAN, |&x| x as f64 / 1e6)
    };
    eprintln!(
        "   per paced line: first viewer p50 {:.2} ms, p99 {:.2} ms; first to last viewer p50 {:.2} ms, p99 {:.2} ms",
        ms(&firsts, 0.5),
        ms(&firsts, 0.99),
        ms(&spreads, 0.5),
        ms(&spreads, 0.99)
    );
    lat.sort_unstable();
    let pct = |p: f64| {
        if lat.is_empty() {
            f64::NAN
        } else {
            lat[((lat.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
        }
    };
    let r = Report {
        kind,
        clients: n,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        max_us: pct(1.0),
        paced_missing: want.saturating_sub(lat.len()),
        bursts: (0..cfg.bursts.len())
            .map(|i| {
                (
                    cfg.bursts[i],
                    last[i].duration_since(starts[i]).as_secs_f64() * 1000.0,
                    complete[i],
                )
            })
            .collect(),
        rss_idle_kib,
        rss_loaded_kib,
        rss_settled_kib,
        rss_peak_kib,
        idle_cpu_ms,
        idle_secs: cfg.idle.as_secs(),
    };
    let bursts: Vec<String> = r
        .bursts
        .iter()
        .map(|(len, ms, complete)| format!("burst of {len} {ms:.0} ms ({complete}/{n} complete)"))
        .collect();
    eprintln!(
        "   p50 {:.2} ms, p99 {:.2} ms, {}, RSS idle {:.1} MiB, after burst {:.1} MiB, idle CPU {} ms",
        r.p50_us / 1000.0,
        r.p99_us / 1000.0,
        bursts.join(", "),
        r.rss_idle_kib as f64 / 1024.0,
        r.rss_loaded_kib as f64 / 1024.0,
        r.idle_cpu_ms
    );
    r
}

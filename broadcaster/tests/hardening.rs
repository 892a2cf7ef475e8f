//! Abuse and bad luck on the connection side (issue 17): descriptor
//! exhaustion, slow request heads, a client that never reads, signals, a
//! closed stderr, and WebSocket/HTTP protocol violations. Every test drives
//! the real binary over loopback.

mod common;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    connect_from, limit_descriptors, proc_kib, status_code, upgrade_request, Fixture, Server,
};
use tungstenite::protocol::frame::coding::CloseCode;

const BIN: &str = env!("CARGO_BIN_EXE_ssi-broadcaster");

/// Sends `request` on `s` and returns the status code of the answer
/// (0 when none came within `timeout`) and the whole answer read so far.
fn ask(mut s: TcpStream, request: &str, timeout: Duration) -> (u16, String) {
    s.set_read_timeout(Some(timeout)).unwrap();
    if s.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + timeout;
    // Up to the end, or just the head of a 101 (which stays open).
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        if out.starts_with(b"HTTP/1.1 101") && out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    (status_code(&text), text)
}

fn healthz(port: u16, timeout: Duration) -> u16 {
    match TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => {
            let req = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
            ask(s, &req, timeout).0
        }
        Err(_) => 0,
    }
}

/// How many of the descriptors below `limit` the process has open (one
/// inherited above the limit does not count against it).
fn open_fds(pid: i32, limit: usize) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<usize>().ok())
                .filter(|&fd| fd < limit)
                .count()
        })
        .unwrap_or(0)
}

/// Item 1, accept side: with every descriptor taken by idle connections,
/// `/healthz` still gets an answer at once (503), the failure is logged
/// once rather than ten times a second, and all is well again once the
/// connections close.
#[test]
fn descriptor_exhaustion_still_answers_and_recovers() {
    const LIMIT: usize = 64;
    let fx = Fixture::new();
    let mut server = Server::start_custom(
        &fx,
        &[],
        // Idle connections stay for the whole test.
        &[("SSI_BROADCASTER_HANDSHAKE_MS", "30000")],
        |cmd| limit_descriptors(cmd, LIMIT as libc::rlim_t),
    );
    let (port, pid) = (server.port, server.pid());
    // From eight addresses, to stay within the per-source limit.
    let mut idle = Vec::new();
    while open_fds(pid, LIMIT) < LIMIT {
        assert!(
            idle.len() < LIMIT,
            "{LIMIT} connections left descriptors free"
        );
        let before = open_fds(pid, LIMIT);
        let src = [127, 0, 0, 2 + (idle.len() % 8) as u8];
        idle.push(connect_from(src, port).unwrap());
        let deadline = Instant::now() + Duration::from_millis(500);
        while open_fds(pid, LIMIT) == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    let start = Instant::now();
    let codes: Vec<u16> = (0..5)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(200));
            healthz(port, Duration::from_secs(2))
        })
        .collect();
    eprintln!(
        "{} idle connections exhaust {LIMIT} descriptors; /healthz then: {codes:?} in {:?}",
        idle.len(),
        start.elapsed()
    );
    assert!(
        codes.iter().all(|&c| c == 200 || c == 503),
        "/healthz under descriptor exhaustion: {codes:?}"
    );
    let accept_lines = server
        .stderr_lines()
        .iter()
        .filter(|l| l.contains("accept"))
        .count();
    eprintln!("accept warnings: {accept_lines}");
    assert!(accept_lines <= 1, "{accept_lines} accept warnings");

    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(5);
    while healthz(port, Duration::from_secs(2)) != 200 {
        assert!(Instant::now() < deadline, "never recovered");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.connect().snapshot(0);
    assert!(server.alive());
}

/// Item 3: 400 connections dribbling their request head one byte a second,
/// from four other addresses (the per-source limit holds them), while
/// `/healthz`, the dashboard and new WebSocket clients from 127.0.0.1 keep
/// working.
#[test]
fn slow_request_heads_from_few_sources_do_not_lock_out_others() {
    slow_heads_attack(4);
}

/// The same from 100 addresses, four each: the total limit is reached
/// without any source reaching its own, and newcomers take the oldest
/// places of the biggest holders.
#[test]
fn slow_request_heads_from_many_sources_do_not_lock_out_others() {
    slow_heads_attack(100);
}

fn slow_heads_attack(sources: usize) {
    let fx = Fixture::new();
    fx.script("a.sh", "Service A");
    let server = Server::start(&fx);
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut conns: Vec<Option<TcpStream>> = (0..400).map(|_| None).collect();
            while !stop.load(Ordering::SeqCst) {
                for (i, c) in conns.iter_mut().enumerate() {
                    if c.is_none() {
                        let src = [127, 0, 0, 2 + (i % sources) as u8];
                        *c = connect_from(src, port).ok();
                    }
                    // One byte a second; a refused one is reopened.
                    if let Some(s) = c {
                        if s.write(b"G").is_err() {
                            *c = None;
                        }
                    }
                }
                for _ in 0..10 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    let t = Duration::from_secs(2);
    let host = format!("Host: 127.0.0.1:{port}\r\n");
    let mut failed = Vec::new();
    let rounds = 5;
    for round in 0..rounds {
        let health = healthz(port, t);
        let dashboard = TcpStream::connect(("127.0.0.1", port))
            .map(|s| ask(s, &format!("GET / HTTP/1.1\r\n{host}\r\n"), t).0)
            .unwrap_or(0);
        let ws = TcpStream::connect(("127.0.0.1", port)).ok().and_then(|s| {
            s.set_read_timeout(Some(t)).ok()?;
            let url = format!("ws://127.0.0.1:{port}/");
            let (mut ws, _) = tungstenite::client::client(url, s).ok()?;
            let first = ws.read().ok()?;
            Some(first.to_text().ok()?.contains("agent.ready"))
        });
        if health != 200 || dashboard != 200 || ws != Some(true) {
            failed.push((round, health, dashboard, ws));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    stop.store(true, Ordering::SeqCst);
    attacker.join().unwrap();
    eprintln!(
        "probe rounds failed under attack from {sources} sources: {}/{rounds}: {failed:?}",
        failed.len()
    );
    assert!(failed.is_empty(), "probes failed under attack: {failed:?}");
}

/// Item 4: one client that never reads while 24 MB of long lines go by:
/// the queue is bounded in bytes, so memory stays bounded, the slow client
/// is closed with 1013, the reading client gets every line, and memory is
/// given back once the slow client is gone.
#[test]
fn queue_is_bounded_in_bytes() {
    let fx = Fixture::new();
    fx.script("flood.sh", "Flood");
    let server = Server::start_with(&fx, &[], &[("SSI_BROADCASTER_QUEUE_BYTES", "2097152")]);
    let pid = server.pid();
    let mut slow = server.connect();
    slow.snapshot(0);
    let mut fast = server.connect();
    fast.snapshot(0);
    let base = proc_kib(pid, "VmRSS");

    let pad = "x".repeat(60_000);
    const BATCHES: usize = 20;
    const PER: usize = 20;
    for b in 0..BATCHES {
        let mut chunk = String::new();
        for i in 0..PER {
            chunk.push_str(&format!("OK, {} {pad}\n", b * PER + i));
        }
        fx.append("flood", chunk);
        for i in 0..PER {
            let (_, _, msg) = fast.next_status();
            assert!(
                msg.starts_with(&format!("{} ", b * PER + i)),
                "reading client missed {}",
                b * PER + i
            );
        }
    }
    let peak = proc_kib(pid, "VmHWM");
    eprintln!(
        "RSS before {base} KiB, peak {peak} KiB for {} MB of lines",
        BATCHES * PER * 60 / 1000
    );

    let (received, code) = slow.read_to_close();
    drop(slow);
    eprintln!("slow client: {received} messages, then {code:?}");
    assert!(received < BATCHES * PER, "slow client got everything");
    assert_eq!(code, Some(CloseCode::Again));
    assert!(
        peak < base + 10 * 1024,
        "peak RSS {peak} KiB, from {base} KiB"
    );

    // Freed once nothing holds the frames any more.
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        let now = proc_kib(pid, "VmRSS");
        if now < base + 12 * 1024 {
            eprintln!("RSS after the slow client left: {now} KiB");
            break;
        }
        assert!(Instant::now() < deadline, "RSS still {now} KiB");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Item 5: SIGHUP re-reads the scripts and logs and keeps every client;
/// SIGUSR1, SIGUSR2 and SIGQUIT do not end the process either.
#[test]
fn sighup_rescans_and_other_signals_do_not_kill() {
    let fx = Fixture::new();
    fx.script("a.sh", "Service A");
    // No inotify, a slow rescan: only SIGHUP can show the changes in time.
    let mut server = Server::start_with(&fx, &[], &[("SSI_BROADCASTER_IGNORE_EVENTS", "1")]);
    let mut c = server.connect();
    c.snapshot(0);
    fx.script("b.sh", "Service B");
    fx.append("b", common::line("WARNING", "seen after SIGHUP"));
    std::thread::sleep(Duration::from_millis(200));
    server.signal(libc::SIGHUP);
    let added = c.next_of("agent.service_added");
    assert_eq!(added["data"]["service"]["id"], "b");
    assert_eq!(c.next_status().2, "seen after SIGHUP");

    for sig in [libc::SIGUSR1, libc::SIGUSR2, libc::SIGQUIT, libc::SIGHUP] {
        server.signal(sig);
        std::thread::sleep(Duration::from_millis(200));
        assert!(server.alive(), "signal {sig} ended the process");
        assert_eq!(server.get("/healthz").0, 200);
    }
    // SIGUSR1 reports the connections and the queue.
    let report = server.stderr_lines();
    assert!(
        report.iter().any(|l| l.contains("1 WebSocket clients")),
        "{report:?}"
    );
    // The first client is still connected and served.
    fx.append("a", common::line("FAILURE", "still here"));
    server.signal(libc::SIGHUP);
    assert_eq!(
        c.next_status(),
        ("a".into(), "FAILURE".into(), "still here".into())
    );
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(3)), Some(0));
}

/// Item 6: with stderr a pipe nobody reads any more, warnings are lost but
/// the process lives on.
#[test]
fn closed_stderr_does_not_kill() {
    let fx = Fixture::new();
    fx.script("a.sh", "Service A");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut fds = [0; 2];
    // SAFETY: a fresh pipe; both ends are owned right away.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    let mut child = Command::new(BIN)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--log-dir")
        .arg(&fx.logs)
        .arg("--scripts-dir")
        .arg(&fx.scripts)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("LISTEN_FDS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(write))
        .spawn()
        .unwrap();
    let mut server = scopeguard(&mut child);
    let deadline = Instant::now() + Duration::from_secs(5);
    while healthz(port, Duration::from_secs(1)) != 200 {
        let status = server.try_wait().unwrap();
        assert!(status.is_none(), "died at start: {status:?}");
        assert!(Instant::now() < deadline, "never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Warnings at run time: a symlinked log, a bad request.
    std::os::unix::fs::symlink("/etc/hostname", fx.log("a")).unwrap();
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert_eq!(ask(s, "garbage\r\n\r\n", Duration::from_secs(2)).0, 400);
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.try_wait().unwrap().is_none(), "died on a warning");
    assert_eq!(healthz(port, Duration::from_secs(2)), 200);
}

/// Kills the child when the test ends, however it ends.
fn scopeguard(child: &mut std::process::Child) -> Guard<'_> {
    Guard(child)
}

struct Guard<'a>(&'a mut std::process::Child);

impl std::ops::Deref for Guard<'_> {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl std::ops::DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A raw WebSocket connection past its snapshot's first frame.
fn raw_ws(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(upgrade_request(port, "1.1", "").as_bytes())
        .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    let (op, _) = read_frame(&mut s).unwrap();
    assert_eq!(op, 1, "agent.ready first");
    s
}

/// One server frame (unmasked): opcode and payload.
fn read_frame(s: &mut TcpStream) -> io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h)?;
    let len = match h[1] & 0x7f {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l)?;
            u16::from_be_bytes(l) as usize
        }
        127 => {
            let mut l = [0u8; 8];
            s.read_exact(&mut l)?;
            u64::from_be_bytes(l) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload)?;
    Ok((h[0] & 0x0f, payload))
}

/// A client frame, masked unless `mask` is false.
fn frame(first: u8, payload: &[u8], mask: bool) -> Vec<u8> {
    let key = [0x12, 0x34, 0x56, 0x78];
    let mut f = vec![first];
    let m = if mask { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if mask {
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

/// The close code the server sends before closing, if any.
fn close_code(s: &mut TcpStream) -> Option<u16> {
    loop {
        match read_frame(s) {
            Ok((8, p)) if p.len() >= 2 => return Some(u16::from_be_bytes([p[0], p[1]])),
            Ok((8, _)) => return None,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// RFC 6455 7.4.1: a protocol violation is answered with close 1002, a
/// text message that is not UTF-8 with 1007, before the TCP close.
#[test]
fn protocol_violations_get_a_close_code() {
    let fx = Fixture::new();
    let server = Server::start(&fx);
    let cases: [(&str, Vec<u8>, u16); 6] = [
        ("unmasked frame", frame(0x81, b"hi", false), 1002),
        ("RSV1 bit", frame(0xc1, b"hi", true), 1002),
        ("reserved data opcode", frame(0x83, b"", true), 1002),
        ("reserved control opcode", frame(0x8b, b"", true), 1002),
        (
            "control frame over 125 bytes",
            frame(0x89, &[b'p'; 126], true),
            1002,
        ),
        ("text not UTF-8", frame(0x81, b"caf\xe9", true), 1007),
    ];
    for (what, bytes, want) in cases {
        let mut s = raw_ws(server.port);
        s.write_all(&bytes).unwrap();
        assert_eq!(close_code(&mut s), Some(want), "{what}");
    }
}

#[test]
fn http_1_0_upgrade_is_refused() {
    let fx = Fixture::new();
    let server = Server::start(&fx);
    let (code, resp) = server.http(&upgrade_request(server.port, "1.0", ""));
    assert!(code == 400 || code == 426, "{resp}");
    // Plain HTTP/1.0 requests are still served.
    let (code, _) = server.http(&format!(
        "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
        server.port
    ));
    assert_eq!(code, 200);
}

#[test]
fn duplicate_host_or_origin_is_refused() {
    let fx = Fixture::new();
    let server = Server::start(&fx);
    let p = server.port;
    let (code, resp) = server.http(&format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nHost: evil.example\r\n\r\n"
    ));
    assert_eq!(code, 400, "{resp}");
    let (code, resp) = server.http(&upgrade_request(
        p,
        "1.1",
        &format!("Origin: http://localhost:{p}\r\nOrigin: http://evil.example\r\n"),
    ));
    assert_eq!(code, 400, "{resp}");
}

// Issue 21, item 11: work after the request head, bounded per source.

/// The binary the flood tests drive: this build's, or the one named by
/// `SSI_FLOOD_BIN` (to measure a release build, before and after).
fn flood_bin() -> String {
    std::env::var("SSI_FLOOD_BIN").unwrap_or_else(|_| BIN.to_owned())
}

/// Starts `flood_bin()` on a free loopback port with `fx`'s directories;
/// returns it and its port once `/healthz` answers.
fn start_flood_target(fx: &Fixture) -> (std::process::Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(flood_bin())
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--log-dir")
        .arg(&fx.logs)
        .arg("--scripts-dir")
        .arg(&fx.scripts)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("LISTEN_FDS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while healthz(port, Duration::from_secs(1)) != 200 {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} never answered on port {port}", flood_bin());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

/// `conns` connections from `sources` addresses (127.0.0.2, …), each
/// sending `request` and then (if `trickle`) a byte every `every`, never
/// reading but to notice the end; one that is closed (refused, answered,
/// evicted) is opened again at once, by four threads of their own so that
/// a slow connect never delays the trickle. Runs until `stop`; returns how many
/// connections it opened.
fn flood(
    port: u16,
    sources: usize,
    conns: usize,
    request: String,
    trickle: bool,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let opened = Arc::new(AtomicUsize::new(0));
    let opener = |_| {
        let (live, opened, stop) = (live.clone(), opened.clone(), stop.clone());
        let request = request.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if live.lock().unwrap().len() >= conns {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                let n = opened.fetch_add(1, Ordering::SeqCst);
                let src = [127, 0, 0, 2 + (n % sources) as u8];
                let Ok(mut s) = connect_from(src, port) else {
                    continue;
                };
                if s.write_all(request.as_bytes()).is_ok() && s.set_nonblocking(true).is_ok() {
                    live.lock().unwrap().push(s);
                }
            }
        })
    };
    let openers: Vec<_> = (0..4).map(opener).collect();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            // Closed by the server: end of file, or a reset. (A half-close
            // is not the end of a trickle: the server may still be reading.)
            live.lock().unwrap().retain(|s| {
                if trickle {
                    (&*s).write(b"x").is_ok()
                } else {
                    !drained(s)
                }
            });
            std::thread::sleep(every);
        }
        for o in openers {
            o.join().unwrap();
        }
        opened.load(Ordering::SeqCst)
    })
}

/// Reads everything `s` (nonblocking) has; says whether it has ended.
fn drained(mut s: &TcpStream) -> bool {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// One round of probes from 127.0.0.1: `/healthz`, the dashboard and a new
/// WebSocket client (up to its `agent.ready`), each given 3 s. Returns the
/// codes (0: no answer; the WebSocket's 101 when its snapshot came) and the
/// latencies of `/healthz` and of the WebSocket.
fn probe(port: u16) -> ([u16; 3], Duration, Duration) {
    // Not less: a loopback flood can fill the listen backlog, and a SYN
    // dropped there is sent again after 1 s.
    let t = Duration::from_secs(3);
    let started = Instant::now();
    let health = healthz(port, t);
    let health_took = started.elapsed();
    let dashboard = TcpStream::connect(("127.0.0.1", port))
        .map(|s| {
            let req = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
            ask(s, &req, t).0
        })
        .unwrap_or(0);
    let started = Instant::now();
    let ws = TcpStream::connect(("127.0.0.1", port))
        .ok()
        .and_then(|s| {
            s.set_read_timeout(Some(t)).ok()?;
            let url = format!("ws://127.0.0.1:{port}/");
            let (mut ws, _) = tungstenite::client::client(url, s).ok()?;
            let first = ws.read().ok()?;
            first.to_text().ok()?.contains("agent.ready").then_some(101)
        })
        .unwrap_or(0);
    ([health, dashboard, ws], health_took, started.elapsed())
}

/// The number of threads of process `pid`.
fn proc_threads(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Probes `rounds` times while a flood runs; returns the failed rounds and
/// prints the latencies.
fn probe_during_flood(port: u16, pid: i32, what: &str, rounds: usize) -> Vec<(usize, [u16; 3])> {
    let mut failed = Vec::new();
    let (mut health, mut ws, mut threads) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        threads.push(proc_threads(pid));
        let (codes, h, w) = probe(port);
        if codes != [200, 200, 101] {
            failed.push((round, codes));
        }
        health.push(h);
        ws.push(w);
        std::thread::sleep(Duration::from_millis(200));
    }
    health.sort();
    ws.sort();
    eprintln!(
        "{what}: {}/{rounds} probe rounds failed {failed:?}; /healthz median {:?} max {:?}; \
         WebSocket to agent.ready median {:?} max {:?}; server threads {threads:?}",
        failed.len(),
        health[rounds / 2],
        health[rounds - 1],
        ws[rounds / 2],
        ws[rounds - 1],
    );
    failed
}

/// 400 connections from one address asking for every check's history at
/// once, again as soon as each is answered: `/healthz`, the dashboard and a
/// new WebSocket client from another address are still served within 3 s,
/// and so is a history request from that other address (the flood holds
/// only its share of the history queue).
#[test]
fn history_flood_from_one_source_does_not_lock_out_others() {
    let fx = Fixture::new();
    let ids = fx.checks(300, |i| {
        format!("# name: Check {i}\n# description: d\n# version: 1\n# schedule: *:0/5\n")
    });
    let lines: String = (0..200)
        .map(|i| format!("2026-11-26 10:{:02}:{:02}, OK, line {i}\n", i / 60, i % 60))
        .collect();
    for id in &ids {
        fx.append(id, &lines);
    }
    let (mut child, port) = start_flood_target(&fx);
    let pid = child.id() as i32;
    let _server = scopeguard(&mut child);
    let stop = Arc::new(AtomicBool::new(false));
    let request = format!("GET /api/history HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let attacker = flood(
        port,
        1,
        400,
        request,
        false,
        Duration::from_millis(20),
        stop.clone(),
    );
    std::thread::sleep(Duration::from_millis(3000));
    let failed = probe_during_flood(port, pid, "/api/history flood from one source", 8);
    // An honest history request from elsewhere gets its turn.
    let started = Instant::now();
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let req = format!("GET /api/history?limit=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let (code, body) = ask(s, &req, Duration::from_secs(10));
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let opened = attacker.join().unwrap();
    eprintln!("history from another source during the flood: {code} in {took:?}; the flood opened {opened} connections");
    assert!(
        failed.is_empty(),
        "probes failed under the flood: {failed:?}"
    );
    assert_eq!(code, 200, "history from another source: {body}");
    assert!(body.contains("\"check_0299\""), "{body}");
    assert!(took < Duration::from_secs(5), "history took {took:?}");
}

/// 400 connections from one address that send a complete request and then
/// a byte every 0.3 s, which used to keep the lingering close reading
/// forever: `/healthz`, the dashboard and new WebSocket clients from
/// another address are still served within 3 s.
#[test]
fn trickle_after_request_from_one_source_does_not_lock_out_others() {
    trickle_after_request(1);
}

/// The same from 100 addresses, four each: the total of connections being
/// answered is reached without any source reaching its own limit, and
/// newcomers take the oldest places of the biggest holders.
#[test]
fn trickle_after_request_from_many_sources_does_not_lock_out_others() {
    trickle_after_request(100);
}

fn trickle_after_request(sources: usize) {
    let fx = Fixture::new();
    fx.script("a.sh", "Service A");
    let (mut child, port) = start_flood_target(&fx);
    let pid = child.id() as i32;
    let _server = scopeguard(&mut child);
    let stop = Arc::new(AtomicBool::new(false));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let every = Duration::from_millis(300);
    let attacker = flood(port, sources, 400, request, true, every, stop.clone());
    std::thread::sleep(Duration::from_millis(2500));
    let what = format!("request then a byte every 0.3 s, from {sources} sources");
    let failed = probe_during_flood(port, pid, &what, 8);
    stop.store(true, Ordering::SeqCst);
    let opened = attacker.join().unwrap();
    eprintln!("the trickle opened {opened} connections");
    assert!(
        failed.is_empty(),
        "probes failed under the flood: {failed:?}"
    );
}

/// A peer that, after its answer, sends a byte every 0.1 s no longer keeps
/// the lingering close reading: the connection is closed within about its
/// 0.5 s deadline, where each byte used to restart a 0.5 s wait.
#[test]
fn lingering_close_has_a_total_deadline() {
    let fx = Fixture::new();
    let server = Server::start(&fx);
    let port = server.port;
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut answer = Vec::new();
    // The answer, then end of file (the server's half-close).
    s.read_to_end(&mut answer).unwrap();
    assert!(answer.ends_with(b"\r\n\r\nok\n"), "{answer:?}");
    let started = Instant::now();
    let closed = loop {
        std::thread::sleep(Duration::from_millis(100));
        if s.write(b"x").is_err() {
            break Some(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(4) {
            break None;
        }
    };
    eprintln!("a byte every 0.1 s after the answer: closed after {closed:?}");
    let closed = closed.expect("still lingering after 4 s");
    assert!(
        closed < Duration::from_millis(1500),
        "closed after {closed:?}"
    );
}

/// Requests for every check's history queue with a bound per source: of
/// twelve sent at once from one address, some are told 503 with
/// `Retry-After` at once (the queue holds four per source), the others are
/// answered, and the next one, alone, is answered too.
#[test]
fn history_queue_is_bounded_per_source() {
    let fx = Fixture::new();
    let ids = fx.checks(150, |i| {
        format!("# name: Check {i}\n# description: d\n# version: 1\n# schedule: *:0/5\n")
    });
    let lines: String = (0..200)
        .map(|i| format!("2026-11-26 10:{:02}:{:02}, OK, line {i}\n", i / 60, i % 60))
        .collect();
    for id in &ids {
        fx.append(id, &lines);
    }
    let server = Server::start(&fx);
    let port = server.port;
    let request = format!("GET /api/history HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let started = Instant::now();
    assert_eq!(server.get("/api/history").0, 200);
    eprintln!("one /api/history for 150 checks: {:?}", started.elapsed());
    let socks: Vec<TcpStream> = (0..12)
        .map(|_| connect_from([127, 0, 0, 2], port).unwrap())
        .collect();
    for mut s in &socks {
        s.write_all(request.as_bytes()).unwrap();
    }
    let answers: Vec<(u16, String)> = socks
        .into_iter()
        .map(|s| ask(s, "", Duration::from_secs(15)))
        .collect();
    let codes: Vec<u16> = answers.iter().map(|a| a.0).collect();
    eprintln!("twelve at once from one address: {codes:?}");
    let refused: Vec<&String> = answers
        .iter()
        .filter(|a| a.0 == 503)
        .map(|a| &a.1)
        .collect();
    assert!(!refused.is_empty(), "none refused: {codes:?}");
    assert!(codes.iter().all(|&c| c == 200 || c == 503), "{codes:?}");
    assert!(
        codes.iter().filter(|&&c| c == 200).count() >= 4,
        "{codes:?}"
    );
    for r in refused {
        assert!(r.contains("Retry-After: 5\r\n"), "{r}");
        assert!(
            r.contains("4 history requests from this address queued, try again later"),
            "{r}"
        );
    }
    assert_eq!(server.get("/api/history").0, 200);
}

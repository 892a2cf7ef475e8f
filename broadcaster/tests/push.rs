//! `--push`: the real broadcaster reporting to a real collector on
//! loopback (a tungstenite server started here, over TLS from a CA made
//! here with rcgen), through outages, bad certificates, silent peers and
//! bursts.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::Fixture;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use tungstenite::Message;

const KEY: &str = "Agent-Key_0123456789abcdef.XYZ~";

/// Short timings so that outages cost milliseconds, not minutes.
const FAST: &[(&str, &str)] = &[
    ("SSI_BROADCASTER_PUSH_RETRY_MS", "150"),
    ("SSI_BROADCASTER_PUSH_RETRY_MAX_MS", "300"),
];

// --- certificates -----------------------------------------------------

/// A CA and a server certificate it signed, written as PEM where needed.
struct Pki {
    ca_pem: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

fn pki(dir: &Path, name: &str, host: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    let ca = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![host.to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let ca_pem = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    Pki {
        ca_pem,
        server: Arc::new(server),
    }
}

// --- the collector -----------------------------------------------------

/// What the collector saw.
#[derive(Debug)]
enum Seen {
    /// A WebSocket connection, with its request path.
    Connected(String),
    /// A text message, parsed.
    Msg(Value),
    /// A close frame from the agent, with its code.
    Closed(u16),
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Reads and answers like any WebSocket server.
    Normal,
    /// Completes the upgrade, then neither reads nor answers pings.
    Deaf,
    /// On its first connection sends a close frame and keeps TCP open,
    /// reading nothing; later connections are normal.
    CloseKeepOpen,
    /// Reads nothing and sends unsolicited pongs (`0xff` × 8) all the time.
    LiarPong,
}

/// A WebSocket server on loopback; dropping it kills every connection.
struct Collector {
    port: u16,
    seen: mpsc::Receiver<Seen>,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

impl Collector {
    fn start(port: u16, tls: Option<Arc<rustls::ServerConfig>>, mode: Mode) -> Collector {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, seen) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (st, acc) = (stop.clone(), accepted.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                let Ok((s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let mode = match (mode, acc.fetch_add(1, Ordering::SeqCst)) {
                    (Mode::CloseKeepOpen, 1..) => Mode::Normal,
                    (m, _) => m,
                };
                let (tx, st, tls) = (tx.clone(), st.clone(), tls.clone());
                std::thread::spawn(move || {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
                    match tls {
                        Some(cfg) => {
                            let conn = rustls::ServerConnection::new(cfg).unwrap();
                            serve(rustls::StreamOwned::new(conn, s), &tx, &st, mode);
                        }
                        None => serve(s, &tx, &st, mode),
                    }
                });
            }
        });
        Collector {
            port,
            seen,
            stop,
            accepted,
        }
    }

    /// The next thing seen, within `d`.
    fn next(&self, d: Duration) -> Seen {
        self.seen
            .recv_timeout(d)
            .unwrap_or_else(|_| panic!("the collector saw nothing within {d:?}"))
    }

    fn next_msg(&self) -> Value {
        match self.next(Duration::from_secs(10)) {
            Seen::Msg(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Waits for a connection; returns its path.
    fn connected(&self, d: Duration) -> String {
        match self.next(d) {
            Seen::Connected(p) => p,
            other => panic!("expected a connection, got {other:?}"),
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Let the threads notice and drop their sockets.
        std::thread::sleep(Duration::from_millis(120));
    }
}

#[allow(clippy::result_large_err)] // tungstenite's callback signature
fn serve<S: Read + Write>(s: S, tx: &mpsc::Sender<Seen>, stop: &AtomicBool, mode: Mode) {
    let mut path = String::new();
    let cb = |req: &tungstenite::handshake::server::Request, resp| {
        path = req.uri().path().to_string();
        Ok(resp)
    };
    let mut ws = match tungstenite::accept_hdr(s, cb) {
        Ok(ws) => ws,
        Err(_) => return,
    };
    let _ = tx.send(Seen::Connected(path));
    if mode == Mode::CloseKeepOpen {
        let _ = ws.close(None);
        let _ = ws.flush();
    }
    while !stop.load(Ordering::SeqCst) {
        match mode {
            Mode::Deaf | Mode::CloseKeepOpen => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Mode::LiarPong => {
                let _ = ws.send(Message::Pong(vec![0xff; 8].into()));
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Mode::Normal => {}
        }
        match ws.read() {
            Ok(Message::Text(t)) => {
                let _ = tx.send(Seen::Msg(serde_json::from_str(&t).unwrap()));
            }
            Ok(Message::Close(f)) => {
                let _ = tx.send(Seen::Closed(f.map_or(0, |f| f.code.into())));
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

// --- the agent -----------------------------------------------------------

/// The broadcaster, with every line it wrote to stderr.
struct Agent {
    child: Child,
    lines: mpsc::Receiver<String>,
    all: Arc<Mutex<Vec<String>>>,
}

impl Agent {
    fn start(fx: &Fixture, args: &[&str], env: &[(&str, &str)]) -> Agent {
        Agent::start_program(fx, env!("CARGO_BIN_EXE_ssi-broadcaster"), args, env)
    }

    /// `program args --log-dir … --scripts-dir …`: the broadcaster, or a
    /// wrapper that ends by running it with the arguments it is given.
    fn start_program(fx: &Fixture, program: &str, args: &[&str], env: &[(&str, &str)]) -> Agent {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .arg("--log-dir")
            .arg(&fx.logs)
            .arg("--scripts-dir")
            .arg(&fx.scripts)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("LISTEN_FDS")
            .env_remove("CREDENTIALS_DIRECTORY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let all = Arc::new(Mutex::new(Vec::new()));
        let keep = all.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Agent { child, lines, all }
    }

    /// Waits for a stderr line containing `what`; returns it.
    fn line(&self, what: &str, d: Duration) -> String {
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(what) => return l,
                Ok(_) => {}
                Err(_) => panic!(
                    "no line with {what:?} within {d:?}; stderr so far:\n{}",
                    self.all.lock().unwrap().join("\n")
                ),
            }
        }
    }

    /// Waits for the "listening on" line of `--listen 127.0.0.1:0` and
    /// connects a local WebSocket client to that port, its reads bounded
    /// by `read_timeout`.
    fn connect_local(&self, read_timeout: Duration) -> common::Client {
        let listening = self.line("listening on ws://127.0.0.1:", Duration::from_secs(10));
        let port: u16 = listening
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(read_timeout)).unwrap();
        let (ws, _) =
            tungstenite::client::client(format!("ws://127.0.0.1:{port}/"), stream).unwrap();
        common::Client { ws }
    }

    /// Asserts that the key is in no stderr line and not in the command line.
    fn assert_key_hidden(&self) {
        for l in self.all.lock().unwrap().iter() {
            assert!(!l.contains(KEY), "key printed: {l}");
        }
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", self.child.id())).unwrap();
        assert!(!String::from_utf8_lossy(&cmdline).contains(KEY));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn key_file(fx: &Fixture) -> String {
    let p = fx.tmp.path().join("push.key");
    std::fs::write(&p, format!("{KEY}\n")).unwrap();
    p.to_str().unwrap().to_string()
}

/// Reads the snapshot and `n` status messages; returns the statuses'
/// messages.
fn statuses(c: &Collector, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let v = c.next_msg();
            assert_eq!(v["type"], "agent.service_status_update", "{v}");
            v["data"]["message"].as_str().unwrap().to_string()
        })
        .collect()
}

fn expect_ready(c: &Collector, ids: &[&str]) {
    let v = c.next_msg();
    assert_eq!(v["type"], "agent.ready", "{v}");
    let got: Vec<&str> = v["data"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids);
}

// --- the tests ------------------------------------------------------------

/// Over TLS with a private CA and a key: the path carries the key, the
/// stream is the snapshot then every live event in order, SIGTERM closes
/// with 1001, and the key is never printed nor in `ps`.
#[test]
fn tls_stream_in_order_and_key_hidden() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    fx.append("alpha", common::line("OK", "before"));
    let pki = pki(fx.tmp.path(), "good", "localhost");
    let collector = Collector::start(0, Some(pki.server.clone()), Mode::Normal);
    let url = format!("wss://localhost:{}/ws/agent/", collector.port);
    let key = key_file(&fx);
    let agent = Agent::start(
        &fx,
        &[
            "--no-listen",
            "--push",
            &url,
            "--push-ca",
            pki.ca_pem.to_str().unwrap(),
            "--push-key-file",
            &key,
        ],
        &[],
    );
    assert_eq!(
        collector.connected(Duration::from_secs(10)),
        format!("/ws/agent/{KEY}/")
    );
    expect_ready(&collector, &["alpha"]);
    assert_eq!(statuses(&collector, 1), ["before"]);
    let line = agent.line("connected", Duration::from_secs(5));
    assert!(
        line.contains(&format!(
            "push wss://localhost:{}/ws/agent/<redacted>/: connected",
            collector.port
        )),
        "{line}"
    );
    fx.script("beta.sh", "Beta");
    let v = collector.next_msg();
    assert_eq!(v["type"], "agent.service_added", "{v}");
    // Order is per log: lines of different logs are as concurrent as the
    // scripts that write them, for local clients too.
    for i in 0..50 {
        fx.append("alpha", common::line("WARNING", &format!("n{i}")));
        std::thread::sleep(Duration::from_millis(2));
    }
    let want: Vec<String> = (0..50).map(|i| format!("n{i}")).collect();
    assert_eq!(statuses(&collector, 50), want);
    fx.append("beta", common::line("OK", "beta"));
    assert_eq!(statuses(&collector, 1), ["beta"]);
    agent.assert_key_hidden();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(agent.child.id() as i32, libc::SIGTERM) };
    match collector.next(Duration::from_secs(5)) {
        Seen::Closed(code) => assert_eq!(code, 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    agent.assert_key_hidden();
}

/// With `--push-history` (full catch-up, for collectors that keep
/// history), the collector gone for 10 s while 500 lines are written:
/// after it comes back, all 500 arrive in order, once, right after
/// agent.ready (the service's latest status is the last of them, not sent
/// apart), and the status from before the outage is not sent again.
#[test]
fn ten_second_outage_loses_nothing_and_repeats_nothing() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    fx.script("beta.sh", "Beta");
    fx.append("alpha", common::line("OK", "before"));
    fx.append("beta", common::line("OK", "beta-before"));
    let collector = Collector::start(0, None, Mode::Normal);
    let port = collector.port;
    let url = format!("ws://127.0.0.1:{port}/");
    let agent = Agent::start(
        &fx,
        &["--no-listen", "--push", &url, "--push-history"],
        FAST,
    );
    collector.connected(Duration::from_secs(10));
    expect_ready(&collector, &["alpha", "beta"]);
    assert_eq!(statuses(&collector, 2), ["before", "beta-before"]);
    drop(collector);
    let lost = agent.line("connection lost", Duration::from_secs(5));
    let t0 = Instant::now();
    for i in 0..500 {
        fx.append("alpha", common::line("OK", &format!("m{i}")));
        std::thread::sleep(Duration::from_millis(20));
    }
    let outage = t0.elapsed();
    let collector = Collector::start(port, None, Mode::Normal);
    let back = Instant::now();
    collector.connected(Duration::from_secs(5));
    let reconnect = back.elapsed();
    let line = agent.line("connected", Duration::from_secs(5));
    assert!(line.contains("sending 500 held status lines"), "{line}");
    expect_ready(&collector, &["alpha", "beta"]);
    // beta has no held line: its latest comes in the snapshot part.
    assert_eq!(statuses(&collector, 1), ["beta-before"]);
    let want: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
    assert_eq!(statuses(&collector, 500), want);
    let caught_up = back.elapsed();
    // Live again, and nothing repeated before it.
    fx.append("alpha", common::line("OK", "live"));
    assert_eq!(statuses(&collector, 1), ["live"]);
    eprintln!(
        "outage {outage:.1?} ({lost}); reconnected {reconnect:.0?} after the collector \
         came back; 500 held lines delivered {caught_up:.0?} after it"
    );
}

/// Certificates signed by another CA, or for another name, are refused
/// with a message that says so, names the URL without the key, and are
/// retried.
#[test]
fn wrong_ca_and_wrong_name_are_refused_and_retried() {
    let fx = Fixture::new();
    let good = pki(fx.tmp.path(), "good", "localhost");
    let other = pki(fx.tmp.path(), "other", "localhost");
    let collector = Collector::start(0, Some(good.server.clone()), Mode::Normal);
    let key = key_file(&fx);
    let port = collector.port;
    for (host, ca, reason) in [
        ("localhost", &other.ca_pem, "certificate not trusted"),
        ("127.0.0.1", &good.ca_pem, "name mismatch"),
    ] {
        let url = format!("wss://{host}:{port}/a/");
        let agent = Agent::start(
            &fx,
            &[
                "--no-listen",
                "--push",
                &url,
                "--push-ca",
                ca.to_str().unwrap(),
                "--push-key-file",
                &key,
            ],
            FAST,
        );
        let shown = format!("push wss://{host}:{port}/a/<redacted>/: {reason}");
        let first = agent.line(&shown, Duration::from_secs(5));
        assert!(first.contains("retrying in"), "{first}");
        assert!(first.contains("attempt 1 failed"), "{first}");
        let second = agent.line(&shown, Duration::from_secs(5));
        assert!(second.contains("attempt 2 failed"), "{second}");
        agent.assert_key_hidden();
    }
    // Never got as far as a WebSocket.
    assert!(collector.seen.try_recv().is_err());
}

/// A refused port, an HTTP error answer and a peer that accepts TCP but
/// never answers: each is named, and retried.
#[test]
fn refused_http_error_and_stalled_handshake() {
    let fx = Fixture::new();
    // A port nobody listens on (bound, then freed).
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = http.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in http.incoming() {
            let Ok(mut s) = s else { break };
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let stall = TcpListener::bind("127.0.0.1:0").unwrap();
    let stall_port = stall.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    std::thread::spawn(move || {
        for s in stall.incoming() {
            let Ok(s) = s else { break };
            h.lock().unwrap().push(s);
        }
    });
    let mut env = FAST.to_vec();
    env.push(("SSI_BROADCASTER_PUSH_HANDSHAKE_MS", "400"));
    let refused = format!("ws://127.0.0.1:{free}/");
    let unauthorized = format!("ws://127.0.0.1:{http_port}/");
    let stalled = format!("ws://127.0.0.1:{stall_port}/");
    let agent = Agent::start(
        &fx,
        &[
            "--no-listen",
            "--push",
            &refused,
            "--push",
            &unauthorized,
            "--push",
            &stalled,
        ],
        &env,
    );
    agent.line(
        &format!("push {refused}: connection refused; retrying"),
        Duration::from_secs(5),
    );
    agent.line(
        &format!("push {unauthorized}: HTTP 401 during handshake; retrying"),
        Duration::from_secs(5),
    );
    let t = Instant::now();
    agent.line(
        &format!("push {stalled}: handshake timed out after 0.4 s; retrying"),
        Duration::from_secs(5),
    );
    agent.line(
        &format!("push {stalled}: handshake timed out after 0.4 s; retrying"),
        Duration::from_secs(5),
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        held.lock().unwrap().len() >= 2,
        "the stalled handshake was retried"
    );
}

/// A collector that stops answering (no pong for two ping intervals) is
/// replaced by a new connection; a local client is not held up meanwhile.
#[test]
fn silent_collector_is_replaced_and_local_clients_are_not_delayed() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    let deaf = Collector::start(0, None, Mode::Deaf);
    let url = format!("ws://127.0.0.1:{}/", deaf.port);
    let mut env = FAST.to_vec();
    env.push(("SSI_BROADCASTER_PUSH_PING_MS", "300"));
    let agent = Agent::start(&fx, &["--listen", "127.0.0.1:0", "--push", &url], &env);
    deaf.connected(Duration::from_secs(5));
    let mut local = agent.connect_local(Duration::from_secs(5));
    local.snapshot(0);
    let t = Instant::now();
    fx.append("alpha", common::line("FAILURE", "now"));
    assert_eq!(local.next_status().2, "now");
    assert!(t.elapsed() < Duration::from_secs(2));
    let l = agent.line("connection lost: no pong for 0.6 s", Duration::from_secs(5));
    assert!(l.contains("reconnecting in"), "{l}");
    deaf.connected(Duration::from_secs(5));
    assert!(deaf.accepted.load(Ordering::SeqCst) >= 2);
}

/// --no-listen opens no port: the process has no listening socket.
#[test]
fn no_listen_opens_no_port() {
    let fx = Fixture::new();
    let collector = Collector::start(0, None, Mode::Normal);
    let url = format!("ws://127.0.0.1:{}/k/", collector.port);
    let key = key_file(&fx);
    let agent = Agent::start(
        &fx,
        &["--no-listen", "--push", &url, "--push-key-file", &key],
        &[],
    );
    assert_eq!(
        collector.connected(Duration::from_secs(10)),
        format!("/k/{KEY}/")
    );
    let pid = agent.child.id();
    let mut inodes = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let target = std::fs::read_link(fd.unwrap().path()).unwrap_or_default();
        if let Some(i) = target.to_str().and_then(|t| t.strip_prefix("socket:[")) {
            inodes.push(i.trim_end_matches(']').to_string());
        }
    }
    assert!(!inodes.is_empty(), "the collector connection is a socket");
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // State 0A is LISTEN; column 9 is the inode.
            if cols.get(3) == Some(&"0A") {
                assert!(
                    !inodes.iter().any(|i| Some(&i.as_str()) == cols.get(9)),
                    "listening: {row}"
                );
            }
        }
    }
    agent.assert_key_hidden();
}

/// 1,000 status lines a second for 10 s over TLS: every one arrives, in order.
#[test]
fn thousand_lines_a_second_for_ten_seconds_over_tls() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    let pki = pki(fx.tmp.path(), "good", "localhost");
    let collector = Collector::start(0, Some(pki.server.clone()), Mode::Normal);
    let url = format!("wss://localhost:{}/", collector.port);
    let _agent = Agent::start(
        &fx,
        &[
            "--no-listen",
            "--push",
            &url,
            "--push-ca",
            pki.ca_pem.to_str().unwrap(),
        ],
        &[],
    );
    collector.connected(Duration::from_secs(10));
    expect_ready(&collector, &["alpha"]);
    let n = 10_000;
    let t0 = Instant::now();
    // Ten lines every 10 ms, each its own write, on schedule.
    for tick in 0..n / 10 {
        let due = t0 + Duration::from_millis(10 * tick as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        for j in 0..10 {
            fx.append("alpha", common::line("OK", &format!("{}", tick * 10 + j)));
        }
    }
    let written = t0.elapsed();
    for i in 0..n {
        let v = collector.next_msg();
        assert_eq!(v["data"]["message"], format!("{i}"), "{v}");
    }
    eprintln!(
        "{n} lines written in {written:.1?}, all received {:.1?} after the first",
        t0.elapsed()
    );
}

/// CPU seconds the process has used (user + system).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// 21.1: a collector that sends a close frame and keeps TCP open. The
/// sender does not spin, gives up on the connection within a bounded time,
/// reconnects on the schedule and delivers what was written meanwhile.
#[test]
fn close_frame_without_tcp_close_neither_spins_nor_sticks() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    let collector = Collector::start(0, None, Mode::CloseKeepOpen);
    let url = format!("ws://127.0.0.1:{}/", collector.port);
    let agent = Agent::start(&fx, &["--no-listen", "--push", &url], FAST);
    collector.connected(Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(200));
    fx.append("alpha", common::line("FAILURE", "after-close"));
    let pid = agent.child.id();
    let cpu0 = cpu_secs(pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let cpu = cpu_secs(pid) - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    eprintln!(
        "sender CPU while the collector held TCP open after its close: {cpu:.2} s in {wall:.2} s"
    );
    assert!(cpu < 0.05 * wall, "{cpu:.2} s of CPU in {wall:.2} s");
    let lost = agent.line(
        "connection lost: closed by the collector",
        Duration::from_secs(5),
    );
    assert!(lost.contains("reconnecting in"), "{lost}");
    assert_eq!(collector.connected(Duration::from_secs(5)), "/");
    expect_ready(&collector, &["alpha"]);
    assert_eq!(statuses(&collector, 1), ["after-close"]);
    fx.append("alpha", common::line("OK", "live"));
    assert_eq!(statuses(&collector, 1), ["live"]);
}

/// 21.2: pongs nobody asked for (`0xff` × 8, as a misbehaving collector
/// sends) acknowledge nothing: with `--push-history` the two lines the
/// collector never read are sent again on the next connection.
#[test]
fn unsolicited_pongs_acknowledge_nothing() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    let liar = Collector::start(0, None, Mode::LiarPong);
    let port = liar.port;
    let url = format!("ws://127.0.0.1:{port}/");
    let agent = Agent::start(
        &fx,
        &["--no-listen", "--push", &url, "--push-history"],
        FAST,
    );
    liar.connected(Duration::from_secs(10));
    agent.line("connected", Duration::from_secs(5));
    fx.append("alpha", common::line("WARNING", "l1"));
    fx.append("alpha", common::line("FAILURE", "l2"));
    // Sent, pinged, and showered with pongs that answer no ping.
    std::thread::sleep(Duration::from_millis(800));
    drop(liar);
    agent.line("connection lost", Duration::from_secs(5));
    let collector = Collector::start(port, None, Mode::Normal);
    collector.connected(Duration::from_secs(5));
    let line = agent.line("connected", Duration::from_secs(5));
    assert!(line.contains("sending 2 held status lines"), "{line}");
    expect_ready(&collector, &["alpha"]);
    assert_eq!(statuses(&collector, 2), ["l1", "l2"]);
}

/// SIGUSR1 of a broadcaster that serves the dashboard and pushes too
/// reports both: its connections and queue, then each collector (the
/// collectors' lines were left out unless it ran with `--no-listen`).
#[test]
fn sigusr1_reports_connections_and_collectors() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    let collector = Collector::start(0, None, Mode::Normal);
    let url = format!("ws://127.0.0.1:{}/", collector.port);
    let agent = Agent::start(&fx, &["--listen", "127.0.0.1:0", "--push", &url], FAST);
    collector.connected(Duration::from_secs(10));
    agent.line("connected", Duration::from_secs(5));
    let pid = agent.child.id();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGUSR1) };
    agent.line("WebSocket clients (at most", Duration::from_secs(5));
    let line = agent.line(&format!("push {url}: connected"), Duration::from_secs(5));
    assert!(line.contains("connections so far"), "{line}");
}

/// 21.3: the outbox is bounded in bytes: with the collector down and
/// `--push-history`, 600 lines of 60 kB (36 MB) leave at most 16 MiB held,
/// the superseded lines dropped first, and the latest line still arrives.
#[test]
fn outbox_is_bounded_in_bytes() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    fx.script("beta.sh", "Beta");
    fx.append("beta", common::line("OK", "beta-only"));
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}/");
    // A second collector, up all along, tells when everything is published.
    let witness = Collector::start(0, None, Mode::Normal);
    let witness_url = format!("ws://127.0.0.1:{}/", witness.port);
    let agent = Agent::start(
        &fx,
        &[
            "--no-listen",
            "--push",
            &url,
            "--push",
            &witness_url,
            "--push-history",
        ],
        FAST,
    );
    agent.line("connection refused", Duration::from_secs(10));
    witness.connected(Duration::from_secs(10));
    expect_ready(&witness, &["alpha", "beta"]);
    assert_eq!(statuses(&witness, 1), ["beta-only"]);
    // Held from here: the first connection never came, so nothing is acked.
    fx.append("beta", common::line("OK", "beta-latest"));
    let big = "x".repeat(60_000);
    for i in 0..600 {
        fx.append("alpha", common::line("OK", &format!("{i} {big}")));
    }
    assert_eq!(statuses(&witness, 601).len(), 601);
    std::thread::sleep(Duration::from_millis(500));
    let pid = agent.child.id();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGUSR1) };
    let report = agent.line(
        &format!("push {url}: not connected"),
        Duration::from_secs(5),
    );
    eprintln!(
        "{report}; RSS {} MiB",
        common::proc_kib(pid as i32, "VmRSS") / 1024
    );
    let kb: usize = report
        .split('(')
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("no byte count: {report}"))
        .parse()
        .unwrap();
    assert!(kb <= 16 * 1024, "{report}");
    let collector = Collector::start(port, None, Mode::Normal);
    collector.connected(Duration::from_secs(5));
    let line = agent.line(&format!("push {url}: connected;"), Duration::from_secs(5));
    assert!(line.contains("dropped over the limit"), "{line}");
    expect_ready(&collector, &["alpha", "beta"]);
    let held: usize = line
        .split("sending ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    // Every held line, in the order published (the watcher may have read
    // beta's log before or after alpha's).
    let got: Vec<String> = statuses(&collector, held)
        .iter()
        .map(|m| m.split(' ').next().unwrap().to_string())
        .collect();
    assert!(got.contains(&"599".to_string()), "{got:?}");
    // beta's latest, held, is its service's latest: never dropped.
    assert!(
        got.contains(&"beta-latest".to_string()),
        "{got:?} {}",
        agent.all.lock().unwrap().join("\n")
    );
    assert!(
        got.len() <= 16 * 1024 * 1024 / 60_000 + 2,
        "{} lines sent",
        got.len()
    );
}

/// Starts the broadcaster in a mount namespace of its own (unshare and
/// mount, util-linux; needs root) where /etc/resolv.conf names
/// `nameserver` and nothing else.
fn agent_with_resolver(
    fx: &Fixture,
    nameserver: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Agent {
    let conf = fx.tmp.path().join("resolv.conf");
    std::fs::write(
        &conf,
        format!("nameserver {nameserver}\noptions timeout:30 attempts:1\n"),
    )
    .unwrap();
    let mut all = vec![
        "--mount".to_string(),
        "--propagation".into(),
        "private".into(),
        "sh".into(),
        "-c".into(),
        "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"".into(),
        conf.to_str().unwrap().into(),
        env!("CARGO_BIN_EXE_ssi-broadcaster").into(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    Agent::start_program(fx, "unshare", &refs, env)
}

/// 21.4: a resolver that never answers holds an attempt no longer than the
/// handshake bound, says so, and the next attempt waits for the same
/// lookup instead of piling up another.
#[test]
fn a_silent_resolver_is_bounded_by_the_handshake_deadline() {
    let fx = Fixture::new();
    // A name server that reads queries and never answers, on an address
    // of its own (other test runs may have one too).
    let ns = format!(
        "127.83.{}.{}",
        std::process::id() % 250 + 1,
        std::process::id() / 250 % 250 + 1
    );
    let sink = std::net::UdpSocket::bind((ns.as_str(), 53)).unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let q = queries.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while sink.recv(&mut buf).is_ok() {
            q.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut env = FAST.to_vec();
    env.push(("SSI_BROADCASTER_PUSH_HANDSHAKE_MS", "400"));
    let url = "ws://collector.ssi-test.example:9/ws/agent/";
    let agent = agent_with_resolver(&fx, &ns, &["--no-listen", "--push", url], &env);
    let t = Instant::now();
    let want = "push ws://collector.ssi-test.example:9/ws/agent/: cannot resolve collector.ssi-test.example: \
                no answer from the name resolver within 0.4 s; retrying";
    agent.line(want, Duration::from_secs(5));
    agent.line(want, Duration::from_secs(5));
    agent.line(want, Duration::from_secs(5));
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    let n = queries.load(Ordering::SeqCst);
    // One lookup (an A and an AAAA query), not one per attempt.
    assert!((1..=2).contains(&n), "{n} queries");
}

fn http_answering(status: &'static str) -> u16 {
    let http = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = http.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in http.incoming() {
            let Ok(mut s) = s else { break };
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    port
}

/// 28.1: a 404 or a 500 to the upgrade (what upstream's backend answers to
/// `/agents/…`) says that the URL path is likely wrong and names the route.
#[test]
fn not_found_and_server_error_point_at_the_url_path() {
    let fx = Fixture::new();
    let p404 = http_answering("404 Not Found");
    let p500 = http_answering("500 Internal Server Error");
    let u404 = format!("ws://127.0.0.1:{p404}/agents/");
    let u500 = format!("ws://127.0.0.1:{p500}/agents/");
    let agent = Agent::start(
        &fx,
        &["--no-listen", "--push", &u404, "--push", &u500],
        FAST,
    );
    for (u, code) in [(&u404, 404), (&u500, 500)] {
        let l = agent.line(
            &format!("push {u}: HTTP {code} during handshake"),
            Duration::from_secs(5),
        );
        assert!(
            l.contains("the URL path is likely wrong") && l.contains("wss://HOST/ws/agent/"),
            "{l}"
        );
        assert!(l.contains("retrying in"), "{l}");
    }
}

/// 28.2: by default (collectors of the upstream schema) an outage with 50
/// lines written sends each service's latest status once, in log order
/// across services, and none of the 48 stale ones.
#[test]
fn outage_sends_each_latest_status_once_in_log_order() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    fx.script("beta.sh", "Beta");
    fx.script("gamma.sh", "Gamma");
    fx.append("alpha", common::line("OK", "a-before"));
    fx.append("beta", common::line("OK", "b-before"));
    fx.append("gamma", common::line("OK", "g-before"));
    let collector = Collector::start(0, None, Mode::Normal);
    let port = collector.port;
    let url = format!("ws://127.0.0.1:{port}/ws/agent/");
    let agent = Agent::start(&fx, &["--no-listen", "--push", &url], FAST);
    collector.connected(Duration::from_secs(10));
    expect_ready(&collector, &["alpha", "beta", "gamma"]);
    assert_eq!(
        statuses(&collector, 3),
        ["a-before", "b-before", "g-before"]
    );
    drop(collector);
    agent.line("connection lost", Duration::from_secs(5));
    // 25 lines each for beta and alpha, alternating; beta's last is older
    // than alpha's last. gamma writes nothing.
    for i in 0..25 {
        fx.append("beta", common::line("WARNING", &format!("b{i}")));
        std::thread::sleep(Duration::from_millis(5));
        fx.append("alpha", common::line("FAILURE", &format!("a{i}")));
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    let collector = Collector::start(port, None, Mode::Normal);
    collector.connected(Duration::from_secs(5));
    let line = agent.line("connected", Duration::from_secs(5));
    assert!(
        line.contains("sending the latest status of 3 services"),
        "{line}"
    );
    expect_ready(&collector, &["alpha", "beta", "gamma"]);
    assert_eq!(statuses(&collector, 3), ["g-before", "b24", "a24"]);
    // Nothing else came before the next live line.
    fx.append("gamma", common::line("OK", "live"));
    assert_eq!(statuses(&collector, 1), ["live"]);
}

/// 28.3: editing a script's manifest reaches the collector as agent.ready
/// with the new details (upstream's backend updates the row in place and
/// keeps its status), with no removal and no repeated status; a local
/// client sees the service added again with the same id, no removal.
#[test]
fn an_edit_updates_in_place_everywhere() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    fx.script("beta.sh", "Beta");
    fx.append("alpha", common::line("WARNING", "a0"));
    let collector = Collector::start(0, None, Mode::Normal);
    let url = format!("ws://127.0.0.1:{}/ws/agent/", collector.port);
    let agent = Agent::start(&fx, &["--listen", "127.0.0.1:0", "--push", &url], FAST);
    collector.connected(Duration::from_secs(10));
    expect_ready(&collector, &["alpha", "beta"]);
    assert_eq!(statuses(&collector, 1), ["a0"]);
    let mut local = agent.connect_local(Duration::from_secs(10));
    local.snapshot(1);

    // As an editor saves: a new file renamed over the old one.
    let tmp = fx.script(".alpha.sh.new", "Alpha Renamed");
    std::fs::rename(&tmp, fx.scripts.join("alpha.sh")).unwrap();
    let v = collector.next_msg();
    assert_eq!(v["type"], "agent.ready", "{v}");
    let services = v["data"]["services"].as_array().unwrap();
    assert_eq!(services.len(), 2, "{v}");
    assert_eq!(services[0]["id"], "alpha");
    assert_eq!(services[0]["name"], "Alpha Renamed");
    fx.append("beta", common::line("OK", "next"));
    // The very next message is the new line: no removal, no repeat of a0.
    assert_eq!(statuses(&collector, 1), ["next"]);

    let v = local.next();
    assert_eq!(v["type"], "agent.service_added", "{v}");
    assert_eq!(v["data"]["service"]["name"], "Alpha Renamed");
    loop {
        let v = local.next();
        assert_ne!(v["type"], "agent.service_removed", "{v}");
        if v["data"]["message"] == "next" {
            break;
        }
    }
}

/// 28.4: a NUL byte (and other C0 controls but tab) in a message reaches
/// the collector as U+FFFD, the rule the notification hooks get.
#[test]
fn control_characters_never_reach_the_collector() {
    let fx = Fixture::new();
    fx.script("alpha.sh", "Alpha");
    let collector = Collector::start(0, None, Mode::Normal);
    let url = format!("ws://127.0.0.1:{}/", collector.port);
    let _agent = Agent::start(&fx, &["--no-listen", "--push", &url], FAST);
    collector.connected(Duration::from_secs(10));
    expect_ready(&collector, &["alpha"]);
    fx.append(
        "alpha",
        b"2026-11-26 10:00:00, FAILURE, cmd\0line\x1b[1m\ttab\x7f\n",
    );
    assert_eq!(
        statuses(&collector, 1),
        ["cmd\u{fffd}line\u{fffd}[1m\ttab\u{fffd}"]
    );
}

/// 28.6: the shipped unit's empty `SetCredential=` default (what systemd
/// passes when push.key does not exist) means no key: the URL is used as
/// given. A key file that exists but could not be loaded (a dangling link)
/// is an error naming it.
#[test]
fn an_empty_credential_is_no_key_and_an_unloadable_key_file_is_named() {
    let fx = Fixture::new();
    let creds = fx.tmp.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("push-key"), "\n").unwrap();
    let source = fx.tmp.path().join("push.key");
    let collector = Collector::start(0, None, Mode::Normal);
    let url = format!("ws://127.0.0.1:{}/ws/agent/", collector.port);
    let env = [
        ("CREDENTIALS_DIRECTORY", creds.to_str().unwrap()),
        ("SSI_PUSH_KEY_SOURCE", source.to_str().unwrap()),
    ];
    let agent = Agent::start(&fx, &["--no-listen", "--push", &url], &env);
    assert_eq!(collector.connected(Duration::from_secs(10)), "/ws/agent/");
    drop(agent);

    std::os::unix::fs::symlink("/nonexistent/push.key", &source).unwrap();
    let mut agent = Agent::start(&fx, &["--no-listen", "--push", &url], &env);
    let l = agent.line("push.key", Duration::from_secs(10));
    assert!(
        l.contains(&format!(
            "key file {}: exists but could not be loaded",
            source.display()
        )) && l.contains("symbolic link"),
        "{l}"
    );
    let status = agent.child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
}

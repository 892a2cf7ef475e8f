//! Shared fixtures for the integration tests and the benches (which
//! include this file by path): temporary scripts and log directories, the
//! real binary on a free port, and a real WebSocket client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// The stand-in for `systemctl` that the `ssi-status` tests use (see its
/// header): answers `show` from the `Key=value` files of
/// `$FAKE_SYSTEMCTL_STATE`, logs its calls, can fail or hang.
pub const FAKE_SYSTEMCTL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../helper/tests/fixtures/basic/bin/systemctl"
);

/// A scripts directory and a log directory in a temporary place.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub scripts: PathBuf,
    pub logs: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let scripts = tmp.path().join("scripts");
        let logs = tmp.path().join("logs");
        std::fs::create_dir(&scripts).unwrap();
        std::fs::create_dir(&logs).unwrap();
        Fixture { tmp, scripts, logs }
    }

    /// Writes a valid, executable check script.
    pub fn script(&self, file: &str, name: &str) -> PathBuf {
        self.script_with(
            file,
            &format!(
                "# name: {name}\n# description: {name} check\n# version: 1.0\n# schedule: *:0/5\n"
            ),
        )
    }

    /// Writes an executable check script whose manifest is `manifest`
    /// (`# key: value` lines, each ending in a newline).
    pub fn script_with(&self, file: &str, manifest: &str) -> PathBuf {
        let path = self.scripts.join(file);
        std::fs::write(&path, format!("#!/bin/bash\n{manifest}echo OK\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// `n` checks `check-0000.sh`, `check-0001.sh`, … (the benches' many
    /// checks) with the manifests `manifest(i)` gives; returns their ids
    /// (`check_0000`, …).
    pub fn checks(&self, n: usize, manifest: impl Fn(usize) -> String) -> Vec<String> {
        (0..n)
            .map(|i| {
                self.script_with(&format!("check-{i:04}.sh"), &manifest(i));
                format!("check_{i:04}")
            })
            .collect()
    }

    /// What the fake systemctl ([`FAKE_SYSTEMCTL`]) says about `unit`:
    /// `Key=value` lines (an `Id=` is added by the fake).
    pub fn unit_state(&self, unit: &str, props: &str) {
        let dir = self.tmp.path().join("systemd-state");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(unit), props).unwrap();
    }

    /// The environment of a broadcaster that takes systemd to be running
    /// and asks the fake systemctl, which answers from [`Fixture::unit_state`]
    /// and logs its calls, one a line, to [`Fixture::systemctl_calls`].
    pub fn fake_systemd_env(&self) -> Vec<(&'static str, String)> {
        let tmp = self.tmp.path();
        vec![
            ("SSI_ASSUME_SYSTEMD", "1".to_owned()),
            ("SSI_SYSTEMCTL", FAKE_SYSTEMCTL.to_owned()),
            (
                "FAKE_SYSTEMCTL_STATE",
                tmp.join("systemd-state").display().to_string(),
            ),
            (
                "FAKE_SYSTEMCTL_LOG",
                tmp.join("systemctl.calls").display().to_string(),
            ),
        ]
    }

    /// The fake systemctl's calls so far, one a line.
    pub fn systemctl_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.tmp.path().join("systemctl.calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn log(&self, id: &str) -> PathBuf {
        self.logs.join(format!("{id}.log"))
    }

    /// Appends raw bytes to a log (one write, like a script's output).
    pub fn append(&self, id: &str, bytes: impl AsRef<[u8]>) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log(id))
            .unwrap();
        f.write_all(bytes.as_ref()).unwrap();
    }
}

/// The broadcaster under test.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub stderr: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the binary on a free loopback port with the fixture's dirs.
    pub fn start(fx: &Fixture) -> Server {
        Server::start_with(fx, &[], &[])
    }

    pub fn start_with(fx: &Fixture, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_dirs(&fx.logs, &fx.scripts, args, env)
    }

    pub fn start_dirs(logs: &Path, scripts: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawned(Server::command(logs, scripts, args, env))
    }

    /// The binary's command line on a free loopback port, its stderr piped
    /// for `spawned` to read the listening line from.
    fn command(logs: &Path, scripts: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        Server::command_of(
            Path::new(env!("CARGO_BIN_EXE_ssi-broadcaster")),
            logs,
            scripts,
            args,
            env,
        )
    }

    /// Another build of the binary (a bench's baseline), as `start`.
    pub fn start_program(program: &Path, fx: &Fixture) -> Server {
        Server::spawned(Server::command_of(program, &fx.logs, &fx.scripts, &[], &[]))
    }

    fn command_of(
        program: &Path,
        logs: &Path,
        scripts: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Command {
        let mut cmd = Command::new(program);
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--log-dir")
            .arg(logs)
            .arg("--scripts-dir")
            .arg(scripts)
            .args(args)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("LISTEN_FDS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// A connected WebSocket client.
    pub fn connect(&self) -> Client {
        self.connect_with(&[])
    }

    pub fn connect_with(&self, headers: &[(&str, &str)]) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://127.0.0.1:{}/",
            self.port
        ))
        .unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                tungstenite::http::HeaderValue::from_str(v).unwrap(),
            );
        }
        let (ws, _) = tungstenite::client::client(req, stream).unwrap();
        Client { ws }
    }

    /// Sends a raw HTTP request and returns (status code, whole response).
    pub fn http(&self, request: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        (status_code(&text), text)
    }

    /// `GET path` with a correct Host header.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.http(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        ))
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits for the process to exit and returns its status code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebSocket client.
pub struct Client {
    pub ws: WebSocket<TcpStream>,
}

impl Client {
    /// The next text message as JSON (pings are answered by tungstenite).
    pub fn next(&mut self) -> Value {
        loop {
            match self.ws.read().expect("reading from the broadcaster") {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Close(c) => panic!("unexpected close: {c:?}"),
                _ => {}
            }
        }
    }

    /// The next message of `kind`, skipping others.
    pub fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let v = self.next();
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// The next status update's (service_id, status, message).
    pub fn next_status(&mut self) -> (String, String, String) {
        let v = self.next_of("agent.service_status_update");
        let d = &v["data"];
        (
            d["service_id"].as_str().unwrap().to_owned(),
            d["status"].as_str().unwrap().to_owned(),
            d["message"].as_str().unwrap().to_owned(),
        )
    }

    /// Reads the snapshot: `agent.ready`, then the status updates that the
    /// caller expects (`n`).
    pub fn snapshot(&mut self, n: usize) -> (Value, Vec<Value>) {
        let ready = self.next();
        assert_eq!(ready["type"], "agent.ready", "{ready}");
        let statuses = (0..n).map(|_| self.next()).collect();
        (ready, statuses)
    }

    /// Reads up to the close frame: how many text messages came before it,
    /// and its close code (None for a close frame without one).
    pub fn read_to_close(&mut self) -> (usize, Option<CloseCode>) {
        let mut received = 0;
        loop {
            match self.ws.read() {
                Ok(Message::Text(_)) => received += 1,
                Ok(Message::Close(f)) => return (received, f.map(|f| f.code)),
                Ok(_) => {}
                Err(e) => panic!("{e} after {received} messages, before a close frame"),
            }
        }
    }

    /// Asserts that nothing arrives within `d`.
    pub fn assert_silent(&mut self, d: Duration) {
        self.ws.get_mut().set_read_timeout(Some(d)).unwrap();
        match self.ws.read() {
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            other => panic!("expected silence, got {other:?}"),
        }
        self.ws
            .get_mut()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
    }
}

/// The status code of an HTTP response (0 when there is none).
pub fn status_code(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The `Accept` header Prometheus 2.x sends to a scrape target.
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The status line a script would print.
pub fn line(status: &str, msg: &str) -> String {
    format!("2026-11-26 10:00:00, {status}, {msg}\n")
}

impl Server {
    /// Like `start_with`, with a last say on the command (resource limits,
    /// descriptors) before it is spawned.
    pub fn start_custom(
        fx: &Fixture,
        args: &[&str],
        env: &[(&str, &str)],
        customize: impl FnOnce(&mut Command),
    ) -> Server {
        let mut cmd = Server::command(&fx.logs, &fx.scripts, args, env);
        customize(&mut cmd);
        Server::spawned(cmd)
    }

    /// Starts `cmd` and waits for its listening line (10 s at most); the
    /// returned server kills the process when dropped.
    fn spawned(mut cmd: Command) -> Server {
        let mut child = cmd.spawn().unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            port: 0,
            stderr: rx,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.port == 0 {
            let line = server
                .stderr
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("broadcaster did not print its listening line");
            if let Some(rest) = line.strip_prefix("listening on ws://127.0.0.1:") {
                server.port = rest.trim_end_matches('/').parse().unwrap();
            }
        }
        server
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Every stderr line printed so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }
}

/// A WebSocket upgrade request for `/` in HTTP/`version` with the `extra`
/// header lines.
pub fn upgrade_request(port: u16, version: &str, extra: &str) -> String {
    format!(
        "GET / HTTP/{version}\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A TCP connection to the broadcaster from a chosen loopback source
/// address (127.0.0.2, …), so tests can play several peers.
pub fn connect_from(src: [u8; 4], port: u16) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let sin = |addr: [u8; 4], port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(addr),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a fresh descriptor, checked; the
    // descriptor is owned by the TcpStream (or closed) on every path.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let local = sin(src, 0);
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let peer = sin([127, 0, 0, 1], port);
        if libc::connect(fd, (&peer as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

/// A `/proc/<pid>/status` figure in KiB (`VmRSS`, `VmHWM`, …).
pub fn proc_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap()
}

/// Makes `cmd` start with soft and hard descriptor limits of `n`, as
/// `prlimit --nofile=N` would (so raising the soft limit gains nothing).
pub fn limit_descriptors(cmd: &mut Command, n: libc::rlim_t) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(move || {
            let l = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &l) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

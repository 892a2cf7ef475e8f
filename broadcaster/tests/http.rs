//! The HTTP side of the port: dashboard, health check, errors, limits and
//! the Host/Origin checks, plus the command line.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{upgrade_request, Fixture, Server};

const BIN: &str = env!("CARGO_BIN_EXE_ssi-broadcaster");

#[test]
fn dashboard_healthz_404_405() {
    let fx = Fixture::new();
    let server = Server::start(&fx);

    let (code, resp) = server.get("/");
    assert_eq!(code, 200);
    assert!(resp.contains("Content-Type: text/html; charset=utf-8"));
    assert!(resp.contains("Content-Security-Policy: default-src 'none'"));
    assert!(resp.contains("<!doctype html>"));
    // Self-contained: no external scripts, styles or fonts.
    assert!(!resp.contains("src=\"http"));
    assert!(!resp.contains("href=\"http"));

    let (code, resp) = server.get("/healthz");
    assert_eq!(code, 200);
    assert!(resp.ends_with("\r\n\r\nok\n"), "{resp}");

    assert_eq!(server.get("/nope").0, 404);
    assert_eq!(server.get("/../etc/passwd").0, 404);
    assert_eq!(server.get("/?tab=all").0, 200);

    let (code, resp) = server.http(&format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\r\n",
        server.port
    ));
    assert_eq!(code, 405);
    assert!(resp.contains("Allow: GET, HEAD"));

    let (code, resp) = server.http(&format!(
        "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        server.port
    ));
    assert_eq!(code, 200);
    assert!(resp.ends_with("\r\n\r\n"));

    assert_eq!(server.http("garbage\r\n\r\n").0, 400);
}

#[test]
fn host_and_origin_are_checked() {
    let fx = Fixture::new();
    let server = Server::start_with(
        &fx,
        &[
            "--allow-host",
            "status.example.com",
            "--allow-origin",
            "https://status.example.com",
        ],
        &[],
    );
    let p = server.port;
    let get = |host: &str, origin: Option<&str>| {
        let origin = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        server
            .http(&format!("GET / HTTP/1.1\r\nHost: {host}\r\n{origin}\r\n"))
            .0
    };
    // DNS rebinding: a foreign name pointing at us.
    assert_eq!(get("evil.example", None), 403);
    assert_eq!(get(&format!("evil.example:{p}"), None), 403);
    assert_eq!(get(&format!("localhost:{}", p + 1), None), 403);
    assert_eq!(server.http("GET / HTTP/1.0\r\n\r\n").0, 403);
    // Allowed hosts.
    assert_eq!(get(&format!("127.0.0.1:{p}"), None), 200);
    assert_eq!(get(&format!("localhost:{p}"), None), 200);
    assert_eq!(get(&format!("[::1]:{p}"), None), 200);
    assert_eq!(get("status.example.com", None), 200);
    // Cross-site WebSocket hijacking: a foreign page's origin.
    let host = format!("127.0.0.1:{p}");
    assert_eq!(get(&host, Some("http://evil.example")), 403);
    assert_eq!(get(&host, Some("null")), 403);
    assert_eq!(
        get(&host, Some(&format!("http://localhost:{}", p + 1))),
        403
    );
    assert_eq!(get(&host, Some(&format!("http://localhost:{p}"))), 200);
    assert_eq!(get(&host, Some(&format!("http://127.0.0.1:{p}"))), 200);
    assert_eq!(get(&host, Some(&format!("http://[::1]:{p}"))), 200);
    assert_eq!(get(&host, Some("https://status.example.com")), 200);
    // A page served under an --allow-host name may talk to its own origin
    // (the Host check vouches for the name); other origins still may not.
    let named = format!("status.example.com:{p}");
    let allow_named = |h: &str| {
        server
            .http(&format!(
                "GET / HTTP/1.1\r\nHost: {named}\r\nOrigin: {h}\r\n\r\n"
            ))
            .0
    };
    assert_eq!(allow_named(&format!("http://status.example.com:{p}")), 200);
    assert_eq!(allow_named("http://evil.example"), 403);
    assert_eq!(
        get(&host, Some(&format!("http://status.example.com:{p}"))),
        403
    );

    // The same rules guard the WebSocket upgrade.
    let (code, _) = server.http(&upgrade_request(
        p,
        "1.1",
        "Origin: http://evil.example\r\n",
    ));
    assert_eq!(code, 403);
    let (code, _) = server.http(
        "GET / HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert_eq!(code, 403);
    let mut c = server.connect_with(&[("Origin", &format!("http://localhost:{p}"))]);
    assert_eq!(c.next()["type"], "agent.ready");
}

#[test]
fn max_clients_answers_503_and_frees_slots() {
    let fx = Fixture::new();
    let server = Server::start_with(&fx, &["--max-clients", "2"], &[]);
    let mut a = server.connect();
    let mut b = server.connect();
    a.snapshot(0);
    b.snapshot(0);
    let (code, resp) = server.http(&upgrade_request(server.port, "1.1", ""));
    assert_eq!(code, 503, "{resp}");
    // Plain HTTP still works when full.
    assert_eq!(server.get("/healthz").0, 200);
    drop(a);
    // The slot comes back once the server notices the disconnect.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // Read only the status line: a 101 keeps the connection open.
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.write_all(upgrade_request(server.port, "1.1", "").as_bytes())
            .unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        if &head == b"HTTP/1.1 101" {
            break;
        }
        assert!(Instant::now() < deadline, "slot never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn handshake_times_out() {
    let fx = Fixture::new();
    let server = Server::start_with(&fx, &[], &[("SSI_BROADCASTER_HANDSHAKE_MS", "300")]);
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // Half a request, then nothing.
    s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let took = start.elapsed();
    assert!(buf.is_empty());
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[test]
fn oversized_request_head_is_refused() {
    let fx = Fixture::new();
    let server = Server::start(&fx);
    let big = "X-Filler: ".to_string() + &"a".repeat(10_000);
    let (code, _) = server.http(&format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{big}\r\n\r\n",
        server.port
    ));
    assert_eq!(code, 431);
}

#[test]
fn cli_help_version_and_errors() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--allow-origin ORIGIN"));
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("ssi-broadcaster {}\n", env!("CARGO_PKG_VERSION"))
    );
    for (args, want) in [
        (
            &["--listen", "abc"][..],
            "ssi-broadcaster: --listen \"abc\": expected ADDR:PORT",
        ),
        (
            &["--max-clients", "lots"][..],
            "ssi-broadcaster: --max-clients \"lots\": expected a number",
        ),
        (
            &["--frobnicate"][..],
            "ssi-broadcaster: invalid option '--frobnicate'",
        ),
        (
            &["extra"][..],
            "ssi-broadcaster: unexpected argument \"extra\"",
        ),
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with(want), "{args:?}: {err}");
    }
}

#[test]
fn port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(BIN)
        .args(["--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[test]
fn non_loopback_listen_warns() {
    let fx = Fixture::new();
    let mut child = Command::new(BIN)
        .args(["--listen", "0.0.0.0:0", "--log-dir"])
        .arg(&fx.logs)
        .arg("--scripts-dir")
        .arg(&fx.scripts)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 512];
    while !text.contains("listening on ws://") {
        let n = err.read(&mut buf).unwrap();
        assert!(n > 0, "{text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("warning: listening on 0.0.0.0:"), "{text}");
}

/// systemd socket activation: the listener arrives as fd 3 and readiness
/// goes to $NOTIFY_SOCKET.
#[test]
fn socket_activation_and_sd_notify() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fx = Fixture::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let notify_path = fx.tmp.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let fd = listener.as_raw_fd();
    let mut cmd = Command::new("/bin/sh");
    // LISTEN_PID must be the broadcaster's own pid: exec from a shell.
    cmd.arg("-c")
        .arg(format!(
            "LISTEN_PID=$$ LISTEN_FDS=1 exec {BIN} --listen 127.0.0.1:1 --log-dir {} --scripts-dir {}",
            fx.logs.display(),
            fx.scripts.display()
        ))
        .env("NOTIFY_SOCKET", &notify_path)
        .stderr(std::process::Stdio::piped());
    // SAFETY: dup2 between fork and exec only touches the child's fds.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut buf = [0u8; 64];
    let n = notify.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let _ = child.kill();
    let _ = child.wait();
}

//! The dashboard in a real browser: headless Chromium loads the page from
//! a running broadcaster, driven over the DevTools protocol (a WebSocket,
//! so tungstenite is the client). Proves statuses render, a line appended
//! to a log shows up without a reload, and the page notices a lost server
//! and reconnects by itself.
//!
//! Fails when Chromium is not installed (tests/deps.sh installs it).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{line, Fixture, Server};
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: WebSocket<TcpStream>,
    next_id: u64,
}

impl Browser {
    fn open(exe: &PathBuf, url: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-breakpad",
                "--disable-crash-reporter",
                "--remote-debugging-port=0",
                "--window-size=1024,768",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…"
        let err = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(rest) = l.strip_prefix("DevTools listening on ws://127.0.0.1:") {
                    let port: u16 = rest.split('/').next().unwrap().parse().unwrap();
                    let _ = tx.send(port);
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not report its DevTools port");
            }
        };
        let page_ws = page_target(port, url);
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (ws, _) = tungstenite::client::client(page_ws.as_str(), stream).unwrap();
        Browser {
            child,
            _profile: profile,
            ws,
            next_id: 1,
        }
    }

    /// Sends one DevTools command and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            if let Message::Text(t) = self.ws.read().unwrap() {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
        }
    }

    /// Evaluates a JavaScript expression in the page.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// Polls until `expr` evaluates to `want`.
    fn wait_for(&mut self, expr: &str, want: Value) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.eval(expr);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{expr}: still {got} instead of {want}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The DevTools WebSocket URL of the page showing `url`.
fn page_target(port: u16, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        // Chromium keeps the connection open: read exactly Content-Length.
        let mut r = BufReader::new(s);
        let mut len = 0;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).unwrap();
        let body = String::from_utf8_lossy(&body);
        let targets: Value = serde_json::from_str(&body).unwrap_or(json!([]));
        for t in targets.as_array().into_iter().flatten() {
            if t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url)) {
                return t["webSocketDebuggerUrl"].as_str().unwrap().to_owned();
            }
        }
        assert!(Instant::now() < deadline, "no page target in {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dashboard_renders_and_updates_live_in_chromium() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    let fx = Fixture::new();
    fx.script("disk-usage.sh", "Disk Usage");
    fx.script("backup.sh", "Nightly Backup");
    fx.script("fresh.sh", "Fresh Install");
    fx.append("disk_usage", line("WARNING", "/ at 91%"));
    fx.append("backup", line("OK", "3 GiB in 4 min"));
    let server = Server::start(&fx);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);

    let status = |id: &str| {
        format!(
            "(document.querySelector('tr[data-service-id=\"{id}\"] td.status') || {{}}).dataset?.status || null"
        )
    };
    let message = |id: &str| {
        format!(
            "document.querySelector('tr[data-service-id=\"{id}\"] td.msg')?.textContent ?? null"
        )
    };
    b.wait_for(&status("disk_usage"), json!("WARNING"));
    b.wait_for(&status("backup"), json!("OK"));
    b.wait_for(&status("fresh"), json!("NONE"));
    assert_eq!(b.eval(&message("disk_usage")), json!("/ at 91%"));
    assert_eq!(
        b.eval("document.getElementById('conn').dataset.state"),
        json!("connected")
    );
    assert!(b
        .eval("document.title")
        .as_str()
        .unwrap()
        .contains("WARNING"));
    // Worst first.
    assert_eq!(
        b.eval("document.querySelector('#rows tr').dataset.serviceId"),
        json!("disk_usage")
    );

    // A line appended to a log appears without a reload.
    b.eval("window.__notReloaded = true");
    fx.append("backup", line("FAILURE", "disk full"));
    b.wait_for(&status("backup"), json!("FAILURE"));
    assert_eq!(b.eval(&message("backup")), json!("disk full"));
    assert_eq!(b.eval("window.__notReloaded === true"), json!(true));
    assert!(b
        .eval("document.title")
        .as_str()
        .unwrap()
        .contains("FAILURE"));

    // Filtering by status, by keyboard: focus the WARNING filter, press Enter.
    b.call(
        "Emulation.setFocusEmulationEnabled",
        json!({"enabled": true}),
    );
    b.eval("document.querySelector('#filters button[data-filter=\"WARNING\"]').focus()");
    assert_eq!(
        b.eval("document.activeElement.dataset.filter"),
        json!("WARNING")
    );
    b.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyDown", "key": "Enter", "code": "Enter",
            "windowsVirtualKeyCode": 13, "text": "\r"}),
    );
    b.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyUp", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}),
    );
    b.wait_for(
        "[...document.querySelectorAll('#rows tr')].map(r => r.dataset.serviceId).join()",
        json!("disk_usage"),
    );
    b.eval("document.querySelector('#filters button[data-filter=\"ALL\"]').click()");
    b.wait_for("document.querySelectorAll('#rows tr').length", json!(3));

    // The server goes away: the page says so, then reconnects by itself.
    let port = server.port;
    drop(server);
    b.wait_for(
        "document.getElementById('conn').dataset.state",
        json!("disconnected"),
    );
    fx.append("backup", line("OK", "back again"));
    let _again = Server::start_with(&fx, &["--listen", &format!("127.0.0.1:{port}")], &[]);
    b.wait_for(&status("backup"), json!("OK"));
    b.wait_for(
        "document.getElementById('conn').dataset.state",
        json!("connected"),
    );
    assert_eq!(b.eval(&message("backup")), json!("back again"));
}

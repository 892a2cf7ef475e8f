//! The history endpoints (`GET /api/services/<id>/history`, `GET
//! /api/history`): answers, errors, the Host/Origin rules, and that the
//! WebSocket never carries anything but the four upstream message types.

mod common;

use std::time::{Duration, Instant};

use common::{Fixture, Server};
use serde_json::Value;

/// A server with services `a` and `b` (b without a log), known to the hub.
fn setup() -> (Fixture, Server, common::Client) {
    let fx = Fixture::new();
    fx.script("a.sh", "Check A");
    fx.script("b.sh", "Check B");
    fx.append(
        "a",
        "2026-11-20 09:00:00, OK, first\nnoise\n2026-11-20 10:00:00, FAILURE, second\n2026-11-20 11:00:00, WARNING, third\n",
    );
    let server = Server::start(&fx);
    let mut c = server.connect();
    let (ready, _) = c.snapshot(1);
    assert_eq!(ready["data"]["services"].as_array().unwrap().len(), 2);
    (fx, server, c)
}

/// The JSON body of a 200 response.
fn body(resp: &str) -> Value {
    assert!(resp.contains("Content-Type: application/json"), "{resp}");
    let (_, body) = resp.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

#[test]
fn one_check_newest_last() {
    let (_fx, server, _c) = setup();
    let (code, resp) = server.get("/api/services/a/history?limit=2");
    assert_eq!(code, 200, "{resp}");
    let v = body(&resp);
    assert_eq!(v["id"], "a");
    let entries = v["entries"].as_array().unwrap();
    let msgs: Vec<_> = entries
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs, ["second", "third"]);
    assert_eq!(entries[1]["status"], "WARNING");
    assert!(entries[1]["timestamp"].as_str().unwrap().ends_with('Z'));
    // Without systemd (none here, or a not-found unit) no duration.
    assert!(entries[1].get("duration_ms").is_none());
    for window in ["24h", "7d"] {
        assert!(v["availability"][window]["total"].is_u64(), "{v}");
    }
    assert!(v["next_run"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["schedule_normalized"], "*-*-* *:00/5:00");

    let (code, resp) = server.get("/api/services/a/history");
    assert_eq!(code, 200);
    assert_eq!(body(&resp)["entries"].as_array().unwrap().len(), 3);
    let (code, resp) = server.get("/api/services/b/history");
    assert_eq!(code, 200);
    let v = body(&resp);
    assert_eq!(v["entries"], Value::Array(vec![]));
    assert_eq!(v["availability"]["7d"]["ratio"], Value::Null);
}

#[test]
fn every_check_with_host_name() {
    let (_fx, server, _c) = setup();
    let (code, resp) = server.get("/api/history?limit=1");
    assert_eq!(code, 200, "{resp}");
    let v = body(&resp);
    assert!(!v["host"].as_str().unwrap().is_empty());
    let services = v["services"].as_array().unwrap();
    let ids: Vec<_> = services.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(services[0]["entries"].as_array().unwrap().len(), 1);
    assert_eq!(services[0]["entries"][0]["message"], "third");
}

#[test]
fn bad_requests_say_what_was_expected() {
    let (_fx, server, _c) = setup();
    let cases = [
        ("/api/services/nope/history", 404, "no service \"nope\""),
        ("/api/services/A-b/history", 404, "expected a service id"),
        ("/api/services/../history", 404, "expected a service id"),
        (
            "/api/services/a/history?limit=0",
            400,
            "limit \"0\": expected a whole number from 1 to 500",
        ),
        (
            "/api/services/a/history?limit=lots",
            400,
            "limit \"lots\": expected a whole number from 1 to 500",
        ),
        (
            "/api/history?limit=51",
            400,
            "limit \"51\": expected a whole number from 0 to 50",
        ),
        ("/api/services/a/historyx", 404, "not found"),
    ];
    for (path, want, text) in cases {
        let (code, resp) = server.get(path);
        assert_eq!(code, want, "{path}: {resp}");
        assert!(resp.contains(text), "{path}: {resp}");
    }
}

#[test]
fn same_host_and_origin_rules() {
    let (_fx, server, _c) = setup();
    let port = server.port;
    let req = |headers: &str| {
        server.http(&format!(
            "GET /api/services/a/history HTTP/1.1\r\n{headers}\r\n"
        ))
    };
    assert_eq!(req("Host: evil.example\r\n").0, 403);
    assert_eq!(
        req(&format!(
            "Host: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\n"
        ))
        .0,
        403
    );
    assert_eq!(
        req(&format!(
            "Host: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
        ))
        .0,
        200
    );
}

/// Asking for history pushes nothing new on the WebSocket: a client gets
/// the status update of a new line, and nothing of any other type.
#[test]
fn websocket_clients_never_see_history() {
    let (fx, server, mut c) = setup();
    assert_eq!(server.get("/api/history").0, 200);
    assert_eq!(server.get("/api/services/a/history").0, 200);
    fx.append("a", "2026-11-20 12:00:00, OK, fourth\n");
    let v = c.next();
    assert_eq!(v["type"], "agent.service_status_update", "{v}");
    assert_eq!(v["data"]["message"], "fourth");
    c.assert_silent(Duration::from_millis(500));
    // And the new line is in the history.
    let (_, resp) = server.get("/api/services/a/history?limit=1");
    assert_eq!(body(&resp)["entries"][0]["message"], "fourth");
}

/// A server with services `a` and `b` (b without a log) that asks the
/// fake systemctl, with `extra` environment; the fake says `ssi_a.service`
/// last ran from 2026-11-20 10:00:00 UTC for 2.5 s (the run that wrote
/// "second"), and knows nothing of `ssi_b.service`.
fn setup_systemd(extra: &[(&str, &str)]) -> (Fixture, Server) {
    let fx = Fixture::new();
    fx.script("a.sh", "Check A");
    fx.script("b.sh", "Check B");
    fx.append(
        "a",
        "2026-11-20 09:00:00, OK, first\n2026-11-20 10:00:00, FAILURE, second\n2026-11-20 11:00:00, WARNING, third\n",
    );
    fx.unit_state(
        "ssi_a.service",
        "LoadState=loaded\nExecMainStartTimestamp=@1795168800\nExecMainExitTimestamp=@1795168802.5\n",
    );
    let env = fx.fake_systemd_env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("TZ", "UTC"));
    env.extend_from_slice(extra);
    let server = Server::start_with(&fx, &[], &env);
    let mut c = server.connect();
    let (ready, _) = c.snapshot(1);
    assert_eq!(ready["data"]["services"].as_array().unwrap().len(), 2);
    (fx, server)
}

/// `duration_ms` of each entry, oldest first.
fn durations(history: &Value) -> Vec<Option<u64>> {
    history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.get("duration_ms").map(|d| d.as_u64().unwrap()))
        .collect()
}

/// Polls `path` until `check` holds of its JSON body (10 s at most).
fn poll(server: &Server, path: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, resp) = server.get(path);
        assert_eq!(code, 200, "{resp}");
        let v = body(&resp);
        if check(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{path}: still {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn last_run_duration_from_systemd() {
    let (fx, server) = setup_systemd(&[("SSI_BROADCASTER_RUNS_RETRY_MS", "100")]);
    // On the line the run wrote, not simply the newest.
    let v = poll(&server, "/api/services/a/history", |v| {
        durations(v) == [None, Some(2500), None]
    });
    assert_eq!(v["entries"][1]["message"], "second");
    let (code, resp) = server.get("/api/history");
    assert_eq!(code, 200, "{resp}");
    let v = body(&resp);
    assert_eq!(durations(&v["services"][0]), [None, Some(2500), None]);
    assert_eq!(v["services"][1]["id"], "b");
    assert_eq!(durations(&v["services"][1]), []);
    // The checks are asked for together, in the background.
    let calls = fx.systemctl_calls();
    assert!(calls[0].starts_with("show "), "{calls:?}");
    assert!(calls[0].contains("ExecMainStartTimestamp"), "{calls:?}");
    assert!(
        calls[0].ends_with(" ssi_a.service ssi_b.service"),
        "{calls:?}"
    );
    // `a`'s newest line ("third") is of a run systemd has not seen end: it
    // is asked for again a few times, then given up on; answers never ask.
    std::thread::sleep(Duration::from_millis(1500));
    let settled = fx.systemctl_calls().len();
    assert!((2..=7).contains(&settled), "{settled} calls");
    for _ in 0..5 {
        assert_eq!(server.get("/api/history").0, 200);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fx.systemctl_calls().len(), settled);

    // The next run ends and writes its line: its duration follows.
    fx.unit_state(
        "ssi_a.service",
        "LoadState=loaded\nExecMainStartTimestamp=@1795176000\nExecMainExitTimestamp=@1795176001.25\n",
    );
    fx.append("a", "2026-11-20 12:00:01, OK, fourth\n");
    let v = poll(&server, "/api/services/a/history", |v| {
        durations(v).last() == Some(&Some(1250))
    });
    assert_eq!(v["entries"][3]["message"], "fourth");
}

/// A run whose line comes early and which goes on is waited for, however
/// long it takes: more than the few tries a finished run gets.
#[test]
fn a_run_under_way_is_waited_for() {
    let (fx, server) = setup_systemd(&[("SSI_BROADCASTER_RUNS_RETRY_MS", "100")]);
    poll(&server, "/api/services/a/history", |v| {
        durations(v) == [None, Some(2500), None]
    });
    // The next run starts at 12:00:00, writes its line at once, goes on.
    fx.unit_state(
        "ssi_a.service",
        "LoadState=loaded\nExecMainStartTimestamp=@1795176000\nExecMainExitTimestamp=@1795168802\n",
    );
    let before = fx.systemctl_calls().len();
    fx.append("a", "2026-11-20 12:00:00, OK, early\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while fx.systemctl_calls().len() < before + 8 {
        assert!(Instant::now() < deadline, "not asked again while it runs");
        std::thread::sleep(Duration::from_millis(50));
    }
    // It ends after 3 s (the monotonic clock says 3.02 s).
    fx.unit_state(
        "ssi_a.service",
        "LoadState=loaded\nExecMainStartTimestamp=@1795176000\nExecMainExitTimestamp=@1795176003\n\
ExecMainStartTimestampMonotonic=7000000000\nExecMainExitTimestampMonotonic=7003020000\n",
    );
    let v = poll(&server, "/api/services/a/history", |v| {
        durations(v).last() == Some(&Some(3020))
    });
    assert_eq!(v["entries"][3]["message"], "early");
}

#[test]
fn hanging_systemctl_is_killed_and_answers_do_not_wait() {
    let fx_pid = tempfile::tempdir().unwrap();
    let pidfile = fx_pid.path().join("systemctl.pid");
    let pidfile_s = pidfile.display().to_string();
    let (_fx, mut server) = setup_systemd(&[
        ("FAKE_SYSTEMCTL_HANG", "1"),
        ("FAKE_SYSTEMCTL_PIDFILE", &pidfile_s),
        ("SSI_BROADCASTER_SYSTEMCTL_TIMEOUT_MS", "1500"),
    ]);
    // Its pid, once written whole (the file exists before the pid is in it).
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid: u32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "systemctl was not asked");
        std::thread::sleep(Duration::from_millis(20));
    };
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    // While it hangs, answers go out at once, without durations.
    for path in ["/api/services/a/history", "/api/history"] {
        let t0 = Instant::now();
        let (code, resp) = server.get(path);
        let took = t0.elapsed();
        assert_eq!(code, 200, "{resp}");
        assert!(
            took < Duration::from_millis(500),
            "{path} answered after {took:?}"
        );
        let v = body(&resp);
        let h = if path == "/api/history" {
            &v["services"][0]
        } else {
            &v
        };
        assert_eq!(durations(h), [None, None, None], "{v}");
    }
    assert!(proc.exists(), "systemctl {pid} ended by itself");
    // Past its timeout it is killed and reaped: its pid is gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc.exists() {
        assert!(Instant::now() < deadline, "systemctl {pid} still there");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.alive());
}

#[test]
fn failing_or_missing_systemctl_gives_no_durations() {
    let (fx, mut server) = setup_systemd(&[("FAKE_SYSTEMCTL_BROKEN", "1")]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while fx.systemctl_calls().is_empty() {
        assert!(Instant::now() < deadline, "systemctl was not asked");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..3 {
        let (code, resp) = server.get("/api/services/a/history");
        assert_eq!(code, 200, "{resp}");
        assert_eq!(durations(&body(&resp)), [None, None, None]);
    }
    // Said once, and not asked again before its back-off (a minute), though
    // the statuses are looked at every 2 s.
    std::thread::sleep(Duration::from_millis(2600));
    let said: Vec<_> = server
        .stderr_lines()
        .into_iter()
        .filter(|l| l.contains("without run durations"))
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("Host is down"), "{said:?}");
    assert_eq!(fx.systemctl_calls().len(), 1);
    assert!(server.alive());

    let (_fx, server) = setup_systemd(&[("SSI_SYSTEMCTL", "/nonexistent/systemctl")]);
    let (code, resp) = server.get("/api/history");
    assert_eq!(code, 200, "{resp}");
    assert_eq!(durations(&body(&resp)["services"][0]), [None, None, None]);
}

/// A plugin check's runs carry their performance data (the `perfdata:`
/// line directly after each status line), in base units; a run without
/// any has no `perfdata`, and malformed items are left out.
#[test]
fn plugin_runs_carry_their_perfdata() {
    let fx = Fixture::new();
    fx.script("disk.sh", "Disk");
    fx.append(
        "disk",
        "2026-11-20 09:00:00, OK, DISK OK\nperfdata: '/'=1024KB;2048;3072;0;4096 'free inodes'=80%\n\
         2026-11-20 10:00:00, UNKNOWN, no data\n\
         2026-11-20 11:00:00, WARNING, DISK WARNING\nperfdata: /=2.5GB;2;3 bogus=1rpm\n",
    );
    let server = Server::start(&fx);
    let (code, resp) = server.get("/api/services/disk/history");
    assert_eq!(code, 200, "{resp}");
    let v = body(&resp);
    let e = v["entries"].as_array().unwrap();
    assert_eq!(e.len(), 3, "{v}");
    let first = &e[0]["perfdata"];
    assert_eq!(first[0]["label"], "/");
    assert_eq!(first[0]["unit"], "bytes");
    assert_eq!(first[0]["value"], 1048576.0);
    assert_eq!(first[0]["warning"]["end"], 2097152.0);
    assert_eq!(first[0]["max"], 4194304.0);
    assert_eq!(first[1]["label"], "free inodes");
    assert_eq!(first[1]["unit"], "ratio");
    assert_eq!(first[1]["value"], 0.8);
    assert!(e[1].get("perfdata").is_none(), "{v}");
    let last = e[2]["perfdata"].as_array().unwrap();
    assert_eq!(last.len(), 1, "the malformed item is left out: {v}");
    assert_eq!(last[0]["value"], 2.5 * 1073741824.0);
    assert_eq!(e[2]["status"], "WARNING");
}

//! The WebSocket stream: snapshot, live updates, scripts coming and going,
//! slow and dead clients, limits, shutdown.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{line, Fixture, Server};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

#[test]
fn snapshot_lists_services_then_statuses_then_live_lines() {
    let fx = Fixture::new();
    fx.script("dummy-service.bash", "Dummy Service");
    fx.script("disk_usage.sh", "Disk Usage");
    fx.script("no_status_yet.sh", "No Status Yet");
    std::fs::write(fx.scripts.join("broken.sh"), "#!/bin/sh\necho\n").unwrap();
    fx.append("dummy_service", line("OK", "") + &line("WARNING", "load 5"));
    fx.append("disk_usage", "2026-11-26 09:00:00, FAILURE, / at 99%\n");
    fx.append("orphan", line("ERROR", "no script for this log"));
    let server = Server::start(&fx);
    let mut c = server.connect();

    let (ready, statuses) = c.snapshot(2);
    let services = ready["data"]["services"].as_array().unwrap();
    let ids: Vec<&str> = services.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["disk_usage", "dummy_service", "no_status_yet"]);
    assert_eq!(
        services[1],
        serde_json::json!({"id":"dummy_service","name":"Dummy Service",
            "description":"Dummy Service check","version":"1.0","schedule":"*:0/5"})
    );
    assert_eq!(statuses[0]["type"], "agent.service_status_update");
    assert_eq!(statuses[0]["data"]["service_id"], "disk_usage");
    assert_eq!(statuses[0]["data"]["status"], "FAILURE");
    assert_eq!(statuses[0]["data"]["message"], "/ at 99%");
    let ts = statuses[0]["data"]["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
    assert_eq!(statuses[1]["data"]["service_id"], "dummy_service");
    assert_eq!(statuses[1]["data"]["status"], "WARNING");

    // Live: a line without a timestamp and without a message.
    fx.append("dummy_service", "ok\n");
    let v = c.next();
    assert_eq!(v["type"], "agent.service_status_update");
    assert_eq!(v["data"]["status"], "OK");
    assert_eq!(v["data"]["message"], "");
    let ts = v["data"]["timestamp"].as_str().unwrap();
    let now = jiff::Timestamp::now().as_second();
    let got: jiff::Timestamp = ts.parse().unwrap();
    assert!((now - got.as_second()).abs() < 5, "{ts}");
    // Nothing for the log without a script.
    fx.append("orphan", line("OK", "still no script"));
    c.assert_silent(Duration::from_millis(300));
}

#[test]
fn scripts_added_and_removed_are_announced() {
    let fx = Fixture::new();
    let server = Server::start(&fx);
    let mut c = server.connect();
    let (ready, _) = c.snapshot(0);
    assert_eq!(ready["data"]["services"], serde_json::json!([]));

    fx.append("backup", line("UPDATE", "3 packages"));
    fx.script("backup.sh", "Nightly Backup");
    let v = c.next();
    assert_eq!(v["type"], "agent.service_added", "{v}");
    assert_eq!(v["data"]["service"]["id"], "backup");
    assert_eq!(v["data"]["service"]["name"], "Nightly Backup");
    // Its existing status follows the announcement.
    assert_eq!(
        c.next_status(),
        ("backup".into(), "UPDATE".into(), "3 packages".into())
    );

    // A file that is silently skipped changes nothing.
    std::fs::write(fx.scripts.join("backup.sh~"), "junk").unwrap();
    c.assert_silent(Duration::from_millis(300));

    std::fs::remove_file(fx.scripts.join("backup.sh")).unwrap();
    let v = c.next();
    assert_eq!(
        v,
        serde_json::json!({"type":"agent.service_removed","data":{"service_id":"backup"}})
    );
}

/// Lines are written as fast as possible while clients connect: every
/// client must see the snapshot's status followed by every later line,
/// with no gap and no duplicate.
#[test]
fn snapshot_and_live_stream_have_no_gap_or_duplicate() {
    let fx = Fixture::new();
    fx.script("counter.sh", "Counter");
    fx.append("counter", "OK, 0\n");
    let server = Server::start(&fx);
    const LAST: u32 = 3000;
    let log = fx.log("counter");
    let writer = std::thread::spawn(move || {
        for i in 1..=LAST {
            let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            f.write_all(format!("OK, {i}\n").as_bytes()).unwrap();
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    let mut checked = 0;
    while !writer.is_finished() || checked < 3 {
        let mut c = server.connect();
        let (_, snap) = c.snapshot(1);
        let mut n: u32 = snap[0]["data"]["message"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        while n < LAST {
            let (_, _, msg) = c.next_status();
            let m: u32 = msg.parse().unwrap();
            assert_eq!(m, n + 1, "gap or duplicate after {n}");
            n = m;
        }
        checked += 1;
    }
    writer.join().unwrap();
    assert!(checked >= 3);
}

#[test]
fn client_messages_are_ignored_and_big_frames_close() {
    let fx = Fixture::new();
    fx.script("a.sh", "Service A");
    let server = Server::start(&fx);
    let mut c = server.connect();
    c.snapshot(0);
    c.ws.send(Message::text("hello")).unwrap();
    c.ws.send(Message::binary(vec![1u8; 4000])).unwrap();
    fx.append("a", line("OK", "after client chatter"));
    assert_eq!(c.next_status().2, "after client chatter");

    c.ws.send(Message::binary(vec![0u8; 5000])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no close for a big frame");
        match c.ws.read() {
            Ok(Message::Close(Some(f))) => {
                assert_eq!(f.code, CloseCode::Size);
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
}

/// A client that stops reading is closed with 1013 once it falls more
/// than the queue length behind; a fast client meanwhile gets everything.
#[test]
fn slow_client_is_closed_while_fast_client_keeps_receiving() {
    let fx = Fixture::new();
    fx.script("flood.sh", "Flood");
    let server = Server::start_with(&fx, &[], &[("SSI_BROADCASTER_QUEUE", "32")]);
    let mut slow = server.connect();
    slow.snapshot(0);
    let mut fast = server.connect();
    fast.snapshot(0);

    // Big messages fill the slow client's socket buffers quickly.
    let pad = "x".repeat(30_000);
    const N: usize = 1500;
    let fx_log = fx.log("flood");
    let writer = std::thread::spawn(move || {
        for i in 0..N {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&fx_log)
                .unwrap();
            f.write_all(format!("OK, {i} {pad}\n").as_bytes()).unwrap();
        }
    });
    for i in 0..N {
        let (_, _, msg) = fast.next_status();
        assert!(msg.starts_with(&format!("{i} ")), "fast client missed {i}");
    }
    writer.join().unwrap();

    // Now the slow one reads what was buffered, then finds the close frame.
    let (received, code) = slow.read_to_close();
    assert!(
        matches!(code, Some(CloseCode::Again) | Some(CloseCode::Policy)),
        "{code:?}"
    );
    assert!(received < N, "slow client got all {received}");

    // It can reconnect and gets a fresh snapshot with the latest status.
    let mut again = server.connect();
    let (_, snap) = again.snapshot(1);
    assert!(snap[0]["data"]["message"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{} ", N - 1)));
}

#[test]
fn dead_peers_are_dropped_and_live_ones_kept_by_ping() {
    let fx = Fixture::new();
    fx.script("a.sh", "Service A");
    let server = Server::start_with(&fx, &[], &[("SSI_BROADCASTER_PING_MS", "100")]);

    // A raw client that completes the handshake and then never reads.
    let mut dead = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        dead,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.port
    )
    .unwrap();
    let mut live = server.connect();
    live.snapshot(0);
    // The live client keeps reading (tungstenite answers pings on read).
    live.ws
        .get_mut()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut pings = 0;
    let until = Instant::now() + Duration::from_millis(800);
    while Instant::now() < until {
        match live.ws.read() {
            Ok(Message::Ping(_)) => pings += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("live client dropped: {e}"),
        }
    }
    assert!(pings >= 5, "{pings} pings in 800 ms at a 100 ms interval");
    fx.append("a", line("OK", "still here"));
    live.ws
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (_, _, msg) = live.next_status();
    assert!(msg.contains("still here"));
    // The dead one was disconnected: reading reaches EOF after the
    // handshake, the snapshot and a few pings.
    dead.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let r = dead.read_to_end(&mut buf);
    assert!(r.is_ok() || !buf.is_empty(), "{r:?}");
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 101"));
}

#[test]
fn sigterm_sends_close_frames_and_exits_zero_quickly() {
    let fx = Fixture::new();
    fx.script("a.sh", "Service A");
    let mut server = Server::start(&fx);
    let mut clients: Vec<_> = (0..5).map(|_| server.connect()).collect();
    for c in &mut clients {
        c.snapshot(0);
    }
    let start = Instant::now();
    server.signal(libc::SIGTERM);
    for c in &mut clients {
        match c.ws.read() {
            Ok(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::Away),
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    assert_eq!(server.wait_exit(Duration::from_secs(2)), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn sigint_also_exits_zero() {
    let fx = Fixture::new();
    let mut server = Server::start(&fx);
    let mut c = server.connect();
    c.snapshot(0);
    server.signal(libc::SIGINT);
    assert!(matches!(c.ws.read(), Ok(Message::Close(Some(_)))));
    assert_eq!(server.wait_exit(Duration::from_secs(2)), Some(0));
}

/// One rule for a line without a time stamp (ssi::status::stamp): the live
/// stream gives it the log's modification time, as history and ssi-status
/// do, not the time it happened to be read.
#[test]
fn a_live_line_without_a_time_takes_the_logs_modification_time() {
    let fx = Fixture::new();
    fx.script("dummy-service.bash", "Dummy Service");
    fx.append("dummy_service", line("OK", ""));
    // No inotify: the line is read only when SIGHUP says so, after its
    // log's modification time was set an hour back.
    let server = Server::start_with(&fx, &[], &[("SSI_BROADCASTER_IGNORE_EVENTS", "1")]);
    let mut c = server.connect();
    c.snapshot(1);
    fx.append("dummy_service", "warning, written an hour ago\n");
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .append(true)
        .open(fx.log("dummy_service"))
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    server.signal(libc::SIGHUP);
    let v = c.next();
    assert_eq!(v["data"]["status"], "WARNING", "{v}");
    let got: jiff::Timestamp = v["data"]["timestamp"].as_str().unwrap().parse().unwrap();
    let want = jiff::Timestamp::try_from(hour_ago).unwrap();
    assert_eq!(got.as_second(), want.as_second(), "{v}");
}

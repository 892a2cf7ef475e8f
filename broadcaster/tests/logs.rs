//! Following logs through everything that happens to them on a real
//! machine: logrotate, deletion, late files and directories, odd content.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{line, Fixture, Server};

fn setup(ids: &[&str]) -> (Fixture, Server, common::Client) {
    let fx = Fixture::new();
    for id in ids {
        fx.script(&format!("{id}.sh"), &format!("Service {id}"));
    }
    let server = Server::start(&fx);
    let mut c = server.connect();
    c.snapshot(0);
    (fx, server, c)
}

#[test]
fn logrotate_rename_and_create() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", line("OK", "one"));
    assert_eq!(c.next_status().2, "one");
    // A line lands just before the rename, then the rename, then a new file.
    fx.append("svc", line("WARNING", "two"));
    std::fs::rename(fx.log("svc"), fx.logs.join("svc.log.1")).unwrap();
    fx.append("svc", line("FAILURE", "three"));
    let (_, s2, m2) = c.next_status();
    assert_eq!((s2.as_str(), m2.as_str()), ("WARNING", "two"));
    let (_, s3, m3) = c.next_status();
    assert_eq!((s3.as_str(), m3.as_str()), ("FAILURE", "three"));
    fx.append("svc", line("OK", "four"));
    assert_eq!(c.next_status().2, "four");
    // The rotated file is not a log of its own.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(fx.logs.join("svc.log.1"))
        .unwrap();
    f.write_all(line("ERROR", "old file").as_bytes()).unwrap();
    c.assert_silent(Duration::from_millis(300));
}

#[test]
fn logrotate_copytruncate() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", line("OK", "before") + &"noise line\n".repeat(50));
    assert_eq!(c.next_status().2, "before");
    std::fs::copy(fx.log("svc"), fx.logs.join("svc.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(fx.log("svc"))
        .unwrap()
        .set_len(0)
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    fx.append("svc", line("WARNING", "after truncate"));
    assert_eq!(
        c.next_status(),
        ("svc".into(), "WARNING".into(), "after truncate".into())
    );
}

#[test]
fn log_deleted_and_recreated() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", line("OK", "first"));
    assert_eq!(c.next_status().2, "first");
    std::fs::remove_file(fx.log("svc")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    fx.append("svc", line("ERROR", "recreated"));
    assert_eq!(c.next_status().2, "recreated");
}

#[test]
fn log_appearing_after_start() {
    let (fx, _server, mut c) = setup(&["late"]);
    fx.append("late", line("UNKNOWN", "first run") + &line("OK", "second"));
    assert_eq!(c.next_status().2, "first run");
    assert_eq!(c.next_status().2, "second");
}

#[test]
fn log_dir_appearing_after_start() {
    let fx = Fixture::new();
    fx.script("svc.sh", "Service");
    let logs = fx.tmp.path().join("not/yet/logs");
    let server = Server::start_dirs(&logs, &fx.scripts, &[], &[]);
    let mut c = server.connect();
    c.snapshot(0);
    std::fs::create_dir_all(&logs).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(logs.join("svc.log"), line("OK", "dir arrived")).unwrap();
    assert_eq!(c.next_status().2, "dir arrived");

    // Idle while waiting costs nothing (no busy loop): check CPU time.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).unwrap();
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    assert!(ticks < 100, "{ticks} ticks of CPU");
}

#[test]
fn waiting_for_a_missing_log_dir_uses_no_cpu() {
    let fx = Fixture::new();
    let logs = fx.tmp.path().join("missing");
    let server = Server::start_dirs(&logs, &fx.scripts, &[], &[]);
    let read = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).unwrap();
        let f: Vec<String> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let before = read();
    std::thread::sleep(Duration::from_millis(1000));
    let after = read();
    assert!(after - before <= 2, "{} ticks while idle", after - before);
}

#[test]
fn log_dir_deleted_and_recreated() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", line("OK", "one"));
    assert_eq!(c.next_status().2, "one");
    std::fs::remove_dir_all(&fx.logs).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    std::fs::create_dir(&fx.logs).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    fx.append("svc", line("WARNING", "two"));
    assert_eq!(c.next_status().2, "two");
}

/// Deleted and recreated faster than the events are handled: the new
/// directory (a new inode under the same name) still gets watched.
#[test]
fn log_dir_replaced_at_once() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", line("OK", "one"));
    assert_eq!(c.next_status().2, "one");
    std::fs::remove_dir_all(&fx.logs).unwrap();
    std::fs::create_dir(&fx.logs).unwrap();
    fx.append("svc", line("WARNING", "two"));
    assert_eq!(c.next_status().2, "two");
    std::thread::sleep(Duration::from_millis(200));
    fx.append("svc", line("ERROR", "three"));
    assert_eq!(c.next_status().2, "three");
}

#[test]
fn never_half_a_line() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", "2026-11-26 10:00:00, WARN");
    c.assert_silent(Duration::from_millis(300));
    fx.append("svc", "ING, disk ");
    c.assert_silent(Duration::from_millis(200));
    fx.append("svc", "at 91%\n");
    assert_eq!(
        c.next_status(),
        ("svc".into(), "WARNING".into(), "disk at 91%".into())
    );
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap()
}

#[test]
fn long_lines_are_cut_not_buffered() {
    let (fx, server, mut c) = setup(&["svc"]);
    fx.append("svc", line("OK", "warm up"));
    c.next_status();
    let before = rss_kib(server.pid());
    // 8 MiB in one line: cut to 64 KiB, the rest skipped, never held.
    let big = "y".repeat(8 << 20);
    fx.append("svc", format!("OK, {big}"));
    fx.append("svc", "yyyy\nERROR, after the long line\n");
    let (_, status, msg) = c.next_status();
    assert_eq!(status, "OK");
    assert_eq!(msg.len(), 64 * 1024 - "OK, ".len());
    assert_eq!(c.next_status().2, "after the long line");
    let grew = rss_kib(server.pid()).saturating_sub(before);
    assert!(grew < 2048, "RSS grew by {grew} KiB for an 8 MiB line");
}

#[test]
fn invalid_utf8_is_replaced() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", b"WARNING, caf\xe9 \xff\xfe ok\n");
    let (_, status, msg) = c.next_status();
    assert_eq!(status, "WARNING");
    assert_eq!(msg, "caf\u{fffd} \u{fffd}\u{fffd} ok");
    fx.append("svc", line("OK", "still alive"));
    assert_eq!(c.next_status().2, "still alive");
}

#[test]
fn non_status_lines_are_ignored() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append(
        "svc",
        "+ set -x trace\nchecking disks...\nOKAY, not a status\n\n   \nGREAT, nope\n",
    );
    c.assert_silent(Duration::from_millis(300));
    fx.append("svc", "warning, lower case is fine\r\n");
    assert_eq!(
        c.next_status(),
        ("svc".into(), "WARNING".into(), "lower case is fine".into())
    );
}

#[test]
fn fifo_and_symlinked_logs_are_not_followed() {
    let (fx, _server, mut c) = setup(&["svc", "fifo", "link"]);
    // A FIFO named like a log must not block the tailer.
    rustix::fs::mknodat(
        rustix::fs::CWD,
        fx.log("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    // A symlink pointing out of the log directory is not followed.
    let outside = fx.tmp.path().join("outside.txt");
    std::fs::write(&outside, line("ERROR", "secret")).unwrap();
    std::os::unix::fs::symlink(&outside, fx.log("link")).unwrap();
    fx.append("svc", line("OK", "others still flow"));
    assert_eq!(c.next_status().2, "others still flow");
    c.assert_silent(Duration::from_millis(300));
}

/// With inotify events ignored, the periodic safety rescan alone still
/// delivers every line: what recovers a missed event or a queue overflow.
#[test]
fn periodic_rescan_recovers_missed_events() {
    let fx = Fixture::new();
    fx.script("svc.sh", "Service");
    let server = Server::start_with(
        &fx,
        &[],
        &[
            ("SSI_BROADCASTER_IGNORE_EVENTS", "1"),
            ("SSI_BROADCASTER_RESCAN_MS", "200"),
        ],
    );
    let mut c = server.connect();
    c.snapshot(0);
    fx.append("svc", line("OK", "one") + &line("WARNING", "two"));
    assert_eq!(c.next_status().2, "one");
    assert_eq!(c.next_status().2, "two");
    fx.script("other.sh", "Other");
    assert_eq!(
        c.next_of("agent.service_added")["data"]["service"]["id"],
        "other"
    );
    std::fs::rename(fx.log("svc"), fx.logs.join("svc.log.1")).unwrap();
    fx.append("svc", line("FAILURE", "rotated"));
    assert_eq!(c.next_status().2, "rotated");
}

#[test]
fn inotify_unavailable_rescans_every_second_and_recovers() {
    let fx = Fixture::new();
    fx.script("svc.sh", "Service");
    // The first two attempts to set up inotify fail, as when the user's
    // inotify instances are exhausted; the safety rescan stays at 60 s.
    let server = Server::start_with(&fx, &[], &[("SSI_BROADCASTER_INOTIFY_FAILURES", "2")]);
    let mut c = server.connect();
    c.snapshot(0);
    // Found by the 1 s rescan of the degraded mode (the client gives up
    // after 10 s, long before a 60 s rescan).
    fx.append("svc", line("WARNING", "seen without inotify"));
    assert_eq!(c.next_status().2, "seen without inotify");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match server.stderr.recv_timeout(left) {
            Ok(l) if l.contains("inotify works again") => break,
            Ok(_) => {}
            Err(_) => panic!("inotify was never retried"),
        }
    }
    // Back on events: the rescan is every 60 s again, so only inotify can
    // deliver these within the client's 10 s.
    std::thread::sleep(Duration::from_millis(1500));
    fx.append("svc", line("OK", "seen through inotify"));
    assert_eq!(c.next_status().2, "seen through inotify");
}

/// A log moved over one being followed is history: its last status is one
/// update (and the snapshot of the next client), not a replay of every line.
#[test]
fn log_moved_in_starts_at_its_end() {
    let (fx, server, mut c) = setup(&["svc"]);
    fx.append("svc", line("OK", "before the move"));
    assert_eq!(c.next_status().2, "before the move");
    let elsewhere = fx.logs.join("svc.log.new");
    let mut old = String::new();
    for i in 0..100_000 {
        old.push_str(&line("WARNING", &format!("old line {i}")));
    }
    old.push_str(&line("UNKNOWN", "the last old line"));
    std::fs::write(&elsewhere, old).unwrap();
    std::fs::rename(&elsewhere, fx.log("svc")).unwrap();
    assert_eq!(c.next_status().2, "the last old line");
    c.assert_silent(Duration::from_millis(500));
    let mut c2 = server.connect();
    let (_, snap) = c2.snapshot(1);
    assert_eq!(snap[0]["data"]["message"], "the last old line");
    // Followed from there on.
    fx.append("svc", line("OK", "after the move"));
    assert_eq!(c.next_status().2, "after the move");
}

/// The normal first run of a check: systemd creates the log empty, then
/// the script writes; every line is streamed.
#[test]
fn log_created_empty_then_written_streams_every_line() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", "");
    std::thread::sleep(Duration::from_millis(300));
    fx.append("svc", line("UNKNOWN", "starting"));
    fx.append("svc", "checking...\n");
    fx.append("svc", line("WARNING", "one") + &line("OK", "two"));
    assert_eq!(c.next_status().2, "starting");
    assert_eq!(c.next_status().2, "one");
    assert_eq!(c.next_status().2, "two");
}

/// A FIFO named like a log, there at start or appearing later, is refused
/// with a warning naming it; start-up never blocks on it.
#[test]
fn fifo_logs_at_start_and_later_are_refused() {
    let fx = Fixture::new();
    for id in ["svc", "pipe", "later"] {
        fx.script(&format!("{id}.sh"), &format!("Service {id}"));
    }
    let mkfifo = |id: &str| {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            fx.log(id),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
    };
    mkfifo("pipe");
    fx.append("svc", line("OK", "at start"));
    let server = Server::start(&fx);
    assert_eq!(server.get("/healthz").0, 200);
    let mut c = server.connect();
    let (_, snap) = c.snapshot(1);
    assert_eq!(snap[0]["data"]["message"], "at start");
    let warned = |server: &Server, path: std::path::PathBuf| {
        let want = format!(
            "{}: not a regular file but a FIFO, ignoring.",
            path.display()
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match server.stderr.recv_timeout(left) {
                Ok(l) if l.ends_with(&want) => break,
                Ok(_) => {}
                Err(_) => panic!("no warning for {}", path.display()),
            }
        }
    };
    // (The warning about pipe.log comes before the listening line.)
    mkfifo("later");
    fx.append("svc", line("WARNING", "still streaming"));
    assert_eq!(c.next_status().2, "still streaming");
    warned(&server, fx.log("later"));
    assert_eq!(server.get("/healthz").0, 200);
}

/// A line dated where no time zone can place it is not a status line (as
/// for `ssi-status`), rather than one stamped with the time it was read.
#[test]
fn a_date_out_of_range_is_not_a_status() {
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", "9999-12-31 23:59:59, FAILURE, the end of time\n");
    fx.append("svc", line("OK", "a real date"));
    assert_eq!(
        c.next_status(),
        ("svc".into(), "OK".into(), "a real date".into())
    );
}

/// copytruncate under load: lines written as fast as one writer can,
/// the log cut back to nothing every 1,000 lines. Lines written after the
/// last read before a truncation are gone (logrotate copied them), but
/// of each generation the client gets a prefix, in order: never a line
/// from the middle of the file, never half a line, and all of the last.
#[test]
fn copytruncate_under_load_loses_nothing_it_can_see() {
    const EPOCHS: usize = 12;
    const LINES: usize = 1000;
    let (fx, _server, mut c) = setup(&["svc"]);
    fx.append("svc", "");
    std::thread::sleep(Duration::from_millis(200));
    let path = fx.log("svc");
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        for e in 0..EPOCHS {
            if e > 0 {
                f.set_len(0).unwrap();
            }
            for n in 0..LINES {
                // One write per line, like a check's output; lengths vary so
                // that an old offset falls inside a line of the new content,
                // whose tail reads like a status line of its own.
                let pad = ".".repeat((n + 5 * e) % 13);
                let l = format!("2026-11-26 10:00:00, OK, e{e:02} n{n:04}{pad} tail, OK, x\n");
                f.write_all(l.as_bytes()).unwrap();
                if n % 100 == 99 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    });
    let mut got: Vec<Vec<usize>> = vec![Vec::new(); EPOCHS];
    let mut garbled = Vec::new();
    let mut stamp = None;
    loop {
        let v = c.next_of("agent.service_status_update");
        let field = |k: &str| v["data"][k].as_str().unwrap().to_owned();
        let (status, msg, ts) = (field("status"), field("message"), field("timestamp"));
        // Every line has the same time stamp; half a line has none, so it
        // gets the time it was read.
        let stamp = stamp.get_or_insert_with(|| ts.clone());
        let parsed = msg
            .strip_suffix(" tail, OK, x")
            .and_then(|m| m.strip_prefix('e'))
            .and_then(|m| m.split_once(" n"))
            .and_then(|(e, n)| {
                let n = n.trim_end_matches('.');
                Some((e.parse::<usize>().ok()?, n.parse::<usize>().ok()?))
            });
        match parsed {
            Some((e, n)) if status == "OK" && e < EPOCHS && ts == *stamp => {
                got[e].push(n);
                if (e, n) == (EPOCHS - 1, LINES - 1) {
                    break;
                }
            }
            _ => garbled.push(format!("{status} at {ts}: {msg}")),
        }
    }
    writer.join().unwrap();
    assert!(garbled.is_empty(), "half lines published: {garbled:?}");
    for (e, ns) in got.iter().enumerate() {
        let prefix: Vec<usize> = (0..ns.len()).collect();
        assert_eq!(ns, &prefix, "generation {e}: not a prefix");
    }
    assert_eq!(got[EPOCHS - 1].len(), LINES);
}

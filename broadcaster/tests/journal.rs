//! Priorities for the journal: when standard error is the stream systemd
//! named in `JOURNAL_STREAM`, every line carries its sd-daemon(3) prefix
//! (`<4>` warning, `<6>` info), so `journalctl -p warning` finds the
//! warnings; elsewhere the lines are plain.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Fixture;

/// Starts the broadcaster with stderr on a fresh pipe and, when `journal`,
/// `JOURNAL_STREAM` naming that pipe, as systemd names its stream socket.
/// Inotify is made to fail once at start, which is a warning. Returns the
/// child and its stderr lines.
fn start(fx: &Fixture, journal: bool) -> (Child, mpsc::Receiver<String>) {
    let (read, write) = rustix::pipe::pipe().unwrap();
    let st = rustix::fs::fstat(&write).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssi-broadcaster"));
    cmd.args(["--listen", "127.0.0.1:0", "--log-dir"])
        .arg(&fx.logs)
        .arg("--scripts-dir")
        .arg(&fx.scripts)
        .env("SSI_BROADCASTER_INOTIFY_FAILURES", "1")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("LISTEN_FDS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(write));
    if journal {
        cmd.env("JOURNAL_STREAM", format!("{}:{}", st.st_dev, st.st_ino));
    } else {
        // The variable inherited, the stream not: stderr was redirected.
        cmd.env("JOURNAL_STREAM", format!("{}:{}", st.st_dev, st.st_ino + 1));
    }
    let child = cmd.spawn().unwrap();
    // Our copy of the write end is gone with `cmd`: EOF when the child ends.
    drop(cmd);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(std::fs::File::from(read)).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Lines until the one containing `needle` (included), within 10 s.
fn lines_until(rx: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let done = l.contains(needle);
                seen.push(l);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("no line containing {needle:?}; saw {seen:?}"),
        }
    }
}

#[test]
fn lines_carry_their_priority_when_stderr_is_the_journal() {
    let fx = Fixture::new();
    let (mut child, rx) = start(&fx, true);
    let lines = lines_until(&rx, "listening on ws://");
    let _ = child.kill();
    let _ = child.wait();
    let warning = lines
        .iter()
        .find(|l| l.contains("cannot use inotify"))
        .unwrap_or_else(|| panic!("no inotify warning in {lines:?}"));
    assert!(
        warning.starts_with("<4>ssi-broadcaster: cannot use inotify"),
        "{warning:?}"
    );
    let info = lines.last().unwrap();
    assert!(
        info.starts_with("<6>listening on ws://127.0.0.1:"),
        "{info:?}"
    );
}

#[test]
fn lines_are_plain_when_stderr_is_not_the_journal() {
    let fx = Fixture::new();
    let (mut child, rx) = start(&fx, false);
    let lines = lines_until(&rx, "listening on ws://");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ssi-broadcaster: cannot use inotify")),
        "{lines:?}"
    );
    assert!(lines.last().unwrap().starts_with("listening on ws://"));
}

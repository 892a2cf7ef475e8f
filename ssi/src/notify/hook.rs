//! Running one hook with one event: the event in its environment and as
//! one JSON line on its stdin, its output on our stderr (the journal
//! under systemd), bounded by a time limit after which its whole process
//! group is ended.

use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, Pid, Signal};

use super::event::Event;

/// How long a hook has after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// Runs the hook at `path` with `event`; `Err` says why it failed
/// (could not start, exit status, signal, time limit).
pub fn run(path: &Path, event: &Event, limit: Duration) -> Result<(), String> {
    let mut child = Command::new(path)
        .envs(event.env())
        .stdin(Stdio::piped())
        // Our stdout may be a report (`notify-test`); the hook's output is
        // diagnostics, like ours (the journal under systemd).
        .stdout(io::stderr())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin may close it: not an error.
        match stdin.write_all(format!("{}\n", event.to_json()).as_bytes()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(format!("cannot write its stdin: {e}")),
        }
    }
    let group = Pid::from_child(&child);
    let started = Instant::now();
    let mut signalled: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) if signalled.is_some() => {
                return Err(format!("timed out after {} s ({status})", limit.as_secs()))
            }
            Ok(Some(status)) => return Err(status.to_string()),
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
        let now = Instant::now();
        match signalled {
            None if now.duration_since(started) >= limit => {
                let _ = kill_process_group(group, Signal::TERM);
                signalled = Some(now);
            }
            Some(t) if now.duration_since(t) >= GRACE => {
                let _ = kill_process_group(group, Signal::KILL);
            }
            _ => {}
        }
        sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::Kind;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn hook(dir: &Path, body: &str) -> std::path::PathBuf {
        let p = dir.join("hook");
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn event() -> Event {
        Event {
            event: Kind::Test,
            id: "disk".into(),
            name: "Disk 'usage'".into(),
            status: "OK".into(),
            previous_status: "".into(),
            message: "$HOME stays".into(),
            timestamp: "2026-11-26T10:00:00Z".into(),
            host: "h".into(),
        }
    }

    #[test]
    fn the_hook_gets_the_event_in_its_environment_and_on_stdin() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let h = hook(
            tmp.path(),
            // The event's variables only: whatever else starts with SSI_
            // in the test's environment (SSI_TEST_SKIPS) is inherited.
            &format!(
                "{{ env | grep -E '^SSI_(EVENT|HOST|ID|MESSAGE|NAME|PREVIOUS_STATUS|STATUS|TIMESTAMP)=' | sort; cat; }} > {}",
                out.display()
            ),
        );
        run(&h, &event(), Duration::from_secs(5)).unwrap();
        let got = fs::read_to_string(&out).unwrap();
        let mut lines = got.lines();
        let env: Vec<_> = lines.by_ref().take(8).collect();
        assert_eq!(
            env,
            [
                "SSI_EVENT=test",
                "SSI_HOST=h",
                "SSI_ID=disk",
                "SSI_MESSAGE=$HOME stays",
                "SSI_NAME=Disk 'usage'",
                "SSI_PREVIOUS_STATUS=",
                "SSI_STATUS=OK",
                "SSI_TIMESTAMP=2026-11-26T10:00:00Z",
            ]
        );
        let json: Event = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(json, event());
    }

    #[test]
    fn failures_say_why() {
        let tmp = tempfile::tempdir().unwrap();
        let h = hook(tmp.path(), "exit 3");
        assert_eq!(
            run(&h, &event(), Duration::from_secs(5)).unwrap_err(),
            "exit status: 3"
        );
        assert!(
            run(&tmp.path().join("nope"), &event(), Duration::from_secs(5))
                .unwrap_err()
                .starts_with("cannot start")
        );
    }

    #[test]
    fn a_hook_past_its_limit_is_ended_with_its_children() {
        let tmp = tempfile::tempdir().unwrap();
        let h = hook(tmp.path(), "sleep 30 & sleep 30");
        let t = Instant::now();
        let err = run(&h, &event(), Duration::from_millis(300)).unwrap_err();
        assert!(err.starts_with("timed out after 0 s"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
}

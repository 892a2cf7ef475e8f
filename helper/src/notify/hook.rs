//! Running one hook with one event: the event (cleaned of control
//! characters) in its environment and as one JSON line on its stdin, its
//! output on our stderr (the journal under systemd), bounded by a time
//! limit, which writing its stdin is under too, after which its whole
//! process group is ended.

use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::{fcntl_setfl, OFlags};
use rustix::process::{kill_process_group, pidfd_open, Pid, PidfdFlags, Signal};

use super::event::Event;

/// How long a hook has after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// The most of one value a hook's environment carries: the kernel refuses
/// to start a program with any one variable over 128 KiB, and a message
/// of 64 KiB of control characters is 192 KiB once cleaned. Its stdin
/// carries every value whole.
pub const MAX_ENV_VALUE: usize = 64 << 10;

/// `value` cut to at most [`MAX_ENV_VALUE`] bytes, at a character boundary.
fn cap(value: &str) -> &str {
    if value.len() <= MAX_ENV_VALUE {
        return value;
    }
    let mut end = MAX_ENV_VALUE;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Runs the hook at `path` with `event`; `Err` says why it failed
/// (could not start, exit status, signal, time limit).
///
/// Every value the hook is handed (its environment and its stdin) is
/// cleaned by [`ssi::status::clean_message`], the rule messages leaving the machine
/// follow, so that no byte a check prints (a NUL from `/proc/PID/cmdline`)
/// makes an event undeliverable. Its stdin is written under the same time
/// limit as the run: a hook that never reads it, with an event larger than
/// a pipe holds, is ended with its process group like any other.
pub fn run(path: &Path, event: &Event, limit: Duration) -> Result<(), String> {
    let event = event.cleaned();
    let mut child = Command::new(path)
        .envs(event.env().map(|(k, v)| (k, cap(v))))
        .stdin(Stdio::piped())
        // Our stdout may be a report (`notify-test`); the hook's output is
        // diagnostics, like ours (the journal under systemd).
        .stdout(io::stderr())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let group = Pid::from_child(&child);
    let end = |why: String| {
        let _ = kill_process_group(group, Signal::KILL);
        why
    };
    let input = format!("{}\n", event.to_json()).into_bytes();
    let mut written = 0;
    let mut stdin = child.stdin.take();
    if let Some(s) = &stdin {
        fcntl_setfl(s, OFlags::NONBLOCK)
            .map_err(|e| end(format!("cannot set up its stdin: {e}")))?;
    }
    // Readable when the hook exits: a pass delivering a thousand events
    // wakes as each one ends, not at the next 10 ms tick. Without pidfds
    // (before Linux 5.3), the tick.
    let exited = pidfd_open(group, PidfdFlags::empty()).ok();
    let started = Instant::now();
    let mut signalled: Option<Instant> = None;
    loop {
        if let Some(s) = &mut stdin {
            match s.write(&input[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A hook that does not read its stdin may close it: not an
                // error.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => written = input.len(),
                Err(e) => return Err(end(format!("cannot write its stdin: {e}"))),
            }
            if written >= input.len() {
                // Closed: the hook reads the end of its input.
                stdin = None;
            }
        }
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) if signalled.is_some() => {
                return Err(format!("timed out after {} s ({status})", limit.as_secs()))
            }
            Ok(Some(status)) => return Err(status.to_string()),
            Ok(None) => {}
            Err(e) => return Err(end(format!("cannot wait for it: {e}"))),
        }
        let now = Instant::now();
        match signalled {
            None if now.duration_since(started) >= limit => {
                // Its input is given up with it: never wait on a full pipe.
                stdin = None;
                let _ = kill_process_group(group, Signal::TERM);
                signalled = Some(now);
            }
            Some(t) if now.duration_since(t) >= GRACE => {
                let _ = kill_process_group(group, Signal::KILL);
            }
            _ => {}
        }
        // Wakes as soon as the pipe has room or the hook exits, at the
        // latest in 10 ms (for the time limit).
        let tick = Timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        };
        let mut fds = Vec::with_capacity(2);
        if let Some(s) = &stdin {
            fds.push(PollFd::new(s, PollFlags::OUT));
        }
        if let Some(p) = &exited {
            fds.push(PollFd::new(p, PollFlags::IN));
        }
        if fds.is_empty() {
            sleep(Duration::from_millis(10));
        } else {
            let _ = poll(&mut fds, Some(&tick));
        }
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

    /// A NUL (from `/proc/PID/cmdline`) or an escape sequence in a message
    /// is handed over as U+FFFD, in the environment and on stdin alike,
    /// and the event is delivered.
    #[test]
    fn control_characters_are_handed_over_cleaned() {
        let tmp = tempfile::tempdir().unwrap();
        let (env, json) = (tmp.path().join("env"), tmp.path().join("json"));
        let h = hook(
            tmp.path(),
            &format!(
                "printf '%s' \"$SSI_MESSAGE|$SSI_NAME\" > {}; cat > {}",
                env.display(),
                json.display()
            ),
        );
        let mut e = event();
        e.message = "killed sleep\09\0--foo\x1b[31m\x7f\tend".into();
        e.name = "two\nlines\r".into();
        run(&h, &e, Duration::from_secs(5)).unwrap();
        let want_message = "killed sleep\u{fffd}9\u{fffd}--foo\u{fffd}[31m\u{fffd}\tend";
        let want_name = "two\u{fffd}lines\u{fffd}";
        assert_eq!(
            fs::read_to_string(&env).unwrap(),
            format!("{want_message}|{want_name}")
        );
        let got: Event = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(
            (got.message.as_str(), got.name.as_str()),
            (want_message, want_name)
        );
    }

    /// A hook that never reads its stdin, with an event larger than a pipe
    /// holds (64 KiB): writing it is under the time limit too, and the hook
    /// is ended at the limit, not when it chooses to exit.
    #[test]
    fn an_unread_stdin_does_not_outlast_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let h = hook(tmp.path(), "sleep 20");
        let mut e = event();
        // Over a pipe's 64 KiB, under what one variable may hold (128 KiB).
        e.message = "x".repeat(100 << 10);
        let t = Instant::now();
        let err = run(&h, &e, Duration::from_millis(500)).unwrap_err();
        assert!(err.starts_with("timed out after 0 s"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }

    /// A hook that reads all of a large event gets it whole, and one that
    /// exits without reading it has not failed.
    #[test]
    fn a_large_event_is_read_whole_or_left_unread() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let env = tmp.path().join("env");
        let h = hook(
            tmp.path(),
            &format!(
                "printf '%s' \"$SSI_MESSAGE\" > {}; sleep 0.2; cat > {}",
                env.display(),
                out.display()
            ),
        );
        let mut e = event();
        // Cleaned, 3 bytes each: over what one variable may hold.
        e.message = "\x01".repeat(1 << 20);
        run(&h, &e, Duration::from_secs(10)).unwrap();
        let got: Event = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(
            got.message,
            "\u{fffd}".repeat(1 << 20),
            "stdin has it whole"
        );
        let env = fs::read_to_string(&env).unwrap();
        assert_eq!(
            env,
            "\u{fffd}".repeat(MAX_ENV_VALUE / 3),
            "the environment, cut"
        );
        let h = hook(tmp.path(), "exit 0");
        run(&h, &e, Duration::from_secs(10)).unwrap();
    }
}

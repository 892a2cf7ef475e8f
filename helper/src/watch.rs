//! `ssi-status --watch`: the table redrawn in place whenever a script or a
//! log changes (inotify) or the terminal is resized, until Ctrl-C. Nothing
//! is re-read on a timer but once a minute, for what time alone changes
//! (lateness, the next run).

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::inotify::{self, WatchFlags};

/// How long a burst of changes (a run writing its line, an editor saving
/// a script) may take before the table is drawn: one redraw per burst.
const SETTLE: Duration = Duration::from_millis(100);
/// The longest the table goes without a redraw.
const REFRESH: Duration = Duration::from_secs(60);

/// Draws `frame()` (the table for the terminal's size at that moment),
/// then again after every change in `dirs`, until SIGINT or SIGTERM.
/// `frame` says its own failures inside the text it returns.
pub fn run(dirs: &[&Path], mut frame: impl FnMut() -> String) -> Result<(), String> {
    let signals = signals().map_err(|e| format!("cannot take signals: {e}"))?;
    let changes = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
        .map_err(|e| format!("cannot start inotify: {e}"))?;
    let mut watched = vec![false; dirs.len()];
    let tty = io::stdout().is_terminal();
    let mut out = io::stdout();
    let mut first = true;
    loop {
        // A directory that appears later (the log directory before the
        // first run) is watched from the next redraw on.
        for (dir, done) in dirs.iter().zip(watched.iter_mut()) {
            if !*done {
                *done = inotify::add_watch(&changes, *dir, interesting()).is_ok();
            }
        }
        let text = frame();
        let screen = if tty {
            in_place(&text, first)
        } else {
            text + "\n"
        };
        first = false;
        match out.write_all(screen.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(format!("cannot write output: {e}")),
        }
        match wait(&changes, &signals)? {
            Wake::Stop => return Ok(()),
            Wake::Redraw => {}
            Wake::Changed => {
                // Let the burst finish, then take all of it.
                std::thread::sleep(SETTLE);
                drain(&changes);
            }
        }
    }
}

/// What woke the loop.
enum Wake {
    /// Ctrl-C or SIGTERM.
    Stop,
    /// A resize, or time passing.
    Redraw,
    /// A script or a log changed.
    Changed,
}

/// Waits for a change, a signal, or [`REFRESH`].
fn wait(changes: &OwnedFd, signals: &SignalFd) -> Result<Wake, String> {
    let timeout = Timespec {
        tv_sec: REFRESH.as_secs() as i64,
        tv_nsec: 0,
    };
    let mut fds = [
        PollFd::new(changes, PollFlags::IN),
        PollFd::new(signals, PollFlags::IN),
    ];
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return Ok(Wake::Redraw),
        Err(e) => return Err(format!("cannot wait for changes: {e}")),
    }
    let changed = !fds[0].revents().is_empty();
    let signalled = !fds[1].revents().is_empty();
    if signalled {
        let mut stop = false;
        while let Ok(Some(info)) = signals.read_signal() {
            let sig = info.ssi_signo;
            stop |= sig == Signal::SIGINT as u32 || sig == Signal::SIGTERM as u32;
        }
        if stop {
            return Ok(Wake::Stop);
        }
    }
    if changed {
        drain(changes);
        return Ok(Wake::Changed);
    }
    Ok(Wake::Redraw)
}

/// Reads every pending inotify event: which file changed does not matter,
/// the whole table is read again.
fn drain(changes: &OwnedFd) {
    let mut buf = [0u8; 4096];
    while matches!(rustix::io::read(changes.as_fd(), &mut buf), Ok(n) if n > 0) {}
}

/// A script added, removed, replaced or chmod-ed; a line appended to a
/// log; a log rotated.
fn interesting() -> WatchFlags {
    WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MODIFY
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::ATTRIB
}

/// SIGINT, SIGTERM and SIGWINCH as a descriptor: blocked, so Ctrl-C ends
/// the loop (and the program exits 0) instead of killing it mid-frame.
fn signals() -> nix::Result<SignalFd> {
    let set: SigSet = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGWINCH]
        .into_iter()
        .collect();
    set.thread_block()?;
    SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
}

/// `text` drawn over the previous frame without clearing the screen first
/// (no flicker): cursor home, each line followed by erase-to-end-of-line,
/// then erase below. The first frame clears the screen.
fn in_place(text: &str, first: bool) -> String {
    let mut s = String::from(if first { "\x1b[H\x1b[2J" } else { "\x1b[H" });
    for line in text.lines() {
        s.push_str(line);
        s.push_str("\x1b[K\n");
    }
    s.push_str("\x1b[J");
    s
}

/// The table cut to a terminal of `height` lines, keeping the header and
/// the first rows and saying how many are left out, so the frame never
/// scrolls (scrolling would break drawing in place).
pub fn fit_height(table: &str, height: Option<usize>) -> String {
    let lines: Vec<&str> = table.lines().collect();
    let Some(h) = height.filter(|h| *h >= 3 && lines.len() > *h - 1) else {
        return table.to_owned();
    };
    let keep = h - 2;
    let mut out: String = lines[..keep].iter().map(|l| format!("{l}\n")).collect();
    out.push_str(&format!(
        "… {} more (ssi-status list shows all)\n",
        lines.len() - keep
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_drawn_in_place() {
        assert_eq!(
            in_place("a\nb\n", true),
            "\x1b[H\x1b[2Ja\x1b[K\nb\x1b[K\n\x1b[J"
        );
        assert_eq!(in_place("a\n", false), "\x1b[Ha\x1b[K\n\x1b[J");
    }

    #[test]
    fn tall_tables_are_cut_to_the_terminal() {
        let t = "H\n1\n2\n3\n4\n";
        assert_eq!(fit_height(t, None), t);
        assert_eq!(fit_height(t, Some(10)), t);
        // 5 lines, 4 rows of terminal: the frame (3 lines) leaves the
        // last line for the cursor.
        assert_eq!(
            fit_height(t, Some(4)),
            "H\n1\n… 3 more (ssi-status list shows all)\n"
        );
    }
}

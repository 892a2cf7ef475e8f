//! Messages on standard error that can never take the process down, with
//! their priority when standard error is the journal.
//!
//! `eprintln!` panics when stderr is gone (a closed pipe, a full disk
//! behind a redirect), and release builds abort on panic: a warning about
//! one bad log must not end the service. Lost messages are the lesser harm.
//!
//! Written here rather than with a logging crate: one line per message,
//! the sd-daemon(3) prefix, and nothing else is needed.

use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How bad a message is; the journal files it under this priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something failed: the program, or one connection, cannot go on.
    Error,
    /// Something is wrong and worked around (a log ignored, a rescan
    /// instead of events); an administrator should look.
    Warning,
    /// What happens as it should (listening, a reload, a report).
    Info,
}

impl Level {
    /// The sd-daemon(3) prefix: `<3>` error, `<4>` warning, `<6>` info.
    fn prefix(self) -> &'static str {
        match self {
            Level::Error => "<3>",
            Level::Warning => "<4>",
            Level::Info => "<6>",
        }
    }
}

/// Writes one line to standard error, ignoring any failure; with its
/// priority prefix when standard error is the journal.
pub fn line(level: Level, args: fmt::Arguments<'_>) {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    let journal = *JOURNAL.get_or_init(|| {
        let stream = std::env::var("JOURNAL_STREAM").ok();
        let stderr = rustix::fs::fstat(io::stderr())
            .ok()
            .map(|st| (st.st_dev, st.st_ino));
        is_journal(stream.as_deref(), stderr)
    });
    let prefix = if journal { level.prefix() } else { "" };
    let _ = writeln!(io::stderr().lock(), "{prefix}{args}");
}

/// Whether standard error, with this device and inode, is the journal:
/// systemd sets `JOURNAL_STREAM=<device>:<inode>` of the stream it
/// connects, and a program whose stderr was redirected since inherits the
/// variable but not the stream (systemd.exec(5)).
pub fn is_journal(journal_stream: Option<&str>, stderr: Option<(u64, u64)>) -> bool {
    let (Some(var), Some((dev, ino))) = (journal_stream, stderr) else {
        return false;
    };
    let Some((d, i)) = var.split_once(':') else {
        return false;
    };
    d.parse() == Ok(dev) && i.parse() == Ok(ino)
}

/// Lets a repeating warning through at most once per `every`, counting
/// what it held back, so a condition that lasts does not flood the journal.
pub struct Every {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl Every {
    /// A limiter letting one message through per `every`.
    pub fn new(every: Duration) -> Every {
        Every {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// `Some(n)` when a message may be written now, `n` being how many were
    /// held back since the last one; `None` to stay quiet.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_only_when_stderr_is_the_stream_systemd_named() {
        let me = Some((64769, 123456));
        assert!(is_journal(Some("64769:123456"), me));
        // Redirected since: the variable is inherited, the stream is not.
        assert!(!is_journal(Some("64769:123457"), me));
        assert!(!is_journal(Some("64768:123456"), me));
        assert!(!is_journal(None, me));
        assert!(!is_journal(Some("64769:123456"), None));
        assert!(!is_journal(Some("64769"), me));
        assert!(!is_journal(Some(""), me));
        assert!(!is_journal(Some("x:y"), me));
        assert_eq!(Level::Error.prefix(), "<3>");
        assert_eq!(Level::Warning.prefix(), "<4>");
        assert_eq!(Level::Info.prefix(), "<6>");
    }

    #[test]
    fn every_lets_one_through_per_period_and_counts_the_rest() {
        let mut e = Every::new(Duration::from_secs(60));
        let t = Instant::now();
        assert_eq!(e.allow(t), Some(0));
        assert_eq!(e.allow(t + Duration::from_secs(1)), None);
        assert_eq!(e.allow(t + Duration::from_secs(59)), None);
        assert_eq!(e.allow(t + Duration::from_secs(61)), Some(2));
        assert_eq!(e.allow(t + Duration::from_secs(62)), None);
    }
}

//! The `log` facade's backend for programs whose standard error is their
//! log: `ssi-broadcaster`, `ssi-status` and `ssi-run` call `log::error!`,
//! `log::warn!`, `log::info!` and this writes each record as one line on
//! standard error, with its priority prefix (sd-daemon(3): `<3>` error,
//! `<4>` warning, `<6>` info, `<7>` debug) when standard error is the
//! journal. (`ssi-generator` logs to the kernel log instead, with its own
//! backend.)
//!
//! It never fails and never panics: `eprintln!` panics when stderr is gone
//! (a closed pipe, a full disk behind a redirect), and release builds abort
//! on panic; a warning about one bad log must not end the service. Lost
//! messages are the lesser harm.
//!
//! Written here rather than with a logging backend crate (`systemd-journal-logger`
//! writes to the journal's socket, not to a redirectable stderr; `env_logger`
//! adds time stamps and colours the journal already has): one line per
//! record and the prefix is all that is needed.

use std::io::{self, Write};
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The backend: every record at or above the level set by [`init`], as
/// `<priority>{program}{message}`.
pub struct Journal {
    /// Put before every message (`"ssi-status: "`), or `""` when the
    /// messages name the program themselves.
    program: &'static str,
    /// Whether standard error is the journal (decided once).
    journal: OnceLock<bool>,
}

impl Journal {
    /// A backend whose lines start with `program` (after the priority).
    pub const fn new(program: &'static str) -> Journal {
        Journal {
            program,
            journal: OnceLock::new(),
        }
    }

    fn is_journal(&self) -> bool {
        *self.journal.get_or_init(|| {
            let stream = std::env::var("JOURNAL_STREAM").ok();
            let stderr = rustix::fs::fstat(io::stderr())
                .ok()
                .map(|st| (st.st_dev, st.st_ino));
            is_journal(stream.as_deref(), stderr)
        })
    }
}

impl Log for Journal {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let prefix = if self.is_journal() {
            prefix(record.level())
        } else {
            ""
        };
        let _ = writeln!(
            io::stderr().lock(),
            "{prefix}{}{}",
            self.program,
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Makes `backend` the program's logger, showing `level` and above. A
/// second call (a test that runs `main` twice) keeps the first logger.
pub fn init(backend: &'static Journal, level: LevelFilter) {
    if log::set_logger(backend).is_ok() {
        log::set_max_level(level);
    }
}

/// The sd-daemon(3) prefix of a level: the journal's priority.
pub fn prefix(level: Level) -> &'static str {
    match level {
        Level::Error => "<3>",
        Level::Warn => "<4>",
        Level::Info => "<6>",
        Level::Debug | Level::Trace => "<7>",
    }
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
        assert_eq!(prefix(Level::Error), "<3>");
        assert_eq!(prefix(Level::Warn), "<4>");
        assert_eq!(prefix(Level::Info), "<6>");
        assert_eq!(prefix(Level::Debug), "<7>");
    }
}

//! Logging in systemd's manner for a generator: to `/dev/kmsg` with a
//! priority prefix when run by systemd, to stderr otherwise, filtered by
//! `SYSTEMD_LOG_LEVEL` and routed by `SYSTEMD_LOG_TARGET`.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Mutex;

/// syslog priorities, as systemd names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// 3
    Err = 3,
    /// 4
    Warning = 4,
    /// 5
    Notice = 5,
    /// 6
    Info = 6,
    /// 7
    Debug = 7,
}

impl Level {
    /// Parses `SYSTEMD_LOG_LEVEL`: a name (`debug`, `info`, …) or `0`–`7`.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "0" | "1" | "2" | "3" | "emerg" | "alert" | "crit" | "err" => Level::Err,
            "4" | "warning" => Level::Warning,
            "5" | "notice" => Level::Notice,
            "6" | "info" => Level::Info,
            "7" | "debug" => Level::Debug,
            _ => return None,
        })
    }
}

enum Target {
    Stderr,
    Kmsg(Mutex<std::fs::File>),
}

/// Where messages go and which are shown.
pub struct Logger {
    program: String,
    max: Level,
    target: Target,
}

impl Logger {
    /// A logger configured from the environment the way systemd configures
    /// its generators: `SYSTEMD_SCOPE` set means we run under systemd, so
    /// messages go to the kernel log (and from there to the journal).
    pub fn from_env(program: &str) -> Logger {
        let max = std::env::var("SYSTEMD_LOG_LEVEL")
            .ok()
            .and_then(|v| Level::parse(&v))
            .unwrap_or(Level::Info);
        let want_kmsg = match std::env::var("SYSTEMD_LOG_TARGET").ok().as_deref() {
            Some("console") => false,
            Some("kmsg") => true,
            _ => std::env::var_os("SYSTEMD_SCOPE").is_some(),
        };
        let target = want_kmsg
            .then(|| OpenOptions::new().write(true).open("/dev/kmsg").ok())
            .flatten()
            .map_or(Target::Stderr, |f| Target::Kmsg(Mutex::new(f)));
        Logger {
            program: program.to_owned(),
            max,
            target,
        }
    }

    /// A logger to stderr at `max`, for tests.
    pub fn stderr(program: &str, max: Level) -> Logger {
        Logger {
            program: program.to_owned(),
            max,
            target: Target::Stderr,
        }
    }

    /// Logs `msg` at `level`.
    pub fn log(&self, level: Level, msg: &str) {
        if level > self.max {
            return;
        }
        match &self.target {
            Target::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{}: {msg}", self.program);
            }
            Target::Kmsg(f) => {
                // One write per record: the kernel takes each as one message.
                let line = kmsg_record(level, &self.program, std::process::id(), msg);
                if let Ok(mut f) = f.lock() {
                    let _ = f.write_all(line.as_bytes());
                }
            }
        }
    }

    /// An error.
    pub fn error(&self, msg: &str) {
        self.log(Level::Err, msg);
    }

    /// A warning: a script that was skipped.
    pub fn warning(&self, msg: &str) {
        self.log(Level::Warning, msg);
    }

    /// Every decision, for `SYSTEMD_LOG_LEVEL=debug`.
    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg);
    }
}

/// One kernel log record: `<priority>program[pid]: message`, which journald
/// turns into a journal entry with `SYSLOG_IDENTIFIER=program`.
fn kmsg_record(level: Level, program: &str, pid: u32, msg: &str) -> String {
    format!("<{}>{program}[{pid}]: {msg}\n", level as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(Level::parse("debug"), Some(Level::Debug));
        assert_eq!(Level::parse("7"), Some(Level::Debug));
        assert_eq!(Level::parse(" WARNING "), Some(Level::Warning));
        assert_eq!(Level::parse("crit"), Some(Level::Err));
        assert_eq!(Level::parse("loud"), None);
    }

    #[test]
    fn kmsg_format() {
        assert_eq!(
            kmsg_record(
                Level::Warning,
                "ssi-generator",
                42,
                "/x.sh: not executable, ignoring."
            ),
            "<4>ssi-generator[42]: /x.sh: not executable, ignoring.\n"
        );
    }
}

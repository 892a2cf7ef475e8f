//! The `log` facade's backend for a generator, in systemd's manner: when
//! run by systemd, to `/dev/kmsg` with a priority prefix (journald reads it
//! back), or straight to the journal where there is no kernel log (in a
//! container); to stderr otherwise. Filtered by `SYSTEMD_LOG_LEVEL`, routed
//! by `SYSTEMD_LOG_TARGET`. The generator calls `log::error!`,
//! `log::warn!` and `log::debug!`; [`init`] installs this.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use log::{LevelFilter, Log, Metadata, Record};

/// journald's native protocol socket.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

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

    /// The journal priority of a `log` level.
    fn of(level: log::Level) -> Level {
        match level {
            log::Level::Error => Level::Err,
            log::Level::Warn => Level::Warning,
            log::Level::Info => Level::Info,
            log::Level::Debug | log::Level::Trace => Level::Debug,
        }
    }

    /// The most verbose `log` level shown at this priority (nothing is
    /// logged at notice, so notice shows what warning shows).
    fn filter(self) -> LevelFilter {
        match self {
            Level::Err => LevelFilter::Error,
            Level::Warning | Level::Notice => LevelFilter::Warn,
            Level::Info => LevelFilter::Info,
            Level::Debug => LevelFilter::Debug,
        }
    }
}

enum Target {
    Stderr,
    Kmsg(Mutex<std::fs::File>),
    Journal(UnixDatagram),
}

/// The kernel log, if this system has a real one: in a container
/// `/dev/kmsg` is missing, or a FIFO nobody reads, where a write could block.
fn open_kmsg() -> Option<Target> {
    let meta = std::fs::metadata("/dev/kmsg").ok()?;
    if !meta.file_type().is_char_device() {
        return None;
    }
    let f = OpenOptions::new().write(true).open("/dev/kmsg").ok()?;
    Some(Target::Kmsg(Mutex::new(f)))
}

/// journald's socket, non-blocking: a generator must never wait on the
/// journal (at boot it may not run yet; a lost message beats a hung boot).
fn open_journal() -> Option<Target> {
    if !Path::new(JOURNAL_SOCKET).exists() {
        return None;
    }
    let sock = UnixDatagram::unbound().ok()?;
    sock.set_nonblocking(true).ok()?;
    sock.connect(JOURNAL_SOCKET).ok()?;
    Some(Target::Journal(sock))
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
        let target = match std::env::var("SYSTEMD_LOG_TARGET").ok().as_deref() {
            Some("console") => None,
            Some("kmsg") => open_kmsg(),
            Some("journal") => open_journal(),
            _ if std::env::var_os("SYSTEMD_SCOPE").is_some() => open_kmsg().or_else(open_journal),
            _ => None,
        }
        .unwrap_or(Target::Stderr);
        Logger {
            program: program.to_owned(),
            max,
            target,
        }
    }

    /// Writes `msg` at `level`, unless the level is filtered out.
    fn write(&self, level: Level, msg: &str) {
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
            Target::Journal(sock) => {
                let _ = sock.send(&journal_record(level, &self.program, msg));
            }
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        Level::of(metadata.level()) <= self.max
    }

    fn log(&self, record: &Record<'_>) {
        self.write(Level::of(record.level()), &record.args().to_string());
    }

    fn flush(&self) {}
}

/// Makes the logger configured from the environment ([`Logger::from_env`])
/// the program's `log` backend.
pub fn init(program: &str) {
    static LOGGER: OnceLock<Logger> = OnceLock::new();
    let logger = LOGGER.get_or_init(|| Logger::from_env(program));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(logger.max.filter());
    }
}

/// One kernel log record: `<priority>program[pid]: message`, which journald
/// turns into a journal entry with `SYSLOG_IDENTIFIER=program`.
fn kmsg_record(level: Level, program: &str, pid: u32, msg: &str) -> String {
    format!("<{}>{program}[{pid}]: {msg}\n", level as u8)
}

/// One native journal entry: `KEY=value` lines, or for a value holding a
/// newline, `KEY`, its length as little-endian u64, the bytes, a newline.
fn journal_record(level: Level, program: &str, msg: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 64);
    for (key, value) in [
        ("PRIORITY", (level as u8).to_string().as_str()),
        ("SYSLOG_IDENTIFIER", program),
        ("MESSAGE", msg),
    ] {
        out.extend_from_slice(key.as_bytes());
        if value.contains('\n') {
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        } else {
            out.push(b'=');
        }
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_format() {
        assert_eq!(
            journal_record(Level::Warning, "ssi-generator", "/x.sh: bad, ignoring."),
            b"PRIORITY=4\nSYSLOG_IDENTIFIER=ssi-generator\nMESSAGE=/x.sh: bad, ignoring.\n"
                .to_vec()
        );
        let rec = journal_record(Level::Err, "g", "a\nb");
        assert!(
            rec.ends_with(b"MESSAGE\n\x03\0\0\0\0\0\0\0a\nb\n"),
            "{rec:?}"
        );
    }

    #[test]
    fn journal_target_sends_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.connect(&path).unwrap();
        let log = Logger {
            program: "ssi-generator".to_owned(),
            max: Level::Info,
            target: Target::Journal(client),
        };
        let record = |level, msg| {
            log.log(
                &Record::builder()
                    .level(level)
                    .args(format_args!("{msg}"))
                    .build(),
            )
        };
        record(log::Level::Debug, "not shown at info");
        record(log::Level::Warn, "/x.sh: bad, ignoring.");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            b"PRIORITY=4\nSYSLOG_IDENTIFIER=ssi-generator\nMESSAGE=/x.sh: bad, ignoring.\n"
        );
        server.set_nonblocking(true).unwrap();
        assert!(
            server.recv(&mut buf).is_err(),
            "the debug line was filtered out"
        );
    }

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

//! Command line and environment: what the broadcaster was asked to do.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default listen address: loopback only, so nothing is exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5000";
/// Default maximum number of WebSocket clients.
pub const DEFAULT_MAX_CLIENTS: usize = 256;

/// The usage text printed by `--help`.
pub const USAGE: &str = "\
Usage: ssi-broadcaster [OPTIONS]

Tails the Service Status Indicator logs and streams every status change to
WebSocket clients; serves a live dashboard page on the same port.

Options:
      --listen ADDR:PORT     address to listen on [default: 127.0.0.1:5000]
                             (ignored under systemd socket activation)
      --allow-origin ORIGIN  also accept this browser Origin, e.g.
                             https://status.example.com (repeatable)
      --allow-host HOST      also accept this Host header, e.g.
                             status.example.com (repeatable)
      --max-clients N        maximum number of WebSocket clients [default: 256]
      --log-dir DIR          log directory [env: SSI_LOG_DIR]
                             [default: /var/log/service-status-indicator]
      --scripts-dir DIR      check scripts directory [env: SSI_SCRIPTS_DIR]
                             [default: /usr/local/bin/service-status-indicator]
      --push URL             also report to the collector at this ws:// or
                             wss:// URL (repeatable); see ssi-broadcaster(8)
      --push-ca FILE         also trust the CA certificates in this PEM file
      --push-key-file FILE   the agent key, appended to each --push URL
                             [default: $CREDENTIALS_DIRECTORY/push-key]
      --push-history         after an outage send every status line missed,
                             not only each service's latest (for collectors
                             that keep history)
      --no-listen            open no port: only report to the collectors
  -h, --help                 print this help
  -V, --version              print the version
";

/// What `main` should do.
#[derive(Debug)]
pub enum Command {
    /// Print the usage text.
    Help,
    /// Print the version.
    Version,
    /// Run the broadcaster (boxed: the other variants are empty).
    Run(Box<Opts>),
}

/// Everything the broadcaster needs to run.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Where to listen unless a socket is passed by systemd.
    pub listen: SocketAddr,
    /// Extra accepted `Origin` values, lowercased, without a trailing `/`.
    pub allow_origins: Vec<String>,
    /// Extra accepted `Host` values, lowercased.
    pub allow_hosts: Vec<String>,
    /// Maximum number of WebSocket clients at once.
    pub max_clients: usize,
    /// The log directory to tail.
    pub log_dir: PathBuf,
    /// The check scripts directory to watch.
    pub scripts_dir: PathBuf,
    /// Intervals and limits (tests shorten them).
    pub tuning: Tuning,
    /// Remote collectors to report to.
    pub push: crate::push::PushOpts,
    /// Open no listening socket (`--no-listen`).
    pub no_listen: bool,
}

/// Timing and size knobs. Production values are the defaults; the
/// `SSI_BROADCASTER_*` environment variables exist so that the integration
/// tests can exercise pings, rescans and lag without waiting minutes, and
/// the limits (queue bytes, pending connections) are documented in the
/// manual for unusual installs.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// How often each client is pinged; a client silent for three intervals is dropped.
    pub ping_interval: Duration,
    /// How long a client may take to send its HTTP request.
    pub handshake_timeout: Duration,
    /// The slow safety rescan of both directories (catches missed events).
    pub rescan_interval: Duration,
    /// How many messages a client may fall behind before it is closed.
    pub queue_len: usize,
    /// How many bytes of messages the queue holds at most: beyond, the
    /// oldest go and the clients that still needed them are closed.
    pub queue_bytes: usize,
    /// Connections still sending their request head, at most.
    pub max_pending: usize,
    /// Connections still sending their request head from one source
    /// address (IPv6: one /64), at most.
    pub max_pending_per_source: usize,
    /// Ignore inotify events entirely (tests prove the safety rescan alone suffices).
    pub ignore_events: bool,
    /// Pretend this many attempts to set up inotify fail, as when the
    /// user's inotify instances are exhausted (tests of the recovery).
    pub inotify_failures: u32,
    /// How long one `systemctl show` for run durations may take.
    pub systemctl_timeout: Duration,
    /// How long a check whose run has not ended is left before systemd is
    /// asked for it again.
    pub runs_retry: Duration,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            ping_interval: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(5),
            rescan_interval: Duration::from_secs(60),
            queue_len: 32 * 1024,
            queue_bytes: 64 << 20,
            max_pending: 64,
            max_pending_per_source: 16,
            ignore_events: false,
            inotify_failures: 0,
            systemctl_timeout: crate::runs::TIMEOUT,
            runs_retry: crate::runs::RETRY,
        }
    }
}

impl Tuning {
    /// The defaults, overridden by the hidden test variables when set.
    pub fn from_env() -> Tuning {
        let mut t = Tuning::default();
        let ms = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|&v| v > 0)
        };
        if let Some(v) = ms("SSI_BROADCASTER_PING_MS") {
            t.ping_interval = Duration::from_millis(v);
        }
        if let Some(v) = ms("SSI_BROADCASTER_HANDSHAKE_MS") {
            t.handshake_timeout = Duration::from_millis(v);
        }
        if let Some(v) = ms("SSI_BROADCASTER_RESCAN_MS") {
            t.rescan_interval = Duration::from_millis(v);
        }
        if let Some(v) = ms("SSI_BROADCASTER_QUEUE") {
            t.queue_len = v as usize;
        }
        if let Some(v) = ms("SSI_BROADCASTER_QUEUE_BYTES") {
            t.queue_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = ms("SSI_BROADCASTER_MAX_PENDING") {
            t.max_pending = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = ms("SSI_BROADCASTER_MAX_PENDING_PER_SOURCE") {
            t.max_pending_per_source = usize::try_from(v).unwrap_or(usize::MAX);
        }
        t.ignore_events = std::env::var_os("SSI_BROADCASTER_IGNORE_EVENTS").is_some();
        if let Some(v) = ms("SSI_BROADCASTER_INOTIFY_FAILURES") {
            t.inotify_failures = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = ms("SSI_BROADCASTER_SYSTEMCTL_TIMEOUT_MS") {
            t.systemctl_timeout = Duration::from_millis(v);
        }
        if let Some(v) = ms("SSI_BROADCASTER_RUNS_RETRY_MS") {
            t.runs_retry = Duration::from_millis(v);
        }
        t
    }
}

/// A command line error: the message after `ssi-broadcaster: `.
#[derive(Debug)]
pub struct UsageError(pub String);

/// Parses the arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;

    let dirs = ssi::dirs::Dirs::from_env();
    let mut listen = None;
    let mut allow_origins = Vec::new();
    let mut allow_hosts = Vec::new();
    let mut max_clients = DEFAULT_MAX_CLIENTS;
    let mut log_dir = dirs.logs;
    let mut scripts_dir = dirs.scripts;
    let mut push = crate::push::PushOpts::default();
    let mut no_listen = false;

    let mut parser = lexopt::Parser::from_args(args);
    let err = |e: lexopt::Error| UsageError(e.to_string());
    while let Some(arg) = parser.next().map_err(err)? {
        match arg {
            Long("help") | Short('h') => return Ok(Command::Help),
            Long("version") | Short('V') => return Ok(Command::Version),
            Long("listen") => {
                let v = string_value(&mut parser, "--listen")?;
                listen = Some(parse_listen(&v)?);
            }
            Long("allow-origin") => {
                let v = string_value(&mut parser, "--allow-origin")?;
                allow_origins.push(parse_origin(&v)?);
            }
            Long("allow-host") => {
                let v = string_value(&mut parser, "--allow-host")?;
                allow_hosts.push(parse_host(&v)?);
            }
            Long("max-clients") => {
                let v = string_value(&mut parser, "--max-clients")?;
                max_clients = match v.parse::<usize>() {
                    Ok(n) if (1..=100_000).contains(&n) => n,
                    _ => {
                        return Err(UsageError(format!(
                            "--max-clients {v:?}: expected a number from 1 to 100000"
                        )))
                    }
                };
            }
            Long("log-dir") => log_dir = dir_value(&mut parser, "--log-dir")?,
            Long("scripts-dir") => scripts_dir = dir_value(&mut parser, "--scripts-dir")?,
            Long("push") => {
                let v = string_value(&mut parser, "--push")?;
                crate::push::check_url(&v).map_err(UsageError)?;
                push.urls.push(v);
            }
            Long("push-ca") => push.ca = Some(dir_value(&mut parser, "--push-ca")?),
            Long("push-history") => push.history = true,
            Long("push-key-file") => {
                push.key_file = Some(dir_value(&mut parser, "--push-key-file")?);
            }
            Long("no-listen") => no_listen = true,
            Value(v) => {
                return Err(UsageError(format!(
                    "unexpected argument {:?}; see --help",
                    v.to_string_lossy()
                )))
            }
            _ => return Err(UsageError(format!("{}; see --help", arg.unexpected()))),
        }
    }
    if push.urls.is_empty() {
        let needs_push = [
            (no_listen, "--no-listen"),
            (push.ca.is_some(), "--push-ca"),
            (push.key_file.is_some(), "--push-key-file"),
            (push.history, "--push-history"),
        ];
        if let Some((_, name)) = needs_push.iter().find(|(given, _)| *given) {
            return Err(UsageError(format!("{name} needs at least one --push URL")));
        }
    }
    if no_listen && listen.is_some() {
        return Err(UsageError(
            "--listen and --no-listen exclude each other".into(),
        ));
    }
    let listen = match listen {
        Some(l) => l,
        None => parse_listen(DEFAULT_LISTEN)?,
    };
    Ok(Command::Run(Box::new(Opts {
        listen,
        allow_origins,
        allow_hosts,
        max_clients,
        log_dir,
        scripts_dir,
        tuning: Tuning::from_env(),
        push,
        no_listen,
    })))
}

fn string_value(parser: &mut lexopt::Parser, name: &str) -> Result<String, UsageError> {
    let v = parser
        .value()
        .map_err(|_| UsageError(format!("{name}: missing value; see --help")))?;
    v.into_string()
        .map_err(|v| UsageError(format!("{name} {v:?}: not valid UTF-8")))
}

fn dir_value(parser: &mut lexopt::Parser, name: &str) -> Result<PathBuf, UsageError> {
    let v = parser
        .value()
        .map_err(|_| UsageError(format!("{name}: missing value; see --help")))?;
    if v.is_empty() {
        return Err(UsageError(format!("{name} \"\": expected a directory")));
    }
    Ok(PathBuf::from(v))
}

/// `ADDR:PORT` with a literal IP address (`[::1]:5000` for IPv6); no name
/// lookups, so what is checked is what gets bound.
pub fn parse_listen(v: &str) -> Result<SocketAddr, UsageError> {
    v.parse::<SocketAddr>().map_err(|_| {
        UsageError(format!(
            "--listen {v:?}: expected ADDR:PORT with an IP address, e.g. 127.0.0.1:5000 or [::1]:5000"
        ))
    })
}

/// A browser origin: `scheme://host[:port]`, compared case-insensitively.
fn parse_origin(v: &str) -> Result<String, UsageError> {
    let o = v.trim_end_matches('/').to_ascii_lowercase();
    let ok = match o.split_once("://") {
        Some((scheme, rest)) => {
            matches!(scheme, "http" | "https")
                && !rest.is_empty()
                && !rest.contains(['/', '?', '#', ' ', '@'])
        }
        None => false,
    };
    if ok {
        Ok(o)
    } else {
        Err(UsageError(format!(
            "--allow-origin {v:?}: expected an origin like https://status.example.com"
        )))
    }
}

/// A `Host` header value: a name or address, optionally with `:PORT`.
fn parse_host(v: &str) -> Result<String, UsageError> {
    let h = v.to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c));
    if ok {
        Ok(h)
    } else {
        Err(UsageError(format!(
            "--allow-host {v:?}: expected a host name like status.example.com"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Opts, String> {
        match parse(args.iter().map(OsString::from)) {
            Ok(Command::Run(o)) => Ok(*o),
            Ok(other) => Err(format!("{other:?}")),
            Err(UsageError(e)) => Err(e),
        }
    }

    #[test]
    fn defaults() {
        let o = run(&[]).unwrap();
        assert_eq!(o.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(o.max_clients, 256);
    }

    #[test]
    fn options() {
        let o = run(&[
            "--listen",
            "[::1]:0",
            "--allow-origin",
            "HTTPS://Status.Example.com/",
            "--allow-host=status.example.com",
            "--max-clients",
            "3",
            "--log-dir",
            "/l",
            "--scripts-dir",
            "/s",
        ])
        .unwrap();
        assert_eq!(o.listen.to_string(), "[::1]:0");
        assert_eq!(o.allow_origins, ["https://status.example.com"]);
        assert_eq!(o.allow_hosts, ["status.example.com"]);
        assert_eq!(o.max_clients, 3);
        assert_eq!(o.log_dir, PathBuf::from("/l"));
        assert_eq!(o.scripts_dir, PathBuf::from("/s"));
    }

    #[test]
    fn errors_name_the_value() {
        assert_eq!(
            run(&["--listen", "abc"]).unwrap_err(),
            "--listen \"abc\": expected ADDR:PORT with an IP address, e.g. 127.0.0.1:5000 or [::1]:5000"
        );
        assert_eq!(
            run(&["--max-clients", "0"]).unwrap_err(),
            "--max-clients \"0\": expected a number from 1 to 100000"
        );
        assert!(run(&["--allow-origin", "example.com"])
            .unwrap_err()
            .starts_with("--allow-origin \"example.com\""));
        assert!(run(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert!(run(&["--listen"]).unwrap_err().contains("missing value"));
    }

    #[test]
    fn push_options() {
        let o = run(&[
            "--push",
            "wss://a.example/ws/agent/",
            "--push=ws://127.0.0.1:9/",
            "--push-ca",
            "/ca.pem",
            "--push-key-file",
            "/key",
            "--no-listen",
        ])
        .unwrap();
        assert_eq!(
            o.push.urls,
            ["wss://a.example/ws/agent/", "ws://127.0.0.1:9/"]
        );
        assert_eq!(o.push.ca, Some(PathBuf::from("/ca.pem")));
        assert_eq!(o.push.key_file, Some(PathBuf::from("/key")));
        assert!(o.no_listen);
        assert!(!o.push.history);
        assert!(
            run(&["--push", "ws://h/", "--push-history"])
                .unwrap()
                .push
                .history
        );
        assert_eq!(
            run(&["--push-history"]).unwrap_err(),
            "--push-history needs at least one --push URL"
        );
        assert!(!run(&[]).unwrap().no_listen);
        assert_eq!(
            run(&["--no-listen"]).unwrap_err(),
            "--no-listen needs at least one --push URL"
        );
        assert_eq!(
            run(&["--push-key-file", "/k"]).unwrap_err(),
            "--push-key-file needs at least one --push URL"
        );
        assert_eq!(
            run(&[
                "--push",
                "ws://h/",
                "--no-listen",
                "--listen",
                "127.0.0.1:1"
            ])
            .unwrap_err(),
            "--listen and --no-listen exclude each other"
        );
        assert!(run(&["--push", "https://h/"])
            .unwrap_err()
            .starts_with("--push \"https://h/\": expected a ws:// or wss:// URL"));
    }
}

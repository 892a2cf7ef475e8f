//! Step 0, what the broadcaster was asked to do: every command-line option
//! and every `SSI_BROADCASTER_*` knob, each declared once in a table
//! ([`FLAGS`], [`KNOBS`]) from which the parser, the `--help` text and the
//! environment reading all come; a test holds the tables and the manual
//! page together. Imports nothing of the crate: every other module may use
//! it.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default listen address: loopback only, so nothing is exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5000";
/// Default maximum number of WebSocket clients.
pub const DEFAULT_MAX_CLIENTS: usize = 256;
/// How long one `systemctl show` for run durations may take before it is
/// killed, by default.
pub const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a check whose run did not end yet waits before systemd is asked
/// for it again, by default.
pub const RUNS_RETRY: Duration = Duration::from_secs(3);

/// What `--help` says before the options.
const ABOUT: &str = "\
Usage: ssi-broadcaster [OPTIONS]

Tails the Service Status Indicator logs and streams every status change to
WebSocket clients; serves a live dashboard page on the same port.

Options:
";

/// One command-line option.
pub struct Flag {
    /// The name after `--`.
    pub long: &'static str,
    /// The one-letter form, if any.
    pub short: Option<char>,
    /// The value's name in the help, for an option that takes one.
    pub value: Option<&'static str>,
    /// The help text; each `\n` starts a continuation line.
    pub help: &'static str,
    action: Action,
}

/// What giving an option does.
enum Action {
    Help,
    Version,
    /// An option without a value.
    Switch(fn(&mut Draft)),
    /// An option with a value (its name, for messages, and the value).
    Value(fn(&mut Draft, &str, OsString) -> Result<(), UsageError>),
}

/// Every option, in the order `--help` lists them.
pub const FLAGS: &[Flag] = &[
    Flag {
        long: "listen",
        short: None,
        value: Some("ADDR:PORT"),
        help: "address to listen on [default: 127.0.0.1:5000]\n(ignored under systemd socket activation)",
        action: Action::Value(|d, name, v| {
            d.listen = Some(parse_listen(&string(name, v)?)?);
            Ok(())
        }),
    },
    Flag {
        long: "allow-origin",
        short: None,
        value: Some("ORIGIN"),
        help: "also accept this browser Origin, e.g.\nhttps://status.example.com (repeatable)",
        action: Action::Value(|d, name, v| {
            d.allow_origins.push(parse_origin(&string(name, v)?)?);
            Ok(())
        }),
    },
    Flag {
        long: "allow-host",
        short: None,
        value: Some("HOST"),
        help: "also accept this Host header, e.g.\nstatus.example.com (repeatable)",
        action: Action::Value(|d, name, v| {
            d.allow_hosts.push(parse_host(&string(name, v)?)?);
            Ok(())
        }),
    },
    Flag {
        long: "max-clients",
        short: None,
        value: Some("N"),
        help: "maximum number of WebSocket clients [default: 256]",
        action: Action::Value(|d, name, v| {
            let v = string(name, v)?;
            d.max_clients = match v.parse::<usize>() {
                Ok(n) if (1..=100_000).contains(&n) => Some(n),
                _ => {
                    return Err(UsageError(format!(
                        "{name} {v:?}: expected a number from 1 to 100000"
                    )))
                }
            };
            Ok(())
        }),
    },
    Flag {
        long: "log-dir",
        short: None,
        value: Some("DIR"),
        help: "log directory [env: SSI_LOG_DIR]\n[default: /var/log/service-status-indicator]",
        action: Action::Value(|d, name, v| {
            d.log_dir = Some(path(name, v)?);
            Ok(())
        }),
    },
    Flag {
        long: "scripts-dir",
        short: None,
        value: Some("DIR"),
        help: "check scripts directory [env: SSI_SCRIPTS_DIR]\n[default: /usr/local/bin/service-status-indicator]",
        action: Action::Value(|d, name, v| {
            d.scripts_dir = Some(path(name, v)?);
            Ok(())
        }),
    },
    Flag {
        long: "push",
        short: None,
        value: Some("URL"),
        help: "also report to the collector at this ws:// or\nwss:// URL (repeatable); see ssi-broadcaster(8)",
        action: Action::Value(|d, name, v| {
            let v = string(name, v)?;
            check_url(&v).map_err(UsageError)?;
            d.push.urls.push(v);
            Ok(())
        }),
    },
    Flag {
        long: "push-ca",
        short: None,
        value: Some("FILE"),
        help: "also trust the CA certificates in this PEM file",
        action: Action::Value(|d, name, v| {
            d.push.ca = Some(path(name, v)?);
            Ok(())
        }),
    },
    Flag {
        long: "push-key-file",
        short: None,
        value: Some("FILE"),
        help: "the agent key, appended to each --push URL\n[default: $CREDENTIALS_DIRECTORY/push-key]",
        action: Action::Value(|d, name, v| {
            d.push.key_file = Some(path(name, v)?);
            Ok(())
        }),
    },
    Flag {
        long: "push-history",
        short: None,
        value: None,
        help: "after an outage send every status line missed,\nnot only each service's latest (for collectors\nthat keep history)",
        action: Action::Switch(|d| d.push.history = true),
    },
    Flag {
        long: "no-listen",
        short: None,
        value: None,
        help: "open no port: only report to the collectors",
        action: Action::Switch(|d| d.no_listen = true),
    },
    Flag {
        long: "help",
        short: Some('h'),
        value: None,
        help: "print this help",
        action: Action::Help,
    },
    Flag {
        long: "version",
        short: Some('V'),
        value: None,
        help: "print the version",
        action: Action::Version,
    },
];

/// The usage text printed by `--help`, made from [`FLAGS`].
pub fn usage() -> String {
    let mut out = String::from(ABOUT);
    for f in FLAGS {
        let lead = match f.short {
            Some(c) => format!("  -{c}, "),
            None => String::from("      "),
        };
        let name = match f.value {
            Some(v) => format!("--{} {v}", f.long),
            None => format!("--{}", f.long),
        };
        let mut lines = f.help.lines();
        out.push_str(&format!(
            "{lead}{name:<21}  {}\n",
            lines.next().unwrap_or("")
        ));
        for more in lines {
            out.push_str(&format!("{:29}{more}\n", ""));
        }
    }
    out
}

/// One `SSI_BROADCASTER_*` environment variable: timings and limits whose
/// production values are the defaults. Most exist so that the integration
/// tests can exercise pings, rescans, lag and reconnects without waiting
/// minutes; the limits documented in the manual are for unusual installs.
pub struct Knob {
    /// The variable.
    pub var: &'static str,
    /// Whether the manual documents it (the others are for tests only):
    /// the manual-page test holds this to what the manual says.
    #[cfg_attr(not(test), allow(dead_code))]
    pub documented: bool,
    set: Setting,
}

/// How a knob's value is read: a whole number above zero (otherwise the
/// default stays), or only whether the variable is set.
enum Setting {
    Millis(fn(&mut Knobs, Duration)),
    Number(fn(&mut Knobs, u64)),
    Present(fn(&mut Knobs)),
}

/// What the knobs set.
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    /// The port's and the source's.
    pub tuning: Tuning,
    /// The push sink's.
    pub push: Timing,
}

/// `usize` from a knob's number, saturating.
fn size(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Every knob.
pub const KNOBS: &[Knob] = &[
    // How often each WebSocket client is pinged.
    Knob {
        var: "SSI_BROADCASTER_PING_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.tuning.ping_interval = d),
    },
    // How long a connection may take to send its request.
    Knob {
        var: "SSI_BROADCASTER_HANDSHAKE_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.tuning.handshake_timeout = d),
    },
    // The safety rescan of both directories.
    Knob {
        var: "SSI_BROADCASTER_RESCAN_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.tuning.rescan_interval = d),
    },
    // Messages a client may fall behind.
    Knob {
        var: "SSI_BROADCASTER_QUEUE",
        documented: false,
        set: Setting::Number(|k, n| k.tuning.queue_len = size(n)),
    },
    // The queue's size limit in bytes.
    Knob {
        var: "SSI_BROADCASTER_QUEUE_BYTES",
        documented: true,
        set: Setting::Number(|k, n| k.tuning.queue_bytes = size(n)),
    },
    // Connections sending their request head at once.
    Knob {
        var: "SSI_BROADCASTER_MAX_PENDING",
        documented: true,
        set: Setting::Number(|k, n| k.tuning.max_pending = size(n)),
    },
    // Of these, from one source address.
    Knob {
        var: "SSI_BROADCASTER_MAX_PENDING_PER_SOURCE",
        documented: true,
        set: Setting::Number(|k, n| k.tuning.max_pending_per_source = size(n)),
    },
    // Ignore inotify events (the rescan alone must do).
    Knob {
        var: "SSI_BROADCASTER_IGNORE_EVENTS",
        documented: false,
        set: Setting::Present(|k| k.tuning.ignore_events = true),
    },
    // Pretend this many inotify set-ups fail.
    Knob {
        var: "SSI_BROADCASTER_INOTIFY_FAILURES",
        documented: false,
        set: Setting::Number(|k, n| {
            k.tuning.inotify_failures = u32::try_from(n).unwrap_or(u32::MAX)
        }),
    },
    // How long one systemctl show for run durations may take.
    Knob {
        var: "SSI_BROADCASTER_SYSTEMCTL_TIMEOUT_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.tuning.systemctl_timeout = d),
    },
    // How long before a run not ended yet is asked for again.
    Knob {
        var: "SSI_BROADCASTER_RUNS_RETRY_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.tuning.runs_retry = d),
    },
    // The push sink's first retries' wait.
    Knob {
        var: "SSI_BROADCASTER_PUSH_RETRY_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.push.retry = d),
    },
    // The push sink's longest wait between attempts.
    Knob {
        var: "SSI_BROADCASTER_PUSH_RETRY_MAX_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.push.retry_max = d),
    },
    // The push sink's ping interval.
    Knob {
        var: "SSI_BROADCASTER_PUSH_PING_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.push.ping = d),
    },
    // The push sink's connect, tls and upgrade time limit.
    Knob {
        var: "SSI_BROADCASTER_PUSH_HANDSHAKE_MS",
        documented: false,
        set: Setting::Millis(|k, d| k.push.handshake = d),
    },
    // Status lines held per collector.
    Knob {
        var: "SSI_BROADCASTER_PUSH_HOLD",
        documented: false,
        set: Setting::Number(|k, n| k.push.hold = size(n)),
    },
    // Bytes of events held per collector.
    Knob {
        var: "SSI_BROADCASTER_PUSH_HOLD_BYTES",
        documented: false,
        set: Setting::Number(|k, n| k.push.hold_bytes = size(n)),
    },
];

impl Knobs {
    /// The defaults, overridden by each knob that is set.
    pub fn from_env() -> Knobs {
        Knobs::from_vars(|var| std::env::var_os(var))
    }

    /// The defaults, overridden by each knob `get` returns a value for.
    fn from_vars(get: impl Fn(&str) -> Option<OsString>) -> Knobs {
        let mut k = Knobs::default();
        for knob in KNOBS {
            let value = get(knob.var);
            let number = || {
                value
                    .as_ref()
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|&v| v > 0)
            };
            match knob.set {
                Setting::Millis(set) => {
                    if let Some(n) = number() {
                        set(&mut k, Duration::from_millis(n));
                    }
                }
                Setting::Number(set) => {
                    if let Some(n) = number() {
                        set(&mut k, n);
                    }
                }
                Setting::Present(set) => {
                    if value.is_some() {
                        set(&mut k);
                    }
                }
            }
        }
        k
    }
}

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
    pub push: PushOpts,
    /// The push sink's timings and bounds.
    pub push_timing: Timing,
    /// Open no listening socket (`--no-listen`).
    pub no_listen: bool,
}

/// The options as they are read, before the checks that need them all.
#[derive(Default)]
struct Draft {
    listen: Option<SocketAddr>,
    allow_origins: Vec<String>,
    allow_hosts: Vec<String>,
    max_clients: Option<usize>,
    log_dir: Option<PathBuf>,
    scripts_dir: Option<PathBuf>,
    push: PushOpts,
    no_listen: bool,
}

/// Timing and size knobs of the port and the source; set by [`KNOBS`].
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
            systemctl_timeout: SYSTEMCTL_TIMEOUT,
            runs_retry: RUNS_RETRY,
        }
    }
}

/// What `--push`, `--push-ca`, `--push-key-file` and `--push-history` asked for.
#[derive(Debug, Clone, Default)]
pub struct PushOpts {
    /// Collector URLs (checked by `check_url`), without the key.
    pub urls: Vec<String>,
    /// A PEM file of extra trusted CA certificates.
    pub ca: Option<PathBuf>,
    /// The file holding the agent key.
    pub key_file: Option<PathBuf>,
    /// After an outage send every held line, not only each service's latest.
    pub history: bool,
}

/// The push sink's timings and bounds. The defaults are the upstream
/// agent's; the `SSI_BROADCASTER_PUSH_*` knobs exist so tests need not
/// wait minutes.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The first retries' wait (`SSI_BROADCASTER_PUSH_RETRY_MS`).
    pub retry: Duration,
    /// The longest wait between attempts (`SSI_BROADCASTER_PUSH_RETRY_MAX_MS`).
    pub retry_max: Duration,
    /// Ping interval; no pong for two of them ends the connection
    /// (`SSI_BROADCASTER_PUSH_PING_MS`).
    pub ping: Duration,
    /// Connecting, TLS and the HTTP upgrade together, at most
    /// (`SSI_BROADCASTER_PUSH_HANDSHAKE_MS`).
    pub handshake: Duration,
    /// Status lines held per collector, at most (`SSI_BROADCASTER_PUSH_HOLD`).
    pub hold: usize,
    /// Bytes of events held per collector, at most
    /// (`SSI_BROADCASTER_PUSH_HOLD_BYTES`).
    pub hold_bytes: usize,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            retry: Duration::from_secs(5),
            retry_max: Duration::from_secs(30),
            ping: Duration::from_secs(30),
            handshake: Duration::from_secs(10),
            hold: 10_000,
            hold_bytes: 16 << 20,
        }
    }
}

/// A command line error: the message after `ssi-broadcaster: `.
#[derive(Debug)]
pub struct UsageError(pub String);

/// Parses the arguments (without the program name): each is looked up in
/// [`FLAGS`].
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;

    let mut d = Draft::default();
    let mut parser = lexopt::Parser::from_args(args);
    let err = |e: lexopt::Error| UsageError(e.to_string());
    while let Some(arg) = parser.next().map_err(err)? {
        let flag = match &arg {
            Long(name) => FLAGS.iter().find(|f| f.long == *name),
            Short(c) => FLAGS.iter().find(|f| f.short == Some(*c)),
            Value(v) => {
                return Err(UsageError(format!(
                    "unexpected argument {:?}; see --help",
                    v.to_string_lossy()
                )))
            }
        };
        let Some(flag) = flag else {
            return Err(UsageError(format!("{}; see --help", arg.unexpected())));
        };
        match flag.action {
            Action::Help => return Ok(Command::Help),
            Action::Version => return Ok(Command::Version),
            Action::Switch(set) => set(&mut d),
            Action::Value(set) => {
                let name = format!("--{}", flag.long);
                let v = parser
                    .value()
                    .map_err(|_| UsageError(format!("{name}: missing value; see --help")))?;
                set(&mut d, &name, v)?;
            }
        }
    }
    if d.push.urls.is_empty() {
        let needs_push = [
            (d.no_listen, "--no-listen"),
            (d.push.ca.is_some(), "--push-ca"),
            (d.push.key_file.is_some(), "--push-key-file"),
            (d.push.history, "--push-history"),
        ];
        if let Some((_, name)) = needs_push.iter().find(|(given, _)| *given) {
            return Err(UsageError(format!("{name} needs at least one --push URL")));
        }
    }
    if d.no_listen && d.listen.is_some() {
        return Err(UsageError(
            "--listen and --no-listen exclude each other".into(),
        ));
    }
    let listen = match d.listen {
        Some(l) => l,
        None => parse_listen(DEFAULT_LISTEN)?,
    };
    let dirs = ssi::dirs::Dirs::from_env();
    let knobs = Knobs::from_env();
    Ok(Command::Run(Box::new(Opts {
        listen,
        allow_origins: d.allow_origins,
        allow_hosts: d.allow_hosts,
        max_clients: d.max_clients.unwrap_or(DEFAULT_MAX_CLIENTS),
        log_dir: d.log_dir.unwrap_or(dirs.logs),
        scripts_dir: d.scripts_dir.unwrap_or(dirs.scripts),
        tuning: knobs.tuning,
        push: d.push,
        push_timing: knobs.push,
        no_listen: d.no_listen,
    })))
}

/// A value that must be UTF-8.
fn string(name: &str, v: OsString) -> Result<String, UsageError> {
    v.into_string()
        .map_err(|v| UsageError(format!("{name} {v:?}: not valid UTF-8")))
}

/// A path value, not empty.
fn path(name: &str, v: OsString) -> Result<PathBuf, UsageError> {
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

/// Checks a `--push` value: a `ws://` or `wss://` URL with a host, without
/// user information, query or fragment.
pub fn check_url(v: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("--push {v:?}: {why}"));
    let lower = v.to_ascii_lowercase();
    let rest = match lower
        .strip_prefix("wss://")
        .or_else(|| lower.strip_prefix("ws://"))
    {
        Some(r) => r,
        None => {
            return bad("expected a ws:// or wss:// URL, e.g. wss://collector.example/ws/agent/")
        }
    };
    if v.contains(['?', '#']) {
        return bad("expected no query or fragment (the agent key comes from --push-key-file)");
    }
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return bad("expected no user information in the URL (put the key in --push-key-file)");
    }
    if authority.is_empty() || authority.starts_with(':') {
        return bad("expected a host name after the scheme");
    }
    if v.parse::<tungstenite::http::Uri>().is_err() || v.contains(char::is_whitespace) {
        return bad("not a valid URL");
    }
    Ok(())
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

    #[test]
    fn urls() {
        for ok in [
            "wss://collector.example/ws/agent/",
            "ws://127.0.0.1:8080/",
            "ws://[::1]:8080/a/",
            "WSS://Collector.Example",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("http://x/", "ws:// or wss://"),
            ("wss://user:pw@x/", "user information"),
            ("wss://x/?key=1", "query"),
            ("wss:///a/", "host name"),
            ("wss://x/a b/", "not a valid URL"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    /// The manual page's section `name`, up to the next `.SH`.
    fn man_section(name: &str) -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/ssi-broadcaster.8");
        let man = std::fs::read_to_string(path).unwrap();
        let start = man.find(&format!(".SH {name}\n")).unwrap();
        let rest = &man[start + 4..];
        rest[..rest.find("\n.SH ").unwrap_or(rest.len())].to_owned()
    }

    /// The heads of a section's `.TP` paragraphs, with roff's `\-` as `-`.
    fn man_heads(section: &str) -> Vec<String> {
        let lines: Vec<&str> = section.lines().collect();
        lines
            .windows(2)
            .filter(|w| w[0] == ".TP")
            .map(|w| w[1].replace("\\-", "-"))
            .collect()
    }

    /// Every option of the table has its paragraph in OPTIONS, with its
    /// value's name and short form, and OPTIONS has no other.
    #[test]
    fn options_agree_with_the_manual() {
        let heads = man_heads(&man_section("OPTIONS"));
        let mut documented = Vec::new();
        for head in &heads {
            let long = head
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .find_map(|w| w.strip_prefix("--"))
                .unwrap_or_else(|| panic!("no --option in {head:?}"));
            documented.push(long.to_owned());
            let flag = FLAGS.iter().find(|f| f.long == long).unwrap_or_else(|| {
                panic!("the manual documents --{long}, the table has no such option")
            });
            if let Some(v) = flag.value {
                let first = v.split(':').next().unwrap();
                assert!(
                    head.contains(first),
                    "--{long}: the manual's {head:?} lacks {v}"
                );
            }
            if let Some(c) = flag.short {
                assert!(
                    head.contains(&format!("-{c}")),
                    "--{long}: the manual lacks -{c}"
                );
            }
        }
        let table: Vec<String> = FLAGS.iter().map(|f| f.long.to_owned()).collect();
        assert_eq!(
            documented, table,
            "OPTIONS lists the options in the table's order"
        );
    }

    /// The help text lists every option of the table, in its order.
    #[test]
    fn help_lists_every_option() {
        let help = usage();
        let mut at = 0;
        for f in FLAGS {
            let found = help[at..]
                .find(&format!("--{}", f.long))
                .unwrap_or_else(|| panic!("--help lacks --{}", f.long));
            at += found;
        }
    }

    /// Exactly the knobs marked documented have their paragraph in
    /// ENVIRONMENT; the others (for tests) are not named in the manual.
    #[test]
    fn knobs_agree_with_the_manual() {
        let env = man_section("ENVIRONMENT");
        let heads = man_heads(&env);
        let man: Vec<&str> = heads
            .iter()
            .filter_map(|h| h.strip_prefix(".B "))
            .filter(|v| v.starts_with("SSI_BROADCASTER_"))
            .collect();
        let documented: Vec<&str> = KNOBS
            .iter()
            .filter(|k| k.documented)
            .map(|k| k.var)
            .collect();
        assert_eq!(man, documented);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/ssi-broadcaster.8");
        let whole = std::fs::read_to_string(path).unwrap();
        for k in KNOBS.iter().filter(|k| !k.documented) {
            let named = whole.match_indices(k.var).any(|(i, _)| {
                !whole[i + k.var.len()..].starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            });
            assert!(!named, "the manual names {}: mark it documented", k.var);
        }
    }

    /// Every knob is read, each into its own field.
    #[test]
    fn knobs_set_what_they_say() {
        let set = |var: &str, value: &str| {
            let (var, value) = (var.to_owned(), OsString::from(value));
            Knobs::from_vars(move |v| (v == var).then(|| value.clone()))
        };
        let d = Knobs::default();
        assert_eq!(
            set("SSI_BROADCASTER_PING_MS", "7").tuning.ping_interval,
            Duration::from_millis(7)
        );
        assert_eq!(
            set("SSI_BROADCASTER_QUEUE_BYTES", "9").tuning.queue_bytes,
            9
        );
        assert_eq!(set("SSI_BROADCASTER_PUSH_HOLD", "3").push.hold, 3);
        assert_eq!(
            set("SSI_BROADCASTER_PUSH_RETRY_MS", "5").push.retry,
            Duration::from_millis(5)
        );
        assert!(
            set("SSI_BROADCASTER_IGNORE_EVENTS", "")
                .tuning
                .ignore_events
        );
        // Zero and words leave the default.
        assert_eq!(
            set("SSI_BROADCASTER_QUEUE", "0").tuning.queue_len,
            d.tuning.queue_len
        );
        assert_eq!(
            set("SSI_BROADCASTER_QUEUE", "many").tuning.queue_len,
            d.tuning.queue_len
        );
        for k in KNOBS {
            assert!(k.var.starts_with("SSI_BROADCASTER_"), "{}", k.var);
            assert_eq!(
                KNOBS.iter().filter(|o| o.var == k.var).count(),
                1,
                "{}",
                k.var
            );
        }
    }
}

//! `ssi-status`: list, show, check and run Service Status Indicator checks.
//!
//! Exit codes: [`exit::Exit`].

mod ack;
mod basetime;
mod check;
mod entry;
mod exit;
mod history;
mod list;
mod look;
mod notify;
mod prometheus;
mod quiet;
mod run;
mod show;
mod silence;
mod systemd;
mod watch;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::calendar::LocalZone;
use ssi::dirs::Dirs;
use ssi::logfile::read_last_lines;
use ssi::service::discover;
use ssi::status::rfc3339;

use crate::entry::Entry;
use crate::exit::Exit;
use crate::look::ColorChoice;

/// List, show, check and run Service Status Indicator checks.
///
/// Without a command, lists every check (`ssi-status list`).
#[derive(Debug, Parser)]
#[command(name = "ssi-status", version, args_conflicts_with_subcommands = true)]
struct Opts {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    list: ListArgs,
    #[command(flatten)]
    global: Global,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct Global {
    /// Check scripts directory [env: SSI_SCRIPTS_DIR; default: /usr/local/bin/service-status-indicator]
    #[arg(long, global = true, value_name = "DIR")]
    scripts_dir: Option<PathBuf>,
    /// Log directory [env: SSI_LOG_DIR; default: /var/log/service-status-indicator]
    #[arg(long, global = true, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Colour statuses: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Table of every check: id, name, version, schedule, status, last run
    List(ListArgs),
    /// Everything about one check: manifest, paths, status, log, timer
    Show(ShowArgs),
    /// A check's last status lines, newest last, and its availability
    History(HistoryArgs),
    /// Validate scripts as the generator does and show their next elapses
    Check(CheckArgs),
    /// Run a check now through systemd, wait, and print its new status
    Run(RunArgs),
    /// No notification for these checks (or all) until a time, or until lifted
    Silence(SilenceArgs),
    /// Lift silences
    Unsilence(UnsilenceArgs),
    /// Acknowledge a check's current problem: quiet until it changes
    Ack(AckArgs),
    /// Tell the notification hooks of new events (run by ssi-notify@.service)
    Notify(NotifyArgs),
    /// Deliver one owed event to its hook (run by ssi-notify-hook@.service)
    NotifyDeliver(DeliverArgs),
    /// Send a test event through every notification hook and report each result
    NotifyTest(NotifyTestArgs),
}

/// Where notification hooks and the notifier's state live.
#[derive(Debug, Args)]
struct NotifyDirs {
    /// Notification hooks directory [env: SSI_HOOKS_DIR; default: /etc/service-status-indicator/notify.d]
    #[arg(long, value_name = "DIR")]
    hooks_dir: Option<PathBuf>,
    /// Notifier state directory [env: SSI_STATE_DIR; default: /var/lib/service-status-indicator]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

impl NotifyDirs {
    fn places(&self) -> notify::Places {
        notify::Places {
            hooks: self
                .hooks_dir
                .clone()
                .unwrap_or_else(ssi::notify::hooks_dir),
            state: self
                .state_dir
                .clone()
                .unwrap_or_else(ssi::notify::state_dir),
        }
    }
}

/// How each hook is run.
#[derive(Debug, Args)]
struct RetryArgs {
    /// Attempts in all before a delivery is given up
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    attempts: u32,
    /// Seconds before the second attempt, doubling for each later one
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    retry_sec: u64,
    /// Seconds each attempt may take before its processes are ended
    #[arg(long, default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,
}

impl RetryArgs {
    fn retry(&self) -> notify::Retry {
        notify::Retry {
            attempts: self.attempts,
            pause: self.retry_sec,
            limit: self.timeout,
        }
    }
}

/// Where silences and acknowledgements are kept.
#[derive(Debug, Args)]
struct StateDir {
    /// Notifier state directory [env: SSI_STATE_DIR; default: /var/lib/service-status-indicator]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

impl StateDir {
    fn dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(ssi::notify::state_dir)
    }
}

#[derive(Debug, Args)]
struct SilenceArgs {
    /// Services: `x`, `ssi_x`, …
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    ids: Vec<String>,
    /// Every check (with --until: a one-off maintenance window)
    #[arg(long)]
    all: bool,
    /// For this long (`2h`, `1d 12h`, `30min`)
    #[arg(long = "for", value_name = "SPAN", conflicts_with = "until")]
    for_span: Option<String>,
    /// Until this time (`2026-12-24 08:00`, `tomorrow`, `@1764151200`, …)
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Why (logged, and shown by list, show and the dashboard)
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    #[command(flatten)]
    state: StateDir,
}

#[derive(Debug, Args)]
struct UnsilenceArgs {
    /// Services: `x`, `ssi_x`, …
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    ids: Vec<String>,
    /// Every silence, one-off maintenance included
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    state: StateDir,
}

#[derive(Debug, Args)]
struct AckArgs {
    /// Service: `x`, `ssi_x`, …
    id: String,
    /// Why (logged, and shown by list, show and the dashboard)
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    #[command(flatten)]
    state: StateDir,
}

#[derive(Debug, Args)]
struct NotifyArgs {
    /// Runs a new status must hold before it is told, for checks without "# notify-after:" [env: SSI_NOTIFY_AFTER; default: 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    after: Option<u32>,
    /// Tell a still-bad check again after SPAN, for checks without "# remind-every:" [env: SSI_REMIND_EVERY; default: never]
    #[arg(long, value_name = "SPAN")]
    remind_every: Option<String>,
    #[command(flatten)]
    dirs: NotifyDirs,
    #[command(flatten)]
    retry: RetryArgs,
}

#[derive(Debug, Args)]
struct DeliverArgs {
    /// The delivery (the instance name of ssi-notify-hook@.service)
    delivery: String,
    #[command(flatten)]
    dirs: NotifyDirs,
    #[command(flatten)]
    retry: RetryArgs,
}

#[derive(Debug, Args)]
struct NotifyTestArgs {
    /// A service whose name and last status the test event carries
    id: Option<String>,
    /// Seconds each hook may take
    #[arg(long, default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,
    #[command(flatten)]
    dirs: NotifyDirs,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Print a JSON array, one object per script, sorted by id
    #[arg(long, conflicts_with_all = ["nagios", "prometheus"])]
    json: bool,
    /// Print one Nagios plugin line and exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
    #[arg(long, conflicts_with = "prometheus")]
    nagios: bool,
    /// Print Prometheus metrics (text format 0.0.4), as node_exporter's textfile collector reads them
    #[arg(long)]
    prometheus: bool,
    /// With --prometheus: replace FILE atomically instead of printing
    #[arg(long, requires = "prometheus", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print every column and whole messages, however wide the terminal
    #[arg(short = 'l', long)]
    full: bool,
    /// Redraw the table whenever a script or a log changes, until Ctrl-C
    #[arg(short = 'w', long, conflicts_with_all = ["json", "nagios", "prometheus"])]
    watch: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Service: `x`, `ssi_x`, `ssi_x.service` or `ssi_x.timer`
    id: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct HistoryArgs {
    /// Service: `x`, `ssi_x`, `ssi_x.service` or `ssi_x.timer`
    id: String,
    /// Show at most N lines [default: 50, or 10000 with --since]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=ssi::history::MAX_LIMIT as i64))]
    limit: Option<u32>,
    /// Only lines given at or after TIME (`2026-11-26 10:00`, `yesterday`, `-24h`, `2d ago`, `@1764151200`, …)
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Scripts to validate
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// How many elapses to show (at most 100000)
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    iterations: u32,
    /// Compute elapses after this time instead of now (`2026-11-26 10:00:00`, `@1764151200`, `now`, … with optional ` UTC`)
    #[arg(long, value_name = "TIMESTAMP")]
    base_time: Option<String>,
    /// Print a JSON array, one object per file, sorted by id
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Service: `x`, `ssi_x`, `ssi_x.service`
    id: String,
    /// Print the new status as a JSON object
    #[arg(long)]
    json: bool,
}

/// A failure: what to print on stdout first (what a failed run still
/// wrote), its message (printed as `ssi-status: …`) and exit code.
#[derive(Debug)]
struct Failure {
    code: Exit,
    stdout: String,
    message: String,
}

fn fail(code: Exit, message: impl Into<String>) -> Failure {
    Failure {
        code,
        stdout: String::new(),
        message: message.into(),
    }
}

/// What a command produced: text for stdout, and the exit code.
struct Outcome {
    stdout: String,
    code: Exit,
}

/// Everything a command needs from its surroundings, read once.
struct Ctx {
    dirs: Dirs,
    tz: TimeZone,
    /// The local zone as glibc reads `TZ`, for `check`'s elapses.
    local: LocalZone,
    now: Timestamp,
    color: bool,
}

fn main() -> ExitCode {
    let opts = Opts::parse();
    let mut dirs = Dirs::from_env();
    if let Some(d) = opts.global.scripts_dir.clone() {
        dirs.scripts = d;
    }
    if let Some(d) = opts.global.log_dir.clone() {
        dirs.logs = d;
    }
    let local = LocalZone::from_env();
    let now = match now_from_env(&local) {
        Ok(now) => now,
        Err(e) => {
            eprintln!("ssi-status: {e}");
            return Exit::Usage.into();
        }
    };
    let ctx = Ctx {
        dirs,
        tz: local.time_zone().clone(),
        local,
        now,
        color: opts.global.color.enabled(),
    };
    let result = match opts.command {
        None => list(&ctx, &opts.list),
        Some(Cmd::List(a)) => list(&ctx, &a),
        Some(Cmd::Show(a)) => show(&ctx, &a),
        Some(Cmd::History(a)) => history(&ctx, &a),
        Some(Cmd::Check(a)) => check(&ctx, &a),
        Some(Cmd::Run(a)) => run(&ctx, &a),
        Some(Cmd::Silence(a)) => silence(&ctx, &a),
        Some(Cmd::Unsilence(a)) => silence::unsilence(&ctx, &a.ids, a.all, &a.state.dir()),
        Some(Cmd::Ack(a)) => one(&ctx, &a.id)
            .and_then(|e| ack::ack(&ctx, &e, a.reason.as_deref().unwrap_or(""), &a.state.dir())),
        Some(Cmd::Notify(a)) => notify_pass(&ctx, &a),
        Some(Cmd::NotifyDeliver(a)) => {
            notify::deliver(&a.delivery, &a.dirs.places(), a.retry.retry())
        }
        Some(Cmd::NotifyTest(a)) => notify_test(&ctx, &a),
    };
    let (stdout, code, message) = match result {
        Ok(out) => (out.stdout, out.code, None),
        Err(f) => (f.stdout, f.code, Some(f.message)),
    };
    let mut out = io::stdout().lock();
    match out.write_all(stdout.as_bytes()).and_then(|()| out.flush()) {
        // `ssi-status | head`: the reader has what it wanted.
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("ssi-status: cannot write output: {e}");
            return Exit::Failure.into();
        }
    }
    if let Some(m) = message {
        eprintln!("ssi-status: {m}");
    }
    code.into()
}

/// Overrides the time `ssi-status` takes as now (tests): any `--base-time` form.
const NOW_ENV: &str = "SSI_NOW";

/// Now, or what [`NOW_ENV`] says it is.
fn now_from_env(local: &LocalZone) -> Result<Timestamp, String> {
    let now = Timestamp::now();
    match std::env::var(NOW_ENV) {
        Ok(v) if !v.is_empty() => {
            basetime::parse_option(NOW_ENV, &v, local, now).and_then(|usec| {
                Timestamp::from_microsecond(usec as i64).map_err(|e| format!("{NOW_ENV}: {e}"))
            })
        }
        _ => Ok(now),
    }
}

/// Every script of the scripts directory with its last status, and, with
/// `with_systemd` when systemd runs, the state of their units from one
/// `systemctl show`, which runs while the logs are read.
fn load(ctx: &Ctx, with_systemd: bool) -> Result<Vec<Entry>, Failure> {
    let found = discover(&ctx.dirs.scripts).map_err(|e| fail(Exit::Failure, e.to_string()))?;
    let names = if with_systemd && systemd::is_running() {
        entry::unit_names(found.scripts.iter().filter_map(|s| s.id.as_ref()))
    } else {
        Vec::new()
    };
    let (mut entries, state) = std::thread::scope(|scope| {
        let query = (!names.is_empty()).then(|| scope.spawn(|| systemd::show(&names)));
        let entries = entry::read_all(found.scripts, &ctx.dirs.logs, &ctx.tz);
        let state = query.map(|q| {
            q.join()
                .unwrap_or_else(|_| Err("systemctl query failed".to_owned()))
        });
        (entries, state)
    });
    match state {
        Some(Ok(state)) => entry::attach(&mut entries, state),
        Some(Err(why)) => eprintln!("ssi-status: {why}; timer state unavailable"),
        None => {}
    }
    quiet::attach(&mut entries, &ssi::notify::state_dir(), ctx.now, &ctx.tz);
    Ok(entries)
}

/// systemd's state of a few entries' units, when systemd runs (one
/// `systemctl show`). A failure is reported and leaves them without state.
fn ask_systemd(entries: &mut [Entry]) {
    if !systemd::is_running() {
        return;
    }
    let names = entry::unit_names(entries.iter().filter_map(|e| e.script.id.as_ref()));
    match systemd::show(&names) {
        Ok(state) => entry::attach(entries, state),
        Err(why) => eprintln!("ssi-status: {why}; timer state unavailable"),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| fail(Exit::Failure, format!("cannot encode JSON: {e}")))
}

/// The one service `arg` names, with its last status: only its own log is
/// read, however many there are.
fn one(ctx: &Ctx, arg: &str) -> Result<Entry, Failure> {
    let found = discover(&ctx.dirs.scripts).map_err(|e| fail(Exit::Failure, e.to_string()))?;
    match show::find(&found.scripts, arg) {
        Some(script) => Ok(Entry::new(script.clone(), &ctx.dirs.logs, &ctx.tz)),
        None => Err(fail(Exit::Failure, show::not_found(&found.scripts, arg))),
    }
}

/// The table for the terminal as it is now (`--full`: uncut).
fn table(ctx: &Ctx, a: &ListArgs, entries: &[Entry], now: Timestamp) -> String {
    if entries.is_empty() {
        return format!("No check scripts in {}.\n", ctx.dirs.scripts.display());
    }
    let systemd = entries.iter().any(|e| e.units.is_some());
    let width = if a.full { None } else { look::terminal_width() };
    list::table(entries, systemd, &ctx.tz, now, ctx.color, width)
}

/// `--watch`: a title line and the table, drawn again on every change.
fn watch(ctx: &Ctx, a: &ListArgs) -> Result<Outcome, Failure> {
    let start = std::time::Instant::now();
    let dirs = [ctx.dirs.scripts.as_path(), ctx.dirs.logs.as_path()];
    watch::run(&dirs, || {
        let now = ctx.now + start.elapsed();
        let title = format!(
            "ssi-status --watch: {} (Ctrl-C to quit)  {}\n",
            ctx.dirs.scripts.display(),
            look::short_time(now, &ctx.tz)
        );
        let body = match load(ctx, true) {
            Ok(entries) => table(ctx, a, &entries, now),
            Err(f) => format!("ssi-status: {}\n", f.message),
        };
        let height = look::terminal_height().map(|h| h.saturating_sub(1));
        title + &watch::fit_height(&body, height)
    })
    .map_err(|m| fail(Exit::Failure, m))?;
    Ok(Outcome {
        stdout: String::new(),
        code: Exit::Success,
    })
}

fn list(ctx: &Ctx, a: &ListArgs) -> Result<Outcome, Failure> {
    if a.watch {
        return watch(ctx, a);
    }
    let entries = load(ctx, true)?;
    if a.nagios {
        let (line, code) = list::nagios(&entries, ctx.now);
        return Ok(Outcome {
            stdout: line + "\n",
            code: Exit::Nagios(code),
        });
    }
    if a.prometheus {
        let snap = prometheus::snapshot(&entries, ctx.now, &ctx.tz);
        let text = ssi::metrics::render(&snap, ssi::metrics::Format::Text);
        let stdout = match &a.output {
            Some(path) => {
                prometheus::write_atomic(path, &text).map_err(|m| fail(Exit::Failure, m))?;
                String::new()
            }
            None => text,
        };
        return Ok(Outcome {
            stdout,
            code: Exit::Success,
        });
    }
    let stdout = if a.json {
        let objs: Vec<_> = entries.iter().map(|e| e.to_json(ctx.now)).collect();
        to_json(&objs)?
    } else {
        table(ctx, a, &entries, ctx.now)
    };
    Ok(Outcome {
        stdout,
        code: Exit::Success,
    })
}

fn show(ctx: &Ctx, a: &ShowArgs) -> Result<Outcome, Failure> {
    let mut one = [one(ctx, &a.id)?];
    ask_systemd(&mut one);
    quiet::attach(&mut one, &ssi::notify::state_dir(), ctx.now, &ctx.tz);
    let entry = &one[0];
    // An unreadable log is already in `log_error`; show the rest.
    let tail = match &entry.log {
        Some(p) => read_last_lines(p, show::TAIL_LINES).unwrap_or_default(),
        None => Vec::new(),
    };
    let query = ssi::history::Query {
        limit: 0,
        since: None,
        now: ctx.now,
    };
    let availability = entry
        .log
        .as_ref()
        .and_then(|p| ssi::history::read_history(p, &ctx.tz, &query).ok())
        .map(|h| h.availability);
    let stdout = if a.json {
        to_json(&show::json(entry, tail, availability, ctx.now))?
    } else {
        show::text(
            entry,
            &tail,
            availability.as_ref(),
            &ctx.tz,
            ctx.now,
            ctx.color,
        )
    };
    Ok(Outcome {
        stdout,
        code: Exit::Success,
    })
}

fn history(ctx: &Ctx, a: &HistoryArgs) -> Result<Outcome, Failure> {
    let since = match &a.since {
        Some(t) => {
            let usec = basetime::parse_option("--since", t, &ctx.local, ctx.now)
                .map_err(|e| fail(Exit::Usage, e))?;
            Some(
                Timestamp::from_microsecond(usec as i64)
                    .map_err(|e| fail(Exit::Usage, format!("--since {t:?}: {e}")))?,
            )
        }
        None => None,
    };
    let limit = match (a.limit, since) {
        (Some(n), _) => n as usize,
        (None, Some(_)) => ssi::history::MAX_LIMIT,
        (None, None) => history::DEFAULT_LIMIT,
    };
    let mut one = [one(ctx, &a.id)?];
    ask_systemd(&mut one);
    let entry = &one[0];
    let Some(log) = &entry.log else {
        return Err(fail(
            Exit::Failure,
            format!("{}: {}", entry.label(), entry.script.reason()),
        ));
    };
    let query = ssi::history::Query {
        limit,
        since,
        now: ctx.now,
    };
    let mut hist = ssi::history::read_history(log, &ctx.tz, &query)
        .map_err(|e| fail(Exit::Failure, format!("cannot read {}: {e}", log.display())))?;
    history::attach_last_run(&mut hist, entry.units.as_ref());
    let stdout = if a.json {
        to_json(&history::json(entry, &hist))?
    } else {
        history::text(&hist, &ctx.tz, ctx.color)
    };
    Ok(Outcome {
        stdout,
        code: Exit::Success,
    })
}

fn check(ctx: &Ctx, a: &CheckArgs) -> Result<Outcome, Failure> {
    let base = match &a.base_time {
        Some(b) => basetime::parse(b, &ctx.local, ctx.now).map_err(|e| fail(Exit::Usage, e))?,
        None => u64::try_from(ctx.now.as_microsecond())
            .map_err(|_| fail(Exit::Usage, "the clock is before 1970"))?,
    };
    let mut scripts = check::judge(&a.files);
    let code = if scripts.iter().all(|s| s.is_valid()) {
        Exit::Success
    } else {
        Exit::Failure
    };
    let stdout = if a.json {
        scripts.sort_by(|x, y| {
            (x.id.is_none(), &x.id, &x.path).cmp(&(y.id.is_none(), &y.id, &y.path))
        });
        let objs: Vec<_> = scripts
            .iter()
            .map(|s| check::json(s, &ctx.dirs.logs, base, ctx.now, &ctx.local, a.iterations))
            .collect();
        to_json(&objs)?
    } else {
        scripts
            .iter()
            .map(|s| check::text(s, base, &ctx.local, a.iterations))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Outcome { stdout, code })
}

/// The JSON of `run --json`.
#[derive(serde::Serialize)]
struct RunJson {
    id: String,
    unit: String,
    status: Option<ssi::status::Status>,
    timestamp: Option<String>,
    message: Option<String>,
}

fn run(ctx: &Ctx, a: &RunArgs) -> Result<Outcome, Failure> {
    let entry = one(ctx, &a.id)?;
    let (Some(id), Some(log)) = (&entry.script.id, &entry.log) else {
        return Err(fail(
            Exit::Failure,
            format!("{}: {}", entry.label(), entry.script.reason()),
        ));
    };
    let ran =
        run::start(&entry.script, log, &ctx.tz).map_err(|run::NotRun(code, m)| fail(code, m))?;
    let last = &ran.last;
    let stdout = if a.json {
        to_json(&RunJson {
            id: id.to_string(),
            unit: ran.unit.clone(),
            status: last.as_ref().map(|l| l.line.status),
            timestamp: last.as_ref().map(|l| rfc3339(l.timestamp)),
            message: last.as_ref().map(|l| l.line.message.clone()),
        })?
    } else {
        match last {
            Some(l) => {
                let st = l.line.status;
                let mut line = format!(
                    "{}, {}",
                    look::short_time(l.timestamp, &ctx.tz),
                    look::paint(st.as_str(), look::status_sgr(st), ctx.color)
                );
                if !l.line.message.is_empty() {
                    line.push_str(", ");
                    line.push_str(&look::printable(&l.line.message));
                }
                line + "\n"
            }
            None => String::new(),
        }
    };
    match ran.failed {
        Some(message) => Err(Failure {
            code: Exit::Failure,
            stdout,
            message,
        }),
        None => Ok(Outcome {
            stdout,
            code: Exit::Success,
        }),
    }
}

/// `SSI_NOTIFY_AFTER`, when set, else 1.
fn default_after() -> Result<u32, Failure> {
    match std::env::var("SSI_NOTIFY_AFTER") {
        Err(_) => Ok(1),
        Ok(v) if v.is_empty() => Ok(1),
        Ok(v) => match v.parse::<u32>() {
            Ok(n) if (1..=ssi::manifest::MAX_NOTIFY_AFTER).contains(&n) => Ok(n),
            _ => Err(fail(
                Exit::Usage,
                format!(
                    "SSI_NOTIFY_AFTER={v:?}: expected a whole number of runs from 1 to {}",
                    ssi::manifest::MAX_NOTIFY_AFTER
                ),
            )),
        },
    }
}

/// `--remind-every`, else `SSI_REMIND_EVERY`, else none; seconds.
fn default_remind(a: &NotifyArgs) -> Result<Option<u32>, Failure> {
    let (what, value) = match &a.remind_every {
        Some(v) => ("--remind-every", v.clone()),
        None => match std::env::var("SSI_REMIND_EVERY") {
            Ok(v) if !v.is_empty() => ("SSI_REMIND_EVERY", v),
            _ => return Ok(None),
        },
    };
    ssi::timespan::parse_whole_seconds(&value, 1, ssi::manifest::MAX_REMIND_EVERY_SECS)
        .map(Some)
        .map_err(|e| fail(Exit::Usage, format!("{what} {value:?}: {e}")))
}

fn notify_pass(ctx: &Ctx, a: &NotifyArgs) -> Result<Outcome, Failure> {
    let after = match a.after {
        Some(n) => n,
        None => default_after()?,
    };
    let remind = default_remind(a)?;
    let entries = load(ctx, true)?;
    notify::notify(
        ctx,
        &entries,
        notify::Defaults { after, remind },
        &a.dirs.places(),
        a.retry.retry(),
    )
}

fn silence(ctx: &Ctx, a: &SilenceArgs) -> Result<Outcome, Failure> {
    let until = match (&a.for_span, &a.until) {
        (Some(span), _) => {
            let usec = ssi::timespan::parse_usec(span)
                .map_err(|e| fail(Exit::Usage, format!("--for {span:?}: {e}")))?;
            let secs = i64::try_from(usec / 1_000_000).unwrap_or(i64::MAX);
            if secs < 1 {
                return Err(fail(
                    Exit::Usage,
                    format!("--for {span:?}: expected at least 1 s; nothing changed"),
                ));
            }
            Some(
                Timestamp::from_second(ctx.now.as_second().saturating_add(secs))
                    .map_err(|e| fail(Exit::Usage, format!("--for {span:?}: {e}")))?,
            )
        }
        (None, Some(t)) => {
            let usec = basetime::parse_option("--until", t, &ctx.local, ctx.now)
                .map_err(|e| fail(Exit::Usage, e))?;
            let ts = Timestamp::from_microsecond(usec as i64)
                .map_err(|e| fail(Exit::Usage, format!("--until {t:?}: {e}")))?;
            if ts <= ctx.now {
                return Err(fail(
                    Exit::Usage,
                    format!(
                        "--until {t:?}: {} is not in the future, expected a time to come; nothing changed",
                        look::long_time(ts, &ctx.tz)
                    ),
                ));
            }
            Some(ts)
        }
        (None, None) => None,
    };
    silence::silence(
        ctx,
        &a.ids,
        a.all,
        until,
        a.reason.as_deref().unwrap_or(""),
        &a.state.dir(),
    )
}

fn notify_test(ctx: &Ctx, a: &NotifyTestArgs) -> Result<Outcome, Failure> {
    let entry = match &a.id {
        Some(id) => Some(one(ctx, id)?),
        None => None,
    };
    notify::test(entry.as_ref(), &a.dirs.places(), a.timeout, ctx)
}

//! `ssi-broadcaster`: tails the Service Status Indicator logs and streams
//! status changes to WebSocket clients, with a dashboard page on the same
//! port. Blocking I/O and threads: one watcher thread, one small thread per
//! connection.

/// Writes a line to standard error; never fails, never panics (see `log`).
/// `log!("…")` is information; `log!(warning: "…")` and `log!(error: "…")`
/// say how bad it is, which the journal records as the line's priority.
macro_rules! log {
    (error: $($arg:tt)*) => {
        $crate::log::line($crate::log::Level::Error, format_args!($($arg)*))
    };
    (warning: $($arg:tt)*) => {
        $crate::log::line($crate::log::Level::Warning, format_args!($($arg)*))
    };
    ($($arg:tt)*) => {
        $crate::log::line($crate::log::Level::Info, format_args!($($arg)*))
    };
}

/// `eprintln!` is shadowed by `log!` in every module of this crate: the
/// standard one panics when stderr is a closed pipe, which aborts a release
/// build. Prefer `log!`; this only catches a stray `eprintln!`.
#[allow(unused_macros)]
macro_rules! eprintln {
    ($($arg:tt)*) => {
        log!($($arg)*)
    };
}

mod client;
mod heap;
mod history;
mod http;
mod hub;
mod log;
mod messages;
mod metrics;
mod opts;
mod pending;
mod push;
mod refused;
mod routes;
mod runs;
mod server;
mod tail;
mod watch;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use opts::{Command, Opts, UsageError};

fn main() -> ExitCode {
    match opts::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            // A closed stdout (`| head -1`) is not worth a panic.
            let _ = std::io::stdout().write_all(opts::USAGE.as_bytes());
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            let _ = writeln!(
                std::io::stdout(),
                "ssi-broadcaster {}",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
        Ok(Command::Run(o)) => match run(*o) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log!(error: "ssi-broadcaster: {e}");
                ExitCode::FAILURE
            }
        },
        Err(UsageError(e)) => {
            log!(error: "ssi-broadcaster: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(mut o: Opts) -> Result<(), String> {
    heap::one_arena();
    raise_nofile_limit();

    // Event paths are compared with these, so make them absolute once.
    for dir in [&mut o.log_dir, &mut o.scripts_dir] {
        if let Ok(abs) = std::path::absolute(&*dir) {
            *dir = abs;
        }
    }
    // Before any thread is started: they inherit the blocked signals.
    let signals = server::signals().map_err(|e| format!("cannot set up signals: {e}"))?;
    let hub = Arc::new(hub::Hub::new(o.tuning.queue_len, o.tuning.queue_bytes));
    let watch = watch::Watch::start(
        o.log_dir.clone(),
        o.scripts_dir.clone(),
        hub.clone(),
        o.tuning.rescan_interval,
        !o.tuning.ignore_events,
        o.tuning.inotify_failures,
    );
    let rescan = watch.rescan_request();
    std::thread::Builder::new()
        .name("ssi-watch".into())
        .spawn(move || watch.run())
        .map_err(|e| format!("cannot start the watcher thread: {e}"))?;
    let pushers = push::start(&o.push, &hub, &push::Timing::from_env())?;
    if o.no_listen {
        server::notify_ready();
        push::wait_for_signals(&signals, &hub, &pushers, || {
            server::read_signals(&signals).act(&rescan, || pushers.report())
        });
        return Ok(());
    }

    let (listener, activated) =
        server::listener(o.listen).map_err(|e| format!("cannot listen on {}: {e}", o.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;

    let access = http::Access::new(local, &o.allow_hosts, &o.allow_origins);
    let runs = runs::Runs::new(o.tuning.systemctl_timeout, o.tuning.runs_retry);
    runs.start(Arc::clone(&hub))
        .map_err(|e| format!("cannot start the run durations thread: {e}"))?;
    let ctx = Arc::new(client::Context::new(
        hub,
        access,
        o.max_clients,
        o.tuning.clone(),
        history::Source::new(o.log_dir.clone(), runs),
    ));

    if !local.ip().is_loopback() {
        log!(
            warning: "ssi-broadcaster: warning: listening on {local}, reachable from other machines; \
             statuses are readable by anyone who can connect."
        );
    }
    let how = if activated {
        " (socket from systemd)"
    } else {
        ""
    };
    log!("listening on ws://{local}/{how}");
    server::notify_ready();
    let served = server::serve(listener, ctx, signals, rescan);
    pushers.stop(Duration::from_millis(800));
    served.map_err(|e| format!("accept loop failed: {e}"))
}

/// Raises the soft descriptor limit to the hard one, as systemd advises for
/// programs that do not use select(2): the soft limit of 1024 only protects
/// select() users, and every client costs a descriptor or two. Log files do
/// not scale with it (only recently changed ones are held open). Failure
/// (a sandbox refusing setrlimit) leaves the limit as it was.
fn raise_nofile_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    // `None` is no limit (infinity).
    let below = match (lim.current, lim.maximum) {
        (Some(soft), Some(hard)) => soft < hard,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if below {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: lim.maximum,
                maximum: lim.maximum,
            },
        );
    }
}

//! `ssi-broadcaster`: tails the Service Status Indicator logs and streams
//! status changes to WebSocket clients, with a dashboard page on the same
//! port. Blocking I/O and threads: one watcher thread, one small thread per
//! connection.

/// Writes a line to standard error; never fails, never panics (see `log`).
/// `log!("…")` is information; `log!(warning: "…")` and `log!(error: "…")`
/// say how bad it is, which the journal records as the line's priority.
macro_rules! log {
    (error: $($arg:tt)*) => {
        $crate::journal::line($crate::journal::Level::Error, format_args!($($arg)*))
    };
    (warning: $($arg:tt)*) => {
        $crate::journal::line($crate::journal::Level::Warning, format_args!($($arg)*))
    };
    ($($arg:tt)*) => {
        $crate::journal::line($crate::journal::Level::Info, format_args!($($arg)*))
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

mod daemon;
mod heap;
mod http;
mod hub;
mod journal;
mod messages;
mod opts;
mod poll;
mod refused;
mod signals;
mod sink;
mod source;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use http::context::Context;
use opts::{Command, Opts, UsageError};
use sink::{push, runs};

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

/// The data flow wired in its order: the process (daemon), the signals,
/// the source (watch → tail) into the hub, the sinks (push, runs), then
/// the port until a signal stops it.
fn run(mut o: Opts) -> Result<(), String> {
    heap::one_arena();
    daemon::raise_nofile_limit();

    // Event paths are compared with these, so make them absolute once.
    for dir in [&mut o.log_dir, &mut o.scripts_dir] {
        if let Ok(abs) = std::path::absolute(&*dir) {
            *dir = abs;
        }
    }
    // Before any thread is started: they inherit the blocked signals.
    let signals = signals::signals().map_err(|e| format!("cannot set up signals: {e}"))?;
    let hub = Arc::new(hub::Hub::new(o.tuning.queue_len, o.tuning.queue_bytes));
    let watch = source::watch::Watch::start(
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
        daemon::ready();
        signals::wait_until_stop(&signals, &rescan, || pushers.report());
        hub.shutdown();
        pushers.stop(Duration::from_millis(800));
        return Ok(());
    }

    let (listener, activated) =
        daemon::listener(o.listen).map_err(|e| format!("cannot listen on {}: {e}", o.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;

    let access = http::Access::new(local, &o.allow_hosts, &o.allow_origins);
    let runs = runs::Runs::new(o.tuning.systemctl_timeout, o.tuning.runs_retry);
    runs.start(Arc::clone(&hub))
        .map_err(|e| format!("cannot start the run durations thread: {e}"))?;
    let ctx = Arc::new(Context::new(
        hub,
        access,
        o.max_clients,
        o.tuning.clone(),
        http::history::Source::new(o.log_dir.clone(), runs),
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
    daemon::ready();
    let served = http::accept::serve(listener, ctx, signals, rescan);
    pushers.stop(Duration::from_millis(800));
    served.map_err(|e| format!("accept loop failed: {e}"))
}

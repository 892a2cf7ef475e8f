//! `ssi-broadcaster`: tails the Service Status Indicator logs and streams
//! status changes to WebSocket clients, with a dashboard page on the same
//! port. Blocking I/O and threads: one watcher thread, one small thread per
//! connection.
//!
//! The tree reads in the order a status line flows: step 0 sets up the
//! process (`opts`, `daemon`, `signals`, `heap`, `poll`), step 1 is where a
//! line comes in (`source/`: watch the directories, tail the logs), step 2
//! fans it out (`hub`, `messages`, `refused`), step 3 feeds the sinks
//! (`sink/`: metrics, run durations, push to collectors) and step 4 is where
//! it leaves (`http/`: accept, routes, WebSocket peers, history, metrics).
//! [`run`] wires them in that order.

mod daemon;
mod heap;
mod http;
mod hub;
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
use ssi::journal::Journal;

/// Every message goes to standard error through the `log` facade, with the
/// journal's priority when standard error is the journal; the messages name
/// the program themselves where a reader needs it.
static LOG: Journal = Journal::new("");

fn main() -> ExitCode {
    ssi::journal::init(&LOG, log::LevelFilter::Info);
    match opts::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            // A closed stdout (`| head -1`) is not worth a panic.
            let _ = std::io::stdout().write_all(opts::usage().as_bytes());
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
                log::error!("ssi-broadcaster: {e}");
                ExitCode::FAILURE
            }
        },
        Err(UsageError(e)) => {
            log::error!("ssi-broadcaster: {e}");
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
    let pushers = push::start(&o.push, &hub, &o.push_timing)?;
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
        log::warn!(
            "ssi-broadcaster: warning: listening on {local}, reachable from other machines; \
             statuses are readable by anyone who can connect."
        );
    }
    let how = if activated {
        " (socket from systemd)"
    } else {
        ""
    };
    log::info!("listening on ws://{local}/{how}");
    daemon::ready();
    let served = http::accept::serve(listener, ctx, signals, rescan, || pushers.report());
    pushers.stop(Duration::from_millis(800));
    served.map_err(|e| format!("accept loop failed: {e}"))
}

//! What every command shares: one signature, `run(&Ctx, &Args) ->
//! Result<Outcome, Failure>`, the context read once ([`Ctx`]), and the
//! reading of the checks with their state from systemd ([`load`]).

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::calendar::LocalZone;
use ssi::dirs::Dirs;
use ssi::service::discover;

use crate::basetime;
use crate::cli::Global;
use crate::entry::{self, Entry};
use crate::exit::Exit;
use crate::systemd;

/// A failure: what to print on stdout first (what a failed run still
/// wrote), its message (printed as `ssi-status: …`) and exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: Exit,
    pub stdout: String,
    pub message: String,
}

pub fn fail(code: Exit, message: impl Into<String>) -> Failure {
    Failure {
        code,
        stdout: String::new(),
        message: message.into(),
    }
}

/// What a command produced: text for stdout, and the exit code.
pub struct Outcome {
    pub stdout: String,
    pub code: Exit,
}

/// Everything a command needs from its surroundings, read once.
pub struct Ctx {
    pub dirs: Dirs,
    pub tz: TimeZone,
    /// The local zone as glibc reads `TZ`, for `check`'s elapses.
    pub local: LocalZone,
    pub now: Timestamp,
    pub color: bool,
}

impl Ctx {
    /// The context of one run: directories from the environment and the
    /// options, the local time zone, now (or [`NOW_ENV`]'s time).
    pub fn new(global: &Global) -> Result<Ctx, String> {
        let mut dirs = Dirs::from_env();
        if let Some(d) = global.scripts_dir.clone() {
            dirs.scripts = d;
        }
        if let Some(d) = global.log_dir.clone() {
            dirs.logs = d;
        }
        let local = LocalZone::from_env();
        let now = now_from_env(&local)?;
        Ok(Ctx {
            dirs,
            tz: local.time_zone().clone(),
            local,
            now,
            color: global.color.enabled(),
        })
    }
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
pub fn load(ctx: &Ctx, with_systemd: bool) -> Result<Vec<Entry>, Failure> {
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
        Some(Err(why)) => log::warn!("{why}; timer state unavailable"),
        None => {}
    }
    crate::quiet::attach(&mut entries, &crate::notify::state_dir(), ctx.now, &ctx.tz);
    Ok(entries)
}

/// systemd's state of a few entries' units, when systemd runs (one
/// `systemctl show`). A failure is reported and leaves them without state.
pub fn ask_systemd(entries: &mut [Entry]) {
    if !systemd::is_running() {
        return;
    }
    let names = entry::unit_names(entries.iter().filter_map(|e| e.script.id.as_ref()));
    match systemd::show(&names) {
        Ok(state) => entry::attach(entries, state),
        Err(why) => log::warn!("{why}; timer state unavailable"),
    }
}

pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| fail(Exit::Failure, format!("cannot encode JSON: {e}")))
}

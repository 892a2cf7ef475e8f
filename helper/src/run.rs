//! `ssi-status run ID`: start a check's service now and report the status
//! line the run wrote. Returns what happened; `main` prints it.

use std::path::Path;

use jiff::Timestamp;
use ssi::logfile::{read_last_status, LastStatus};
use ssi::service::Script;

use crate::cli::RunArgs;
use crate::command::{fail, to_json, Ctx, Failure, Outcome};
use crate::exit::Exit;
use crate::find;
use crate::look;
use crate::systemd::{self, StartError};
use ssi::status::rfc3339;

/// What a run of a check gave.
#[derive(Debug)]
pub struct Ran {
    /// `ssi_<id>.service`.
    pub unit: String,
    /// The status line the run wrote, if it wrote one.
    pub last: Option<LastStatus>,
    /// Why the run is a failure (the unit failed, or it wrote no status
    /// line): its message. What it wrote is still shown.
    pub failed: Option<String>,
}

/// Why a run could not even start: the message and exit code.
#[derive(Debug)]
pub struct NotRun(pub Exit, pub String);

/// Starts `script`'s service (it must be valid) and reads what the run
/// appended to `log`, read in the zone `tz`.
pub fn start(script: &Script, log: &Path, tz: &jiff::tz::TimeZone) -> Result<Ran, NotRun> {
    let Some(id) = &script.id else {
        return Err(NotRun(Exit::Failure, script.reason()));
    };
    if !script.is_valid() {
        return Err(NotRun(
            Exit::Failure,
            format!("{id} is invalid, so it has no unit: {}", script.reason()),
        ));
    }
    let unit = format!("{}.service", id.unit_stem());
    if !systemd::is_running() {
        return Err(NotRun(
            Exit::SystemdDown,
            format!("systemd is not running (no /run/systemd/system), cannot start {unit}"),
        ));
    }
    // Status lines carry whole seconds: a line stamped in the second the
    // run started is new.
    let now = Timestamp::now();
    let started = Timestamp::from_second(now.as_second()).unwrap_or(now);
    let result = systemd::start(&unit);
    let mut failed = None;
    match result {
        Ok(()) => {}
        Err(StartError::Spawn(m)) => return Err(NotRun(Exit::Failure, m)),
        Err(StartError::NotFound(m)) => {
            return Err(NotRun(
                Exit::UnitNotLoaded,
                format!(
                    "{unit} is not loaded; run \"systemctl daemon-reload\" so the generator creates it ({})",
                    first_line(&m)
                ),
            ))
        }
        Err(StartError::Denied(m)) => {
            return Err(NotRun(
                Exit::PermissionDenied,
                format!("permission denied starting {unit}; run as root ({})", first_line(&m)),
            ))
        }
        Err(StartError::Failed(m)) => {
            failed = Some(format!("{unit} failed: {}", m.replace('\n', " ")));
        }
    }
    let last = read_last_status(log, tz)
        .map_err(|e| NotRun(Exit::Failure, format!("cannot read {}: {e}", log.display())))?
        .filter(|l| l.timestamp >= started);
    if failed.is_none() && last.is_none() {
        failed = Some(format!(
            "{unit} ran but wrote no new status line to {}",
            log.display()
        ));
    }
    Ok(Ran { unit, last, failed })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
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

/// `ssi-status run ID`.
pub fn run(ctx: &Ctx, a: &RunArgs) -> Result<Outcome, Failure> {
    let entry = find::one(ctx, &a.id)?;
    let (Some(id), Some(log)) = (&entry.script.id, &entry.log) else {
        return Err(fail(
            Exit::Failure,
            format!("{}: {}", entry.label(), entry.script.reason()),
        ));
    };
    let ran = start(&entry.script, log, &ctx.tz).map_err(|NotRun(code, m)| fail(code, m))?;
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

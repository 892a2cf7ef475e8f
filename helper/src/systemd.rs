//! Starting a unit through `systemctl start`, and what systemd knows
//! about our units: the properties `ssi-status` reads, asked through the
//! library's one reader ([`ssi::systemd`]).

use std::process::{Command, Stdio};

pub use ssi::systemd::{is_running, program, State, Unit};

/// The properties we read, for timers and services alike (a property a
/// unit type lacks is simply absent or empty).
pub const PROPERTIES: &[&str] = &[
    "LoadState",
    "ActiveState",
    "SubState",
    "Result",
    "NextElapseUSecRealtime",
    "LastTriggerUSec",
    "ExecMainStatus",
    "ExecMainStartTimestamp",
    "ExecMainExitTimestamp",
    "ExecMainStartTimestampMonotonic",
    "ExecMainExitTimestampMonotonic",
];

/// Asks systemd about `units` in one `systemctl show` call. `Err` says
/// why there is no state (the caller reports it and carries on).
pub fn show(units: &[String]) -> Result<State, String> {
    ssi::systemd::show(units, PROPERTIES, None)
}

/// Why `systemctl start` did not run a unit to success; each carries
/// systemctl's message (lines joined by `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// `systemctl` could not be run at all.
    Spawn(String),
    /// systemd does not know the unit.
    NotFound(String),
    /// Not allowed to start it.
    Denied(String),
    /// The unit ran and failed (or the job failed otherwise).
    Failed(String),
}

/// Starts `unit` and waits for it: a oneshot service's start job ends
/// when its run does.
pub fn start(unit: &str) -> Result<(), StartError> {
    let prog = program();
    let out = Command::new(&prog)
        .arg("start")
        .arg(unit)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| StartError::Spawn(format!("cannot run {}: {e}", prog.to_string_lossy())))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let text = err
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let text = if text.is_empty() {
        format!("{} start {unit}: {}", prog.to_string_lossy(), out.status)
    } else {
        text
    };
    Err(classify_start_error(out.status.code(), text))
}

/// Sorts a failed `systemctl start` by its exit code (systemctl uses the
/// LSB codes: 4 = insufficient privilege, 5 = not installed) and,
/// because not every path sets those, by its message.
fn classify_start_error(code: Option<i32>, text: String) -> StartError {
    let lower = text.to_lowercase();
    if code == Some(5) || lower.contains("not found") || lower.contains("not loaded") {
        StartError::NotFound(text)
    } else if code == Some(4)
        || lower.contains("access denied")
        || lower.contains("permission denied")
        || lower.contains("authentication required")
        || lower.contains("not permitted")
    {
        StartError::Denied(text)
    } else {
        StartError::Failed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_errors() {
        assert!(matches!(
            classify_start_error(
                Some(5),
                "Failed to start x.service: Unit x.service not found.".into()
            ),
            StartError::NotFound(_)
        ));
        assert!(matches!(
            classify_start_error(Some(1), "Failed to start x.service: Access denied".into()),
            StartError::Denied(_)
        ));
        assert!(matches!(
            classify_start_error(Some(4), "Interactive authentication required.".into()),
            StartError::Denied(_)
        ));
        assert!(matches!(
            classify_start_error(
                Some(1),
                "Job for x.service failed because the control process exited with error code."
                    .into()
            ),
            StartError::Failed(_)
        ));
    }
}

//! `ssi-status`'s exit codes, in one place (also in the README and
//! `ssi-status(1)`).

use std::process::ExitCode;

/// How `ssi-status` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Success,
    /// 1: an error, an unknown service, an invalid file (`check`) or a
    /// failed run (`run`).
    Failure,
    /// 2: bad usage (clap's own errors exit 2 as well).
    Usage,
    /// 3 (`run`): systemd is not running.
    SystemdDown,
    /// 4 (`run`): not allowed to start the unit.
    PermissionDenied,
    /// 5 (`run`): the unit is not loaded.
    UnitNotLoaded,
    /// `list --nagios`: the plugin's own 0/1/2/3.
    Nagios(u8),
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::SystemdDown => 3,
            Exit::PermissionDenied => 4,
            Exit::UnitNotLoaded => 5,
            Exit::Nagios(code) => code,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

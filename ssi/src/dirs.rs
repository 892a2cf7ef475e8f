//! Where check scripts and their logs live, with the environment overrides
//! that all three binaries honour.

use std::path::PathBuf;

/// Where an administrator drops check scripts.
pub const DEFAULT_SCRIPTS_DIR: &str = "/usr/local/bin/service-status-indicator";
/// Where each check's status log is appended.
pub const DEFAULT_LOG_DIR: &str = "/var/log/service-status-indicator";
/// Overrides [`DEFAULT_SCRIPTS_DIR`] (tests, unusual installs).
pub const SCRIPTS_DIR_ENV: &str = "SSI_SCRIPTS_DIR";
/// Overrides [`DEFAULT_LOG_DIR`] (tests, unusual installs).
pub const LOG_DIR_ENV: &str = "SSI_LOG_DIR";

/// The scripts directory and the log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// Directory of check scripts.
    pub scripts: PathBuf,
    /// Directory of `<id>.log` files.
    pub logs: PathBuf,
}

impl Dirs {
    /// The directories from `SSI_SCRIPTS_DIR` / `SSI_LOG_DIR`, or the
    /// defaults when those are unset or empty.
    pub fn from_env() -> Dirs {
        Dirs {
            scripts: env_path(SCRIPTS_DIR_ENV, DEFAULT_SCRIPTS_DIR),
            logs: env_path(LOG_DIR_ENV, DEFAULT_LOG_DIR),
        }
    }
}

/// The path in the environment variable `var`, or `default` when it is
/// unset or empty: every `SSI_*_DIR` override reads this way.
pub fn env_path(var: &str, default: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(default),
    }
}

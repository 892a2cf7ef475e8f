//! Notifications: a check's status changing (or its run going missing)
//! becomes an [`event::Event`], delivered once to each hook executable of
//! the hooks directory.
//!
//! [`detect`] turns what a log gained since the last look
//! ([`ssi::logfile::forward::read_new`]) and lateness into events (with
//! flap control), [`state`] keeps both and the deliveries owed across restarts and reboots,
//! [`owed`] which are still owed and who is delivering one (claimed before
//! it runs, so that it runs once), and [`hook`] runs one hook with one
//! event. [`pass`] puts them together for `ssi-status notify`,
//! `notify-deliver` and `notify-test`.

pub mod detect;
pub mod event;
pub mod hook;
pub mod hush;
pub mod owed;
pub mod pass;
pub mod route;
pub mod state;

use std::path::PathBuf;

pub use pass::{run, run_deliver, run_test};

/// Where an administrator drops notification hooks.
pub const DEFAULT_HOOKS_DIR: &str = "/etc/service-status-indicator/notify.d";
/// Overrides [`DEFAULT_HOOKS_DIR`] (tests, unusual installs).
pub const HOOKS_DIR_ENV: &str = "SSI_HOOKS_DIR";
/// Where the notifier keeps its state.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/service-status-indicator";
/// Overrides [`DEFAULT_STATE_DIR`] (tests, unusual installs).
pub const STATE_DIR_ENV: &str = "SSI_STATE_DIR";

/// The hooks directory from [`HOOKS_DIR_ENV`], or the default.
pub fn hooks_dir() -> PathBuf {
    ssi::dirs::env_path(HOOKS_DIR_ENV, DEFAULT_HOOKS_DIR)
}

/// The state directory from [`STATE_DIR_ENV`], or the default.
pub fn state_dir() -> PathBuf {
    ssi::dirs::env_path(STATE_DIR_ENV, DEFAULT_STATE_DIR)
}

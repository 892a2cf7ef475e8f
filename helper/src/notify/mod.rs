//! Notifications: a check's status changing (or its run going missing)
//! becomes an [`event::Event`], delivered once to each hook executable of
//! the hooks directory.
//!
//! [`detect`] turns what a log gained since the last look
//! ([`ssi::logfile::forward::read_new`]) and lateness into events (with flap control), [`state`]
//! keeps both and the deliveries owed across restarts and reboots,
//! [`owed`] which are still owed and who is delivering one (claimed before
//! it runs, so that it runs once), and [`hook`] runs one hook with one
//! event. [`pass`] puts them together for `ssi-status notify` and its
//! units.

pub mod detect;
pub mod event;
pub mod hook;
pub mod owed;
pub mod pass;
pub mod state;

use std::path::PathBuf;

use crate::cli::{DeliverArgs, NotifyArgs, NotifyDirs, NotifyTestArgs, RetryArgs};
use crate::command::{self, fail, Ctx, Failure, Outcome};
use crate::exit::Exit;
use crate::find;

pub use pass::{Places, Retry};

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

impl NotifyDirs {
    pub fn places(&self) -> Places {
        Places {
            hooks: self.hooks_dir.clone().unwrap_or_else(hooks_dir),
            state: self.state_dir.clone().unwrap_or_else(state_dir),
        }
    }
}

impl RetryArgs {
    pub fn retry(&self) -> Retry {
        Retry {
            attempts: self.attempts,
            pause: self.retry_sec,
            limit: self.timeout,
        }
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

/// `ssi-status notify`.
pub fn run(ctx: &Ctx, a: &NotifyArgs) -> Result<Outcome, Failure> {
    let after = match a.after {
        Some(n) => n,
        None => default_after()?,
    };
    let entries = command::load(ctx, true)?;
    pass::notify(ctx, &entries, after, &a.dirs.places(), a.retry.retry())
}

/// `ssi-status notify-test [ID]`.
pub fn run_test(ctx: &Ctx, a: &NotifyTestArgs) -> Result<Outcome, Failure> {
    let entry = match &a.id {
        Some(id) => Some(find::one(ctx, id)?),
        None => None,
    };
    pass::test(entry.as_ref(), &a.dirs.places(), a.timeout, ctx)
}

/// `ssi-status notify-deliver DELIVERY`.
pub fn run_deliver(_ctx: &Ctx, a: &DeliverArgs) -> Result<Outcome, Failure> {
    pass::deliver(&a.delivery, &a.dirs.places(), a.retry.retry())
}

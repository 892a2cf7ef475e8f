//! `ssi-status ack`: acknowledges a check's current problem. The notifier
//! tells nothing more of that status (no reminders either) until the check
//! changes: a recovery, which is told and ends the acknowledgement by
//! itself, or another problem, which is told and ends it too.

use std::path::Path;

use ssi::quiet::store::Ack;

use crate::cli::AckArgs;
use crate::command::{fail, Ctx, Failure, Outcome};
use crate::entry::Entry;
use crate::exit::Exit;
use crate::find;
use crate::notify::detect::is_good;
use crate::quiet::{journal, who};
use crate::silence::{or_none, store};

/// `ack ID`: [`ack`] of the one check named.
pub fn run(ctx: &Ctx, a: &AckArgs) -> Result<Outcome, Failure> {
    let entry = find::one(ctx, &a.id)?;
    ack(
        ctx,
        &entry,
        a.reason.as_deref().unwrap_or(""),
        &a.state.dir(),
    )
}

/// Acknowledges `entry`'s current status (which must be bad) for `reason`.
pub fn ack(ctx: &Ctx, entry: &Entry, reason: &str, dir: &Path) -> Result<Outcome, Failure> {
    let Some(id) = &entry.script.id else {
        return Err(fail(
            Exit::Failure,
            format!("{}: {}", entry.label(), entry.script.reason()),
        ));
    };
    let status = match &entry.last {
        Some(l) if !is_good(l.line.status) => l.line.status,
        Some(l) => {
            return Err(fail(
                Exit::Failure,
                format!(
                    "{id}: status {}, nothing to acknowledge; nothing changed",
                    l.line.status
                ),
            ))
        }
        None => {
            return Err(fail(
                Exit::Failure,
                format!("{id}: no status yet, nothing to acknowledge; nothing changed"),
            ))
        }
    };
    let by = who();
    let store = store(dir)?;
    let mut state = store.load().map_err(|e| fail(Exit::Failure, e))?;
    state.acks.insert(
        id.to_string(),
        Ack {
            by: by.clone(),
            reason: reason.to_owned(),
            since: ctx.now.as_second(),
            status,
        },
    );
    store.save(&state).map_err(|e| fail(Exit::Failure, e))?;
    let line = format!("{id}: {status} acknowledged until it recovers");
    journal(&format!("{line}, by {by}; reason: {}", or_none(reason)));
    Ok(Outcome {
        stdout: line + "\n",
        code: Exit::Success,
    })
}

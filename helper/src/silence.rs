//! `ssi-status silence` and `unsilence`: no notification for some checks
//! (or all) until a time, or until lifted. The checks keep running and
//! recording; the notifier keeps what it did not tell for when the
//! silence ends. `silence --all --until` is a one-off maintenance window.
//!
//! Each change is checked whole first (every id known, the end to come),
//! so that bad input changes nothing; then written under the quiet
//! state's lock, and logged to the journal with who and why.

use std::path::Path;

use jiff::Timestamp;
use ssi::quiet::store::{Silence, Store, ALL};
use ssi::service::discover;

use crate::basetime;
use crate::cli::SilenceArgs;
use crate::command::{fail, Ctx, Failure, Outcome};
use crate::exit::Exit;
use crate::find;
use crate::look;
use crate::quiet::{journal, who};

/// The checks `args` name, as service ids; an error naming every unknown
/// one (and the known ids) when any is unknown.
pub fn resolve(ctx: &Ctx, args: &[String]) -> Result<Vec<String>, Failure> {
    let found = discover(&ctx.dirs.scripts).map_err(|e| fail(Exit::Failure, e.to_string()))?;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for a in args {
        match find::find(&found.scripts, a).and_then(|s| s.id.as_ref()) {
            Some(id) => ids.push(id.to_string()),
            None => unknown.push(find::not_found(&found.scripts, a)),
        }
    }
    if !unknown.is_empty() {
        return Err(fail(
            Exit::Failure,
            format!("{}; nothing changed", unknown.join("; ")),
        ));
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// `silence`: the end from `--for` or `--until` (a time to come), then
/// [`silence`].
pub fn run(ctx: &Ctx, a: &SilenceArgs) -> Result<Outcome, Failure> {
    let until = match (&a.for_span, &a.until) {
        (Some(span), _) => {
            let usec = ssi::timespan::parse_usec(span)
                .map_err(|e| fail(Exit::Usage, format!("--for {span:?}: {e}")))?;
            let secs = i64::try_from(usec / 1_000_000).unwrap_or(i64::MAX);
            if secs < 1 {
                return Err(fail(
                    Exit::Usage,
                    format!("--for {span:?}: expected at least 1 s; nothing changed"),
                ));
            }
            Some(
                Timestamp::from_second(ctx.now.as_second().saturating_add(secs))
                    .map_err(|e| fail(Exit::Usage, format!("--for {span:?}: {e}")))?,
            )
        }
        (None, Some(t)) => {
            let usec = basetime::parse_option("--until", t, &ctx.local, ctx.now)
                .map_err(|e| fail(Exit::Usage, e))?;
            let ts = Timestamp::from_microsecond(usec as i64)
                .map_err(|e| fail(Exit::Usage, format!("--until {t:?}: {e}")))?;
            if ts <= ctx.now {
                return Err(fail(
                    Exit::Usage,
                    format!(
                        "--until {t:?}: {} is not in the future, expected a time to come; nothing changed",
                        look::long_time(ts, &ctx.tz)
                    ),
                ));
            }
            Some(ts)
        }
        (None, None) => None,
    };
    silence(
        ctx,
        &a.ids,
        a.all,
        until,
        a.reason.as_deref().unwrap_or(""),
        &a.state.dir(),
    )
}

/// Opens (creating when needed) and locks the quiet state in `dir`.
pub fn store(dir: &Path) -> Result<Store, Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        fail(
            Exit::Failure,
            format!(
                "{}: cannot create state directory: {e}; {}",
                dir.display(),
                ssi::quiet::store::NEEDS_RIGHTS
            ),
        )
    })?;
    Store::lock(dir).map_err(|e| fail(Exit::Failure, e))
}

/// Silences `ids` (or every check with `all`) until `until` (`None`:
/// until lifted) for `reason`.
pub fn silence(
    ctx: &Ctx,
    ids: &[String],
    all: bool,
    until: Option<Timestamp>,
    reason: &str,
    dir: &Path,
) -> Result<Outcome, Failure> {
    let targets = if all {
        vec![ALL.to_owned()]
    } else {
        resolve(ctx, ids)?
    };
    let by = who();
    let store = store(dir)?;
    let mut state = store.load().map_err(|e| fail(Exit::Failure, e))?;
    state.expire(ctx.now);
    let end = match until {
        Some(t) => format!("until {}", look::long_time(t, &ctx.tz)),
        None => String::from("until lifted"),
    };
    let mut stdout = String::new();
    for id in &targets {
        state.silences.insert(
            id.clone(),
            Silence {
                by: by.clone(),
                reason: reason.to_owned(),
                since: ctx.now.as_second(),
                until: until.map(Timestamp::as_second),
            },
        );
        let what = if id == ALL {
            if until.is_some() {
                String::from("every check: in maintenance")
            } else {
                String::from("every check: silenced")
            }
        } else {
            format!("{id}: silenced")
        };
        stdout.push_str(&format!("{what} {end}\n"));
    }
    store.save(&state).map_err(|e| fail(Exit::Failure, e))?;
    for line in stdout.lines() {
        journal(&format!("{line}, by {by}; reason: {}", or_none(reason)));
    }
    Ok(Outcome {
        stdout,
        code: Exit::Success,
    })
}

/// A reason as the journal tells it: an empty one is "(none given)".
pub fn or_none(reason: &str) -> &str {
    if reason.is_empty() {
        "(none given)"
    } else {
        reason
    }
}

/// Lifts the silences of `ids` (with `all`, every silence, one-off
/// maintenance included). A check that is not silenced is an error, and
/// nothing changes.
pub fn unsilence(ctx: &Ctx, ids: &[String], all: bool, dir: &Path) -> Result<Outcome, Failure> {
    let targets = if all { Vec::new() } else { resolve(ctx, ids)? };
    let by = who();
    let store = store(dir)?;
    let mut state = store.load().map_err(|e| fail(Exit::Failure, e))?;
    state.expire(ctx.now);
    let lifted: Vec<String> = if all {
        if state.silences.is_empty() {
            return Err(fail(Exit::Failure, "no silence to lift; nothing changed"));
        }
        std::mem::take(&mut state.silences).into_keys().collect()
    } else {
        let not: Vec<&String> = targets
            .iter()
            .filter(|id| !state.silences.contains_key(*id))
            .collect();
        if let Some(first) = not.first() {
            let hint = if state.silences.contains_key(ALL) {
                " (every check is silenced: lift that with \"unsilence --all\")"
            } else {
                ""
            };
            return Err(fail(
                Exit::Failure,
                format!(
                    "{}: not silenced{hint}; nothing changed",
                    if not.len() == 1 {
                        first.to_string()
                    } else {
                        not.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ));
        }
        for id in &targets {
            state.silences.remove(id);
        }
        targets
    };
    store.save(&state).map_err(|e| fail(Exit::Failure, e))?;
    let mut stdout = String::new();
    for id in &lifted {
        let name = if id == ALL {
            "every check"
        } else {
            id.as_str()
        };
        stdout.push_str(&format!("{name}: silence lifted\n"));
        journal(&format!("{name}: silence lifted, by {by}"));
    }
    Ok(Outcome {
        stdout,
        code: Exit::Success,
    })
}

//! `ssi-status notify`, `notify-deliver` and `notify-test`: the notifier
//! that `ssi-notify@.service` runs on every change of the log directory
//! (and every minute, for lateness and scripts turned invalid or valid),
//! the delivery of one event to one hook that `ssi-notify-hook@.service`
//! runs, and a test event through every hook for an administrator.
//!
//! The notifier decides under the state lock what is new, owes each event
//! to each trusted hook (the event in the state file's outbox, a file per
//! delivery in `notify.owed/`), saves it, and only then starts one
//! `ssi-notify-hook@<delivery>.service` per delivery owed. Whoever delivers
//! claims the delivery first ([`crate::notify::owed`]), so two passes at once
//! never run it twice, and removes its file when the hook succeeded or its
//! attempts ran out; the next pass drops it from the outbox. A restart or a
//! reboot re-sends nothing delivered and loses nothing owed.
//!
//! One hook hears of one check in the order things happened (a recovery
//! never before its failure): the deliveries of one hook and one check are
//! a *chain*. A pass starts only the oldest owed delivery of each chain; a
//! delivery, once done or given up, starts the next of its chain; a delivery
//! started while an older one of its chain is owed waits for it (it is left
//! owed, and started again in its turn). Chains do not wait for each other,
//! and since every pass (the timer's, every minute) starts the oldest of
//! each chain, a delivery whose unit died never holds its chain for long.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use crate::notify::detect::{self, Input};
use crate::notify::event::{Event, Kind};
use crate::notify::hook;
use crate::notify::hush;
use crate::notify::owed::{Claimed, Owed};
use crate::notify::route::{self, Hook};
use crate::notify::state::{Delivery, Loaded, State, Store};
use ssi::quiet::window::Window;
use ssi::service::discover_executables;
use ssi::status::rfc3339;

use crate::cli::{DeliverArgs, NotifyArgs, NotifyDirs, NotifyTestArgs, RetryArgs};
use crate::command::{self, fail, Ctx, Failure, Outcome};
use crate::entry::Entry;
use crate::exit::Exit;
use crate::find;
use crate::notify::{hooks_dir, state_dir};
use crate::systemd;

/// The template unit each delivery runs as.
pub const HOOK_UNIT: &str = "ssi-notify-hook@";

/// How hooks are run: attempts, the pause before the second (doubling
/// after), and each attempt's time limit.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all.
    pub attempts: u32,
    /// Seconds before the second attempt; doubles for each later one.
    pub pause: u64,
    /// Seconds each attempt may take.
    pub limit: u64,
}

/// What applies to checks whose manifest says nothing.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// Runs a new status must hold.
    pub after: u32,
    /// Seconds after which a still-bad check is told again.
    pub remind: Option<u32>,
}

/// Where hooks and state live.
pub struct Places {
    /// The hooks directory.
    pub hooks: PathBuf,
    /// The state directory.
    pub state: PathBuf,
}

fn load_state(store: &Store) -> Result<Loaded, Failure> {
    let loaded = store.load().map_err(|e| fail(Exit::Failure, e))?;
    if let Some(w) = &loaded.warning {
        log::warn!("{w}");
    }
    Ok(loaded)
}

fn locked(places: &Places) -> Result<Store, Failure> {
    Store::lock(&places.state).map_err(|e| fail(Exit::Failure, e))
}

fn owed(places: &Places) -> Result<Owed, Failure> {
    Owed::open(&places.state).map_err(|e| fail(Exit::Failure, e))
}

/// The hooks of the hooks directory that may run, with their routing
/// declarations; every refused one is reported (`path: reason,
/// ignoring.`), a bad declaration refusing its hook.
fn trusted_hooks(dir: &Path) -> Result<Vec<Hook>, Failure> {
    let found = route::hooks(dir).map_err(|e| fail(Exit::Failure, e.to_string()))?;
    Ok(found
        .into_iter()
        .filter(|h| match h.refusal() {
            Some(why) => {
                log::warn!("{}: {why}, ignoring.", h.exe.path.display());
                false
            }
            None => true,
        })
        .collect())
}

/// Quiet applied to one pass's `events` (see [`crate::notify::hush`]):
/// silences that ended are dropped, acknowledgements that ended removed,
/// each step logged; the events to tell.
fn apply_quiet(
    ctx: &Ctx,
    entries: &[Entry],
    checks: &mut BTreeMap<String, detect::Check>,
    events: Vec<(String, Event)>,
    inputs: &[Input],
    remind: Option<u32>,
    places: &Places,
) -> Result<Vec<(String, Event)>, Failure> {
    let host = &ssi::host::name();
    let store =
        ssi::quiet::store::Store::lock(&places.state).map_err(|e| fail(Exit::Failure, e))?;
    let mut state = match store.load() {
        Ok(s) => s,
        // Better told too much than nothing: a broken quiet state hushes
        // nothing, and says so at every pass until it is fixed.
        Err(e) => {
            log::warn!("{e}; telling every event");
            let hushed = hush::apply(
                checks,
                events,
                inputs,
                &|_| ssi::quiet::Quiet::default(),
                &|_| None,
                ctx.now,
                host,
            );
            return Ok(hushed.told);
        }
    };
    let before = state.clone();
    for id in state.expire(ctx.now) {
        log::warn!("{id}: silence ended");
    }
    let mut windows: BTreeMap<String, Option<Window>> = BTreeMap::new();
    let mut reminds: BTreeMap<String, Option<u32>> = BTreeMap::new();
    for e in entries {
        if let Some(id) = &e.script.id {
            windows.insert(id.to_string(), crate::quiet::window_of(e));
            reminds.insert(id.to_string(), e.script.manifest.remind_every.or(remind));
        }
    }
    let judge = |id: &str| {
        let w = windows.get(id).and_then(Option::as_ref);
        ssi::quiet::judge(&state, id, w, ctx.now, &ctx.tz)
    };
    let every = |id: &str| reminds.get(id).copied().flatten();
    let hushed = hush::apply(checks, events, inputs, &judge, &every, ctx.now, host);
    for (e, why) in &hushed.quiet {
        log::warn!("{}: {} not told: {why}", e.id, e.event.as_str());
    }
    for id in &hushed.acks_ended {
        if state.acks.remove(id).is_some() {
            log::warn!("{id}: acknowledgement ended (the status changed)");
        }
    }
    if state != before {
        store.save(&state).map_err(|e| fail(Exit::Failure, e))?;
    }
    Ok(hushed.told)
}

/// One pass of the notifier: new events owed to every hook, then every
/// delivery owed started (under systemd) or done here (without).
pub fn notify(
    ctx: &Ctx,
    entries: &[Entry],
    defaults: Defaults,
    places: &Places,
    retry: Retry,
) -> Result<Outcome, Failure> {
    let after = defaults.after;
    let inputs: Vec<Input> = entries
        .iter()
        .filter_map(|e| {
            let v = e.script.valid()?;
            Some(Input {
                id: v.id.to_string(),
                name: v.name.to_owned(),
                log: e.log.clone()?,
                after: e.script.manifest.notify_after.unwrap_or(after),
                late: e.units.as_ref().map(|_| e.is_late(ctx.now)),
                timeout: v.timeout,
            })
        })
        .collect();
    // Scripts there but refused: their checks are remembered for when
    // they are valid again.
    let refused: BTreeSet<String> = entries
        .iter()
        .filter(|e| !e.script.is_valid())
        .filter_map(|e| e.script.id.as_ref().map(ToString::to_string))
        .collect();
    let host = ssi::host::name();
    let store = locked(places)?;
    let Loaded {
        mut state, fresh, ..
    } = load_state(&store)?;
    let owed = owed(places)?;
    // Deliveries done (their files gone) leave the outbox; a file no
    // delivery of the outbox names (a crash before a save, a state set
    // aside) goes.
    let present = owed.keys().map_err(|e| fail(Exit::Failure, e))?;
    state.outbox.retain(|k, _| present.contains(k));
    for k in present.iter().filter(|k| !state.outbox.contains_key(*k)) {
        owed.remove(k).map_err(|e| fail(Exit::Failure, e))?;
    }
    let mut events = detect::validity(
        &mut state.invalid,
        entries.iter().map(|e| &e.script),
        ctx.now,
        &host,
    );
    let scan = detect::scan(
        &mut state.checks,
        &inputs,
        &refused,
        fresh,
        &ctx.tz,
        ctx.now,
        &host,
    );
    for w in &scan.warnings {
        log::warn!("{w}");
    }
    events.extend(scan.events);
    let events = apply_quiet(
        ctx,
        entries,
        &mut state.checks,
        events,
        &inputs,
        defaults.remind,
        places,
    )?;
    let hooks = if events.is_empty() {
        Vec::new()
    } else {
        trusted_hooks(&places.hooks)?
    };
    for (key, event) in &events {
        let mut what = format!("{}: {}", event.id, event.event.as_str());
        if matches!(event.event, Kind::Change | Kind::Recovery) {
            let from = match event.previous_status.as_str() {
                "" => "-",
                s => s,
            };
            what.push_str(&format!(" {from} -> {}", event.status));
        }
        if hooks.is_empty() {
            log::warn!("{what}; no hook in {} to tell", places.hooks.display());
        }
        let wanting: Vec<&Hook> = hooks.iter().filter(|h| h.wants(event)).collect();
        if !hooks.is_empty() && wanting.is_empty() {
            log::warn!("{what}; no hook's route wants it");
        }
        for h in wanting {
            if let Some(d) = state.queue(&h.name(), key, event.clone()) {
                owed.add(&d, 0).map_err(|e| fail(Exit::Failure, e))?;
                log::info!("{what}; delivery {d}");
            }
        }
    }
    // What the state owes is owed on disk before the state says so.
    owed.sync().map_err(|e| fail(Exit::Failure, e))?;
    store.save(&state).map_err(|e| fail(Exit::Failure, e))?;
    drop(store);
    let due: Vec<(String, Delivery)> = state
        .in_order()
        .into_iter()
        .map(|(k, d)| (k.clone(), d.clone()))
        .collect();
    if due.is_empty() {
        return Ok(Outcome {
            stdout: String::new(),
            code: Exit::Success,
        });
    }
    if systemd::is_running() {
        // The next of each chain is started by the delivery before it.
        start_units(&heads(&due))?;
    } else {
        let mut synced = Instant::now();
        for (key, delivery) in &due {
            // One hook's failure is reported and the pass goes on.
            if let Err(f) = deliver_claimed(&owed, key, delivery, places, retry) {
                log::error!("{}", f.message);
            }
            // What was delivered is made durable at least every second
            // (see crate::notify::owed), not once per delivery.
            if synced.elapsed() >= Duration::from_secs(1) {
                owed.sync().map_err(|e| fail(Exit::Failure, e))?;
                synced = Instant::now();
            }
        }
        owed.sync().map_err(|e| fail(Exit::Failure, e))?;
    }
    Ok(Outcome {
        stdout: String::new(),
        code: Exit::Success,
    })
}

/// The chain a delivery belongs to: its hook and its check. One hook is
/// told of one check in the order the events were owed.
fn chain(d: &Delivery) -> (&str, &str) {
    (&d.hook, &d.event.id)
}

/// The first delivery of each chain among `due` (owed, in order).
fn heads(due: &[(String, Delivery)]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    due.iter()
        .filter(|(_, d)| seen.insert(chain(d)))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The oldest delivery of `of`'s chain still owed (its file there) in
/// `state`. Asked under the state lock, so that a pass owing a new
/// delivery of the chain meanwhile has either saved it or not yet listed
/// what is owed (and then starts it itself).
fn first_of_chain(state: &State, owed: &Owed, of: &Delivery) -> Result<Option<String>, Failure> {
    let present = owed.keys().map_err(|e| fail(Exit::Failure, e))?;
    Ok(state
        .in_order()
        .into_iter()
        .find(|(k, d)| present.contains(*k) && chain(d) == chain(of))
        .map(|(k, _)| k.clone()))
}

/// `systemctl start --no-block` of every delivery's unit: one call; a unit
/// already running (retrying) is left as it is.
fn start_units(keys: &[String]) -> Result<(), Failure> {
    let units: Vec<String> = keys
        .iter()
        .map(|k| format!("{HOOK_UNIT}{k}.service"))
        .collect();
    let out = Command::new(systemd::program())
        .args(["start", "--no-block"])
        .args(&units)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(Exit::Failure, format!("cannot run systemctl: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(fail(
            Exit::Failure,
            format!(
                "systemctl start {}: {}: {}",
                units.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ))
    }
}

/// Delivers `key` of the outbox (`notify-deliver`, one hook unit): see
/// [`deliver_claimed`]; then, under systemd, starts the next delivery of
/// its chain, whether this one was delivered or given up. A key no longer
/// owed is done already; one whose chain owes an older delivery is left
/// owed: that one starts it when done (or a later pass does).
pub fn deliver(key: &str, places: &Places, retry: Retry) -> Result<Outcome, Failure> {
    let done = Outcome {
        stdout: String::new(),
        code: Exit::Success,
    };
    let owed = owed(places)?;
    let (delivery, first) = {
        let store = locked(places)?;
        let state = load_state(&store)?.state;
        let Some(delivery) = state.outbox.get(key).cloned() else {
            return Ok(done);
        };
        let first = first_of_chain(&state, &owed, &delivery)?;
        (delivery, first)
    };
    if let Some(first) = first.filter(|k| k != key) {
        eprintln!(
            "ssi-status: {} ({} of {}): waits for delivery {first}, owed before it",
            delivery.hook,
            delivery.event.event.as_str(),
            delivery.event.id
        );
        return Ok(done);
    }
    let result = deliver_claimed(&owed, key, &delivery, places, retry);
    // Done for good before the next is told: a power cut must not re-send
    // this one after its successor.
    owed.sync().map_err(|e| fail(Exit::Failure, e))?;
    if systemd::is_running() {
        // Still owed (another process holds it): that one starts the next.
        let next = {
            let store = locked(places)?;
            first_of_chain(&load_state(&store)?.state, &owed, &delivery)?
        };
        if let Some(next) = next.filter(|k| k != key) {
            // The timer's pass starts it within a minute if this fails.
            if let Err(f) = start_units(&[next]) {
                log::warn!("{}", f.message);
            }
        }
    }
    result
}

/// Delivers `key` (its `delivery`), claimed first so that it runs once
/// however many passes try at once: its hook run up to `retry.attempts`
/// times (counted in its claim, so a delivery killed midway resumes its
/// count), with a doubling pause between attempts; then it is owed no
/// more. A delivery another process holds, or one done already, is left.
fn deliver_claimed(
    owed: &Owed,
    key: &str,
    delivery: &Delivery,
    places: &Places,
    retry: Retry,
) -> Result<Outcome, Failure> {
    let done = || {
        Ok(Outcome {
            stdout: String::new(),
            code: Exit::Success,
        })
    };
    let label = format!(
        "{} ({} of {})",
        delivery.hook,
        delivery.event.event.as_str(),
        delivery.event.id
    );
    let failed = |e: String| fail(Exit::Failure, format!("{label}: {e}"));
    let mut claim = match owed.claim(key).map_err(failed)? {
        Claimed::Mine(c) => c,
        Claimed::Busy | Claimed::Settled => return done(),
    };
    let mut pause = retry.pause;
    loop {
        if claim.attempts() >= retry.attempts {
            claim.settle().map_err(failed)?;
            return Err(failed(format!(
                "no attempt left of {}, giving up",
                retry.attempts
            )));
        }
        let attempt = claim.start_attempt().map_err(failed)?;

        // The hook is judged again now: it may have changed since.
        let path = places.hooks.join(&delivery.hook);
        let trusted = discover_executables(&places.hooks)
            .map_err(|e| fail(Exit::Failure, e.to_string()))?
            .into_iter()
            .find(|h| h.path == path);
        let result = match trusted {
            Some(h) if h.is_trusted() => {
                hook::run(&path, &delivery.event, Duration::from_secs(retry.limit))
            }
            Some(h) => Err(format!("refused: {}", h.reason())),
            None => Err(format!("{} is gone", path.display())),
        };
        match result {
            Ok(()) => {
                claim.settle().map_err(failed)?;
                log::info!("{label}: delivered (attempt {attempt})");
                return done();
            }
            Err(why) if attempt >= retry.attempts => {
                claim.settle().map_err(failed)?;
                return Err(failed(format!(
                    "attempt {attempt} of {} failed: {why}; giving up",
                    retry.attempts
                )));
            }
            Err(why) => {
                log::warn!(
                    "{label}: attempt {attempt} of {} failed: {why}; next in {pause} s",
                    retry.attempts
                );
                sleep(Duration::from_secs(pause));
                pause = pause.saturating_mul(2);
            }
        }
    }
}

/// A test event through every hook, each run here and now, in parallel;
/// one line per hook with its result. Exit 1 when any failed or none ran.
pub fn test(
    entry: Option<&Entry>,
    places: &Places,
    limit: u64,
    ctx: &Ctx,
) -> Result<Outcome, Failure> {
    let (id, name, status, message) = match entry {
        Some(e) => (
            e.label(),
            e.script.manifest.name.clone().unwrap_or_default(),
            e.last
                .as_ref()
                .map(|l| l.line.status.as_str().to_owned())
                .unwrap_or_default(),
            String::from("a test notification from ssi-status notify-test"),
        ),
        None => (
            String::from("test"),
            String::from("Test notification"),
            String::from("OK"),
            String::from("a test notification from ssi-status notify-test"),
        ),
    };
    let event = Event {
        event: Kind::Test,
        id,
        name,
        // A test is no change: no status before it (a mail that said
        // "OK (was OK)" read as one).
        previous_status: String::new(),
        status,
        message,
        timestamp: rfc3339(ctx.now),
        host: ssi::host::name(),
    };
    let found = route::hooks(&places.hooks).map_err(|e| fail(Exit::Failure, e.to_string()))?;
    if found.is_empty() {
        return Err(fail(
            Exit::Failure,
            format!("no hook in {}", places.hooks.display()),
        ));
    }
    let results: Vec<(String, Result<String, String>)> = std::thread::scope(|s| {
        let runs: Vec<_> = found
            .iter()
            .map(|h| {
                let event = &event;
                s.spawn(move || match h.refusal() {
                    None => hook::run(&h.exe.path, event, Duration::from_secs(limit)),
                    Some(why) => Err(format!("refused: {why}")),
                })
            })
            .collect();
        found
            .iter()
            .zip(runs)
            .map(|(h, r)| {
                let result = r.join().unwrap_or_else(|_| Err(String::from("crashed")));
                // What the hook gets, when a declaration routes it.
                let result = result.map(|()| match &h.route {
                    Ok(Some(route)) => format!(" (route: {})", route.describe()),
                    _ => String::new(),
                });
                (h.exe.path.display().to_string(), result)
            })
            .collect()
    });
    let mut stdout = String::new();
    for (path, r) in &results {
        match r {
            Ok(route) => stdout.push_str(&format!("{path}: ok{route}\n")),
            Err(why) => stdout.push_str(&format!("{path}: failed: {why}\n")),
        }
    }
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if failed == 0 {
        Ok(Outcome {
            stdout,
            code: Exit::Success,
        })
    } else {
        Err(Failure {
            code: Exit::Failure,
            stdout,
            message: format!("{failed} of {} hooks failed", results.len()),
        })
    }
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
    let remind = default_remind(a)?;
    let entries = command::load(ctx, true)?;
    notify(
        ctx,
        &entries,
        Defaults { after, remind },
        &a.dirs.places(),
        a.retry.retry(),
    )
}

/// `--remind-every`, else `SSI_REMIND_EVERY`, else none; seconds.
fn default_remind(a: &NotifyArgs) -> Result<Option<u32>, Failure> {
    let (what, value) = match &a.remind_every {
        Some(v) => ("--remind-every", v.clone()),
        None => match std::env::var("SSI_REMIND_EVERY") {
            Ok(v) if !v.is_empty() => ("SSI_REMIND_EVERY", v),
            _ => return Ok(None),
        },
    };
    ssi::timespan::parse_whole_seconds(&value, 1, ssi::manifest::MAX_REMIND_EVERY_SECS)
        .map(Some)
        .map_err(|e| fail(Exit::Usage, format!("{what} {value:?}: {e}")))
}

/// `ssi-status notify-test [ID]`.
pub fn run_test(ctx: &Ctx, a: &NotifyTestArgs) -> Result<Outcome, Failure> {
    let entry = match &a.id {
        Some(id) => Some(find::one(ctx, id)?),
        None => None,
    };
    test(entry.as_ref(), &a.dirs.places(), a.timeout, ctx)
}

/// `ssi-status notify-deliver DELIVERY`.
pub fn run_deliver(_ctx: &Ctx, a: &DeliverArgs) -> Result<Outcome, Failure> {
    deliver(&a.delivery, &a.dirs.places(), a.retry.retry())
}

//! Step 3 of the data flow: each check's last run as systemd knows it
//! (`ExecMainStartTimestamp` and `ExecMainExitTimestamp` of
//! `ssi_<id>.service`, read with [`ssi::systemd::show`]), kept current by a
//! thread of its own so that a history answer never waits for systemd:
//! under a real systemd 252, `systemctl show` of 1,000 units over the bus
//! takes seconds, and the dashboard's history must come in well under 300
//! ms.
//!
//! The thread asks only for checks whose latest status line it has not
//! yet matched with a run, in batches of [`BATCH`] units, each bounded by
//! [`crate::opts::SYSTEMCTL_TIMEOUT`] (by default). A status line is written while its run is still going (or,
//! for a failed run's ERROR line, just after it): while systemd says the
//! unit's main process runs, it is asked again every second (for ten
//! minutes at most), whatever the check's period; a finished run that is
//! not the line's (a line written by hand) is asked for a few times, then
//! the line is given up on. Without systemd the thread is not started and
//! nothing is known.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ssi::history::RUN_SLACK;
use ssi::service::UNIT_PREFIX;
use ssi::systemd::{self, RUN_PROPERTIES};

use crate::hub::Hub;

/// The most units one `systemctl show` names.
pub const BATCH: usize = 100;
/// How often the statuses are looked at for lines not matched yet.
const POLL: Duration = Duration::from_secs(2);
/// How many times a check whose run did not end yet is asked for again
/// (after `crate::opts::RUNS_RETRY`, by default).
const TRIES: u32 = 5;
/// How long, while a run is under way, before it is asked for again, and
/// how many times (a run is waited for 10 minutes at most).
const WAIT: Duration = Duration::from_secs(1);
const WAITS: u32 = 600;
/// After a failed `systemctl show`, how long before the next.
const BACKOFF: Duration = Duration::from_secs(60);

/// The last runs known, by service id.
pub struct Runs {
    known: Mutex<HashMap<String, Known>>,
    timeout: Duration,
    retry: Duration,
}

#[derive(Debug, Clone)]
struct Known {
    /// The last run systemd reported.
    run: Option<(Timestamp, Timestamp)>,
    /// The status line (its time stamp) this is the answer for, once
    /// matched or given up on.
    settled: Option<String>,
    /// Tries for the current line, waits for a run under way, and when
    /// the next may be.
    tries: u32,
    waits: u32,
    next: Instant,
}

impl Runs {
    /// Nothing known yet; `systemctl show` bounded by `timeout`, a run
    /// not ended asked for again after `retry`.
    pub fn new(timeout: Duration, retry: Duration) -> Arc<Runs> {
        Arc::new(Runs {
            known: Mutex::default(),
            timeout,
            retry,
        })
    }

    /// The last run of service `id` (start, main process exit), if known.
    pub fn last_run(&self, id: &str) -> Option<(Timestamp, Timestamp)> {
        self.lock().get(id).and_then(|k| k.run)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the thread that keeps the runs of `hub`'s services current,
    /// when systemd is running; it ends when the hub shuts down.
    pub fn start(self: &Arc<Runs>, hub: Arc<Hub>) -> std::io::Result<()> {
        if !systemd::is_running() {
            return Ok(());
        }
        let runs = Arc::clone(self);
        std::thread::Builder::new()
            .name("ssi-runs".into())
            .spawn(move || runs.run(&hub))
            .map(drop)
    }

    fn run(&self, hub: &Hub) {
        let mut last_error: Option<String> = None;
        while !hub.is_shutting_down() {
            let wait = match self.refresh(hub) {
                Ok(wait) => {
                    last_error = None;
                    wait
                }
                Err(why) => {
                    if last_error.as_deref() != Some(why.as_str()) {
                        log::warn!("ssi-broadcaster: {why}; histories go without run durations");
                        last_error = Some(why);
                    }
                    BACKOFF
                }
            };
            // Sleep in short steps so that a shutdown is not held up.
            let until = Instant::now() + wait;
            while !hub.is_shutting_down() {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(Duration::from_millis(200)));
            }
        }
    }

    /// Asks systemd for one batch of checks whose latest line is not
    /// settled; how long until the next batch may be due.
    fn refresh(&self, hub: &Hub) -> Result<Duration, String> {
        let latest = hub.latest_times();
        let now = Instant::now();
        let due: Vec<(String, Option<String>)> = {
            let mut known = self.lock();
            // `latest` is sorted by id.
            known.retain(|id, _| latest.binary_search_by(|(l, _)| l.as_str().cmp(id)).is_ok());
            latest
                .into_iter()
                .filter(|(id, line)| {
                    known
                        .get(id)
                        .map_or(true, |k| k.settled != *line && k.next <= now)
                })
                .collect()
        };
        if due.is_empty() {
            return Ok(self.next_retry(now));
        }
        let batch = &due[..due.len().min(BATCH)];
        let units: Vec<String> = batch
            .iter()
            .map(|(id, _)| format!("{UNIT_PREFIX}{id}.service"))
            .collect();
        let mut state = systemd::show(&units, RUN_PROPERTIES, Some(self.timeout))?;
        let now = Instant::now();
        let mut known = self.lock();
        for ((id, line), unit) in batch.iter().zip(&units) {
            let unit = state.take(unit);
            let run = unit.as_ref().and_then(|u| u.last_run());
            let k = known.entry(id.clone()).or_insert(Known {
                run: None,
                settled: None,
                tries: 0,
                waits: 0,
                next: now,
            });
            if run.is_some() {
                k.run = run;
            }
            if ended_for(run, line.as_deref()) {
                k.settled = line.clone();
                (k.tries, k.waits) = (0, 0);
            } else if unit.as_ref().is_some_and(|u| u.run_under_way()) && k.waits < WAITS {
                // A run under way (the line's, or already the next one):
                // asked for again soon, whatever the check's period.
                k.waits += 1;
                k.next = now + self.retry.min(WAIT);
            } else {
                k.tries += 1;
                if k.tries >= TRIES {
                    k.settled = line.clone();
                    (k.tries, k.waits) = (0, 0);
                } else {
                    k.next = now + self.retry;
                }
            }
        }
        drop(known);
        if due.len() > batch.len() {
            return Ok(Duration::ZERO);
        }
        Ok(self.next_retry(now))
    }

    /// How long from `now` until a check asked for too early is due again,
    /// or [`POLL`] if sooner than that.
    fn next_retry(&self, now: Instant) -> Duration {
        self.lock()
            .values()
            .filter(|k| k.tries > 0 || k.waits > 0)
            .map(|k| k.next.saturating_duration_since(now))
            .fold(POLL, Duration::min)
    }
}

/// Whether `run` is over and is the run of (or after) the status line
/// given at `line` (RFC 3339), or there is no line to match.
fn ended_for(run: Option<(Timestamp, Timestamp)>, line: Option<&str>) -> bool {
    let Some(line) = line else {
        return true;
    };
    let (Some((_, exit)), Ok(at)) = (run, line.parse::<Timestamp>()) else {
        return false;
    };
    exit.saturating_add(RUN_SLACK)
        .is_ok_and(|until| until >= at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_line_is_settled_by_a_run_that_ended_after_it() {
        let run = Some((ts("2026-11-30T10:00:00Z"), ts("2026-11-30T10:00:04Z")));
        assert!(ended_for(run, Some("2026-11-30T10:00:03Z")));
        // The failed run's ERROR line, written just after the exit.
        assert!(ended_for(run, Some("2026-11-30T10:00:08Z")));
        // A line of a later run, still going (systemd still has the old).
        assert!(!ended_for(run, Some("2026-11-30T11:00:00Z")));
        assert!(!ended_for(None, Some("2026-11-30T11:00:00Z")));
        assert!(ended_for(None, None));
    }
}

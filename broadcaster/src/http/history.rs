//! Step 4 of the data flow: the history endpoints: a check's last status
//! lines and availability (`ssi::history`, the same as `ssi-status
//! history`), only for a client that asks, over plain HTTP. Nothing here is
//! ever pushed on the WebSocket, whose clients may know only the four
//! upstream message types.
//!
//! ```text
//! GET /api/services/<id>/history?limit=N   one check, N in 1..=500 (default 50)
//! GET /api/history?limit=N                 every check, N in 0..=50 (default 50),
//!                                          and the refused scripts with their problems
//! GET /api/refused                         the refused scripts alone, no log read
//! ```
//!
//! Each check's last run carries `duration_ms` where systemd knows it,
//! matched onto the line the run wrote exactly as `ssi-status history`
//! does ([`ssi::history::History::attach_run`]). The runs come from
//! [`crate::sink::runs`], kept current in the background: an answer never waits
//! for systemd, and without it, entries simply carry no duration.
//!
//! Histories are read on request from the end of each log with the bounded
//! backwards reader, not kept: an idle broadcaster holds no history at all,
//! and a request holds at most `limit` lines of at most
//! `ssi::history::MAX_MESSAGE` bytes per check. Requests for every check
//! take turns (one at a time, in order of arrival), so a burst of
//! dashboards cannot multiply that; and the queue is bounded, in all and
//! per source, with a bounded wait: a flood of them from one address gets
//! 503 (`Retry-After`) rather than a thread each waiting, and leaves room
//! for everyone else's.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use ssi::calendar::{CalendarSpec, LocalZone};
use ssi::history::{attach_run, read_history, Availability, Entry, Query};
use ssi::status::rfc3339;

use crate::http::pending;
use crate::hub::Hub;
use crate::messages::ServiceInfo;
use crate::refused::RefusedScript;
use crate::sink::runs::Runs;

/// Lines per check when the request does not say.
pub const DEFAULT_LIMIT: usize = 50;
/// The most lines of one check a request may ask for.
pub const MAX_LIMIT: usize = 500;
/// The most lines per check of a request for every check.
pub const MAX_LIMIT_ALL: usize = 50;
/// Checks at which reading the logs is split over two threads.
const PARALLEL_FROM: usize = 64;
/// Requests for every check waiting or being built, at most.
pub const QUEUE: usize = 16;
/// Of these, from one source (`pending::Source`), at most.
pub const QUEUE_PER_SOURCE: usize = 4;
/// The longest a request for every check waits for its turn.
pub const QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Where histories come from.
pub struct Source {
    log_dir: PathBuf,
    local: LocalZone,
    host: String,
    /// Requests for every check, taking turns.
    turns: Turns,
    /// Each check's last run, as systemd last told it.
    runs: Arc<Runs>,
}

/// An HTTP answer: status code and JSON (or a plain-text error).
pub struct Answer {
    /// 200, 400, 404, or 503 when the queue is full.
    pub code: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    fn error(code: u16, text: String) -> Answer {
        Answer {
            code,
            body: (text + "\n").into_bytes(),
        }
    }

    /// Whether the body is JSON (not a plain-text error).
    pub fn is_json(&self) -> bool {
        self.code == 200
    }
}

/// One check's history, as the endpoints give it.
#[derive(Serialize)]
pub struct ServiceHistory {
    /// The service id.
    id: String,
    /// Oldest first.
    entries: Vec<Entry>,
    /// Over 24 h and 7 d.
    availability: Availability,
    /// The schedule's next elapse, RFC 3339 UTC; null when it never
    /// elapses again or cannot be parsed.
    next_run: Option<String>,
    /// systemd's normalized form of the schedule.
    schedule_normalized: Option<String>,
    /// Why the log could not be read (the history is then empty).
    error: Option<String>,
}

/// `GET /api/history`.
#[derive(Serialize)]
struct AllHistories {
    /// This machine's host name.
    host: String,
    /// The time the availabilities end at.
    now: String,
    /// Sorted by id.
    services: Vec<ServiceHistory>,
    /// Scripts refused (they do not run), with why: the dashboard shows
    /// them beside the checks.
    invalid: Vec<RefusedScript>,
}

impl Source {
    /// Histories of the logs in `log_dir`, in the local time zone, with
    /// the last runs `runs` knows.
    pub fn new(log_dir: PathBuf, runs: Arc<Runs>) -> Source {
        Source {
            log_dir,
            local: LocalZone::from_env(),
            host: ssi::host::name(),
            turns: Turns::default(),
            runs,
        }
    }

    /// The answer to `path` (without its query) and `query` from `peer`,
    /// when `path` is a history endpoint; `None` for any other path.
    pub fn answer(&self, hub: &Hub, path: &str, query: &str, peer: IpAddr) -> Option<Answer> {
        if path == "/api/history" {
            return Some(self.all(hub, query, peer));
        }
        let id = path
            .strip_prefix("/api/services/")?
            .strip_suffix("/history")?;
        Some(self.one(hub, id, query))
    }

    fn one(&self, hub: &Hub, id: &str, query: &str) -> Answer {
        if !ssi::service::is_id(id) {
            return Answer::error(
                404,
                format!("no service {id:?}: expected a service id (a-z, 0-9, _)"),
            );
        }
        let limit = match limit(query, MAX_LIMIT) {
            Ok(n) => n,
            Err(e) => return Answer::error(400, e),
        };
        let Some(info) = hub.service(id) else {
            return Answer::error(404, format!("no service {id:?}"));
        };
        let mut h = self.read(&info, limit, Timestamp::now());
        h.attach_last_run(self.runs.last_run(id));
        json(&h)
    }

    fn all(&self, hub: &Hub, query: &str, peer: IpAddr) -> Answer {
        let limit = match limit(query, MAX_LIMIT_ALL) {
            Ok(n) => n,
            Err(e) => return Answer::error(400, e),
        };
        let _turn = match self.turns.take(pending::Source::of(peer), QUEUE_WAIT) {
            Ok(t) => t,
            Err(why) => return Answer::error(503, format!("{why}, try again later")),
        };
        let services = hub.services();
        let mut all = self.histories(&services, limit, Timestamp::now());
        for h in &mut all.services {
            h.attach_last_run(self.runs.last_run(&h.id));
        }
        all.invalid = hub.refused.list();
        json(&all)
    }

    fn histories(&self, services: &[ServiceInfo], limit: usize, now: Timestamp) -> AllHistories {
        let read = |chunk: &[ServiceInfo]| -> Vec<ServiceHistory> {
            chunk.iter().map(|s| self.read(s, limit, now)).collect()
        };
        let histories = if services.len() < PARALLEL_FROM {
            read(services)
        } else {
            // Logs are independent; two threads halve a cold dashboard.
            let (a, b) = services.split_at(services.len() / 2);
            std::thread::scope(|scope| {
                let first = scope.spawn(|| read(a));
                let mut second = read(b);
                let mut all = first
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                all.append(&mut second);
                all
            })
        };
        AllHistories {
            host: self.host.clone(),
            now: rfc3339(now),
            services: histories,
            invalid: Vec::new(),
        }
    }

    fn read(&self, info: &ServiceInfo, limit: usize, now: Timestamp) -> ServiceHistory {
        let path = self.log_dir.join(format!("{}.log", info.id));
        let q = Query {
            limit,
            since: None,
            now,
        };
        let (entries, availability, error) = match read_history(&path, self.local.time_zone(), &q) {
            Ok(h) => (h.entries, h.availability, None),
            Err(e) => (
                Vec::new(),
                Availability {
                    day: Default::default(),
                    week: Default::default(),
                    complete: false,
                    since: None,
                },
                Some(format!("cannot read {}: {e}", path.display())),
            ),
        };
        let spec = CalendarSpec::parse_in(&info.schedule, &self.local).ok();
        let next_run = spec.as_ref().and_then(|spec| {
            let after = u64::try_from(now.as_microsecond()).ok()?;
            let next = spec.next_elapse_usec(after, &self.local)?;
            Timestamp::from_microsecond(i64::try_from(next).ok()?)
                .ok()
                .map(rfc3339)
        });
        ServiceHistory {
            id: info.id.clone(),
            entries,
            availability,
            next_run,
            schedule_normalized: spec.map(|s| s.normalized()),
            error,
        }
    }
}

/// Requests for every check in order of arrival: the first is built, the
/// others wait. Bounded by [`QUEUE`] and [`QUEUE_PER_SOURCE`].
#[derive(Default)]
struct Turns {
    /// Ids and sources of the requests waiting, the one being built first.
    queue: Mutex<(VecDeque<(u64, pending::Source)>, u64)>,
    /// Notified whenever a request leaves the queue.
    moved: Condvar,
}

/// A request's place in [`Turns`]; dropping it leaves the queue.
struct Turn<'a> {
    turns: &'a Turns,
    id: u64,
}

impl Turns {
    fn lock(&self) -> MutexGuard<'_, (VecDeque<(u64, pending::Source)>, u64)> {
        // Every update is one push or retain: still consistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits, at most `wait`, until it is `source`'s request's turn; or
    /// says why it may not wait (the queue is full, the wait too long).
    fn take(&self, source: pending::Source, wait: Duration) -> Result<Turn<'_>, String> {
        let deadline = Instant::now() + wait;
        let mut q = self.lock();
        if q.0.len() >= QUEUE {
            return Err(format!("{QUEUE} history requests queued"));
        }
        if q.0.iter().filter(|(_, s)| *s == source).count() >= QUEUE_PER_SOURCE {
            return Err(format!(
                "{QUEUE_PER_SOURCE} history requests from this address queued"
            ));
        }
        let id = q.1;
        q.1 += 1;
        q.0.push_back((id, source));
        // From here on, the Turn takes the request out of the queue.
        let turn = Turn { turns: self, id };
        loop {
            if q.0.front().is_some_and(|(first, _)| *first == id) {
                return Ok(turn);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(q);
                return Err(format!("no turn for the history within {wait:?}"));
            }
            q = match self.moved.wait_timeout(q, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.turns.lock().0.retain(|(id, _)| *id != self.id);
        self.turns.moved.notify_all();
    }
}

impl ServiceHistory {
    /// Gives `run` (its start and main process exit), this check's last
    /// one, its duration on the status line it wrote.
    fn attach_last_run(&mut self, run: Option<(Timestamp, Timestamp)>) {
        if let Some((start, exit)) = run {
            attach_run(&mut self.entries, start, exit);
        }
    }
}

fn json<T: Serialize>(v: &T) -> Answer {
    match serde_json::to_vec(v) {
        Ok(mut body) => {
            body.push(b'\n');
            Answer { code: 200, body }
        }
        Err(e) => Answer::error(500, format!("cannot encode JSON: {e}")),
    }
}

/// The `limit` parameter of `query` (`a=b&limit=20`), at most `max`.
fn limit(query: &str, max: usize) -> Result<usize, String> {
    let mut limit = DEFAULT_LIMIT.min(max);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "limit" {
            continue;
        }
        let min = usize::from(max == MAX_LIMIT);
        limit = value
            .parse::<usize>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                format!("limit {value:?}: expected a whole number from {min} to {max}")
            })?;
    }
    Ok(limit)
}

/// Answers `GET /api/refused`: `{"invalid": [...]}`, the scripts refused
/// at the last scan with their problems, as `/api/history` has them but
/// without reading any log: the dashboard asks every 15 s, so a broken
/// script dropped in shows within seconds (no WebSocket message can carry
/// it).
pub fn respond_refused(
    stream: &mut std::net::TcpStream,
    hub: &Hub,
    head_only: bool,
) -> std::io::Result<()> {
    let body = serde_json::to_vec(&serde_json::json!({ "invalid": hub.refused.list() }))
        .unwrap_or_else(|_| b"{\"invalid\":[]}".to_vec());
    crate::http::respond(stream, 200, "application/json", "", &body, head_only)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(limit("", MAX_LIMIT), Ok(50));
        assert_eq!(limit("limit=7", MAX_LIMIT), Ok(7));
        assert_eq!(limit("x=1&limit=500", MAX_LIMIT), Ok(500));
        assert_eq!(
            limit("limit=501", MAX_LIMIT).unwrap_err(),
            "limit \"501\": expected a whole number from 1 to 500"
        );
        assert!(limit("limit=0", MAX_LIMIT).is_err());
        assert!(limit("limit=-1", MAX_LIMIT).is_err());
        assert!(limit("limit", MAX_LIMIT).is_err());
        assert_eq!(limit("limit=0", MAX_LIMIT_ALL), Ok(0));
        assert!(limit("limit=51", MAX_LIMIT_ALL).is_err());
    }

    /// In order of arrival, at most `QUEUE_PER_SOURCE` from one source,
    /// and no longer than the wait.
    #[test]
    fn turns_are_bounded_and_in_order() {
        let turns = Turns::default();
        let a = pending::Source::of("192.0.2.1".parse().unwrap());
        let b = pending::Source::of("192.0.2.2".parse().unwrap());
        let first = turns.take(a, QUEUE_WAIT).unwrap();
        // Behind the first, a wait that ends.
        let err = turns.take(b, Duration::from_millis(50)).err().unwrap();
        assert_eq!(err, "no turn for the history within 50ms");
        assert_eq!(
            turns.lock().0.len(),
            1,
            "a request given up leaves the queue"
        );
        let order = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..QUEUE_PER_SOURCE - 1)
                .map(|i| {
                    let (turns, order) = (&turns, &order);
                    let w = scope.spawn(move || {
                        let _t = turns.take(a, QUEUE_WAIT).unwrap();
                        order.lock().unwrap().push(i);
                    });
                    // Queued before the next one starts.
                    while turns.lock().0.len() < i + 2 {
                        std::thread::yield_now();
                    }
                    w
                })
                .collect();
            assert_eq!(
                turns.take(a, QUEUE_WAIT).err().unwrap(),
                format!("{QUEUE_PER_SOURCE} history requests from this address queued")
            );
            drop(first);
            for w in waiters {
                w.join().unwrap();
            }
        });
        assert_eq!(
            *order.lock().unwrap(),
            (0..QUEUE_PER_SOURCE - 1).collect::<Vec<_>>()
        );
        assert!(turns.lock().0.is_empty());
        // In all: QUEUE from QUEUE sources, then no more.
        let held: Vec<_> = (0..QUEUE)
            .map(|i| {
                let src = pending::Source::of(format!("198.51.100.{i}").parse().unwrap());
                let mut q = turns.lock();
                let id = q.1;
                q.1 += 1;
                q.0.push_back((id, src));
                Turn { turns: &turns, id }
            })
            .collect();
        assert_eq!(
            turns.take(b, QUEUE_WAIT).err().unwrap(),
            format!("{QUEUE} history requests queued")
        );
        drop(held);
        assert!(turns.take(b, QUEUE_WAIT).is_ok());
    }
}

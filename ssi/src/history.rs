//! A check's recent history: its last status lines (each with its run's
//! performance data, [`crate::perfdata`]), newest read first from
//! the end of its log with the bounded backwards reader of
//! [`crate::logfile`], and its availability over the last 24 hours and 7
//! days. One implementation for `ssi-status history` and the broadcaster's
//! history endpoint, so both show the same thing.
//!
//! Every read is bounded, whatever the log holds:
//! - at most [`MAX_SCAN`] bytes from the end of the log are read;
//! - at most [`MAX_LIMIT`] lines are returned, each message cut to
//!   [`MAX_MESSAGE`] bytes, so a history's memory is bounded too;
//! - availability counts the status lines of the last 7 days, newest
//!   first, and stops at the first line older than that, or after
//!   [`AVAILABILITY_MAX_LINES`] lines (a week of a check that runs every
//!   30 seconds), or at the byte bound. When a bound stopped it first,
//!   [`Availability::complete`] is `false` and [`Availability::since`]
//!   says how far back the count goes.

use std::io;
use std::path::Path;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::logfile::{modified, open_regular, scan_lines_backwards};
use crate::perfdata::{Following, Metric, Perfdata};
use crate::status::{rfc3339, Status, StatusLineRef};

/// How many bytes from the end of a log a history read looks at, at most:
/// the same bound as a last-status read, so `show` costs the same whatever
/// the log's size.
pub const MAX_SCAN: u64 = crate::logfile::MAX_SCAN;
/// The most lines a history holds.
pub const MAX_LIMIT: usize = 10_000;
/// The longest message a history line keeps, in bytes; longer ones are
/// cut at a character boundary and end in `…`.
pub const MAX_MESSAGE: usize = 1024;
/// The most status lines availability counts: 7 days of a check that runs
/// every 30 seconds.
pub const AVAILABILITY_MAX_LINES: u32 = 20_160;
/// How long after its run's main process exited a status line can still
/// be that run's: the post-run step that reports a failed run writes after
/// the exit.
pub const RUN_SLACK: SignedDuration = SignedDuration::from_secs(5);

/// One status line of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it was given (the line's time, or the log's modification time
    /// for a line without one).
    pub timestamp: Timestamp,
    /// Its status.
    pub status: Status,
    /// Its message (`""` when none), at most [`MAX_MESSAGE`] bytes.
    pub message: String,
    /// How long the run that wrote it took, when known (see
    /// [`History::attach_run`]).
    pub duration: Option<SignedDuration>,
    /// The performance data of its run (the `perfdata:` line directly
    /// after it, [`crate::perfdata`]), the malformed items left out; empty
    /// when the run gave none.
    pub perfdata: Vec<Metric>,
}

/// Share of good (OK or UPDATE) status lines in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Share {
    /// OK and UPDATE lines.
    pub good: u32,
    /// All status lines.
    pub total: u32,
}

impl Share {
    /// `good / total`, `None` without lines.
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| f64::from(self.good) / f64::from(self.total))
    }

    /// `99.5%`, `100%`, or `—` without lines.
    pub fn percent(&self) -> String {
        match self.ratio() {
            None => "\u{2014}".to_owned(),
            Some(_) if self.good == self.total => "100%".to_owned(),
            Some(_) if self.good == 0 => "0%".to_owned(),
            // Never round a failure away to "100%".
            Some(r) => format!("{:.1}%", (r * 1000.0).floor() / 10.0),
        }
    }

    fn count(&mut self, status: Status) {
        self.total += 1;
        if matches!(status, Status::Ok | Status::Update) {
            self.good += 1;
        }
    }
}

/// Availability over the last 24 hours and 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    /// The last 24 hours.
    pub day: Share,
    /// The last 7 days.
    pub week: Share,
    /// Whether every status line of the 7 days was counted (the count
    /// reached a line older than that, or the start of the log).
    pub complete: bool,
    /// The oldest line counted, when any.
    pub since: Option<Timestamp>,
}

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// At most this many lines (capped at [`MAX_LIMIT`]).
    pub limit: usize,
    /// Only lines given at or after this time.
    pub since: Option<Timestamp>,
    /// The time the windows of availability end.
    pub now: Timestamp,
}

/// A check's last status lines and its availability.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// Oldest first.
    pub entries: Vec<Entry>,
    /// Over the last 24 hours and 7 days (whatever `limit` and `since`).
    pub availability: Availability,
}

impl History {
    /// Gives the run that systemd saw start at `start` and its main
    /// process exit at `exit` its duration, on that run's last status line:
    /// the newest entry given between `start` (to the second, as log lines
    /// are) and a few seconds after `exit`. Nothing changes when no entry
    /// fits or `exit` is before `start`.
    pub fn attach_run(&mut self, start: Timestamp, exit: Timestamp) {
        attach_run(&mut self.entries, start, exit);
    }
}

/// [`History::attach_run`] on `entries` (oldest first) alone.
pub fn attach_run(entries: &mut [Entry], start: Timestamp, exit: Timestamp) {
    let took = exit.duration_since(start);
    if took.is_negative() {
        return;
    }
    let from = Timestamp::from_second(start.as_second()).unwrap_or(start);
    let until = exit.saturating_add(RUN_SLACK).unwrap_or(exit);
    if let Some(e) = entries
        .iter_mut()
        .rev()
        .find(|e| e.timestamp >= from && e.timestamp <= until)
    {
        e.duration = Some(took);
    }
}

/// The history of the log at `path`: see the module's documentation for
/// its bounds. A missing log has an empty history; a FIFO, socket or
/// device where the log should be is an error, found without blocking.
pub fn read_history(path: &Path, tz: &TimeZone, q: &Query) -> io::Result<History> {
    let week_start = q.now.saturating_sub(SignedDuration::from_hours(7 * 24));
    let day_start = q.now.saturating_sub(SignedDuration::from_hours(24));
    let (Ok(week_start), Ok(day_start)) = (week_start, day_start) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "time out of range",
        ));
    };
    let mut history = History {
        entries: Vec::new(),
        availability: Availability {
            day: Share::default(),
            week: Share::default(),
            complete: true,
            since: None,
        },
    };
    let mut file = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(history),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let mtime = modified(&meta);
    let limit = q.limit.min(MAX_LIMIT);
    let mut entries_done = limit == 0;
    // `None` while counting; then whether the count was complete.
    let mut counted: Option<bool> = None;
    let av = &mut history.availability;
    let entries = &mut history.entries;
    let mut after = Following::default();
    scan_lines_backwards(&mut file, meta.len(), MAX_SCAN, |raw| {
        let Some(line) = StatusLineRef::parse(raw) else {
            // Past the entries, only the availability is counted.
            if !entries_done {
                after.passed(raw);
            }
            return true;
        };
        let perfdata = after.take();
        let ts = line.timestamp(mtime, tz);
        if !entries_done {
            if q.since.is_some_and(|s| ts < s) {
                entries_done = true;
            } else {
                entries.push(Entry {
                    timestamp: ts,
                    status: line.status,
                    message: cut(line.message().into_owned()),
                    duration: None,
                    perfdata: perfdata.map_or_else(Vec::new, |p| Perfdata::parse(&p).metrics),
                });
                entries_done = entries.len() >= limit;
            }
        }
        if counted.is_none() {
            if ts < week_start {
                counted = Some(true);
            } else if av.week.total >= AVAILABILITY_MAX_LINES {
                counted = Some(false);
            } else {
                av.week.count(line.status);
                if ts >= day_start {
                    av.day.count(line.status);
                }
                av.since = Some(ts);
            }
        }
        !(entries_done && counted.is_some())
    })?;
    // Not stopped by a line: the scan reached the log's start, unless the
    // byte bound stopped it first.
    av.complete = counted.unwrap_or(meta.len() <= MAX_SCAN);
    entries.reverse();
    Ok(history)
}

/// `message` cut to at most [`MAX_MESSAGE`] bytes, at a character boundary.
fn cut(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE - '…'.len_utf8();
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// `{"timestamp": "…Z", "status": "OK", "message": "…"}`, plus
/// `"duration_ms"` when the duration is known and `"perfdata"` (an array
/// of [`Metric`]) when the run gave performance data.
impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Entry", 5)?;
        o.serialize_field("timestamp", &rfc3339(self.timestamp))?;
        o.serialize_field("status", &self.status)?;
        o.serialize_field("message", &self.message)?;
        match self.duration {
            Some(d) => o.serialize_field("duration_ms", &d.as_millis())?,
            None => o.skip_field("duration_ms")?,
        }
        if self.perfdata.is_empty() {
            o.skip_field("perfdata")?;
        } else {
            o.serialize_field("perfdata", &self.perfdata)?;
        }
        o.end()
    }
}

/// `{"good": n, "total": n, "ratio": 0.98 or null}`.
impl Serialize for Share {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Share", 3)?;
        o.serialize_field("good", &self.good)?;
        o.serialize_field("total", &self.total)?;
        o.serialize_field("ratio", &self.ratio())?;
        o.end()
    }
}

/// `{"24h": Share, "7d": Share, "complete": bool, "since": "…Z" or null}`.
impl Serialize for Availability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Availability", 4)?;
        o.serialize_field("24h", &self.day)?;
        o.serialize_field("7d", &self.week)?;
        o.serialize_field("complete", &self.complete)?;
        o.serialize_field("since", &self.since.map(rfc3339))?;
        o.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn log(content: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        f
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn q(limit: usize, now: &str) -> Query {
        Query {
            limit,
            since: None,
            now: ts(now),
        }
    }

    #[test]
    fn last_lines_oldest_first_with_availability() {
        let f = log(b"2026-11-01 10:00:00, OK, old\n\
            2026-11-25 09:00:00, FAILURE, down\n\
            noise\n\
            2026-11-26 08:00:00, ok, up\n\
            2026-11-26 09:00:00, UPDATE, 2 pending\n\
            2026-11-26 10:00:00, WARNING, hot\n");
        let h = read_history(f.path(), &TimeZone::UTC, &q(3, "2026-11-26T11:00:00Z")).unwrap();
        let got: Vec<_> = h.entries.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(got, ["up", "2 pending", "hot"]);
        assert_eq!(h.entries[0].status, Status::Ok);
        assert_eq!(h.entries[2].timestamp, ts("2026-11-26T10:00:00Z"));
        let av = h.availability;
        assert_eq!(av.day, Share { good: 2, total: 3 });
        assert_eq!(av.week, Share { good: 2, total: 4 });
        assert!(av.complete);
        assert_eq!(av.since, Some(ts("2026-11-25T09:00:00Z")));
        assert_eq!(av.week.percent(), "50.0%");
        assert_eq!(av.day.percent(), "66.6%");
    }

    #[test]
    fn since_and_limit() {
        let f = log(
            b"2026-11-26 08:00:00, OK, a\n2026-11-26 09:00:00, OK, b\n2026-11-26 10:00:00, OK, c\n",
        );
        let mut query = q(10, "2026-11-26T11:00:00Z");
        query.since = Some(ts("2026-11-26T09:00:00Z"));
        let h = read_history(f.path(), &TimeZone::UTC, &query).unwrap();
        let got: Vec<_> = h.entries.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(got, ["b", "c"]);
        // Availability does not depend on what was asked for.
        assert_eq!(h.availability.week.total, 3);
        let h = read_history(f.path(), &TimeZone::UTC, &q(0, "2026-11-26T11:00:00Z")).unwrap();
        assert!(h.entries.is_empty());
        assert_eq!(h.availability.day.total, 3);
    }

    #[test]
    fn no_data_is_no_ratio() {
        let dir = tempfile::tempdir().unwrap();
        let h = read_history(
            &dir.path().join("missing.log"),
            &TimeZone::UTC,
            &q(50, "2026-11-26T11:00:00Z"),
        )
        .unwrap();
        assert!(h.entries.is_empty());
        assert_eq!(h.availability.week.ratio(), None);
        assert_eq!(h.availability.day.percent(), "\u{2014}");
        // Only lines older than 7 days: history, but no availability.
        let f = log(b"2026-11-01 10:00:00, OK, old\n");
        let h = read_history(f.path(), &TimeZone::UTC, &q(50, "2026-11-26T11:00:00Z")).unwrap();
        assert_eq!(h.entries.len(), 1);
        assert_eq!(h.availability.week.ratio(), None);
        assert!(h.availability.complete);
    }

    #[test]
    fn availability_stops_at_its_line_bound() {
        let mut content = Vec::new();
        let n = AVAILABILITY_MAX_LINES as usize + 100;
        // One line every 10 s for the hours before `now`: more lines in
        // 7 days than the bound.
        let start = ts("2026-11-26T00:00:00Z");
        for i in 0..n {
            let t = start
                .saturating_add(SignedDuration::from_secs(10 * i as i64))
                .unwrap();
            let st = if i < 100 { "FAILURE" } else { "OK" };
            writeln!(content, "{}, {st}", t.strftime("%Y-%m-%d %H:%M:%S")).unwrap();
        }
        let f = log(&content);
        let h = read_history(f.path(), &TimeZone::UTC, &q(50, "2026-11-29T00:00:00Z")).unwrap();
        let av = h.availability;
        assert!(!av.complete);
        assert_eq!(av.week.total, AVAILABILITY_MAX_LINES);
        assert_eq!(
            av.week.good, AVAILABILITY_MAX_LINES,
            "the 100 oldest were not counted"
        );
        assert_eq!(
            av.since,
            Some(
                start
                    .saturating_add(SignedDuration::from_secs(1000))
                    .unwrap()
            )
        );
        assert_eq!(h.entries.len(), 50);
    }

    #[test]
    fn long_messages_are_cut_at_a_character() {
        let mut line = b"OK, ".to_vec();
        line.extend("é".repeat(MAX_MESSAGE).as_bytes());
        let f = log(&line);
        let h = read_history(f.path(), &TimeZone::UTC, &q(5, "2026-11-26T11:00:00Z")).unwrap();
        let m = &h.entries[0].message;
        assert!(m.len() <= MAX_MESSAGE, "{}", m.len());
        assert!(m.ends_with("é…"));
    }

    #[test]
    fn a_run_gives_its_duration_to_its_last_line() {
        let f = log(b"2026-11-26 09:00:00, OK, before\n2026-11-26 10:00:03, OK, run\n");
        let mut h = read_history(f.path(), &TimeZone::UTC, &q(5, "2026-11-26T11:00:00Z")).unwrap();
        let start: Timestamp = "2026-11-26T10:00:00.700Z".parse().unwrap();
        let exit: Timestamp = "2026-11-26T10:00:03.950Z".parse().unwrap();
        h.attach_run(start, exit);
        assert_eq!(h.entries[0].duration, None);
        assert_eq!(
            h.entries[1].duration,
            Some(SignedDuration::from_millis(3250))
        );
        let json = serde_json::to_string(&h.entries).unwrap();
        assert_eq!(
            json,
            r#"[{"timestamp":"2026-11-26T09:00:00Z","status":"OK","message":"before"},{"timestamp":"2026-11-26T10:00:03Z","status":"OK","message":"run","duration_ms":3250}]"#
        );
        // A run after the last line (it has not reported yet) names none.
        let mut h = read_history(f.path(), &TimeZone::UTC, &q(5, "2026-11-26T11:00:00Z")).unwrap();
        h.attach_run(ts("2026-11-26T10:30:00Z"), ts("2026-11-26T10:30:01Z"));
        assert!(h.entries.iter().all(|e| e.duration.is_none()));
    }

    #[test]
    fn each_entry_carries_its_runs_perfdata() {
        let f = log(b"2026-12-05 09:55:00, OK, LOAD OK\n\
            perfdata: load1=0.5;1;2;0 'load 5'=0.25\n\
            2026-12-05 10:00:00, WARNING, LOAD WARNING\n\
            perfdata: load1=1.5;1;2;0 bad=x\n\
            2026-12-05 10:05:00, OK, no numbers this time\n\
            noise\n\
            perfdata: load1=9\n");
        let h = read_history(f.path(), &TimeZone::UTC, &q(5, "2026-12-05T11:00:00Z")).unwrap();
        let got: Vec<Vec<(&str, Option<f64>)>> = h
            .entries
            .iter()
            .map(|e| {
                e.perfdata
                    .iter()
                    .map(|m| (m.label.as_str(), m.value))
                    .collect()
            })
            .collect();
        assert_eq!(
            got,
            [
                vec![("load1", Some(0.5)), ("load 5", Some(0.25))],
                vec![("load1", Some(1.5))],
                vec![],
            ]
        );
        // The status lines count as they did.
        assert_eq!(h.availability.day, Share { good: 2, total: 3 });
        let json = serde_json::to_value(&h.entries).unwrap();
        assert_eq!(json[1]["perfdata"][0]["critical"]["end"], 2.0);
        assert!(json[2].get("perfdata").is_none());
    }

    #[test]
    fn a_fifo_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.log");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = read_history(&path, &TimeZone::UTC, &q(5, "2026-11-26T11:00:00Z")).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file but a FIFO");
    }
}

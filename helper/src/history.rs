//! `ssi-status history ID`: a check's last status lines, newest last, with
//! the duration of the run that wrote them where systemd knows it, and its
//! availability (`ssi::history`, the same data as the dashboard's).

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use ssi::history::{Availability, Entry as Line, History};

use crate::basetime;
use crate::cli::HistoryArgs;
use crate::command::{ask_systemd, fail, to_json, Ctx, Failure, Outcome};
use crate::entry::{Entry, UnitsState};
use crate::exit::Exit;
use crate::find;
use crate::look::{self, paint, printable};

/// Lines shown without `--limit` or `--since`.
pub const DEFAULT_LIMIT: usize = 50;

/// Gives the last run of `entry`'s service its duration in `history`,
/// from systemd's start and exit times of the service's main process
/// (asked in the one `systemctl show` call). Older runs are the
/// journal's, which is not asked: history lines say nothing there.
pub fn attach_last_run(history: &mut History, units: Option<&UnitsState>) {
    let run = units
        .and_then(|u| u.service.as_ref())
        .and_then(ssi::systemd::Unit::last_run);
    if let Some((start, exit)) = run {
        history.attach_run(start, exit);
    }
}

/// `history --json`.
#[derive(Debug, Serialize)]
pub struct HistoryJson<'a> {
    /// The service id.
    id: Option<String>,
    /// `ssi_<id>`.
    unit: Option<String>,
    /// Oldest first.
    entries: &'a [Line],
    /// Over 24 h and 7 d.
    availability: &'a Availability,
}

/// The JSON object for `entry`'s history.
pub fn json<'a>(entry: &Entry, history: &'a History) -> HistoryJson<'a> {
    HistoryJson {
        id: entry.script.id.as_ref().map(ToString::to_string),
        unit: entry.unit_stem(),
        entries: &history.entries,
        availability: &history.availability,
    }
}

/// One line per status line, newest last: time, status, message, the
/// run's duration when known, and its performance data's values.
pub fn text(history: &History, tz: &TimeZone, color: bool) -> String {
    if history.entries.is_empty() {
        return "(no status lines)\n".to_owned();
    }
    let mut out = String::new();
    for e in &history.entries {
        let st = e.status.as_str();
        let pad = " ".repeat(7 - st.len());
        let _ = write!(
            out,
            "{}  {}{pad}",
            look::long_time(e.timestamp, tz),
            paint(st, look::status_sgr(e.status), color)
        );
        if !e.message.is_empty() {
            let _ = write!(out, "  {}", printable(&e.message));
        }
        if let Some(d) = e.duration {
            let _ = write!(out, "  (took {})", duration(d));
        }
        if !e.perfdata.is_empty() {
            let values: Vec<String> = e
                .perfdata
                .iter()
                .map(|m| format!("{}={}", m.label, m.human_value()))
                .collect();
            let _ = write!(out, "  [{}]", printable(&values.join(", ")));
        }
        out = out.trim_end().to_owned();
        out.push('\n');
    }
    out
}

/// `24 h 99.5%, 7 d 97.0%`, saying how far back the 7 days were counted
/// when a bound stopped the count first.
pub fn availability(av: &Availability, tz: &TimeZone) -> String {
    let mut s = format!("24 h {}, 7 d {}", av.day.percent(), av.week.percent());
    if !av.complete {
        if let Some(since) = av.since {
            let _ = write!(
                s,
                " (7 d counted only since {})",
                look::long_time(since, tz)
            );
        }
    }
    s
}

/// `850ms`, `3.2s`, `2min 5s`.
pub fn duration(d: SignedDuration) -> String {
    let ms = d.as_millis().max(0);
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{}.{}s", ms / 1000, ms % 1000 / 100)
    } else {
        look::span(u32::try_from(ms / 1000).unwrap_or(u32::MAX))
    }
}

/// The time the last run ended, for `show`.
pub fn last_run(units: Option<&UnitsState>) -> Option<(Timestamp, SignedDuration)> {
    let (start, exit) = units?.service.as_ref()?.last_run()?;
    Some((start, exit.duration_since(start)))
}

/// `ssi-status history ID`.
pub fn run(ctx: &Ctx, a: &HistoryArgs) -> Result<Outcome, Failure> {
    let since = match &a.since {
        Some(t) => {
            let usec = basetime::parse_option("--since", t, &ctx.local, ctx.now)
                .map_err(|e| fail(Exit::Usage, e))?;
            Some(
                Timestamp::from_microsecond(usec as i64)
                    .map_err(|e| fail(Exit::Usage, format!("--since {t:?}: {e}")))?,
            )
        }
        None => None,
    };
    let limit = match (a.limit, since) {
        (Some(n), _) => n as usize,
        (None, Some(_)) => ssi::history::MAX_LIMIT,
        (None, None) => DEFAULT_LIMIT,
    };
    let mut one = [find::one(ctx, &a.id)?];
    ask_systemd(&mut one);
    let entry = &one[0];
    let Some(log) = &entry.log else {
        return Err(fail(
            Exit::Failure,
            format!("{}: {}", entry.label(), entry.script.reason()),
        ));
    };
    let query = ssi::history::Query {
        limit,
        since,
        now: ctx.now,
    };
    let mut hist = ssi::history::read_history(log, &ctx.tz, &query)
        .map_err(|e| fail(Exit::Failure, format!("cannot read {}: {e}", log.display())))?;
    attach_last_run(&mut hist, entry.units.as_ref());
    let stdout = if a.json {
        to_json(&json(entry, &hist))?
    } else {
        text(&hist, &ctx.tz, ctx.color)
    };
    Ok(Outcome {
        stdout,
        code: Exit::Success,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(SignedDuration::from_millis(850)), "850ms");
        assert_eq!(duration(SignedDuration::from_millis(3250)), "3.2s");
        assert_eq!(duration(SignedDuration::from_secs(125)), look::span(125));
    }
}

//! `ssi-status show ID`: everything about one service.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::cli::ShowArgs;
use crate::command::{ask_systemd, to_json, Ctx, Failure, Outcome};
use crate::entry::{Entry, EntryJson};
use crate::exit::Exit;
use crate::find;
use crate::history;
use crate::look::{self, paint, printable};
use ssi::history::Availability;
use ssi::logfile::read_last_lines;
use ssi::perfdata::{Metric, Perfdata};

/// How many log lines `show` prints.
pub const TAIL_LINES: usize = 10;

/// `show --json`: the list fields plus unit names and the log's tail.
#[derive(Debug, Serialize)]
pub struct ShowJson {
    #[serde(flatten)]
    entry: EntryJson,
    /// `ssi_<id>.service`.
    service_unit: Option<String>,
    /// `ssi_<id>.timer`.
    timer_unit: Option<String>,
    /// Whether systemd was asked (running and `systemctl` answered).
    systemd: bool,
    /// The last lines of the log, oldest first.
    log_tail: Vec<String>,
    /// Share of OK/UPDATE lines over 24 h and 7 d; null without a log.
    availability: Option<Availability>,
    /// How long the last run took, in milliseconds, when systemd knows.
    last_run_duration_ms: Option<i64>,
    /// The performance data of the last run (absent when it gave none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    perfdata: Vec<Metric>,
    /// What was wrong with it (absent when nothing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    perfdata_problems: Vec<String>,
}

/// The performance data of `entry`'s last run.
fn perfdata(entry: &Entry) -> Perfdata {
    entry
        .last
        .as_ref()
        .and_then(|l| l.perfdata.as_deref())
        .map(Perfdata::parse)
        .unwrap_or_default()
}

/// The JSON object for `entry`.
pub fn json(
    entry: &Entry,
    tail: Vec<String>,
    availability: Option<Availability>,
    now: Timestamp,
) -> ShowJson {
    let stem = entry.unit_stem();
    let pd = perfdata(entry);
    ShowJson {
        entry: entry.to_json(now),
        service_unit: stem.as_ref().map(|s| format!("{s}.service")),
        timer_unit: stem.as_ref().map(|s| format!("{s}.timer")),
        systemd: entry.units.is_some(),
        log_tail: tail,
        availability,
        last_run_duration_ms: history::last_run(entry.units.as_ref())
            .map(|(_, d)| d.as_millis() as i64),
        perfdata: pd.metrics,
        perfdata_problems: pd.problems,
    }
}

fn field(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "{label:>12}: {value}");
}

/// The human report for `entry`, like `systemctl status`: labelled lines,
/// then the log's last lines.
pub fn text(
    entry: &Entry,
    tail: &[String],
    availability: Option<&Availability>,
    tz: &TimeZone,
    now: Timestamp,
    color: bool,
) -> String {
    let mut out = String::new();
    let s = &entry.script;
    let m = &s.manifest;
    let title = match &m.name {
        Some(n) => format!("{} - {}", entry.label(), printable(n)),
        None => entry.label(),
    };
    let _ = writeln!(out, "{title}");
    let dash = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_owned(), printable);
    field(&mut out, "Description", &dash(&m.description));
    field(&mut out, "Version", &dash(&m.version));
    let schedule = match (&m.schedule, &s.schedule) {
        (Some(text), Some(spec)) if spec.normalized() != *text => {
            format!("{} (normalized: {})", printable(text), spec.normalized())
        }
        (Some(text), _) => printable(text),
        (None, _) => "-".to_owned(),
    };
    field(&mut out, "Schedule", &schedule);
    field(
        &mut out,
        "Timeout",
        &m.timeout.map_or_else(|| "-".to_owned(), look::span),
    );
    field(
        &mut out,
        "Script",
        &printable(&s.path.display().to_string()),
    );
    if s.is_valid() {
        field(&mut out, "Valid", "yes");
    } else {
        field(&mut out, "Valid", &paint("no", look::INVALID_SGR, color));
        for p in s.problems() {
            field(&mut out, "Error", &printable(&p.to_string()));
        }
    }
    for w in &s.warnings {
        field(&mut out, "Warning", &printable(&w.to_string()));
    }
    if let Some(stem) = entry.unit_stem() {
        field(&mut out, "Units", &format!("{stem}.service, {stem}.timer"));
    }
    if let Some(w) = &m.maintenance {
        field(&mut out, "Maintenance", &printable(w));
    }
    if let Some(r) = m.remind_every {
        field(&mut out, "Remind every", &look::span(r));
    }
    for (label, why) in crate::quiet::lines(&entry.quiet, tz) {
        field(&mut out, label, &printable(&why));
    }
    let log = entry
        .log
        .as_ref()
        .map(|p| printable(&p.display().to_string()));
    field(&mut out, "Log", &dash(&log));
    let late = if entry.is_late(now) {
        paint(
            " (late: the last run did not report)",
            look::LATE_SGR,
            color,
        )
    } else {
        String::new()
    };
    match &entry.last {
        Some(l) => {
            let st = l.line.status;
            field(
                &mut out,
                "Status",
                &format!("{}{late}", paint(st.as_str(), look::status_sgr(st), color)),
            );
            field(&mut out, "Last run", &look::long_time(l.timestamp, tz));
            let msg = if l.line.message.is_empty() {
                "-".to_owned()
            } else {
                printable(&l.line.message)
            };
            field(&mut out, "Message", &msg);
            let pd = perfdata(entry);
            for (i, m) in pd.metrics.iter().enumerate() {
                if i == 0 {
                    field(&mut out, "Perfdata", &printable(&m.describe()));
                } else {
                    let _ = writeln!(out, "{:14}{}", "", printable(&m.describe()));
                }
            }
            for p in &pd.problems {
                field(&mut out, "Perfdata", &printable(&format!("{p}, ignored")));
            }
        }
        None => {
            let none = match (&entry.log_error, entry.next_run(now)) {
                (Some(e), _) => printable(e),
                (None, Some(next)) if s.is_valid() => {
                    format!("not run yet; next run {}", look::long_time(next, tz))
                }
                (None, _) => "- (no status line yet)".to_owned(),
            };
            field(&mut out, "Status", &format!("{none}{late}"));
        }
    }
    if let Some(av) = availability {
        field(&mut out, "Availability", &history::availability(av, tz));
    }
    match &entry.units {
        None => {
            field(&mut out, "Timer", "- (systemd not running)");
            field(&mut out, "Service", "-");
        }
        Some(u) => {
            let timer = match &u.timer {
                Some(t) => {
                    let mut v = t.state().unwrap_or_else(|| "-".to_owned());
                    let time = |ts: Option<Timestamp>| {
                        ts.map_or_else(|| "-".to_owned(), |t| look::long_time(t, tz))
                    };
                    let _ = write!(
                        v,
                        "; next {}; last {}",
                        time(u.next_run()),
                        time(u.last_trigger())
                    );
                    printable(&v)
                }
                None => "-".to_owned(),
            };
            field(&mut out, "Timer", &timer);
            let service = match &u.service {
                Some(sv) => {
                    let mut v = sv.state().unwrap_or_else(|| "-".to_owned());
                    if let Some(r) = sv.get("Result") {
                        let _ = write!(v, "; result {r}");
                    }
                    if let Some(code) = sv.get("ExecMainStatus") {
                        let _ = write!(v, "; exit status {code}");
                    }
                    if let Some((_, took)) = history::last_run(Some(u)) {
                        let _ = write!(v, "; last run took {}", history::duration(took));
                    }
                    printable(&v)
                }
                None => "-".to_owned(),
            };
            field(&mut out, "Service", &service);
        }
    }
    if entry.log.is_some() {
        let _ = writeln!(out);
        if let Some(e) = &entry.log_error {
            let _ = writeln!(out, "({})", printable(e));
        } else if tail.is_empty() {
            let exists = entry.log.as_ref().is_some_and(|p| p.exists());
            out.push_str(if exists {
                "(log is empty)\n"
            } else {
                "(no log yet)\n"
            });
        } else {
            match tail.len() {
                1 => out.push_str("Last log line:\n"),
                n => {
                    let _ = writeln!(out, "Last {n} log lines:");
                }
            }
            for l in tail {
                let _ = writeln!(out, "  {}", printable(l));
            }
        }
    }
    out
}

/// `ssi-status show ID`.
pub fn run(ctx: &Ctx, a: &ShowArgs) -> Result<Outcome, Failure> {
    let mut one = [find::one(ctx, &a.id)?];
    ask_systemd(&mut one);
    crate::quiet::attach(&mut one, &crate::notify::state_dir(), ctx.now, &ctx.tz);
    let entry = &one[0];
    // An unreadable log is already in `log_error`; show the rest.
    let tail = match &entry.log {
        Some(p) => read_last_lines(p, TAIL_LINES).unwrap_or_default(),
        None => Vec::new(),
    };
    let query = ssi::history::Query {
        limit: 0,
        since: None,
        now: ctx.now,
    };
    let availability = entry
        .log
        .as_ref()
        .and_then(|p| ssi::history::read_history(p, &ctx.tz, &query).ok())
        .map(|h| h.availability);
    let stdout = if a.json {
        to_json(&json(entry, tail, availability, ctx.now))?
    } else {
        text(
            entry,
            &tail,
            availability.as_ref(),
            &ctx.tz,
            ctx.now,
            ctx.color,
        )
    };
    Ok(Outcome {
        stdout,
        code: Exit::Success,
    })
}

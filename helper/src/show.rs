//! `ssi-status show ID`: everything about one service, and finding a
//! service from what the user typed.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;
use ssi::service::Script;

use crate::entry::{Entry, EntryJson};
use crate::history;
use crate::look::{self, paint, printable};
use ssi::history::Availability;
use ssi::perfdata::{Metric, Perfdata};

/// How many log lines `show` prints.
pub const TAIL_LINES: usize = 10;

/// The script the user means by `arg` (`x`, `ssi_x`, `ssi_x.service`,
/// `ssi_x.timer`), or, for a script whose file name makes no id, its
/// file name.
pub fn find<'a>(scripts: &'a [Script], arg: &str) -> Option<&'a Script> {
    scripts.iter().find(|s| match &s.id {
        Some(id) => id.matches_user(arg),
        None => s.path.file_name().is_some_and(|n| n == arg),
    })
}

/// `no service "foo"; did you mean "foo_bar"?`: up to three ids close to
/// `arg` by edit distance, a mistyped start, or containing one another.
pub fn not_found(scripts: &[Script], arg: &str) -> String {
    let ids = scripts
        .iter()
        .filter_map(|s| s.id.as_ref())
        .map(|id| id.as_str());
    let quoted: Vec<String> = close_ids(ids, arg)
        .iter()
        .map(|id| format!("{id:?}"))
        .collect();
    match quoted.len() {
        0 => format!("no service {arg:?}"),
        1 => format!("no service {arg:?}; did you mean {}?", quoted[0]),
        n => format!(
            "no service {arg:?}; did you mean {} or {}?",
            quoted[..n - 1].join(", "),
            quoted[n - 1]
        ),
    }
}

/// The (at most three) ids closest to what the user typed, closest first.
fn close_ids<'a>(ids: impl Iterator<Item = &'a str>, arg: &str) -> Vec<String> {
    let want = normalize(arg);
    let want_len = want.chars().count();
    let mut close: Vec<(usize, String)> = ids
        .filter_map(|id| {
            let d = strsim::levenshtein(&want, id);
            let near = d <= (want_len.max(id.len()) / 3).max(2);
            let sub = want.len() >= 2 && (id.contains(&want) || want.contains(id));
            // "dumy" for "dummy_service": a typo in the first few letters.
            let start: String = id.chars().take(want_len).collect();
            let typo_start = want_len >= 3 && strsim::levenshtein(&want, &start) <= 1;
            (near || sub || typo_start).then(|| (d, id.to_owned()))
        })
        .collect();
    close.sort();
    close.truncate(3);
    close.into_iter().map(|(_, id)| id).collect()
}

/// What the user typed, in id form: no `ssi_` prefix or unit suffix,
/// lower case, `-` `.` and spaces as `_`.
fn normalize(arg: &str) -> String {
    let a = arg
        .strip_suffix(".service")
        .or_else(|| arg.strip_suffix(".timer"))
        .unwrap_or(arg);
    let a = a.strip_prefix("ssi_").unwrap_or(a);
    a.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if matches!(c, '-' | '.' | ' ') { '_' } else { c })
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let ids = [
            "dummy_service",
            "disk_usage",
            "system_updates",
            "tls_expiry",
        ];
        let close = |arg| close_ids(ids.iter().copied(), arg);
        assert_eq!(close("dumy"), vec!["dummy_service"]);
        assert_eq!(close("disk"), vec!["disk_usage"]);
        assert_eq!(close("ssi_disk_usgae"), vec!["disk_usage"]);
        assert_eq!(close("updates"), vec!["system_updates"]);
        assert!(close("zzz").is_empty());
    }

    #[test]
    fn normalizing_user_input() {
        assert_eq!(normalize("ssi_Disk-Usage.service"), "disk_usage");
        assert_eq!(normalize("disk usage"), "disk_usage");
    }
}

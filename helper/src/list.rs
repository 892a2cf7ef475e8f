//! `ssi-status list`: every service in a table, as JSON, or as one
//! Nagios-plugin line with its exit code.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::status::Status;

use crate::entry::{Entry, UnitsState};
use crate::look::{self, paint, printable};

/// One column: header, and per row the text and its colour.
struct Column {
    header: &'static str,
    cells: Vec<(String, &'static str)>,
}

/// The table: `ID NAME VERSION SCHEDULE STATUS LAST RUN [NEXT RUN TIMER]
/// MESSAGE`, columns as wide as their widest cell, the last one unpadded.
/// `systemd` adds the two systemd columns. With a terminal `width`, long
/// messages are cut to fit, ending in `…`, as systemctl does.
pub fn table(
    entries: &[Entry],
    systemd: bool,
    tz: &TimeZone,
    now: Timestamp,
    color: bool,
    width: Option<usize>,
) -> String {
    let dash = || ("-".to_owned(), "");
    let opt = |v: &Option<String>| v.as_deref().map_or_else(dash, |s| (printable(s), ""));
    let mut cols = vec![
        col("ID", entries, |e| (printable(&e.label()), "")),
        col("NAME", entries, |e| opt(&e.script.manifest.name)),
        col("VERSION", entries, |e| opt(&e.script.manifest.version)),
        col("SCHEDULE", entries, |e| opt(&e.script.manifest.schedule)),
        col("STATUS", entries, |e| status_cell(e, now)),
        col("LAST RUN", entries, |e| match &e.last {
            Some(l) => (look::short_time(l.timestamp, tz), ""),
            None => dash(),
        }),
    ];
    if systemd {
        cols.push(col("NEXT RUN", entries, |e| {
            match e.units.as_ref().and_then(UnitsState::next_run) {
                Some(t) => (look::short_time(t, tz), ""),
                None => dash(),
            }
        }));
        cols.push(col("TIMER", entries, |e| {
            let timer = e.units.as_ref().and_then(|u| u.timer.as_ref());
            match timer.and_then(|t| t.state()) {
                Some(s) => (printable(&s), ""),
                None => dash(),
            }
        }));
    }
    cols.push(col("MESSAGE", entries, |e| {
        if !e.script.is_valid() {
            (printable(&e.script.reason()), "")
        } else if let Some(err) = &e.log_error {
            (printable(err), "")
        } else {
            match &e.last {
                Some(l) if !l.line.message.is_empty() => (printable(&l.line.message), ""),
                _ => dash(),
            }
        }
    }));

    let widths: Vec<usize> = cols
        .iter()
        .map(|c| {
            c.cells
                .iter()
                .map(|(t, _)| t.chars().count())
                .chain([c.header.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let last = cols.len() - 1;
    let mut line = |cells: Vec<(String, &str)>| {
        let mut row = String::new();
        for (i, (text, sgr)) in cells.into_iter().enumerate() {
            if i == last {
                let used: usize = widths[..last].iter().map(|w| w + 2).sum();
                let room = width.map(|w| w.saturating_sub(used).max(MIN_MESSAGE));
                row.push_str(&paint(&ellipsize(&text, room), sgr, color));
            } else {
                let pad = widths[i].saturating_sub(text.chars().count()) + 2;
                row.push_str(&paint(&text, sgr, color));
                row.push_str(&" ".repeat(pad));
            }
        }
        let _ = writeln!(out, "{}", row.trim_end());
    };
    line(cols.iter().map(|c| (c.header.to_owned(), "")).collect());
    for r in 0..entries.len() {
        line(cols.iter().map(|c| c.cells[r].clone()).collect());
    }
    out
}

/// The narrowest a cut message gets, however little room the other
/// columns leave.
const MIN_MESSAGE: usize = 12;

/// `text` cut to `room` characters, the last one `…`, when it is longer.
fn ellipsize(text: &str, room: Option<usize>) -> String {
    match room {
        Some(room) if text.chars().count() > room => {
            let mut cut: String = text.chars().take(room.saturating_sub(1)).collect();
            cut.push('…');
            cut
        }
        _ => text.to_owned(),
    }
}

fn col(
    header: &'static str,
    entries: &[Entry],
    f: impl Fn(&Entry) -> (String, &'static str),
) -> Column {
    Column {
        header,
        cells: entries.iter().map(f).collect(),
    }
}

/// `INVALID`, `-` (no status yet), or the status, with ` (late)` when the
/// run is overdue.
fn status_cell(e: &Entry, now: Timestamp) -> (String, &'static str) {
    let (text, sgr) = plain_status_cell(e, now);
    match e.quiet.label() {
        "" => (text, sgr),
        quiet => (format!("{text} [{quiet}]"), sgr),
    }
}

fn plain_status_cell(e: &Entry, now: Timestamp) -> (String, &'static str) {
    if !e.script.is_valid() {
        return ("INVALID".to_owned(), look::INVALID_SGR);
    }
    let late = e.is_late(now);
    match (&e.last, late) {
        (Some(l), false) => (l.line.status.to_string(), look::status_sgr(l.line.status)),
        (Some(l), true) => (format!("{} (late)", l.line.status), look::LATE_SGR),
        (None, true) => ("- (late)".to_owned(), look::LATE_SGR),
        (None, false) => ("-".to_owned(), ""),
    }
}

/// A Nagios plugin state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Nagios {
    Ok,
    Warning,
    Unknown,
    Critical,
}

impl Nagios {
    fn word(self) -> &'static str {
        match self {
            Nagios::Ok => "OK",
            Nagios::Warning => "WARNING",
            Nagios::Unknown => "UNKNOWN",
            Nagios::Critical => "CRITICAL",
        }
    }

    /// The plugin exit code (Nagios plugin guidelines).
    fn code(self) -> u8 {
        match self {
            Nagios::Ok => 0,
            Nagios::Warning => 1,
            Nagios::Critical => 2,
            Nagios::Unknown => 3,
        }
    }
}

/// What one entry counts as: its summary word and its Nagios state.
fn classify(e: &Entry, now: Timestamp) -> (&'static str, Nagios) {
    if !e.script.is_valid() {
        return ("invalid", Nagios::Unknown);
    }
    if e.is_late(now) {
        return ("late", Nagios::Warning);
    }
    match e.last.as_ref().map(|l| l.line.status) {
        None => ("without status", Nagios::Unknown),
        Some(Status::Ok) => ("ok", Nagios::Ok),
        Some(Status::Update) => ("update", Nagios::Ok),
        Some(Status::Warning) => ("warning", Nagios::Warning),
        Some(Status::Unknown) => ("unknown", Nagios::Unknown),
        Some(Status::Failure) => ("failure", Nagios::Critical),
        Some(Status::Error) => ("error", Nagios::Critical),
    }
}

/// Summary words, worst first, as they appear in the line.
const WORDS: [&str; 9] = [
    "error",
    "failure",
    "invalid",
    "without status",
    "unknown",
    "late",
    "warning",
    "update",
    "ok",
];

/// The Nagios line and exit code: the worst state wins (critical, then
/// unknown, then warning); no scripts at all is UNKNOWN.
pub fn nagios(entries: &[Entry], now: Timestamp) -> (String, u8) {
    let classes: Vec<_> = entries.iter().map(|e| classify(e, now)).collect();
    let worst = classes.iter().map(|c| c.1).max().unwrap_or(Nagios::Unknown);
    let count = |n: Nagios| classes.iter().filter(|c| c.1 == n).count();
    let summary = if entries.is_empty() {
        "no check scripts".to_owned()
    } else {
        WORDS
            .iter()
            .filter_map(|w| {
                let n = classes.iter().filter(|c| c.0 == *w).count();
                (n > 0).then(|| format!("{n} {w}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let line = format!(
        "SSI {} - {summary} | ok={} warning={} critical={} unknown={}",
        worst.word(),
        count(Nagios::Ok),
        count(Nagios::Warning),
        count(Nagios::Critical),
        count(Nagios::Unknown),
    );
    (line, worst.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_to_the_terminal() {
        assert_eq!(ellipsize("abcdef", Some(4)), "abc…");
        assert_eq!(ellipsize("abcd", Some(4)), "abcd");
        assert_eq!(ellipsize("äöüß", Some(3)), "äö…");
        assert_eq!(ellipsize("abcdef", None), "abcdef");
    }
}

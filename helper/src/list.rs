//! `ssi-status list`: every service in a table, as JSON, or as one
//! Nagios-plugin line with its exit code.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::status::Status;

use crate::cli::ListArgs;
use crate::command::{fail, load, to_json, Ctx, Failure, Outcome};
use crate::entry::{Entry, UnitsState};
use crate::exit::Exit;
use crate::look::{self, paint, printable};
use crate::prometheus;
use crate::watch;

/// One column: header, and per row the text and its colour.
struct Column {
    header: &'static str,
    cells: Vec<(String, &'static str)>,
    /// When the terminal is too narrow, columns go in this order, highest
    /// first; 0: never (id, status, last run, message).
    drop: u8,
}

/// How many characters of a message a row keeps, when the message is that
/// long, however narrow the terminal: columns go first.
pub const WANT_MESSAGE: usize = 30;
/// The narrowest the id column gets on a very narrow terminal.
const MIN_ID: usize = 8;

/// The table: `ID NAME VERSION SCHEDULE STATUS LAST RUN [NEXT RUN TIMER]
/// MESSAGE`, columns as wide as their widest cell, the last one unpadded.
/// `systemd` adds the two systemd columns.
///
/// With a terminal `width` every row fits on one line, as in `systemctl`:
/// the least needed columns are left out (TIMER, VERSION, NEXT RUN,
/// SCHEDULE, NAME) and times are shortened until the message keeps at
/// least [`WANT_MESSAGE`] characters, then the message is cut to what is
/// left, ending in `…`. Without a width (`--full`, a pipe) nothing is cut.
pub fn table(
    entries: &[Entry],
    systemd: bool,
    tz: &TimeZone,
    now: Timestamp,
    color: bool,
    width: Option<usize>,
) -> String {
    let Some(width) = width else {
        return render(&columns(entries, systemd, tz, now, false), None, color);
    };
    for compact in [false, true] {
        let mut cols = columns(entries, systemd, tz, now, compact);
        loop {
            if need(&cols) <= width {
                return render(&cols, Some(width), color);
            }
            let Some(worst) = cols.iter().map(|c| c.drop).max().filter(|d| *d > 0) else {
                break;
            };
            cols.retain(|c| c.drop != worst);
        }
    }
    // Not even id, status, time and message fit: the id is cut too.
    let mut cols = columns(entries, systemd, tz, now, true);
    cols.retain(|c| c.drop == 0);
    let over = need(&cols).saturating_sub(width);
    let id_width = widths(&cols)[0];
    let room = id_width.saturating_sub(over).max(MIN_ID);
    for cell in &mut cols[0].cells {
        cell.0 = ellipsize(&cell.0, Some(room));
    }
    render(&cols, Some(width), color)
}

/// Characters a row needs: every column but the message, with their gaps,
/// and as much of the message as [`WANT_MESSAGE`] asks.
fn need(cols: &[Column]) -> usize {
    let w = widths(cols);
    let last = cols.len() - 1;
    let fixed: usize = w[..last].iter().map(|w| w + 2).sum();
    fixed + w[last].min(WANT_MESSAGE)
}

/// Each column as wide as its widest cell or header.
fn widths(cols: &[Column]) -> Vec<usize> {
    cols.iter()
        .map(|c| {
            c.cells
                .iter()
                .map(|(t, _)| t.chars().count())
                .chain([c.header.len()])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// The rows; with a `width`, the message is cut to what is left of it.
fn render(cols: &[Column], width: Option<usize>, color: bool) -> String {
    let widths = widths(cols);
    let mut out = String::new();
    let last = cols.len() - 1;
    let rows = cols.first().map_or(0, |c| c.cells.len());
    let mut line = |cells: Vec<(String, &str)>| {
        let mut row = String::new();
        for (i, (text, sgr)) in cells.into_iter().enumerate() {
            if i == last {
                let used: usize = widths[..last].iter().map(|w| w + 2).sum();
                let room = width.map(|w| w.saturating_sub(used).max(1));
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
    for r in 0..rows {
        line(cols.iter().map(|c| c.cells[r].clone()).collect());
    }
    out
}

/// Every column of the table; `compact` gives times in their short form.
fn columns(
    entries: &[Entry],
    systemd: bool,
    tz: &TimeZone,
    now: Timestamp,
    compact: bool,
) -> Vec<Column> {
    let dash = || ("-".to_owned(), "");
    let opt = |v: &Option<String>| v.as_deref().map_or_else(dash, |s| (printable(s), ""));
    let time = |t: Timestamp| {
        if compact {
            look::compact_time(t, now, tz)
        } else {
            look::short_time(t, tz)
        }
    };
    let mut cols = vec![
        col("ID", 0, entries, |e| (printable(&e.label()), "")),
        col("NAME", 1, entries, |e| opt(&e.script.manifest.name)),
        col("VERSION", 4, entries, |e| opt(&e.script.manifest.version)),
        col("SCHEDULE", 2, entries, |e| opt(&e.script.manifest.schedule)),
        col("STATUS", 0, entries, |e| status_cell(e, now)),
        col("LAST RUN", 0, entries, |e| match &e.last {
            Some(l) => (time(l.timestamp), ""),
            None => dash(),
        }),
    ];
    if systemd {
        cols.push(col("NEXT RUN", 3, entries, |e| {
            match e.units.as_ref().and_then(UnitsState::next_run) {
                Some(t) => (time(t), ""),
                None => dash(),
            }
        }));
        cols.push(col("TIMER", 5, entries, |e| {
            let timer = e.units.as_ref().and_then(|u| u.timer.as_ref());
            match timer.and_then(|t| t.state()) {
                Some(s) => (printable(&s), ""),
                None => dash(),
            }
        }));
    }
    cols.push(col("MESSAGE", 0, entries, |e| {
        if !e.script.is_valid() {
            (printable(&e.script.reason()), "")
        } else if let Some(err) = &e.log_error {
            (printable(err), "")
        } else {
            match &e.last {
                Some(l) if !l.line.message.is_empty() => (printable(&l.line.message), ""),
                Some(_) => dash(),
                None => match e.next_run(now) {
                    Some(t) => (format!("next run {}", time(t)), ""),
                    None => dash(),
                },
            }
        }
    }));
    cols
}

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
    drop: u8,
    entries: &[Entry],
    f: impl Fn(&Entry) -> (String, &'static str),
) -> Column {
    Column {
        header,
        cells: entries.iter().map(f).collect(),
        drop,
    }
}

/// `INVALID`, `not run yet` (no status line yet), or the status, with
/// ` (late)` when the run is overdue.
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
        (None, true) => ("not run yet (late)".to_owned(), look::LATE_SGR),
        (None, false) => ("not run yet".to_owned(), ""),
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
        None => ("not run yet", Nagios::Unknown),
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
    "not run yet",
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

/// The table for the terminal as it is now (`--full`: uncut).
fn for_terminal(ctx: &Ctx, a: &ListArgs, entries: &[Entry], now: Timestamp) -> String {
    if entries.is_empty() {
        return format!("No check scripts in {}.\n", ctx.dirs.scripts.display());
    }
    let systemd = entries.iter().any(|e| e.units.is_some());
    let width = if a.full { None } else { look::terminal_width() };
    table(entries, systemd, &ctx.tz, now, ctx.color, width)
}

/// `--watch`: a title line and the table, drawn again on every change.
fn watching(ctx: &Ctx, a: &ListArgs) -> Result<Outcome, Failure> {
    let start = std::time::Instant::now();
    let dirs = [ctx.dirs.scripts.as_path(), ctx.dirs.logs.as_path()];
    watch::run(&dirs, || {
        let now = ctx.now + start.elapsed();
        let title = format!(
            "ssi-status --watch: {} (Ctrl-C to quit)  {}\n",
            ctx.dirs.scripts.display(),
            look::short_time(now, &ctx.tz)
        );
        let body = match load(ctx, true) {
            Ok(entries) => for_terminal(ctx, a, &entries, now),
            Err(f) => format!("ssi-status: {}\n", f.message),
        };
        let height = look::terminal_height().map(|h| h.saturating_sub(1));
        title + &watch::fit_height(&body, height)
    })
    .map_err(|m| fail(Exit::Failure, m))?;
    Ok(Outcome {
        stdout: String::new(),
        code: Exit::Success,
    })
}

/// `ssi-status list` (and `ssi-status` alone).
pub fn run(ctx: &Ctx, a: &ListArgs) -> Result<Outcome, Failure> {
    if a.watch {
        return watching(ctx, a);
    }
    let entries = load(ctx, true)?;
    if a.nagios {
        let (line, code) = nagios(&entries, ctx.now);
        return Ok(Outcome {
            stdout: line + "\n",
            code: Exit::Nagios(code),
        });
    }
    if a.prometheus {
        let snap = prometheus::snapshot(&entries, ctx.now, &ctx.tz);
        let text = ssi::metrics::render(&snap, ssi::metrics::Format::Text);
        let stdout = match &a.output {
            Some(path) => {
                prometheus::write_atomic(path, &text).map_err(|m| fail(Exit::Failure, m))?;
                String::new()
            }
            None => text,
        };
        return Ok(Outcome {
            stdout,
            code: Exit::Success,
        });
    }
    let stdout = if a.json {
        let objs: Vec<_> = entries.iter().map(|e| e.to_json(ctx.now)).collect();
        to_json(&objs)?
    } else {
        for_terminal(ctx, a, &entries, ctx.now)
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
    fn long_messages_are_cut_to_the_terminal() {
        assert_eq!(ellipsize("abcdef", Some(4)), "abc…");
        assert_eq!(ellipsize("abcd", Some(4)), "abcd");
        assert_eq!(ellipsize("äöüß", Some(3)), "äö…");
        assert_eq!(ellipsize("abcdef", None), "abcdef");
    }
}

//! How values look on a terminal: colours, times, and text from logs made
//! safe to print.

use std::io::IsTerminal;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::status::Status;

/// When to colour statuses (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour standard output.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                // https://no-color.org: set and non-empty disables colour.
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                !no_color && std::io::stdout().is_terminal()
            }
        }
    }
}

/// The terminal's width when standard output is one (`COLUMNS` first, as
/// systemd does, then the tty's size); `None` for pipes and files, which
/// get every character.
pub fn terminal_width() -> Option<usize> {
    terminal_size("COLUMNS", |ws| ws.ws_col)
}

/// The terminal's height in lines when standard output is one (`LINES`
/// first, then the tty's size).
pub fn terminal_height() -> Option<usize> {
    terminal_size("LINES", |ws| ws.ws_row)
}

/// One dimension of the terminal on standard output: `env` when set to a
/// positive number, else what `pick` takes from the tty's size.
fn terminal_size(env: &str, pick: fn(&rustix::termios::Winsize) -> u16) -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(n) = std::env::var(env)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    let ws = rustix::termios::tcgetwinsize(rustix::stdio::stdout()).ok()?;
    let n = pick(&ws);
    (n > 0).then_some(usize::from(n))
}

/// The ANSI SGR code for a status, by severity.
pub fn status_sgr(s: Status) -> &'static str {
    match s {
        Status::Ok => "32",
        Status::Update => "36",
        Status::Warning => "33",
        Status::Unknown => "35",
        Status::Failure => "31",
        Status::Error => "1;31",
    }
}

/// SGR code for `INVALID`.
pub const INVALID_SGR: &str = "1;31";
/// SGR code for the late marker.
pub const LATE_SGR: &str = "33";

/// `text` wrapped in an SGR colour when `on`.
pub fn paint(text: &str, sgr: &str, on: bool) -> String {
    if on && !sgr.is_empty() {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Text from a log or a script, safe for a terminal: control characters
/// (escape sequences, carriage returns, tabs) become `?`, so a check cannot
/// repaint the administrator's screen or break the table.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `2026-11-26 10:00:00`, in the local zone: compact, for tables.
pub fn short_time(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A time in at most 12 characters, for a narrow table, as `ls -l` does:
/// `10:00:05` on `now`'s day, `Nov 26 10:00` in its year, else
/// `2025-11-26`; in the local zone.
pub fn compact_time(ts: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let t = ts.to_zoned(tz.clone());
    let n = now.to_zoned(tz.clone());
    let format = if t.date() == n.date() {
        "%H:%M:%S"
    } else if t.year() == n.year() {
        "%b %d %H:%M"
    } else {
        "%Y-%m-%d"
    };
    t.strftime(format).to_string()
}

/// `Thu 2026-11-26 10:00:00 UTC`, in the local zone, as systemd prints
/// time stamps.
pub fn long_time(ts: Timestamp, tz: &TimeZone) -> String {
    ssi::calendar::format_elapse(&ts.to_zoned(tz.clone()))
}

/// Seconds as systemd prints a time span: `20s`, `5min`, `1h 30s`.
pub fn span(secs: u32) -> String {
    let units = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let mut left = secs;
    let mut parts = Vec::new();
    for (size, name) in units {
        if left >= size {
            parts.push(format!("{}{name}", left / size));
            left %= size;
        }
    }
    if parts.is_empty() {
        "0".to_owned()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(printable("a\x1b[2Jb\tc\rd"), "a?[2Jb?c?d");
        assert_eq!(printable("ünïcode ok"), "ünïcode ok");
    }

    #[test]
    fn spans_like_systemd() {
        assert_eq!(span(20), "20s");
        assert_eq!(span(300), "5min");
        assert_eq!(span(3630), "1h 30s");
        assert_eq!(span(86_400), "1d");
    }

    #[test]
    fn painting() {
        assert_eq!(paint("OK", "32", true), "\x1b[32mOK\x1b[0m");
        assert_eq!(paint("OK", "32", false), "OK");
    }

    #[test]
    fn times() {
        let t = Timestamp::from_second(1_764_151_200).unwrap();
        assert_eq!(short_time(t, &TimeZone::UTC), "2025-11-26 10:00:00");
        assert_eq!(long_time(t, &TimeZone::UTC), "Wed 2025-11-26 10:00:00 UTC");
        let at = |s| Timestamp::from_second(s).unwrap();
        let utc = &TimeZone::UTC;
        assert_eq!(compact_time(t, at(1_764_151_200 + 3600), utc), "10:00:00");
        assert_eq!(
            compact_time(t, at(1_764_151_200 + 86_400), utc),
            "Nov 26 10:00"
        );
        assert_eq!(
            compact_time(t, at(1_764_151_200 + 86_400 * 60), utc),
            "2025-11-26"
        );
    }
}

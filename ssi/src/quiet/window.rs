//! Maintenance windows as a manifest declares them: a systemd calendar
//! expression (the grammar of `schedule`) for when each window opens, and
//! how long it stays open.
//!
//! ```text
//! window = calendar 1*space "for" 1*space span
//! ```
//!
//! `Sun 02:00 for 2h` opens every Sunday at 02:00 local time and closes two
//! hours of real time later (DST changes do not stretch or shrink it).

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::calendar::CalendarSpec;
use crate::timespan;

/// The longest window: a week. Longer "maintenance" is a silence.
pub const MAX_LENGTH_SECS: u64 = 7 * 86_400;

/// One recurring window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// When each window opens.
    pub calendar: CalendarSpec,
    /// How long each stays open, in seconds.
    pub length: u64,
}

/// An open (or the next) window: its start and end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// When it opened (opens).
    pub start: Timestamp,
    /// When it closes.
    pub end: Timestamp,
}

impl Window {
    /// Parses `CALENDAR for SPAN`, or says what was expected.
    pub fn parse(value: &str) -> Result<Window, String> {
        let expected =
            "expected a calendar expression, \"for\" and a length, like \"Sun 02:00 for 2h\"";
        let Some(at) = value.rfind(" for ") else {
            return Err(expected.to_owned());
        };
        let (cal, span) = (value[..at].trim(), value[at + 5..].trim());
        if cal.is_empty() || span.is_empty() {
            return Err(expected.to_owned());
        }
        let calendar = CalendarSpec::parse(cal)
            .map_err(|e| format!("calendar expression {cal:?}: {}", e.reason))?;
        let usec = timespan::parse_usec(span).map_err(|e| format!("length {span:?}: {e}"))?;
        let length = u64::try_from(usec / 1_000_000).unwrap_or(u64::MAX);
        if usec % 1_000_000 != 0 || !(1..=MAX_LENGTH_SECS).contains(&length) {
            return Err(format!(
                "length {span:?}: expected whole seconds from 1 s to 7 days"
            ));
        }
        Ok(Window { calendar, length })
    }

    fn length(&self) -> SignedDuration {
        SignedDuration::from_secs(i64::try_from(self.length).unwrap_or(i64::MAX))
    }

    fn next_start(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        self.calendar.next_elapse(after, tz).map(|z| z.timestamp())
    }

    /// The window open at `now` (start ≤ now < end), with windows that
    /// overlap it merged into one; `None` when none is open.
    pub fn open_at(&self, now: Timestamp, tz: &TimeZone) -> Option<Span> {
        // The first start after now - length is the only one that can
        // still be open.
        let start = self.next_start(now.checked_sub(self.length()).ok()?, tz)?;
        if start > now {
            return None;
        }
        let mut end = start.checked_add(self.length()).ok()?;
        // An overlapping next window keeps it open (bounded: a window
        // opening every second for a week would not end the loop soon).
        let mut from = start;
        for _ in 0..1000 {
            match self.next_start(from, tz) {
                Some(s) if s <= end => {
                    end = end.max(s.checked_add(self.length()).ok()?);
                    from = s;
                }
                _ => break,
            }
        }
        Some(Span { start, end })
    }

    /// The window open at `now`, or else the next one to open.
    pub fn current_or_next(&self, now: Timestamp, tz: &TimeZone) -> Option<Span> {
        self.open_at(now, tz).or_else(|| {
            let start = self.next_start(now, tz)?;
            Some(Span {
                start,
                end: start.checked_add(self.length()).ok()?,
            })
        })
    }
}

/// `secs` the way systemd writes a span: `2h 30min`, `1d 5s`, `0`.
pub fn format_span(secs: u64) -> String {
    let units = [(86_400, "d"), (3600, "h"), (60, "min"), (1, "s")];
    let mut left = secs;
    let mut parts = Vec::new();
    for (n, unit) in units {
        if left >= n {
            parts.push(format!("{}{unit}", left / n));
            left %= n;
        }
    }
    if parts.is_empty() {
        String::from("0")
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str, tz: &TimeZone) -> Timestamp {
        s.parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp()
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    #[test]
    fn parses_calendar_for_span_and_names_what_is_wrong() {
        let w = Window::parse("Sun 02:00 for 2h").unwrap();
        assert_eq!(w.length, 7200);
        assert_eq!(w.calendar.normalized(), "Sun *-*-* 02:00:00");
        assert_eq!(
            Window::parse("Sun 02:00").unwrap_err(),
            "expected a calendar expression, \"for\" and a length, like \"Sun 02:00 for 2h\""
        );
        let e = Window::parse("Sun 25:00 for 2h").unwrap_err();
        assert!(e.starts_with("calendar expression \"Sun 25:00\": "), "{e}");
        let e = Window::parse("daily for 2 fortnights").unwrap_err();
        assert!(
            e.starts_with("length \"2 fortnights\": expected a time span"),
            "{e}"
        );
        assert_eq!(
            Window::parse("daily for 8d").unwrap_err(),
            "length \"8d\": expected whole seconds from 1 s to 7 days"
        );
    }

    #[test]
    fn open_from_its_start_until_its_end_exclusive() {
        let tz = TimeZone::UTC;
        let w = Window::parse("*-*-* 02:00 for 2h").unwrap();
        assert_eq!(w.open_at(at("2026-12-05T01:59:59", &tz), &tz), None);
        let open = w.open_at(at("2026-12-05T02:00:00", &tz), &tz).unwrap();
        assert_eq!(open.end, at("2026-12-05T04:00:00", &tz));
        assert!(w.open_at(at("2026-12-05T03:59:59", &tz), &tz).is_some());
        assert_eq!(w.open_at(at("2026-12-05T04:00:00", &tz), &tz), None);
        let next = w
            .current_or_next(at("2026-12-05T04:00:00", &tz), &tz)
            .unwrap();
        assert_eq!(next.start, at("2026-12-06T02:00:00", &tz));
    }

    #[test]
    fn spans_are_written_as_systemd_writes_them() {
        assert_eq!(format_span(9000), "2h 30min");
        assert_eq!(format_span(86_405), "1d 5s");
        assert_eq!(format_span(0), "0");
    }

    #[test]
    fn overlapping_windows_are_one() {
        let tz = TimeZone::UTC;
        let w = Window::parse("*:00/10 for 15min").unwrap();
        let open = w.open_at(at("2026-12-05T02:05:00", &tz), &tz).unwrap();
        assert!(open.end > at("2026-12-06T02:00:00", &tz), "{open:?}");
    }

    #[test]
    fn a_window_across_the_spring_change_lasts_its_real_length() {
        // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST.
        let tz = berlin();
        let w = Window::parse("*-*-* 01:30 for 1h").unwrap();
        let open = w.open_at(at("2026-03-29T01:45:00", &tz), &tz).unwrap();
        assert_eq!(open.start, at("2026-03-29T01:30:00", &tz));
        // One hour of real time: the wall clock reads 03:30.
        assert_eq!(open.end, at("2026-03-29T03:30:00", &tz));
        assert_eq!(open.end.as_second() - open.start.as_second(), 3600);
        assert!(w.open_at(at("2026-03-29T03:15:00", &tz), &tz).is_some());
        assert_eq!(w.open_at(at("2026-03-29T03:30:00", &tz), &tz), None);
    }

    #[test]
    fn a_window_opening_in_the_skipped_hour_opens_as_systemd_says() {
        let tz = berlin();
        // 02:30 does not exist on 2026-03-29 in Berlin: systemd's next
        // elapse after the 28th's window is the one systemd-analyze gives.
        let w = Window::parse("*-*-* 02:30 for 30min").unwrap();
        let next = w
            .current_or_next(at("2026-03-28T03:00:00", &tz), &tz)
            .unwrap();
        let oracle = w
            .calendar
            .next_elapse(at("2026-03-28T03:00:00", &tz), &tz)
            .unwrap()
            .timestamp();
        assert_eq!(next.start, oracle);
        assert_eq!(next.end.as_second() - next.start.as_second(), 1800);
        assert!(next.start > at("2026-03-28T03:00:00", &tz));
    }

    #[test]
    fn a_window_across_the_autumn_change_lasts_its_real_length() {
        // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:30
        // happens twice. Two hours of real time after 01:30 CEST is the
        // second 02:30, in CET.
        let tz = berlin();
        let w = Window::parse("*-*-* 01:30 for 2h").unwrap();
        let start = at("2026-10-25T01:30:00", &tz);
        let open = w
            .open_at(Timestamp::from_second(start.as_second() + 60).unwrap(), &tz)
            .unwrap();
        assert_eq!(open.start, start);
        assert_eq!(open.end.as_second() - start.as_second(), 7200);
        let wall = open.end.to_zoned(tz.clone());
        assert_eq!(wall.time().to_string(), "02:30:00");
        assert_eq!(wall.offset().seconds(), 3600, "CET, the second 02:30");
    }
}

//! `--base-time`: the time stamps `systemd-analyze calendar --base-time=`
//! takes (systemd.time(7) "Parsing Timestamps"), the common subset.
//!
//! ```text
//! base-time = "now" / "today" / "yesterday" / "tomorrow" / "@" seconds
//!           / [ weekday " " ] date [ " " time ] [ " " zone ]
//!           / time [ " " zone ]
//! date      = YYYY "-" MM "-" DD
//! time      = HH ":" MM [ ":" SS [ "." fraction ] ]
//! zone      = "UTC" / "Z" / an IANA zone name such as "Europe/Berlin"
//! ```

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

const EXPECTED: &str = "expected \"YYYY-MM-DD [HH:MM[:SS]] [UTC]\", \"HH:MM[:SS]\", \"@SECONDS\", \"now\", \"today\", \"yesterday\" or \"tomorrow\"";

/// Parses `input` in the local zone `tz`, relative to `now`.
pub fn parse(input: &str, tz: &TimeZone, now: Timestamp) -> Result<Timestamp, String> {
    let err = |why: &str| format!("--base-time {input:?}: {why}");
    let s = input.trim();
    let today = now.to_zoned(tz.clone()).date();
    let midnight = |d: Date| {
        local(d.to_datetime(Time::midnight()), tz)
            .ok_or_else(|| err("not a time in the local zone"))
    };
    match s {
        "now" => return Ok(now),
        "today" => return midnight(today),
        "yesterday" => return midnight(today.yesterday().map_err(|_| err("out of range"))?),
        "tomorrow" => return midnight(today.tomorrow().map_err(|_| err("out of range"))?),
        _ => {}
    }
    if let Some(secs) = s.strip_prefix('@') {
        let (whole, frac) = secs.split_once('.').unwrap_or((secs, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err(EXPECTED));
        }
        let secs: i64 = whole.parse().map_err(|_| err("out of range"))?;
        return Timestamp::from_second(secs).map_err(|_| err("out of range"));
    }

    let mut words: Vec<&str> = s.split_whitespace().collect();
    // A trailing zone, when the last word is one.
    let mut zone = tz.clone();
    if words.len() > 1 {
        let last = words[words.len() - 1];
        let named = match last {
            "UTC" | "Z" | "GMT" => Some(TimeZone::UTC),
            w if w.contains('/') => {
                Some(TimeZone::get(w).map_err(|_| err(&format!("unknown time zone {w:?}")))?)
            }
            _ => None,
        };
        if let Some(z) = named {
            zone = z;
            words.pop();
        }
    }
    // A leading weekday must agree with the date, as systemd insists.
    let mut weekday = None;
    if words
        .first()
        .is_some_and(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
    {
        weekday = Some(words.remove(0));
    }
    let (date, time) = match words.as_slice() {
        [d] if d.contains('-') => (parse_date(d), Some(Time::midnight())),
        [t] => (Some(now.to_zoned(zone.clone()).date()), parse_time(t)),
        [d, t] => (parse_date(d), parse_time(t)),
        _ => (None, None),
    };
    let (Some(date), Some(time)) = (date, time) else {
        return Err(err(EXPECTED));
    };
    if let Some(w) = weekday {
        let actual = date.strftime("%a").to_string();
        if !actual.eq_ignore_ascii_case(w)
            && !date.strftime("%A").to_string().eq_ignore_ascii_case(w)
        {
            return Err(err(&format!("{date} is a {actual}, not {w:?}")));
        }
    }
    local(date.to_datetime(time), &zone).ok_or_else(|| err("not a time in the given zone"))
}

fn local(dt: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    tz.to_ambiguous_zoned(dt)
        .compatible()
        .ok()
        .map(|z| z.timestamp())
}

/// `YYYY-MM-DD`, a real date.
fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    Date::new(num(y)? as i16, num(m)? as i8, num(d)? as i8).ok()
}

/// `HH:MM[:SS[.fraction]]`.
fn parse_time(s: &str) -> Option<Time> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let parts: Vec<&str> = hms.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (*h, *m, "0"),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    if h.len() > 2 || m.len() != 2 || sec.len() > 2 || frac.len() > 9 {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        num(frac)? as i32 * 10i32.pow(9 - frac.len() as u32)
    };
    Time::new(num(h)? as i8, num(m)? as i8, num(sec)? as i8, nanos).ok()
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<String, String> {
        let now = Timestamp::from_second(1_764_151_200).unwrap(); // Wed 2025-11-26 10:00:00 UTC
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        parse(s, &tz, now).map(ssi::status::rfc3339)
    }

    #[test]
    fn forms() {
        assert_eq!(p("now").unwrap(), "2025-11-26T10:00:00Z");
        assert_eq!(p("@1764151200").unwrap(), "2025-11-26T10:00:00Z");
        assert_eq!(
            p("2026-01-01 00:00:00 UTC").unwrap(),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(p("2026-01-01 00:00:00").unwrap(), "2025-12-31T23:00:00Z");
        assert_eq!(p("2026-01-01 12:30").unwrap(), "2026-01-01T11:30:00Z");
        assert_eq!(p("2026-01-01").unwrap(), "2025-12-31T23:00:00Z");
        assert_eq!(
            p("2026-07-01 Europe/Berlin").unwrap(),
            "2026-06-30T22:00:00Z"
        );
        assert_eq!(
            p("Thu 2026-01-01 00:00:00 UTC").unwrap(),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(p("today").unwrap(), "2025-11-25T23:00:00Z");
        assert_eq!(p("tomorrow").unwrap(), "2025-11-26T23:00:00Z");
        assert_eq!(p("yesterday").unwrap(), "2025-11-24T23:00:00Z");
        assert_eq!(p("12:00").unwrap(), "2025-11-26T11:00:00Z");
    }

    proptest::proptest! {
        /// No input makes the parser panic.
        #[test]
        fn never_panics(s in "(?s).{0,40}") {
            let _ = p(&s);
        }

        #[test]
        fn never_panics_on_near_misses(s in "[@A-Za-z]{0,3}[ ]?[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}( [0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3}(\\.[0-9]{0,12})?)?)?( [A-Za-z/_]{0,20})?") {
            let _ = p(&s);
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "garbage",
            "",
            "@",
            "@12x",
            "2026-13-01",
            "2026-02-30 00:00:00",
            "2026-01-01 25:00:00",
            "2026-1-1",
            "2026-01-01 00:00:00 Mars/Base",
            "Fri 2026-01-01",
            "2026-01-01 00:00:00 UTC extra",
        ] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            p("Fri 2026-01-01").unwrap_err(),
            "--base-time \"Fri 2026-01-01\": 2026-01-01 is a Thu, not \"Fri\""
        );
    }
}

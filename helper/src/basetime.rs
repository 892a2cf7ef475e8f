//! `--base-time`: the time stamps `systemd-analyze calendar --base-time=`
//! takes (systemd.time(7) "Parsing Timestamps"), the common subset.
//!
//! ```text
//! base-time = "now" / "today" / "yesterday" / "tomorrow" / "@" seconds
//!           / "-" span / span " ago"                      (span: ssi::timespan)
//!           / [ weekday " " ] date [ " " time ] [ " " zone ]
//!           / time [ " " zone ]
//! date      = YYYY "-" MM "-" DD
//! time      = HH ":" MM [ ":" SS [ "." fraction ] ]
//! zone      = "UTC" / "Z" / an IANA zone name such as "Europe/Berlin"
//! ```
//!
//! Times are microseconds since the epoch, as systemd counts, up to the
//! last second systemd accepts (`@253402214399`, 9999-12-30 23:59:59 UTC).
//! A local time is resolved as systemd's `mktime()` does: in a DST gap the
//! later side, in a fold the standard-time instant.

use jiff::civil::{Date, DateTime, Time};
use jiff::Timestamp;
use ssi::calendar::LocalZone;
use ssi::timestamp::{epoch_usec, parse_date, parse_time};

const EXPECTED: &str = "expected \"YYYY-MM-DD [HH:MM[:SS]] [UTC]\", \"HH:MM[:SS]\", \"@SECONDS\", \"now\", \"today\", \"yesterday\", \"tomorrow\" or a span before now (\"-24h\", \"2d ago\")";

/// Parses `input` in the local zone, relative to `now`; microseconds since
/// the epoch.
pub fn parse(input: &str, local: &LocalZone, now: Timestamp) -> Result<u64, String> {
    parse_option("--base-time", input, local, now)
}

/// [`parse`] for the option named `option` (which errors name). Also takes
/// a time span before now, as systemd does: `-24h`, `2d ago`.
pub fn parse_option(
    option: &str,
    input: &str,
    local: &LocalZone,
    now: Timestamp,
) -> Result<u64, String> {
    let err = |why: &str| format!("{option} {input:?}: {why}");
    let s = input.trim();
    let ago = s
        .strip_prefix('-')
        .or_else(|| s.strip_suffix(" ago"))
        .map(str::trim);
    if let Some(span) = ago {
        let back = ssi::timespan::parse_usec(span).map_err(|e| err(&e))?;
        let now = u64::try_from(now.as_microsecond()).map_err(|_| err("before 1970"))?;
        return u64::try_from(back)
            .ok()
            .and_then(|b| now.checked_sub(b))
            .ok_or_else(|| err("before 1970"));
    }
    let today = now.to_zoned(local.time_zone().clone()).date();
    let midnight = |d: Date| {
        resolve(d.to_datetime(Time::midnight()), Some(local))
            .ok_or_else(|| err("not a time in the local zone"))
    };
    match s {
        "now" => return u64::try_from(now.as_microsecond()).map_err(|_| err("before 1970")),
        "today" => return midnight(today),
        "yesterday" => return midnight(today.yesterday().map_err(|_| err("out of range"))?),
        "tomorrow" => return midnight(today.tomorrow().map_err(|_| err("out of range"))?),
        _ => {}
    }
    if let Some(secs) = s.strip_prefix('@') {
        return match epoch_usec(secs) {
            Some(Ok(usec)) => Ok(usec),
            Some(Err(())) => Err(err("out of range")),
            None => Err(err(EXPECTED)),
        };
    }

    let mut words: Vec<&str> = s.split_whitespace().collect();
    // A trailing zone, when the last word is one; `None` is UTC.
    let mut zone = Some(local.clone());
    if words.len() > 1 {
        let last = words[words.len() - 1];
        let named = match last {
            "UTC" | "Z" | "GMT" => Some(None),
            w if w.contains('/') => {
                let known = ssi::calendar::timezone_is_valid(w);
                if !known {
                    return Err(err(&format!("unknown time zone {w:?}")));
                }
                Some(Some(LocalZone::from_tz(Some(w))))
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
        [t] => {
            let tz = zone
                .as_ref()
                .map_or(jiff::tz::TimeZone::UTC, |z| z.time_zone().clone());
            (Some(now.to_zoned(tz).date()), parse_time(t))
        }
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
    resolve(date.to_datetime(time), zone.as_ref())
        .ok_or_else(|| err("not a time in the given zone"))
}

/// A wall-clock time in `zone` (`None`: UTC) as systemd resolves it.
fn resolve(dt: DateTime, zone: Option<&LocalZone>) -> Option<u64> {
    let usec = match zone {
        Some(z) => z.mktime(dt)?,
        None => dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_microsecond(),
    };
    u64::try_from(usec).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<String, String> {
        let now = Timestamp::from_second(1_764_151_200).unwrap(); // Wed 2025-11-26 10:00:00 UTC
        let tz = LocalZone::from_tz(Some("Europe/Berlin"));
        parse(s, &tz, now).map(|usec| {
            let ts = Timestamp::from_microsecond(usec as i64).unwrap();
            let mut s = ssi::status::rfc3339(ts);
            if usec % 1_000_000 != 0 {
                s = format!("{s} +{}us", usec % 1_000_000);
            }
            s
        })
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

    #[test]
    fn spans_before_now() {
        assert_eq!(p("-24h").unwrap(), "2025-11-25T10:00:00Z");
        assert_eq!(p("2d 30min ago").unwrap(), "2025-11-24T09:30:00Z");
        assert_eq!(p("- 5min").unwrap(), "2025-11-26T09:55:00Z");
        let e = p("-soon").unwrap_err();
        assert!(
            e.starts_with("--base-time \"-soon\": expected a time span"),
            "{e}"
        );
        assert!(p("-100000y").unwrap_err().ends_with("before 1970"));
    }

    #[test]
    fn like_systemd() {
        // In the fold the standard-time instant (02:30 CET), as mktime().
        assert_eq!(p("2026-10-25 02:30").unwrap(), "2026-10-25T01:30:00Z");
        // In the gap the later side (03:30 CEST).
        assert_eq!(p("2026-03-29 02:30").unwrap(), "2026-03-29T01:30:00Z");
        // Fractions of a second are kept, to the microsecond.
        assert_eq!(
            p("@1781524800.6").unwrap(),
            "2026-06-15T12:00:00Z +600000us"
        );
        assert_eq!(
            p("@1781524800.1234567").unwrap(),
            "2026-06-15T12:00:00Z +123456us"
        );
        // The last second systemd accepts, and one past it.
        let tz = LocalZone::utc();
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(
            parse("@253402214399", &tz, now),
            Ok(253_402_214_399_000_000)
        );
        assert!(parse("@253402214400", &tz, now).is_err());
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

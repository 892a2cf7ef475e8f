//! The local zone as systemd sees it through glibc: read from `TZ` the way
//! glibc's `tzset()` reads it, shown the way `systemd-analyze calendar`
//! shows times, with glibc's rule for when a zone counts as UTC.

use jiff::tz::TimeZone;

use super::clock::{Clock, Tm};
use super::tzfile::{posix_std_name, Rules, ZONEINFO};
use super::LocalNames;

/// The zone used for times and expressions that name none.
#[derive(Debug, Clone)]
pub struct LocalZone {
    rules: Rules,
    /// `TZ` named no readable zone and began with no zone name: glibc
    /// then keeps UTC and an empty abbreviation.
    nameless: bool,
}

impl LocalZone {
    /// UTC.
    pub fn utc() -> Self {
        LocalZone {
            rules: Rules::plain(TimeZone::UTC),
            nameless: false,
        }
    }

    /// The zone this process's `TZ` names, read as glibc reads it.
    pub fn from_env() -> Self {
        let value = std::env::var_os("TZ").map(|v| v.to_string_lossy().into_owned());
        Self::from_tz(value.as_deref())
    }

    /// The zone a `TZ` value names, read as glibc's `tzset()` reads it:
    /// unset means /etc/localtime; a leading `:` is dropped; an empty
    /// value is UTC; otherwise the zone file of that name (absolute, or
    /// under /usr/share/zoneinfo, including `posix/…` and `right/…`) when
    /// there is one, else the value as a POSIX rule (`JST-9`), else UTC
    /// named after the value's leading letters (`Nowhere/Zone` gives
    /// `Nowhere`), as glibc falls back.
    pub fn from_tz(value: Option<&str>) -> Self {
        let Some(value) = value else {
            // jiff knows the zone's name from the link; the leap seconds
            // come from the file itself.
            let tz = TimeZone::system();
            let rules = match std::fs::read("/etc/localtime")
                .ok()
                .and_then(|data| Rules::from_tzif("localtime", &data))
            {
                Some(file) => file.with_zone(tz),
                None => Rules::plain(tz),
            };
            return LocalZone {
                rules,
                nameless: false,
            };
        };
        let name = value.strip_prefix(':').unwrap_or(value);
        if name.is_empty() {
            return Self::utc();
        }
        let path = if name.starts_with('/') {
            std::path::PathBuf::from(name)
        } else {
            std::path::Path::new(ZONEINFO).join(name)
        };
        if let Some(rules) = std::fs::read(&path)
            .ok()
            .and_then(|data| Rules::from_tzif(name, &data))
        {
            return LocalZone {
                rules,
                nameless: false,
            };
        }
        if let Ok(tz) = TimeZone::posix(name) {
            return LocalZone {
                rules: Rules::plain(tz),
                nameless: false,
            };
        }
        match posix_std_name(name).and_then(|n| TimeZone::posix(&format!("<{n}>0")).ok()) {
            Some(tz) => LocalZone {
                rules: Rules::plain(tz),
                nameless: false,
            },
            None => LocalZone {
                rules: Rules::plain(TimeZone::UTC),
                nameless: true,
            },
        }
    }

    /// The zone's offsets and abbreviations (without leap seconds).
    pub fn time_zone(&self) -> &TimeZone {
        &self.rules.tz
    }

    pub(super) fn rules(&self) -> &Rules {
        &self.rules
    }

    /// glibc's `tzname[]` for this zone.
    pub fn names(&self) -> LocalNames {
        if self.nameless {
            return LocalNames {
                standard: String::new(),
                daylight: String::new(),
            };
        }
        LocalNames::of(&self.rules.tz)
    }

    /// A time (µs since the epoch) as `systemd-analyze calendar` prints
    /// "Next elapse", e.g. `Mon 2026-11-30 12:00:00 CET`; leap seconds of
    /// `right/…` zones included.
    pub fn format(&self, usec: u64) -> String {
        let t = i64::try_from(usec / 1_000_000).unwrap_or(i64::MAX);
        let tm = Clock::local(&self.rules).broken_down(t);
        let abbreviation = match jiff::Timestamp::from_second(t) {
            Ok(ts) if !self.nameless => self.rules.tz.to_offset_info(ts).abbreviation().to_owned(),
            _ => String::new(),
        };
        format_tm(&tm, &abbreviation)
    }

    /// A time (µs since the epoch) as systemd prints "(in UTC)".
    /// glibc's `gmtime()` counts the local zone's leap seconds too.
    pub fn format_utc(&self, usec: u64) -> String {
        let t = i64::try_from(usec / 1_000_000).unwrap_or(i64::MAX);
        let utc = self.rules.utc_with_leaps();
        format_tm(&Clock::utc_of(&utc).broken_down(t), "UTC")
    }

    /// Whether systemd prints "(in UTC)" lines after computing an elapse at
    /// `usec`: unless glibc's `timezone` and `daylight` are both 0 (systemd's
    /// `in_utc_timezone()`). glibc sets them from the zone's POSIX rule
    /// when the time is past the zone's last transition, else from the
    /// latest standard and daylight offsets among its transitions.
    pub fn shows_utc_lines(&self, usec: u64) -> bool {
        if self.nameless {
            return false;
        }
        let tz = &self.rules.tz;
        let t = i64::try_from(usec / 1_000_000).unwrap_or(i64::MAX);
        let ts = jiff::Timestamp::from_second(t).unwrap_or(jiff::Timestamp::MAX);
        if tz.following(ts).next().is_none() {
            let info = tz.to_offset_info(ts);
            return info.offset() != jiff::tz::Offset::UTC || info.dst().is_dst();
        }
        let (mut standard, mut daylight) = (None, None);
        for transition in tz.preceding(jiff::Timestamp::MAX) {
            let slot = if transition.dst().is_dst() {
                &mut daylight
            } else {
                &mut standard
            };
            if slot.is_none() {
                *slot = Some(transition.offset());
            }
            if standard.is_some() && daylight.is_some() {
                break;
            }
        }
        let standard = standard.unwrap_or(jiff::tz::Offset::UTC);
        standard != jiff::tz::Offset::UTC || daylight.is_some_and(|d| d != standard)
    }

    /// glibc's `mktime()` on a fresh process for a wall-clock time, with
    /// DST unknown: in a gap the later side, in a fold the standard-time
    /// instant, as systemd resolves a local `--base-time`. Microseconds
    /// since the epoch.
    pub fn mktime(&self, dt: jiff::civil::DateTime) -> Option<i64> {
        let mut tm = Tm {
            year: i64::from(dt.year()),
            mon: i64::from(dt.month()) - 1,
            mday: i64::from(dt.day()),
            hour: i64::from(dt.hour()),
            min: i64::from(dt.minute()),
            sec: i64::from(dt.second()),
            isdst: -1,
        };
        let t = Clock::local(&self.rules).make_time(&mut tm)?;
        t.checked_mul(1_000_000)?
            .checked_add(i64::from(dt.subsec_nanosecond() / 1000))
    }
}

/// `%a %Y-%m-%d %H:%M:%S %Z`, the zone left out when it has no name.
fn format_tm(tm: &Tm, abbreviation: &str) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let day = DAYS[usize::try_from(tm.weekday()).unwrap_or(0) % 7];
    let mut out = format!(
        "{day} {:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.year,
        tm.mon + 1,
        tm.mday,
        tm.hour,
        tm.min,
        tm.sec
    );
    if !abbreviation.is_empty() {
        out.push(' ');
        out.push_str(abbreviation);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(tz: &str) -> LocalZone {
        LocalZone::from_tz(Some(tz))
    }

    #[test]
    fn reads_tz_like_glibc() {
        let at = 1_781_524_800_000_000; // Mon 2026-06-15 12:00:00 UTC
        for (tz, shown) in [
            ("Europe/Berlin", "Mon 2026-06-15 14:00:00 CEST"),
            (":Europe/Berlin", "Mon 2026-06-15 14:00:00 CEST"),
            ("posix/Europe/Berlin", "Mon 2026-06-15 14:00:00 CEST"),
            ("right/Europe/Berlin", "Mon 2026-06-15 13:59:33 CEST"),
            (
                "/usr/share/zoneinfo/Asia/Tokyo",
                "Mon 2026-06-15 21:00:00 JST",
            ),
            ("JST-9", "Mon 2026-06-15 21:00:00 JST"),
            ("", "Mon 2026-06-15 12:00:00 UTC"),
            ("Nowhere/Zone", "Mon 2026-06-15 12:00:00 Nowhere"),
            ("ab", "Mon 2026-06-15 12:00:00"),
        ] {
            assert_eq!(zone(tz).format(at), shown, "TZ={tz}");
        }
    }

    #[test]
    fn utc_lines_follow_glibc_timezone_and_daylight() {
        let at = 1_781_524_800_000_000;
        for (tz, shown) in [
            ("UTC", false),
            ("Etc/GMT", false),
            ("Africa/Abidjan", false),
            ("Factory", false),
            ("America/Danmarkshavn", false),
            ("Nowhere/Zone", false),
            ("Europe/London", true),
            ("Europe/Berlin", true),
            ("Etc/GMT-1", true),
            ("Asia/Kolkata", true),
        ] {
            assert_eq!(zone(tz).shows_utc_lines(at), shown, "TZ={tz}");
        }
    }

    #[test]
    fn fold_resolves_to_standard_time() {
        let berlin = zone("Europe/Berlin");
        let dt = jiff::civil::date(2026, 10, 25).at(2, 30, 0, 0);
        assert_eq!(berlin.mktime(dt), Some(1_792_891_800_000_000));
        let gap = jiff::civil::date(2026, 3, 29).at(2, 30, 0, 0);
        assert_eq!(berlin.mktime(gap), Some(1_774_747_800_000_000));
    }
}

//! systemd OnCalendar expressions (systemd.time(7)): parsing, systemd's
//! normalized form, and the next elapse after a given time.
//!
//! The behaviour follows systemd 252 (`systemd-analyze calendar`) exactly:
//! the same expressions are accepted, the normalized form matches character
//! for character, and elapses are computed with the same algorithm, including
//! how glibc's `mktime()` resolves times that fall into DST gaps and folds.
//!
//! - `grammar` turns text into fields (nom),
//! - `chain` holds one field's values and systemd's normalization rules,
//! - `zone` decides which trailing words name a time zone,
//! - `clock` is broken-down time as glibc computes it, on top of jiff,
//! - `elapse` is systemd's search for the next matching time,
//! - `tzfile` reads zone files as glibc does (leap seconds included),
//! - `local` is the local zone as glibc reads `TZ` and systemd shows times.

mod chain;
mod clock;
mod elapse;
mod grammar;
mod local;
mod tzfile;
mod zone;

use std::fmt;

use chain::Chain;
pub use local::LocalZone;
pub use zone::LocalNames;

/// systemd's `timezone_is_valid()`: whether `name` names a zone file under
/// /usr/share/zoneinfo (or is `UTC`).
pub fn timezone_is_valid(name: &str) -> bool {
    zone::NamedZone::load(name).is_some()
}

/// A parsed, valid OnCalendar expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSpec {
    /// Bit 0 = Monday … bit 6 = Sunday; `None` when every day matches.
    weekdays: Option<u8>,
    year: Chain,
    month: Chain,
    day: Chain,
    hour: Chain,
    minute: Chain,
    /// Seconds, in microseconds.
    second: Chain,
    /// `~`: days count backwards from the end of the month.
    end_of_month: bool,
    zone: SpecZone,
}

/// Which clock an expression is read in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SpecZone {
    /// The caller's local zone.
    Local,
    /// ` UTC` (or an `@epoch` expression).
    Utc,
    /// The local zone's standard (`dst == false`) or daylight abbreviation,
    /// e.g. `CET`/`CEST`: local time with DST forced off or on, as systemd
    /// does by handing `tm_isdst` to `mktime()`.
    LocalAbbreviation { dst: bool, name: String },
    /// An IANA zone named in the expression.
    Named(zone::NamedZone),
}

/// Why an expression is not a valid OnCalendar expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError {
    /// The expression as given.
    pub input: String,
    /// What was expected, and where.
    pub reason: String,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "schedule {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for CalendarError {}

impl CalendarSpec {
    /// Parses `input` exactly as systemd does, with the system's local time
    /// zone (`TZ`) deciding which zone abbreviations (e.g. `CET`) are
    /// understood, as glibc's `tzname` does for systemd.
    /// The zone is read once per process: reading it per schedule opened
    /// `/etc/localtime` once for every script `ssi-status list` shows.
    pub fn parse(input: &str) -> Result<Self, CalendarError> {
        static LOCAL: std::sync::OnceLock<LocalZone> = std::sync::OnceLock::new();
        Self::parse_in(input, LOCAL.get_or_init(LocalZone::from_env))
    }

    /// Parses `input` as systemd would with `local` as its local zone.
    pub fn parse_in(input: &str, local: &LocalZone) -> Result<Self, CalendarError> {
        grammar::parse(input, &local.names()).map_err(|reason| CalendarError {
            input: input.to_owned(),
            reason,
        })
    }

    /// Parses `input` as systemd would when running in the zone `local`.
    pub fn parse_with_local(
        input: &str,
        local: &jiff::tz::TimeZone,
    ) -> Result<Self, CalendarError> {
        grammar::parse(input, &LocalNames::of(local)).map_err(|reason| CalendarError {
            input: input.to_owned(),
            reason,
        })
    }

    /// systemd's normalized form, as `systemd-analyze calendar` prints it.
    pub fn normalized(&self) -> String {
        self.to_string()
    }

    /// The first elapse strictly after `after`, expressed in `local` (the
    /// zone used for expressions that name none), or `None` when the
    /// expression never elapses again (systemd: "never", or its calculation
    /// gives up, as it does for a few pathological expressions).
    pub fn next_elapse(
        &self,
        after: jiff::Timestamp,
        local: &jiff::tz::TimeZone,
    ) -> Option<jiff::Zoned> {
        // systemd counts in whole microseconds, and never before 1970.
        let usec = u64::try_from(after.as_microsecond()).ok()?;
        let next = elapse::next_usec(self, usec, &tzfile::Rules::plain(local.clone()))?;
        let ts = jiff::Timestamp::from_microsecond(i64::try_from(next).ok()?).ok()?;
        Some(ts.to_zoned(local.clone()))
    }
}

impl CalendarSpec {
    /// The first elapse strictly after `after` (µs since the epoch), as
    /// systemd's `calendar_spec_next_usec()` gives it, with `local` as the
    /// local zone. It can be earlier than `after`: an expression in a zone
    /// of its own (`CEST`, `Europe/Berlin`) is searched on that zone's
    /// clock, and a forced DST flag can land behind the start. `None` when
    /// it never elapses again or systemd's search gives up.
    pub fn next_elapse_usec(&self, after: u64, local: &LocalZone) -> Option<u64> {
        elapse::next_usec(self, after, local.rules())
    }
}

impl fmt::Display for CalendarSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(bits) = self.weekdays {
            write_weekdays(f, bits)?;
            f.write_str(" ")?;
        }
        self.year.write(f, 4, false)?;
        f.write_str("-")?;
        self.month.write(f, 2, false)?;
        f.write_str(if self.end_of_month { "~" } else { "-" })?;
        self.day.write(f, 2, false)?;
        f.write_str(" ")?;
        self.hour.write(f, 2, false)?;
        f.write_str(":")?;
        self.minute.write(f, 2, false)?;
        f.write_str(":")?;
        self.second.write(f, 2, true)?;
        match &self.zone {
            SpecZone::Local => Ok(()),
            SpecZone::Utc => f.write_str(" UTC"),
            SpecZone::LocalAbbreviation { name, .. } => write!(f, " {name}"),
            SpecZone::Named(zone) => write!(f, " {}", zone.name()),
        }
    }
}

const WEEKDAY_ABBREVIATIONS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Runs of three or more days are written `a..b`, shorter ones listed.
fn write_weekdays(f: &mut fmt::Formatter<'_>, bits: u8) -> fmt::Result {
    let mut first = true;
    let mut day = 0;
    while day < 7 {
        if bits & (1 << day) == 0 {
            day += 1;
            continue;
        }
        let mut last = day;
        while last + 1 < 7 && bits & (1 << (last + 1)) != 0 {
            last += 1;
        }
        if !first {
            f.write_str(",")?;
        }
        first = false;
        f.write_str(WEEKDAY_ABBREVIATIONS[day])?;
        match last - day {
            0 => {}
            1 => write!(f, ",{}", WEEKDAY_ABBREVIATIONS[last])?,
            _ => write!(f, "..{}", WEEKDAY_ABBREVIATIONS[last])?,
        }
        day = last + 1;
    }
    Ok(())
}

/// Formats a time as `systemd-analyze calendar` prints "Next elapse:",
/// e.g. `Mon 2026-11-30 12:00:00 UTC`.
pub fn format_elapse(z: &jiff::Zoned) -> String {
    z.strftime("%a %Y-%m-%d %H:%M:%S %Z").to_string()
}

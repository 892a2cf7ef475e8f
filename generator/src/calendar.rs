//! systemd OnCalendar expressions (systemd.time(7)): parsing, systemd's
//! normalized form, and the next elapse after a given time.
//!
//! NOTE: placeholder API; the real grammar lands with the calendar work.

use std::fmt;

/// A parsed, valid OnCalendar expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSpec {
    normalized: String,
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
    /// Parses `input` exactly as systemd does.
    pub fn parse(input: &str) -> Result<Self, CalendarError> {
        Err(CalendarError {
            input: input.to_owned(),
            reason: "calendar parsing is not implemented yet".to_owned(),
        })
    }

    /// systemd's normalized form, as `systemd-analyze calendar` prints it.
    pub fn normalized(&self) -> String {
        self.normalized.clone()
    }

    /// The first elapse strictly after `after`, expressed in `local` (the
    /// zone used for expressions that name none), or `None` when the
    /// expression never elapses again.
    pub fn next_elapse(
        &self,
        _after: jiff::Timestamp,
        _local: &jiff::tz::TimeZone,
    ) -> Option<jiff::Zoned> {
        None
    }
}

impl fmt::Display for CalendarSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

/// Formats a time as `systemd-analyze calendar` prints "Next elapse:",
/// e.g. `Mon 2026-11-30 12:00:00 UTC`.
pub fn format_elapse(z: &jiff::Zoned) -> String {
    z.strftime("%a %Y-%m-%d %H:%M:%S %Z").to_string()
}

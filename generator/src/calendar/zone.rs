//! Time zones named at the end of an expression.

use jiff::tz::TimeZone;

/// Where systemd (and glibc, for `TZ=:Name`) look for zone files.
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The local zone's standard and daylight-saving abbreviations, glibc's
/// `tzname[0]` and `tzname[1]` (e.g. `CET`/`CEST`; `UTC`/`UTC`). systemd
/// accepts them as a trailing zone meaning "local time, DST off/on".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalNames {
    /// `tzname[0]`.
    pub standard: String,
    /// `tzname[1]`; the standard name again for zones without DST.
    pub daylight: String,
}

impl LocalNames {
    /// The abbreviations of `tz`'s current rules, as glibc derives them from
    /// the zone's POSIX rule: sampled now and half a year from now.
    pub fn of(tz: &TimeZone) -> Self {
        let now = jiff::Timestamp::now();
        let later = now
            .checked_add(jiff::SignedDuration::from_hours(24 * 182))
            .unwrap_or(now);
        let mut standard = None;
        let mut daylight = None;
        for ts in [now, later] {
            let info = tz.to_offset_info(ts);
            let slot = if info.dst().is_dst() {
                &mut daylight
            } else {
                &mut standard
            };
            if slot.is_none() {
                *slot = Some(info.abbreviation().to_owned());
            }
        }
        let standard = standard
            .or_else(|| daylight.clone())
            .unwrap_or_else(|| "UTC".to_owned());
        let daylight = daylight.unwrap_or_else(|| standard.clone());
        LocalNames { standard, daylight }
    }
}

/// A zone named in an expression, loaded from its zoneinfo file. Two are
/// equal when their names are.
#[derive(Debug, Clone)]
pub(super) struct NamedZone {
    name: String,
    tz: TimeZone,
}

impl PartialEq for NamedZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for NamedZone {}

impl NamedZone {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// systemd's `timezone_is_valid()`: a relative name of letters, digits
    /// and `-_+/` without empty path parts, whose file under
    /// /usr/share/zoneinfo is a regular TZif file. Case matters, as it does
    /// for the file system.
    pub fn load(name: &str) -> Option<Self> {
        if name == "UTC" {
            return Some(NamedZone {
                name: name.to_owned(),
                tz: TimeZone::UTC,
            });
        }
        let chars_ok = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/'));
        if name.is_empty()
            || !chars_ok
            || name.starts_with('/')
            || name.ends_with('/')
            || name.contains("//")
            || name.len() >= 4096
        {
            return None;
        }
        let path = std::path::Path::new(ZONEINFO).join(name);
        if !std::fs::metadata(&path).ok()?.is_file() {
            return None;
        }
        let data = std::fs::read(&path).ok()?;
        if !data.starts_with(b"TZif") {
            return None;
        }
        let tz = TimeZone::tzif(name, &data).ok()?;
        Some(NamedZone {
            name: name.to_owned(),
            tz,
        })
    }
}

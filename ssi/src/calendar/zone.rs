//! Time zones named at the end of an expression.

use jiff::tz::TimeZone;

use super::tzfile::{Rules, ZONEINFO};

/// The local zone's standard and daylight-saving abbreviations, glibc's
/// `tzname[0]` and `tzname[1]` (e.g. `CET`/`CEST`; `UTC`/`UTC`). systemd
/// accepts them as a trailing zone meaning "local time, DST off/on".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalNames {
    /// `tzname[0]`.
    pub standard: String,
    /// `tzname[1]`; the standard name again for zones that never had DST.
    pub daylight: String,
}

impl LocalNames {
    /// glibc's choice: walking the zone's transitions from the last one
    /// backwards, the first abbreviation seen without DST and the first
    /// seen with DST; a zone with only one kind uses it for both (`UTC`).
    pub fn of(tz: &TimeZone) -> Self {
        let mut names: [Option<String>; 2] = [None, None];
        for transition in tz.preceding(jiff::Timestamp::MAX) {
            let slot = &mut names[usize::from(transition.dst().is_dst())];
            if slot.is_none() {
                *slot = Some(transition.abbreviation().to_owned());
                if names.iter().all(Option::is_some) {
                    break;
                }
            }
        }
        let [standard, daylight] = names;
        let fallback = || {
            tz.to_offset_info(jiff::Timestamp::UNIX_EPOCH)
                .abbreviation()
                .to_owned()
        };
        let standard = standard
            .or_else(|| daylight.clone())
            .unwrap_or_else(fallback);
        let daylight = daylight.unwrap_or_else(|| standard.clone());
        LocalNames { standard, daylight }
    }
}

/// A zone named in an expression, loaded from its zoneinfo file. Two are
/// equal when their names are.
#[derive(Debug, Clone)]
pub(super) struct NamedZone {
    name: String,
    rules: Rules,
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

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// systemd's `timezone_is_valid()`: a relative name of letters, digits
    /// and `-_+/` without empty path parts, whose file under
    /// /usr/share/zoneinfo is a regular TZif file. Case matters, as it does
    /// for the file system.
    pub fn load(name: &str) -> Option<Self> {
        if name == "UTC" {
            return Some(NamedZone {
                name: name.to_owned(),
                rules: Rules::plain(TimeZone::UTC),
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
        let rules = Rules::from_tzif(name, &data)?;
        Some(NamedZone {
            name: name.to_owned(),
            rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are glibc 2.36's tzname[] after tzset() in each zone.
    #[test]
    fn local_names_follow_glibc() {
        for (zone, standard, daylight) in [
            ("UTC", "UTC", "UTC"),
            ("Europe/Berlin", "CET", "CEST"),
            ("America/New_York", "EST", "EDT"),
            ("Europe/Dublin", "IST", "GMT"),
            ("Asia/Tokyo", "JST", "JDT"),
            ("Asia/Kolkata", "IST", "+0630"),
            ("Etc/GMT+5", "-05", "-05"),
        ] {
            let names = LocalNames::of(&TimeZone::get(zone).unwrap());
            assert_eq!(
                (names.standard.as_str(), names.daylight.as_str()),
                (standard, daylight),
                "{zone}"
            );
        }
    }
}

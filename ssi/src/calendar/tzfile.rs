//! Zones as glibc reads them: which file or rule a `TZ` value names, and
//! the leap-second table of `right/…` zone files, which jiff ignores but
//! glibc's `localtime()` and `mktime()` apply.

use jiff::tz::TimeZone;

/// Where glibc (and systemd) look for zone files named relatively.
pub(super) const ZONEINFO: &str = "/usr/share/zoneinfo";

/// One leap-second record: from `at` (seconds since the epoch, counting
/// leap seconds as `right/…` files do) on, clocks are `correction` seconds
/// behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Leap {
    at: i64,
    correction: i64,
}

/// A zone's rules: offsets and abbreviations from jiff, leap seconds from
/// the file itself.
#[derive(Debug, Clone)]
pub(super) struct Rules {
    pub tz: TimeZone,
    leaps: Vec<Leap>,
}

impl Rules {
    /// Rules without leap seconds.
    pub fn plain(tz: TimeZone) -> Self {
        Rules {
            tz,
            leaps: Vec::new(),
        }
    }

    /// The rules of TZif `data`, or `None` when it is no TZif file.
    pub fn from_tzif(name: &str, data: &[u8]) -> Option<Self> {
        if !data.starts_with(b"TZif") {
            return None;
        }
        let tz = TimeZone::tzif(name, data).ok()?;
        Some(Rules {
            tz,
            leaps: leaps(data).unwrap_or_default(),
        })
    }

    /// The same leap seconds with the offsets of `tz`.
    pub fn with_zone(self, tz: TimeZone) -> Self {
        Rules { tz, ..self }
    }

    pub fn has_leaps(&self) -> bool {
        !self.leaps.is_empty()
    }

    /// The same leap seconds, without the zone's offsets: UTC as glibc
    /// computes it while this zone is the local one.
    pub fn utc_with_leaps(&self) -> Self {
        Rules {
            tz: TimeZone::UTC,
            leaps: self.leaps.clone(),
        }
    }

    /// glibc's leap correction at `t`: how many seconds to subtract, and
    /// whether `t` is itself an inserted leap second (shown as `:60`).
    pub fn leap_correction(&self, t: i64) -> (i64, bool) {
        let Some(i) = self.leaps.iter().rposition(|l| l.at <= t) else {
            return (0, false);
        };
        let leap = self.leaps[i];
        let previous = if i == 0 {
            0
        } else {
            self.leaps[i - 1].correction
        };
        (leap.correction, t == leap.at && leap.correction > previous)
    }
}

/// The leap-second records of TZif data, from its 64-bit part when it has
/// one (RFC 8536); `None` when the data is cut short.
fn leaps(data: &[u8]) -> Option<Vec<Leap>> {
    let header = Header::read(data)?;
    let (header, body, time_size) = if data.get(4).is_some_and(|v| *v >= b'2') {
        let second = data.get(44 + header.v1_body_len()?..)?;
        (Header::read(second)?, second.get(44..)?, 8)
    } else {
        (header, data.get(44..)?, 4)
    };
    let start = header
        .timecnt
        .checked_mul(time_size + 1)?
        .checked_add(header.typecnt.checked_mul(6)?)?
        .checked_add(header.charcnt)?;
    let record = time_size + 4;
    let mut out = Vec::with_capacity(header.leapcnt);
    for i in 0..header.leapcnt {
        let at = start.checked_add(i.checked_mul(record)?)?;
        let bytes = body.get(at..at + record)?;
        let (occurrence, correction) = bytes.split_at(time_size);
        let occurrence = if time_size == 8 {
            i64::from_be_bytes(occurrence.try_into().ok()?)
        } else {
            i64::from(i32::from_be_bytes(occurrence.try_into().ok()?))
        };
        out.push(Leap {
            at: occurrence,
            correction: i64::from(i32::from_be_bytes(correction.try_into().ok()?)),
        });
    }
    Some(out)
}

/// The counts in a TZif header.
struct Header {
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

impl Header {
    fn read(data: &[u8]) -> Option<Self> {
        if !data.starts_with(b"TZif") {
            return None;
        }
        let count = |i: usize| -> Option<usize> {
            let b = data.get(20 + 4 * i..24 + 4 * i)?;
            usize::try_from(u32::from_be_bytes(b.try_into().ok()?)).ok()
        };
        Some(Header {
            isutcnt: count(0)?,
            isstdcnt: count(1)?,
            leapcnt: count(2)?,
            timecnt: count(3)?,
            typecnt: count(4)?,
            charcnt: count(5)?,
        })
    }

    /// The length of the version-1 data block (32-bit times).
    fn v1_body_len(&self) -> Option<usize> {
        self.timecnt
            .checked_mul(5)?
            .checked_add(self.typecnt.checked_mul(6)?)?
            .checked_add(self.charcnt)?
            .checked_add(self.leapcnt.checked_mul(8)?)?
            .checked_add(self.isstdcnt)?
            .checked_add(self.isutcnt)
    }
}

/// glibc's `parse_tzname()`: the standard-time name at the start of a
/// POSIX `TZ` string, `<…>`-quoted or at least three letters; `None` when
/// there is none.
pub(super) fn posix_std_name(value: &str) -> Option<&str> {
    if let Some(rest) = value.strip_prefix('<') {
        let end = rest.find('>')?;
        let name = &rest[..end];
        return (name.len() >= 3
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-'))
        .then_some(name);
    }
    let end = value
        .bytes()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(value.len());
    (end >= 3).then(|| &value[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_leap_seconds_of_right_zones() {
        let Ok(data) = std::fs::read(format!("{ZONEINFO}/right/UTC")) else {
            eprintln!("no right/UTC here");
            return;
        };
        let rules = Rules::from_tzif("right/UTC", &data).unwrap();
        // 1972-07-01 00:00:00 UTC was the first leap second.
        assert_eq!(rules.leap_correction(78_796_799), (0, false));
        assert_eq!(rules.leap_correction(78_796_800), (1, true));
        assert_eq!(rules.leap_correction(78_796_801), (1, false));
        // 27 since 2017.
        assert_eq!(rules.leap_correction(1_781_524_827).0, 27);
        let plain = Rules::from_tzif("UTC", &std::fs::read(format!("{ZONEINFO}/UTC")).unwrap());
        assert_eq!(plain.unwrap().leap_correction(1_781_524_800), (0, false));
    }

    #[test]
    fn posix_names() {
        assert_eq!(posix_std_name("Nowhere/Zone"), Some("Nowhere"));
        assert_eq!(posix_std_name("<+0330>-3:30"), Some("+0330"));
        assert_eq!(posix_std_name("ab"), None);
        assert_eq!(posix_std_name("EST5EDT"), Some("EST"));
    }
}

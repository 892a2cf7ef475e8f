//! Broken-down time as systemd sees it through glibc: `localtime_r()`,
//! `gmtime_r()`, `timegm()` and `mktime()`.
//!
//! systemd's elapse search leans on `mktime()` normalizing out-of-range
//! fields (the 32nd day, minute 60) and on how it resolves local times that
//! do not exist (DST gaps) or exist twice (folds). To give the same answers,
//! `mktime` here follows glibc's documented strategy: guess with the offset
//! the previous call found, refine by the error, and in a gap prefer the
//! daylight side. The zone rules themselves come from jiff, the leap
//! seconds of `right/…` zones from their files (see `tzfile`).

use super::tzfile::Rules;

/// `struct tm`: `year` is the full year, `mon` 0-based, fields may be out of
/// range before normalization; `isdst` is -1 (unknown), 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tm {
    pub year: i64,
    pub mon: i64,
    pub mday: i64,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
    pub isdst: i32,
}

/// A clock in one zone: UTC (`timegm`) or a local zone (`mktime`), with the
/// state glibc keeps between `mktime()` calls.
pub(super) struct Clock<'a> {
    zone: Option<&'a Rules>,
    /// glibc's `localtime_offset`: `t - civil` of the last `mktime()` result.
    guess: i64,
}

const DAY: i64 = 86_400;

/// Days from 1970-01-01 to `year`-`mon`(1-based)-`mday`, proleptic Gregorian.
fn days_from_civil(year: i64, mon: i64, mday: i64) -> i64 {
    let y = if mon <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mon + 9) % 12;
    let doy = (153 * mp + 2) / 5 + mday - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month 1-based, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let mday = doy - (153 * mp + 2) / 5 + 1;
    let mon = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(mon <= 2), mon, mday)
}

impl Tm {
    /// Seconds since the epoch if these fields were UTC, carrying any
    /// out-of-range field into the next larger one (glibc's `ydhms_diff`).
    fn as_utc_seconds(&self) -> i64 {
        let year = self.year + self.mon.div_euclid(12);
        let mon = self.mon.rem_euclid(12) + 1;
        let days = days_from_civil(year, mon, 1) + self.mday - 1;
        days * DAY + self.hour * 3600 + self.min * 60 + self.sec
    }

    pub(super) fn from_utc_seconds(t: i64, isdst: i32) -> Tm {
        let (year, mon, mday) = civil_from_days(t.div_euclid(DAY));
        let s = t.rem_euclid(DAY);
        Tm {
            year,
            mon: mon - 1,
            mday,
            hour: s / 3600,
            min: s / 60 % 60,
            sec: s % 60,
            isdst,
        }
    }

    /// 0 = Sunday, as `tm_wday`.
    pub fn weekday(&self) -> i64 {
        (days_from_civil(self.year, self.mon + 1, self.mday) + 4).rem_euclid(7)
    }
}

impl<'a> Clock<'a> {
    pub fn utc() -> Self {
        Clock {
            zone: None,
            guess: 0,
        }
    }

    /// UTC (`gmtime_r()`, `timegm()`) in a process whose local zone is
    /// `local`: glibc applies that zone's leap seconds to UTC as well.
    pub fn utc_of(local: &'a Rules) -> Self {
        if local.has_leaps() {
            Clock::local(local)
        } else {
            Clock::utc()
        }
    }

    pub fn local(rules: &'a Rules) -> Self {
        Clock {
            zone: Some(rules),
            guess: 0,
        }
    }

    /// `localtime_r()` or `gmtime_r()`.
    pub fn broken_down(&self, t: i64) -> Tm {
        match self.zone {
            None => Tm::from_utc_seconds(t, 0),
            Some(rules) => match jiff::Timestamp::from_second(t) {
                Ok(ts) => {
                    let info = rules.tz.to_offset_info(ts);
                    let offset = i64::from(info.offset().seconds());
                    // glibc: the offset found at `t`, less the leap seconds
                    // so far; an inserted leap second repeats :59 as :60.
                    let (correction, hit) = rules.leap_correction(t);
                    let mut tm = Tm::from_utc_seconds(
                        t + offset - correction,
                        i32::from(info.dst().is_dst()),
                    );
                    tm.sec += i64::from(hit);
                    tm
                }
                // Outside jiff's range no zone rule applies; systemd never
                // gets there (years are capped at 2199).
                Err(_) => Tm::from_utc_seconds(t, 0),
            },
        }
    }

    /// `timegm()` or `mktime()`: the time the fields name; `tm` is replaced
    /// by its normalized form. `None` where glibc fails.
    pub fn make_time(&mut self, tm: &mut Tm) -> Option<i64> {
        if self.zone.is_none() {
            let t = tm.as_utc_seconds();
            *tm = Tm::from_utc_seconds(t, 0);
            return Some(t);
        }
        self.mktime(tm)
    }

    fn mktime(&mut self, tm: &mut Tm) -> Option<i64> {
        let isdst = tm.isdst;
        let sec_requested = tm.sec;
        // Minutes are probed as if they had exactly 60 seconds.
        let sec = tm.sec.clamp(0, 59);
        let civil = Tm { sec, ..*tm }.as_utc_seconds();
        let differ = |want: i32, got: i32| want >= 0 && got >= 0 && (want != 0) != (got != 0);

        // Newton-like probing from the last call's offset.
        let t0 = civil + self.guess;
        let (mut t, mut t1, mut t2) = (t0, t0, t0);
        let mut prev_dst = false;
        let mut probes = 6;
        let mut lt;
        let mut exact = false;
        loop {
            lt = self.broken_down(t);
            let dt = civil - lt.as_utc_seconds();
            if dt == 0 {
                exact = true;
                break;
            }
            let oscillating = t == t1 && t != t2;
            // In a gap the probes flip between the two sides; settle on the
            // one glibc prefers (daylight time when DST was not requested).
            if oscillating
                && (if isdst < 0 {
                    i32::from(prev_dst) <= lt.isdst
                } else {
                    (isdst != 0) != (lt.isdst != 0)
                })
            {
                break;
            }
            probes -= 1;
            if probes == 0 {
                return None;
            }
            (t1, t2, t) = (t2, t, t + dt);
            prev_dst = lt.isdst != 0;
        }

        if exact && differ(isdst, lt.isdst) {
            // Right wall time, wrong DST flag: borrow the offset of the
            // nearest time with the requested flag, searching outwards.
            const STRIDE: i64 = 601_200;
            const BOUND: i64 = 457_243_200 / 2 + STRIDE;
            let mut found = None;
            let mut delta = STRIDE;
            'search: while delta < BOUND {
                for direction in [-1, 1] {
                    let ot = t + delta * direction;
                    let otm = self.broken_down(ot);
                    if !differ(isdst, otm.isdst) {
                        found = Some(ot + (civil - otm.as_utc_seconds()));
                        break 'search;
                    }
                }
                delta += STRIDE;
            }
            t = match found {
                Some(gt) => gt,
                None => t + 3600 * (i64::from(isdst == 0) - i64::from(lt.isdst == 0)),
            };
            lt = self.broken_down(t);
        }

        self.guess = t - civil;
        if sec_requested != lt.sec {
            // A match on an inserted leap second (23:59:60 for 00:00:00)
            // is false: the wanted time is the second after it.
            t += i64::from(sec == 0 && lt.sec == 60) + sec_requested - sec;
            lt = self.broken_down(t);
        }
        *tm = lt;
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tm(year: i64, mon: i64, mday: i64, hour: i64, min: i64, isdst: i32) -> Tm {
        Tm {
            year,
            mon: mon - 1,
            mday,
            hour,
            min,
            sec: 0,
            isdst,
        }
    }

    // Expected values measured with glibc 2.36 mktime() under TZ=Europe/Berlin.
    #[test]
    fn mktime_resolves_gaps_and_folds_like_glibc() {
        let tz = Rules::plain(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
        let mut clock = Clock::local(&tz);
        let mut t = tm(2026, 3, 29, 2, 30, -1);
        assert_eq!(clock.make_time(&mut t), Some(1_774_747_800));
        assert_eq!((t.hour, t.isdst), (3, 1));
        let mut t = tm(2026, 10, 25, 2, 30, -1);
        assert_eq!(clock.make_time(&mut t), Some(1_792_891_800));
        assert_eq!(t.isdst, 0);
        let mut t = tm(2026, 10, 25, 2, 30, 1);
        assert_eq!(clock.make_time(&mut t), Some(1_792_888_200));
        let mut t = tm(2026, 10, 25, 2, 30, -1);
        assert_eq!(clock.make_time(&mut t), Some(1_792_888_200));
    }

    #[test]
    fn out_of_range_fields_carry() {
        let mut clock = Clock::utc();
        let mut t = tm(2025, 2, 29, 24, 60, 0);
        clock.make_time(&mut t);
        assert_eq!((t.year, t.mon, t.mday, t.hour, t.min), (2025, 2, 2, 1, 0));
    }
}

/// Differential test against the C library's own `mktime()`, for one zone
/// at a time because it sets `TZ` for the whole process:
/// `ZONE=Europe/Dublin cargo test -p ssi-generator --lib mktime_matches_glibc -- --ignored`
#[cfg(test)]
mod glibc_differential {
    use super::*;

    fn libc_mktime(tm: &Tm) -> (i64, Tm) {
        let mut c: libc::tm = unsafe { std::mem::zeroed() };
        c.tm_year = (tm.year - 1900) as i32;
        c.tm_mon = tm.mon as i32;
        c.tm_mday = tm.mday as i32;
        c.tm_hour = tm.hour as i32;
        c.tm_min = tm.min as i32;
        c.tm_sec = tm.sec as i32;
        c.tm_isdst = tm.isdst;
        let t = unsafe { libc::mktime(&mut c) };
        (
            t,
            Tm {
                year: i64::from(c.tm_year) + 1900,
                mon: c.tm_mon.into(),
                mday: c.tm_mday.into(),
                hour: c.tm_hour.into(),
                min: c.tm_min.into(),
                sec: c.tm_sec.into(),
                isdst: c.tm_isdst,
            },
        )
    }

    extern "C" {
        fn tzset();
    }

    #[test]
    #[ignore = "sets TZ for the whole process; run alone"]
    fn mktime_matches_glibc() {
        let zone = std::env::var("ZONE").unwrap_or_else(|_| "Europe/Berlin".to_owned());
        std::env::set_var("TZ", &zone);
        unsafe { tzset() };
        let tz = Rules::plain(jiff::tz::TimeZone::get(&zone).unwrap());
        let mut clock = Clock::local(&tz);
        let mut seed = 12345u64;
        let mut rnd = |n: i64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as i64).rem_euclid(n)
        };
        let mut bad = 0;
        for _ in 0..200000 {
            let tm = Tm {
                year: 2026,
                mon: [2, 9, 10][rnd(3) as usize],
                mday: 20 + rnd(14),
                hour: rnd(26),
                min: rnd(62),
                sec: rnd(60),
                isdst: rnd(3) as i32 - 1,
            };
            let (lt, ltm) = libc_mktime(&tm);
            let mut ours = tm;
            let t = clock.make_time(&mut ours);
            if t != Some(lt) || ours != ltm {
                bad += 1;
                if bad < 20 {
                    eprintln!("{tm:?}: glibc {lt} {ltm:?} ours {t:?} {ours:?}");
                }
            }
        }
        assert_eq!(bad, 0);
    }
}

//! systemd's search for the next elapse (`calendar_spec_next_usec()`).
//!
//! The search walks the broken-down time field by field, from the year down
//! to the seconds: each field moves forward to the first value its chain
//! allows, resetting the smaller fields, and whenever `mktime()` normalizes
//! the result into something else (the 31st of April, an hour lost to DST)
//! it starts over from the normalized time. Every step, and every
//! `mktime()` call with its side effects, is kept as systemd has it, so
//! gaps, folds and forced DST flags come out the same.

use super::chain::{Chain, USEC_PER_SEC};
use super::clock::{Clock, Tm};
use super::tzfile::Rules;
use super::{CalendarSpec, SpecZone};

/// systemd gives up (and reports an error) after this many rounds.
const MAX_ITERATIONS: u32 = 1000;
/// Years past this never match (systemd's `MAX_YEAR`).
const MAX_YEAR: i64 = 2199;
/// The largest time systemd can format (9999-12-30 23:59:59.999999 UTC).
const USEC_TIMESTAMP_FORMATTABLE_MAX: u64 = 253_402_214_399_999_999;

/// Whether `a` (with `a_usec`) is earlier than `b`, field by field.
fn before(a: &Tm, a_usec: i64, b: &Tm, b_usec: i64) -> bool {
    (a.year, a.mon, a.mday, a.hour, a.min, a.sec, a_usec)
        < (b.year, b.mon, b.mday, b.hour, b.min, b.sec, b_usec)
}

/// Why the search ended without a result. Callers see `None` either way;
/// `systemd-analyze` prints "never" for the first and an error for the
/// second.
#[derive(Debug)]
enum Stop {
    /// No time matches any more (systemd: `-ENOENT`).
    Never,
    /// The search went round `MAX_ITERATIONS` times (systemd: `-EDEADLK`).
    GaveUp,
}

/// The first elapse strictly after `usec` (µs since the epoch).
pub(super) fn next_usec(spec: &CalendarSpec, usec: u64, local: &Rules) -> Option<u64> {
    if usec > USEC_TIMESTAMP_FORMATTABLE_MAX {
        return None;
    }
    let (zone, utc, dst) = match &spec.zone {
        SpecZone::Local => (local, false, -1),
        SpecZone::Utc => (local, true, -1),
        SpecZone::LocalAbbreviation { dst, .. } => (local, false, i32::from(*dst)),
        SpecZone::Named(z) => (z.rules(), false, -1),
    };
    let utc_rules = local.utc_with_leaps();
    let mut clock = if utc {
        Clock::utc_of(&utc_rules)
    } else {
        Clock::local(zone)
    };
    let usec = usec + 1;
    let t = i64::try_from(usec / USEC_PER_SEC as u64).ok()?;
    let mut tm = clock.broken_down(t);
    let mut tm_usec = (usec % USEC_PER_SEC as u64) as i64;
    let search = Search { spec, dst };
    search.find_next(&mut clock, &mut tm, &mut tm_usec).ok()?;
    let t = clock.make_time(&mut tm)?;
    if t < 0 {
        return None;
    }
    u64::try_from(t * USEC_PER_SEC + tm_usec).ok()
}

struct Search<'a> {
    spec: &'a CalendarSpec,
    /// The `tm_isdst` handed to `mktime()`: -1, or forced by `CET`/`CEST`.
    dst: i32,
}

/// Which field a chain is matched against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl Search<'_> {
    fn chain(&self, which: Which) -> &Chain {
        let s = self.spec;
        match which {
            Which::Year => &s.year,
            Which::Month => &s.month,
            Which::Day => &s.day,
            Which::Hour => &s.hour,
            Which::Minute => &s.minute,
            Which::Second => &s.second,
        }
    }

    /// The day of the month `day` days before the end of `tm`'s month, or
    /// -1 (systemd's `find_end_of_month()`, `mktime()` call included).
    fn end_of_month(&self, clock: &mut Clock<'_>, tm: &Tm, day: i64) -> i64 {
        let mut t = Tm {
            mon: tm.mon + 1,
            mday: 1 - day,
            ..*tm
        };
        match clock.make_time(&mut t) {
            Some(x) if x >= 0 && t.mon == tm.mon => t.mday,
            _ => -1,
        }
    }

    /// Moves `val` to the earliest value the chain allows at or after it.
    /// `Ok(true)` if it moved, `Err` if no value is left.
    fn find_matching(
        &self,
        clock: &mut Clock<'_>,
        which: Which,
        tm: &Tm,
        val: &mut i64,
    ) -> Result<bool, ()> {
        let chain = self.chain(which);
        if chain.is_wildcard() {
            return Ok(false);
        }
        let end_of_month = self.spec.end_of_month && which == Which::Day;
        let mut best: Option<i64> = None;
        for c in &chain.0 {
            let (mut start, mut stop) = (c.start, c.stop);
            if end_of_month {
                start = self.end_of_month(clock, tm, c.start);
                stop = self.end_of_month(clock, tm, c.stop);
                if stop > 0 {
                    std::mem::swap(&mut start, &mut stop);
                }
            }
            if start >= *val {
                if best.map_or(true, |d| start < d) {
                    best = Some(start);
                }
            } else if c.repeat > 0 {
                let k = start + c.repeat * (*val - start + c.repeat - 1).div_euclid(c.repeat);
                if best.map_or(true, |d| k < d) && (stop < 0 || k <= stop) {
                    best = Some(k);
                }
            }
        }
        let d = best.ok_or(())?;
        let moved = *val != d;
        *val = d;
        Ok(moved)
    }

    /// systemd's `tm_within_bounds()`: `Ok(true)` if `tm` is a real time as
    /// it stands; `Ok(false)` if `mktime()` normalized it forward (then `tm`
    /// is the normalized time with the next smaller field reset); `Err` if
    /// it normalized backwards or the year is out of bounds.
    fn within_bounds(&self, clock: &mut Clock<'_>, tm: &mut Tm) -> Result<bool, ()> {
        if tm.year > MAX_YEAR {
            return Err(());
        }
        let mut t = *tm;
        match clock.make_time(&mut t) {
            Some(x) if x >= 0 => {}
            _ => return Err(()),
        }
        let cmp;
        if t.year != tm.year {
            cmp = t.year.cmp(&tm.year);
            t.mon = 0;
        } else if t.mon != tm.mon {
            cmp = t.mon.cmp(&tm.mon);
            t.mday = 1;
        } else if t.mday != tm.mday {
            cmp = t.mday.cmp(&tm.mday);
            t.hour = 0;
        } else if t.hour != tm.hour {
            cmp = t.hour.cmp(&tm.hour);
            t.min = 0;
        } else if t.min != tm.min {
            cmp = t.min.cmp(&tm.min);
            t.sec = 0;
        } else {
            cmp = t.sec.cmp(&tm.sec);
        }
        match cmp {
            std::cmp::Ordering::Less => Err(()),
            std::cmp::Ordering::Greater => {
                *tm = t;
                Ok(false)
            }
            std::cmp::Ordering::Equal => Ok(true),
        }
    }

    fn matches_weekday(&self, clock: &mut Clock<'_>, tm: &Tm) -> bool {
        let Some(bits) = self.spec.weekdays else {
            return true;
        };
        let mut t = *tm;
        match clock.make_time(&mut t) {
            Some(x) if x >= 0 => {}
            _ => return false,
        }
        // tm_wday counts from Sunday; the bits from Monday.
        let k = (t.weekday() + 6) % 7;
        bits & (1 << k) != 0
    }

    /// systemd's `find_next()`, round by round.
    fn find_next(&self, clock: &mut Clock<'_>, tm: &mut Tm, usec: &mut i64) -> Result<(), Stop> {
        let start = (*tm, *usec);
        let mut c = *tm;
        let mut tm_usec = *usec;
        // Set once the search found a time before its start: from then on
        // the DST flag `mktime()` determined is kept instead of `self.dst`
        // (systemd's fix for zones with negative DST, like Europe/Dublin).
        let mut keep_isdst = false;
        let reset_below_day = |c: &mut Tm, u: &mut i64| {
            c.hour = 0;
            c.min = 0;
            c.sec = 0;
            *u = 0;
        };
        for _ in 0..MAX_ITERATIONS {
            let _ = clock.make_time(&mut c);
            if !keep_isdst {
                c.isdst = self.dst;
            }

            let mut year = c.year;
            let r = self.find_matching(clock, Which::Year, &c, &mut year);
            c.year = year;
            match r {
                Err(()) => return Err(Stop::Never),
                Ok(true) => {
                    c.mon = 0;
                    c.mday = 1;
                    reset_below_day(&mut c, &mut tm_usec);
                }
                Ok(false) => {}
            }
            if !matches!(self.within_bounds(clock, &mut c), Ok(true)) {
                return Err(Stop::Never);
            }

            let mut mon = c.mon + 1;
            let r = self.find_matching(clock, Which::Month, &c, &mut mon);
            c.mon = mon - 1;
            if r == Ok(true) {
                c.mday = 1;
                reset_below_day(&mut c, &mut tm_usec);
            }
            let r = r.and_then(|_| self.within_bounds(clock, &mut c));
            match r {
                Err(()) => {
                    c.year += 1;
                    c.mon = 0;
                    c.mday = 1;
                    reset_below_day(&mut c, &mut tm_usec);
                    continue;
                }
                Ok(false) => continue,
                Ok(true) => {}
            }

            let mut mday = c.mday;
            let r = self.find_matching(clock, Which::Day, &c, &mut mday);
            c.mday = mday;
            if r == Ok(true) {
                reset_below_day(&mut c, &mut tm_usec);
            }
            match r.and_then(|_| self.within_bounds(clock, &mut c)) {
                Err(()) => {
                    c.mon += 1;
                    c.mday = 1;
                    reset_below_day(&mut c, &mut tm_usec);
                    continue;
                }
                Ok(false) => continue,
                Ok(true) => {}
            }

            if !self.matches_weekday(clock, &c) {
                c.mday += 1;
                reset_below_day(&mut c, &mut tm_usec);
                continue;
            }

            let mut hour = c.hour;
            let r = self.find_matching(clock, Which::Hour, &c, &mut hour);
            c.hour = hour;
            if r == Ok(true) {
                c.min = 0;
                c.sec = 0;
                tm_usec = 0;
            }
            match r.and_then(|_| self.within_bounds(clock, &mut c)) {
                Err(()) => {
                    c.mday += 1;
                    reset_below_day(&mut c, &mut tm_usec);
                    continue;
                }
                // The hour may not exist (DST): retry from the normalized time.
                Ok(false) => continue,
                Ok(true) => {}
            }

            let mut min = c.min;
            let r = self.find_matching(clock, Which::Minute, &c, &mut min);
            c.min = min;
            if r == Ok(true) {
                c.sec = 0;
                tm_usec = 0;
            }
            match r.and_then(|_| self.within_bounds(clock, &mut c)) {
                Err(()) => {
                    c.hour += 1;
                    c.min = 0;
                    c.sec = 0;
                    tm_usec = 0;
                    continue;
                }
                Ok(false) => continue,
                Ok(true) => {}
            }

            let mut sec = c.sec * USEC_PER_SEC + tm_usec;
            let r = self.find_matching(clock, Which::Second, &c, &mut sec);
            tm_usec = sec % USEC_PER_SEC;
            c.sec = sec / USEC_PER_SEC;
            match r.and_then(|_| self.within_bounds(clock, &mut c)) {
                Err(()) => {
                    c.min += 1;
                    c.sec = 0;
                    tm_usec = 0;
                    continue;
                }
                Ok(false) => continue,
                Ok(true) => {}
            }

            if before(&c, tm_usec, &start.0, start.1) {
                // Normalization walked backwards (a gap mktime() resolved
                // to its earlier side): step on by an hour and retry.
                c.hour += 1;
                keep_isdst = true;
                continue;
            }
            *tm = c;
            *usec = tm_usec;
            return Ok(());
        }
        Err(Stop::GaveUp)
    }
}

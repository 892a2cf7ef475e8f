//! The pieces of systemd's time stamp grammar (systemd.time(7) "Parsing
//! Timestamps") that more than one reader needs: `@SECONDS[.FRACTION]`,
//! `YYYY-MM-DD` and `HH:MM[:SS[.FRACTION]]`. `ssi-status --base-time`
//! composes them into its full grammar; [`crate::systemd`] reads
//! `systemctl show` time stamps with them.

use jiff::civil::{Date, Time};

/// The last second systemd accepts as a time stamp (9999-12-30 23:59:59 UTC).
pub const MAX_SECONDS: u64 = 253_402_214_399;

/// `SECONDS[.FRACTION]` after an `@`, as systemd reads it: microseconds
/// since the epoch (finer digits dropped). `None` when it is not of that
/// form, `Some(Err)` when it is but lies past [`MAX_SECONDS`]. Also what
/// `systemctl show --timestamp=unix` prints.
pub fn epoch_usec(secs: &str) -> Option<Result<u64, ()>> {
    let (whole, frac) = secs.split_once('.').unwrap_or((secs, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let Ok(secs) = whole.parse::<u64>() else {
        return Some(Err(()));
    };
    if secs > MAX_SECONDS {
        return Some(Err(()));
    }
    let digits = &frac[..frac.len().min(6)];
    let micros = format!("{digits:0<6}").parse::<u64>().unwrap_or(0);
    Some(Ok(secs * 1_000_000 + micros))
}

/// `YYYY-MM-DD`, a real date.
pub fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    Date::new(num(y)? as i16, num(m)? as i8, num(d)? as i8).ok()
}

/// `HH:MM[:SS[.fraction]]`.
pub fn parse_time(s: &str) -> Option<Time> {
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

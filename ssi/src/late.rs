//! When a check is late: the one rule `ssi-status`, the metrics and the
//! notifications share.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::calendar::CalendarSpec;

/// A check is late when its timer fired at `trigger`, the run's time limit
/// (`timeout_secs`) has passed since, and no status line is from `trigger`
/// or later (`last_status`, the time of its latest status line): the run
/// never reported. Without a trigger there is nothing to be late for.
/// Status lines carry whole seconds, so a line from the trigger's second
/// counts as on time.
pub fn is_late(
    trigger: Option<Timestamp>,
    timeout_secs: u32,
    last_status: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    let Some(trigger) = trigger else {
        return false;
    };
    let Ok(deadline) = trigger.checked_add(SignedDuration::from_secs(timeout_secs.into())) else {
        return false;
    };
    let trigger_secs = trigger.as_second();
    now > deadline && last_status.map_or(true, |t| t.as_second() < trigger_secs)
}

/// The schedule's first run after `since`: the last status line, or when
/// the check was first seen. Keep it until either changes, and judge it with
/// [`computed_trigger`].
pub fn first_run_after(
    schedule: &CalendarSpec,
    since: Timestamp,
    tz: &TimeZone,
) -> Option<Timestamp> {
    Some(schedule.next_elapse(since, tz)?.timestamp())
}

/// The trigger [`is_late`] judges when systemd cannot be asked (the
/// broadcaster runs sandboxed, without D-Bus): the schedule's first run
/// after the last status line ([`first_run_after`]), once it is not after
/// `now`. That is the earliest run that has not reported, so a check that
/// stopped reporting stays late until a line comes, rather than looking on
/// time for a time limit after every later elapse (as systemd's
/// `LastTriggerUSec` would have it); while the check keeps its pace, the
/// two are the same run.
pub fn computed_trigger(first_run: Option<Timestamp>, now: Timestamp) -> Option<Timestamp> {
    first_run.filter(|t| *t <= now)
}

/// Seconds between the schedule's first two elapses after `after`: how
/// often the check is expected to report around then (`None` when it
/// elapses fewer than twice more).
pub fn schedule_interval(schedule: &CalendarSpec, after: Timestamp, tz: &TimeZone) -> Option<u64> {
    let first = schedule.next_elapse(after, tz)?.timestamp();
    let second = schedule.next_elapse(first, tz)?.timestamp();
    u64::try_from(second.as_second() - first.as_second()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn late_only_after_the_time_limit_and_without_a_newer_line() {
        // Fired at 100 with 20 s to run.
        assert!(!is_late(None, 20, None, t(1000)), "never fired");
        assert!(
            !is_late(Some(t(100)), 20, None, t(120)),
            "still within its limit"
        );
        assert!(is_late(Some(t(100)), 20, None, t(121)), "no line at all");
        assert!(
            is_late(Some(t(100)), 20, Some(t(99)), t(121)),
            "only an older line"
        );
        assert!(
            !is_late(Some(t(100)), 20, Some(t(100)), t(500)),
            "a line in the trigger's second"
        );
        assert!(
            !is_late(Some(t(100)), 20, Some(t(130)), t(500)),
            "a newer line, even a late one"
        );
    }

    #[test]
    fn computed_trigger_is_the_first_elapse_after_the_last_line() {
        let every5 = CalendarSpec::parse_with_local("*:0/5", &TimeZone::UTC).unwrap();
        // Last line at 10:00:00 (1764151200); runs at :05, :10, …
        let last = t(1_764_151_200);
        let at = |s: i64| t(1_764_151_200 + s);
        let first = first_run_after(&every5, last, &TimeZone::UTC);
        assert_eq!(first, Some(at(300)));
        assert_eq!(computed_trigger(first, at(299)), None);
        assert_eq!(computed_trigger(first, at(300)), Some(at(300)));
        // Still the first missed run an hour later: late stays late.
        assert_eq!(computed_trigger(first, at(3600)), Some(at(300)));
        assert!(!is_late(
            computed_trigger(first, at(320)),
            20,
            Some(last),
            at(320)
        ));
        assert!(is_late(
            computed_trigger(first, at(321)),
            20,
            Some(last),
            at(321)
        ));
        assert!(is_late(
            computed_trigger(first, at(3600)),
            20,
            Some(last),
            at(3600)
        ));
        assert_eq!(schedule_interval(&every5, last, &TimeZone::UTC), Some(300));
        let daily = CalendarSpec::parse_with_local("daily", &TimeZone::UTC).unwrap();
        assert_eq!(
            schedule_interval(&daily, last, &TimeZone::UTC),
            Some(86_400)
        );
    }
}

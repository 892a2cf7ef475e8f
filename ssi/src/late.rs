//! When a check is late: the one rule `ssi-status`, the metrics and the
//! notifications share.

use jiff::{SignedDuration, Timestamp};

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
}

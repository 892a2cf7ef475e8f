//! Quiet applied to the notifier's events: which of one pass's events are
//! told and which kept quiet, what is told because quiet ended, reminders,
//! and which acknowledgements end.
//!
//! - Silenced or in maintenance: nothing about the check is told. A change
//!   of status kept quiet is remembered ([`Untold`]); when the quiet ends,
//!   a status that differs from what was last told, and is bad or was bad,
//!   is told once (`change` or `recovery` from the status last told).
//! - Acknowledged: the acknowledged status and lateness are not told; a
//!   recovery or a change to another status is told and ends the
//!   acknowledgement (as does either when kept quiet by a silence).
//! - Reminder: a check bad for its reminder interval since it was last
//!   told, neither silenced, acknowledged nor in maintenance, is told again
//!   (`reminder`). Intervals are real time: a DST change neither shortens
//!   nor stretches one.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::detect::{is_good, Check, Input, Untold};
use super::event::{Event, Kind};
use ssi::quiet::Quiet;
use ssi::status::{rfc3339, Status};

/// What quiet made of one pass.
#[derive(Debug, Default)]
pub struct Hushed {
    /// The events to tell, with their unique keys.
    pub told: Vec<(String, Event)>,
    /// The events kept quiet, each with why (`silenced by root: reason`).
    pub quiet: Vec<(Event, String)>,
    /// The checks whose acknowledgement ended.
    pub acks_ended: BTreeSet<String>,
}

fn status_of(s: &str) -> Option<Status> {
    s.parse().ok()
}

fn why(q: &Quiet) -> String {
    let (what, w) = match (&q.silenced, &q.maintenance, &q.acknowledged) {
        (Some(w), _, _) => ("silenced", w),
        (None, Some(w), _) => ("in maintenance", w),
        (None, None, Some(w)) => ("acknowledged", w),
        (None, None, None) => return String::new(),
    };
    let mut s = format!("{what} by {}", w.by);
    if !w.reason.is_empty() {
        s.push_str(&format!(": {}", w.reason));
    }
    s
}

/// Applies quiet (`quiet` of each check id now) and reminders (`remind`,
/// each check's interval in seconds, `None` for none) to `events`, the
/// events one pass found, updating `checks`; `inputs` are the valid checks
/// of the pass.
pub fn apply(
    checks: &mut BTreeMap<String, Check>,
    events: Vec<(String, Event)>,
    inputs: &[Input],
    quiet: &dyn Fn(&str) -> Quiet,
    remind: &dyn Fn(&str) -> Option<u32>,
    now: Timestamp,
    host: &str,
) -> Hushed {
    let mut out = Hushed::default();
    let mut cache: BTreeMap<String, Quiet> = BTreeMap::new();
    let mut quiet_of = |id: &str| -> Quiet {
        cache
            .entry(id.to_owned())
            .or_insert_with(|| quiet(id))
            .clone()
    };
    for (key, e) in events {
        let q = quiet_of(&e.id);
        let status = status_of(&e.status);
        let changes = matches!(e.event, Kind::Change | Kind::Recovery);
        let ack = q.acknowledged.as_ref().and_then(|a| a.status);
        // A change away from the acknowledged status ends the
        // acknowledgement, told or not.
        if changes && ack.is_some() && status != ack {
            out.acks_ended.insert(e.id.clone());
        }
        let hush = e.event != Kind::Test
            && (q.hushes_all()
                || (ack.is_some()
                    && match e.event {
                        Kind::Change | Kind::Recovery => status == ack,
                        Kind::Late | Kind::OnTime => true,
                        _ => false,
                    }));
        if hush {
            if changes && q.hushes_all() {
                if let Some(c) = checks.get_mut(&e.id) {
                    if c.untold.is_none() {
                        c.untold = Some(Untold {
                            told: status_of(&e.previous_status),
                        });
                    }
                }
            }
            out.quiet.push((e, why(&q)));
            continue;
        }
        if changes {
            if let Some(c) = checks.get_mut(&e.id) {
                c.untold = None;
                c.told_at = Some(now.as_second());
            }
        }
        out.told.push((key, e));
    }
    for input in inputs {
        let Some(c) = checks.get_mut(&input.id) else {
            continue;
        };
        let q = quiet_of(&input.id);
        let event = |kind: Kind, previous: Option<Status>, status: Status, message: String| Event {
            event: kind,
            id: input.id.clone(),
            name: input.name.clone(),
            status: status.as_str().to_owned(),
            previous_status: previous.map_or_else(String::new, |s| s.as_str().to_owned()),
            message,
            timestamp: rfc3339(now),
            host: host.to_owned(),
        };
        let Some(confirmed) = c.confirmed else {
            continue;
        };
        if let (false, Some(u)) = (q.hushes_all(), c.untold) {
            c.untold = None;
            let acked = q.acknowledged.as_ref().and_then(|a| a.status) == Some(confirmed);
            let bad_now_or_then = !is_good(confirmed) || u.told.is_some_and(|t| !is_good(t));
            if u.told != Some(confirmed) && bad_now_or_then && !acked {
                let kind = match u.told {
                    Some(t) if is_good(confirmed) && !is_good(t) => Kind::Recovery,
                    _ => Kind::Change,
                };
                c.told_at = Some(now.as_second());
                out.told.push((
                    format!("{}@unquiet:{}", input.id, now.as_second()),
                    event(
                        kind,
                        u.told,
                        confirmed,
                        format!("{} while notifications were quiet", confirmed.as_str()),
                    ),
                ));
            }
            continue;
        }
        if is_good(confirmed) {
            c.told_at = None;
            continue;
        }
        let Some(every) = remind(&input.id) else {
            continue;
        };
        if q.is_quiet() || c.untold.is_some() {
            continue;
        }
        match c.told_at {
            // Counting starts now (a state from before reminders, or a
            // baseline).
            None => c.told_at = Some(now.as_second()),
            Some(t) if now.as_second().saturating_sub(t) >= i64::from(every) => {
                c.told_at = Some(now.as_second());
                out.told.push((
                    format!("{}@reminder:{}", input.id, now.as_second()),
                    event(
                        Kind::Reminder,
                        Some(confirmed),
                        confirmed,
                        format!(
                            "still {} (reminder every {})",
                            confirmed.as_str(),
                            ssi::quiet::window::format_span(u64::from(every))
                        ),
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;
    use ssi::quiet::judge;
    use ssi::quiet::store::{Ack, QuietState, Silence, ALL};
    use ssi::quiet::window::Window;
    use std::path::PathBuf;

    fn input() -> Input {
        Input {
            id: "db".into(),
            name: "Database".into(),
            log: PathBuf::from("/nonexistent"),
            after: 1,
            late: None,
            timeout: 20,
        }
    }

    fn change(kind: Kind, from: &str, to: &str) -> (String, Event) {
        (
            format!("db@1:{from}{to}"),
            Event {
                event: kind,
                id: "db".into(),
                name: "Database".into(),
                status: to.into(),
                previous_status: from.into(),
                message: String::new(),
                timestamp: String::new(),
                host: "h".into(),
            },
        )
    }

    /// A notifier in miniature: the check's confirmed status set as the
    /// scan would, then quiet applied; (event, previous, status) told.
    struct Sim {
        checks: BTreeMap<String, Check>,
        state: QuietState,
        window: Option<Window>,
        remind: Option<u32>,
        tz: TimeZone,
    }

    impl Sim {
        fn new() -> Sim {
            let mut checks = BTreeMap::new();
            checks.insert(
                "db".to_owned(),
                Check {
                    confirmed: Some(Status::Ok),
                    ..Check::default()
                },
            );
            Sim {
                checks,
                state: QuietState::default(),
                window: None,
                remind: None,
                tz: TimeZone::UTC,
            }
        }

        fn pass(&mut self, at: Timestamp, to: Option<Status>) -> Vec<String> {
            let mut events = Vec::new();
            if let Some(to) = to {
                let c = self.checks.get_mut("db").unwrap();
                let from = c.confirmed.replace(to).unwrap();
                let kind = if is_good(to) && !is_good(from) {
                    Kind::Recovery
                } else {
                    Kind::Change
                };
                events.push(change(kind, from.as_str(), to.as_str()));
            }
            let (state, window, tz) = (&self.state, self.window.clone(), self.tz.clone());
            let quiet = move |id: &str| judge(state, id, window.as_ref(), at, &tz);
            let remind = |_: &str| self.remind;
            let h = apply(
                &mut self.checks,
                events,
                &[input()],
                &quiet,
                &remind,
                at,
                "h",
            );
            for id in &h.acks_ended {
                self.state.acks.remove(id);
            }
            h.told
                .iter()
                .map(|(_, e)| format!("{} {}->{}", e.event.as_str(), e.previous_status, e.status))
                .collect()
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn silence(until: Option<i64>) -> Silence {
        Silence {
            by: "root".into(),
            reason: String::new(),
            since: 0,
            until,
        }
    }

    #[test]
    fn a_silenced_change_is_not_told_and_the_next_one_after_unsilence_is() {
        let mut s = Sim::new();
        s.state.silences.insert("db".into(), silence(None));
        assert_eq!(s.pass(t(10), Some(Status::Failure)), Vec::<String>::new());
        assert_eq!(s.pass(t(20), None), Vec::<String>::new());
        s.state.silences.clear();
        // Quiet ended with the check still bad: told once.
        assert_eq!(s.pass(t(30), None), vec!["change OK->FAILURE"]);
        assert_eq!(s.pass(t(40), None), Vec::<String>::new());
        assert_eq!(
            s.pass(t(50), Some(Status::Ok)),
            vec!["recovery FAILURE->OK"]
        );
    }

    #[test]
    fn a_flap_inside_a_silence_back_to_what_was_told_is_no_news() {
        let mut s = Sim::new();
        s.state.silences.insert(ALL.into(), silence(Some(100)));
        assert_eq!(s.pass(t(10), Some(Status::Failure)), Vec::<String>::new());
        assert_eq!(s.pass(t(20), Some(Status::Ok)), Vec::<String>::new());
        assert_eq!(s.pass(t(100), None), Vec::<String>::new(), "expired");
    }

    #[test]
    fn an_ack_is_quiet_until_recovery_which_is_told_once_and_ends_it() {
        let mut s = Sim::new();
        s.remind = Some(60);
        assert_eq!(
            s.pass(t(0), Some(Status::Failure)),
            vec!["change OK->FAILURE"]
        );
        s.state.acks.insert(
            "db".into(),
            Ack {
                by: "alice".into(),
                reason: "on it".into(),
                since: 1,
                status: Status::Failure,
            },
        );
        // No reminder while acknowledged.
        assert_eq!(s.pass(t(1000), None), Vec::<String>::new());
        assert_eq!(
            s.pass(t(1010), Some(Status::Ok)),
            vec!["recovery FAILURE->OK"]
        );
        assert!(s.state.acks.is_empty(), "ended by itself");
        assert_eq!(s.pass(t(1020), None), Vec::<String>::new());
    }

    #[test]
    fn an_ack_ends_with_a_different_problem_which_is_told() {
        let mut s = Sim::new();
        s.checks.get_mut("db").unwrap().confirmed = Some(Status::Warning);
        s.state.acks.insert(
            "db".into(),
            Ack {
                by: "alice".into(),
                reason: String::new(),
                since: 1,
                status: Status::Warning,
            },
        );
        assert_eq!(
            s.pass(t(10), Some(Status::Failure)),
            vec!["change WARNING->FAILURE"]
        );
        assert!(s.state.acks.is_empty());
    }

    #[test]
    fn a_change_in_a_window_is_told_once_at_its_end_if_still_bad() {
        let mut s = Sim::new();
        s.window = Some(Window::parse("*-*-* 00:10 for 10min").unwrap());
        assert_eq!(s.pass(t(610), Some(Status::Failure)), Vec::<String>::new());
        assert_eq!(s.pass(t(1199), None), Vec::<String>::new());
        assert_eq!(s.pass(t(1200), None), vec!["change OK->FAILURE"]);
        assert_eq!(s.pass(t(1260), None), Vec::<String>::new(), "once");
        // Next day: bad in the window and good again before its end.
        let day = 86_400;
        assert_eq!(s.pass(t(day + 610), Some(Status::Ok)), Vec::<String>::new());
        assert_eq!(s.pass(t(day + 1200), None), vec!["recovery FAILURE->OK"]);
    }

    #[test]
    fn reminders_come_after_their_interval_and_not_before() {
        let mut s = Sim::new();
        s.remind = Some(300);
        assert_eq!(
            s.pass(t(0), Some(Status::Failure)),
            vec!["change OK->FAILURE"]
        );
        assert_eq!(s.pass(t(299), None), Vec::<String>::new());
        assert_eq!(s.pass(t(300), None), vec!["reminder FAILURE->FAILURE"]);
        assert_eq!(s.pass(t(599), None), Vec::<String>::new());
        assert_eq!(s.pass(t(600), None), vec!["reminder FAILURE->FAILURE"]);
        s.state.silences.insert("db".into(), silence(None));
        assert_eq!(s.pass(t(2000), None), Vec::<String>::new(), "silenced");
        s.state.silences.clear();
        assert_eq!(
            s.pass(t(2000), Some(Status::Ok)),
            vec!["recovery FAILURE->OK"]
        );
        assert_eq!(s.pass(t(9000), None), Vec::<String>::new(), "good");
    }

    #[test]
    fn a_reminder_interval_across_the_autumn_change_is_real_time() {
        // Berlin, 2026-10-25 02:30 CEST; an hour's reminder comes at 02:30
        // CET, which the wall clock shows as the same time.
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let start = "2026-10-25T02:30:00+02:00[Europe/Berlin]"
            .parse::<jiff::Zoned>()
            .unwrap()
            .timestamp();
        let mut s = Sim::new();
        s.tz = tz.clone();
        s.remind = Some(3600);
        assert_eq!(s.pass(start, Some(Status::Error)).len(), 1);
        let before = Timestamp::from_second(start.as_second() + 3599).unwrap();
        assert_eq!(s.pass(before, None), Vec::<String>::new());
        let due = Timestamp::from_second(start.as_second() + 3600).unwrap();
        let wall = due.to_zoned(tz);
        assert_eq!(
            wall.time().to_string(),
            "02:30:00",
            "the wall clock repeats"
        );
        assert_eq!(s.pass(due, None), vec!["reminder ERROR->ERROR"]);
    }

    #[test]
    fn a_window_across_the_spring_change_ends_after_its_real_length() {
        // Berlin, 2026-03-29: 01:30 CET for 1h ends at 03:30 CEST.
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let z = |s: &str| s.parse::<jiff::Zoned>().unwrap().timestamp();
        let mut s = Sim::new();
        s.tz = tz;
        s.window = Some(Window::parse("*-*-* 01:30 for 1h").unwrap());
        let bad = z("2026-03-29T01:40:00+01:00[Europe/Berlin]");
        assert_eq!(s.pass(bad, Some(Status::Failure)), Vec::<String>::new());
        let inside = z("2026-03-29T03:29:59+02:00[Europe/Berlin]");
        assert_eq!(s.pass(inside, None), Vec::<String>::new());
        let end = z("2026-03-29T03:30:00+02:00[Europe/Berlin]");
        assert_eq!(s.pass(end, None), vec!["change OK->FAILURE"]);
    }
}

//! Quiet: whether the notifier tells anyone of a check now, and why not —
//! silenced (`ssi-status silence`), acknowledged (`ssi-status ack`) or in
//! maintenance (a window of its manifest, or `silence --all --until`).
//!
//! The one rule every view uses: the notifier (`ssi-status`'s `notify::hush`),
//! `ssi-status list`/`show`, the dashboard and the metrics all call
//! [`judge`]. [`store`] keeps silences and acknowledgements on disk,
//! [`window`] is the arithmetic of recurring windows.

pub mod store;
pub mod window;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::status::Status;
use store::{QuietState, ALL};
use window::Window;

/// Why a check is quiet in one way: who said so, why, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Why {
    /// Who set it (the invoking user; `manifest` for a window of the
    /// script's manifest).
    pub by: String,
    /// Why (`""` when not said).
    pub reason: String,
    /// Since when, RFC 3339 UTC.
    pub since: Option<String>,
    /// Until when, RFC 3339 UTC; `None`: until lifted (or, for an
    /// acknowledgement, until the check recovers).
    pub until: Option<String>,
    /// The status acknowledged (acknowledgements only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Whether it applies to every check (`silence --all`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

/// The ways a check is quiet now (each `None` when not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Quiet {
    /// Silenced: nothing is told.
    pub silenced: Option<Why>,
    /// Acknowledged: its problem is not told again until it changes.
    pub acknowledged: Option<Why>,
    /// In maintenance: nothing is told until the window ends.
    pub maintenance: Option<Why>,
}

impl Quiet {
    /// Whether any of the three holds.
    pub fn is_quiet(&self) -> bool {
        self.silenced.is_some() || self.acknowledged.is_some() || self.maintenance.is_some()
    }

    /// Whether nothing at all is told (silenced or in maintenance).
    pub fn hushes_all(&self) -> bool {
        self.silenced.is_some() || self.maintenance.is_some()
    }

    /// One short word for tables: `silenced`, `maintenance`, `acked` or `""`.
    pub fn label(&self) -> &'static str {
        if self.silenced.is_some() {
            "silenced"
        } else if self.maintenance.is_some() {
            "maintenance"
        } else if self.acknowledged.is_some() {
            "acked"
        } else {
            ""
        }
    }
}

fn rfc(secs: i64) -> Option<String> {
    Timestamp::from_second(secs)
        .ok()
        .map(crate::status::rfc3339)
}

/// How check `id` is quiet at `now`: its silence (or a silence of every
/// check without an end), its acknowledgement, and maintenance (a silence
/// of every check with an end, or its manifest's `window` open now, `tz`
/// being the zone the window's calendar is read in). Silences that ended
/// count for nothing, whether or not they were dropped yet.
pub fn judge(
    state: &QuietState,
    id: &str,
    window: Option<&Window>,
    now: Timestamp,
    tz: &TimeZone,
) -> Quiet {
    let live = |s: &&store::Silence| s.until.map_or(true, |u| u > now.as_second());
    let why = |s: &store::Silence, all: bool| Why {
        by: s.by.clone(),
        reason: s.reason.clone(),
        since: rfc(s.since),
        until: s.until.and_then(rfc),
        status: None,
        all,
    };
    let own = state.silences.get(id).filter(live);
    let every = state.silences.get(ALL).filter(live);
    let silenced = own
        .map(|s| why(s, false))
        .or_else(|| every.filter(|s| s.until.is_none()).map(|s| why(s, true)));
    let maintenance = every
        .filter(|s| s.until.is_some())
        .map(|s| why(s, true))
        .or_else(|| {
            let w = window?;
            let open = w.open_at(now, tz)?;
            Some(Why {
                by: String::from("manifest"),
                reason: format!(
                    "maintenance window {} for {}",
                    w.calendar.normalized(),
                    window::format_span(w.length)
                ),
                since: Some(crate::status::rfc3339(open.start)),
                until: Some(crate::status::rfc3339(open.end)),
                status: None,
                all: false,
            })
        });
    let acknowledged = state.acks.get(id).map(|a| Why {
        by: a.by.clone(),
        reason: a.reason.clone(),
        since: rfc(a.since),
        until: None,
        status: Some(a.status),
        all: false,
    });
    Quiet {
        silenced,
        acknowledged,
        maintenance,
    }
}

#[cfg(test)]
mod tests {
    use super::store::{Ack, Silence};
    use super::*;

    fn silence(until: Option<i64>) -> Silence {
        Silence {
            by: "root".into(),
            reason: "r".into(),
            since: 0,
            until,
        }
    }

    #[test]
    fn own_silence_all_silence_one_off_window_and_ack() {
        let tz = TimeZone::UTC;
        let now = Timestamp::from_second(1000).unwrap();
        let mut s = QuietState::default();
        assert!(!judge(&s, "disk", None, now, &tz).is_quiet());
        s.silences.insert("disk".into(), silence(Some(1000)));
        assert!(!judge(&s, "disk", None, now, &tz).is_quiet(), "ended");
        s.silences.insert("disk".into(), silence(Some(1001)));
        let q = judge(&s, "disk", None, now, &tz);
        assert_eq!(q.label(), "silenced");
        assert_eq!(
            q.silenced.unwrap().until.as_deref(),
            Some("1970-01-01T00:16:41Z")
        );
        s.silences.insert(ALL.into(), silence(Some(2000)));
        let q = judge(&s, "web", None, now, &tz);
        assert_eq!((q.label(), q.hushes_all()), ("maintenance", true));
        assert!(q.maintenance.unwrap().all);
        s.silences.insert(ALL.into(), silence(None));
        assert_eq!(judge(&s, "web", None, now, &tz).label(), "silenced");
        s.silences.clear();
        s.acks.insert(
            "db".into(),
            Ack {
                by: "alice".into(),
                reason: "on it".into(),
                since: 0,
                status: Status::Failure,
            },
        );
        let q = judge(&s, "db", None, now, &tz);
        assert_eq!((q.label(), q.hushes_all()), ("acked", false));
        assert_eq!(q.acknowledged.unwrap().status, Some(Status::Failure));
    }

    #[test]
    fn a_manifest_window_is_maintenance_while_open() {
        let tz = TimeZone::UTC;
        let w = Window::parse("*-*-* 00:10 for 5min").unwrap();
        let s = QuietState::default();
        let q = judge(
            &s,
            "disk",
            Some(&w),
            Timestamp::from_second(660).unwrap(),
            &tz,
        );
        let m = q.maintenance.unwrap();
        assert_eq!(m.by, "manifest");
        assert_eq!(m.until.as_deref(), Some("1970-01-01T00:15:00Z"));
        assert_eq!(m.reason, "maintenance window *-*-* 00:10:00 for 5min");
        let q = judge(
            &s,
            "disk",
            Some(&w),
            Timestamp::from_second(900).unwrap(),
            &tz,
        );
        assert!(!q.is_quiet());
    }
}

//! One notification: what happened to which check, as hooks receive it
//! (environment variables and the same as one JSON object on stdin).

use serde::{Deserialize, Serialize};

use ssi::status::clean_message;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The status changed to another one that is not a recovery.
    Change,
    /// The status went from WARNING, UNKNOWN, FAILURE or ERROR back to OK
    /// or UPDATE.
    Recovery,
    /// The timer fired and no status line followed within the timeout.
    Late,
    /// A late check reported again.
    OnTime,
    /// A check script is refused (by the rules the generator follows): it
    /// was valid, or it is new, and its check no longer runs.
    Invalid,
    /// A refused check script is valid again.
    Valid,
    /// `ssi-status notify-test`.
    Test,
    /// A check still bad (unacknowledged, not silenced, not in
    /// maintenance) after its reminder interval: told again.
    Reminder,
}

impl Kind {
    /// The name hooks see in `SSI_EVENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Change => "change",
            Kind::Recovery => "recovery",
            Kind::Late => "late",
            Kind::OnTime => "on-time",
            Kind::Invalid => "invalid",
            Kind::Valid => "valid",
            Kind::Test => "test",
            Kind::Reminder => "reminder",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = ();

    /// The kind named as hooks see it (`change`, `on-time`, …).
    fn from_str(s: &str) -> Result<Kind, ()> {
        [
            Kind::Change,
            Kind::Recovery,
            Kind::Late,
            Kind::OnTime,
            Kind::Invalid,
            Kind::Valid,
            Kind::Test,
            Kind::Reminder,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or(())
    }
}

/// One event, every field a string as hooks see it (`""` when none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `change`, `recovery`, `late`, `on-time`, `invalid`, `valid`, `test`,
    /// `reminder`.
    pub event: Kind,
    /// The service id (for `invalid`, the file name when it makes none).
    pub id: String,
    /// The check's name from its manifest (`""` when it has none).
    pub name: String,
    /// The status now (`OK` … `ERROR`; `""` for `invalid` and `valid`,
    /// which are about the script, not its status).
    pub status: String,
    /// The status before (`""` for a check's first status, and for
    /// `invalid` and `valid`).
    pub previous_status: String,
    /// The status line's message (or what lateness means, or why a script
    /// is invalid).
    pub message: String,
    /// When it happened, RFC 3339 UTC with `Z`.
    pub timestamp: String,
    /// This machine's host name.
    pub host: String,
}

impl Event {
    /// The environment a hook gets.
    pub fn env(&self) -> [(&'static str, &str); 8] {
        [
            ("SSI_EVENT", self.event.as_str()),
            ("SSI_ID", &self.id),
            ("SSI_NAME", &self.name),
            ("SSI_STATUS", &self.status),
            ("SSI_PREVIOUS_STATUS", &self.previous_status),
            ("SSI_MESSAGE", &self.message),
            ("SSI_TIMESTAMP", &self.timestamp),
            ("SSI_HOST", &self.host),
        ]
    }

    /// The event as hooks are handed it: every value cleaned by
    /// [`clean_message`] (C0 controls but tab, and DEL, become U+FFFD), the
    /// rule messages leaving the machine follow, so that no byte a check
    /// prints (a NUL, an escape sequence) makes an event undeliverable or
    /// forges a line in what a hook writes.
    pub fn cleaned(&self) -> Event {
        let c = |s: &str| clean_message(s).into_owned();
        Event {
            event: self.event,
            id: c(&self.id),
            name: c(&self.name),
            status: c(&self.status),
            previous_status: c(&self.previous_status),
            message: c(&self.message),
            timestamp: c(&self.timestamp),
            host: c(&self.host),
        }
    }

    /// The JSON object a hook reads on stdin, one line.
    pub fn to_json(&self) -> String {
        // Only strings: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_and_json_say_the_same() {
        let e = Event {
            event: Kind::OnTime,
            id: "disk_usage".into(),
            name: "Disk \"usage\"".into(),
            status: "OK".into(),
            previous_status: String::new(),
            message: "/ at 40%".into(),
            timestamp: "2026-11-26T10:00:00Z".into(),
            host: "web1".into(),
        };
        let json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        for (var, value) in e.env() {
            let key = var.trim_start_matches("SSI_").to_ascii_lowercase();
            assert_eq!(json[&key], value, "{var}");
        }
        assert_eq!(json["event"], "on-time");
        assert_eq!(json.as_object().unwrap().len(), 8);
    }
}

//! Step 2 of the data flow, beside the hub: the scripts the broadcaster
//! refuses (not executable, bad manifest, unsafe owner, id collision, …)
//! and why, kept for the dashboard. They reach a browser only through `GET
//! /api/history`, which the dashboard asks for: never on the WebSocket,
//! whose clients may know only the four upstream message types, none of
//! which can carry a refused script.

use std::sync::Mutex;

use serde::Serialize;
use ssi::service::Discovery;

/// One refused script as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedScript {
    /// The script's path.
    pub path: String,
    /// Its service id, when the file name makes one.
    pub id: Option<String>,
    /// `# name:`, when it could be read.
    pub name: Option<String>,
    /// Every problem, as the generator's log and `ssi-status` word it
    /// (`line 5: schedule "every day": …`).
    pub errors: Vec<String>,
    /// Comments that look like misspelled keys.
    pub warnings: Vec<String>,
}

/// The refused scripts of the last scan, by id then path.
#[derive(Default)]
pub struct Refused(Mutex<Vec<RefusedScript>>);

impl Refused {
    /// Takes the refused scripts of a discovery (already sorted).
    pub fn set(&self, d: &Discovery) {
        let list = d
            .scripts
            .iter()
            .filter(|s| !s.is_valid())
            .map(|s| RefusedScript {
                path: s.path.display().to_string(),
                id: s.id.as_ref().map(|i| i.as_str().to_owned()),
                name: s.manifest.name.clone(),
                errors: s.problems().iter().map(ToString::to_string).collect(),
                warnings: s.warnings.iter().map(ToString::to_string).collect(),
            })
            .collect();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = list;
    }

    /// The refused scripts now.
    pub fn list(&self) -> Vec<RefusedScript> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

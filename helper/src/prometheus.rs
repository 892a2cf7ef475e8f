//! `ssi-status list --prometheus`: the checks as Prometheus metrics, by the
//! library's one renderer, for node_exporter's textfile collector; with
//! `--output FILE` written atomically so the collector never reads half a
//! file.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::late::schedule_interval;
use ssi::metrics::{Check, CheckInfo, Snapshot};
use ssi::perfdata::Perfdata;

use crate::entry::Entry;

/// The metrics of `entries` at `now`: lateness by [`Entry::is_late`] (the
/// timer's last trigger from systemd, as `ssi-status list` shows it).
pub fn snapshot(entries: &[Entry], now: Timestamp, tz: &TimeZone) -> Snapshot {
    let mut snap = Snapshot::default();
    for e in entries {
        let Some(id) = &e.script.id else {
            snap.without_id += 1;
            continue;
        };
        let last = e.last.as_ref();
        let valid = e.script.valid();
        snap.checks.push(Check {
            id: id.to_string(),
            valid: valid.is_some(),
            info: valid.map(|v| CheckInfo {
                name: v.name.to_owned(),
                version: v.version.to_owned(),
                schedule: v.schedule_text.to_owned(),
            }),
            status: last.map(|l| l.line.status),
            last_status: last.map(|l| l.timestamp),
            late: e.is_late(now),
            interval_secs: valid
                .and_then(|v| schedule_interval(v.schedule, last.map_or(now, |l| l.timestamp), tz)),
            status_lines: None,
            quiet: (&e.quiet).into(),
            perfdata: last
                .and_then(|l| l.perfdata.as_deref())
                .map(|p| Arc::new(Perfdata::parse(p))),
        });
    }
    snap
}

/// Replaces `path` with `text` atomically: a temporary file in the same
/// directory (same file system, so the rename is atomic), synced, made
/// world-readable as node_exporter's textfiles are, then renamed over it.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // A dot name: node_exporter reads only `*.prom`, never the temporary.
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| -> io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(0o644))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", tmp.display()));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot rename {} to {}: {e}", tmp.display(), path.display())
    })
}

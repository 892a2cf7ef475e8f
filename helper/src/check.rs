//! `ssi-status check FILE…`: judge scripts exactly as the generator does
//! and show when their schedules elapse, like `systemd-analyze calendar`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::Serialize;
use ssi::calendar::{format_elapse, CalendarSpec};
use ssi::service::{check_file, Script, ServiceId};

use crate::entry::{Entry, EntryJson};
use crate::look::{self, printable};

/// Judges every file; the result keeps the order of `files`.
pub fn judge(files: &[PathBuf]) -> Vec<Script> {
    let mut scripts: Vec<Script> = files.iter().map(|f| check_file(f)).collect();
    mark_collisions(&mut scripts);
    scripts
}

/// Two of the given files that would get the same id would fight over the
/// same units and log once installed together; the same file named twice
/// is no collision.
fn mark_collisions(scripts: &mut [Script]) {
    // id → distinct files (canonical path, first index naming it).
    let mut by_id: BTreeMap<ServiceId, Vec<(PathBuf, usize)>> = BTreeMap::new();
    let mut file_of = Vec::with_capacity(scripts.len());
    for (i, s) in scripts.iter().enumerate() {
        let real = s.path.canonicalize().unwrap_or_else(|_| s.path.clone());
        if let Some(id) = &s.id {
            let files = by_id.entry(id.clone()).or_default();
            if !files.iter().any(|(p, _)| *p == real) {
                files.push((real.clone(), i));
            }
        }
        file_of.push(real);
    }
    for (i, real) in file_of.iter().enumerate() {
        let Some(files) = scripts[i].id.as_ref().and_then(|id| by_id.get(id)) else {
            continue;
        };
        let others: Vec<String> = files
            .iter()
            .filter(|(p, _)| p != real)
            .map(|(_, j)| scripts[*j].path.display().to_string())
            .collect();
        if !others.is_empty() {
            let id = scripts[i]
                .id
                .as_ref()
                .map(|id| id.to_string())
                .unwrap_or_default();
            scripts[i].problems.push(format!(
                "service id \"{id}\" is also the id of {}, expected one script per id",
                others.join(", ")
            ));
        }
    }
}

/// The next `n` elapses of `spec` after `base`, in the local zone.
pub fn elapses(spec: &CalendarSpec, base: Timestamp, tz: &TimeZone, n: u32) -> Vec<Zoned> {
    let mut out = Vec::new();
    let mut after = base;
    for _ in 0..n {
        match spec.next_elapse(after, tz) {
            // An elapse not after the previous one would loop forever.
            Some(z) if z.timestamp() > after => {
                after = z.timestamp();
                out.push(z);
            }
            _ => break,
        }
    }
    out
}

/// Whether the local zone is UTC, in which case systemd leaves out the
/// "(in UTC)" lines.
fn is_utc(tz: &TimeZone) -> bool {
    match tz.iana_name() {
        Some(name) => matches!(
            name,
            "UTC"
                | "Etc/UTC"
                | "UCT"
                | "Etc/UCT"
                | "Universal"
                | "Etc/Universal"
                | "Zulu"
                | "Etc/Zulu"
        ),
        None => {
            tz.to_offset(Timestamp::UNIX_EPOCH) == jiff::tz::Offset::UTC
                && tz.to_offset(Timestamp::from_second(15_552_000).unwrap_or(Timestamp::UNIX_EPOCH))
                    == jiff::tz::Offset::UTC
        }
    }
}

/// One labelled line, the label right-aligned to systemd-analyze's column.
fn field(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "{label:>15}: {value}");
}

/// The human report for one script.
pub fn text(script: &Script, base: Timestamp, tz: &TimeZone, iterations: u32) -> String {
    let mut out = String::new();
    let verdict = if script.is_valid() {
        "valid"
    } else {
        "invalid"
    };
    let _ = writeln!(
        out,
        "{}: {verdict}",
        printable(&script.path.display().to_string())
    );
    for p in &script.problems {
        field(&mut out, "Error", &printable(p));
    }
    if let Some(id) = &script.id {
        field(&mut out, "Id", id.as_str());
        let stem = id.unit_stem();
        field(&mut out, "Units", &format!("{stem}.service, {stem}.timer"));
    }
    let m = &script.manifest;
    for (label, value) in [
        ("Name", &m.name),
        ("Description", &m.description),
        ("Version", &m.version),
    ] {
        if let Some(v) = value {
            field(&mut out, label, &printable(v));
        }
    }
    if let Some(t) = m.timeout {
        field(&mut out, "Timeout", &look::span(t));
    }
    if let Some(s) = &m.schedule {
        field(&mut out, "Original form", &printable(s));
    }
    if let Some(spec) = &script.schedule {
        field(&mut out, "Normalized form", &spec.normalized());
        let zs = elapses(spec, base, tz, iterations);
        if zs.is_empty() && iterations > 0 {
            field(&mut out, "Next elapse", "never");
        }
        for (i, z) in zs.iter().enumerate() {
            let label = if i == 0 {
                "Next elapse".to_owned()
            } else {
                format!("Iter. #{}", i + 1)
            };
            field(&mut out, &label, &format_elapse(z));
            if !is_utc(tz) {
                field(
                    &mut out,
                    "(in UTC)",
                    &format_elapse(&z.with_time_zone(TimeZone::UTC)),
                );
            }
        }
    }
    out
}

/// `check --json`: the list fields plus the next elapses.
#[derive(Debug, Serialize)]
pub struct CheckJson {
    #[serde(flatten)]
    entry: EntryJson,
    /// The next elapses, as systemd prints "Next elapse".
    next_elapse: Vec<String>,
}

/// The JSON object for one checked script (its status from `log_dir`).
pub fn json(
    script: &Script,
    log_dir: &Path,
    base: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
    iterations: u32,
) -> CheckJson {
    let next_elapse = script
        .schedule
        .as_ref()
        .map(|spec| {
            elapses(spec, base, tz, iterations)
                .iter()
                .map(format_elapse)
                .collect()
        })
        .unwrap_or_default();
    CheckJson {
        entry: Entry::new(script.clone(), log_dir, tz).to_json(now),
        next_elapse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_align_like_systemd_analyze() {
        let mut out = String::new();
        field(&mut out, "Next elapse", "x");
        field(&mut out, "Iter. #2", "x");
        field(&mut out, "Iter. #10", "x");
        field(&mut out, "Normalized form", "x");
        assert_eq!(
            out,
            "    Next elapse: x\n       Iter. #2: x\n      Iter. #10: x\nNormalized form: x\n"
        );
    }

    #[test]
    fn utc_zones() {
        assert!(is_utc(&TimeZone::UTC));
        assert!(is_utc(&TimeZone::get("Etc/UTC").unwrap()));
        assert!(!is_utc(&TimeZone::get("Europe/London").unwrap()));
    }
}

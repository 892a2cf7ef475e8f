//! `ssi-status check FILE…`: judge scripts exactly as the generator does
//! and show when their schedules elapse, like `systemd-analyze calendar`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::Serialize;
use ssi::calendar::{format_elapse, CalendarSpec};
use ssi::service::{check_file, mark_collisions, Script};

use crate::entry::{Entry, EntryJson};
use crate::look::{self, printable};

/// Judges every file; the result keeps the order of `files`. Two of them
/// that would get the same id collide as they would once installed
/// together; the same file named twice (by any path) is no collision.
pub fn judge(files: &[PathBuf]) -> Vec<Script> {
    let mut scripts: Vec<Script> = files.iter().map(|f| check_file(f)).collect();
    mark_collisions(&mut scripts, |s| {
        s.path.canonicalize().unwrap_or_else(|_| s.path.clone())
    });
    scripts
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
    for p in script.problems() {
        field(&mut out, "Error", &printable(&p.to_string()));
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

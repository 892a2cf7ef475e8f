//! `ssi-status check FILE…`: judge scripts exactly as the generator does
//! and show when their schedules elapse, like `systemd-analyze calendar`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use ssi::calendar::{CalendarSpec, LocalZone};
use ssi::service::{check_file, mark_collisions, Script};

use crate::basetime;
use crate::cli::CheckArgs;
use crate::command::{fail, to_json, Ctx, Failure, Outcome};
use crate::entry::{Entry, EntryJson};
use crate::exit::Exit;
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

/// The next `n` elapses of `spec` after `base` (µs since the epoch), as
/// `systemd-analyze calendar` iterates: each search starts from the
/// previous elapse, whatever it was. An elapse may be earlier than the base
/// time or the one before it (`02:45 CEST` searched after 02:30 CET), and
/// systemd prints it all the same; `n` bounds the loop.
pub fn elapses(spec: &CalendarSpec, base: u64, local: &LocalZone, n: u32) -> Vec<u64> {
    let mut out = Vec::new();
    let mut after = base;
    for _ in 0..n {
        let Some(next) = spec.next_elapse_usec(after, local) else {
            break;
        };
        out.push(next);
        after = next;
    }
    out
}

/// One labelled line, the label right-aligned to systemd-analyze's column.
fn field(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "{label:>15}: {value}");
}

/// The human report for one script.
pub fn text(script: &Script, base: u64, local: &LocalZone, iterations: u32) -> String {
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
    for w in &script.warnings {
        field(&mut out, "Warning", &printable(&w.to_string()));
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
        let next = elapses(spec, base, local, iterations);
        if next.is_empty() && iterations > 0 {
            field(&mut out, "Next elapse", "never");
        }
        for (i, usec) in next.iter().enumerate() {
            let label = if i == 0 {
                "Next elapse".to_owned()
            } else {
                format!("Iter. #{}", i + 1)
            };
            field(&mut out, &label, &local.format(*usec));
            if local.shows_utc_lines(*usec) {
                field(&mut out, "(in UTC)", &local.format_utc(*usec));
            }
        }
    }
    if let Some(w) = &m.maintenance {
        field(&mut out, "Maintenance", &printable(w));
        let window = ssi::quiet::window::Window::parse(w).ok();
        let after = jiff::Timestamp::from_microsecond(base as i64).ok();
        if let (Some(window), Some(after)) = (window, after) {
            let next = window.current_or_next(after, local.time_zone());
            let text = match next {
                Some(span) => format!(
                    "{} until {}",
                    crate::look::long_time(span.start, local.time_zone()),
                    crate::look::long_time(span.end, local.time_zone())
                ),
                None => String::from("never"),
            };
            field(&mut out, "Next window", &text);
        }
    }
    if let Some(r) = m.remind_every {
        field(&mut out, "Remind every", &look::span(r));
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
    base: u64,
    now: Timestamp,
    local: &LocalZone,
    iterations: u32,
) -> CheckJson {
    let tz = local.time_zone();
    let next_elapse = script
        .schedule
        .as_ref()
        .map(|spec| {
            elapses(spec, base, local, iterations)
                .iter()
                .map(|usec| local.format(*usec))
                .collect()
        })
        .unwrap_or_default();
    CheckJson {
        entry: Entry::new(script.clone(), log_dir, tz).to_json(now),
        next_elapse,
    }
}

/// `ssi-status check FILE…`.
pub fn run(ctx: &Ctx, a: &CheckArgs) -> Result<Outcome, Failure> {
    let base = match &a.base_time {
        Some(b) => basetime::parse(b, &ctx.local, ctx.now).map_err(|e| fail(Exit::Usage, e))?,
        None => u64::try_from(ctx.now.as_microsecond())
            .map_err(|_| fail(Exit::Usage, "the clock is before 1970"))?,
    };
    let mut scripts = judge(&a.files);
    let code = if scripts.iter().all(|s| s.is_valid()) {
        Exit::Success
    } else {
        Exit::Failure
    };
    let stdout = if a.json {
        scripts.sort_by(|x, y| {
            (x.id.is_none(), &x.id, &x.path).cmp(&(y.id.is_none(), &y.id, &y.path))
        });
        let objs: Vec<_> = scripts
            .iter()
            .map(|s| json(s, &ctx.dirs.logs, base, ctx.now, &ctx.local, a.iterations))
            .collect();
        to_json(&objs)?
    } else {
        scripts
            .iter()
            .map(|s| text(s, base, &ctx.local, a.iterations))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Outcome { stdout, code })
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

    /// `02:45 CEST` searched after 02:30 CET on the night Berlin falls back
    /// elapses at 02:45 CEST, 15 minutes before the base time; systemd
    /// prints it and goes on from there.
    #[test]
    fn keeps_elapses_before_the_base_time() {
        let berlin = LocalZone::from_tz(Some("Europe/Berlin"));
        let spec = CalendarSpec::parse_in("02:45 CEST", &berlin).unwrap();
        let got: Vec<String> = elapses(&spec, 1_792_891_800_000_000, &berlin, 2)
            .iter()
            .map(|u| berlin.format(*u))
            .collect();
        assert_eq!(
            got,
            [
                "Sun 2026-10-25 02:45:00 CEST",
                "Mon 2026-10-26 02:45:00 CET"
            ]
        );
    }
}

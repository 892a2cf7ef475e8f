//! The calendar corpus: every expression in tests/data/calendar/corpus.txt,
//! for every zone and base time, must give exactly what
//! `systemd-analyze calendar --iterations=5` gives: acceptance, normalized
//! form and the next five elapses. Compared against the committed outputs
//! (expected/, made by regen.sh) always, and against the live
//! `systemd-analyze` too when it is installed.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::calendar::{format_elapse, CalendarSpec};

/// Keep in sync with regen.sh.
const ZONES: [&str; 3] = ["UTC", "Europe/Berlin", "America/New_York"];
const BASES: [i64; 6] = [
    1774744200, 1792888200, 1772951400, 1793511000, 1835393400, 7258075200,
];
const ITERATIONS: usize = 5;

/// What systemd-analyze says about one expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Invalid,
    /// systemd-analyze accepted the expression but its search gave up
    /// ("Failed to determine next elapse"), printing nothing else.
    GaveUp,
    Valid {
        normalized: String,
        elapses: Vec<String>,
    },
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/calendar")
}

/// The corpus lines: `"EXPR"`, with `\t` for a tab and `\\` for a backslash.
fn corpus() -> Vec<String> {
    read_corpus(&data_dir().join("corpus.txt"))
}

fn read_corpus(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| l.starts_with('"'))
        .map(|l| {
            let inner = &l[1..l.len() - 1];
            inner.replace("\\t", "\t").replace("\\\\", "\\")
        })
        .collect()
}

/// Splits one systemd-analyze run (all expressions as arguments) back into
/// one outcome per expression: failures are on stderr in order, the tables
/// of the accepted ones on stdout in order.
fn outcomes(exprs: &[String], stdout: &str, stderr: &str) -> Vec<Outcome> {
    let mut failures: VecDeque<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("Failed to parse calendar specification '"))
        .collect();
    let mut blocks: VecDeque<Vec<&str>> = stdout
        .split("\n\n")
        .map(|b| {
            b.lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|b| !b.is_empty())
        .collect();
    let mut gave_up: VecDeque<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("Failed to determine next elapse for '"))
        .collect();
    let mut result = Vec::new();
    for e in exprs {
        let stuck = format!("Failed to determine next elapse for '{e}': ");
        if gave_up.front().is_some_and(|f| f.starts_with(&stuck)) {
            gave_up.pop_front();
            result.push(Outcome::GaveUp);
            continue;
        }
        let failure = format!("Failed to parse calendar specification '{e}': ");
        if failures.front().is_some_and(|f| f.starts_with(&failure)) {
            failures.pop_front();
            result.push(Outcome::Invalid);
            continue;
        }
        let block = blocks
            .pop_front()
            .unwrap_or_else(|| panic!("no output left for {e:?}"));
        let mut normalized = String::new();
        let mut elapses = Vec::new();
        for line in block {
            let Some((key, value)) = line.trim_start().split_once(": ") else {
                continue;
            };
            match key {
                "Normalized form" => normalized = value.to_owned(),
                "Next elapse" if value == "never" => {}
                "Next elapse" => elapses.push(value.to_owned()),
                k if k.starts_with("Iter. #") => elapses.push(value.to_owned()),
                _ => {}
            }
        }
        result.push(Outcome::Valid {
            normalized,
            elapses,
        });
    }
    assert!(
        failures.is_empty() && blocks.is_empty(),
        "unmatched systemd-analyze output"
    );
    result
}

/// What our implementation says, the way systemd-analyze iterates.
fn ours(expr: &str, zone: &TimeZone, base: i64) -> Outcome {
    let Ok(spec) = CalendarSpec::parse_with_local(expr, zone) else {
        return Outcome::Invalid;
    };
    let mut elapses = Vec::new();
    let mut after = Timestamp::from_second(base).unwrap();
    for _ in 0..ITERATIONS {
        let Some(next) = spec.next_elapse(after, zone) else {
            break;
        };
        elapses.push(format_elapse(&next));
        after = next.timestamp();
    }
    Outcome::Valid {
        normalized: spec.normalized(),
        elapses,
    }
}

fn file_name(zone: &str, base: i64) -> String {
    format!("{}@{base}", zone.replace('/', "_"))
}

/// Compares ours against `expected` for one zone × base time; one line per
/// mismatch.
fn compare(
    source: &str,
    exprs: &[String],
    zone: &str,
    base: i64,
    expected: &[Outcome],
) -> Vec<String> {
    let tz = TimeZone::get(zone).unwrap();
    let mut mismatches = Vec::new();
    for (expr, want) in exprs.iter().zip(expected) {
        let got = ours(expr, &tz, base);
        // systemd's give-up after 1000 rounds has been seen to depend on how
        // systemd-analyze was started; an accepted expression is all that
        // can be compared then.
        if *want == Outcome::GaveUp && got != Outcome::Invalid {
            continue;
        }
        if &got != want {
            mismatches.push(format!(
                "[{source}] {expr:?} TZ={zone} base=@{base}\n    expected: {want:?}\n    got:      {got:?}"
            ));
        }
    }
    mismatches
}

fn report(mismatches: &[String], checked: usize) {
    if mismatches.is_empty() {
        return;
    }
    for m in mismatches {
        eprintln!("{m}");
    }
    panic!(
        "{} of {checked} calendar cases differ from systemd",
        mismatches.len()
    );
}

#[test]
fn corpus_is_large_and_covers_both_outcomes() {
    let exprs = corpus();
    assert!(exprs.len() >= 300, "only {} expressions", exprs.len());
    let dir = data_dir().join("expected");
    let out = std::fs::read_to_string(dir.join(file_name("UTC", BASES[0]) + ".out")).unwrap();
    let err = std::fs::read_to_string(dir.join(file_name("UTC", BASES[0]) + ".err")).unwrap();
    let all = outcomes(&exprs, &out, &err);
    let invalid = all.iter().filter(|o| **o == Outcome::Invalid).count();
    assert!(
        invalid >= 100 && all.len() - invalid >= 200,
        "{invalid} invalid of {}",
        all.len()
    );
}

#[test]
fn corpus_matches_committed_systemd_output() {
    let exprs = corpus();
    let dir = data_dir().join("expected");
    let mut mismatches = Vec::new();
    for zone in ZONES {
        for base in BASES {
            let name = file_name(zone, base);
            let out = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
            let err = std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap();
            let expected = outcomes(&exprs, &out, &err);
            mismatches.extend(compare("committed", &exprs, zone, base, &expected));
        }
    }
    report(&mismatches, exprs.len() * ZONES.len() * BASES.len());
}

#[test]
fn corpus_matches_live_systemd_analyze() {
    let probe = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "systemd-analyze is not installed (sudo make test-deps installs it)"
    );
    // SSI_CALENDAR_CORPUS=FILE checks other expressions (same format) live.
    let exprs = match std::env::var_os("SSI_CALENDAR_CORPUS") {
        Some(path) => read_corpus(Path::new(&path)),
        None => corpus(),
    };
    // SSI_CALENDAR_ZONES / SSI_CALENDAR_BASES (comma-separated) explore
    // other local zones and base times.
    let list = |var: &str, default: Vec<String>| match std::env::var(var) {
        Ok(v) => v.split(',').map(str::to_owned).collect(),
        Err(_) => default,
    };
    let zones = list(
        "SSI_CALENDAR_ZONES",
        ZONES.iter().map(|z| z.to_string()).collect(),
    );
    let bases: Vec<i64> = list(
        "SSI_CALENDAR_BASES",
        BASES.iter().map(|b| b.to_string()).collect(),
    )
    .iter()
    .map(|b| b.parse().unwrap())
    .collect();
    // One process per zone × base time, a few at a time.
    let cases: Vec<(&str, i64)> = zones
        .iter()
        .flat_map(|z| bases.iter().map(move |b| (z.as_str(), *b)))
        .collect();
    let mut mismatches = Vec::new();
    for batch in cases.chunks(3) {
        let children: Vec<_> = batch
            .iter()
            .map(|(zone, base)| {
                let child = Command::new("systemd-analyze")
                    .args([
                        "calendar",
                        "--iterations=5",
                        &format!("--base-time=@{base}"),
                        "--",
                    ])
                    .args(&exprs)
                    .env("TZ", zone)
                    .env("LC_ALL", "C")
                    .env("SYSTEMD_COLORS", "0")
                    .env("SYSTEMD_PAGER", "cat")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                (zone, base, child)
            })
            .collect();
        for (zone, base, child) in children {
            let out = child.wait_with_output().unwrap();
            let expected = outcomes(
                &exprs,
                &String::from_utf8_lossy(&out.stdout),
                &String::from_utf8_lossy(&out.stderr),
            );
            mismatches.extend(compare("live", &exprs, zone, *base, &expected));
        }
    }
    report(&mismatches, exprs.len() * cases.len());
}

/// The zones corpus (zones.txt, zones.expected from regen-zones.sh) through
/// the library: every case with an `@EPOCH[.fraction]` base time gives
/// systemd's "Normalized form", "Next elapse", "Iter. #n" and "(in UTC)"
/// lines from `LocalZone` and `next_elapse_usec` alone. (helper's
/// calendar_zones test runs every case, other base times included, through
/// `ssi-status check`.)
#[test]
fn zones_corpus_matches_systemd_through_the_library() {
    use ssi::calendar::LocalZone;

    let text = std::fs::read_to_string(data_dir().join("zones.expected")).unwrap();
    let mut blocks: Vec<(Vec<&str>, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("=== ") {
            blocks.push((header.split('\t').collect(), Vec::new()));
        } else if let Some((_, lines)) = blocks.last_mut() {
            lines.push(line.to_owned());
        }
    }
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (header, want) in &blocks {
        let [tz, base, n, expr] = header[..] else {
            panic!("bad header {header:?}");
        };
        let Some(epoch) = base.strip_prefix('@') else {
            continue;
        };
        let (whole, frac) = epoch.split_once('.').unwrap_or((epoch, ""));
        let frac = &frac[..frac.len().min(6)];
        let base: u64 = whole.parse::<u64>().unwrap() * 1_000_000
            + format!("{frac:0<6}").parse::<u64>().unwrap();
        let local = LocalZone::from_tz(Some(tz));
        let got = match CalendarSpec::parse_in(expr, &local) {
            Err(_) => vec!["invalid".to_owned()],
            Ok(spec) => {
                let mut lines = vec![format!("Normalized form: {}", spec.normalized())];
                let mut after = base;
                for i in 0..n.parse::<usize>().unwrap() {
                    let Some(next) = spec.next_elapse_usec(after, &local) else {
                        if i == 0 {
                            lines.push("Next elapse: never".to_owned());
                        }
                        break;
                    };
                    let label = if i == 0 {
                        "Next elapse".to_owned()
                    } else {
                        format!("Iter. #{}", i + 1)
                    };
                    lines.push(format!("{label}: {}", local.format(next)));
                    if local.shows_utc_lines(next) {
                        lines.push(format!("(in UTC): {}", local.format_utc(next)));
                    }
                    after = next;
                }
                lines
            }
        };
        checked += 1;
        if &got != want {
            mismatches.push(format!(
                "[zones] {expr:?} TZ={tz} base={base}\n    expected: {want:?}\n    got:      {got:?}"
            ));
        }
    }
    assert!(checked >= 40, "only {checked} @-based cases");
    report(&mismatches, checked);
}

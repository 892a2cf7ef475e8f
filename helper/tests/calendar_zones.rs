//! The zones corpus (ssi/tests/data/calendar/zones.txt): for every
//! TZ × base time × expression, `ssi-status check` prints the same
//! "Normalized form", "Next elapse", "Iter. #n" and "(in UTC)" lines as
//! `systemd-analyze calendar` did when zones.expected was made
//! (regen-zones.sh), and the same as the installed one does now, when there
//! is one. Cases marked "kept" are differences kept on purpose: systemd
//! rejects the expression, ssi-status accepts it.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::compared;

const BIN: &str = env!("CARGO_BIN_EXE_ssi-status");

/// One line of zones.txt.
struct Case {
    tz: String,
    base: String,
    iterations: String,
    expr: String,
    kept: bool,
}

impl Case {
    fn header(&self) -> String {
        format!(
            "=== {}\t{}\t{}\t{}",
            self.tz, self.base, self.iterations, self.expr
        )
    }
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ssi/tests/data/calendar")
}

fn cases() -> Vec<Case> {
    let text = fs::read_to_string(data_dir().join("zones.txt")).unwrap();
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() == 4 || f.len() == 5, "bad corpus line {l:?}");
            Case {
                tz: f[0].to_owned(),
                base: f[1].to_owned(),
                iterations: f[2].to_owned(),
                expr: f[3].to_owned(),
                kept: f.get(4) == Some(&"kept"),
            }
        })
        .collect()
}

/// zones.expected: header line → the lines systemd printed.
fn expected() -> Vec<(String, Vec<String>)> {
    let text = fs::read_to_string(data_dir().join("zones.expected")).unwrap();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("=== ") {
            out.push((line.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = out.last_mut() {
            lines.push(line.to_owned());
        }
    }
    out
}

/// What `ssi-status check` says about one case: its lines, or "invalid".
fn ours(dir: &Path, case: &Case) -> Vec<String> {
    let script = dir.join("case.bash");
    fs::write(
        &script,
        format!(
            "#!/bin/bash\n# name: Zone case\n# description: corpus\n# version: 1\n# schedule: {}\necho OK\n",
            case.expr
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(BIN)
        .args([
            "check",
            "--iterations",
            &case.iterations,
            "--base-time",
            &case.base,
        ])
        .arg(&script)
        .env("TZ", &case.tz)
        .env("SSI_SCRIPTS_DIR", dir)
        .env("SSI_LOG_DIR", dir.join("logs"))
        .env("SSI_ASSUME_SYSTEMD", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() == Some(1) && stdout.contains("schedule") {
        return vec!["invalid".to_owned()];
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        case.header(),
        String::from_utf8_lossy(&out.stderr)
    );
    compared(&stdout)
}

/// Checks every case against `want` (header → lines); one message per
/// mismatch.
fn mismatches(want: &dyn Fn(&Case) -> Vec<String>) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let mut bad = Vec::new();
    for case in cases() {
        let want = want(&case);
        let got = ours(tmp.path(), &case);
        let ok = if case.kept {
            // Kept on purpose: systemd rejects, ssi-status accepts.
            want == ["invalid"] && got.first().is_some_and(|l| l.starts_with("Normalized"))
        } else {
            got == want
        };
        if !ok {
            bad.push(format!(
                "{}\n  systemd: {want:?}\n  ssi:     {got:?}",
                case.header()
            ));
        }
    }
    bad
}

#[test]
fn zones_corpus_covers_every_kind() {
    let text = fs::read_to_string(data_dir().join("zones.txt")).unwrap();
    for kind in 1..=9 {
        assert!(
            text.contains(&format!("# {kind}. ")),
            "no cases of kind {kind}"
        );
    }
    let headers: Vec<String> = expected().into_iter().map(|(h, _)| h).collect();
    let cases: Vec<String> = cases().iter().map(Case::header).collect();
    assert_eq!(
        headers, cases,
        "zones.expected is stale: run regen-zones.sh"
    );
    assert!(cases.len() >= 60);
}

#[test]
fn check_matches_committed_systemd_output() {
    let expected = expected();
    let bad = mismatches(&|case| {
        expected
            .iter()
            .find(|(h, _)| *h == case.header())
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| panic!("{} not in zones.expected", case.header()))
    });
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn check_matches_live_systemd_analyze() {
    let probe = Command::new("systemd-analyze").arg("--version").output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("systemd-analyze not installed: only the committed outputs are checked");
        return;
    }
    let bad = mismatches(&|case| {
        let out = Command::new("systemd-analyze")
            .args([
                "calendar",
                &format!("--iterations={}", case.iterations),
                &format!("--base-time={}", case.base),
                "--",
                &case.expr,
            ])
            .env("TZ", &case.tz)
            .env("LC_ALL", "C")
            .env("SYSTEMD_COLORS", "0")
            .env("SYSTEMD_PAGER", "cat")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("Failed to parse calendar specification") {
            vec!["invalid".to_owned()]
        } else {
            compared(&String::from_utf8_lossy(&out.stdout))
        }
    });
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

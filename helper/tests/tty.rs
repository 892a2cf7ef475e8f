//! `ssi-status` on a real pseudo-terminal (driven by `common/terminal.py`): the
//! table fits terminals of 56, 80, 120 and 200 columns, and `--watch` redraws
//! it in place when a log changes or the terminal is resized, until Ctrl-C.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ssi-status");
const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/terminal.py");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/basic");

/// What the command wrote on the terminal, its exit status, and where in
/// the output each `wait` step matched.
struct Run {
    output: String,
    status: Option<i64>,
    marks: Vec<usize>,
}

/// A copy of the `basic` fixture, plus a check with a long id and message,
/// so that an 80-column terminal needs short times.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("cp")
        .args(["-a", &format!("{FIXTURE}/."), dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    let script = dir.path().join("scripts/long-check-name-here.sh");
    fs::write(
        &script,
        "#!/bin/sh\n# name: Long One\n# description: d\n# version: 1\n# schedule: hourly\necho OK\n",
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        dir.path().join("logs/long_check_name_here.log"),
        "2026-11-25 11:00:00, WARNING, a message long enough to be cut on any terminal narrower than two hundred columns, which most are, so it goes on and on\n",
    )
    .unwrap();
    dir
}

fn run(dir: &Path, cols: u16, rows: u16, steps: serde_json::Value, args: &[&str]) -> Run {
    let out = Command::new("python3")
        .arg(DRIVER)
        .arg(cols.to_string())
        .arg(rows.to_string())
        .arg(steps.to_string())
        .arg("--")
        .arg(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("COLUMNS")
        .env_remove("LINES")
        .env_remove("NO_COLOR")
        .env("SSI_NOW", "2026-11-25 12:00:00 UTC")
        .env("TZ", "UTC")
        .env("SSI_SCRIPTS_DIR", "scripts")
        .env("SSI_LOG_DIR", "logs")
        .env("SSI_ASSUME_SYSTEMD", "0")
        .output()
        .expect("python3 (tests/deps.sh) runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "driver output: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let output = v["output"].as_str().unwrap().replace('\r', "");
    assert!(out.status.success(), "{}\n{output}", v["error"]);
    Run {
        output,
        status: v["status"].as_i64(),
        marks: v["marks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_u64().unwrap() as usize)
            .collect(),
    }
}

/// `text` without ANSI escape sequences (colours, cursor moves, erases).
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The header's column names, in order.
fn headers(table: &str) -> Vec<String> {
    let header = table.lines().next().unwrap();
    header
        .split("  ")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The message column of the row whose id is `id`.
fn message<'a>(table: &'a str, id: &str) -> &'a str {
    let header = table.lines().next().unwrap();
    let at = header.find("MESSAGE").unwrap();
    let row = table
        .lines()
        .find(|l| l.split(' ').next() == Some(id))
        .unwrap_or_else(|| panic!("no row {id} in\n{table}"));
    let start = row.char_indices().nth(at).map_or(row.len(), |(i, _)| i);
    &row[start..]
}

fn assert_fits(table: &str, cols: usize) {
    for line in table.lines() {
        let n = line.chars().count();
        assert!(n <= cols, "{n} > {cols} columns: {line:?}\n{table}");
    }
}

#[test]
fn the_table_fits_80_columns_with_30_characters_of_message() {
    let dir = fixture();
    for color in ["never", "always"] {
        let r = run(
            dir.path(),
            80,
            40,
            serde_json::json!([]),
            &["--color", color],
        );
        assert_eq!(r.status, Some(0));
        let table = plain(&r.output);
        assert_fits(&table, 80);
        assert_eq!(
            headers(&table),
            ["ID", "STATUS", "LAST RUN", "MESSAGE"],
            "{table}"
        );
        // Long messages keep 30 characters or more, ending in "…".
        for id in ["broken", "not_exec", "long_check_name_here"] {
            let m = message(&table, id);
            assert!(m.chars().count() >= 30, "{id}: {m:?}\n{table}");
            assert!(m.ends_with('…'), "{id}: {m:?}");
        }
        // The long id leaves room only with short times.
        let long = table
            .lines()
            .find(|l| l.starts_with("long_check_name_here"))
            .unwrap();
        assert!(
            long.contains(" 11:00:00 ") && !long.contains("2026-11-25"),
            "{long}"
        );
        assert!(
            message(&table, "never_ran").starts_with("next run "),
            "{table}"
        );
        assert!(table.contains("not run yet"), "{table}");
    }
}

#[test]
fn wider_terminals_get_more_columns() {
    let dir = fixture();
    let at = |cols| {
        let r = run(
            dir.path(),
            cols,
            40,
            serde_json::json!([]),
            &["--color", "never"],
        );
        let table = plain(&r.output);
        assert_fits(&table, cols as usize);
        headers(&table)
    };
    let (h80, h120, h200) = (at(80), at(120), at(200));
    assert!(h80.len() < h120.len(), "{h80:?} {h120:?}");
    assert!(h120.len() < h200.len(), "{h120:?} {h200:?}");
    assert_eq!(
        h200,
        ["ID", "NAME", "VERSION", "SCHEDULE", "STATUS", "LAST RUN", "MESSAGE"]
    );
    assert!(h120.contains(&"NAME".to_owned()), "{h120:?}");
}

#[test]
fn full_and_pipes_are_never_cut() {
    let dir = fixture();
    let r = run(
        dir.path(),
        80,
        40,
        serde_json::json!([]),
        &["--color", "never", "-l"],
    );
    let table = plain(&r.output);
    assert!(
        table.contains("which most are, so it goes on and on"),
        "{table}"
    );
    assert!(table.lines().any(|l| l.chars().count() > 80));
    let piped = Command::new(BIN)
        .current_dir(dir.path())
        .env("COLUMNS", "80")
        .env("SSI_SCRIPTS_DIR", "scripts")
        .env("SSI_LOG_DIR", "logs")
        .env("SSI_ASSUME_SYSTEMD", "0")
        .output()
        .unwrap();
    let text = String::from_utf8(piped.stdout).unwrap();
    assert!(
        text.contains("which most are, so it goes on and on"),
        "{text}"
    );
}

#[test]
fn watch_redraws_on_a_new_line_and_a_resize_until_ctrl_c() {
    let dir = fixture();
    let log = dir.path().join("logs/dummy_service.log");
    let steps = serde_json::json!([
        ["wait", "dummy_service +OK"],
        [
            "append",
            log.to_str().unwrap(),
            "2026-11-25 12:00:30, FAILURE, disk on fire\n"
        ],
        ["wait", "dummy_service +FAILURE"],
        ["resize", 200, 40],
        ["wait", "SCHEDULE"],
        ["type", "\u{3}"],
    ]);
    let r = run(dir.path(), 100, 40, steps, &["--watch", "--color", "never"]);
    assert_eq!(
        r.status,
        Some(0),
        "Ctrl-C ends the watch cleanly\n{}",
        r.output
    );
    // Drawn in place: the screen is cleared once, each frame starts at home.
    assert_eq!(r.output.matches("\x1b[2J").count(), 1, "{:?}", r.output);
    let frames: Vec<String> = r
        .output
        .split("\x1b[H")
        .filter(|f| !f.is_empty())
        .map(plain)
        .collect();
    assert!(frames.len() >= 3, "{frames:#?}");
    let before_resize = &r.output[..r.marks[1]];
    for f in before_resize.split("\x1b[H").map(plain) {
        assert_fits(&f, 100);
        assert!(!f.contains("SCHEDULE"), "{f}");
    }
    let last = frames.last().unwrap();
    assert!(last.starts_with("ssi-status --watch: scripts"), "{last}");
    assert!(last.contains("disk on fire"), "{last}");
    assert_fits(last, 200);
}

/// A terminal too narrow even for id, status, time and message: the ids
/// are cut too (ending in `…`) so that every row still fits on one line.
#[test]
fn very_narrow_terminals_cut_the_ids() {
    let dir = fixture();
    let r = run(
        dir.path(),
        56,
        40,
        serde_json::json!([]),
        &["--color", "never"],
    );
    assert_eq!(r.status, Some(0));
    let table = plain(&r.output);
    assert_fits(&table, 56);
    assert_eq!(
        headers(&table),
        ["ID", "STATUS", "LAST RUN", "MESSAGE"],
        "{table}"
    );
    assert!(!table.contains("long_check_name_here"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("long_ch… ")), "{table}");
}

//! The manifest: the comment header of a check script that says what the
//! check is called and when it runs.
//!
//! ```text
//! script   = [ shebang ] header *line
//! shebang  = "#!" *any EOL                      (first line only)
//! header   = *( blank / comment )               up to the first other line
//! comment  = *space "#" *any EOL
//! key line = *space "#" *space key *space ":" *space value *space EOL
//! key      = "name" / "description" / "version" / "schedule" / "timeout"
//!          / "notify-after" / "output" / "run-on-apply"
//!          / "maintenance" / "remind-every"                        (any case)
//! EOL      = [ CR ] LF
//! ```
//!
//! Other `# word: …` comments are ordinary comments, but one whose word is
//! a near miss of a key (`# timout: 10`) earns a [`Warning`] naming the key
//! it resembles ([`near_key`]); it stays a comment. `schedule:` and
//! `timeout:` values may end in a ` # comment`. Only the first
//! [`MAX_HEADER_BYTES`] of a file are read.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::rest;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use crate::timespan;

/// How much of a script is read to find its manifest.
pub const MAX_HEADER_BYTES: usize = 64 << 10;
/// The run time limit when a script gives no `timeout:`.
pub const DEFAULT_TIMEOUT_SECS: u32 = 20;
/// The longest allowed `timeout:` (24 h).
pub const MAX_TIMEOUT_SECS: u32 = 86_400;
/// The largest `# notify-after:` (runs a new status must hold).
pub const MAX_NOTIFY_AFTER: u32 = 100;

/// The longest `# remind-every:` (a year).
pub const MAX_REMIND_EVERY_SECS: u32 = 31_536_000;
/// `# output:`, what a check's standard output and exit status mean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// `status` (the default): the script prints status lines itself.
    #[default]
    Status,
    /// `nagios`: a Monitoring Plugins-style check; its exit status and
    /// first line become the status line (see ssi-script(5)).
    Nagios,
}

impl Output {
    /// The value as written in a manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Output::Status => "status",
            Output::Nagios => "nagios",
        }
    }
}

/// The manifest's values as far as they could be read; a value is `None`
/// when its key is missing or its value is unusable (not UTF-8, or for
/// `timeout`, not a valid span).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Fields {
    /// `# name:`, the human name.
    pub name: Option<String>,
    /// `# description:`, one sentence.
    pub description: Option<String>,
    /// `# version:`, the script's own version.
    pub version: Option<String>,
    /// `# schedule:`, the OnCalendar expression without a trailing comment.
    pub schedule: Option<String>,
    /// `# timeout:` in seconds, or the default when the key is absent.
    pub timeout: Option<u32>,
    /// `# notify-after:`, how many consecutive runs a new status must hold
    /// before a notification tells of it; `None` when absent (the
    /// notifier's default applies). Older tools ignore the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_after: Option<u32>,
    /// `# maintenance:`, a recurring maintenance window (`CALENDAR for
    /// SPAN`, see [`crate::quiet::window`]), as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<String>,
    /// `# remind-every:`, seconds after which a still-bad check is told
    /// again; `None` when absent (the notifier's default applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remind_every: Option<u32>,
    /// `# output:`; `None` when absent (status lines, as always).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    /// `# run-on-apply:`, whether a new or changed script runs once as soon
    /// as it is applied; `None` when absent (it does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_on_apply: Option<bool>,
}

/// A read manifest: its values, where the schedule was, and every problem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The values.
    pub fields: Fields,
    /// 1-based line of `# schedule:` (0 when absent), so a later schedule
    /// error can say where it is.
    pub schedule_line: usize,
    /// Each problem, e.g. `line 3: name "ab": expected 3 to 60 characters, got 2`.
    pub errors: Vec<Error>,
    /// Comments that look like a misspelled key; they do not make the
    /// script invalid.
    pub warnings: Vec<Warning>,
}

/// A `# word: …` comment whose word is close to a key: most likely a
/// misspelling (`# timout: 10`), which would otherwise be silently ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Its line (1-based).
    pub line: usize,
    /// The word as written (lossily decoded).
    pub word: String,
    /// The key it resembles.
    pub key: &'static str,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: \"{}:\" is not a manifest key, did you mean \"{}:\"? The line is read as a comment",
            self.line, self.word, self.key
        )
    }
}

/// The key `word` most likely misspells, if any: a word that is not a key
/// (in any case) but is at most one edit (a letter added, dropped, changed,
/// or two swapped; `-` and `_` alike) from a key of up to five letters, or
/// two edits from a longer one. Short keys get one edit only so that common
/// comment words (`# Note:`, `# Date:`, `# Author:`) are not mistaken.
pub fn near_key(word: &str) -> Option<&'static str> {
    let w: Vec<char> = word
        .chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if Key::from_bytes(word.as_bytes()).is_some() || w.is_empty() {
        return None;
    }
    KNOWN_KEYS
        .iter()
        .map(|&k| (edits(&w, &k.chars().collect::<Vec<_>>()), k))
        // 0: a key another part of the project reads; not a misspelling.
        .filter(|&(d, k)| d > 0 && d <= if k.len() <= 5 { 1 } else { 2 })
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Every key a manifest line may have: the ones this module reads, and the
/// ones other parts of the project add, so their misspellings are caught too.
const KNOWN_KEYS: &[&str] = &[
    "name",
    "description",
    "version",
    "schedule",
    "timeout",
    "notify-after",
    "output",
    "run-on-apply",
];

/// Optimal string alignment distance: insertions, deletions,
/// substitutions and swaps of two neighbours each count one.
fn edits(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// One problem of a manifest. `Display` gives the text people read (the
/// generator's log, `ssi-status`); [`Error::code`] a stable name for
/// programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A key given a second time.
    Twice {
        /// Where the second one is (1-based).
        line: usize,
        /// The key.
        key: &'static str,
        /// Where the first one is.
        first: usize,
    },
    /// A required key that is absent.
    Missing {
        /// The key.
        key: &'static str,
    },
    /// A value that is not UTF-8 (shown with replacement characters).
    NotUtf8 {
        /// Its line.
        line: usize,
        /// The key.
        key: &'static str,
        /// The value, lossily decoded.
        value: String,
    },
    /// A value that breaks its key's rule.
    Value {
        /// Its line.
        line: usize,
        /// The key.
        key: &'static str,
        /// The value as written (a trailing comment removed).
        value: String,
        /// What was expected instead, e.g. `expected 3 to 60 characters, got 2`.
        expected: String,
    },
}

impl Error {
    /// A stable, machine-readable name of the kind of problem.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Twice { .. } => "manifest-key-twice",
            Error::Missing { .. } => "manifest-key-missing",
            Error::NotUtf8 { .. } => "manifest-value-not-utf8",
            Error::Value { .. } => "manifest-value-invalid",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Twice { line, key, first } => write!(
                f,
                "line {line}: {key} given twice (first on line {first}), expected it once"
            ),
            Error::Missing { key } => write!(f, "missing \"# {key}:\" line in the header"),
            Error::NotUtf8 { line, key, value } => {
                write!(f, "line {line}: {key} {value:?}: expected valid UTF-8")
            }
            Error::Value {
                line,
                key,
                value,
                expected,
            } => write!(f, "line {line}: {key} {value:?}: {expected}"),
        }
    }
}

/// The recognised keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Name,
    Description,
    Version,
    Schedule,
    Timeout,
    NotifyAfter,
    Maintenance,
    RemindEvery,
    Output,
    RunOnApply,
}

impl Key {
    const ALL: [Key; 10] = [
        Key::Name,
        Key::Description,
        Key::Version,
        Key::Schedule,
        Key::Timeout,
        Key::NotifyAfter,
        Key::Maintenance,
        Key::RemindEvery,
        Key::Output,
        Key::RunOnApply,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Key::Name => "name",
            Key::Description => "description",
            Key::Version => "version",
            Key::Schedule => "schedule",
            Key::Timeout => "timeout",
            Key::NotifyAfter => "notify-after",
            Key::Maintenance => "maintenance",
            Key::RemindEvery => "remind-every",
            Key::Output => "output",
            Key::RunOnApply => "run-on-apply",
        }
    }

    fn from_bytes(word: &[u8]) -> Option<Key> {
        Key::ALL
            .into_iter()
            .find(|k| word.eq_ignore_ascii_case(k.as_str().as_bytes()))
    }
}

/// Reads the manifest of the script at `path` (its first
/// [`MAX_HEADER_BYTES`] only).
pub fn read(path: &Path) -> io::Result<Parsed> {
    let mut buf = Vec::with_capacity(8192);
    File::open(path)?
        .take(MAX_HEADER_BYTES as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(parse(&buf))
}

/// Parses a manifest from the start of a script. When `content` is longer
/// than [`MAX_HEADER_BYTES`] only that much is looked at, and a line cut
/// there is ignored.
pub fn parse(content: &[u8]) -> Parsed {
    let mut body = content;
    if body.len() > MAX_HEADER_BYTES {
        body = &body[..MAX_HEADER_BYTES];
        // The last line was cut by the limit: it is not a line.
        body = match body.iter().rposition(|&b| b == b'\n') {
            Some(nl) => &body[..=nl],
            None => &[],
        };
    }

    let mut parsed = Parsed::default();
    let mut seen = [0usize; Key::ALL.len()];
    for (idx, raw) in body.split(|&b| b == b'\n').enumerate() {
        let lineno = idx + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if idx == 0 && line.starts_with(b"#!") {
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok((_, (word, value))) = key_line(line) else {
            if is_comment(line) {
                continue;
            }
            // The first line that is neither blank nor a comment ends the header.
            break;
        };
        let Some(key) = Key::from_bytes(word) else {
            let word = String::from_utf8_lossy(word);
            if let Some(key) = near_key(&word) {
                parsed.warnings.push(Warning {
                    line: lineno,
                    word: word.into_owned(),
                    key,
                });
            }
            continue;
        };
        let slot = &mut seen[key as usize];
        if *slot != 0 {
            parsed.errors.push(Error::Twice {
                line: lineno,
                key: key.as_str(),
                first: *slot,
            });
            continue;
        }
        *slot = lineno;
        accept(&mut parsed, key, value, lineno);
    }

    for key in Key::ALL {
        if seen[key as usize] == 0 {
            match key {
                Key::Timeout => parsed.fields.timeout = Some(DEFAULT_TIMEOUT_SECS),
                Key::NotifyAfter
                | Key::Output
                | Key::RunOnApply
                | Key::Maintenance
                | Key::RemindEvery => {}
                _ => parsed.errors.push(Error::Missing { key: key.as_str() }),
            }
        }
    }
    parsed
}

/// Checks one key's value and stores it.
fn accept(parsed: &mut Parsed, key: Key, raw: &[u8], lineno: usize) {
    let name = key.as_str();
    let Ok(value) = std::str::from_utf8(raw) else {
        parsed.errors.push(Error::NotUtf8 {
            line: lineno,
            key: name,
            value: String::from_utf8_lossy(raw).into_owned(),
        });
        return;
    };
    let value = match key {
        Key::Schedule
        | Key::Timeout
        | Key::NotifyAfter
        | Key::Output
        | Key::RunOnApply
        | Key::Maintenance
        | Key::RemindEvery => strip_trailing_comment(value),
        _ => value,
    };
    let mut fail = |expected: String| {
        parsed.errors.push(Error::Value {
            line: lineno,
            key: name,
            value: value.to_owned(),
            expected,
        });
    };
    if value.chars().any(char::is_control) {
        fail("expected no control characters".to_owned());
        return;
    }
    // Name and description go into unit files, where a line ending in a
    // backslash continues on the next line.
    if matches!(key, Key::Name | Key::Description) && value.ends_with('\\') {
        fail("expected no backslash at the end".to_owned());
        return;
    }
    let chars = value.chars().count();
    match key {
        Key::Name => {
            if !(3..=60).contains(&chars) {
                fail(format!("expected 3 to 60 characters, got {chars}"));
            }
            parsed.fields.name = Some(value.to_owned());
        }
        Key::Description => {
            if !(1..=255).contains(&chars) {
                fail(format!("expected 1 to 255 characters, got {chars}"));
            }
            parsed.fields.description = Some(value.to_owned());
        }
        Key::Version => {
            if !(1..=32).contains(&chars) {
                fail(format!("expected 1 to 32 characters, got {chars}"));
            } else if value.contains(char::is_whitespace) {
                fail("expected no white space inside".to_owned());
            }
            parsed.fields.version = Some(value.to_owned());
        }
        Key::Schedule => {
            if value.is_empty() {
                fail("expected an OnCalendar expression like daily or *:0/5".to_owned());
            }
            parsed.fields.schedule = Some(value.to_owned());
            parsed.schedule_line = lineno;
        }
        Key::Timeout => match timespan::parse_whole_seconds(value, 1, MAX_TIMEOUT_SECS) {
            Ok(secs) => parsed.fields.timeout = Some(secs),
            Err(why) => fail(why),
        },
        Key::NotifyAfter => match value.parse::<u32>() {
            Ok(n)
                if (1..=MAX_NOTIFY_AFTER).contains(&n)
                    && value.bytes().all(|b| b.is_ascii_digit()) =>
            {
                parsed.fields.notify_after = Some(n)
            }
            _ => fail(format!(
                "expected a whole number of runs from 1 to {MAX_NOTIFY_AFTER}"
            )),
        },
        Key::Maintenance => match crate::quiet::window::Window::parse(value) {
            Ok(_) => parsed.fields.maintenance = Some(value.to_owned()),
            Err(why) => fail(why),
        },
        Key::RemindEvery => match timespan::parse_whole_seconds(value, 1, MAX_REMIND_EVERY_SECS) {
            Ok(secs) => parsed.fields.remind_every = Some(secs),
            Err(why) => fail(why),
        },
        Key::Output => {
            if value.eq_ignore_ascii_case("nagios") {
                parsed.fields.output = Some(Output::Nagios);
            } else if value.eq_ignore_ascii_case("status") {
                parsed.fields.output = Some(Output::Status);
            } else {
                fail("expected \"status\" (the default) or \"nagios\"".to_owned());
            }
        }
        Key::RunOnApply => {
            if value.eq_ignore_ascii_case("yes") {
                parsed.fields.run_on_apply = Some(true);
            } else if value.eq_ignore_ascii_case("no") {
                parsed.fields.run_on_apply = Some(false);
            } else {
                fail("expected \"yes\" (the default) or \"no\"".to_owned());
            }
        }
    }
}

/// `key line = *space "#" *space word *space ":" *space value`, giving the
/// word and the value with surrounding white space removed.
fn key_line(line: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let (rest_, word) = delimited(
        (space, char('#'), space),
        take_while1(|b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        (space, tag(&b":"[..])),
    )
    .parse(line)?;
    let (rest_, value) = preceded(space, rest).parse(rest_)?;
    Ok((rest_, (word, trim_end(value))))
}

/// `*space`
fn space(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(|b: u8| b == b' ' || b == b'\t').parse(i)
}

fn is_comment(line: &[u8]) -> bool {
    line.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'#')
}

fn trim_end(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &v[..end]
}

/// `*:0/5  # Every 5 minutes` → `*:0/5`. A `#` only starts a comment after
/// white space (or as the first character); neither OnCalendar nor time spans use `#`.
fn strip_trailing_comment(value: &str) -> &str {
    // At the very start, `#` means the value itself is empty.
    let mut prev_space = true;
    for (i, c) in value.char_indices() {
        if c == '#' && prev_space {
            return value[..i].trim_end();
        }
        prev_space = c == ' ' || c == '\t';
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "#!/bin/bash\n# name: Dummy Service\n# description: Always fine\n# version: 1.0\n# schedule: *:0/1\n";

    fn errors(s: &str) -> Vec<String> {
        parse(s.as_bytes())
            .errors
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn good_manifest() {
        let p = parse(GOOD.as_bytes());
        assert_eq!(p.errors, Vec::<Error>::new());
        assert_eq!(
            p.fields,
            Fields {
                name: Some("Dummy Service".into()),
                description: Some("Always fine".into()),
                version: Some("1.0".into()),
                schedule: Some("*:0/1".into()),
                timeout: Some(DEFAULT_TIMEOUT_SECS),
                notify_after: None,
                maintenance: None,
                remind_every: None,
                output: None,
                run_on_apply: None,
            }
        );
        assert_eq!(p.schedule_line, 5);
    }

    #[test]
    fn maintenance_and_remind_every_rules() {
        let t = |l: &str| parse(format!("{GOOD}{l}\n").as_bytes());
        let e = |l: &str| errors(&format!("{GOOD}{l}\n"));
        let f = t("# maintenance: Sun 02:00 for 2h # backups\n# remind-every: 4h").fields;
        assert_eq!(f.maintenance.as_deref(), Some("Sun 02:00 for 2h"));
        assert_eq!(f.remind_every, Some(14_400));
        assert_eq!(
            e("# maintenance: Sun 02:00"),
            vec!["line 6: maintenance \"Sun 02:00\": expected a calendar expression, \"for\" and a length, like \"Sun 02:00 for 2h\""]
        );
        let bad = e("# maintenance: Sun 26:00 for 1h");
        assert!(
            bad[0].starts_with(
                "line 6: maintenance \"Sun 26:00 for 1h\": calendar expression \"Sun 26:00\": "
            ),
            "{bad:?}"
        );
        assert_eq!(
            e("# remind-every: 0"),
            vec!["line 6: remind-every \"0\": expected 1 to 31536000 seconds, got 0"]
        );
    }

    #[test]
    fn output_and_run_on_apply_rules() {
        let t = |l: &str| parse(format!("{GOOD}{l}\n").as_bytes());
        let e = |l: &str| errors(&format!("{GOOD}{l}\n"));
        assert_eq!(t("# output: nagios").fields.output, Some(Output::Nagios));
        assert_eq!(
            t("# Output: NAGIOS # plugin").fields.output,
            Some(Output::Nagios)
        );
        assert_eq!(t("# output: status").fields.output, Some(Output::Status));
        assert_eq!(t("# output: nagios").errors, Vec::<Error>::new());
        assert_eq!(t("# run-on-apply: no").fields.run_on_apply, Some(false));
        assert_eq!(t("# Run-On-Apply: YES").fields.run_on_apply, Some(true));
        assert_eq!(parse(GOOD.as_bytes()).fields.output, None);
        assert_eq!(parse(GOOD.as_bytes()).fields.run_on_apply, None);
        for bad in ["nagio", "json", ""] {
            assert_eq!(
                e(&format!("# output: {bad}")),
                vec![format!(
                    "line 6: output {bad:?}: expected \"status\" (the default) or \"nagios\""
                )],
                "{bad}"
            );
        }
        for bad in ["false", "0", "never", ""] {
            assert_eq!(
                e(&format!("# run-on-apply: {bad}")),
                vec![format!(
                    "line 6: run-on-apply {bad:?}: expected \"yes\" (the default) or \"no\""
                )],
                "{bad}"
            );
        }
        assert_eq!(
            e("# output: nagios\n# output: status"),
            vec!["line 7: output given twice (first on line 6), expected it once"]
        );
    }

    #[test]
    fn notify_after_rule() {
        let t = |l: &str| parse(format!("{GOOD}{l}\n").as_bytes());
        let e = |l: &str| errors(&format!("{GOOD}{l}\n"));
        assert_eq!(t("# notify-after: 3").fields.notify_after, Some(3));
        assert_eq!(t("# Notify-After: 2 # flaky").fields.notify_after, Some(2));
        assert_eq!(t("# notify-after: 3").errors, Vec::<Error>::new());
        for bad in ["0", "101", "+3", "three", ""] {
            assert_eq!(
                e(&format!("# notify-after: {bad}")),
                vec![format!(
                    "line 6: notify-after {bad:?}: expected a whole number of runs from 1 to 100"
                )],
                "{bad}"
            );
        }
        assert_eq!(
            e("# notify-after: 2\n# notify-after: 3"),
            vec!["line 7: notify-after given twice (first on line 6), expected it once"]
        );
    }

    #[test]
    fn keys_any_case_and_spacing_crlf() {
        let p = parse(b"#!/bin/sh\r\n\r\n  #NAME :  Spaced Name  \r\n#\tDescription:\tx\r\n# Version:2\r\n#   SCHEDULE: daily\r\n# TimeOut: 5min\r\n");
        assert_eq!(p.errors, Vec::<Error>::new());
        assert_eq!(p.fields.name.as_deref(), Some("Spaced Name"));
        assert_eq!(p.fields.description.as_deref(), Some("x"));
        assert_eq!(p.fields.schedule.as_deref(), Some("daily"));
        assert_eq!(p.fields.timeout, Some(300));
    }

    #[test]
    fn trailing_comments_on_schedule_and_timeout_only() {
        let p = parse(
            b"# name: Seed\n# description: d # not a comment\n# version: 1\n# schedule: *:0/5  # Every 5 minutes\n# timeout: 30      # Optional: seconds\n",
        );
        assert_eq!(p.errors, Vec::<Error>::new());
        assert_eq!(p.fields.schedule.as_deref(), Some("*:0/5"));
        assert_eq!(p.fields.timeout, Some(30));
        assert_eq!(p.fields.description.as_deref(), Some("d # not a comment"));
    }

    #[test]
    fn header_ends_at_first_code_line() {
        let e = errors("#!/bin/bash\n# name: Late\necho hi\n# description: too late\n# version: 1\n# schedule: daily\n");
        assert_eq!(
            e,
            vec![
                "missing \"# description:\" line in the header",
                "missing \"# version:\" line in the header",
                "missing \"# schedule:\" line in the header",
            ]
        );
    }

    #[test]
    fn other_word_colon_lines_are_comments() {
        let p = parse(format!("{GOOD}# author: me\n# Note: x\n").as_bytes());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn misspelled_keys_are_warned_about_and_stay_comments() {
        let p = parse(
            format!("{GOOD}# timout: 10\n# Shedule: daily\n# DESCRIPTON: x\n# notify_afer: 2\n")
                .as_bytes(),
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        // Read as comments: the default timeout still applies.
        assert_eq!(p.fields.timeout, Some(DEFAULT_TIMEOUT_SECS));
        let got: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "line 6: \"timout:\" is not a manifest key, did you mean \"timeout:\"? The line is read as a comment",
                "line 7: \"Shedule:\" is not a manifest key, did you mean \"schedule:\"? The line is read as a comment",
                "line 8: \"DESCRIPTON:\" is not a manifest key, did you mean \"description:\"? The line is read as a comment",
                "line 9: \"notify_afer:\" is not a manifest key, did you mean \"notify-after:\"? The line is read as a comment",
            ]
        );
    }

    /// Keys are case-insensitive (DESIGN.md): `# Name:` is the name, not a
    /// near miss, so it is neither an error nor a warning.
    #[test]
    fn a_key_in_another_case_is_the_key() {
        let p =
            parse(b"# Name: Dummy Service\n# DESCRIPTION: d\n# Version: 1\n# SchEdule: daily\n");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.fields.name.as_deref(), Some("Dummy Service"));
        assert_eq!(near_key("Name"), None);
        assert_eq!(near_key("Nmae"), Some("name"));
        assert_eq!(near_key("NAMES"), Some("name"));
    }

    #[test]
    fn near_keys() {
        for (word, key) in [
            ("timout", "timeout"),
            ("timeuot", "timeout"),
            ("time-out", "timeout"),
            ("shedule", "schedule"),
            ("schedual", "schedule"),
            ("descripton", "description"),
            ("desription", "description"),
            ("verison", "version"),
            ("versoin", "version"),
            ("nme", "name"),
            ("notify-afte", "notify-after"),
        ] {
            assert_eq!(near_key(word), Some(key), "{word}");
        }
        for word in [
            "note",
            "Note",
            "author",
            "Author",
            "date",
            "license",
            "usage",
            "example",
            "see",
            "todo",
            "time",
            "type",
            "mode",
            "host",
            "copyright",
            "maintainer",
            "requires",
            "summary",
            "purpose",
            "output",
            "timeout",
            "x",
        ] {
            assert_eq!(near_key(word), None, "{word}");
        }
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        /// Words people put in script headers as `# Word: …` comments.
        const COMMENT_WORDS: &[&str] = &[
            "note",
            "notes",
            "author",
            "authors",
            "date",
            "license",
            "licence",
            "usage",
            "example",
            "examples",
            "see",
            "todo",
            "fixme",
            "copyright",
            "maintainer",
            "email",
            "url",
            "homepage",
            "requires",
            "depends",
            "summary",
            "purpose",
            "returns",
            "exit",
            "time",
            "type",
            "tags",
            "host",
            "user",
            "path",
            "args",
            "env",
            "port",
            "mode",
            "created",
            "updated",
            "changed",
            "warning",
            "bug",
            "history",
            "contact",
            "origin",
            "source",
            "status",
        ];

        /// One edit of a key: insert, delete, change or swap at `at`.
        fn edit(key: &str, kind: u8, at: usize, c: char) -> String {
            let mut v: Vec<char> = key.chars().collect();
            let at = at % v.len();
            match kind % 4 {
                0 => v.insert(at, c),
                1 => {
                    v.remove(at);
                }
                2 => v[at] = c,
                _ => {
                    if v.len() >= 2 {
                        let a = at % (v.len() - 1);
                        v.swap(a, a + 1);
                    }
                }
            }
            v.into_iter().collect()
        }

        proptest! {
            #[test]
            fn ordinary_comments_never_warn(
                i in 0..COMMENT_WORDS.len(),
                upper in any::<bool>(),
                value in "[ -~]{0,40}",
            ) {
                let w = COMMENT_WORDS[i];
                let w = if upper { w.to_ascii_uppercase() } else { w.to_owned() };
                let p = parse(format!("{}# {w}: {value}\n", super::GOOD).as_bytes());
                prop_assert!(p.warnings.is_empty(), "{:?}", p.warnings);
                prop_assert!(p.errors.is_empty(), "{:?}", p.errors);
            }

            #[test]
            fn one_edit_of_a_key_is_warned_about(
                k in 0..5usize,
                kind in 0u8..4,
                at in 0usize..20,
                c in "[a-z]",
                upper in any::<bool>(),
            ) {
                let key = ["name", "description", "version", "schedule", "timeout"][k];
                let word = edit(key, kind, at, c.chars().next().unwrap_or('x'));
                prop_assume!(!word.is_empty() && Key::from_bytes(word.as_bytes()).is_none());
                let word = if upper { word.to_ascii_uppercase() } else { word };
                let p = parse(format!("{}# {word}: 10\n", super::GOOD).as_bytes());
                prop_assert!(p.errors.is_empty(), "{:?}", p.errors);
                prop_assert_eq!(p.warnings.len(), 1, "{}", word);
                // The named key is within one edit of the word (usually `key`).
                let named: Vec<char> = p.warnings[0].key.chars().collect();
                let lower: Vec<char> = word.to_ascii_lowercase().chars().collect();
                prop_assert!(edits(&lower, &named) <= 1, "{} -> {}", word, p.warnings[0].key);
            }
        }
    }

    #[test]
    fn shebang_only_on_first_line() {
        let e = errors(
            "\n#!/bin/bash\n# name: abc\n# description: d\n# version: 1\n# schedule: daily\n",
        );
        assert!(e.is_empty(), "a later #! line is just a comment: {e:?}");
    }

    #[test]
    fn key_twice() {
        let e = errors(&format!("{GOOD}# Name: Other\n"));
        assert_eq!(
            e,
            vec!["line 6: name given twice (first on line 2), expected it once"]
        );
    }

    #[test]
    fn missing_everything() {
        assert_eq!(
            errors("#!/bin/sh\necho OK\n"),
            vec![
                "missing \"# name:\" line in the header",
                "missing \"# description:\" line in the header",
                "missing \"# version:\" line in the header",
                "missing \"# schedule:\" line in the header",
            ]
        );
    }

    fn with(line: &str) -> Vec<String> {
        // Replace one key of GOOD by `line`.
        let key = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim_start_matches("# ")
            .to_lowercase();
        let kept: String = GOOD
            .lines()
            .filter(|l| !l.to_lowercase().starts_with(&format!("# {key}:")))
            .map(|l| format!("{l}\n"))
            .collect();
        errors(&format!("{kept}{line}\n"))
    }

    #[test]
    fn name_rule() {
        assert_eq!(
            with("# name: ab"),
            vec!["line 5: name \"ab\": expected 3 to 60 characters, got 2"]
        );
        assert_eq!(
            with(&format!("# name: {}", "n".repeat(61)))[0],
            format!(
                "line 5: name \"{}\": expected 3 to 60 characters, got 61",
                "n".repeat(61)
            )
        );
        assert!(
            with(&format!("# name: {}", "é".repeat(60))).is_empty(),
            "characters, not bytes"
        );
        assert_eq!(
            with("# name: bad\u{7}bell"),
            vec!["line 5: name \"bad\\u{7}bell\": expected no control characters"]
        );
    }

    #[test]
    fn trailing_backslash_in_unit_values() {
        assert_eq!(
            with("# description: ends \\"),
            vec!["line 5: description \"ends \\\\\": expected no backslash at the end"]
        );
        assert_eq!(
            with("# name: Name \\"),
            vec!["line 5: name \"Name \\\\\": expected no backslash at the end"]
        );
        assert!(with("# description: a \\ b").is_empty());
    }

    #[test]
    fn description_rule() {
        assert!(with(&format!("# description: {}", "d".repeat(255))).is_empty());
        assert_eq!(
            with(&format!("# description: {}", "d".repeat(256))),
            vec![format!(
                "line 5: description \"{}\": expected 1 to 255 characters, got 256",
                "d".repeat(256)
            )]
        );
        assert_eq!(
            with("# description:"),
            vec!["line 5: description \"\": expected 1 to 255 characters, got 0"]
        );
    }

    #[test]
    fn version_rule() {
        assert!(with(&format!("# version: {}", "v".repeat(32))).is_empty());
        assert_eq!(
            with(&format!("# version: {}", "v".repeat(33))),
            vec![format!(
                "line 5: version \"{}\": expected 1 to 32 characters, got 33",
                "v".repeat(33)
            )]
        );
        assert_eq!(
            with("# version: 1 beta"),
            vec!["line 5: version \"1 beta\": expected no white space inside"]
        );
        assert_eq!(
            with("# version:"),
            vec!["line 5: version \"\": expected 1 to 32 characters, got 0"]
        );
    }

    #[test]
    fn schedule_rule() {
        assert_eq!(
            with("# schedule:   # nothing"),
            vec!["line 5: schedule \"\": expected an OnCalendar expression like daily or *:0/5"]
        );
    }

    #[test]
    fn timeout_rule() {
        let t = |l: &str| parse(format!("{GOOD}{l}\n").as_bytes());
        let e = |l: &str| errors(&format!("{GOOD}{l}\n"));
        assert_eq!(t("# timeout: 1h 30s").fields.timeout, Some(3630));
        assert_eq!(
            e("# timeout: 0"),
            vec!["line 6: timeout \"0\": expected 1 to 86400 seconds, got 0"]
        );
        assert_eq!(
            e("# timeout: 86401"),
            vec!["line 6: timeout \"86401\": expected 1 to 86400 seconds, got 86401"]
        );
        assert_eq!(
            e("# timeout: 1.5"),
            vec!["line 6: timeout \"1.5\": expected whole seconds"]
        );
        assert_eq!(t("# timeout: soon").errors.len(), 1);
        assert!(
            e("# timeout: soon")[0].starts_with("line 6: timeout \"soon\": expected a time span")
        );
        assert_eq!(t("# timeout: soon").fields.timeout, None);
    }

    #[test]
    fn non_utf8_value() {
        let mut s = GOOD.replace("# name: Dummy Service\n", "").into_bytes();
        s.extend_from_slice(b"# name: caf\xe9 check\n");
        assert_eq!(
            parse(&s).errors[0].to_string(),
            ["line 5: name \"caf\u{fffd} check\": expected valid UTF-8"][0]
        );
        // Non-UTF-8 in an ordinary comment is fine.
        let mut s = GOOD.as_bytes().to_vec();
        s.extend_from_slice(b"# caf\xe9\n");
        assert!(parse(&s).errors.is_empty());
    }

    #[test]
    fn only_first_64k_read_and_cut_line_ignored() {
        let mut s = String::from("#!/bin/bash\n# name: abc\n# description: d\n# version: 1\n");
        while s.len() < MAX_HEADER_BYTES - 20 {
            s.push_str("# padding padding padding\n");
        }
        // This key line straddles the limit.
        s.push_str("# schedule: daily and more padding to cross the limit\n");
        assert!(s.len() > MAX_HEADER_BYTES);
        assert_eq!(
            errors(&s),
            vec!["missing \"# schedule:\" line in the header"]
        );
    }

    #[test]
    fn strip_comment() {
        assert_eq!(strip_trailing_comment("*:0/5  # x"), "*:0/5");
        assert_eq!(strip_trailing_comment("*:0/5#x"), "*:0/5#x");
        assert_eq!(strip_trailing_comment("daily"), "daily");
        assert_eq!(strip_trailing_comment("# x"), "");
    }
}

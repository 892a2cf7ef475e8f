//! Performance data of Monitoring Plugins (the numbers after `|` in a
//! plugin's output), as the Monitoring Plugins development guidelines
//! define them, converted to base units: what `/metrics`, the dashboard's
//! charts and `ssi-status` show of a `# output: nagios` check.
//!
//! A plugin check's run writes its status line and then, when the plugin
//! gave performance data, one line `perfdata: <items joined by spaces>`
//! directly after it ([`PREFIX`]); that line is no status line, so every
//! reader of statuses passes over it. The readers here take it back
//! ([`crate::logfile::LastStatus::perfdata`] for the latest run,
//! [`crate::history::Entry::perfdata`] for each history entry).
//!
//! ```text
//! perfdata = item *( 1*space item )
//! item     = label "=" value uom [ ";" [warn] [ ";" [crit] [ ";" [min] [ ";" [max] ] ] ] ] *";"
//! label    = "'" 1*( any but "'" / "''" ) "'"          ('' is one quote; spaces and = allowed)
//!          / 1*( any but "=", "'", space )
//! value    = number / "U"                              (U: the plugin could not tell)
//! uom      = "" / "s" / "ms" / "us" / "%" / "B" / "KB" / "MB" / "GB" / "TB" / "c"
//! warn     = range ; crit = range ; min = number ; max = number
//! range    = [ "@" ] ( number / [ number / "~" ] ":" [ number ] )
//! number   = [ "+" / "-" ] ( 1*digit [ "." *digit ] / "." 1*digit ) [ ( "e" / "E" ) [ "+" / "-" ] 1*digit ]
//! ```
//!
//! Values, thresholds and bounds are converted to base units by the UOM:
//! seconds (`s`, `ms`, `us`), bytes (`B`, `KB` … `TB`, in powers of 1024
//! as `check_disk` and `check_swap` compute them), ratios (`%` / 100) and
//! plain numbers (no UOM); `c` is a counter the plugin keeps, shown as a
//! gauge of its current value.
//!
//! Malformed data never costs the status: a bad item is left out with a
//! problem naming it ([`Perfdata::problems`]), the good ones around it are
//! kept, and the status line counts as it always did. At most
//! [`MAX_LABELS`] labels of a run are kept (in the plugin's order); the rest
//! are counted in [`Perfdata::ignored`] with one problem saying so.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit0, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};
use serde::ser::SerializeStruct;
use serde::Serialize;

/// What starts the line that carries a run's performance data in a log.
pub const PREFIX: &str = "perfdata: ";
/// The most labels of one run that are kept: with a value, two
/// thresholds and two bounds, at most 5 × 32 series per check on
/// `/metrics`.
pub const MAX_LABELS: usize = 32;
/// The longest label kept, in bytes.
pub const MAX_LABEL: usize = 200;
/// The most problems kept per run (the count of items left out is exact).
const MAX_PROBLEMS: usize = 4;

/// What a value measures, after conversion to base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// No UOM: a plain number.
    Number,
    /// `s`, `ms`, `us`.
    Seconds,
    /// `B`, `KB`, `MB`, `GB`, `TB`.
    Bytes,
    /// `%`, divided by 100.
    Ratio,
    /// `c`: a counter the plugin keeps, shown as its current value.
    Counter,
}

impl Unit {
    /// The name `/metrics` and JSON give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Number => "number",
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::Ratio => "ratio",
            Unit::Counter => "counter",
        }
    }

    /// The unit and factor to base units of a UOM, `None` for one the
    /// guidelines do not define.
    fn of_uom(uom: &str) -> Option<(Unit, f64)> {
        const K: f64 = 1024.0;
        Some(match uom {
            "" => (Unit::Number, 1.0),
            "s" => (Unit::Seconds, 1.0),
            "ms" => (Unit::Seconds, 1e-3),
            "us" => (Unit::Seconds, 1e-6),
            "%" => (Unit::Ratio, 0.01),
            "B" => (Unit::Bytes, 1.0),
            "KB" | "kB" => (Unit::Bytes, K),
            "MB" => (Unit::Bytes, K * K),
            "GB" => (Unit::Bytes, K * K * K),
            "TB" => (Unit::Bytes, K * K * K * K),
            "c" => (Unit::Counter, 1.0),
            _ => return None,
        })
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A threshold: the plugin alerts when the value is outside `start..=end`
/// (inside, with `@`). Infinite ends are open (`~:5`, `10:`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The lower end; `-inf` for `~`.
    pub start: f64,
    /// The upper end; `+inf` when not given (`10:`).
    pub end: f64,
    /// `@`: alert when the value is inside the range.
    pub inside: bool,
}

impl Range {
    /// The one number a gauge shows of this threshold: the upper end when
    /// it is finite, else the lower end (`10:` shows 10), `None` for
    /// `~:` (no bound at all).
    pub fn gauge(&self) -> Option<f64> {
        if self.end.is_finite() {
            Some(self.end)
        } else if self.start.is_finite() {
            Some(self.start)
        } else {
            None
        }
    }

    fn scaled(self, k: f64) -> Range {
        Range {
            start: self.start * k,
            end: self.end * k,
            inside: self.inside,
        }
    }
}

/// One label of a run, in base units.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The label as the plugin named it (quotes removed).
    pub label: String,
    /// The value; `None` for `U` (the plugin could not tell).
    pub value: Option<f64>,
    /// What it measures.
    pub unit: Unit,
    /// Warning threshold.
    pub warning: Option<Range>,
    /// Critical threshold.
    pub critical: Option<Range>,
    /// Lowest possible value.
    pub min: Option<f64>,
    /// Highest possible value.
    pub max: Option<f64>,
}

/// The performance data of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Perfdata {
    /// The labels kept, in the plugin's order, each once.
    pub metrics: Vec<Metric>,
    /// Items left out: malformed, a label given twice, or beyond
    /// [`MAX_LABELS`].
    pub ignored: usize,
    /// Why, for the first few of them (each naming the item and what was
    /// expected).
    pub problems: Vec<String>,
}

impl Perfdata {
    /// Parses a run's performance data (the text after `|`, or after
    /// [`PREFIX`] in a log). Never fails: see [`Perfdata::problems`].
    pub fn parse(text: &str) -> Perfdata {
        let mut pd = Perfdata::default();
        let mut beyond = 0usize;
        for (col, token) in tokens(text) {
            if pd.metrics.len() >= MAX_LABELS {
                beyond += 1;
                continue;
            }
            match item(token) {
                Ok(m) if pd.metrics.iter().any(|o| o.label == m.label) => {
                    pd.problem(format!(
                        "performance data {token:?} at column {col}: label {:?} given twice, the first kept",
                        m.label
                    ));
                }
                Ok(m) => pd.metrics.push(m),
                Err(e) => pd.problem(format!(
                    "performance data {token:?} at column {col}: {}",
                    e.describe()
                )),
            }
        }
        if beyond > 0 {
            pd.ignored += beyond;
            let why = format!(
                "performance data: more than {MAX_LABELS} labels, the {beyond} after the first {MAX_LABELS} left out"
            );
            if pd.problems.len() < MAX_PROBLEMS {
                pd.problems.push(why);
            }
        }
        pd
    }

    /// The performance data of a log line, when it is a `perfdata:` line.
    pub fn of_line(line: &[u8]) -> Option<Perfdata> {
        let rest = line.strip_prefix(PREFIX.as_bytes())?;
        Some(Perfdata::parse(&String::from_utf8_lossy(rest)))
    }

    /// Whether the run gave nothing to show or to report.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.ignored == 0
    }

    fn problem(&mut self, why: String) {
        self.ignored += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(why);
        }
    }
}

/// Which `perfdata:` line is a status line's, for a reader going through a
/// log backwards: the line directly after it, when that is a `perfdata:`
/// line (the one rule of the library's backward readers, the last status
/// and the history).
#[derive(Debug, Default)]
pub struct Following(Option<String>);

impl Following {
    /// A line that is not a status line was read (invalid UTF-8 replaced):
    /// it is the line after whatever line is read next.
    pub fn passed(&mut self, raw: &[u8]) {
        self.0 = raw
            .strip_prefix(PREFIX.as_bytes())
            .map(|rest| String::from_utf8_lossy(rest).into_owned());
    }

    /// A status line was read: the text of its run's performance data
    /// (after `perfdata: `), if the line after it carried any.
    pub fn take(&mut self) -> Option<String> {
        self.0.take()
    }
}

/// The items of `text` and the column (1-based, in characters) each
/// starts at: runs of non-space, where a quoted label may hold spaces.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut consumed = 0usize;
    std::iter::from_fn(move || {
        let trimmed = rest.trim_start();
        consumed += rest.len() - trimmed.len();
        rest = trimmed;
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if c == '\'' {
                quoted = !quoted;
            } else if c.is_whitespace() && !quoted {
                end = i;
                break;
            }
        }
        let token = &rest[..end];
        let col = text[..consumed].chars().count() + 1;
        consumed += end;
        rest = &rest[end..];
        Some((col, token))
    })
}

/// Why an item is malformed: what was expected, and the input left where
/// it was expected.
#[derive(Debug)]
struct Malformed<'a> {
    expected: &'static str,
    at: &'a str,
    item: &'a str,
}

impl Malformed<'_> {
    fn describe(&self) -> String {
        let col = self.item[..self.item.len() - self.at.len()].chars().count() + 1;
        if self.at.is_empty() {
            format!("expected {} at its end", self.expected)
        } else {
            format!(
                "expected {} at {:?} (character {col})",
                self.expected, self.at
            )
        }
    }
}

/// One item, whole (the grammar's `item`).
fn item(input: &str) -> Result<Metric, Malformed<'_>> {
    let fail = |expected, at| Malformed {
        expected,
        at,
        item: input,
    };
    let (rest, label) = label(input)
        .map_err(|_| fail("a label (quoted with ' when it holds spaces or =)", input))?;
    if label.len() > MAX_LABEL {
        return Err(fail("a label of at most 200 bytes", input));
    }
    let (rest, _) = char::<_, nom::error::Error<&str>>('=')
        .parse(rest)
        .map_err(|_| fail("\"=\" after the label", rest))?;
    let (after_value, value) = alt((
        number.map(Some),
        char::<_, nom::error::Error<&str>>('U').map(|_| None),
    ))
    .parse(rest)
    .map_err(|_| fail("a number or U", rest))?;
    let (after_uom, uom) = uom(after_value).map_err(|_| fail("a unit", after_value))?;
    let Some((unit, k)) = Unit::of_uom(uom) else {
        return Err(fail(
            "a unit of none, s, ms, us, %, B, KB, MB, GB, TB or c",
            after_value,
        ));
    };
    let mut m = Metric {
        label,
        value: value.map(|v| v * k),
        unit,
        warning: None,
        critical: None,
        min: None,
        max: None,
    };
    let mut rest = after_uom;
    // The four optional fields, each after its ";".
    for field in 0..4 {
        let Some(r) = rest.strip_prefix(';') else {
            break;
        };
        rest = r;
        if rest.is_empty() || rest.starts_with(';') {
            continue;
        }
        if field < 2 {
            let (r, t) = range(rest).map_err(|_| {
                fail(
                    "a threshold (N, N:, ~:N, N:M, or any of them after @)",
                    rest,
                )
            })?;
            if t.start > t.end {
                return Err(fail("a threshold whose start is not above its end", rest));
            }
            let t = Some(t.scaled(k));
            if field == 0 {
                m.warning = t;
            } else {
                m.critical = t;
            }
            rest = r;
        } else {
            let (r, n) = number(rest).map_err(|_| fail("a number", rest))?;
            if field == 2 {
                m.min = Some(n * k);
            } else {
                m.max = Some(n * k);
            }
            rest = r;
        }
    }
    // Some plugins end with empty fields to spare (`;;;;;`).
    let rest = rest.trim_start_matches(';');
    if !rest.is_empty() {
        return Err(fail("\";\" or the end of the item", rest));
    }
    Ok(m)
}

/// `label`: quoted (with `''` for a quote) or bare.
fn label(input: &str) -> IResult<&str, String> {
    alt((quoted_label, bare_label)).parse(input)
}

fn quoted_label(input: &str) -> IResult<&str, String> {
    let (mut rest, _) = char('\'').parse(input)?;
    let mut out = String::new();
    loop {
        let (r, part) = take_while(|c| c != '\'').parse(rest)?;
        out.push_str(part);
        let (r, _) = char('\'').parse(r)?;
        match r.strip_prefix('\'') {
            Some(r) => {
                out.push('\'');
                rest = r;
            }
            None if out.is_empty() => {
                return Err(nom::Err::Error(nom::error::Error::new(
                    input,
                    nom::error::ErrorKind::Verify,
                )))
            }
            None => return Ok((r, out)),
        }
    }
}

fn bare_label(input: &str) -> IResult<&str, String> {
    take_while1(|c: char| c != '=' && c != '\'' && !c.is_whitespace())
        .map(str::to_owned)
        .parse(input)
}

/// `uom`: the letters (and `%`) after the value.
fn uom(input: &str) -> IResult<&str, &str> {
    take_while(|c: char| c.is_ascii_alphabetic() || c == '%').parse(input)
}

/// `number`, as an `f64`.
fn number(input: &str) -> IResult<&str, f64> {
    let mantissa = alt((
        recognize(pair(digit1, opt(pair(char('.'), digit0)))),
        recognize(pair(char('.'), digit1)),
    ));
    let exponent = recognize((one_of("eE"), opt(one_of("+-")), digit1));
    let (rest, _) = (opt(one_of("+-")), mantissa, opt(exponent)).parse(input)?;
    // Measured by length: nom's `recognize` around optional parts that
    // match nothing at the end of the input gave a short slice.
    let text = &input[..input.len() - rest.len()];
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((rest, v)),
        _ => Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Float,
        ))),
    }
}

/// `range`.
fn range(input: &str) -> IResult<&str, Range> {
    let (rest, inside) = opt(char('@')).parse(input)?;
    let start = alt((number, tag("~").map(|_| f64::NEG_INFINITY)));
    let (rest, (start, colon_end)) = alt((
        pair(opt(start), preceded(char(':'), opt(number)).map(Some)),
        number.map(|n| (Some(n), None)),
    ))
    .parse(rest)?;
    let r = match colon_end {
        // `N`: 0..N.
        None => Range {
            start: 0.0,
            end: start.unwrap_or(f64::INFINITY),
            inside: inside.is_some(),
        },
        // `[start]:[end]`: an empty start is 0, an empty end infinity.
        Some(end) => Range {
            start: start.unwrap_or(0.0),
            end: end.unwrap_or(f64::INFINITY),
            inside: inside.is_some(),
        },
    };
    Ok((rest, r))
}

impl Metric {
    /// `/ = 11.8 GiB (warning 19.5 GiB, critical 29.3 GiB, max 39.1 GiB)`:
    /// the label, its value for people and what the plugin gave around it.
    pub fn describe(&self) -> String {
        let mut s = format!("{} = {}", self.label, self.human_value());
        let mut around = Vec::new();
        let range = |r: &Range| {
            let end = |v: f64| {
                if v.is_finite() {
                    human(v, self.unit)
                } else {
                    String::new()
                }
            };
            let at = if r.inside { "@" } else { "" };
            if r.start == 0.0 && !r.inside {
                format!("{at}{}", end(r.end))
            } else if r.start.is_infinite() {
                format!("{at}~:{}", end(r.end))
            } else {
                format!("{at}{}:{}", end(r.start), end(r.end))
            }
        };
        if let Some(r) = &self.warning {
            around.push(format!("warning {}", range(r)));
        }
        if let Some(r) = &self.critical {
            around.push(format!("critical {}", range(r)));
        }
        if let Some(v) = self.min {
            around.push(format!("min {}", human(v, self.unit)));
        }
        if let Some(v) = self.max {
            around.push(format!("max {}", human(v, self.unit)));
        }
        if !around.is_empty() {
            s.push_str(&format!(" ({})", around.join(", ")));
        }
        s
    }

    /// The value for people: `11.8 GiB`, `250 ms`, `9%`, `0.5`, or `U`.
    pub fn human_value(&self) -> String {
        self.value
            .map_or_else(|| "U".to_owned(), |v| human(v, self.unit))
    }
}

/// `v` (in base units) for people: bytes in IEC units, seconds from
/// microseconds up, ratios as percent, numbers as they are.
pub fn human(v: f64, unit: Unit) -> String {
    let short = |x: f64| {
        let t = format!("{:.1}", x);
        t.strip_suffix(".0").map(str::to_owned).unwrap_or(t)
    };
    match unit {
        Unit::Bytes => {
            const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
            let (mut x, mut i) = (v, 0);
            while x.abs() >= 1024.0 && i + 1 < UNITS.len() {
                x /= 1024.0;
                i += 1;
            }
            format!("{} {}", short(x), UNITS[i])
        }
        Unit::Seconds if v != 0.0 && v.abs() < 1e-3 => format!("{} µs", short(v * 1e6)),
        Unit::Seconds if v != 0.0 && v.abs() < 1.0 => format!("{} ms", short(v * 1e3)),
        Unit::Seconds => format!("{} s", short(v)),
        Unit::Ratio => format!("{}%", short(v * 100.0)),
        Unit::Number | Unit::Counter => format!("{v}"),
    }
}

/// `-inf`/`+inf` as JSON `null`.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// `{"start": n or null, "end": n or null, "inside": bool}`, open ends
/// as `null`.
impl Serialize for Range {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Range", 3)?;
        o.serialize_field("start", &finite(self.start))?;
        o.serialize_field("end", &finite(self.end))?;
        o.serialize_field("inside", &self.inside)?;
        o.end()
    }
}

/// `{"label", "value" (null for U), "unit", "warning", "critical", "min",
/// "max"}`, the absent ones `null`.
impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Metric", 7)?;
        o.serialize_field("label", &self.label)?;
        o.serialize_field("value", &self.value)?;
        o.serialize_field("unit", self.unit.as_str())?;
        o.serialize_field("warning", &self.warning)?;
        o.serialize_field("critical", &self.critical)?;
        o.serialize_field("min", &self.min)?;
        o.serialize_field("max", &self.max)?;
        o.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(text: &str) -> Metric {
        let pd = Perfdata::parse(text);
        assert!(pd.problems.is_empty(), "{text}: {:?}", pd.problems);
        assert_eq!(pd.metrics.len(), 1, "{text}");
        pd.metrics.into_iter().next().unwrap()
    }

    fn problem(text: &str) -> String {
        let pd = Perfdata::parse(text);
        assert!(pd.metrics.is_empty(), "{text}: {:?}", pd.metrics);
        assert_eq!(pd.ignored, 1, "{text}");
        pd.problems.into_iter().next().unwrap()
    }

    #[test]
    fn check_disk_output() {
        let pd = Perfdata::parse("'/'=12345MB;20000;30000;0;40000 '/boot'=100MB;;;0;500");
        assert_eq!(pd.metrics.len(), 2);
        let root = &pd.metrics[0];
        assert_eq!(root.label, "/");
        assert_eq!(root.unit, Unit::Bytes);
        assert_eq!(root.value, Some(12345.0 * 1048576.0));
        let w = root.warning.unwrap();
        assert_eq!(
            (w.start, w.end, w.inside),
            (0.0, 20000.0 * 1048576.0, false)
        );
        assert_eq!(root.critical.unwrap().gauge(), Some(30000.0 * 1048576.0));
        assert_eq!(root.min, Some(0.0));
        assert_eq!(root.max, Some(40000.0 * 1048576.0));
        assert_eq!(pd.metrics[1].warning, None);
        assert_eq!(pd.metrics[1].max, Some(500.0 * 1048576.0));
    }

    #[test]
    fn quoted_labels_hold_spaces_equals_and_quotes() {
        assert_eq!(one("'free space'=5").label, "free space");
        assert_eq!(one("'a=b'=5").label, "a=b");
        assert_eq!(one("'it''s'=5").label, "it's");
        assert_eq!(one("'x y'=5 ").label, "x y");
        let pd = Perfdata::parse("'a b'=1 c=2   'd''e f'=3");
        let labels: Vec<_> = pd.metrics.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["a b", "c", "d'e f"]);
    }

    #[test]
    fn every_uom_in_base_units() {
        let cases = [
            ("x=2", Unit::Number, 2.0),
            ("x=2s", Unit::Seconds, 2.0),
            ("x=250ms", Unit::Seconds, 0.25),
            ("x=500us", Unit::Seconds, 0.0005),
            ("x=50%", Unit::Ratio, 0.5),
            ("x=3B", Unit::Bytes, 3.0),
            ("x=2KB", Unit::Bytes, 2048.0),
            ("x=2kB", Unit::Bytes, 2048.0),
            ("x=1MB", Unit::Bytes, 1048576.0),
            ("x=1GB", Unit::Bytes, 1073741824.0),
            ("x=1TB", Unit::Bytes, 1099511627776.0),
            ("x=17c", Unit::Counter, 17.0),
        ];
        for (text, unit, value) in cases {
            let m = one(text);
            assert_eq!(m.unit, unit, "{text}");
            let got = m.value.unwrap();
            assert!((got - value).abs() <= value * 1e-12, "{text}: {got}");
        }
        // Fractions at the very end of the input (nom's recognize cut them).
        assert_eq!(one("a=0.25").value, Some(0.25));
        assert_eq!(one("a=1;;;0;2.5").max, Some(2.5));
        assert_eq!(one("a=1;1.5").warning.unwrap().end, 1.5);
        // Thresholds and bounds share the value's unit.
        let m = one("load=5%;80;90;0;100");
        assert_eq!(m.warning.unwrap().end, 0.8);
        assert_eq!(m.max, Some(1.0));
    }

    #[test]
    fn u_is_unknown_and_trailing_fields_may_be_missing() {
        let m = one("rta=U");
        assert_eq!((m.value, m.unit), (None, Unit::Number));
        let m = one("rta=Ums;100;200");
        assert_eq!((m.value, m.unit), (None, Unit::Seconds));
        assert_eq!(m.critical.unwrap().end, 0.2);
        for text in ["a=1", "a=1;", "a=1;;", "a=1;;;", "a=1;;;;", "a=1;;;;;;"] {
            let m = one(text);
            assert_eq!(
                (m.warning, m.critical, m.min, m.max),
                (None, None, None, None)
            );
        }
        let m = one("a=1;;;5");
        assert_eq!((m.min, m.max), (Some(5.0), None));
    }

    #[test]
    fn threshold_ranges() {
        let r = |t: &str| one(&format!("a=1;{t}")).warning.unwrap();
        assert_eq!(
            r("10"),
            Range {
                start: 0.0,
                end: 10.0,
                inside: false
            }
        );
        assert_eq!(
            r("10:"),
            Range {
                start: 10.0,
                end: f64::INFINITY,
                inside: false
            }
        );
        assert_eq!(
            r("~:5"),
            Range {
                start: f64::NEG_INFINITY,
                end: 5.0,
                inside: false
            }
        );
        assert_eq!(
            r("10:20"),
            Range {
                start: 10.0,
                end: 20.0,
                inside: false
            }
        );
        assert_eq!(
            r("@10:20"),
            Range {
                start: 10.0,
                end: 20.0,
                inside: true
            }
        );
        assert_eq!(
            r(":5"),
            Range {
                start: 0.0,
                end: 5.0,
                inside: false
            }
        );
        assert_eq!(
            r("-1.5e1:+2"),
            Range {
                start: -15.0,
                end: 2.0,
                inside: false
            }
        );
        assert_eq!(r("10:").gauge(), Some(10.0));
        assert_eq!(r("~:").gauge(), None);
        assert_eq!(r("10:20").gauge(), Some(20.0));
    }

    #[test]
    fn garbage_is_named_and_the_rest_kept() {
        assert_eq!(
            problem("load1=abc"),
            r#"performance data "load1=abc" at column 1: expected a number or U at "abc" (character 7)"#
        );
        let pd = Perfdata::parse("ok=1 'y'=3rpm z=2");
        assert_eq!(pd.metrics.len(), 2);
        assert_eq!(
            pd.problems,
            [
                r#"performance data "'y'=3rpm" at column 6: expected a unit of none, s, ms, us, %, B, KB, MB, GB, TB or c at "rpm" (character 6)"#
            ]
        );
        assert!(problem("=5").contains("expected a label"));
        assert!(problem("'unterminated=5").contains("expected a label"));
        assert!(problem("''=5").contains("expected a label"));
        assert!(problem("a").contains(r#"expected "=" after the label at its end"#));
        assert!(problem("a=").contains("expected a number or U at its end"));
        assert!(problem("a=1;x").contains("expected a threshold"));
        assert!(problem("a=1;20:10").contains("start is not above its end"));
        assert!(problem("a=1;;;zero").contains("expected a number at \"zero\""));
        assert!(problem("a=1;1;2;3;4;5").contains("expected \";\" or the end"));
        assert!(problem("a=0,5").contains(r#"expected ";" or the end of the item at ",5""#));
        assert!(problem("a=1e999").contains("expected a number or U"));
        let long = format!("{}=1", "l".repeat(MAX_LABEL + 1));
        assert!(problem(&long).contains("at most 200 bytes"));
    }

    #[test]
    fn a_label_twice_keeps_the_first() {
        let pd = Perfdata::parse("a=1 a=2");
        assert_eq!(pd.metrics.len(), 1);
        assert_eq!(pd.metrics[0].value, Some(1.0));
        assert_eq!(pd.ignored, 1);
        assert!(pd.problems[0].contains("given twice"), "{:?}", pd.problems);
    }

    #[test]
    fn labels_beyond_the_bound_are_counted() {
        let text: Vec<String> = (0..MAX_LABELS + 5).map(|i| format!("l{i}=1")).collect();
        let pd = Perfdata::parse(&text.join(" "));
        assert_eq!(pd.metrics.len(), MAX_LABELS);
        assert_eq!(
            pd.metrics[MAX_LABELS - 1].label,
            format!("l{}", MAX_LABELS - 1)
        );
        assert_eq!(pd.ignored, 5);
        assert_eq!(
            pd.problems,
            ["performance data: more than 32 labels, the 5 after the first 32 left out"]
        );
    }

    #[test]
    fn following_is_the_perfdata_line_directly_after() {
        // Read backwards: the perfdata line, then the status line before it.
        let mut f = Following::default();
        f.passed(b"perfdata: load1=0.5");
        assert_eq!(f.take().as_deref(), Some("load1=0.5"));
        assert_eq!(f.take(), None, "taken once");
        // Another line between: not this run's.
        f.passed(b"perfdata: load1=0.5");
        f.passed(b"+ some output");
        assert_eq!(f.take(), None);
        f.passed(b"perfdata: x=\xff");
        assert_eq!(f.take().as_deref(), Some("x=\u{fffd}"));
    }

    #[test]
    fn of_line_takes_only_perfdata_lines() {
        assert!(Perfdata::of_line(b"2026-12-05 10:00:00, OK, fine").is_none());
        let pd = Perfdata::of_line(b"perfdata: '/'=1MB load1=0.5").unwrap();
        assert_eq!(pd.metrics.len(), 2);
        assert!(Perfdata::of_line(b"perfdata: ").unwrap().is_empty());
    }

    #[test]
    fn described_for_people() {
        let pd = Perfdata::parse(
            "'/'=12345MB;20000;30000;0;40000 load1=0.5;1:;@2:3 rta=0.25ms;~:100 x=U pct=9%",
        );
        let got: Vec<String> = pd.metrics.iter().map(Metric::describe).collect();
        assert_eq!(
            got,
            [
                "/ = 12.1 GiB (warning 19.5 GiB, critical 29.3 GiB, min 0 B, max 39.1 GiB)",
                "load1 = 0.5 (warning 1:, critical @2:3)",
                "rta = 250 µs (warning ~:100 ms)",
                "x = U",
                "pct = 9%",
            ]
        );
    }

    #[test]
    fn json_shape() {
        let m = one("'/'=1B;10:;~:5;0");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"label":"/","value":1.0,"unit":"bytes","warning":{"start":10.0,"end":null,"inside":false},"critical":{"start":null,"end":5.0,"inside":false},"min":0.0,"max":null}"#
        );
    }

    fn arb_number() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
            (-1e6f64..1e6).prop_map(|f| (f * 1000.0).round() / 1000.0),
        ]
    }

    fn arb_label() -> impl Strategy<Value = String> {
        "[^'\\x00]{1,30}".prop_filter("not blank", |s| !s.trim().is_empty())
    }

    proptest! {
        /// Whatever the input, parsing returns: kept and left-out items
        /// together never exceed the items given.
        #[test]
        fn garbage_never_panics(text in "\\PC{0,200}") {
            let pd = Perfdata::parse(&text);
            prop_assert!(pd.metrics.len() <= MAX_LABELS);
            prop_assert!(pd.problems.len() <= MAX_PROBLEMS + 1);
            prop_assert_eq!(pd.metrics.len() + pd.ignored, tokens(&text).count());
        }

        /// Garbage around a good item never costs the good item.
        #[test]
        fn good_items_survive_garbage(before in "[a-z=;:@~]{1,12}", after in "[a-z=;:@~]{1,12}", v in arb_number()) {
            let text = format!("{before} 'the value'={v}ms;1;2;0 {after}");
            let pd = Perfdata::parse(&text);
            let m = pd.metrics.iter().find(|m| m.label == "the value").unwrap();
            prop_assert_eq!(m.unit, Unit::Seconds);
            prop_assert!((m.value.unwrap() - v / 1000.0).abs() <= 1e-9 * v.abs().max(1.0));
        }

        /// Any label, quoted with its quotes doubled, reads back as it was.
        #[test]
        fn quoted_labels_round_trip(label in arb_label(), quotes in 0usize..3, v in arb_number(), w in arb_number()) {
            let label = format!("{label}{}", "'".repeat(quotes));
            let text = format!("'{}'={v};{w}:", label.replace('\'', "''"));
            let pd = Perfdata::parse(&text);
            prop_assert_eq!(pd.problems.len(), 0, "{:?}", pd.problems);
            prop_assert_eq!(&pd.metrics[0].label, &label);
            prop_assert_eq!(pd.metrics[0].value, Some(v));
            prop_assert_eq!(pd.metrics[0].warning.unwrap().start, w);
        }
    }
}

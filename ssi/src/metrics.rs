//! The Prometheus metrics of a set of checks: one renderer for the
//! broadcaster's `GET /metrics` and for `ssi-status list --prometheus` (the
//! node_exporter textfile), so both say the same lines for the same state.
//!
//! Formats: the Prometheus text exposition format 0.0.4 and OpenMetrics
//! 1.0 ([`Format`]; [`Format::negotiate`] picks one from an `Accept`
//! header). Families, in this order:
//!
//! | family | labels | value |
//! | --- | --- | --- |
//! | `ssi_build_info` | `version` | 1 |
//! | `ssi_broadcaster_clients` | | WebSocket clients now (broadcaster only) |
//! | `ssi_check_acknowledged` | `id` | 1 when its problem is acknowledged (`ssi-status ack`) |
//! | `ssi_check_in_maintenance` | `id` | 1 in a maintenance window (its manifest's, or `silence --all --until`) |
//! | `ssi_check_info` | `id`, `name`, `schedule`, `version` | 1, valid scripts only |
//! | `ssi_check_last_status_timestamp_seconds` | `id` | Unix time of the last status line; absent before the first |
//! | `ssi_check_late` | `id` | 1 when late ([`crate::late::is_late`]) |
//! | `ssi_check_perfdata` | `id`, `label`, `unit` | each performance-data label of the last run, in base units (`NaN` for `U`) |
//! | `ssi_check_perfdata_critical` | `id`, `label`, `unit` | its critical threshold ([`crate::perfdata::Range::gauge`]), where given |
//! | `ssi_check_perfdata_ignored` | `id` | performance-data items of the last run left out (malformed, repeated, beyond [`crate::perfdata::MAX_LABELS`]); checks with performance data only |
//! | `ssi_check_perfdata_max` | `id`, `label`, `unit` | its highest possible value, where given |
//! | `ssi_check_perfdata_min` | `id`, `label`, `unit` | its lowest possible value, where given |
//! | `ssi_check_perfdata_warning` | `id`, `label`, `unit` | its warning threshold, where given |
//! | `ssi_check_schedule_interval_seconds` | `id` | the schedule's gap between two runs after the last status line |
//! | `ssi_check_silenced` | `id` | 1 when silenced (`ssi-status silence`) |
//! | `ssi_check_status` | `id`, `status` | 1 for the current status, 0 for the five others; all 0 before the first line |
//! | `ssi_check_status_lines_total` | `id` | status lines seen since start (broadcaster only) |
//! | `ssi_check_valid` | `id` | 1 valid, 0 refused |
//! | `ssi_scripts_without_id` | | scripts refused whose file name makes no id |
//!
//! Every series of a check carries its service id; a script whose file name
//! makes no id has no label to carry, so it is only counted, in
//! `ssi_scripts_without_id`. Two scripts with one id (both refused) are
//! one `id`. Series are sorted by their labels, so equal states render to
//! equal bytes, except the performance data's, which keep the plugin's
//! order of labels within a check. A check has at most
//! [`crate::perfdata::MAX_LABELS`] labels, so at most 5 × 32 performance
//! series; the labels past the bound are left out and counted in
//! `ssi_check_perfdata_ignored`.

use std::fmt::Write as _;
use std::sync::Arc;

use jiff::Timestamp;

use crate::perfdata::{Metric, Perfdata};
use crate::status::Status;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4 (also node_exporter's textfile format).
    Text,
    /// OpenMetrics 1.0.0 text.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an `Accept` header prefers: OpenMetrics when it accepts
    /// `application/openmetrics-text` (version 1.0.0 or unspecified) at
    /// least as much as text, else text (also without a header).
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let (mut om, mut text) = (0.0f32, 0.0f32);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let (mut q, mut version) = (1.0f32, None);
            for p in parts {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.parse().unwrap_or(0.0),
                    "version" => version = Some(v.to_owned()),
                    _ => {}
                }
            }
            match media.as_str() {
                "application/openmetrics-text"
                    if version.as_deref().map_or(true, |v| v == "1.0.0") =>
                {
                    om = om.max(q)
                }
                "text/plain" if version.as_deref().map_or(true, |v| v == "0.0.4") => {
                    text = text.max(q)
                }
                "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if om > 0.0 && om >= text {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// The manifest values `ssi_check_info` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInfo {
    /// `name:`
    pub name: String,
    /// `version:`
    pub version: String,
    /// `schedule:` as written.
    pub schedule: String,
}

/// One check (a script with an id) as the metrics show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Service id.
    pub id: String,
    /// Passes every rule.
    pub valid: bool,
    /// Manifest values, for a valid script.
    pub info: Option<CheckInfo>,
    /// Last status, `None` before the first status line.
    pub status: Option<Status>,
    /// That line's time.
    pub last_status: Option<Timestamp>,
    /// Late by [`crate::late::is_late`].
    pub late: bool,
    /// Seconds between two runs of its schedule after the last status line
    /// (see [`crate::late::schedule_interval`]).
    pub interval_secs: Option<u64>,
    /// Status lines seen since the broadcaster started (broadcaster only).
    pub status_lines: Option<u64>,
    /// Silenced, acknowledged, in maintenance ([`crate::quiet`]).
    pub quiet: QuietFlags,
    /// The performance data of the last run, when it gave any (shared: a
    /// scrape copies no label).
    pub perfdata: Option<Arc<Perfdata>>,
}

/// The three quiet gauges of one check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuietFlags {
    /// `ssi_check_silenced`.
    pub silenced: bool,
    /// `ssi_check_acknowledged`.
    pub acknowledged: bool,
    /// `ssi_check_in_maintenance`.
    pub in_maintenance: bool,
}

impl From<&crate::quiet::Quiet> for QuietFlags {
    fn from(q: &crate::quiet::Quiet) -> QuietFlags {
        QuietFlags {
            silenced: q.silenced.is_some(),
            acknowledged: q.acknowledged.is_some(),
            in_maintenance: q.maintenance.is_some(),
        }
    }
}

/// What only the broadcaster knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broadcaster {
    /// WebSocket clients connected now.
    pub clients: u64,
}

/// Everything one scrape shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The checks, in any order.
    pub checks: Vec<Check>,
    /// Scripts whose file name makes no service id.
    pub without_id: u64,
    /// The broadcaster's own families, when it renders them.
    pub broadcaster: Option<Broadcaster>,
}

/// Status label values in label order (sorted as text).
const STATUSES_BY_NAME: [Status; 6] = [
    Status::Error,
    Status::Failure,
    Status::Ok,
    Status::Unknown,
    Status::Update,
    Status::Warning,
];

/// The kind of a family, which OpenMetrics and text name differently.
#[derive(Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
    Info,
}

/// Renders `snapshot` in `format`.
pub fn render(snapshot: &Snapshot, format: Format) -> String {
    // One entry per id, sorted; colliding ids count as one, valid only if
    // every one of them is (they never are: a collision refuses both).
    let mut checks: Vec<&Check> = snapshot.checks.iter().collect();
    checks.sort_by(|a, b| a.id.cmp(&b.id));
    let mut merged: Vec<(&Check, bool)> = Vec::with_capacity(checks.len());
    for c in checks {
        match merged.last_mut() {
            Some((prev, valid)) if prev.id == c.id => *valid &= c.valid,
            _ => merged.push((c, c.valid)),
        }
    }

    let mut w = Writer {
        out: String::with_capacity(256 + merged.len() * 900),
        format,
    };
    w.family(
        "ssi_build",
        Kind::Info,
        "",
        "The ssi version that renders these metrics.",
    );
    w.out.push_str("ssi_build_info{version=\"");
    escape_into(&mut w.out, env!("CARGO_PKG_VERSION"));
    w.out.push_str("\"} 1\n");

    if let Some(b) = snapshot.broadcaster {
        w.family(
            "ssi_broadcaster_clients",
            Kind::Gauge,
            "",
            "WebSocket clients connected to ssi-broadcaster.",
        );
        let _ = writeln!(w.out, "ssi_broadcaster_clients {}", b.clients);
    }

    w.flag_family(
        "ssi_check_acknowledged",
        "1 when the check's current problem is acknowledged (ssi-status ack): not told again until it changes.",
        &merged,
        |c, _| c.quiet.acknowledged,
    );
    w.flag_family(
        "ssi_check_in_maintenance",
        "1 while the check is in a maintenance window: nothing about it is told.",
        &merged,
        |c, _| c.quiet.in_maintenance,
    );

    w.family(
        "ssi_check",
        Kind::Info,
        "",
        "A valid check script's manifest: name, version and schedule as written.",
    );
    for (c, _) in &merged {
        if let Some(i) = &c.info {
            w.out.push_str("ssi_check_info{id=\"");
            escape_into(&mut w.out, &c.id);
            w.out.push_str("\",name=\"");
            escape_into(&mut w.out, &i.name);
            w.out.push_str("\",schedule=\"");
            escape_into(&mut w.out, &i.schedule);
            w.out.push_str("\",version=\"");
            escape_into(&mut w.out, &i.version);
            w.out.push_str("\"} 1\n");
        }
    }

    w.family(
        "ssi_check_last_status_timestamp_seconds",
        Kind::Gauge,
        "seconds",
        "Unix time of the check's last status line.",
    );
    for (c, _) in &merged {
        if let Some(t) = c.last_status {
            w.id_sample(
                "ssi_check_last_status_timestamp_seconds",
                &c.id,
                t.as_second(),
            );
        }
    }

    w.flag_family(
        "ssi_check_late",
        "1 when the check's timer fired, its time limit passed and no status line came.",
        &merged,
        |c, _| c.late,
    );

    perfdata_families(&mut w, &merged);

    w.family(
        "ssi_check_schedule_interval_seconds",
        Kind::Gauge,
        "seconds",
        "Seconds between two runs of the check's schedule after its last status line.",
    );
    for (c, _) in &merged {
        if let Some(s) = c.interval_secs {
            w.id_sample(
                "ssi_check_schedule_interval_seconds",
                &c.id,
                i64::try_from(s).unwrap_or(i64::MAX),
            );
        }
    }

    w.flag_family(
        "ssi_check_silenced",
        "1 when the check is silenced (ssi-status silence): nothing about it is told.",
        &merged,
        |c, _| c.quiet.silenced,
    );

    w.family(
        "ssi_check_status",
        Kind::Gauge,
        "",
        "1 for the check's current status, 0 for the others; all 0 before its first status line.",
    );
    for (c, _) in &merged {
        for s in STATUSES_BY_NAME {
            w.out.push_str("ssi_check_status{id=\"");
            escape_into(&mut w.out, &c.id);
            w.out.push_str("\",status=\"");
            w.out.push_str(s.as_str());
            w.out.push_str(if c.status == Some(s) {
                "\"} 1\n"
            } else {
                "\"} 0\n"
            });
        }
    }

    if snapshot.broadcaster.is_some() {
        w.family(
            "ssi_check_status_lines",
            Kind::Counter,
            "",
            "Status lines of the check seen since ssi-broadcaster started.",
        );
        for (c, _) in &merged {
            w.id_sample(
                "ssi_check_status_lines_total",
                &c.id,
                i64::try_from(c.status_lines.unwrap_or(0)).unwrap_or(i64::MAX),
            );
        }
    }

    w.flag_family(
        "ssi_check_valid",
        "1 when the check script passes every rule, 0 when it is refused (and does not run).",
        &merged,
        |_, valid| valid,
    );

    w.family(
        "ssi_scripts_without_id",
        Kind::Gauge,
        "",
        "Scripts refused because their file name makes no service id.",
    );
    let _ = writeln!(w.out, "ssi_scripts_without_id {}", snapshot.without_id);

    if format == Format::OpenMetrics {
        w.out.push_str("# EOF\n");
    }
    w.out
}

/// The `ssi_check_perfdata*` families of `checks`, when any has
/// performance data (no empty families where no plugin runs).
fn perfdata_families(w: &mut Writer, checks: &[(&Check, bool)]) {
    if checks.iter().all(|(c, _)| c.perfdata.is_none()) {
        return;
    }
    type Pick = fn(&Metric) -> Option<f64>;
    let families: [(&str, &str, Pick); 5] = [
        (
            "ssi_check_perfdata",
            "Each performance-data label of the check's last run, in base units (seconds, bytes, ratio, number, counter); NaN when the plugin said U.",
            |m| Some(m.value.unwrap_or(f64::NAN)),
        ),
        (
            "ssi_check_perfdata_critical",
            "The critical threshold of a performance-data label: its upper end, or its lower end when open above.",
            |m| m.critical.and_then(|r| r.gauge()),
        ),
        (
            "ssi_check_perfdata_max",
            "The highest possible value of a performance-data label.",
            |m| m.max,
        ),
        (
            "ssi_check_perfdata_min",
            "The lowest possible value of a performance-data label.",
            |m| m.min,
        ),
        (
            "ssi_check_perfdata_warning",
            "The warning threshold of a performance-data label: its upper end, or its lower end when open above.",
            |m| m.warning.and_then(|r| r.gauge()),
        ),
    ];
    for (i, (name, help, pick)) in families.into_iter().enumerate() {
        w.family(name, Kind::Gauge, "", help);
        for (c, _) in checks {
            for m in c.perfdata.iter().flat_map(|p| &p.metrics) {
                if let Some(v) = pick(m) {
                    w.out.push_str(name);
                    w.out.push_str("{id=\"");
                    escape_into(&mut w.out, &c.id);
                    w.out.push_str("\",label=\"");
                    escape_into(&mut w.out, &m.label);
                    w.out.push_str("\",unit=\"");
                    w.out.push_str(m.unit.as_str());
                    w.out.push_str("\"} ");
                    push_float(&mut w.out, v);
                    w.out.push('\n');
                }
            }
        }
        if i == 1 {
            // Alphabetical: `_ignored` sorts between `_critical` and `_max`.
            w.family(
                "ssi_check_perfdata_ignored",
                Kind::Gauge,
                "",
                "Performance-data items of the check's last run left out: malformed, a label repeated, or beyond 32 labels.",
            );
            for (c, _) in checks {
                if let Some(p) = &c.perfdata {
                    w.id_sample("ssi_check_perfdata_ignored", &c.id, p.ignored as i64);
                }
            }
        }
    }
}

/// A sample value as both formats read it: `NaN`, `+Inf`, `-Inf`, or the
/// shortest decimal that reads back as `v` (an exponent for very large or
/// small ones).
fn push_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v != 0.0 && (v.abs() >= 1e15 || v.abs() < 1e-6) {
        let _ = write!(out, "{v:e}");
    } else {
        let _ = write!(out, "{v}");
    }
}

struct Writer {
    out: String,
    format: Format,
}

impl Writer {
    /// `# HELP`, `# TYPE` (and in OpenMetrics `# UNIT`) of a family. `name`
    /// is the OpenMetrics family name: without `_total` for a counter and
    /// without `_info` for an info, which text format names with them.
    fn family(&mut self, name: &str, kind: Kind, unit: &str, help: &str) {
        let (name, kind) = match (self.format, kind) {
            (Format::OpenMetrics, Kind::Gauge) => (name.to_owned(), "gauge"),
            (Format::OpenMetrics, Kind::Counter) => (name.to_owned(), "counter"),
            (Format::OpenMetrics, Kind::Info) => (name.to_owned(), "info"),
            (Format::Text, Kind::Gauge) => (name.to_owned(), "gauge"),
            (Format::Text, Kind::Counter) => (format!("{name}_total"), "counter"),
            (Format::Text, Kind::Info) => (format!("{name}_info"), "gauge"),
        };
        // The help texts are ours: no backslash, quote or newline to escape.
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        if self.format == Format::OpenMetrics && !unit.is_empty() {
            let _ = writeln!(self.out, "# UNIT {name} {unit}");
        }
    }

    /// A 0/1 gauge family with one `name{id="…"}` sample per check:
    /// `flag` of the check and its merged validity.
    fn flag_family(
        &mut self,
        name: &str,
        help: &str,
        checks: &[(&Check, bool)],
        flag: fn(&Check, bool) -> bool,
    ) {
        self.family(name, Kind::Gauge, "", help);
        for &(c, valid) in checks {
            self.id_sample(name, &c.id, i64::from(flag(c, valid)));
        }
    }

    /// `name{id="…"} value`.
    fn id_sample(&mut self, name: &str, id: &str, value: i64) {
        self.out.push_str(name);
        self.out.push_str("{id=\"");
        escape_into(&mut self.out, id);
        let _ = writeln!(self.out, "\"}} {value}");
    }
}

/// A label value as both formats require: `\` → `\\`, `"` → `\"`, newline
/// → `\n`; everything else, UTF-8 included, as it is.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_into(&mut out, value);
    out
}

fn escape_into(out: &mut String, value: &str) {
    let mut rest = value;
    while let Some(i) = rest.find(['\\', '"', '\n']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, status: Option<Status>) -> Check {
        Check {
            id: id.into(),
            valid: true,
            info: Some(CheckInfo {
                name: format!("Check {id}"),
                version: "1".into(),
                schedule: "*:0/5".into(),
            }),
            status,
            last_status: status.map(|_| Timestamp::from_second(1_764_151_200).unwrap()),
            late: false,
            interval_secs: Some(300),
            quiet: QuietFlags::default(),
            status_lines: None,
            perfdata: None,
        }
    }

    #[test]
    fn perfdata_in_base_units_with_thresholds_and_bounds() {
        let mut c = check("root_fs", Some(Status::Warning));
        c.perfdata = Some(Arc::new(Perfdata::parse(
            "'/'=12345MB;20000;30000;0;40000 'say \"hi\"\\'=U;~:5 rpm=3rpm",
        )));
        let mut other = check("load", Some(Status::Ok));
        other.perfdata = Some(Arc::new(Perfdata::parse("load1=0.5;1:;2")));
        let text = render(
            &Snapshot {
                checks: vec![c, other, check("plain", Some(Status::Ok))],
                ..Snapshot::default()
            },
            Format::Text,
        );
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ssi_check_perfdata"))
            .collect();
        assert_eq!(
            lines,
            [
                r#"ssi_check_perfdata{id="load",label="load1",unit="number"} 0.5"#,
                r#"ssi_check_perfdata{id="root_fs",label="/",unit="bytes"} 12944670720"#,
                r#"ssi_check_perfdata{id="root_fs",label="say \"hi\"\\",unit="number"} NaN"#,
                r#"ssi_check_perfdata_critical{id="load",label="load1",unit="number"} 2"#,
                r#"ssi_check_perfdata_critical{id="root_fs",label="/",unit="bytes"} 31457280000"#,
                r#"ssi_check_perfdata_ignored{id="load"} 0"#,
                r#"ssi_check_perfdata_ignored{id="root_fs"} 1"#,
                r#"ssi_check_perfdata_max{id="root_fs",label="/",unit="bytes"} 41943040000"#,
                r#"ssi_check_perfdata_min{id="root_fs",label="/",unit="bytes"} 0"#,
                r#"ssi_check_perfdata_warning{id="load",label="load1",unit="number"} 1"#,
                r#"ssi_check_perfdata_warning{id="root_fs",label="/",unit="bytes"} 20971520000"#,
                r#"ssi_check_perfdata_warning{id="root_fs",label="say \"hi\"\\",unit="number"} 5"#,
            ]
        );
        assert!(text.contains("# TYPE ssi_check_perfdata gauge\n"));
        // No plugin, no families.
        let plain = render(
            &Snapshot {
                checks: vec![check("plain", Some(Status::Ok))],
                ..Snapshot::default()
            },
            Format::Text,
        );
        assert!(!plain.contains("perfdata"), "{plain}");
    }

    #[test]
    fn floats_render_as_prometheus_reads_them() {
        let f = |v: f64| {
            let mut s = String::new();
            push_float(&mut s, v);
            s
        };
        assert_eq!(f(0.5), "0.5");
        assert_eq!(f(-3.0), "-3");
        assert_eq!(f(1e300), "1e300");
        assert_eq!(f(2.5e-9), "2.5e-9");
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn escapes_exactly_backslash_quote_and_newline() {
        assert_eq!(escape_label_value("a\\b\"c\nd\té€"), "a\\\\b\\\"c\\nd\té€");
        assert_eq!(escape_label_value(""), "");
    }

    #[test]
    fn state_set_has_one_series_per_status_sorted() {
        let s = Snapshot {
            checks: vec![check("b", Some(Status::Failure)), check("a", None)],
            ..Snapshot::default()
        };
        let text = render(&s, Format::Text);
        let status: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ssi_check_status{"))
            .collect();
        assert_eq!(status.len(), 12);
        assert_eq!(status[0], r#"ssi_check_status{id="a",status="ERROR"} 0"#);
        assert!(status[..6].iter().all(|l| l.ends_with(" 0")), "{status:?}");
        assert_eq!(status[7], r#"ssi_check_status{id="b",status="FAILURE"} 1"#);
        assert_eq!(status.iter().filter(|l| l.ends_with(" 1")).count(), 1);
        // Absent before the first line, rather than a 1970 time stamp.
        assert!(!text.contains("ssi_check_last_status_timestamp_seconds{id=\"a\"}"));
        assert!(text.contains("ssi_check_last_status_timestamp_seconds{id=\"b\"} 1764151200\n"));
    }

    #[test]
    fn quiet_flags_are_one_gauge_each() {
        let mut a = check("a", Some(Status::Warning));
        a.quiet = QuietFlags {
            silenced: true,
            acknowledged: false,
            in_maintenance: true,
        };
        let mut b = check("b", Some(Status::Warning));
        b.quiet.acknowledged = true;
        let text = render(
            &Snapshot {
                checks: vec![b, a],
                ..Snapshot::default()
            },
            Format::Text,
        );
        for line in [
            "# TYPE ssi_check_acknowledged gauge\n",
            "ssi_check_acknowledged{id=\"a\"} 0\nssi_check_acknowledged{id=\"b\"} 1\n",
            "ssi_check_in_maintenance{id=\"a\"} 1\nssi_check_in_maintenance{id=\"b\"} 0\n",
            "ssi_check_silenced{id=\"a\"} 1\nssi_check_silenced{id=\"b\"} 0\n",
        ] {
            assert!(text.contains(line), "{line:?} not in {text}");
        }
    }

    #[test]
    fn colliding_ids_are_one_invalid_series() {
        let mut a = check("x", None);
        a.valid = false;
        a.info = None;
        let mut b = a.clone();
        b.valid = true;
        let text = render(
            &Snapshot {
                checks: vec![b, a],
                ..Snapshot::default()
            },
            Format::Text,
        );
        assert_eq!(text.matches("ssi_check_valid{").count(), 1);
        assert!(text.contains("ssi_check_valid{id=\"x\"} 0\n"));
    }

    #[test]
    fn openmetrics_names_counters_and_infos_by_family_and_ends_with_eof() {
        let mut c = check("a", Some(Status::Ok));
        c.status_lines = Some(3);
        let s = Snapshot {
            checks: vec![c],
            without_id: 2,
            broadcaster: Some(Broadcaster { clients: 4 }),
        };
        let om = render(&s, Format::OpenMetrics);
        assert!(om.ends_with("\n# EOF\n"));
        assert!(om.contains("# TYPE ssi_check_status_lines counter\n"));
        assert!(om.contains("ssi_check_status_lines_total{id=\"a\"} 3\n"));
        assert!(om.contains("# TYPE ssi_check info\n"));
        assert!(om.contains("# UNIT ssi_check_last_status_timestamp_seconds seconds\n"));
        let text = render(&s, Format::Text);
        assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
        assert!(text.contains("# TYPE ssi_check_status_lines_total counter\n"));
        assert!(text.contains("# TYPE ssi_check_info gauge\n"));
        assert!(text.contains("ssi_broadcaster_clients 4\n"));
        assert!(text.contains("ssi_scripts_without_id 2\n"));
        // Without the broadcaster: none of its families.
        let alone = render(
            &Snapshot {
                broadcaster: None,
                ..s
            },
            Format::Text,
        );
        assert!(!alone.contains("ssi_broadcaster_clients") && !alone.contains("_lines_total"));
    }

    #[test]
    fn negotiation_follows_accept() {
        // What Prometheus 2.x sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4;q=0.5,*/*;q=0.1")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; version=0.0.1")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0.3, text/plain;q=0.9")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
    }
}

//! The rendered metrics against Prometheus's own checker: `promtool check
//! metrics` must find nothing wrong, even with hostile manifest values.

#[path = "support/promtool.rs"]
mod promtool;

use jiff::Timestamp;
use ssi::metrics::{render, Broadcaster, Check, CheckInfo, Format, Snapshot};
use ssi::perfdata::Perfdata;
use ssi::status::Status;

/// Names that break a careless renderer: quote, backslash, newline, and
/// text beyond ASCII.
fn hostile() -> Snapshot {
    let names = [
        "Quote \" inside",
        "Back\\slash \\n not a newline",
        "Line\nbreak",
        "Überprüfung – 检查 ✓",
        "Ends with backslash\\",
    ];
    let checks = names
        .iter()
        .enumerate()
        .map(|(i, name)| Check {
            id: format!("check_{i}"),
            valid: true,
            info: Some(CheckInfo {
                name: (*name).to_owned(),
                version: format!("1.{i}\"\\"),
                schedule: "Mon..Fri *-*-* 10:00 Europe/Berlin".into(),
            }),
            status: Status::ALL.get(i).copied(),
            last_status: Some(Timestamp::from_second(1_764_151_200 + i as i64).unwrap()),
            late: i == 2,
            interval_secs: Some(86_400),
            quiet: Default::default(),
            status_lines: Some(i as u64 * 7),
            // Labels as hostile as the names, every unit, U and huge values.
            perfdata: Some(std::sync::Arc::new(Perfdata::parse(&format!(
                "'{}'=5%;80;90;0;100 'back\\slash \"q\"'=1.5ms;;@1:2;; u=U n=17c big=1e20TB tiny=0.000001us",
                name.replace('\n', " ").replace('\'', "''")
            )))),
        })
        .chain([Check {
            id: "refused".into(),
            valid: false,
            info: None,
            status: None,
            last_status: None,
            late: false,
            interval_secs: None,
            quiet: Default::default(),
            status_lines: None,
            perfdata: None,
        }])
        .collect();
    Snapshot {
        checks,
        without_id: 1,
        broadcaster: Some(Broadcaster { clients: 3 }),
    }
}

#[test]
fn promtool_accepts_hostile_names() {
    for broadcaster in [Some(Broadcaster { clients: 3 }), None] {
        let text = render(
            &Snapshot {
                broadcaster,
                ..hostile()
            },
            Format::Text,
        );
        let (ok, said) = promtool::check(&text);
        assert!(ok, "promtool check metrics:\n{said}\non:\n{text}");
        assert!(text.contains(r#"name="Line\nbreak""#), "{text}");
        assert!(text.contains(r#"name="Quote \" inside""#), "{text}");
        assert!(
            text.contains(r#"name="Back\\slash \\n not a newline""#),
            "{text}"
        );
        assert!(text.contains(r#"name="Überprüfung – 检查 ✓""#), "{text}");
        assert!(
            text.contains(
                r#"ssi_check_perfdata{id="check_0",label="Quote \" inside",unit="ratio"} 0.05"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"ssi_check_perfdata{id="check_1",label="back\\slash \"q\"",unit="seconds"} 0.0015"#),
            "{text}"
        );
        assert!(text.contains(r#"ssi_check_perfdata{id="check_0",label="u",unit="number"} NaN"#));
        assert!(
            text.contains(r#"name="Ends with backslash\\",schedule"#),
            "{text}"
        );
    }
}

#[test]
fn promtool_catches_a_broken_exposition() {
    // The oracle must be able to fail: an unescaped quote is refused.
    let (ok, _) = promtool::check("# HELP x y\n# TYPE x gauge\nx{a=\"b\"c\"} 1\n");
    assert!(!ok);
}

#[test]
fn same_state_same_bytes() {
    let mut shuffled = hostile();
    shuffled.checks.reverse();
    for f in [Format::Text, Format::OpenMetrics] {
        assert_eq!(render(&hostile(), f), render(&shuffled, f));
    }
}

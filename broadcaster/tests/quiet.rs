//! Silenced, acknowledged and in-maintenance checks on the dashboard (a
//! real Chromium: the muted mark, the reason on hover and in the detail
//! view, the filter), in `GET /api/quiet` and in `/metrics`, from the
//! notifier state directory's `quiet.json` as `ssi-status` writes it.

#[path = "common/browser.rs"]
// Not every helper is used here.
#[allow(dead_code)]
mod browser;
mod common;

use browser::{chromium, Browser};
use common::{line, Fixture, Server};
use serde_json::{json, Value};

const QUIET: &str = r#"{
  "version": 1,
  "silences": {
    "backup": {"by": "root", "reason": "moving the backup disk", "since": 1764064800, "until": null}
  },
  "acks": {
    "disk_usage": {"by": "alice", "reason": "ordering disks", "since": 1764064800, "status": "WARNING"}
  }
}
"#;

#[test]
fn quiet_checks_are_muted_explained_and_filterable() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    let fx = Fixture::new();
    fx.script("disk-usage.sh", "Disk Usage");
    fx.script("backup.sh", "Nightly Backup");
    fx.script("web.sh", "Web Front");
    // Always in maintenance: a window every minute, open for a minute.
    fx.script_with(
        "db.sh",
        "# name: Database\n# description: d\n# version: 1\n# schedule: hourly\n# maintenance: *:*:00 for 1min\n",
    );
    fx.append("disk_usage", line("WARNING", "/ at 91%"));
    fx.append("backup", line("FAILURE", "3 days old"));
    fx.append("web", line("OK", ""));
    fx.append("db", line("FAILURE", "replica lag"));
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("quiet.json"), QUIET).unwrap();
    let dir = state.path().display().to_string();
    let server = Server::start_with(&fx, &[], &[("SSI_STATE_DIR", &dir)]);

    let (code, response) = server.get("/api/quiet");
    assert_eq!(code, 200, "{response}");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let api: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        api["backup"]["silenced"]["reason"],
        "moving the backup disk"
    );
    assert_eq!(api["disk_usage"]["acknowledged"]["by"], "alice");
    assert_eq!(api["db"]["maintenance"]["by"], "manifest");
    assert_eq!(api["web"]["silenced"], Value::Null);

    let (_, metrics) = server.get("/metrics");
    for l in [
        "ssi_check_silenced{id=\"backup\"} 1",
        "ssi_check_acknowledged{id=\"disk_usage\"} 1",
        "ssi_check_in_maintenance{id=\"db\"} 1",
        "ssi_check_silenced{id=\"web\"} 0",
    ] {
        assert!(metrics.lines().any(|m| m == l), "{l} in\n{metrics}");
    }

    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);
    let quiet = |id: &str| {
        format!("document.querySelector('tr[data-service-id=\"{id}\"]')?.dataset.quiet ?? null")
    };
    b.wait_for(&quiet("backup"), json!("silenced"));
    b.wait_for(&quiet("disk_usage"), json!("acknowledged"));
    b.wait_for(&quiet("db"), json!("in maintenance"));
    assert_eq!(b.eval(&quiet("web")), Value::Null);
    // The reason on hover.
    let title =
        b.eval("document.querySelector('tr[data-service-id=\"backup\"] .quiet-mark').title");
    assert!(
        title
            .as_str()
            .unwrap()
            .starts_with("silenced by root until lifted: moving the backup disk"),
        "{title}"
    );
    // Muted: the row's cells fade, the status keeps its colour.
    let opacity = b.eval(
        "getComputedStyle(document.querySelector('tr[data-service-id=\"backup\"] td.msg')).opacity",
    );
    assert_eq!(opacity, json!("0.62"));
    // The filter shows only them.
    b.eval("document.querySelector('#filters button[data-filter=\"QUIET\"]').click()");
    b.wait_for(
        "[...document.querySelectorAll('#services tbody tr')].map(r => r.dataset.serviceId).sort().join(' ')",
        json!("backup db disk_usage"),
    );
    assert_eq!(
        b.eval("document.querySelector('#filters button[data-filter=\"QUIET\"]').textContent"),
        json!("Quiet (3)")
    );
    // The detail view says who, why and until when.
    b.eval("document.querySelector('tr[data-service-id=\"disk_usage\"]').click()");
    b.wait_for(
        "[...document.querySelectorAll('#d-body dd')].some(d => d.textContent === 'acknowledged by alice until it recovers: ordering disks')",
        json!(true),
    );
}

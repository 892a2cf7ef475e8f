//! `GET /metrics`: the families, rendered from memory, in both formats,
//! behind the same Host rules as everything else on the port; the output
//! for hostile names passes `promtool check metrics`.

mod common;
#[path = "../../ssi/tests/support/promtool.rs"]
mod promtool;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{line, Fixture, Server, PROMETHEUS_ACCEPT};

fn scrape(server: &Server, accept: Option<&str>) -> (u16, String, String) {
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    let (code, resp) = server.http(&format!(
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{accept}\r\n",
        server.port
    ));
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (code, head.to_owned(), body.to_owned())
}

/// Scrapes until the body contains every one of `wanted` (10 s at most).
fn scrape_until(server: &Server, wanted: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, _, body) = scrape(server, None);
        assert_eq!(code, 200);
        if wanted.iter().all(|w| body.contains(w)) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "never got {wanted:?}; last scrape:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn families_from_memory_in_text_format() {
    let fx = Fixture::new();
    fx.script("web.sh", r#"Quote " and \ back – Überprüfung ✓"#);
    fx.script("db.sh", "Database");
    let refused = fx.script("refused.sh", "Refused");
    std::fs::set_permissions(&refused, std::fs::Permissions::from_mode(0o644)).unwrap();
    fx.script("no+id.sh", "No Id");
    fx.append("web", line("OK", "fine"));
    let server = Server::start(&fx);

    let body = scrape_until(&server, &["ssi_check_status{id=\"web\",status=\"OK\"} 1"]);
    let (code, head, _) = scrape(&server, None);
    assert_eq!(code, 200);
    assert!(
        head.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{head}"
    );
    for want in [
        r#"ssi_check_info{id="web",name="Quote \" and \\ back – Überprüfung ✓",schedule="*:0/5",version="1.0"} 1"#,
        r#"ssi_check_valid{id="refused"} 0"#,
        r#"ssi_check_valid{id="web"} 1"#,
        r#"ssi_check_status{id="db",status="OK"} 0"#,
        r#"ssi_check_status_lines_total{id="web"} 1"#,
        r#"ssi_check_last_status_timestamp_seconds{id="web"} "#,
        r#"ssi_check_late{id="db"} 0"#,
        r#"ssi_check_schedule_interval_seconds{id="web"} 300"#,
        "ssi_broadcaster_clients 0\n",
        "ssi_scripts_without_id 1\n",
        "ssi_build_info{version=\"",
    ] {
        assert!(body.contains(want), "no {want:?} in:\n{body}");
    }
    assert!(!body.contains("ssi_check_info{id=\"refused\""));
    let (ok, said) = promtool::check(&body);
    assert!(ok, "promtool check metrics:\n{said}\non:\n{body}");

    // A new line: the status moves, the counter counts, clients count.
    let _client = server.connect();
    fx.append("web", line("FAILURE", "down"));
    let body = scrape_until(
        &server,
        &[
            "ssi_check_status{id=\"web\",status=\"FAILURE\"} 1",
            "ssi_check_status_lines_total{id=\"web\"} 2",
            "ssi_broadcaster_clients 1\n",
        ],
    );
    assert!(body.contains("ssi_check_status{id=\"web\",status=\"OK\"} 0"));
}

#[test]
fn openmetrics_when_the_scraper_asks_and_same_host_rules() {
    let fx = Fixture::new();
    fx.script("web.sh", "Web");
    fx.append("web", line("WARNING", "slow"));
    let server = Server::start_with(&fx, &["--allow-host", "node1.example"], &[]);
    scrape_until(&server, &["status=\"WARNING\"} 1"]);

    let (code, head, body) = scrape(&server, Some(PROMETHEUS_ACCEPT));
    assert_eq!(code, 200);
    assert!(
        head.contains(
            "\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n"
        ),
        "{head}"
    );
    assert!(head.contains("\r\nVary: Accept"), "{head}");
    assert!(body.ends_with("\n# EOF\n"), "{body}");
    assert!(body.contains("# TYPE ssi_check_status_lines counter\n"));
    assert!(body.contains("ssi_check_status_lines_total{id=\"web\"} 1\n"));

    // HEAD: the headers only.
    let (code, resp) = server.http(&format!(
        "HEAD /metrics HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        server.port
    ));
    assert_eq!(code, 200);
    assert!(resp.ends_with("\r\n\r\n"), "{resp}");

    // Prometheus sends Host: <target>; an unknown name is refused, an
    // allowed one accepted, exactly as for the dashboard.
    let get = |host: &str| server.http(&format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n"));
    assert_eq!(get("evil.example:1234").0, 403);
    assert_eq!(get(&format!("node1.example:{}", server.port)).0, 200);
    assert_eq!(get(&format!("localhost:{}", server.port)).0, 200);
}

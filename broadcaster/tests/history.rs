//! The history endpoints (`GET /api/services/<id>/history`, `GET
//! /api/history`): answers, errors, the Host/Origin rules, and that the
//! WebSocket never carries anything but the four upstream message types.

mod common;

use std::time::Duration;

use common::{Fixture, Server};
use serde_json::Value;

/// A server with services `a` and `b` (b without a log), known to the hub.
fn setup() -> (Fixture, Server, common::Client) {
    let fx = Fixture::new();
    fx.script("a.sh", "Check A");
    fx.script("b.sh", "Check B");
    fx.append(
        "a",
        "2026-11-20 09:00:00, OK, first\nnoise\n2026-11-20 10:00:00, FAILURE, second\n2026-11-20 11:00:00, WARNING, third\n",
    );
    let server = Server::start(&fx);
    let mut c = server.connect();
    let (ready, _) = c.snapshot(1);
    assert_eq!(ready["data"]["services"].as_array().unwrap().len(), 2);
    (fx, server, c)
}

/// The JSON body of a 200 response.
fn body(resp: &str) -> Value {
    assert!(resp.contains("Content-Type: application/json"), "{resp}");
    let (_, body) = resp.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

#[test]
fn one_check_newest_last() {
    let (_fx, server, _c) = setup();
    let (code, resp) = server.get("/api/services/a/history?limit=2");
    assert_eq!(code, 200, "{resp}");
    let v = body(&resp);
    assert_eq!(v["id"], "a");
    let entries = v["entries"].as_array().unwrap();
    let msgs: Vec<_> = entries
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs, ["second", "third"]);
    assert_eq!(entries[1]["status"], "WARNING");
    assert!(entries[1]["timestamp"].as_str().unwrap().ends_with('Z'));
    // The broadcaster does not know run durations: it says nothing.
    assert!(entries[1].get("duration_ms").is_none());
    for window in ["24h", "7d"] {
        assert!(v["availability"][window]["total"].is_u64(), "{v}");
    }
    assert!(v["next_run"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["schedule_normalized"], "*-*-* *:00/5:00");

    let (code, resp) = server.get("/api/services/a/history");
    assert_eq!(code, 200);
    assert_eq!(body(&resp)["entries"].as_array().unwrap().len(), 3);
    let (code, resp) = server.get("/api/services/b/history");
    assert_eq!(code, 200);
    let v = body(&resp);
    assert_eq!(v["entries"], Value::Array(vec![]));
    assert_eq!(v["availability"]["7d"]["ratio"], Value::Null);
}

#[test]
fn every_check_with_host_name() {
    let (_fx, server, _c) = setup();
    let (code, resp) = server.get("/api/history?limit=1");
    assert_eq!(code, 200, "{resp}");
    let v = body(&resp);
    assert!(!v["host"].as_str().unwrap().is_empty());
    let services = v["services"].as_array().unwrap();
    let ids: Vec<_> = services.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(services[0]["entries"].as_array().unwrap().len(), 1);
    assert_eq!(services[0]["entries"][0]["message"], "third");
}

#[test]
fn bad_requests_say_what_was_expected() {
    let (_fx, server, _c) = setup();
    let cases = [
        ("/api/services/nope/history", 404, "no service \"nope\""),
        ("/api/services/A-b/history", 404, "expected a service id"),
        ("/api/services/../history", 404, "expected a service id"),
        (
            "/api/services/a/history?limit=0",
            400,
            "limit \"0\": expected a whole number from 1 to 500",
        ),
        (
            "/api/services/a/history?limit=lots",
            400,
            "limit \"lots\": expected a whole number from 1 to 500",
        ),
        (
            "/api/history?limit=51",
            400,
            "limit \"51\": expected a whole number from 0 to 50",
        ),
        ("/api/services/a/historyx", 404, "not found"),
    ];
    for (path, want, text) in cases {
        let (code, resp) = server.get(path);
        assert_eq!(code, want, "{path}: {resp}");
        assert!(resp.contains(text), "{path}: {resp}");
    }
}

#[test]
fn same_host_and_origin_rules() {
    let (_fx, server, _c) = setup();
    let port = server.port;
    let req = |headers: &str| {
        server.http(&format!(
            "GET /api/services/a/history HTTP/1.1\r\n{headers}\r\n"
        ))
    };
    assert_eq!(req("Host: evil.example\r\n").0, 403);
    assert_eq!(
        req(&format!(
            "Host: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\n"
        ))
        .0,
        403
    );
    assert_eq!(
        req(&format!(
            "Host: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
        ))
        .0,
        200
    );
}

/// Asking for history pushes nothing new on the WebSocket: a client gets
/// the status update of a new line, and nothing of any other type.
#[test]
fn websocket_clients_never_see_history() {
    let (fx, server, mut c) = setup();
    assert_eq!(server.get("/api/history").0, 200);
    assert_eq!(server.get("/api/services/a/history").0, 200);
    fx.append("a", "2026-11-20 12:00:00, OK, fourth\n");
    let v = c.next();
    assert_eq!(v["type"], "agent.service_status_update", "{v}");
    assert_eq!(v["data"]["message"], "fourth");
    c.assert_silent(Duration::from_millis(500));
    // And the new line is in the history.
    let (_, resp) = server.get("/api/services/a/history?limit=1");
    assert_eq!(body(&resp)["entries"][0]["message"], "fourth");
}

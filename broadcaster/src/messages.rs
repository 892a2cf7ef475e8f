//! Step 2 of the data flow: the JSON messages sent to clients, in the
//! upstream SSI agent's shapes, and their encoding as ready-to-send
//! WebSocket frames.

use serde::Serialize;
use ssi::status::Status;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::Bytes;

/// A service as announced to clients (from a valid check script's manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceInfo {
    /// The service id, e.g. `dummy_service`.
    pub id: String,
    /// Manifest `name`.
    pub name: String,
    /// Manifest `description`.
    pub description: String,
    /// Manifest `version`.
    pub version: String,
    /// Manifest `schedule` as written (without a trailing comment).
    pub schedule: String,
}

/// The latest status of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusUpdate {
    /// The service id.
    pub service_id: String,
    /// `OK`, `UPDATE`, `WARNING`, `FAILURE`, `ERROR` or `UNKNOWN` in JSON.
    pub status: Status,
    /// The line's message, `""` when it has none.
    pub message: String,
    /// RFC 3339 UTC with `Z`.
    pub timestamp: String,
}

/// Every message a client can receive.
#[derive(Debug, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum Message<'a> {
    /// First message on every connection: all known services.
    #[serde(rename = "agent.ready")]
    Ready { services: Vec<&'a ServiceInfo> },
    /// A script appeared (or changed).
    #[serde(rename = "agent.service_added")]
    Added { service: &'a ServiceInfo },
    /// A script disappeared.
    #[serde(rename = "agent.service_removed")]
    Removed { service_id: &'a str },
    /// A new status line.
    #[serde(rename = "agent.service_status_update")]
    Status(&'a StatusUpdate),
}

impl Message<'_> {
    /// The message as one complete, unmasked server-to-client text frame.
    /// Encoded once and shared by every client, so fan-out copies nothing.
    pub fn to_frame(&self) -> Bytes {
        // Serializing plain structs of strings into a Vec cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        let frame = Frame::message(json, OpCode::Data(Data::Text), true);
        let mut out = Vec::with_capacity(frame.len());
        // Writing into a Vec cannot fail.
        let _ = frame.format(&mut out);
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ServiceInfo {
        ServiceInfo {
            id: "dummy_service".into(),
            name: "Dummy Service".into(),
            description: "d".into(),
            version: "1".into(),
            schedule: "*:0/1".into(),
        }
    }

    #[test]
    fn shapes_match_design() {
        let i = info();
        assert_eq!(
            serde_json::to_string(&Message::Ready { services: vec![&i] }).unwrap(),
            r#"{"type":"agent.ready","data":{"services":[{"id":"dummy_service","name":"Dummy Service","description":"d","version":"1","schedule":"*:0/1"}]}}"#
        );
        assert_eq!(
            serde_json::to_string(&Message::Added { service: &i }).unwrap(),
            r#"{"type":"agent.service_added","data":{"service":{"id":"dummy_service","name":"Dummy Service","description":"d","version":"1","schedule":"*:0/1"}}}"#
        );
        assert_eq!(
            serde_json::to_string(&Message::Removed {
                service_id: "dummy_service"
            })
            .unwrap(),
            r#"{"type":"agent.service_removed","data":{"service_id":"dummy_service"}}"#
        );
        let s = StatusUpdate {
            service_id: "dummy_service".into(),
            status: Status::Ok,
            message: String::new(),
            timestamp: "2026-11-26T10:00:00Z".into(),
        };
        assert_eq!(
            serde_json::to_string(&Message::Status(&s)).unwrap(),
            r#"{"type":"agent.service_status_update","data":{"service_id":"dummy_service","status":"OK","message":"","timestamp":"2026-11-26T10:00:00Z"}}"#
        );
    }

    #[test]
    fn frame_is_a_final_unmasked_text_frame() {
        let f = Message::Removed { service_id: "x" }.to_frame();
        let json = br#"{"type":"agent.service_removed","data":{"service_id":"x"}}"#;
        assert_eq!(f[0], 0x81);
        assert_eq!(f[1] as usize, json.len());
        assert_eq!(&f[2..], json);
    }
}

//! What one collector still has to receive: the services and latest
//! statuses (for the snapshot every connection starts with) and the events
//! not yet acknowledged, bounded.
//!
//! The collector's WebSocket stack acknowledges what it has read by
//! answering a ping: each ping carries the sequence number of the last
//! event sent before it, and its pong releases everything up to there.
//! When a connection ends, what it carried without acknowledgement is held
//! again, with the status lines published since, for the next connection.
//!
//! Delivery rules, per collector (what "nothing lost, no duplicates" means):
//! - every connection starts with `agent.ready` (the services now), then the
//!   latest status of each service that has no held line, sorted by id,
//!   then the held status lines in log order, then live events;
//! - a service's latest status is always its last held line when it has
//!   held lines, so it is sent once, at its place in log order, and not
//!   again in the snapshot part;
//! - a status line is sent again on a later connection only if the
//!   connection that carried it ended before the collector acknowledged it
//!   (the collector may then see it twice: at-least-once, never lost);
//! - at most `limit` status lines are held: past that the oldest line that a
//!   later line of the same service supersedes is dropped (and counted), so
//!   the latest status of every service is always sent;
//! - `agent.service_added`/`removed` are sent live only; after an outage
//!   `agent.ready` carries the services as they are.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use tungstenite::Bytes;

/// A service as `agent.ready` and `agent.service_added` carry it (the field
/// order is the hub's, so the JSON is the same a local client gets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    id: String,
    name: String,
    description: String,
    version: String,
    schedule: String,
}

/// `agent.ready`, serialized in the hub's field order.
#[derive(Serialize)]
struct Ready<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: ReadyData<'a>,
}

#[derive(Serialize)]
struct ReadyData<'a> {
    services: Vec<&'a Service>,
}

/// The parts of a message the outbox needs to tell events apart.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Data,
}

#[derive(Default, Deserialize)]
struct Data {
    #[serde(default)]
    services: Vec<Service>,
    service: Option<Service>,
    service_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `agent.service_status_update` of this service.
    Status(String),
    /// `agent.service_added` or `agent.service_removed`.
    Change,
}

#[derive(Debug, Clone)]
struct Event {
    seq: u64,
    kind: Kind,
    payload: Bytes,
}

/// One collector's pending events and the state its snapshot is made of.
#[derive(Debug)]
pub struct Outbox {
    services: BTreeMap<String, Service>,
    /// The newest status of every known service, with its sequence number.
    latest: BTreeMap<String, (u64, Bytes)>,
    /// Events sent and not acknowledged (`held[..sent]`), then unsent ones.
    held: VecDeque<Event>,
    sent: usize,
    /// Status events in `held`.
    statuses: usize,
    limit: usize,
    next_seq: u64,
    /// Status lines dropped over the limit since the last `take_dropped`.
    dropped: u64,
    connected: bool,
}

impl Outbox {
    /// An empty outbox holding at most `limit` status lines.
    pub fn new(limit: usize) -> Outbox {
        Outbox {
            services: BTreeMap::new(),
            latest: BTreeMap::new(),
            held: VecDeque::new(),
            sent: 0,
            statuses: 0,
            limit: limit.max(1),
            next_seq: 1,
            dropped: 0,
            connected: false,
        }
    }

    /// Takes in a hub snapshot (`agent.ready`, then statuses): the services
    /// are replaced. With `hold`, every status that differs from the one
    /// known is held like a new line (after a lost stretch of the hub's
    /// stream, the newest statuses are what must still be sent).
    pub fn reset(&mut self, snapshot: &[Bytes], hold: bool) {
        for payload in snapshot {
            let Ok(env) = serde_json::from_slice::<Envelope>(payload) else {
                continue;
            };
            match env.kind.as_str() {
                "agent.ready" => {
                    self.services = env
                        .data
                        .services
                        .into_iter()
                        .map(|s| (s.id.clone(), s))
                        .collect();
                    let services = &self.services;
                    self.latest.retain(|id, _| services.contains_key(id));
                }
                "agent.service_status_update" => {
                    let Some(id) = env.data.service_id else {
                        continue;
                    };
                    if !hold {
                        let seq = self.next_seq();
                        self.latest.insert(id, (seq, payload.clone()));
                    } else if self.latest.get(&id).map_or(true, |(_, p)| p != payload) {
                        self.push_status(id, payload.clone());
                    }
                }
                _ => {}
            }
        }
    }

    /// Takes in one live message from the hub; true when there is something
    /// new to send.
    pub fn apply(&mut self, payload: Bytes) -> bool {
        let Ok(env) = serde_json::from_slice::<Envelope>(&payload) else {
            return false;
        };
        match env.kind.as_str() {
            "agent.service_status_update" => {
                let Some(id) = env.data.service_id else {
                    return false;
                };
                self.push_status(id, payload);
                self.connected
            }
            "agent.service_added" => {
                let Some(s) = env.data.service else {
                    return false;
                };
                self.services.insert(s.id.clone(), s);
                self.push_change(payload)
            }
            "agent.service_removed" => {
                let Some(id) = env.data.service_id else {
                    return false;
                };
                self.services.remove(&id);
                self.latest.remove(&id);
                self.push_change(payload)
            }
            _ => false,
        }
    }

    fn push_change(&mut self, payload: Bytes) -> bool {
        if !self.connected {
            // The next connection's agent.ready says it.
            return false;
        }
        let seq = self.next_seq();
        self.held.push_back(Event {
            seq,
            kind: Kind::Change,
            payload,
        });
        true
    }

    fn next_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    fn push_status(&mut self, id: String, payload: Bytes) {
        let seq = self.next_seq();
        self.latest.insert(id.clone(), (seq, payload.clone()));
        self.held.push_back(Event {
            seq,
            kind: Kind::Status(id),
            payload,
        });
        self.statuses += 1;
        while self.statuses > self.limit {
            self.drop_one();
        }
    }

    /// Drops the oldest held status line that a later one supersedes (or,
    /// with more services than the limit, the oldest: its service's status
    /// then comes with the next snapshot).
    fn drop_one(&mut self) {
        let superseded = |e: &Event| match &e.kind {
            Kind::Status(id) => self.latest.get(id).map_or(true, |(seq, _)| *seq != e.seq),
            Kind::Change => false,
        };
        let at = self.held.iter().position(superseded).or_else(|| {
            self.held
                .iter()
                .position(|e| matches!(e.kind, Kind::Status(_)))
        });
        let Some(at) = at else { return };
        self.held.remove(at);
        if at < self.sent {
            self.sent -= 1;
        }
        self.statuses -= 1;
        self.dropped += 1;
    }

    /// Starts a connection: returns what it begins with (`agent.ready`,
    /// then the latest status of every service without a held line) and
    /// makes every held line due again, in log order.
    pub fn connect(&mut self) -> Vec<Bytes> {
        self.connected = true;
        self.sent = 0;
        // Lines of services since removed would name an unknown service.
        let services = &self.services;
        let mut gone = 0;
        self.held.retain(|e| match &e.kind {
            Kind::Status(id) if services.contains_key(id) => true,
            Kind::Status(_) => {
                gone += 1;
                false
            }
            Kind::Change => false,
        });
        self.statuses -= gone;
        let held: HashSet<u64> = self.held.iter().map(|e| e.seq).collect();
        let ready = Ready {
            kind: "agent.ready",
            data: ReadyData {
                services: self.services.values().collect(),
            },
        };
        let mut out = vec![Bytes::from(serde_json::to_vec(&ready).unwrap_or_default())];
        for (id, (seq, payload)) in &self.latest {
            if !held.contains(seq) && self.services.contains_key(id) {
                out.push(payload.clone());
            }
        }
        out
    }

    /// Ends a connection: what it did not get acknowledged is held again.
    pub fn disconnect(&mut self) {
        self.connected = false;
        self.sent = 0;
        self.held.retain(|e| matches!(e.kind, Kind::Status(_)));
    }

    /// Up to `max` events not sent yet, with the sequence number of the last.
    pub fn next_batch(&mut self, max: usize) -> (Vec<Bytes>, u64) {
        let end = (self.sent + max).min(self.held.len());
        let batch: Vec<Bytes> = self
            .held
            .range(self.sent..end)
            .map(|e| e.payload.clone())
            .collect();
        self.sent = end;
        (batch, self.last_sent())
    }

    /// Sequence number of the last event sent (0: none held).
    pub fn last_sent(&self) -> u64 {
        match self.sent {
            0 => self.held.front().map_or(self.next_seq - 1, |e| e.seq - 1),
            n => self.held[n - 1].seq,
        }
    }

    /// The collector has read everything up to `seq`.
    pub fn ack(&mut self, seq: u64) {
        while self.sent > 0 && self.held.front().is_some_and(|e| e.seq <= seq) {
            if let Some(e) = self.held.pop_front() {
                if matches!(e.kind, Kind::Status(_)) {
                    self.statuses -= 1;
                }
            }
            self.sent -= 1;
        }
    }

    /// Whether events wait to be sent.
    pub fn has_unsent(&self) -> bool {
        self.sent < self.held.len()
    }

    /// Whether events were sent and not yet acknowledged.
    pub fn has_unacked(&self) -> bool {
        self.sent > 0
    }

    /// Status lines held (sent unacknowledged or unsent).
    pub fn held_statuses(&self) -> usize {
        self.statuses
    }

    /// Status lines dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(id: &str) -> String {
        format!(
            r#"{{"id":"{id}","name":"{id} name","description":"","version":"1","schedule":"daily"}}"#
        )
    }

    fn ready(ids: &[&str]) -> Bytes {
        let list: Vec<String> = ids.iter().map(|i| service(i)).collect();
        Bytes::from(format!(
            r#"{{"type":"agent.ready","data":{{"services":[{}]}}}}"#,
            list.join(",")
        ))
    }

    fn status(id: &str, msg: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"type":"agent.service_status_update","data":{{"service_id":"{id}","status":"OK","message":"{msg}","timestamp":"2026-11-26T10:00:00Z"}}}}"#
        ))
    }

    fn added(id: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"type":"agent.service_added","data":{{"service":{}}}}}"#,
            service(id)
        ))
    }

    fn removed(id: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"type":"agent.service_removed","data":{{"service_id":"{id}"}}}}"#
        ))
    }

    /// The messages of the payloads (status lines), or their type.
    fn names(v: &[Bytes]) -> Vec<String> {
        v.iter()
            .map(|b| {
                let j: serde_json::Value = serde_json::from_slice(b).unwrap();
                match j["data"]["message"].as_str() {
                    Some(m) => m.to_string(),
                    None => j["type"].as_str().unwrap().to_string(),
                }
            })
            .collect()
    }

    fn drain(o: &mut Outbox) -> Vec<Bytes> {
        let (b, seq) = o.next_batch(usize::MAX);
        o.ack(seq);
        b
    }

    #[test]
    fn ready_is_byte_for_byte_the_hubs() {
        let mut o = Outbox::new(10);
        o.reset(&[ready(&["a", "b"])], false);
        let first = o.connect().remove(0);
        assert_eq!(first, ready(&["a", "b"]));
    }

    #[test]
    fn first_connection_is_the_snapshot_then_live() {
        let mut o = Outbox::new(10);
        o.reset(
            &[ready(&["a", "b"]), status("a", "a0"), status("b", "b0")],
            false,
        );
        assert_eq!(names(&o.connect()), ["agent.ready", "a0", "b0"]);
        // The snapshot's statuses are not held lines: nothing follows.
        assert!(drain(&mut o).is_empty());
        assert!(o.apply(status("b", "b1")));
        assert!(o.apply(added("c")));
        assert_eq!(names(&drain(&mut o)), ["b1", "agent.service_added"]);
    }

    /// The overlap rule: a service whose latest status is a held line gets
    /// it once, in log order; the others get theirs in the snapshot part.
    #[test]
    fn held_lines_after_snapshot_without_duplicates() {
        let mut o = Outbox::new(10);
        o.reset(&[ready(&["a", "b", "c"]), status("c", "c0")], false);
        o.connect();
        drain(&mut o);
        o.disconnect();
        for (id, m) in [("a", "a1"), ("b", "b1"), ("a", "a2")] {
            assert!(
                !o.apply(status(id, m)),
                "nothing to send while disconnected"
            );
        }
        assert!(!o.apply(added("d")));
        let prelude = o.connect();
        assert_eq!(names(&prelude), ["agent.ready", "c0"]);
        assert!(String::from_utf8_lossy(&prelude[0]).contains(r#""id":"d""#));
        assert_eq!(names(&drain(&mut o)), ["a1", "b1", "a2"]);
        assert!(drain(&mut o).is_empty());
    }

    #[test]
    fn unacknowledged_lines_are_sent_again_acknowledged_ones_never() {
        let mut o = Outbox::new(10);
        o.reset(&[ready(&["a"])], false);
        o.connect();
        o.apply(status("a", "1"));
        o.apply(status("a", "2"));
        let (b, seq) = o.next_batch(1);
        assert_eq!(names(&b), ["1"]);
        o.ack(seq);
        let (b, _) = o.next_batch(10);
        assert_eq!(names(&b), ["2"]);
        // The connection dies before "2" is acknowledged.
        o.disconnect();
        o.apply(status("a", "3"));
        assert_eq!(names(&o.connect()), ["agent.ready"]);
        assert_eq!(names(&drain(&mut o)), ["2", "3"]);
    }

    #[test]
    fn over_the_limit_superseded_lines_go_and_every_latest_stays() {
        let mut o = Outbox::new(3);
        o.reset(&[ready(&["a", "b"])], false);
        o.apply(status("b", "b1"));
        for i in 1..=5 {
            o.apply(status("a", &format!("a{i}")));
        }
        assert_eq!(o.held_statuses(), 3);
        assert_eq!(o.take_dropped(), 3);
        assert_eq!(o.take_dropped(), 0);
        o.connect();
        // b1 is b's latest: kept although oldest.
        assert_eq!(names(&drain(&mut o)), ["b1", "a4", "a5"]);
    }

    #[test]
    fn more_services_than_the_limit_still_send_every_latest() {
        let mut o = Outbox::new(2);
        o.reset(&[ready(&["a", "b", "c"])], false);
        for id in ["a", "b", "c"] {
            o.apply(status(id, id));
        }
        assert_eq!(o.take_dropped(), 1);
        // a's line was dropped from the held ones: it comes in the snapshot.
        assert_eq!(names(&o.connect()), ["agent.ready", "a"]);
        assert_eq!(names(&drain(&mut o)), ["b", "c"]);
    }

    #[test]
    fn removed_services_lose_their_held_lines_and_changes_are_live_only() {
        let mut o = Outbox::new(10);
        o.reset(&[ready(&["a", "b"])], false);
        o.apply(status("a", "a1"));
        o.apply(status("b", "b1"));
        assert!(!o.apply(removed("a")));
        let prelude = o.connect();
        assert!(!String::from_utf8_lossy(&prelude[0]).contains(r#""id":"a""#));
        assert_eq!(names(&drain(&mut o)), ["b1"]);
        assert!(o.apply(removed("b")));
        let (b, _) = o.next_batch(10);
        assert_eq!(names(&b), ["agent.service_removed"]);
        o.disconnect();
        assert_eq!(o.held_statuses(), 0);
        assert!(!o.has_unsent());
    }

    #[test]
    fn reset_after_a_lost_stretch_holds_only_changed_statuses() {
        let mut o = Outbox::new(10);
        o.reset(
            &[ready(&["a", "b"]), status("a", "a0"), status("b", "b0")],
            false,
        );
        o.connect();
        drain(&mut o);
        o.reset(
            &[ready(&["a", "b"]), status("a", "a0"), status("b", "b9")],
            true,
        );
        assert_eq!(names(&drain(&mut o)), ["b9"]);
    }
}

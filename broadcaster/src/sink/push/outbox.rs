//! What one collector still has to receive: the services and latest
//! statuses (for the snapshot every connection starts with) and the events
//! not yet acknowledged, bounded in number and in bytes.
//!
//! The collector's WebSocket stack acknowledges what it has read by
//! answering a ping: each ping carries the sequence number of the last
//! event sent before it, and its pong releases everything up to there.
//!
//! Delivery rules, per collector:
//! - every connection starts with `agent.ready` (the services now);
//! - latest-only (the default, for collectors of the upstream schema, which
//!   keep only the latest status and notify phones of every change they
//!   are sent): then each service's latest status once, in log order
//!   across services, then live events. Lines superseded while the
//!   collector was away are never sent;
//! - full catch-up (`--push-history`, for collectors that keep history):
//!   then the latest status of each service that has no held line, sorted
//!   by id, then the held status lines in log order, then live events. A
//!   status line is sent again on a later connection only if the
//!   connection that carried it ended before the collector acknowledged it
//!   (at-least-once, never lost while within the bounds);
//! - at most `limit` status lines and `bytes` bytes are held: past either
//!   the oldest line that a later line of the same service supersedes is
//!   dropped first (and counted), so the latest status of every service is
//!   still sent (it is kept apart, with the services);
//! - `agent.service_added`/`removed` are sent live only; after an outage
//!   `agent.ready` carries the services as they are. An edited service
//!   (added again with other details) is sent as a fresh `agent.ready`,
//!   which upstream's backend takes as an update in place that keeps the
//!   service's status, and the unchanged status the hub repeats after it
//!   is not sent;
//! - every message leaves with `ssi::status::clean_message` applied, the
//!   rule the notification hooks get too: no NUL or other control
//!   character reaches a collector's database.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use ssi::status::clean_message;
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

/// `agent.service_status_update`, serialized in the hub's field order.
#[derive(Serialize)]
struct StatusMsg<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: StatusData<'a>,
}

#[derive(Serialize)]
struct StatusData<'a> {
    service_id: &'a str,
    status: &'a str,
    message: &'a str,
    timestamp: &'a str,
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
    status: Option<String>,
    message: Option<String>,
    timestamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `agent.service_status_update` of this service.
    Status(String),
    /// `agent.ready` (an edit), `agent.service_added` or `agent.service_removed`.
    Change,
}

#[derive(Debug, Clone)]
struct Event {
    seq: u64,
    kind: Kind,
    payload: Bytes,
}

/// How much one collector may hold, and what it gets after an outage.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Status lines held, at most.
    pub lines: usize,
    /// Bytes of held events, at most.
    pub bytes: usize,
    /// Full catch-up (`--push-history`) rather than latest-only.
    pub history: bool,
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
    /// Bytes of the payloads in `held`.
    held_bytes: usize,
    bounds: Bounds,
    next_seq: u64,
    /// Status lines dropped over the limit since the last `take_dropped`.
    dropped: u64,
    /// Held lines superseded by a later one while the collector was away
    /// (latest-only), since the last `take_superseded`.
    superseded: u64,
    /// The service just sent as edited: the hub repeats its status next.
    edited: Option<String>,
    connected: bool,
}

impl Outbox {
    /// An empty outbox within `bounds`.
    pub fn new(bounds: Bounds) -> Outbox {
        Outbox {
            services: BTreeMap::new(),
            latest: BTreeMap::new(),
            held: VecDeque::new(),
            sent: 0,
            statuses: 0,
            held_bytes: 0,
            bounds: Bounds {
                lines: bounds.lines.max(1),
                ..bounds
            },
            next_seq: 1,
            dropped: 0,
            superseded: 0,
            edited: None,
            connected: false,
        }
    }

    /// Whether this collector gets the full catch-up.
    pub fn history(&self) -> bool {
        self.bounds.history
    }

    /// Takes in a hub snapshot (`agent.ready`, then statuses): the services
    /// are replaced. With `hold`, every status that differs from the one
    /// known is held like a new line (after a lost stretch of the hub's
    /// stream, the newest statuses are what must still be sent).
    pub fn reset(&mut self, snapshot: &[Bytes], hold: bool) {
        self.edited = None;
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
                    let payload = clean(payload, &env.data);
                    let Some(id) = env.data.service_id else {
                        continue;
                    };
                    if !hold {
                        let seq = self.next_seq();
                        self.latest.insert(id, (seq, payload));
                    } else if self.latest.get(&id).map_or(true, |(_, p)| *p != payload) {
                        self.push_status(id, payload);
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
        let edited = self.edited.take();
        match env.kind.as_str() {
            "agent.service_status_update" => {
                let payload = clean(&payload, &env.data);
                let Some(id) = env.data.service_id else {
                    return false;
                };
                if edited.as_ref() == Some(&id)
                    && self.latest.get(&id).is_some_and(|(_, p)| *p == payload)
                {
                    // The hub's repeat after an edit: the collector kept it.
                    return false;
                }
                self.push_status(id, payload);
                self.connected
            }
            "agent.service_added" => {
                let Some(s) = env.data.service else {
                    return false;
                };
                let id = s.id.clone();
                match self.services.insert(id.clone(), s) {
                    Some(old) if self.services.get(&id) != Some(&old) => {
                        self.edited = Some(id);
                        let ready = self.ready();
                        self.push_change(ready)
                    }
                    Some(_) => false,
                    None => self.push_change(payload),
                }
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

    /// `agent.ready` with the services as they are.
    fn ready(&self) -> Bytes {
        let ready = Ready {
            kind: "agent.ready",
            data: ReadyData {
                services: self.services.values().collect(),
            },
        };
        // Serializing plain structs of strings cannot fail.
        Bytes::from(serde_json::to_vec(&ready).unwrap_or_default())
    }

    fn push_change(&mut self, payload: Bytes) -> bool {
        if !self.connected {
            // The next connection's agent.ready says it.
            return false;
        }
        let seq = self.next_seq();
        self.held_bytes += payload.len();
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
        let before = self.latest.insert(id.clone(), (seq, payload.clone()));
        if !self.connected && !self.bounds.history {
            // Latest-only: the next connection sends `latest`; nothing to hold.
            if before.is_some() {
                self.superseded += 1;
            }
            return;
        }
        self.held_bytes += payload.len();
        self.held.push_back(Event {
            seq,
            kind: Kind::Status(id),
            payload,
        });
        self.statuses += 1;
        while self.statuses > self.bounds.lines || self.held_bytes > self.bounds.bytes {
            if !self.drop_one() {
                break;
            }
        }
    }

    /// Drops the oldest held status line that a later one supersedes (or,
    /// when every held line is its service's latest, the oldest: its
    /// service's status then comes with the next snapshot). False when no
    /// status line is held.
    fn drop_one(&mut self) -> bool {
        let superseded = |e: &Event| match &e.kind {
            Kind::Status(id) => self.latest.get(id).map_or(true, |(seq, _)| *seq != e.seq),
            Kind::Change => false,
        };
        let at = self.held.iter().position(superseded).or_else(|| {
            self.held
                .iter()
                .position(|e| matches!(e.kind, Kind::Status(_)))
        });
        let Some(at) = at else { return false };
        if let Some(e) = self.held.remove(at) {
            self.held_bytes -= e.payload.len();
        }
        if at < self.sent {
            self.sent -= 1;
        }
        self.statuses -= 1;
        self.dropped += 1;
        true
    }

    /// Keeps the held events `keep` accepts, keeping the counts true.
    fn retain_held(&mut self, mut keep: impl FnMut(&Event) -> bool) {
        let (mut statuses, mut bytes) = (0, 0);
        self.held.retain(|e| {
            let k = keep(e);
            if k {
                statuses += usize::from(matches!(e.kind, Kind::Status(_)));
                bytes += e.payload.len();
            }
            k
        });
        self.statuses = statuses;
        self.held_bytes = bytes;
    }

    /// Starts a connection: returns what it begins with (`agent.ready`,
    /// then, latest-only, every service's latest status in log order; with
    /// history, the latest status of every service without a held line)
    /// and makes every held line due again, in log order.
    pub fn connect(&mut self) -> Vec<Bytes> {
        self.connected = true;
        self.sent = 0;
        self.edited = None;
        let mut out = vec![self.ready()];
        if !self.bounds.history {
            self.retain_held(|_| false);
            let mut latest: Vec<&(u64, Bytes)> = self
                .latest
                .iter()
                .filter(|(id, _)| self.services.contains_key(*id))
                .map(|(_, l)| l)
                .collect();
            latest.sort_by_key(|(seq, _)| *seq);
            out.extend(latest.into_iter().map(|(_, p)| p.clone()));
            return out;
        }
        // Lines of services since removed would name an unknown service.
        let services = std::mem::take(&mut self.services);
        self.retain_held(|e| matches!(&e.kind, Kind::Status(id) if services.contains_key(id)));
        self.services = services;
        let held: HashSet<u64> = self.held.iter().map(|e| e.seq).collect();
        for (id, (seq, payload)) in &self.latest {
            if !held.contains(seq) && self.services.contains_key(id) {
                out.push(payload.clone());
            }
        }
        out
    }

    /// Ends a connection: with history, what it did not get acknowledged is
    /// held again; latest-only, the next connection sends every latest.
    pub fn disconnect(&mut self) {
        self.connected = false;
        self.sent = 0;
        self.edited = None;
        let history = self.bounds.history;
        self.retain_held(|e| history && matches!(e.kind, Kind::Status(_)));
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
                self.held_bytes -= e.payload.len();
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

    /// Bytes of the events held.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Status lines dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// Lines superseded while away (latest-only) since the last call.
    pub fn take_superseded(&mut self) -> u64 {
        std::mem::take(&mut self.superseded)
    }
}

/// `payload` with its message cleaned by `ssi::status::clean_message`,
/// re-encoded only when that changed it.
fn clean(payload: &Bytes, data: &Data) -> Bytes {
    let (Some(id), Some(status), Some(message), Some(timestamp)) = (
        &data.service_id,
        &data.status,
        &data.message,
        &data.timestamp,
    ) else {
        return payload.clone();
    };
    match clean_message(message) {
        std::borrow::Cow::Borrowed(_) => payload.clone(),
        std::borrow::Cow::Owned(m) => {
            let msg = StatusMsg {
                kind: "agent.service_status_update",
                data: StatusData {
                    service_id: id,
                    status,
                    message: &m,
                    timestamp,
                },
            };
            Bytes::from(serde_json::to_vec(&msg).unwrap_or_default())
        }
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

    /// Full catch-up, bounded by count only.
    fn hist(lines: usize) -> Bounds {
        Bounds {
            lines,
            bytes: usize::MAX,
            history: true,
        }
    }

    /// Latest-only, bounded by count only.
    fn latest(lines: usize) -> Bounds {
        Bounds {
            history: false,
            ..hist(lines)
        }
    }

    fn drain(o: &mut Outbox) -> Vec<Bytes> {
        let (b, seq) = o.next_batch(usize::MAX);
        o.ack(seq);
        b
    }

    #[test]
    fn ready_is_byte_for_byte_the_hubs() {
        let mut o = Outbox::new(hist(10));
        o.reset(&[ready(&["a", "b"])], false);
        let first = o.connect().remove(0);
        assert_eq!(first, ready(&["a", "b"]));
    }

    #[test]
    fn first_connection_is_the_snapshot_then_live() {
        let mut o = Outbox::new(hist(10));
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
        let mut o = Outbox::new(hist(10));
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
        let mut o = Outbox::new(hist(10));
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
        let mut o = Outbox::new(hist(3));
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
        let mut o = Outbox::new(hist(2));
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
        let mut o = Outbox::new(hist(10));
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
        let mut o = Outbox::new(hist(10));
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

    /// 28.2: after an outage a latest-only collector gets each service's
    /// latest status once, in log order across services, and nothing else;
    /// lines sent but not acknowledged that were superseded are not resent.
    #[test]
    fn latest_only_after_an_outage() {
        let mut o = Outbox::new(latest(10_000));
        o.reset(
            &[
                ready(&["a", "b", "c"]),
                status("a", "a0"),
                status("b", "b0"),
                status("c", "c0"),
            ],
            false,
        );
        assert_eq!(names(&o.connect()), ["agent.ready", "a0", "b0", "c0"]);
        o.apply(status("a", "a1"));
        let (b, _) = o.next_batch(10);
        assert_eq!(names(&b), ["a1"]);
        // Lost before a1 was acknowledged.
        o.disconnect();
        for (id, m) in [("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3")] {
            assert!(!o.apply(status(id, m)));
        }
        assert_eq!(o.held_statuses(), 0, "nothing held while away");
        assert_eq!(o.take_superseded(), 4);
        assert_eq!(names(&o.connect()), ["agent.ready", "c0", "b2", "a3"]);
        assert!(drain(&mut o).is_empty());
        // Live lines are all sent.
        o.apply(status("a", "a4"));
        o.apply(status("a", "a5"));
        assert_eq!(names(&drain(&mut o)), ["a4", "a5"]);
    }

    /// 21.3: the held lines are bounded in bytes too; superseded lines go
    /// first, and every service's latest is still sent.
    #[test]
    fn held_lines_are_bounded_in_bytes() {
        let big = "x".repeat(1000);
        let mut o = Outbox::new(Bounds {
            lines: 10_000,
            bytes: 10_000,
            history: true,
        });
        o.reset(&[ready(&["a", "b"])], false);
        o.apply(status("b", &format!("b{big}")));
        for i in 0..100 {
            o.apply(status("a", &format!("a{i}{big}")));
        }
        assert!(o.held_bytes() <= 10_000, "{}", o.held_bytes());
        // Each line is a little over 1,000 bytes: 8 fit.
        assert_eq!(o.held_statuses(), 8);
        assert_eq!(o.take_dropped(), 101 - 8);
        o.connect();
        let got = names(&drain(&mut o));
        // b's only line is its latest: kept though the oldest.
        assert!(got[0].starts_with('b'), "{}", &got[0][..3]);
        assert!(got[7].starts_with("a99"));
        assert_eq!(o.held_bytes(), 0);
        // Sent but unacknowledged lines count, and go first when superseded.
        o.apply(status("a", &format!("s1{big}")));
        let _ = o.next_batch(10);
        for i in 0..20 {
            o.apply(status("a", &format!("s{}{big}", i + 2)));
        }
        assert!(o.held_bytes() <= 10_000);
        o.disconnect();
        o.connect();
        let got = names(&drain(&mut o));
        assert!(got.last().unwrap().starts_with("s21"));
    }

    /// 28.3: an edit goes out as agent.ready (an update in place on the
    /// backend), without a removal, and the hub's repeat of the unchanged
    /// status is not sent; a new service is still announced as added.
    #[test]
    fn an_edit_is_a_ready_and_no_repeated_status() {
        let mut o = Outbox::new(latest(10));
        o.reset(&[ready(&["a"]), status("a", "a0")], false);
        o.connect();
        let edit = Bytes::from(
            r#"{"type":"agent.service_added","data":{"service":{"id":"a","name":"renamed","description":"","version":"2","schedule":"daily"}}}"#,
        );
        assert!(o.apply(edit));
        assert!(!o.apply(status("a", "a0")));
        assert!(o.apply(added("b")));
        assert!(o.apply(status("b", "b0")));
        let got = drain(&mut o);
        assert_eq!(names(&got), ["agent.ready", "agent.service_added", "b0"]);
        let ready: serde_json::Value = serde_json::from_slice(&got[0]).unwrap();
        assert_eq!(ready["data"]["services"][0]["name"], "renamed");
        // A real new status after an edit is sent.
        let edit2 = Bytes::from(
            r#"{"type":"agent.service_added","data":{"service":{"id":"a","name":"again","description":"","version":"3","schedule":"daily"}}}"#,
        );
        o.apply(edit2);
        assert!(o.apply(status("a", "a1")));
        assert_eq!(names(&drain(&mut o)), ["agent.ready", "a1"]);
    }

    /// 28.4: NUL and other controls in a message leave as U+FFFD.
    #[test]
    fn messages_are_cleaned() {
        let mut o = Outbox::new(latest(10));
        o.reset(&[ready(&["a"])], false);
        o.connect();
        o.apply(status("a", r"nul\u0000 esc\u001b tab\t del\u007f"));
        let got = drain(&mut o);
        let v: serde_json::Value = serde_json::from_slice(&got[0]).unwrap();
        assert_eq!(
            v["data"]["message"],
            "nul\u{fffd} esc\u{fffd} tab\t del\u{fffd}"
        );
        assert_eq!(v["data"]["service_id"], "a");
        assert_eq!(v["data"]["timestamp"], "2026-11-26T10:00:00Z");
        let text = String::from_utf8_lossy(&got[0]);
        assert!(text.starts_with(r#"{"type":"agent.service_status_update","data":{"service_id":"a","status":"OK","message":"#), "{text}");
    }
}

//! Step 3 of the data flow, what the hub's lines feed besides the
//! WebSocket peers: the metrics registry ([`metrics`]), each check's last
//! run from systemd ([`runs`]) and the connections out to collectors
//! ([`push`]); [`rendered`] keeps the last `/metrics` body until it changes.

pub mod metrics;
pub mod push;
pub mod rendered;
pub mod runs;

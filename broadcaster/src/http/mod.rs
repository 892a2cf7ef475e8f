//! Step 4 of the data flow, where a line leaves: the port. [`accept`]
//! takes connections, [`context`] is what their threads share, [`pending`]
//! bounds those still sending their request, [`request`] reads and answers
//! plain HTTP, [`routes`] picks the answer, [`websocket`] serves one
//! WebSocket peer, [`writers`] the few threads that write to all of them,
//! [`history`] the history endpoints, [`metrics`] the metrics page.

pub mod accept;
pub mod context;
pub mod history;
pub mod metrics;
pub mod pending;
pub mod request;
pub mod routes;
pub mod websocket;
pub mod writers;

// The plain-HTTP reading and answering every other part of the port uses.
pub use request::*;

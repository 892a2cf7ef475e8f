//! Step 4 of the data flow, where a line leaves: the port. [`accept`] takes
//! connections, [`pending`] bounds those still sending their request,
//! [`request`] reads and answers plain HTTP, [`routes`] picks the answer,
//! [`websocket`] serves one WebSocket peer, [`history`] the history
//! endpoints.

pub mod accept;
pub mod history;
pub mod pending;
pub mod request;
pub mod routes;
pub mod websocket;

pub use request::{
    linger_close, read_request, respond, respond_dashboard, respond_text, Access, ReadError,
    Request, LINGER,
};

//! Step 4 of the data flow: `GET /metrics`: the hub's metrics registry
//! ([`crate::sink::metrics`]) rendered in the format the client's `Accept`
//! header prefers.

use std::io;
use std::net::TcpStream;

use jiff::Timestamp;
use ssi::metrics::Format;

use crate::http::{self, Request};
use crate::sink::metrics::Registry;

/// Answers `GET /metrics` in the format the `Accept` header prefers.
pub fn respond(
    stream: &mut TcpStream,
    registry: &Registry,
    clients: u64,
    req: &Request,
    head_only: bool,
) -> io::Result<()> {
    let format = Format::negotiate(req.header("accept"));
    let body = registry.body(clients, Timestamp::now(), format);
    http::respond(
        stream,
        200,
        format.content_type(),
        "Vary: Accept\r\n",
        body.as_bytes(),
        head_only,
    )
}

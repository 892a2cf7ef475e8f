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

/// Answers `GET /api/quiet`: `{"<id>": {"silenced": …, "acknowledged":
/// …, "maintenance": …}}` for every check, each null or who, why, since
/// and until when (as `ssi-status list --json` has them). The dashboard
/// reads it; WebSocket clients get no new message type for it.
pub fn respond_quiet(
    stream: &mut TcpStream,
    registry: &Registry,
    head_only: bool,
) -> io::Result<()> {
    let body =
        serde_json::to_vec(&registry.quiet(Timestamp::now())).unwrap_or_else(|_| b"{}".to_vec());
    http::respond(
        stream,
        200,
        "application/json",
        "Cache-Control: no-store\r\n",
        &body,
        head_only,
    )
}

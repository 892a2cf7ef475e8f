//! Step 4 of the data flow: what a request gets: the checks every request
//! passes (one value for each header a proxy may have checked, Host and
//! Origin, the method), then the route table, a `match` on the path.

use std::net::{IpAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Instant;

use crate::http::context::Context;
use crate::http::metrics;
use crate::http::pending::Slot;
use crate::http::websocket;
use crate::http::{self, ReadError, Request, LINGER};

/// Serves one accepted connection from `peer` to the end. `slot` counts it
/// among the pending request heads until its head is read; then it needs a
/// place among the connections being answered (else it is refused at
/// once), which it keeps to the end, or until it is a WebSocket client.
pub fn handle(ctx: &Context, mut stream: TcpStream, slot: Slot, peer: IpAddr) {
    // One deadline for the whole head, however it trickles in.
    let deadline = Instant::now() + ctx.tuning.handshake_timeout;
    let req = http::read_request(&mut stream, deadline);
    // Before the socket can be closed: the slot names its descriptor.
    drop(slot);
    if matches!(req, Err(ReadError::Gone)) {
        return;
    }
    let Some(place) = ctx.answering.admit(peer, stream.as_raw_fd()) else {
        http::refuse(stream, "too many requests being answered");
        return;
    };
    serve(ctx, stream, req, peer, place);
}

/// Answers a connection whose head has been read, holding `place` (the
/// last parameter: given back before the socket closes).
fn serve(
    ctx: &Context,
    mut stream: TcpStream,
    req: Result<Request, ReadError>,
    peer: IpAddr,
    place: Slot,
) {
    let req = match req {
        Ok(r) => r,
        Err(ReadError::Gone) => return,
        Err(ReadError::Bad(code, msg)) => {
            let _ = http::respond_text(&mut stream, code, "", msg);
            return;
        }
    };
    let _ = stream.set_write_timeout(Some(ctx.tuning.handshake_timeout));
    if admit(ctx, &mut stream, &req) {
        route(ctx, stream, req, peer, place);
    }
}

/// Whether the request may be routed; if not, it has been answered.
fn admit(ctx: &Context, stream: &mut TcpStream, req: &Request) -> bool {
    // Two values where one is expected: which one would a proxy have
    // checked? Refuse rather than guess.
    if let Some(name) = [
        "Host",
        "Origin",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
    ]
    .into_iter()
    .find(|n| req.count(&n.to_ascii_lowercase()) > 1)
    {
        let _ = http::respond_text(stream, 400, "", &format!("duplicate {name} header\n"));
        http::linger_close(stream, LINGER);
        return false;
    }
    if let Err(why) = ctx.access.check(req) {
        let _ = http::respond_text(stream, 403, "", &format!("forbidden: {why}\n"));
        return false;
    }
    if req.method != "GET" && req.method != "HEAD" {
        let _ = http::respond_text(stream, 405, "Allow: GET, HEAD\r\n", "method not allowed\n");
        return false;
    }
    true
}

/// The route table: one arm per path. `place` as for [`serve`].
fn route(ctx: &Context, mut stream: TcpStream, req: Request, peer: IpAddr, place: Slot) {
    let head_only = req.method == "HEAD";
    let result = match req.path.as_str() {
        "/" if req.is_upgrade() && !head_only => {
            return websocket::upgrade(ctx, stream, req, place)
        }
        "/" => {
            let host = req.header("host").unwrap_or("localhost");
            http::respond_dashboard(&mut stream, host, head_only)
        }
        "/metrics" => metrics::respond(
            &mut stream,
            &ctx.hub.metrics,
            ctx.clients() as u64,
            &req,
            head_only,
        ),
        "/api/quiet" => {
            crate::http::metrics::respond_quiet(&mut stream, &ctx.hub.metrics, head_only)
        }
        "/api/refused" => crate::http::history::respond_refused(&mut stream, &ctx.hub, head_only),
        "/healthz" => http::respond(
            &mut stream,
            200,
            "text/plain; charset=utf-8",
            "",
            b"ok\n",
            head_only,
        ),
        // /api/services/<id>/history and /api/history, else 404.
        path => match ctx.history.answer(&ctx.hub, path, &req.query, peer) {
            Some(a) => {
                let kind = if a.is_json() {
                    "application/json"
                } else {
                    "text/plain; charset=utf-8"
                };
                let extra = if a.code == 503 {
                    "Retry-After: 5\r\n"
                } else {
                    ""
                };
                http::respond(&mut stream, a.code, kind, extra, &a.body, head_only)
            }
            None => http::respond_text(&mut stream, 404, "", "not found\n"),
        },
    };
    if result.is_ok() {
        linger(ctx, stream, peer, place);
    }
}

/// The lingering close of an answered connection, which gives its place
/// among those being answered for one among the lingering: there, when all
/// are taken, the oldest is cut short (its answer is out; the linger only
/// spares it a reset), so lingering never keeps anyone out.
fn linger(ctx: &Context, mut stream: TcpStream, peer: IpAddr, place: Slot) {
    drop(place);
    let _lingering = ctx.lingering.admit_oldest_out(peer, stream.as_raw_fd());
    http::linger_close(&mut stream, LINGER);
}

//! What a request gets: the checks every request passes (one value for each
//! header a proxy may have checked, Host and Origin, the method), then the
//! route table, a `match` on the path.

use std::net::TcpStream;
use std::time::Instant;

use crate::client::{self, Context};
use crate::http::{self, ReadError, Request, LINGER};
use crate::pending::Slot;

/// Serves one accepted connection to the end. `slot` counts it among the
/// pending request heads until its head is read.
pub fn handle(ctx: &Context, mut stream: TcpStream, slot: Slot) {
    // One deadline for the whole head, however it trickles in.
    let deadline = Instant::now() + ctx.tuning.handshake_timeout;
    let req = http::read_request(&mut stream, deadline);
    // Before the socket can be closed: the slot names its descriptor.
    drop(slot);
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
        route(ctx, stream, req);
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

/// The route table: one arm per path.
fn route(ctx: &Context, mut stream: TcpStream, req: Request) {
    let head_only = req.method == "HEAD";
    let result = match req.path.as_str() {
        "/" if req.is_upgrade() && !head_only => return client::upgrade(ctx, stream, req),
        "/" => {
            let host = req.header("host").unwrap_or("localhost");
            http::respond_dashboard(&mut stream, host, head_only)
        }
        "/metrics" => crate::metrics::respond(
            &mut stream,
            &ctx.hub.metrics,
            ctx.clients() as u64,
            &req,
            head_only,
        ),
        "/api/quiet" => crate::metrics::respond_quiet(&mut stream, &ctx.hub.metrics, head_only),
        "/healthz" => http::respond(
            &mut stream,
            200,
            "text/plain; charset=utf-8",
            "",
            b"ok\n",
            head_only,
        ),
        // /api/services/<id>/history and /api/history, else 404.
        path => match ctx.history.answer(&ctx.hub, path, &req.query) {
            Some(a) => {
                let kind = if a.is_json() {
                    "application/json"
                } else {
                    "text/plain; charset=utf-8"
                };
                http::respond(&mut stream, a.code, kind, "", &a.body, head_only)
            }
            None => http::respond_text(&mut stream, 404, "", "not found\n"),
        },
    };
    if result.is_ok() {
        http::linger_close(&mut stream, LINGER);
    }
}

//! Step 4 of the data flow: the HTTP side of the port: reading a request
//! head within the handshake deadline, the Host/Origin checks, and the
//! plain responses (dashboard, health check, errors). WebSocket upgrades
//! are recognised here and completed by `websocket`.
//!
//! Hand-written on `httparse` rather than with tungstenite's server
//! handshake or an HTTP server crate: one deadline for the whole head
//! however it trickles in, a size bound, the Host/Origin rules and plain
//! pages on the same port, in a blocking thread without an async runtime.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The largest request head accepted (browsers send well under 8 KiB).
const MAX_HEAD: usize = 8 * 1024;
const MAX_HEADERS: usize = 48;

/// How long a closed connection's input is drained.
pub const LINGER: Duration = Duration::from_millis(500);

/// The built-in dashboard page.
pub const DASHBOARD: &str = include_str!("dashboard.html");

/// A parsed request head.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The query string (after `?`, without it; `""` when none).
    pub query: String,
    /// The minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header names lowercased, values as sent (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    /// Bytes read after the head (a client may pipeline its first frame).
    pub rest: Vec<u8>,
}

impl Request {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times a header (name in lowercase) was sent.
    pub fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n == name).count()
    }

    /// Whether a comma-separated header contains `token` (case-insensitive).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether this asks for a WebSocket upgrade.
    pub fn is_upgrade(&self) -> bool {
        self.header_has_token("upgrade", "websocket")
            && self.header_has_token("connection", "upgrade")
    }
}

/// Half-closes, then drains the peer's input for up to `wait` in all:
/// closing a socket with unread input makes the kernel send a reset and
/// discard what we still had queued for the peer (such as a close frame).
/// One deadline, not one per read: a peer sending a byte now and then must
/// not keep the thread.
pub fn linger_close(stream: &mut TcpStream, wait: Duration) {
    let deadline = Instant::now() + wait;
    let _ = stream.set_nonblocking(false);
    let _ = stream.shutdown(Shutdown::Write);
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}

/// Answers 503 and closes, without ever blocking: from the accept loop,
/// or from a connection thread that may not stay. Whatever the client
/// already sent is read first, so that the close is a FIN and not a reset
/// that could destroy the answer in flight.
pub fn refuse(stream: TcpStream, why: &str) {
    let _ = stream.set_nonblocking(true);
    let mut buf = [0u8; 2048];
    for _ in 0..8 {
        match (&stream).read(&mut buf) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let body = format!("{why}, try again later\n");
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = (&stream).write(resp.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// Deadline passed or the peer went away: just drop the connection.
    Gone,
    /// Unparseable or too big: answer with this status.
    Bad(u16, &'static str),
}

/// Reads one request head, giving up at `deadline`.
pub fn read_request(stream: &mut TcpStream, deadline: Instant) -> Result<Request, ReadError> {
    // Buffers on the heap, not the stack: a connection thread keeps every
    // stack page it ever touched, for its whole life.
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = vec![0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Gone);
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|_| ReadError::Gone)?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err(ReadError::Gone),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(ReadError::Gone),
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let target = req.path.unwrap_or("/");
                let target = target.split('#').next().unwrap_or("/");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let (path, query) = (path.to_string(), query.to_string());
                let method = req.method.unwrap_or("").to_string();
                let version = req.version.unwrap_or(0);
                let headers = req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).trim().to_string(),
                        )
                    })
                    .collect();
                let rest = buf[len..].to_vec();
                return Ok(Request {
                    method,
                    path,
                    query,
                    version,
                    headers,
                    rest,
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(ReadError::Bad(431, "request header too large\n"))
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ReadError::Bad(431, "too many request headers\n"))
            }
            Err(_) => return Err(ReadError::Bad(400, "bad request\n")),
        }
    }
}

/// Which `Host` and `Origin` values are accepted.
#[derive(Debug, Clone)]
pub struct Access {
    hosts: Vec<String>,
    origins: Vec<String>,
}

impl Access {
    /// The rules for a server listening on `local`, plus the extra values
    /// given with `--allow-host` / `--allow-origin` (already lowercased).
    pub fn new(local: SocketAddr, allow_hosts: &[String], allow_origins: &[String]) -> Access {
        let port = local.port();
        let mut hosts = vec![
            local.to_string(),
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ];
        // Browsers leave out the default port.
        if port == 80 {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
            if local.ip().is_ipv6() {
                hosts.push(format!("[{}]", local.ip()));
            } else {
                hosts.push(local.ip().to_string());
            }
        }
        for h in allow_hosts {
            hosts.push(h.clone());
            if !h.contains(':') || h.ends_with(']') {
                hosts.push(format!("{h}:{port}"));
            }
        }
        let mut origins: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|h| format!("http://{h}:{port}"))
            .collect();
        if port == 80 {
            origins.extend(["localhost", "127.0.0.1", "[::1]"].map(|h| format!("http://{h}")));
        }
        origins.extend(allow_origins.iter().cloned());
        Access { hosts, origins }
    }

    /// `Err(reason)` when the request must be refused with 403.
    pub fn check(&self, req: &Request) -> Result<(), String> {
        let host = match req.header("host") {
            None => return Err("missing Host header".into()),
            Some(h) => {
                let h = h.to_ascii_lowercase();
                if !self.hosts.contains(&h) {
                    return Err(format!("Host {h:?} is not allowed (see --allow-host)"));
                }
                h
            }
        };
        if let Some(o) = req.header("origin") {
            let o = o.trim_end_matches('/').to_ascii_lowercase();
            // The dashboard's own page, served under an allowed Host, is
            // same-origin: the Host check already vouches for that name.
            let same_origin = o == format!("http://{host}") || o == format!("https://{host}");
            if !same_origin && !self.origins.contains(&o) {
                return Err(format!("Origin {o:?} is not allowed (see --allow-origin)"));
            }
        }
        Ok(())
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Writes a complete response and closes the connection afterwards
/// (`Connection: close`; one request per connection keeps this simple).
pub fn respond(
    stream: &mut TcpStream,
    code: u16,
    content_type: &str,
    extra_headers: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n{extra_headers}\r\n",
        reason(code),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// A short plain-text response.
pub fn respond_text(stream: &mut TcpStream, code: u16, extra: &str, body: &str) -> io::Result<()> {
    respond(
        stream,
        code,
        "text/plain; charset=utf-8",
        extra,
        body.as_bytes(),
        false,
    )
}

/// The dashboard page, locked down: nothing but itself and a WebSocket
/// back to the host it came from (already checked against the allow-list).
pub fn respond_dashboard(stream: &mut TcpStream, host: &str, head_only: bool) -> io::Result<()> {
    let csp = format!(
        "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; \
         script-src 'unsafe-inline'; img-src data:; connect-src 'self' ws://{host} wss://{host}; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n\
         Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n"
    );
    respond(
        stream,
        200,
        "text/html; charset=utf-8",
        &csp,
        DASHBOARD.as_bytes(),
        head_only,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            version: 1,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            rest: vec![],
        }
    }

    #[test]
    fn host_and_origin_rules() {
        let a = Access::new(
            "127.0.0.1:5000".parse().unwrap(),
            &["status.example.com".into()],
            &["https://status.example.com".into()],
        );
        assert!(a.check(&req(&[("host", "127.0.0.1:5000")])).is_ok());
        assert!(a.check(&req(&[("host", "LOCALHOST:5000")])).is_ok());
        assert!(a.check(&req(&[("host", "[::1]:5000")])).is_ok());
        assert!(a.check(&req(&[("host", "status.example.com")])).is_ok());
        assert!(a
            .check(&req(&[("host", "status.example.com:5000")]))
            .is_ok());
        assert!(a.check(&req(&[("host", "evil.example:5000")])).is_err());
        assert!(a.check(&req(&[("host", "localhost:5001")])).is_err());
        assert!(a.check(&req(&[])).is_err());
        let h = ("host", "localhost:5000");
        assert!(a
            .check(&req(&[h, ("origin", "http://localhost:5000")]))
            .is_ok());
        assert!(a
            .check(&req(&[h, ("origin", "https://status.example.com")]))
            .is_ok());
        assert!(a
            .check(&req(&[h, ("origin", "http://evil.example")]))
            .is_err());
        assert!(a.check(&req(&[h, ("origin", "null")])).is_err());
        assert!(a
            .check(&req(&[h, ("origin", "http://localhost:5001")]))
            .is_err());
    }

    #[test]
    fn upgrade_tokens() {
        let r = req(&[
            ("upgrade", "WebSocket"),
            ("connection", "keep-alive, Upgrade"),
        ]);
        assert!(r.is_upgrade());
        assert!(!req(&[("connection", "upgrade")]).is_upgrade());
    }
}

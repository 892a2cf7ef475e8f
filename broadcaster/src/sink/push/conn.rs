//! The sender: connects to one collector, sends what its outbox holds,
//! keeps the connection checked with pings, and reconnects on the upstream
//! agent's schedule when it fails.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use tungstenite::client::IntoClientRequest;
use tungstenite::error::{Error as WsError, ProtocolError, TlsError};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Bytes, Connector, HandshakeError, Message, Utf8Bytes, WebSocket};

use super::{jitter, random, tls, Shared, Timing};
use crate::poll::timespec;

type Ws = WebSocket<MaybeTlsStream<Timed>>;

/// The socket, whose every read and write during the handshake is bounded
/// by what is left of one deadline, so a peer that trickles bytes cannot
/// stretch the handshake past it.
pub struct Timed {
    sock: TcpStream,
    deadline: Option<Instant>,
}

impl Timed {
    fn arm(&self) -> io::Result<()> {
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.sock.set_read_timeout(Some(left))?;
            self.sock.set_write_timeout(Some(left))?;
        }
        Ok(())
    }
}

impl io::Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        self.sock.read(buf)
    }
}

impl io::Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        self.sock.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

/// Messages handed to tungstenite per look at the outbox.
const BATCH: usize = 64;
/// Largest message accepted from a collector (it has nothing to tell us).
const MAX_INCOMING: usize = 64 * 1024;
/// How long the close frame may take at shutdown.
const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// How long, after the collector's close frame, it may take to close TCP
/// (RFC 6455 7.1.1: the server closes it first) before we do.
const CLOSED_TCP_WAIT: Duration = Duration::from_secs(2);
/// Stack size of a name lookup thread (getaddrinfo needs more than a little).
const LOOKUP_STACK: usize = 128 * 1024;

/// A name lookup running in its own thread, so that a resolver that never
/// answers holds up nothing: the sender waits for it at most what is left
/// of the handshake's deadline, and the next attempt waits for the same
/// lookup rather than starting another.
struct Lookup {
    host: String,
    port: u16,
    answer: mpsc::Receiver<io::Result<Vec<SocketAddr>>>,
}

impl Lookup {
    fn start(host: &str, port: u16) -> Result<Lookup, String> {
        let (tx, answer) = mpsc::channel();
        let name = host.to_string();
        std::thread::Builder::new()
            .name("ssi-push-dns".into())
            .stack_size(LOOKUP_STACK)
            .spawn(move || {
                let _ = tx.send(
                    (name.as_str(), port)
                        .to_socket_addrs()
                        .map(Iterator::collect),
                );
            })
            .map_err(|e| format!("cannot start a name lookup: {e}"))?;
        Ok(Lookup {
            host: host.to_string(),
            port,
            answer,
        })
    }
}

/// The addresses of `host`, waiting at most until `deadline`. A lookup
/// still running from an earlier attempt is waited for, not repeated.
fn resolve(
    host: &str,
    port: u16,
    deadline: Instant,
    pending: &mut Option<Lookup>,
    timing: &Timing,
) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let lookup = match pending.take() {
        Some(l) if l.host == host && l.port == port => l,
        _ => Lookup::start(host, port)?,
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match lookup.answer.recv_timeout(left) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            *pending = Some(lookup);
            Err(format!(
                "cannot resolve {host}: no answer from the name resolver within {} s",
                secs(timing.handshake)
            ))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(format!("cannot resolve {host}: the lookup failed"))
        }
    }
}

/// Connects, sends, reconnects, until told to stop.
pub fn send_loop(shared: &Shared, tls: &Arc<rustls::ClientConfig>, timing: &Timing) {
    let shown = shared.target.shown();
    let mut failures: u32 = 0;
    let mut lookup = None;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        match connect(shared, tls, timing, &mut lookup) {
            Ok(ws) => {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let why = session(ws, shared, timing);
                shared.connected.store(false, Ordering::SeqCst);
                shared.outbox().disconnect();
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                failures = 1;
                let wait = jitter(timing.backoff(failures));
                log::info!(
                    "ssi-broadcaster: push {shown}: connection lost: {why}; reconnecting in {:.1} s.",
                    wait.as_secs_f64()
                );
                if shared.sleep_until(Instant::now() + wait) {
                    return;
                }
            }
            Err(why) => {
                failures = failures.saturating_add(1);
                let wait = jitter(timing.backoff(failures));
                log::info!(
                    "ssi-broadcaster: push {shown}: {}; retrying in {:.1} s (attempt {failures} failed).",
                    shared.target.scrub(&why),
                    wait.as_secs_f64()
                );
                if shared.sleep_until(Instant::now() + wait) {
                    return;
                }
            }
        }
    }
}

/// The name lookup, TCP, TLS and the WebSocket upgrade, within
/// `timing.handshake` (each read and write of the handshake is bounded by
/// what is left of it).
fn connect(
    shared: &Shared,
    tls: &Arc<rustls::ClientConfig>,
    timing: &Timing,
    lookup: &mut Option<Lookup>,
) -> Result<Ws, String> {
    let deadline = Instant::now() + timing.handshake;
    let request = shared
        .target
        .url()
        .into_client_request()
        .map_err(|e| format!("invalid URL: {e}"))?;
    let uri = request.uri();
    let host = uri
        .host()
        .ok_or("no host in the URL")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let secure = uri.scheme_str() == Some("wss");
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let addrs = resolve(&host, port, deadline, lookup, timing)?;
    let mut last = format!("{host} has no address");
    let mut stream = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = io_reason(&e, timing),
        }
    }
    let stream = stream.ok_or(last)?;
    let _ = stream.set_nodelay(true);
    let stream = Timed {
        sock: stream,
        deadline: Some(deadline),
    };
    let config = WebSocketConfig::default()
        .write_buffer_size(0)
        .max_write_buffer_size(16 << 20)
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let connector = Connector::Rustls(tls.clone());
    match tungstenite::client_tls_with_config(request, stream, Some(config), Some(connector)) {
        Ok((mut ws, _response)) => {
            match ws.get_mut() {
                MaybeTlsStream::Plain(t) => t.deadline = None,
                MaybeTlsStream::Rustls(t) => t.get_mut().deadline = None,
                _ => {}
            }
            Ok(ws)
        }
        Err(HandshakeError::Interrupted(_)) => Err(format!(
            "handshake timed out after {} s",
            secs(timing.handshake)
        )),
        Err(HandshakeError::Failure(e)) => Err(ws_reason(&e, timing)),
    }
}

/// Seconds as people write them: `0.4`, `60`.
fn secs(d: Duration) -> f64 {
    d.as_millis() as f64 / 1000.0
}

/// Why an I/O operation failed, in a few words.
fn io_reason(e: &io::Error, timing: &Timing) -> String {
    if let Some(t) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls::reason(t);
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            format!("timed out after {} s", secs(timing.handshake))
        }
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::UnexpectedEof => "connection closed by the collector".into(),
        _ => e.to_string(),
    }
}

/// Why a WebSocket operation failed, in a few words.
fn ws_reason(e: &WsError, timing: &Timing) -> String {
    match e {
        // The upstream backend answers 500 to a path it has no route for.
        WsError::Http(r) if matches!(r.status().as_u16(), 404 | 500) => format!(
            "HTTP {} during handshake; the URL path is likely wrong (upstream's \
             collectors take wss://HOST/ws/agent/, the key appended)",
            r.status().as_u16()
        ),
        WsError::Http(r) => format!("HTTP {} during handshake", r.status().as_u16()),
        WsError::Io(e) => io_reason(e, timing),
        WsError::Tls(TlsError::Rustls(e)) => tls::reason(e),
        WsError::Tls(TlsError::InvalidDnsName) => "host name not usable for TLS".into(),
        WsError::ConnectionClosed | WsError::AlreadyClosed => "connection closed".into(),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "connection closed by the collector without a close frame".into()
        }
        WsError::Protocol(p) => format!("protocol error: {p}"),
        other => other.to_string(),
    }
}

fn tcp(ws: &Ws) -> Option<&TcpStream> {
    match ws.get_ref() {
        MaybeTlsStream::Plain(t) => Some(&t.sock),
        MaybeTlsStream::Rustls(s) => Some(&s.get_ref().sock),
        _ => None,
    }
}

/// Streams to a connected collector until the connection fails or the
/// sender is told to stop; returns why it ended.
fn session(mut ws: Ws, shared: &Shared, timing: &Timing) -> String {
    let shown = shared.target.shown();
    match tcp(&ws).map(|s| s.set_nonblocking(true)) {
        Some(Ok(())) => {}
        _ => return "cannot make the socket nonblocking".into(),
    }
    let (prelude, held, dropped, superseded, history) = {
        let mut outbox = shared.outbox();
        let prelude = outbox.connect();
        (
            prelude,
            outbox.held_statuses(),
            outbox.take_dropped(),
            outbox.take_superseded(),
            outbox.history(),
        )
    };
    shared.connected.store(true, Ordering::SeqCst);
    let dropped = if dropped > 0 {
        format!(
            " ({dropped} older held lines were dropped over the limit of {} lines or {} MiB; \
             the latest status of every service is kept)",
            timing.hold,
            timing.hold_bytes >> 20
        )
    } else {
        String::new()
    };
    if history {
        log::info!(
            "ssi-broadcaster: push {shown}: connected; sending {held} held status lines{dropped}."
        );
    } else {
        log::info!(
            "ssi-broadcaster: push {shown}: connected; sending the latest status of {} services \
             ({superseded} lines superseded meanwhile are not sent){dropped}.",
            prelude.len().saturating_sub(1)
        );
    }

    let mut queue: VecDeque<Bytes> = prelude.into();
    // tungstenite holds bytes the socket did not take.
    let mut blocked = false;
    // When the unanswered ping was sent, and what it carried: only the pong
    // that echoes it acknowledges anything.
    let mut ping_out: Option<Instant> = None;
    let mut ping_payload = [0u8; 16];
    // Since when the collector has sent its close frame.
    let mut closed_at: Option<Instant> = None;
    let mut last_ping = Instant::now();
    let mut closed_by: Option<String> = None;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            close(&mut ws, "agent shutting down");
            return "shutting down".into();
        }
        if shared.resync.swap(false, Ordering::SeqCst) {
            close(&mut ws, "resending the snapshot");
            return "resending the snapshot".into();
        }
        let now = Instant::now();
        if ping_out.is_some_and(|t| now.duration_since(t) >= timing.ping * 2) {
            return format!("no pong for {} s", secs(timing.ping * 2));
        }
        if let (Some(why), Some(t)) = (&closed_by, closed_at) {
            // Our answering close frame went out with the flushes since;
            // a collector that keeps TCP open after it is not waited for.
            if now.duration_since(t) >= CLOSED_TCP_WAIT {
                return why.clone();
            }
        }
        shared.clear_wake();

        // Write: what is queued, then more from the outbox, then a ping
        // that acknowledges it all once answered.
        if blocked {
            match ws.flush() {
                Ok(()) => blocked = false,
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return closed_by.unwrap_or_else(|| ws_reason(&e, timing)),
            }
        }
        while !blocked && closed_by.is_none() {
            if queue.is_empty() {
                let (batch, _) = shared.outbox().next_batch(BATCH);
                if batch.is_empty() {
                    break;
                }
                queue.extend(batch);
            }
            while let Some(p) = queue.pop_front() {
                let Ok(text) = Utf8Bytes::try_from(p) else {
                    continue;
                };
                match ws.write(Message::Text(text)) {
                    Ok(()) => {}
                    // Buffered by tungstenite; flushed when the socket drains.
                    Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        blocked = true;
                        break;
                    }
                    Err(e) => return ws_reason(&e, timing),
                }
            }
        }
        // A ping goes only after everything taken from the outbox, so its
        // pong acknowledges exactly what was sent before it.
        let unacked = shared.outbox().has_unacked();
        if queue.is_empty()
            && ping_out.is_none()
            && closed_by.is_none()
            && (unacked || now.duration_since(last_ping) >= timing.ping)
        {
            let seq = shared.outbox().last_sent();
            ping_out = Some(now);
            last_ping = now;
            ping_payload[..8].copy_from_slice(&seq.to_be_bytes());
            ping_payload[8..].copy_from_slice(&random().to_be_bytes());
            match ws.write(Message::Ping(ping_payload.to_vec().into())) {
                Ok(()) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => blocked = true,
                Err(e) => return ws_reason(&e, timing),
            }
        }
        if !blocked {
            match ws.flush() {
                Ok(()) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => blocked = true,
                Err(e) => return closed_by.unwrap_or_else(|| ws_reason(&e, timing)),
            }
        }

        // Read: pongs acknowledge; anything else only proves life.
        let mut got = false;
        loop {
            match ws.read() {
                Ok(Message::Pong(p)) => {
                    got = true;
                    // An unsolicited pong, or one answering an earlier ping,
                    // proves life but acknowledges nothing.
                    if ping_out.is_some() && p[..] == ping_payload[..] {
                        let mut seq = [0u8; 8];
                        seq.copy_from_slice(&ping_payload[..8]);
                        shared.outbox().ack(u64::from_be_bytes(seq));
                        ping_out = None;
                    }
                }
                Ok(Message::Close(f)) => {
                    got = true;
                    closed_at.get_or_insert_with(Instant::now);
                    closed_by = Some(match f {
                        Some(f) => format!(
                            "closed by the collector ({} {})",
                            u16::from(f.code),
                            shared.target.scrub(&f.reason)
                        ),
                        None => "closed by the collector".into(),
                    });
                }
                Ok(_) => got = true,
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(WsError::ConnectionClosed) => {
                    return closed_by.unwrap_or_else(|| "closed by the collector".into())
                }
                Err(e) => return closed_by.unwrap_or_else(|| ws_reason(&e, timing)),
            }
        }
        if got {
            continue;
        }
        // After the collector's close nothing more is sent: what is unsent
        // must not keep this loop awake.
        if !blocked && queue.is_empty() && closed_by.is_none() && shared.outbox().has_unsent() {
            continue;
        }

        // Sleep until the socket, the outbox or a timer wants us.
        let mut until = match ping_out {
            Some(t) => t + timing.ping * 2,
            None => last_ping + timing.ping,
        };
        if let Some(t) = closed_at {
            until = until.min(t + CLOSED_TCP_WAIT);
        }
        let left = until.saturating_duration_since(Instant::now());
        let Some(sock) = tcp(&ws) else {
            return "no socket".into();
        };
        let mut flags = PollFlags::IN;
        if blocked {
            flags |= PollFlags::OUT;
        }
        let wake = shared.waker.fd();
        let mut fds = [PollFd::new(sock, flags), PollFd::new(&wake, PollFlags::IN)];
        if !left.is_zero() {
            let _ = rustix::event::poll(&mut fds, Some(&timespec(left)));
        }
    }
}

/// Sends a close frame (1001) and waits briefly for it to go out.
fn close(ws: &mut Ws, reason: &'static str) {
    let _ = ws.close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: reason.into(),
    }));
    let deadline = Instant::now() + CLOSE_WAIT;
    while Instant::now() < deadline {
        match ws.flush() {
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => return,
        }
    }
}

//! One connection, on its own small thread: the HTTP request, then (for a
//! WebSocket) the snapshot and the live stream.
//!
//! The socket is nonblocking and the thread sleeps in `poll` on it and on
//! its hub eventfd, so an idle client costs no CPU. Data frames are encoded
//! once by the hub and written straight from the shared buffers; tungstenite
//! reads the client's frames and writes the control frames (ping, pong,
//! close), always between two data frames so the two never interleave.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Bytes, Message, WebSocket};

use crate::http::{self, Access, ReadError, Request};
use crate::hub::{Fetch, Hub};
use crate::opts::Tuning;
use crate::pending::{Pending, Slot};

/// Incoming frames and messages larger than this close the connection.
pub const MAX_INCOMING: usize = 4 * 1024;
/// How long a closing client gets to take its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long a closed connection's input is drained.
const LINGER: Duration = Duration::from_millis(500);
/// Frames taken from the hub per lock.
const BATCH: usize = 32;
/// Threads beyond the WebSocket clients and the pending request heads:
/// connections past their head, answering plain HTTP or being refused.
const EXTRA_THREADS: usize = 64;

/// What every connection thread shares.
pub struct Context {
    /// The fan-out.
    pub hub: Arc<Hub>,
    /// Host/Origin rules.
    pub access: Access,
    /// Maximum number of WebSocket clients.
    pub max_clients: usize,
    /// Timings and limits.
    pub tuning: Tuning,
    /// Connections still sending their request head.
    pub pending: Arc<Pending>,
    /// The history endpoints.
    pub history: crate::history::Source,
    /// WebSocket clients currently connected (or being upgraded).
    active: AtomicUsize,
    /// Connection threads alive, for a clean shutdown.
    threads: Mutex<usize>,
    threads_done: Condvar,
}

impl Context {
    /// A context for a server with these rules.
    pub fn new(
        hub: Arc<Hub>,
        access: Access,
        max_clients: usize,
        tuning: Tuning,
        history: crate::history::Source,
    ) -> Context {
        let pending = Arc::new(Pending::new(
            tuning.max_pending,
            tuning.max_pending_per_source,
        ));
        Context {
            hub,
            access,
            max_clients,
            tuning,
            pending,
            history,
            active: AtomicUsize::new(0),
            threads: Mutex::new(0),
            threads_done: Condvar::new(),
        }
    }

    /// Counts a connection thread; the guard uncounts it when dropped.
    pub fn thread_started(self: &Arc<Context>) -> ThreadGuard {
        *self.threads.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        ThreadGuard(self.clone())
    }

    /// Number of connection threads alive.
    pub fn thread_count(&self) -> usize {
        *self.threads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most connection threads there may be: every client, every
    /// pending head, and some answering plain HTTP.
    pub fn max_threads(&self) -> usize {
        self.max_clients + self.tuning.max_pending + EXTRA_THREADS
    }

    /// A one-line account of the connections and the queue (SIGUSR1).
    pub fn report(&self) -> String {
        let (frames, bytes) = self.hub.queue_size();
        format!(
            "{} WebSocket clients (at most {}), {} connections sending their request \
             (at most {}, {} per source), {} threads; queue: {frames} messages, {bytes} bytes \
             (at most {} messages, {} bytes).",
            self.active.load(Ordering::SeqCst),
            self.max_clients,
            self.pending.len(),
            self.tuning.max_pending,
            self.tuning.max_pending_per_source,
            self.thread_count(),
            self.tuning.queue_len,
            self.tuning.queue_bytes,
        )
    }

    /// Waits until every connection thread has finished, or `timeout`.
    pub fn wait_for_threads(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut n = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            n = match self.threads_done.wait_timeout(n, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// Keeps a connection thread counted while alive.
pub struct ThreadGuard(Arc<Context>);

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        let mut n = self.0.threads.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        self.0.threads_done.notify_all();
    }
}

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
        let _ = http::respond_text(&mut stream, 400, "", &format!("duplicate {name} header\n"));
        linger_close(&mut stream, LINGER);
        return;
    }
    if let Err(why) = ctx.access.check(&req) {
        let _ = http::respond_text(&mut stream, 403, "", &format!("forbidden: {why}\n"));
        return;
    }
    let head_only = req.method == "HEAD";
    if req.method != "GET" && !head_only {
        let _ = http::respond_text(
            &mut stream,
            405,
            "Allow: GET, HEAD\r\n",
            "method not allowed\n",
        );
        return;
    }
    let result = match req.path.as_str() {
        "/" if req.is_upgrade() && !head_only => {
            upgrade(ctx, stream, req);
            return;
        }
        "/" => {
            let host = req.header("host").unwrap_or("localhost");
            http::respond_dashboard(&mut stream, host, head_only)
        }
        "/metrics" => crate::metrics::respond(
            &mut stream,
            &ctx.hub.metrics,
            ctx.active.load(Ordering::SeqCst) as u64,
            &req,
            head_only,
        ),
        "/healthz" => http::respond(
            &mut stream,
            200,
            "text/plain; charset=utf-8",
            "",
            b"ok\n",
            head_only,
        ),
        path => match ctx.history.answer(&ctx.hub, path, &req.query) {
            Some(a) if a.is_json() => http::respond(
                &mut stream,
                a.code,
                "application/json",
                "",
                &a.body,
                head_only,
            ),
            Some(a) => http::respond(
                &mut stream,
                a.code,
                "text/plain; charset=utf-8",
                "",
                &a.body,
                head_only,
            ),
            None => http::respond_text(&mut stream, 404, "", "not found\n"),
        },
    };
    if result.is_ok() {
        linger_close(&mut stream, LINGER);
    }
}

/// Half-closes, then drains the peer's input for up to `wait`: closing a
/// socket with unread input makes the kernel send a reset and discard what
/// we still had queued for the peer (such as a close frame).
fn linger_close(stream: &mut TcpStream, wait: Duration) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(wait));
    let mut buf = [0u8; 512];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// Completes a WebSocket handshake and streams until the client leaves.
fn upgrade(ctx: &Context, mut stream: TcpStream, mut req: Request) {
    // RFC 6455 4.1: the handshake is HTTP/1.1 or later.
    if req.version < 1 {
        let _ = http::respond_text(&mut stream, 400, "", "WebSocket needs HTTP/1.1\n");
        linger_close(&mut stream, LINGER);
        return;
    }
    let accept = match req.header("sec-websocket-key") {
        Some(k) if !k.is_empty() => tungstenite::handshake::derive_accept_key(k.as_bytes()),
        _ => {
            let _ = http::respond_text(&mut stream, 400, "", "missing Sec-WebSocket-Key\n");
            return;
        }
    };
    if req.header("sec-websocket-version") != Some("13") {
        let _ = http::respond_text(
            &mut stream,
            426,
            "Sec-WebSocket-Version: 13\r\n",
            "unsupported WebSocket version\n",
        );
        return;
    }
    if ctx.active.fetch_add(1, Ordering::SeqCst) >= ctx.max_clients {
        ctx.active.fetch_sub(1, Ordering::SeqCst);
        let _ = http::respond_text(
            &mut stream,
            503,
            "Retry-After: 5\r\n",
            "too many clients, try again later\n",
        );
        linger_close(&mut stream, LINGER);
        return;
    }
    let _active = ActiveGuard(&ctx.active);
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    // This frame lives as long as the connection: keep only what it needs.
    let rest = std::mem::take(&mut req.rest);
    drop((req, accept));
    // Subscribe before answering: the snapshot is what the client sees first.
    let (client, snapshot) = match ctx.hub.subscribe() {
        Ok(s) => s,
        Err(_) => {
            let _ = http::respond_text(&mut stream, 503, "", "out of resources\n");
            return;
        }
    };
    let _sub = SubscriptionGuard(&ctx.hub, &client);
    if stream.write_all(response.as_bytes()).is_err() {
        return;
    }
    drop(response);
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    // Latency matters more than packet count for status lines.
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let ws = WebSocket::from_partially_read(stream, rest, Role::Server, Some(config));
    let mut conn = Conn {
        ws,
        // Sized once for a batch and kept: reallocating per burst would
        // leave freed buffers cached in every thread.
        out: {
            let mut out = VecDeque::with_capacity(BATCH.max(snapshot.len()));
            out.extend(snapshot);
            out
        },
        off: 0,
        pending_close: None,
    };
    conn.run(ctx, &client);
}

struct ActiveGuard<'a>(&'a AtomicUsize);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct SubscriptionGuard<'a>(&'a Hub, &'a crate::hub::Client);

impl Drop for SubscriptionGuard<'_> {
    fn drop(&mut self) {
        self.0.unsubscribe(self.1);
    }
}

/// An upgraded connection.
struct Conn {
    ws: WebSocket<TcpStream>,
    /// Encoded data frames still to send; `off` bytes of the first are sent.
    out: VecDeque<Bytes>,
    off: usize,
    /// A close frame to send once the data frame in progress is complete.
    pending_close: Option<CloseFrame>,
}

/// What writing achieved.
enum Wrote {
    /// Everything queued is sent.
    All,
    /// The socket is full.
    Blocked,
}

impl Conn {
    fn run(&mut self, ctx: &Context, client: &crate::hub::Client) {
        let hub = &ctx.hub;
        let ping_every = ctx.tuning.ping_interval;
        let mut next_ping = Instant::now() + ping_every;
        let mut last_heard = Instant::now();
        // Set once a close frame is queued: the time by which it must be out.
        let mut closing: Option<Instant> = None;
        // Whether the socket may have input (saves a recv per wake-up).
        let mut readable = true;
        loop {
            let now = Instant::now();
            if closing.is_none() {
                if hub.is_lagged(client) {
                    // Checked here too, not only when fetching: a client
                    // whose socket is full never fetches, and would keep
                    // its batch of frames alive. Closing drops them; the
                    // close frame then waits, as long as a silent peer is
                    // given, for a reader that may yet wake up.
                    closing = Some(now + CLOSE_GRACE.max(ping_every));
                    self.start_close(CloseCode::Again, "too slow: missed messages, reconnect");
                } else if hub.is_shutting_down() {
                    closing = Some(now + Duration::from_millis(500));
                    self.start_close(CloseCode::Away, "server shutting down");
                } else if now.duration_since(last_heard) > ping_every * 3 {
                    // A peer silent through three pings is gone.
                    return;
                }
            }

            // Write: data frames, then (between frames) tungstenite's own.
            let mut blocked = false;
            loop {
                match self.write_data() {
                    Ok(Wrote::All) => {}
                    Ok(Wrote::Blocked) => {
                        blocked = true;
                        break;
                    }
                    Err(_) => return,
                }
                if let Some(frame) = self.pending_close.take() {
                    // Queued even when the socket is full; flushed below.
                    let _ = self.ws.close(Some(frame));
                }
                match self.ws.flush() {
                    Ok(()) => {}
                    Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        blocked = true;
                        break;
                    }
                    Err(_) => return,
                }
                if closing.is_some() {
                    break;
                }
                if now >= next_ping {
                    next_ping = now + ping_every;
                    match self.ws.write(Message::Ping(Bytes::new())) {
                        Ok(()) => continue,
                        Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        Err(_) => return,
                    }
                }
                match hub.fetch(client, &mut self.out, BATCH) {
                    Fetch::Lagged => {
                        closing = Some(now + CLOSE_GRACE);
                        self.start_close(CloseCode::Again, "too slow: missed messages, reconnect");
                    }
                    Fetch::Ok if self.out.is_empty() => break,
                    Fetch::Ok => {}
                }
            }

            if let Some(deadline) = closing {
                if !blocked {
                    // Close frame sent: let the peer see it, then go.
                    let wait = if hub.is_shutting_down() {
                        Duration::from_millis(200)
                    } else {
                        LINGER
                    };
                    linger_close(self.ws.get_mut(), wait);
                    return;
                }
                if now >= deadline {
                    return;
                }
            }

            // Read (only between data frames, as reading may write a pong).
            let mut want_read = false;
            if self.out.is_empty() && closing.is_none() {
                want_read = true;
                while readable {
                    match self.ws.read() {
                        // Client messages are ignored; any frame proves it is alive.
                        Ok(_) => last_heard = Instant::now(),
                        Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                            readable = false;
                        }
                        Err(WsError::Capacity(CapacityError::MessageTooLong { .. })) => {
                            closing = Some(now + CLOSE_GRACE);
                            self.start_close(CloseCode::Size, "frame too large");
                            break;
                        }
                        Err(WsError::ConnectionClosed) => {
                            // The peer closed and tungstenite answered.
                            linger_close(self.ws.get_mut(), LINGER);
                            return;
                        }
                        Err(e) => {
                            // RFC 6455 7.4.1: say why before closing.
                            let (code, why) = match e {
                                WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                                    return
                                }
                                WsError::Protocol(_) => (CloseCode::Protocol, "protocol error"),
                                WsError::Utf8(_) => (CloseCode::Invalid, "text is not UTF-8"),
                                _ => return,
                            };
                            closing = Some(now + CLOSE_GRACE);
                            self.start_close(code, why);
                            break;
                        }
                    }
                }
                if closing.is_some() {
                    continue;
                }
            }

            // Sleep until the socket, the hub or a timer wants us.
            if self.out.is_empty() && self.out.capacity() > 2 * BATCH {
                // A thousand idle clients should not each keep a big snapshot's queue.
                self.out = VecDeque::with_capacity(BATCH);
            }
            if !blocked {
                client.set_waiting(true);
                if hub.has_pending(client) || hub.is_shutting_down() {
                    client.set_waiting(false);
                    continue;
                }
            }
            let mut until = next_ping.min(last_heard + ping_every * 3);
            if let Some(d) = closing {
                until = until.min(d);
            }
            let timeout = until.saturating_duration_since(Instant::now());
            let sock = self.ws.get_ref().as_raw_fd();
            let mut events = 0;
            if want_read {
                events |= libc::POLLIN;
            }
            if blocked {
                events |= libc::POLLOUT;
            }
            let mut fds = [
                libc::pollfd {
                    fd: sock,
                    events,
                    revents: 0,
                },
                libc::pollfd {
                    fd: client.wake_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            // Round up so a timer is never polled for in a 0 ms spin.
            let ms = if timeout.as_nanos() > 0 && ms == 0 {
                1
            } else {
                ms
            };
            // SAFETY: fds is a valid array of two pollfd structs.
            let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
            client.set_waiting(false);
            if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
            if fds[1].revents & libc::POLLIN != 0 {
                client.clear_wake();
            }
            if fds[0].revents & (libc::POLLIN | libc::POLLHUP) != 0 {
                readable = true;
            }
            if fds[0].revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
                return;
            }
            if fds[0].revents & libc::POLLHUP != 0 && !want_read {
                return;
            }
        }
    }

    /// Drops queued data after the frame in progress and queues a close frame.
    fn start_close(&mut self, code: CloseCode, reason: &'static str) {
        let keep = usize::from(self.off > 0);
        self.out.truncate(keep);
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // Sent by the write loop once the frame in progress is complete.
        self.pending_close = Some(frame);
    }

    /// Writes queued data frames; a partial frame is remembered in `off`.
    fn write_data(&mut self) -> io::Result<Wrote> {
        while !self.out.is_empty() {
            // On the stack: per-write heap allocations from a thousand
            // threads fragment the heap (each thread caches what it frees).
            let mut slices = [IoSlice::new(&[]); BATCH];
            let mut count = 0;
            for (slot, b) in slices.iter_mut().zip(self.out.iter()) {
                let from = if count == 0 { self.off } else { 0 };
                *slot = IoSlice::new(&b[from..]);
                count += 1;
            }
            let n = match self.ws.get_mut().write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Wrote::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut n = n + self.off;
            self.off = 0;
            while let Some(front) = self.out.front() {
                if n >= front.len() {
                    n -= front.len();
                    self.out.pop_front();
                } else {
                    self.off = n;
                    break;
                }
            }
        }
        Ok(Wrote::All)
    }
}

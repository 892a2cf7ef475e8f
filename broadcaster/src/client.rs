//! A WebSocket client, on its connection's own small thread (after
//! `routes` has read and checked its request): the handshake, the snapshot
//! and the live stream; and what all connection threads share (`Context`).
//!
//! The socket is nonblocking and the thread sleeps in `poll` on it and on
//! its hub eventfd, so an idle client costs no CPU. Data frames are encoded
//! once by the hub and written straight from the shared buffers; tungstenite
//! reads the client's frames and writes the control frames (ping, pong,
//! close), always between two data frames so the two never interleave.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Bytes, Message, WebSocket};

use crate::http::{self, Access, Request, LINGER};
use crate::hub::{Client, Fetch, Hub};
use crate::opts::Tuning;
use crate::pending::{Pending, Slot};
use crate::server::Threads;

/// Incoming frames and messages larger than this close the connection.
pub const MAX_INCOMING: usize = 4 * 1024;
/// How long a closing client gets to take its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long a client closed for a shutdown gets to take its close frame.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);
/// How long its input is drained after that close frame is out.
const SHUTDOWN_LINGER: Duration = Duration::from_millis(200);
/// Frames taken from the hub per lock.
const BATCH: usize = 32;
/// The close reason of a client that fell behind.
const TOO_SLOW: &str = "too slow: missed messages, reconnect";

/// Connections past their request head being answered over plain HTTP
/// (or refused an upgrade), at most; as many per source as may be sending
/// their head.
pub const MAX_ANSWERING: usize = 64;

/// Answered connections in their lingering close, at most; beyond, the
/// oldest is cut short.
pub const MAX_LINGERING: usize = 64;

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
    /// Connections past their head that are not WebSocket clients.
    pub answering: Arc<Pending>,
    /// Answered connections draining their input before they close.
    pub lingering: Arc<Pending>,
    /// The history endpoints.
    pub history: crate::history::Source,
    /// WebSocket clients currently connected (or being upgraded).
    active: AtomicUsize,
    /// Connection threads alive.
    pub threads: Arc<Threads>,
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
        let answering = Arc::new(Pending::new(MAX_ANSWERING, tuning.max_pending_per_source));
        let lingering = Arc::new(Pending::new(MAX_LINGERING, MAX_LINGERING));
        Context {
            hub,
            access,
            max_clients,
            tuning,
            pending,
            answering,
            lingering,
            history,
            active: AtomicUsize::new(0),
            threads: Arc::default(),
        }
    }

    /// WebSocket clients connected now (or being upgraded).
    pub fn clients(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// A one-line account of the connections and the queue (SIGUSR1).
    pub fn report(&self) -> String {
        let (frames, bytes) = self.hub.queue_size();
        format!(
            "{} WebSocket clients (at most {}), {} connections sending their request \
             (at most {}, {} per source), {} being answered (at most {MAX_ANSWERING}), \
             {} closing (at most {MAX_LINGERING}), {} threads; queue: {frames} messages, {bytes} bytes \
             (at most {} messages, {} bytes).",
            self.active.load(Ordering::SeqCst),
            self.max_clients,
            self.pending.len(),
            self.tuning.max_pending,
            self.tuning.max_pending_per_source,
            self.answering.len(),
            self.lingering.len(),
            self.threads.count(),
            self.tuning.queue_len,
            self.tuning.queue_bytes,
        )
    }
}

/// Completes a WebSocket handshake and streams until the client leaves.
/// `place` counts the connection among those being answered until it is
/// counted as a client (the last parameter, so that on every early return
/// it is given back before the socket closes).
pub fn upgrade(ctx: &Context, mut stream: TcpStream, mut req: Request, place: Slot) {
    // RFC 6455 4.1: the handshake is HTTP/1.1 or later.
    if req.version < 1 {
        let _ = http::respond_text(&mut stream, 400, "", "WebSocket needs HTTP/1.1\n");
        http::linger_close(&mut stream, LINGER);
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
        http::linger_close(&mut stream, LINGER);
        return;
    }
    let _active = ActiveGuard(&ctx.active);
    drop(place);
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
    // Sized once for a batch and kept: reallocating per burst would
    // leave freed buffers cached in every thread.
    let mut out = VecDeque::with_capacity(BATCH.max(snapshot.len()));
    out.extend(snapshot);
    Conn::new(ctx, &client, ws, out).run();
}

struct ActiveGuard<'a>(&'a AtomicUsize);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct SubscriptionGuard<'a>(&'a Hub, &'a Client);

impl Drop for SubscriptionGuard<'_> {
    fn drop(&mut self) {
        self.0.unsubscribe(self.1);
    }
}

/// An upgraded connection.
struct Conn<'a> {
    ws: WebSocket<TcpStream>,
    /// Encoded data frames still to send; `off` bytes of the first are sent.
    out: VecDeque<Bytes>,
    off: usize,
    /// A close frame to send once the data frame in progress is complete.
    pending_close: Option<CloseFrame>,
    hub: &'a Hub,
    client: &'a Client,
    ping_every: Duration,
    next_ping: Instant,
    /// When the peer last sent a frame.
    last_heard: Instant,
    /// Set once a close frame is queued: the time by which it must be out.
    closing: Option<Instant>,
    /// Whether the socket may have input (saves a recv per wake-up).
    readable: bool,
}

/// What writing achieved.
enum Wrote {
    /// Everything queued is sent.
    All,
    /// The socket is full.
    Blocked,
}

/// `d` for poll(2), at most a day (longer than any timer here).
pub fn timespec(d: Duration) -> Timespec {
    let d = d.min(Duration::from_secs(86_400));
    Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: d.subsec_nanos().into(),
    }
}

/// The connection is over: its thread returns.
struct Over;

impl<'a> Conn<'a> {
    fn new(
        ctx: &'a Context,
        client: &'a Client,
        ws: WebSocket<TcpStream>,
        out: VecDeque<Bytes>,
    ) -> Conn<'a> {
        let now = Instant::now();
        Conn {
            ws,
            out,
            off: 0,
            pending_close: None,
            hub: &ctx.hub,
            client,
            ping_every: ctx.tuning.ping_interval,
            next_ping: now + ctx.tuning.ping_interval,
            last_heard: now,
            closing: None,
            readable: true,
        }
    }

    /// Serves the client until it leaves, is closed, or goes silent.
    fn run(mut self) {
        while self.turn().is_ok() {}
    }

    /// One round: notice trouble, write, see a close through, read, sleep.
    fn turn(&mut self) -> Result<(), Over> {
        let now = Instant::now();
        self.check(now)?;
        let blocked = self.write(now)?;
        if self.closing.is_some() {
            return self.finish_close(blocked, now);
        }
        // Read only between data frames, as reading may write a pong.
        let want_read = self.out.is_empty();
        if want_read {
            self.read(now)?;
            if self.closing.is_some() {
                return Ok(());
            }
        }
        self.sleep(want_read, blocked)
    }

    /// Starts closing a client that fell behind, or every client when the
    /// server shuts down; gives up on a peer silent through three pings.
    fn check(&mut self, now: Instant) -> Result<(), Over> {
        if self.closing.is_some() {
            return Ok(());
        }
        if self.hub.is_lagged(self.client) {
            // Checked here too, not only when fetching: a client whose
            // socket is full never fetches, and would keep its batch of
            // frames alive. Closing drops them; the close frame then
            // waits, as long as a silent peer is given, for a reader that
            // may yet wake up.
            self.start_close(
                now + CLOSE_GRACE.max(self.ping_every),
                CloseCode::Again,
                TOO_SLOW,
            );
        } else if self.hub.is_shutting_down() {
            self.start_close(
                now + SHUTDOWN_GRACE,
                CloseCode::Away,
                "server shutting down",
            );
        } else if now.duration_since(self.last_heard) > self.ping_every * 3 {
            return Err(Over);
        }
        Ok(())
    }

    /// Writes data frames and, between two of them, tungstenite's own
    /// (close, ping, pong), fetching more from the hub until there is none
    /// or the socket is full. Returns whether the socket is full.
    fn write(&mut self, now: Instant) -> Result<bool, Over> {
        loop {
            match self.write_data() {
                Ok(Wrote::All) => {}
                Ok(Wrote::Blocked) => return Ok(true),
                Err(_) => return Err(Over),
            }
            if let Some(frame) = self.pending_close.take() {
                // Queued even when the socket is full; flushed below.
                let _ = self.ws.close(Some(frame));
            }
            match self.ws.flush() {
                Ok(()) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(_) => return Err(Over),
            }
            if self.closing.is_some() {
                return Ok(false);
            }
            if now >= self.next_ping {
                self.next_ping = now + self.ping_every;
                match self.ws.write(Message::Ping(Bytes::new())) {
                    Ok(()) => continue,
                    Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(_) => return Err(Over),
                }
            }
            match self.hub.fetch(self.client, &mut self.out, BATCH) {
                Fetch::Lagged => self.start_close(now + CLOSE_GRACE, CloseCode::Again, TOO_SLOW),
                Fetch::Ok if self.out.is_empty() => return Ok(false),
                Fetch::Ok => {}
            }
        }
    }

    /// Once the close frame is out, lets the peer see it and ends; ends
    /// anyway when the peer has not taken it by the deadline.
    fn finish_close(&mut self, blocked: bool, now: Instant) -> Result<(), Over> {
        if !blocked {
            let wait = if self.hub.is_shutting_down() {
                SHUTDOWN_LINGER
            } else {
                LINGER
            };
            http::linger_close(self.ws.get_mut(), wait);
            return Err(Over);
        }
        match self.closing {
            Some(deadline) if now >= deadline => Err(Over),
            _ => self.sleep(false, blocked),
        }
    }

    /// Reads what the client sent: its messages are ignored, but any frame
    /// proves it is alive. A bad frame starts a close.
    fn read(&mut self, now: Instant) -> Result<(), Over> {
        while self.readable {
            match self.ws.read() {
                Ok(_) => self.last_heard = Instant::now(),
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                }
                Err(WsError::Capacity(CapacityError::MessageTooLong { .. })) => {
                    self.start_close(now + CLOSE_GRACE, CloseCode::Size, "frame too large");
                    return Ok(());
                }
                Err(WsError::ConnectionClosed) => {
                    // The peer closed and tungstenite answered.
                    http::linger_close(self.ws.get_mut(), LINGER);
                    return Err(Over);
                }
                Err(e) => {
                    // RFC 6455 7.4.1: say why before closing.
                    let (code, why) = match e {
                        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                            return Err(Over)
                        }
                        WsError::Protocol(_) => (CloseCode::Protocol, "protocol error"),
                        WsError::Utf8(_) => (CloseCode::Invalid, "text is not UTF-8"),
                        _ => return Err(Over),
                    };
                    self.start_close(now + CLOSE_GRACE, code, why);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Sleeps until the socket, the hub or a timer wants this connection.
    fn sleep(&mut self, want_read: bool, blocked: bool) -> Result<(), Over> {
        if self.out.is_empty() && self.out.capacity() > 2 * BATCH {
            // A thousand idle clients should not each keep a big snapshot's queue.
            self.out = VecDeque::with_capacity(BATCH);
        }
        if !blocked {
            self.client.set_waiting(true);
            if self.hub.has_pending(self.client) || self.hub.is_shutting_down() {
                self.client.set_waiting(false);
                return Ok(());
            }
        }
        let mut until = self.next_ping.min(self.last_heard + self.ping_every * 3);
        if let Some(d) = self.closing {
            until = until.min(d);
        }
        let timeout = timespec(until.saturating_duration_since(Instant::now()));
        let mut events = PollFlags::empty();
        if want_read {
            events |= PollFlags::IN;
        }
        if blocked {
            events |= PollFlags::OUT;
        }
        let mut fds = [
            PollFd::new(self.ws.get_ref(), events),
            PollFd::from_borrowed_fd(self.client.wake_fd(), PollFlags::IN),
        ];
        let r = poll(&mut fds, Some(&timeout));
        let (sock, wake) = (fds[0].revents(), fds[1].revents());
        self.client.set_waiting(false);
        match r {
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => return Err(Over),
        }
        if wake.contains(PollFlags::IN) {
            self.client.clear_wake();
        }
        if sock.intersects(PollFlags::IN | PollFlags::HUP) {
            self.readable = true;
        }
        if sock.intersects(PollFlags::ERR | PollFlags::NVAL) {
            return Err(Over);
        }
        if sock.contains(PollFlags::HUP) && !want_read {
            return Err(Over);
        }
        Ok(())
    }

    /// Drops queued data after the frame in progress and queues a close
    /// frame, to be out by `deadline`.
    fn start_close(&mut self, deadline: Instant, code: CloseCode, reason: &'static str) {
        self.closing = Some(deadline);
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

//! Step 4 of the data flow: one WebSocket peer. The handshake runs on its
//! connection's own small thread (after `routes` has read and checked its
//! request); then the snapshot and the live stream are served by one of
//! the writer threads ([`writers`]).
//!
//! The socket is nonblocking and its writer sleeps in `poll` on it, its
//! other clients' sockets and its hub eventfd, so an idle client costs no
//! CPU. Data frames are encoded once by the hub and written straight from
//! the shared buffers; tungstenite reads the client's frames and writes the
//! control frames (ping, pong, close), always between two data frames so
//! the two never interleave.
//!
//! [`writers`]: crate::http::writers
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::PollFlags;
use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Bytes, Message, WebSocket};

use crate::http::context::{Context, ThreadGuard};
use crate::http::pending::Slot;
use crate::http::writers::{Over, Plan, Served};
use crate::http::{self, Request, LINGER};
use crate::hub::{Cursor, Fetch, Hub};

/// Incoming frames and messages larger than this close the connection.
pub const MAX_INCOMING: usize = 4 * 1024;
/// How long a closing client gets to take its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long a client closed for a shutdown gets to take its close frame.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);
/// How long its input is drained after that close frame is out.
const SHUTDOWN_LINGER: Duration = Duration::from_millis(200);
/// Frames taken from the hub per lock, and written per call.
const BATCH: usize = 256;
/// Room for frames an idle client keeps.
const IDLE_ROOM: usize = 32;
/// Batches a client may write in one turn before its writer's other
/// clients get theirs.
const FETCHES_PER_TURN: usize = 2;
/// Reads of a lingering client's input in one turn.
const LINGER_READS_PER_TURN: usize = 16;
/// The close reason of a client that fell behind.
const TOO_SLOW: &str = "too slow: missed messages, reconnect";

/// Completes a WebSocket handshake and hands the connection to a writer
/// thread, which streams until the client leaves. `place` counts the
/// connection among those being answered until it is counted as a client
/// (the last parameter, so that on every early return it is given back
/// before the socket closes).
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
    let active = ActiveGuard(ctx.active.clone());
    // Counted until the writer drops the connection, so that a shutdown
    // waits for its close frame as it waits for connection threads.
    let counted = ctx.threads.started();
    drop(place);
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    // This frame lives as long as the connection: keep only what it needs.
    let rest = std::mem::take(&mut req.rest);
    drop((req, accept));
    let writer = match ctx.writers.pick() {
        Ok(w) => w,
        Err(_) => {
            let _ = http::respond_text(&mut stream, 503, "", "out of resources\n");
            return;
        }
    };
    // Subscribe before answering: the snapshot is what the client sees first.
    let (client, snapshot) = ctx.hub.subscribe_with(writer.waker());
    let sub = Subscription(ctx.hub.clone(), client.clone());
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
    let mut out = VecDeque::with_capacity(IDLE_ROOM.max(snapshot.len()));
    out.extend(snapshot);
    let now = Instant::now();
    writer.add(Box::new(Conn {
        ws,
        out,
        off: 0,
        pending_close: None,
        hub: ctx.hub.clone(),
        client,
        ping_every: ctx.tuning.ping_interval,
        next_ping: now + ctx.tuning.ping_interval,
        last_heard: now,
        closing: None,
        lingering: None,
        readable: true,
        _sub: sub,
        _active: active,
        _counted: counted,
    }));
}

struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Subscription(Arc<Hub>, Arc<Cursor>);

impl Drop for Subscription {
    fn drop(&mut self) {
        self.0.unsubscribe(&self.1);
    }
}

/// An upgraded connection, served by a writer thread. Fields drop in
/// order: the socket closes, then the client leaves the hub and the counts.
pub struct Conn {
    ws: WebSocket<TcpStream>,
    /// Encoded data frames still to send; `off` bytes of the first are sent.
    out: VecDeque<Bytes>,
    off: usize,
    /// A close frame to send once the data frame in progress is complete.
    pending_close: Option<CloseFrame>,
    hub: Arc<Hub>,
    client: Arc<Cursor>,
    ping_every: Duration,
    next_ping: Instant,
    /// When the peer last sent a frame.
    last_heard: Instant,
    /// Set once a close frame is queued: the time by which it must be out.
    closing: Option<Instant>,
    /// Set once our side is shut: input is drained (so the close is a FIN,
    /// not a reset that would destroy what is in flight) until then.
    lingering: Option<Instant>,
    /// Whether the socket may have input (saves a recv per wake-up).
    readable: bool,
    _sub: Subscription,
    _active: ActiveGuard,
    _counted: ThreadGuard,
}

/// What writing achieved.
enum Wrote {
    /// Everything queued is sent.
    All,
    /// The socket is full.
    Blocked,
}

impl Served for Conn {
    /// One round: notice trouble, write, see a close through, read.
    fn turn(&mut self, now: Instant) -> Result<Plan, Over> {
        if self.lingering.is_some() {
            return self.linger(now);
        }
        self.check(now)?;
        let blocked = self.write(now)?;
        if self.closing.is_some() {
            return self.finish_close(blocked, now);
        }
        // Read only between data frames, as reading may write a pong.
        let want_read = self.out.is_empty();
        if want_read {
            self.read(now)?;
            if self.lingering.is_some() {
                return self.linger(now);
            }
            if self.closing.is_some() {
                return Ok(Plan {
                    events: PollFlags::empty(),
                    until: now,
                });
            }
        }
        Ok(self.plan(want_read, blocked))
    }

    fn socket(&self) -> BorrowedFd<'_> {
        self.ws.get_ref().as_fd()
    }

    fn polled(&mut self, revents: PollFlags, events: PollFlags) -> Result<(), Over> {
        if revents.intersects(PollFlags::IN | PollFlags::HUP) {
            self.readable = true;
        }
        if revents.intersects(PollFlags::ERR | PollFlags::NVAL) {
            return Err(Over);
        }
        if revents.contains(PollFlags::HUP) && !events.contains(PollFlags::IN) {
            return Err(Over);
        }
        Ok(())
    }

    fn wanted(&self, plan: &Plan) -> bool {
        if self.lingering.is_some() {
            return false;
        }
        // A client that has lagged must close even while its socket is
        // full (it would keep its batch of frames alive); every client
        // closes at a shutdown.
        let starts_closing = self.closing.is_none()
            && (self.hub.is_lagged(&self.client) || self.hub.is_shutting_down());
        // Waiting for room in the socket, new frames can wait too.
        let wants_frames =
            !plan.events.contains(PollFlags::OUT) && self.hub.has_pending(&self.client);
        starts_closing || wants_frames
    }

    fn after_round(&self) {
        self.hub.release();
    }
}

impl Conn {
    /// Starts closing a client that fell behind, or every client when the
    /// server shuts down; gives up on a peer silent through three pings.
    fn check(&mut self, now: Instant) -> Result<(), Over> {
        if self.closing.is_some() {
            return Ok(());
        }
        if self.hub.is_lagged(&self.client) {
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
    /// (close, ping, pong), fetching more from the hub until there is none,
    /// the socket is full, or this turn has written its share (the writer
    /// thread's other clients get theirs before this one goes on).
    /// Returns whether the socket is full.
    fn write(&mut self, now: Instant) -> Result<bool, Over> {
        let mut fetches = 0;
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
            if fetches == FETCHES_PER_TURN {
                return Ok(false);
            }
            fetches += 1;
            match self.hub.fetch_only(&self.client, &mut self.out, BATCH) {
                Fetch::Lagged => self.start_close(now + CLOSE_GRACE, CloseCode::Again, TOO_SLOW),
                Fetch::Ok if self.out.is_empty() => return Ok(false),
                Fetch::Ok => {}
            }
        }
    }

    /// Once the close frame is out, shuts our side and lets the peer see
    /// it; ends anyway when the peer has not taken it by the deadline.
    fn finish_close(&mut self, blocked: bool, now: Instant) -> Result<Plan, Over> {
        if !blocked {
            let wait = if self.hub.is_shutting_down() {
                SHUTDOWN_LINGER
            } else {
                LINGER
            };
            self.start_linger(now + wait);
            return self.linger(now);
        }
        match self.closing {
            Some(deadline) if now >= deadline => Err(Over),
            _ => Ok(self.plan(false, blocked)),
        }
    }

    /// Half-closes: from now on the peer's input is only drained.
    fn start_linger(&mut self, until: Instant) {
        let _ = self.ws.get_ref().shutdown(Shutdown::Write);
        self.lingering = Some(until);
    }

    /// Drains the peer's input until it closes or the deadline (one
    /// deadline, not one per read: a peer sending a byte now and then
    /// does not keep the connection).
    fn linger(&mut self, now: Instant) -> Result<Plan, Over> {
        let Some(until) = self.lingering else {
            return Err(Over);
        };
        if now >= until {
            return Err(Over);
        }
        let mut buf = [0u8; 512];
        for _ in 0..LINGER_READS_PER_TURN {
            match self.ws.get_mut().read(&mut buf) {
                Ok(0) => return Err(Over),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Plan {
                        events: PollFlags::IN,
                        until,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Over),
            }
        }
        // A flood: the others' turn first.
        Ok(Plan {
            events: PollFlags::empty(),
            until: now,
        })
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
                    self.start_linger(now + LINGER);
                    return Ok(());
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

    /// What to wait for: the socket, the hub (through [`Served::wanted`])
    /// or a timer.
    fn plan(&mut self, want_read: bool, blocked: bool) -> Plan {
        if self.out.is_empty() && self.out.capacity() > IDLE_ROOM {
            // A thousand idle clients should not each keep a big snapshot's
            // or a burst's queue.
            self.out = VecDeque::with_capacity(IDLE_ROOM);
        }
        let mut until = self.next_ping.min(self.last_heard + self.ping_every * 3);
        if let Some(d) = self.closing {
            until = until.min(d);
        }
        let mut events = PollFlags::empty();
        if want_read {
            events |= PollFlags::IN;
        }
        if blocked {
            events |= PollFlags::OUT;
        }
        Plan { events, until }
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
            // On the stack: the writer threads write for every client.
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

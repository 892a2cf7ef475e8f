//! Step 4 of the data flow, the WebSocket peers' writer threads: a few threads (one per core, at most four) that
//! each serve many WebSocket connections through one `poll`, instead of a
//! thread per connection. A thousand viewers then cost a thousand sockets,
//! not a thousand threads that all wake for every line and crowd two cores.
//!
//! A writer owns its connections (anything [`Served`]) and one [`Waker`]
//! that the hub writes when a frame is published while the writer sleeps:
//! one wake-up per writer and publication, however many of its clients
//! want the frame. Each round gives every connection that has something to
//! do one turn, bounded so that a burst to one client does not hold up the
//! others; then the writer sleeps until a socket, the hub or the nearest
//! of its connections' timers wants it.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;

use crate::hub::Waker;
use crate::poll::timespec;

/// Stack size of a writer thread: it shuffles bytes, and tungstenite
/// reads small frames.
const WRITER_STACK: usize = 256 * 1024;

/// The most writer threads.
const MAX_WRITERS: usize = 4;

/// What a connection wants after its turn.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// What to poll its socket for (maybe nothing).
    pub events: PollFlags,
    /// When it wants a turn anyway (a ping, a deadline); in the past for
    /// "at once".
    pub until: Instant,
}

/// The connection is over: the writer drops it.
pub struct Over;

/// A connection a writer can serve.
pub trait Served: Send + 'static {
    /// Does what can be done now without blocking; says what to wait for.
    fn turn(&mut self, now: Instant) -> Result<Plan, Over>;
    /// The socket to poll.
    fn socket(&self) -> BorrowedFd<'_>;
    /// Takes what `poll` said of the socket (asked for `events`).
    fn polled(&mut self, revents: PollFlags, events: PollFlags) -> Result<(), Over>;
    /// Whether something outside the socket (the hub: new frames, a lag,
    /// a shutdown) wants a turn, given the last plan. Called after the
    /// writer announced it will sleep, so nothing published later is missed.
    fn wanted(&self, plan: &Plan) -> bool;
    /// Called on one of the writer's connections after a round of turns,
    /// for what is done once for all of them (freeing read frames).
    fn after_round(&self) {}
}

/// A connection of any kind, so that what owns the pool (the port's
/// context) need not know the WebSocket peer's type.
pub type AnyServed = Box<dyn Served>;

impl Served for AnyServed {
    fn turn(&mut self, now: Instant) -> Result<Plan, Over> {
        (**self).turn(now)
    }
    fn socket(&self) -> BorrowedFd<'_> {
        (**self).socket()
    }
    fn polled(&mut self, revents: PollFlags, events: PollFlags) -> Result<(), Over> {
        (**self).polled(revents, events)
    }
    fn wanted(&self, plan: &Plan) -> bool {
        (**self).wanted(plan)
    }
    fn after_round(&self) {
        (**self).after_round()
    }
}

/// The writer threads, started when the first connection needs one.
pub struct Pool<C: Served> {
    writers: OnceLock<Vec<Arc<Writer<C>>>>,
}

impl<C: Served> Default for Pool<C> {
    fn default() -> Self {
        Pool {
            writers: OnceLock::new(),
        }
    }
}

impl<C: Served> Pool<C> {
    /// The writer with the fewest connections (started if need be).
    pub fn pick(&self) -> io::Result<Arc<Writer<C>>> {
        let writers = match self.writers.get() {
            Some(w) => w,
            None => {
                let started = start_writers()?;
                // Another thread may have started them first: theirs stay,
                // ours (without connections) sleep forever, harmless.
                self.writers.get_or_init(|| started)
            }
        };
        writers
            .iter()
            .min_by_key(|w| w.load.load(Ordering::SeqCst))
            .cloned()
            .ok_or_else(|| io::Error::other("no writer thread"))
    }
}

fn start_writers<C: Served>() -> io::Result<Vec<Arc<Writer<C>>>> {
    let n = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, MAX_WRITERS);
    let mut writers = Vec::with_capacity(n);
    for i in 0..n {
        let w = Arc::new(Writer {
            waker: Waker::new()?,
            inbox: Mutex::new(Vec::new()),
            load: AtomicUsize::new(0),
        });
        let run = w.clone();
        std::thread::Builder::new()
            .name(format!("ssi-writer-{i}"))
            .stack_size(WRITER_STACK)
            .spawn(move || run.run())?;
        writers.push(w);
    }
    Ok(writers)
}

/// One writer thread's side: its waker, and connections handed to it.
pub struct Writer<C: Served> {
    waker: Arc<Waker>,
    inbox: Mutex<Vec<C>>,
    /// Connections it serves or is about to.
    load: AtomicUsize,
}

/// A connection with its last plan.
struct Slot<C> {
    conn: C,
    plan: Plan,
    /// Whether it gets a turn this round.
    due: bool,
}

impl<C: Served> Writer<C> {
    /// What the hub must wake for this writer's clients.
    pub fn waker(&self) -> Arc<Waker> {
        self.waker.clone()
    }

    /// Hands a connection over; it gets its first turn at once.
    pub fn add(&self, conn: C) {
        self.load.fetch_add(1, Ordering::SeqCst);
        self.inbox().push(conn);
        self.waker.wake();
    }

    fn inbox(&self) -> MutexGuard<'_, Vec<C>> {
        // A push or a take: never left half-done.
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        let mut slots: Vec<Slot<C>> = Vec::new();
        loop {
            let now = Instant::now();
            slots.extend(self.inbox().drain(..).map(|conn| Slot {
                conn,
                plan: Plan {
                    events: PollFlags::empty(),
                    until: now,
                },
                due: true,
            }));
            self.turns(&mut slots);
            self.sleep(&mut slots);
        }
    }

    /// One turn for every connection that is due; drops those that end.
    fn turns(&self, slots: &mut Vec<Slot<C>>) {
        let before = slots.len();
        let mut turned = false;
        slots.retain_mut(|s| {
            if !s.due {
                return true;
            }
            s.due = false;
            turned = true;
            match s.conn.turn(Instant::now()) {
                Ok(plan) => {
                    s.plan = plan;
                    true
                }
                Err(Over) => false,
            }
        });
        self.load.fetch_sub(before - slots.len(), Ordering::SeqCst);
        if turned {
            if let Some(s) = slots.first() {
                s.conn.after_round();
            }
        }
        if slots.capacity() > 2 * slots.len().max(64) {
            slots.shrink_to(slots.len().max(64));
        }
    }

    /// Sleeps until a connection is due, and marks those that are.
    fn sleep(&self, slots: &mut Vec<Slot<C>>) {
        self.waker.set_waiting(true);
        let now = Instant::now();
        let mut any = !self.inbox().is_empty();
        let mut until: Option<Instant> = None;
        for s in slots.iter_mut() {
            if s.plan.until <= now || s.conn.wanted(&s.plan) {
                s.due = true;
                any = true;
            }
            until = Some(until.map_or(s.plan.until, |u| u.min(s.plan.until)));
        }
        // Even with turns waiting, look at the sockets (without sleeping):
        // one waiting for room must not wait for a burst to end elsewhere.
        let timeout = if any {
            Duration::ZERO
        } else {
            until.map_or(Duration::from_secs(86_400), |u| {
                u.saturating_duration_since(now)
            })
        };
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(slots.len() + 1);
        fds.push(PollFd::from_borrowed_fd(self.waker.fd(), PollFlags::IN));
        fds.extend(
            slots
                .iter()
                .map(|s| PollFd::from_borrowed_fd(s.conn.socket(), s.plan.events)),
        );
        let result = poll(&mut fds, Some(&timespec(timeout)));
        let revents: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        self.waker.set_waiting(false);
        match result {
            Ok(_) | Err(Errno::INTR) => {}
            // Only EINVAL (too many descriptors) or ENOMEM: rest a moment
            // rather than spin; every connection gets a turn after.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                slots.iter_mut().for_each(|s| s.due = true);
                return;
            }
        }
        if revents[0].contains(PollFlags::IN) {
            self.waker.clear();
        }
        let now = Instant::now();
        let before = slots.len();
        let mut i = 0;
        slots.retain_mut(|s| {
            i += 1;
            let r = revents[i];
            if !r.is_empty() {
                s.due = true;
                if s.conn.polled(r, s.plan.events).is_err() {
                    return false;
                }
            }
            if s.plan.until <= now || s.conn.wanted(&s.plan) {
                s.due = true;
            }
            true
        });
        self.load.fetch_sub(before - slots.len(), Ordering::SeqCst);
    }
}

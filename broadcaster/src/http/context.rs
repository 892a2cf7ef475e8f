//! Step 4 of the data flow: what every connection thread shares: the
//! [`Context`] of the port (hub, access rules, limits, the pending heads,
//! the history endpoints, the count of WebSocket peers) and the count of
//! connection [`Threads`]. It sits below the accept loop, the routes and
//! the WebSocket peer, which all use it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::http::history::Source;
use crate::http::pending::Pending;
use crate::http::request::Access;
use crate::http::writers::{AnyServed, Pool};
use crate::hub::Hub;
use crate::opts::Tuning;

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
    pub history: Source,
    /// WebSocket clients currently connected (or being upgraded).
    pub(crate) active: Arc<AtomicUsize>,
    /// Connection threads alive, and WebSocket clients.
    pub threads: Arc<Threads>,
    /// The threads that stream to WebSocket clients.
    pub(crate) writers: Pool<AnyServed>,
}

impl Context {
    /// A context for a server with these rules.
    pub fn new(
        hub: Arc<Hub>,
        access: Access,
        max_clients: usize,
        tuning: Tuning,
        history: Source,
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
            active: Arc::default(),
            threads: Arc::default(),
            writers: Pool::default(),
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
             {} closing (at most {MAX_LINGERING}), {} connections served (by their threads or the writers); queue: {frames} messages, {bytes} bytes \
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

/// The connection threads alive, counted so the accept loop can bound
/// them and a shutdown can wait for them.
#[derive(Default)]
pub struct Threads {
    count: Mutex<usize>,
    done: Condvar,
}

impl Threads {
    fn lock(&self) -> MutexGuard<'_, usize> {
        // A count is never left half-updated: a poisoned lock is usable.
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a connection thread; the guard uncounts it when dropped.
    pub fn started(self: &Arc<Threads>) -> ThreadGuard {
        *self.lock() += 1;
        ThreadGuard(self.clone())
    }

    /// Number of connection threads alive.
    pub fn count(&self) -> usize {
        *self.lock()
    }

    /// Waits until every connection thread has finished, or `timeout`.
    pub fn wait_for_all(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut n = self.lock();
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            n = match self.done.wait_timeout(n, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// Keeps a connection thread counted while alive.
pub struct ThreadGuard(Arc<Threads>);

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        *self.0.lock() -= 1;
        self.0.done.notify_all();
    }
}

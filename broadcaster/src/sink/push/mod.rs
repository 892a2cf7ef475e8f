//! Step 3 of the data flow: reporting to remote collectors (`--push URL`):
//! an outbound WebSocket per collector that sends the stream a local client
//! gets, reconnects with backoff and, after an outage, sends each service's
//! latest status (or, with `--push-history`, every line it missed).
//!
//! Each collector has two threads. The feeder reads the hub like a local
//! client and only ever moves frames into the collector's bounded outbox,
//! so it keeps up whatever the network does; the sender connects, sends
//! from the outbox and reconnects. A dead or slow collector therefore
//! holds up nothing but its own outbox.

mod conn;
mod outbox;
mod target;
mod tls;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use tungstenite::Bytes;

use crate::hub::{Fetch, Hub, Waker};
use crate::opts::{PushOpts, Timing};
use crate::poll::timespec;
use outbox::{Bounds, Outbox};
use target::{Key, Target};

/// Stack size of the push threads.
const STACK: usize = 256 * 1024;
/// Frames taken from the hub per lock.
const FEED_BATCH: usize = 256;

impl Timing {
    /// The nominal wait before the next attempt after `failures` failures
    /// in a row (a lost connection counts as one): `retry` for the first
    /// three, then doubling, at most `retry_max`.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(3).min(16);
        self.retry
            .saturating_mul(1 << doublings)
            .min(self.retry_max)
    }
}

/// `d` spread by ±10 %, so that many agents cut off together do not all
/// come back in the same second.
fn jitter(d: Duration) -> Duration {
    let r = (random() >> 11) as f64 / (1u64 << 53) as f64;
    d.mul_f64(0.9 + 0.2 * r)
}

/// A number nobody can guess (for jitter and ping payloads).
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded randomly per process and per call.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// What the feeder and the sender of one collector share.
struct Shared {
    target: Target,
    outbox: Mutex<Outbox>,
    /// Ask the sender to end (SIGTERM).
    stop: AtomicBool,
    /// Ask the sender to start a fresh connection (the feeder lost part of
    /// the hub's stream and took a new snapshot).
    resync: AtomicBool,
    connected: AtomicBool,
    /// Connections made and lost, for the report.
    connections: AtomicU64,
    /// Wakes the sender when something is due.
    waker: Arc<Waker>,
}

impl Shared {
    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        // Every outbox update is complete before it can panic.
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake(&self) {
        self.waker.wake();
    }

    /// Clears wake-ups; call before looking at the outbox.
    fn clear_wake(&self) {
        self.waker.clear();
    }

    /// Waits until woken or `until`; true when told to stop.
    fn sleep_until(&self, until: Instant) -> bool {
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let wake = self.waker.fd();
            let mut fds = [PollFd::new(&wake, PollFlags::IN)];
            let _ = rustix::event::poll(&mut fds, Some(&timespec(left)));
            self.clear_wake();
        }
    }
}

/// The running collectors.
pub struct Pushers {
    collectors: Vec<Arc<Shared>>,
    threads: Arc<(Mutex<usize>, Condvar)>,
}

/// Starts a feeder and a sender for every collector. The key file and the
/// CA file are read here, once: errors in them stop the program.
pub fn start(opts: &PushOpts, hub: &Arc<Hub>, timing: &Timing) -> Result<Pushers, String> {
    let mut pushers = Pushers {
        collectors: Vec::new(),
        threads: Arc::new((Mutex::new(0), Condvar::new())),
    };
    if opts.urls.is_empty() {
        return Ok(pushers);
    }
    let key = Key::configured(opts.key_file.as_deref())?;
    let targets = opts
        .urls
        .iter()
        .map(|u| Target::new(u, key.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let tls = tls::config(opts.ca.as_deref())?;
    for target in targets {
        let waker = Waker::new().map_err(|e| format!("cannot create an eventfd: {e}"))?;
        let shared = Arc::new(Shared {
            target,
            outbox: Mutex::new(Outbox::new(Bounds {
                lines: timing.hold,
                bytes: timing.hold_bytes,
                history: opts.history,
            })),
            stop: AtomicBool::new(false),
            resync: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            waker,
        });
        // Subscribed here, before any status can be published after start.
        let (client, snapshot) = hub
            .subscribe()
            .map_err(|e| format!("cannot subscribe to the hub: {e}"))?;
        shared
            .outbox()
            .reset(&snapshot.iter().map(payload).collect::<Vec<_>>(), false);
        let (h, s) = (hub.clone(), shared.clone());
        pushers.spawn("ssi-push-feed", move || feed(&h, &s, client))?;
        let (s, tls, t) = (shared.clone(), tls.clone(), timing.clone());
        pushers.spawn("ssi-push", move || conn::send_loop(&s, &tls, &t))?;
        pushers.collectors.push(shared);
    }
    Ok(pushers)
}

impl Pushers {
    fn spawn(&self, name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), String> {
        let threads = self.threads.clone();
        *threads.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        std::thread::Builder::new()
            .name(name.into())
            .stack_size(STACK)
            .spawn(move || {
                f();
                let mut n = threads.0.lock().unwrap_or_else(|e| e.into_inner());
                *n -= 1;
                threads.1.notify_all();
            })
            .map(|_| ())
            .map_err(|e| format!("cannot start a push thread: {e}"))
    }

    /// Tells every sender to close its connection (1001) and waits for the
    /// threads, at most `timeout`. The hub must be shutting down already
    /// (that ends the feeders).
    pub fn stop(&self, timeout: Duration) {
        for c in &self.collectors {
            c.stop.store(true, Ordering::SeqCst);
            c.wake();
        }
        let deadline = Instant::now() + timeout;
        let mut n = self.threads.0.lock().unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            n = match self.threads.1.wait_timeout(n, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// One line per collector (SIGUSR1).
    pub fn report(&self) -> Vec<String> {
        self.collectors
            .iter()
            .map(|c| {
                let (held, bytes) = {
                    let o = c.outbox();
                    (o.held_statuses(), o.held_bytes())
                };
                let state = if c.connected.load(Ordering::SeqCst) {
                    "connected"
                } else {
                    "not connected"
                };
                format!(
                    "push {}: {state}, {held} status lines held ({} kB), {} connections so far.",
                    c.target.shown(),
                    bytes.div_ceil(1024),
                    c.connections.load(Ordering::SeqCst)
                )
            })
            .collect()
    }
}

/// The JSON text of a frame encoded by the hub (a final, unmasked text frame).
fn payload(frame: &Bytes) -> Bytes {
    let start = match frame.get(1).map(|b| b & 0x7f) {
        Some(126) => 4,
        Some(127) => 10,
        _ => 2,
    };
    frame.slice(start.min(frame.len())..)
}

/// The feeder: hub frames into the outbox, until the hub shuts down.
fn feed(hub: &Hub, shared: &Shared, mut client: Arc<crate::hub::Cursor>) {
    let mut frames = VecDeque::with_capacity(FEED_BATCH);
    loop {
        if hub.is_shutting_down() {
            break;
        }
        if hub.fetch(&client, &mut frames, FEED_BATCH) == Fetch::Lagged {
            // Only a machine too busy to run this thread for a whole queue
            // length gets here: take a fresh snapshot, send it anew.
            hub.unsubscribe(&client);
            let Ok((c, snapshot)) = hub.subscribe() else {
                log::info!(
                    "ssi-broadcaster: push {}: cannot follow the statuses any more.",
                    shared.target.shown()
                );
                break;
            };
            client = c;
            log::info!(
                "ssi-broadcaster: push {}: fell behind the status stream; resending the latest statuses.",
                shared.target.shown()
            );
            let snapshot: Vec<Bytes> = snapshot.iter().map(payload).collect();
            shared.outbox().reset(&snapshot, true);
            shared.resync.store(true, Ordering::SeqCst);
            shared.wake();
            continue;
        }
        if !frames.is_empty() {
            let due = {
                let mut outbox = shared.outbox();
                frames
                    .drain(..)
                    .fold(false, |due, f| outbox.apply(payload(&f)) | due)
            };
            if due {
                shared.wake();
            }
            continue;
        }
        client.set_waiting(true);
        if hub.has_pending(&client) || hub.is_shutting_down() {
            client.set_waiting(false);
            continue;
        }
        let fd = client.wake_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let _ = rustix::event::poll(&mut fds, None);
        client.set_waiting(false);
        client.clear_wake();
    }
    hub.unsubscribe(&client);
    shared.stop.store(true, Ordering::SeqCst);
    shared.wake();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_schedule() {
        let t = Timing::default();
        let waits: Vec<u64> = (1..=8).map(|n| t.backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 5, 5, 10, 20, 30, 30, 30]);
        assert_eq!(t.backoff(u32::MAX), Duration::from_secs(30));
        assert_eq!(t.ping, Duration::from_secs(30));
        assert_eq!(t.hold, 10_000);
        assert_eq!(t.hold_bytes, 16 << 20);
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let d = Duration::from_secs(30);
        let all: Vec<Duration> = (0..200).map(|_| jitter(d)).collect();
        assert!(all
            .iter()
            .all(|j| *j >= d.mul_f64(0.9) && *j <= d.mul_f64(1.1)));
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert!(distinct.len() > 100, "{} distinct", distinct.len());
    }

    #[test]
    fn payload_of_hub_frames() {
        use crate::messages::Message;
        for n in [1, 200, 70_000] {
            let id = "x".repeat(n);
            let f = Message::Removed { service_id: &id }.to_frame();
            let p = payload(&f);
            let v: serde_json::Value = serde_json::from_slice(&p).unwrap();
            assert_eq!(v["data"]["service_id"].as_str().unwrap().len(), n);
        }
    }
}

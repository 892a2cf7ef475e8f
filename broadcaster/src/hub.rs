//! Step 2 of the data flow, the fan-out: current services and statuses, and
//! one shared queue of encoded frames that every client reads at its own
//! pace.
//!
//! Each message is encoded once and appended to a ring; a client is just a
//! cursor into it. The ring holds at most `queue_len` messages and
//! `queue_bytes` bytes: beyond either, the oldest frames go, and the client
//! that still needed them (the slowest) has lost messages and is closed
//! with 1013 (it can reconnect to a fresh snapshot). Snapshot
//! and cursor are taken under the same lock that publishing holds, so a new
//! client sees every change exactly once: either in its snapshot or live.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rustix::event::{eventfd, EventfdFlags};
use tungstenite::Bytes;

use crate::messages::{Message, ServiceInfo, StatusUpdate};

/// Bytes freed by a client leaving that make it worth trimming the heap.
const TRIM_HEAP_AFTER: usize = 1 << 20;

/// Shared state of the broadcaster.
pub struct Hub {
    inner: Mutex<Inner>,
    /// Sequence number after the newest frame, readable without the lock
    /// so an idle client can tell there is nothing new cheaply.
    head: AtomicU64,
    /// Sequence number of the oldest frame kept (`first_seq`), readable
    /// without the lock so a client can tell it has lagged.
    tail: AtomicU64,
    queue_len: usize,
    queue_bytes: usize,
    shutdown: AtomicBool,
    /// Frames were dropped unread: once their holders are gone, the heap
    /// they leave is worth giving back.
    heap_dirty: AtomicBool,
    /// What `GET /metrics` shows (a lock of its own).
    pub metrics: crate::sink::metrics::Registry,
    /// The refused scripts, for the dashboard (a lock of its own).
    pub refused: crate::refused::Refused,
}

struct Inner {
    /// Valid services from the scripts directory.
    services: BTreeMap<String, ServiceInfo>,
    /// Last status per log file id (also for logs without a script, so a
    /// script that appears later comes with its status).
    statuses: BTreeMap<String, StatusUpdate>,
    /// Frames not yet read by every client; `ring[0]` has sequence `first_seq`.
    ring: VecDeque<Bytes>,
    first_seq: u64,
    /// Total length of the frames in `ring`.
    ring_bytes: usize,
    clients: Vec<Arc<Cursor>>,
    next_client_id: u64,
}

/// A subscriber's cursor into the ring: where one reader (a WebSocket peer
/// or a push feeder) is, and how it is woken. ("Client" means the
/// WebSocket peer only.)
pub struct Cursor {
    id: u64,
    /// Sequence number of the next frame this client will read.
    cursor: AtomicU64,
    /// What wakes the thread that serves it (shared by every client of a
    /// writer thread, so a publication wakes that thread once).
    waker: Arc<Waker>,
}

/// Wakes a thread sleeping in `poll` for one or many clients: an eventfd
/// it polls with their sockets, written only while it sleeps.
pub struct Waker {
    /// Set while the thread sleeps waiting for new frames.
    waiting: AtomicBool,
    wake: OwnedFd,
}

impl Waker {
    /// A waker of its own.
    pub fn new() -> io::Result<Arc<Waker>> {
        Ok(Arc::new(Waker {
            waiting: AtomicBool::new(false),
            wake: eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?,
        }))
    }

    /// The eventfd to poll for wake-ups.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Clears pending wake-ups (after the eventfd polled readable).
    pub fn clear(&self) {
        let mut buf = [0u8; 8];
        // Nonblocking; EAGAIN just means nothing was pending.
        let _ = rustix::io::read(&self.wake, &mut buf);
    }

    /// Announces that the thread is about to sleep; it must then check for
    /// frames once more before polling, so no wake-up is lost.
    pub fn set_waiting(&self, waiting: bool) {
        self.waiting.store(waiting, Ordering::SeqCst);
    }

    /// Wakes the thread whether or not it sleeps.
    pub fn wake(&self) {
        // Fails only when the counter is full, when a wake-up is pending anyway.
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }
}

/// Why a client cannot read on.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetch {
    /// Frames were appended (possibly none).
    Ok,
    /// The client fell more than the queue length behind.
    Lagged,
}

impl Cursor {
    /// The eventfd to poll for wake-ups.
    pub fn wake_fd(&self) -> BorrowedFd<'_> {
        self.waker.fd()
    }

    /// Clears pending wake-ups (after the eventfd polled readable).
    pub fn clear_wake(&self) {
        self.waker.clear();
    }

    /// Announces that the thread is about to sleep; it must then check for
    /// frames once more before polling, so no wake-up is lost.
    pub fn set_waiting(&self, waiting: bool) {
        self.waker.set_waiting(waiting);
    }

    fn wake(&self) {
        self.waker.wake();
    }
}

impl Hub {
    /// An empty hub; a client may fall `queue_len` messages and
    /// `queue_bytes` bytes behind (the newest frame is always kept).
    pub fn new(queue_len: usize, queue_bytes: usize) -> Hub {
        Hub {
            inner: Mutex::new(Inner {
                services: BTreeMap::new(),
                statuses: BTreeMap::new(),
                ring: VecDeque::new(),
                first_seq: 0,
                ring_bytes: 0,
                clients: Vec::new(),
                next_client_id: 0,
            }),
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            queue_len: queue_len.max(1),
            queue_bytes,
            shutdown: AtomicBool::new(false),
            heap_dirty: AtomicBool::new(false),
            metrics: crate::sink::metrics::Registry::default(),
            refused: crate::refused::Refused::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking publisher leaves consistent data behind (every update
        // is a single insert or push), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The known services, sorted by id.
    pub fn services(&self) -> Vec<ServiceInfo> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.services.values().cloned().collect()
    }

    /// The known service `id`.
    pub fn service(&self, id: &str) -> Option<ServiceInfo> {
        self.lock().services.get(id).cloned()
    }

    /// Every known service's id, sorted, with the time stamp (RFC 3339)
    /// of its latest status, `None` before its first.
    pub fn latest_times(&self) -> Vec<(String, Option<String>)> {
        let inner = self.lock();
        inner
            .services
            .keys()
            .map(|id| {
                (
                    id.clone(),
                    inner.statuses.get(id).map(|s| s.timestamp.clone()),
                )
            })
            .collect()
    }

    /// Replaces the set of known services, announcing additions, changes
    /// and removals. A changed service is announced as added again, with
    /// the same id, followed by its status: clients that key rows by id
    /// update the row in place, and no one is shown a removal that did not
    /// happen (the push outbox sends it to collectors as `agent.ready`).
    pub fn set_services(&self, services: Vec<ServiceInfo>) {
        let mut inner = self.lock();
        let new: BTreeMap<String, ServiceInfo> =
            services.into_iter().map(|s| (s.id.clone(), s)).collect();
        let old = std::mem::take(&mut inner.services);
        let mut frames = Vec::new();
        for id in old.keys() {
            if !new.contains_key(id) {
                frames.push(Message::Removed { service_id: id }.to_frame());
            }
        }
        for (id, info) in &new {
            if old.get(id) != Some(info) {
                frames.push(Message::Added { service: info }.to_frame());
                if let Some(status) = inner.statuses.get(id) {
                    frames.push(Message::Status(status).to_frame());
                }
            }
        }
        inner.services = new;
        let mut wake = Vec::new();
        for f in frames {
            self.push(&mut inner, f, &mut wake);
        }
        drop(inner);
        wake.iter().for_each(|c| c.wake());
    }

    /// Records a new status line; clients hear of it if the service is known.
    pub fn set_status(&self, update: StatusUpdate) {
        self.set_statuses(vec![update]);
    }

    /// Records several status lines in order under one lock, waking each
    /// sleeping client once: a burst costs a few wake-ups, not one per line.
    pub fn set_statuses(&self, updates: Vec<StatusUpdate>) {
        if updates.is_empty() {
            return;
        }
        self.metrics.record(&updates);
        let mut inner = self.lock();
        let mut wake = Vec::new();
        for update in updates {
            let frame = inner
                .services
                .contains_key(&update.service_id)
                .then(|| Message::Status(&update).to_frame());
            inner.statuses.insert(update.service_id.clone(), update);
            if let Some(f) = frame {
                self.push(&mut inner, f, &mut wake);
            }
        }
        drop(inner);
        // Woken clients take the lock to read: wake them after releasing it.
        wake.iter().for_each(|c| c.wake());
    }

    /// Appends a frame; collects the clients asleep waiting for one.
    fn push(&self, inner: &mut Inner, frame: Bytes, wake: &mut Vec<Arc<Cursor>>) {
        inner.ring_bytes += frame.len();
        inner.ring.push_back(frame);
        let head = inner.first_seq + inner.ring.len() as u64;
        let before = inner.first_seq;
        // Beyond the queue length or size frames go even if unread: clients
        // still needing them have lagged and get closed.
        self.trim(inner, head.saturating_sub(self.queue_len as u64));
        self.head.store(head, Ordering::SeqCst);
        let first = inner.first_seq;
        for c in &inner.clients {
            let cursor = c.cursor.load(Ordering::SeqCst);
            // A client that has just lagged is woken even when busy: it may
            // be stuck on a full socket, holding frames, and must close.
            let lagged_now = cursor < first && cursor >= before;
            if c.waker.waiting.swap(false, Ordering::SeqCst) || lagged_now {
                wake.push(c.clone());
            }
        }
    }

    /// Drops frames every client has read, all before `at_least`, and the
    /// oldest while the ring holds more than `queue_bytes` (the newest stays).
    fn trim(&self, inner: &mut Inner, at_least: u64) {
        let head = inner.first_seq + inner.ring.len() as u64;
        let min_cursor = inner
            .clients
            .iter()
            .map(|c| c.cursor.load(Ordering::SeqCst))
            .min()
            .unwrap_or(head);
        let keep_from = at_least.max(min_cursor.min(head));
        loop {
            let over = inner.ring_bytes > self.queue_bytes && inner.ring.len() > 1;
            if inner.first_seq >= keep_from && !over {
                break;
            }
            let Some(f) = inner.ring.pop_front() else {
                break;
            };
            inner.ring_bytes -= f.len();
            inner.first_seq += 1;
            if inner.first_seq > min_cursor {
                self.heap_dirty.store(true, Ordering::SeqCst);
            }
        }
        self.tail.store(inner.first_seq, Ordering::SeqCst);
        if inner.ring.is_empty() && inner.ring.capacity() > 1024 {
            // After a burst: free the queue's own memory too.
            inner.ring = VecDeque::new();
        }
    }

    /// Whether the client needs frames that are gone (it must close).
    pub fn is_lagged(&self, client: &Cursor) -> bool {
        client.cursor.load(Ordering::SeqCst) < self.tail.load(Ordering::SeqCst)
    }

    /// How many frames and bytes the queue holds now.
    pub fn queue_size(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.ring.len(), inner.ring_bytes)
    }

    /// Whether every client has read every frame.
    pub fn is_drained(&self) -> bool {
        self.lock().ring.is_empty()
    }

    /// Registers a new client and returns it with its snapshot: `agent.ready`
    /// then one status update per known service that has a status.
    pub fn subscribe(&self) -> io::Result<(Arc<Cursor>, Vec<Bytes>)> {
        Ok(self.subscribe_with(Waker::new()?))
    }

    /// As [`Hub::subscribe`], for a client whose thread sleeps on `waker`.
    pub fn subscribe_with(&self, waker: Arc<Waker>) -> (Arc<Cursor>, Vec<Bytes>) {
        let mut inner = self.lock();
        let services: Vec<&ServiceInfo> = inner.services.values().collect();
        let mut snapshot = vec![Message::Ready { services }.to_frame()];
        for id in inner.services.keys() {
            if let Some(s) = inner.statuses.get(id) {
                snapshot.push(Message::Status(s).to_frame());
            }
        }
        let head = inner.first_seq + inner.ring.len() as u64;
        let client = Arc::new(Cursor {
            id: inner.next_client_id,
            cursor: AtomicU64::new(head),
            waker,
        });
        inner.next_client_id += 1;
        inner.clients.push(client.clone());
        (client, snapshot)
    }

    /// Forgets a client, and frees what only it still needed.
    pub fn unsubscribe(&self, client: &Cursor) {
        let mut inner = self.lock();
        inner.clients.retain(|c| c.id != client.id);
        let bytes = inner.ring_bytes;
        self.trim(&mut inner, 0);
        let freed = bytes - inner.ring_bytes;
        drop(inner);
        // The slowest client leaving (or one closed for lagging) may leave
        // megabytes of freed frames in the heap, which glibc keeps unless
        // asked; small departures are not worth the walk through the heap.
        if freed >= TRIM_HEAP_AFTER || self.heap_dirty.swap(false, Ordering::SeqCst) {
            self.heap_dirty.store(false, Ordering::SeqCst);
            crate::heap::trim();
        }
    }

    /// Appends up to `max` frames the client has not read yet to `out` and
    /// advances its cursor past them.
    pub fn fetch(&self, client: &Cursor, out: &mut VecDeque<Bytes>, max: usize) -> Fetch {
        self.fetch_then(client, out, max, true)
    }

    /// As [`Hub::fetch`], but frees nothing: for a thread that fetches for
    /// many clients, then calls [`Hub::release`] once (freeing looks at
    /// every client: once per client and frame would cost a thousand
    /// viewers a million looks per line).
    pub fn fetch_only(&self, client: &Cursor, out: &mut VecDeque<Bytes>, max: usize) -> Fetch {
        self.fetch_then(client, out, max, false)
    }

    /// Frees the frames every client has read.
    pub fn release(&self) {
        let mut inner = self.lock();
        if !inner.ring.is_empty() {
            self.trim(&mut inner, 0);
        }
    }

    fn fetch_then(
        &self,
        client: &Cursor,
        out: &mut VecDeque<Bytes>,
        max: usize,
        free: bool,
    ) -> Fetch {
        let cursor = client.cursor.load(Ordering::SeqCst);
        if cursor == self.head.load(Ordering::SeqCst) {
            return Fetch::Ok;
        }
        let inner = self.lock();
        if cursor < inner.first_seq {
            return Fetch::Lagged;
        }
        let start = (cursor - inner.first_seq) as usize;
        let n = inner.ring.len().saturating_sub(start).min(max);
        out.extend(inner.ring.range(start..start + n).cloned());
        client.cursor.store(cursor + n as u64, Ordering::SeqCst);
        if free && start + n == inner.ring.len() {
            // Caught up: maybe everyone has, so frames can be freed now
            // rather than at the next publication.
            let mut inner = inner;
            self.trim(&mut inner, 0);
        }
        Fetch::Ok
    }

    /// Whether the client has unread frames (or has lagged).
    pub fn has_pending(&self, client: &Cursor) -> bool {
        client.cursor.load(Ordering::SeqCst) != self.head.load(Ordering::SeqCst)
    }

    /// Asks every client to close (SIGTERM).
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        let inner = self.lock();
        for c in &inner.clients {
            c.wake();
        }
    }

    /// Whether shutdown was requested.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> ServiceInfo {
        ServiceInfo {
            id: id.into(),
            name: format!("{id} name"),
            description: String::new(),
            version: "1".into(),
            schedule: "daily".into(),
        }
    }

    fn status(id: &str, s: &'static str) -> StatusUpdate {
        StatusUpdate {
            service_id: id.into(),
            status: s.parse().unwrap(),
            message: String::new(),
            timestamp: "2026-11-26T10:00:00Z".into(),
        }
    }

    fn text(f: &Bytes) -> String {
        String::from_utf8_lossy(&f[2..]).into_owned()
    }

    #[test]
    fn snapshot_then_live_without_gap_or_duplicate() {
        let hub = Hub::new(100, usize::MAX);
        hub.set_services(vec![info("a"), info("b")]);
        hub.set_status(status("a", "OK"));
        hub.set_status(status("zzz", "ERROR")); // no script: kept, not sent
        let (c, snap) = hub.subscribe().unwrap();
        assert_eq!(snap.len(), 2);
        assert!(text(&snap[0]).contains("agent.ready"));
        assert!(text(&snap[1]).contains(r#""status":"OK""#));
        hub.set_status(status("b", "WARNING"));
        let mut out = VecDeque::new();
        assert_eq!(hub.fetch(&c, &mut out, 10), Fetch::Ok);
        assert_eq!(out.len(), 1);
        assert!(text(&out[0]).contains("WARNING"));
        out.clear();
        hub.fetch(&c, &mut out, 10);
        assert!(out.is_empty());
    }

    /// An edited service is announced as added again (clients update the
    /// row with that id) and never as removed.
    #[test]
    fn an_edit_is_added_again_without_a_removal() {
        let hub = Hub::new(100, usize::MAX);
        hub.set_services(vec![info("a"), info("b")]);
        hub.set_status(status("a", "WARNING"));
        let (c, _) = hub.subscribe().unwrap();
        let mut edited = info("a");
        edited.version = "2".into();
        hub.set_services(vec![edited, info("b")]);
        let mut out = VecDeque::new();
        hub.fetch(&c, &mut out, 10);
        let got: Vec<String> = out.iter().map(text).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains("agent.service_added") && got[0].contains(r#""version":"2""#));
        assert!(got[1].contains("WARNING"));
    }

    #[test]
    fn added_service_brings_its_status() {
        let hub = Hub::new(100, usize::MAX);
        let (c, _) = hub.subscribe().unwrap();
        hub.set_status(status("a", "FAILURE"));
        hub.set_services(vec![info("a")]);
        hub.set_services(vec![]);
        let mut out = VecDeque::new();
        hub.fetch(&c, &mut out, 10);
        let got: Vec<String> = out.iter().map(text).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].contains("agent.service_added"));
        assert!(got[1].contains("FAILURE"));
        assert!(got[2].contains("agent.service_removed"));
    }

    #[test]
    fn slow_client_lags_and_ring_stays_bounded() {
        let hub = Hub::new(4, usize::MAX);
        hub.set_services(vec![info("a")]);
        let (slow, _) = hub.subscribe().unwrap();
        let (fast, _) = hub.subscribe().unwrap();
        let mut out = VecDeque::new();
        for _ in 0..10 {
            hub.set_status(status("a", "OK"));
            out.clear();
            assert_eq!(hub.fetch(&fast, &mut out, 10), Fetch::Ok);
            assert_eq!(out.len(), 1);
        }
        assert!(hub.lock().ring.len() <= 4);
        assert_eq!(hub.fetch(&slow, &mut out, 10), Fetch::Lagged);
        hub.unsubscribe(&slow);
        hub.set_status(status("a", "OK"));
        assert!(hub.lock().ring.len() <= 1);
    }
}

//! The process around the connections: the listening socket (bound or
//! passed by systemd), readiness notification, signals, and the accept
//! loop that gives every connection its own small thread, within limits.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::{fcntl_dupfd_cloexec, fcntl_setfd, Errno, FdFlags};

use crate::client::{self, Context, MAX_ANSWERING, MAX_LINGERING};
use crate::http;
use crate::log;
use crate::routes;
use crate::watch::RescanRequest;

/// Stack size of a connection thread: they only shuffle bytes, and a
/// thousand clients must fit in a few MiB.
const CONN_STACK: usize = 64 * 1024;

/// The listening socket: from systemd (`LISTEN_FDS`) or bound here.
pub fn listener(addr: SocketAddr) -> io::Result<(TcpListener, bool)> {
    if let Some(l) = activated_listener()? {
        return Ok((l, true));
    }
    TcpListener::bind(addr).map(|l| (l, false))
}

/// The first socket passed by systemd socket activation, if any
/// (`sd_listen_fds(3)`: fds from 3, only when `LISTEN_PID` is us).
fn activated_listener() -> io::Result<Option<TcpListener>> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let fds = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
        .unwrap_or(0);
    // Children must not inherit the activation.
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    if !pid_ok || fds < 1 {
        return Ok(None);
    }
    // SAFETY: systemd passed fd 3 to this process (LISTEN_PID matched);
    // nothing else in the process owns it. (The sd-notify crate would only
    // parse the variables and hand back the same raw number.)
    let owned = unsafe { OwnedFd::from_raw_fd(3) };
    fcntl_setfd(&owned, FdFlags::CLOEXEC)?;
    let listener = TcpListener::from(owned);
    // Fails unless it really is a socket with an address.
    listener.local_addr().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("socket passed by systemd (fd 3) is not a TCP listener: {e}"),
        )
    })?;
    Ok(Some(listener))
}

/// Tells systemd we are ready, when started as `Type=notify`.
///
/// Written here rather than with the `sd-notify` crate: that crate (0.5)
/// does not reach an abstract socket (`NOTIFY_SOCKET=@…`, which service
/// managers may pass), needs a newer Rust than this workspace promises,
/// and this takes no `unsafe` either.
pub fn notify_ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let result = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|a| sock.send_to_addr(b"READY=1", &a))
    } else {
        sock.send_to(b"READY=1", &path)
    };
    if let Err(e) = result {
        log!(warning: "ssi-broadcaster: cannot notify systemd: {e}");
    }
}

/// Signals the accept loop acts on: stop (TERM, INT), rescan (HUP), report
/// (USR1).
const HANDLED: [Signal; 4] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGUSR1,
];
/// Signals that would end the process by default and mean nothing here:
/// taken and dropped.
const IGNORED: [Signal; 2] = [Signal::SIGUSR2, Signal::SIGQUIT];

/// The signals, as a descriptor the accept loop polls with the listener.
///
/// The signals are blocked in the calling thread, hence in every thread
/// started after this (call it before starting any): they are never
/// delivered to a handler, so no thread ever sees `EINTR` from them, and
/// only the accept loop takes them, by reading this signalfd. (signal-hook
/// installs handlers and cannot keep signals away from the other threads;
/// rustix leaves signal masks to the C library; nix wraps both
/// `pthread_sigmask` and `signalfd` safely.)
pub fn signals() -> io::Result<SignalFd> {
    let set: SigSet = HANDLED.into_iter().chain(IGNORED).collect();
    set.thread_block()?;
    Ok(SignalFd::with_flags(
        &set,
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )?)
}

/// What the signals asked for since the last look.
#[derive(Default)]
pub(crate) struct Requests {
    pub stop: bool,
    pub rescan: bool,
    pub report: bool,
}

impl Requests {
    /// Does what HUP and USR1 asked for (rescan; a report, each of
    /// `report`'s lines logged) and says whether TERM or INT asked to stop.
    /// The accept loop and the listener-less `--no-listen` loop both act
    /// on signals through this.
    pub(crate) fn act(&self, rescan: &RescanRequest, report: impl FnOnce() -> Vec<String>) -> bool {
        if self.rescan {
            log!("ssi-broadcaster: SIGHUP: rescanning scripts and logs.");
            rescan.send();
        }
        if self.report {
            for line in report() {
                log!("ssi-broadcaster: {line}");
            }
        }
        self.stop
    }
}

/// Reads every pending signal off `signals` (never blocks).
pub(crate) fn read_signals(signals: &SignalFd) -> Requests {
    let mut r = Requests::default();
    let is = |info: &libc::signalfd_siginfo, sig: Signal| info.ssi_signo == sig as u32;
    while let Ok(Some(info)) = signals.read_signal() {
        if is(&info, Signal::SIGHUP) {
            r.rescan = true;
        } else if is(&info, Signal::SIGUSR1) {
            r.report = true;
        } else if is(&info, Signal::SIGTERM) || is(&info, Signal::SIGINT) {
            r.stop = true;
        }
    }
    r
}

/// One descriptor held in reserve: when `accept` fails for lack of
/// descriptors, giving it back lets one more connection in, to be told so
/// (503) and closed, instead of leaving it, and every later one, waiting
/// in the backlog until it times out.
#[derive(Default)]
struct Spare(Option<OwnedFd>);

impl Spare {
    /// Takes a descriptor back into reserve (a duplicate of `source`, so
    /// no file system is needed), if one can be had.
    fn reserve(&mut self, source: impl AsFd) {
        if self.0.is_none() {
            self.0 = fcntl_dupfd_cloexec(source, 0).ok();
        }
    }

    /// Frees the reserved descriptor; false when there was none.
    fn release(&mut self) -> bool {
        self.0.take().is_some()
    }
}

/// How long the listener is left alone when a connection cannot even be
/// accepted to be refused (out of descriptors with no spare, out of memory).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// At most one accept warning per this long.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(60);

/// Accepts connections until SIGTERM or SIGINT, then closes every client
/// (close frame 1001) and returns within about a second. SIGHUP makes the
/// watcher rescan scripts and logs; SIGUSR1 writes a one-line report.
pub fn serve(
    listener: TcpListener,
    ctx: Arc<Context>,
    signals: SignalFd,
    rescan: RescanRequest,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut spare = Spare::default();
    let mut warn = log::Every::new(ACCEPT_WARN_EVERY);
    // While set, the listener is not polled (it would only spin).
    let mut paused_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if paused_until.is_some_and(|t| now >= t) {
            paused_until = None;
        }
        spare.reserve(&signals);
        let (signalled, connecting) = wait(&signals, &listener, paused_until, now)?;
        if signalled && read_signals(&signals).act(&rescan, || vec![ctx.report()]) {
            break;
        }
        if connecting {
            paused_until = accept_all(&listener, &ctx, &signals, &mut spare, &mut warn);
        }
    }
    ctx.hub.shutdown();
    drop(listener);
    ctx.threads.wait_for_all(Duration::from_millis(800));
    Ok(())
}

/// Sleeps until a signal comes or (unless paused) a connection waits;
/// says which.
fn wait(
    signals: &SignalFd,
    listener: &TcpListener,
    paused_until: Option<Instant>,
    now: Instant,
) -> io::Result<(bool, bool)> {
    let mut fds = [
        PollFd::new(signals, PollFlags::IN),
        PollFd::new(listener, PollFlags::IN),
    ];
    let nfds = if paused_until.is_some() { 1 } else { 2 };
    let timeout = paused_until.map(|t| client::timespec(t.saturating_duration_since(now)));
    match poll(&mut fds[..nfds], timeout.as_ref()) {
        // The handled signals are blocked, so only a stop and continue
        // (SIGSTOP, SIGCONT) can interrupt: look again.
        Ok(_) | Err(Errno::INTR) => {}
        Err(e) => return Err(e.into()),
    }
    let signalled = !fds[0].revents().is_empty();
    let connecting = nfds == 2 && !fds[1].revents().is_empty();
    Ok((signalled, connecting))
}

/// Accepts every waiting connection. Returns when to look at the listener
/// again if it must be left alone for a while.
fn accept_all(
    listener: &TcpListener,
    ctx: &Arc<Context>,
    signals: &SignalFd,
    spare: &mut Spare,
    warn: &mut log::Every,
) -> Option<Instant> {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let out_of_fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
                if let Some(held) = warn.allow(Instant::now()) {
                    let more = if held > 0 {
                        format!(" ({held} more since the last report)")
                    } else {
                        String::new()
                    };
                    let hint = if out_of_fds {
                        ", answering 503 (raise LimitNOFILE=?)"
                    } else {
                        ""
                    };
                    log!(warning: "ssi-broadcaster: accept: {e}{hint}{more}");
                }
                if out_of_fds && spare.release() {
                    let got = listener
                        .accept()
                        .map(|(s, _)| http::refuse(s, "too many open files"));
                    spare.reserve(signals);
                    // If even that failed, or the spare is gone, rest.
                    if got.is_ok() && spare.0.is_some() {
                        continue;
                    }
                }
                return Some(Instant::now() + ACCEPT_PAUSE);
            }
        };
        admit(ctx, stream, peer.ip());
    }
}

/// Threads beyond the WebSocket clients, the pending request heads, the
/// connections being answered and the lingering ones: ones on their way
/// between two of these, or being refused, and ones that lost their place
/// to another source but still wait for their turn at the history.
const EXTRA_THREADS: usize = 64;

/// The most connection threads there may be. Each kind of connection is
/// bounded on its own, so this is reached only if something is wrong.
fn max_threads(ctx: &Context) -> usize {
    ctx.max_clients + ctx.tuning.max_pending + MAX_ANSWERING + MAX_LINGERING + EXTRA_THREADS
}

/// Gives an accepted connection its thread, or refuses it at once when the
/// pending-head limits (or the thread limit) say so.
fn admit(ctx: &Arc<Context>, stream: TcpStream, peer: IpAddr) {
    if ctx.threads.count() >= max_threads(ctx) {
        http::refuse(stream, "too many connections");
        return;
    }
    let Some(slot) = ctx.pending.admit(peer, stream.as_raw_fd()) else {
        http::refuse(stream, "too many connections still sending their request");
        return;
    };
    let _ = stream.set_nonblocking(false);
    let guard = ctx.threads.started();
    let c = ctx.clone();
    let spawned = std::thread::Builder::new()
        .name("ssi-conn".into())
        .stack_size(CONN_STACK)
        .spawn(move || {
            let _guard = guard;
            routes::handle(&c, stream, slot, peer);
        });
    if let Err(e) = spawned {
        log!(error: "ssi-broadcaster: cannot start a connection thread: {e}");
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
    fn started(self: &Arc<Threads>) -> ThreadGuard {
        *self.lock() += 1;
        ThreadGuard(self.clone())
    }

    /// Number of connection threads alive.
    pub fn count(&self) -> usize {
        *self.lock()
    }

    /// Waits until every connection thread has finished, or `timeout`.
    fn wait_for_all(&self, timeout: Duration) {
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
struct ThreadGuard(Arc<Threads>);

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        *self.0.lock() -= 1;
        self.0.done.notify_all();
    }
}

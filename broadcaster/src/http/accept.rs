//! Step 4 of the data flow: the accept loop: every connection gets its own
//! small thread, within limits, and a connection that cannot be served is
//! told so at once (503); the loop also takes the signals
//! ([`crate::signals`]) and, on TERM, closes every peer.

use std::io;
use std::net::{IpAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signalfd::SignalFd;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::{fcntl_dupfd_cloexec, Errno};

use crate::http;
use crate::http::context::{Context, MAX_ANSWERING, MAX_LINGERING};
use crate::http::routes;
use crate::poll::timespec;
use crate::signals::read_signals;
use crate::source::watch::RescanRequest;

/// Stack size of a connection thread: they only shuffle bytes, and a
/// thousand clients must fit in a few MiB.
const CONN_STACK: usize = 64 * 1024;

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
/// watcher rescan scripts and logs; SIGUSR1 writes a one-line report,
/// followed by `more`'s lines (the collectors', when pushing too).
pub fn serve(
    listener: TcpListener,
    ctx: Arc<Context>,
    signals: SignalFd,
    rescan: RescanRequest,
    more: impl Fn() -> Vec<String>,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut spare = Spare::default();
    let mut warn = Every::new(ACCEPT_WARN_EVERY);
    // While set, the listener is not polled (it would only spin).
    let mut paused_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if paused_until.is_some_and(|t| now >= t) {
            paused_until = None;
        }
        spare.reserve(&signals);
        let (signalled, connecting) = wait(&signals, &listener, paused_until, now)?;
        let report = || [vec![ctx.report()], more()].concat();
        if signalled && read_signals(&signals).act(&rescan, report) {
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
    let timeout = paused_until.map(|t| timespec(t.saturating_duration_since(now)));
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
    warn: &mut Every,
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
                    log::warn!("ssi-broadcaster: accept: {e}{hint}{more}");
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
        log::error!("ssi-broadcaster: cannot start a connection thread: {e}");
    }
}

/// Lets a repeating warning through at most once per `every`, counting
/// what it held back, so a condition that lasts does not flood the journal.
pub struct Every {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl Every {
    /// A limiter letting one message through per `every`.
    pub fn new(every: Duration) -> Every {
        Every {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// `Some(n)` when a message may be written now, `n` being how many were
    /// held back since the last one; `None` to stay quiet.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lets_one_through_per_period_and_counts_the_rest() {
        let mut e = Every::new(Duration::from_secs(60));
        let t = Instant::now();
        assert_eq!(e.allow(t), Some(0));
        assert_eq!(e.allow(t + Duration::from_secs(1)), None);
        assert_eq!(e.allow(t + Duration::from_secs(59)), None);
        assert_eq!(e.allow(t + Duration::from_secs(61)), Some(2));
        assert_eq!(e.allow(t + Duration::from_secs(62)), None);
    }
}

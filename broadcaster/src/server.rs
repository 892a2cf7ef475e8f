//! The process around the connections: the listening socket (bound or
//! passed by systemd), readiness notification, signals, and the accept
//! loop that gives every connection its own small thread, within limits.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{self, Context};
use crate::log;
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
    let fd: RawFd = 3;
    // SAFETY: systemd passed fd 3 to this process (LISTEN_PID matched);
    // nothing else in the process owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain fcntl on a valid fd.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
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
        log!("ssi-broadcaster: cannot notify systemd: {e}");
    }
}

/// Write end of the signal pipe, for the async-signal-safe handler.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        // Every handled signal number fits in a byte.
        let b = sig as u8;
        // SAFETY: write(2) is async-signal-safe; fd is our pipe.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

/// Signals the accept loop acts on: stop (TERM, INT), rescan (HUP), report
/// (USR1).
const HANDLED: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1];
/// Signals that would end the process by default and mean nothing here.
const IGNORED: [libc::c_int; 2] = [libc::SIGUSR2, libc::SIGQUIT];

fn handled_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in HANDLED {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// A pipe that receives one byte (the signal number) per handled signal
/// (the self-pipe trick), so the accept loop can wait for connections and
/// signals together.
///
/// The handled signals are blocked in the calling thread, hence in every
/// thread started after this: they are delivered only while the accept
/// loop waits in `ppoll`, and no other thread ever sees `EINTR` from them.
pub fn signal_pipe() -> io::Result<OwnedFd> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    SIGNAL_PIPE.store(write.as_raw_fd(), Ordering::Relaxed);
    // The write end lives as long as the process.
    std::mem::forget(write);
    let set = handled_set();
    // SAFETY: blocking signals in this thread; the set is initialised.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    let handler = on_signal as *const () as usize;
    for (sig, action) in HANDLED
        .iter()
        .map(|&s| (s, handler))
        .chain(IGNORED.iter().map(|&s| (s, libc::SIG_IGN)))
    {
        // SAFETY: installing a handler that only calls write(2), or SIG_IGN.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = action;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(read)
}

/// What the signals asked for since the last look.
#[derive(Default)]
struct Requests {
    stop: bool,
    rescan: bool,
    report: bool,
}

fn read_signals(pipe: &OwnedFd) -> Requests {
    let mut r = Requests::default();
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reading into a local buffer from our nonblocking pipe.
        let n = unsafe { libc::read(pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return r;
        }
        for &b in &buf[..n as usize] {
            match libc::c_int::from(b) {
                libc::SIGHUP => r.rescan = true,
                libc::SIGUSR1 => r.report = true,
                _ => r.stop = true,
            }
        }
    }
}

/// One descriptor held in reserve: when `accept` fails for lack of
/// descriptors, giving it back lets one more connection in, to be told so
/// (503) and closed, instead of leaving it, and every later one, waiting
/// in the backlog until it times out.
struct Spare {
    source: RawFd,
    fd: Option<OwnedFd>,
}

impl Spare {
    /// A spare made by duplicating `source` (no file system needed).
    fn new(source: RawFd) -> Spare {
        let mut s = Spare { source, fd: None };
        s.reserve();
        s
    }

    /// Takes a descriptor back into reserve, if one can be had.
    fn reserve(&mut self) {
        if self.fd.is_none() {
            // SAFETY: F_DUPFD_CLOEXEC on our own valid descriptor; the
            // result is checked and owned at once.
            let fd = unsafe { libc::fcntl(self.source, libc::F_DUPFD_CLOEXEC, 0) };
            if fd >= 0 {
                // SAFETY: a fresh descriptor nothing else owns.
                self.fd = Some(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }

    /// Frees the reserved descriptor; false when there was none.
    fn release(&mut self) -> bool {
        self.fd.take().is_some()
    }
}

/// How long the listener is left alone when a connection cannot even be
/// accepted to be refused (out of descriptors with no spare, out of memory).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// At most one accept warning per this long.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(60);

/// Answers 503 and closes, from the accept loop itself: never blocks.
/// Whatever the client already sent is read first, so that the close is a
/// FIN and not a reset that could destroy the answer in flight.
fn refuse(stream: TcpStream, why: &str) {
    let _ = stream.set_nonblocking(true);
    let mut buf = [0u8; 2048];
    for _ in 0..8 {
        match (&stream).read(&mut buf) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let body = format!("{why}, try again later\n");
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = (&stream).write(resp.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// Accepts connections until SIGTERM or SIGINT, then closes every client
/// (close frame 1001) and returns within about a second. SIGHUP makes the
/// watcher rescan scripts and logs; SIGUSR1 writes a one-line report.
pub fn serve(
    listener: TcpListener,
    ctx: Arc<Context>,
    signals: OwnedFd,
    rescan: RescanRequest,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut spare = Spare::new(signals.as_raw_fd());
    let mut warn = log::Every::new(ACCEPT_WARN_EVERY);
    // While set, the listener is not polled (it would only spin).
    let mut paused_until: Option<Instant> = None;
    // The signal mask while waiting: the handled signals unblocked.
    let mut wait_mask: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: reading this thread's mask into an initialised set, then
    // removing the handled signals from it.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut wait_mask);
        for sig in HANDLED {
            libc::sigdelset(&mut wait_mask, sig);
        }
    }
    loop {
        let now = Instant::now();
        if paused_until.is_some_and(|t| now >= t) {
            paused_until = None;
        }
        spare.reserve();
        let mut fds = [
            libc::pollfd {
                fd: signals.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let nfds = if paused_until.is_some() { 1 } else { 2 };
        let timeout = paused_until.map(|t| {
            let left = t.saturating_duration_since(now);
            libc::timespec {
                tv_sec: left.as_secs() as libc::time_t,
                tv_nsec: left.subsec_nanos().into(),
            }
        });
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: fds holds nfds valid pollfd structs; the timeout and the
        // mask outlive the call.
        let r = unsafe { libc::ppoll(fds.as_mut_ptr(), nfds, timeout_ptr, &wait_mask) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                // A signal: its byte is in the pipe now.
                fds[0].revents = libc::POLLIN;
            } else {
                return Err(e);
            }
        }
        if fds[0].revents != 0 {
            let req = read_signals(&signals);
            if req.stop {
                break;
            }
            if req.rescan {
                log!("ssi-broadcaster: SIGHUP: rescanning scripts and logs.");
                rescan.send();
            }
            if req.report {
                log!("ssi-broadcaster: {}", ctx.report());
            }
        }
        if nfds < 2 || fds[1].revents == 0 {
            continue;
        }
        loop {
            let (stream, peer) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
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
                        log!("ssi-broadcaster: accept: {e}{hint}{more}");
                    }
                    if out_of_fds && spare.release() {
                        let got = listener
                            .accept()
                            .map(|(s, _)| refuse(s, "too many open files"));
                        spare.reserve();
                        // If even that failed, or the spare is gone, rest.
                        if got.is_ok() && spare.fd.is_some() {
                            continue;
                        }
                    }
                    paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                    break;
                }
            };
            admit(&ctx, stream, peer.ip());
        }
    }
    ctx.hub.shutdown();
    drop(listener);
    ctx.wait_for_threads(Duration::from_millis(800));
    Ok(())
}

/// Gives an accepted connection its thread, or refuses it at once when the
/// pending-head limits (or the thread limit) say so.
fn admit(ctx: &Arc<Context>, stream: TcpStream, peer: IpAddr) {
    if ctx.thread_count() >= ctx.max_threads() {
        refuse(stream, "too many connections");
        return;
    }
    let Some(slot) = ctx.pending.admit(peer, stream.as_raw_fd()) else {
        refuse(stream, "too many connections still sending their request");
        return;
    };
    let _ = stream.set_nonblocking(false);
    let guard = ctx.thread_started();
    let c = ctx.clone();
    let spawned = std::thread::Builder::new()
        .name("ssi-conn".into())
        .stack_size(CONN_STACK)
        .spawn(move || {
            let _guard = guard;
            client::handle(&c, stream, slot);
        });
    if let Err(e) = spawned {
        log!("ssi-broadcaster: cannot start a connection thread: {e}");
    }
}

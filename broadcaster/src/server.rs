//! The process around the connections: the listening socket (bound or
//! passed by systemd), readiness notification, SIGTERM/SIGINT, and the
//! accept loop that gives every connection its own small thread.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::client::{self, Context};

/// Stack size of a connection thread: they only shuffle bytes, and a
/// thousand clients must fit in a few MiB.
const CONN_STACK: usize = 64 * 1024;
/// Connections still in their HTTP handshake beyond the client limit are
/// dropped at once, so slow openers cannot pile up threads.
const EXTRA_HANDSHAKES: usize = 64;

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
        eprintln!("ssi-broadcaster: cannot notify systemd: {e}");
    }
}

/// Write end of the signal pipe, for the async-signal-safe handler.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: write(2) is async-signal-safe; fd is our pipe.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

/// A pipe that becomes readable on SIGTERM or SIGINT (the self-pipe trick),
/// so the accept loop can `poll` for connections and signals together.
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
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: installing a handler that only calls write(2).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(read)
}

/// Accepts connections until a signal arrives, then closes every client
/// (close frame 1001) and returns within about a second.
pub fn serve(listener: TcpListener, ctx: Arc<Context>, signals: OwnedFd) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds is a valid array of two pollfd structs.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            break;
        }
        loop {
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of fds or memory: back off instead of spinning.
                    eprintln!("ssi-broadcaster: accept: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    break;
                }
            };
            if ctx.thread_count() >= ctx.max_clients + EXTRA_HANDSHAKES {
                drop(stream);
                continue;
            }
            let _ = stream.set_nonblocking(false);
            let guard = ctx.thread_started();
            let c = ctx.clone();
            let spawned = std::thread::Builder::new()
                .name("ssi-conn".into())
                .stack_size(CONN_STACK)
                .spawn(move || {
                    let _guard = guard;
                    client::handle(&c, stream);
                });
            if let Err(e) = spawned {
                eprintln!("ssi-broadcaster: cannot start a connection thread: {e}");
            }
        }
    }
    ctx.hub.shutdown();
    drop(listener);
    ctx.wait_for_threads(Duration::from_millis(800));
    Ok(())
}

//! Step 0, the process as systemd runs it: the listening socket (bound or
//! passed by socket activation, `LISTEN_FDS`), readiness (`READY=1`) and
//! the descriptor limit. Only `main` calls these, before and after wiring
//! the data flow.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;

use rustix::io::{fcntl_setfd, FdFlags};

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
pub fn ready() {
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
        log::warn!("ssi-broadcaster: cannot notify systemd: {e}");
    }
}

/// Raises the soft descriptor limit to the hard one, as systemd advises for
/// programs that do not use select(2): the soft limit of 1024 only protects
/// select() users, and every client costs a descriptor or two. Log files do
/// not scale with it (only recently changed ones are held open). Failure
/// (a sandbox refusing setrlimit) leaves the limit as it was.
pub fn raise_nofile_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    // `None` is no limit (infinity).
    let below = match (lim.current, lim.maximum) {
        (Some(soft), Some(hard)) => soft < hard,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if below {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: lim.maximum,
                maximum: lim.maximum,
            },
        );
    }
}

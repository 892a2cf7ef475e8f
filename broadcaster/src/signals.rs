//! Step 0, the process: signals, taken by one descriptor (signalfd) and
//! acted on in one place: TERM and INT stop, HUP rescans, USR1 reports. The
//! accept loop polls the descriptor with its listener; without a listener
//! (`--no-listen`) the main thread waits on it alone ([`wait_until_stop`]).

use std::io;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use rustix::event::{poll, PollFd, PollFlags};

use crate::source::watch::RescanRequest;

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
pub struct Requests {
    pub stop: bool,
    pub rescan: bool,
    pub report: bool,
}

impl Requests {
    /// Does what HUP and USR1 asked for (rescan; a report, each of
    /// `report`'s lines logged) and says whether TERM or INT asked to stop.
    /// The accept loop and the listener-less `--no-listen` loop both act
    /// on signals through this.
    pub fn act(&self, rescan: &RescanRequest, report: impl FnOnce() -> Vec<String>) -> bool {
        if self.rescan {
            log::info!("ssi-broadcaster: SIGHUP: rescanning scripts and logs.");
            rescan.send();
        }
        if self.report {
            for line in report() {
                log::info!("ssi-broadcaster: {line}");
            }
        }
        self.stop
    }
}

/// Reads every pending signal off `signals` (never blocks).
pub fn read_signals(signals: &SignalFd) -> Requests {
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

/// The main thread's loop without a listener (`--no-listen`): waits for
/// `signals` and acts on them as the accept loop does, until TERM or INT.
pub fn wait_until_stop(
    signals: &SignalFd,
    rescan: &RescanRequest,
    report: impl Fn() -> Vec<String>,
) {
    loop {
        let mut fds = [PollFd::new(signals, PollFlags::IN)];
        let _ = poll(&mut fds, None);
        if read_signals(signals).act(rescan, &report) {
            return;
        }
    }
}

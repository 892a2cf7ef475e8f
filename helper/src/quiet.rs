//! What the quiet commands and views share: the quiet state attached to
//! each entry ([`ssi::quiet::judge`], the one rule), its lines in
//! `show`, who is asking, and the journal line every change leaves.

use std::os::unix::net::UnixDatagram;
use std::path::Path;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::quiet::window::Window;
use ssi::quiet::{judge, Quiet, Why};

use crate::entry::Entry;
use crate::look;

/// Judges every entry's quiet at `now` from the state in `state_dir`. A
/// state that cannot be read is reported once and shows nothing quiet.
pub fn attach(entries: &mut [Entry], state_dir: &Path, now: Timestamp, tz: &TimeZone) {
    let state = match ssi::quiet::store::read(state_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ssi-status: {e}");
            return;
        }
    };
    for e in entries.iter_mut() {
        let Some(id) = &e.script.id else { continue };
        let window = window_of(e);
        e.quiet = judge(&state, id.as_str(), window.as_ref(), now, tz);
    }
}

/// The entry's `# maintenance:` window (validated when the manifest was read).
pub fn window_of(e: &Entry) -> Option<Window> {
    Window::parse(e.script.manifest.maintenance.as_deref()?).ok()
}

fn when(rfc: &Option<String>, tz: &TimeZone) -> Option<String> {
    let ts = rfc.as_deref()?.parse::<Timestamp>().ok()?;
    Some(look::long_time(ts, tz))
}

/// `by root until Sat 2026-12-05 10:00:00 UTC: disk swap`.
pub fn describe(w: &Why, tz: &TimeZone) -> String {
    let mut s = format!("by {}", w.by);
    if w.all {
        s.push_str(" (every check)");
    }
    if let Some(since) = when(&w.since, tz) {
        s.push_str(&format!(" since {since}"));
    }
    match when(&w.until, tz) {
        Some(until) => s.push_str(&format!(" until {until}")),
        None if w.status.is_some() => s.push_str(" until it recovers"),
        None => s.push_str(" until lifted"),
    }
    if !w.reason.is_empty() {
        s.push_str(&format!(": {}", w.reason));
    }
    s
}

/// `show`'s labelled lines for each way the check is quiet.
pub fn lines(q: &Quiet, tz: &TimeZone) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(w) = &q.silenced {
        out.push(("Silenced", describe(w, tz)));
    }
    if let Some(w) = &q.acknowledged {
        let status = w.status.map(|s| s.as_str()).unwrap_or("-");
        out.push(("Acknowledged", format!("{status} {}", describe(w, tz))));
    }
    if let Some(w) = &q.maintenance {
        out.push(("In window", describe(w, tz)));
    }
    out
}

/// Who runs this: the user name of the real user id, and the user who
/// ran `sudo` when that is how.
pub fn who() -> String {
    let uid = rustix::process::getuid().as_raw();
    let name = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"));
    match std::env::var("SUDO_USER") {
        Ok(s) if !s.is_empty() && s != name => format!("{name} (sudo by {s})"),
        _ => name,
    }
}

/// Leaves `message` in the journal (syslog's socket, which journald
/// reads), as `ssi-status[PID]: message`, priority notice. Without the
/// socket (no journal in a container), it goes to stderr instead, so it
/// is never lost silently.
pub fn journal(message: &str) {
    let line = format!(
        "<13>ssi-status[{}]: {}",
        std::process::id(),
        ssi::status::clean_message(message)
    );
    let sent = UnixDatagram::unbound().and_then(|s| s.send_to(line.as_bytes(), "/dev/log"));
    if sent.is_err() {
        eprintln!("ssi-status: {message}");
    }
}

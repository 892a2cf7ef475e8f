//! Following the log files: per-file offsets, complete lines only, and
//! the file replaced or truncated under us (logrotate's rename+create and
//! copytruncate, a log deleted and recreated).

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::status::{read_last_status, rfc3339, StatusLine};

use crate::hub::Hub;
use crate::messages::StatusUpdate;

/// Lines longer than this are cut: the first `MAX_LINE` bytes are kept and
/// the rest, up to the newline, is skipped.
pub const MAX_LINE: usize = 64 * 1024;
const CHUNK: usize = 64 * 1024;

/// Collects bytes into complete lines.
#[derive(Debug, Default)]
pub struct LineBuf {
    buf: Vec<u8>,
    /// Inside a line that was already cut at `MAX_LINE`.
    skipping: bool,
}

impl LineBuf {
    /// Feeds bytes; calls `emit` with every completed line (without `\n`).
    pub fn push(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8])) {
        while !data.is_empty() {
            let (part, done) = match data.iter().position(|&b| b == b'\n') {
                Some(i) => (&data[..i], Some(i + 1)),
                None => (data, None),
            };
            if !self.skipping {
                let room = MAX_LINE - self.buf.len();
                if part.len() > room {
                    self.buf.extend_from_slice(&part[..room]);
                    self.skipping = true;
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            match done {
                Some(n) => {
                    emit(&self.buf);
                    self.buf.clear();
                    self.skipping = false;
                    data = &data[n..];
                }
                None => data = &[],
            }
        }
        if self.buf.is_empty() && self.buf.capacity() > 4096 {
            self.buf = Vec::new();
        }
    }

    /// Forgets a partial line (the file was truncated or replaced).
    pub fn clear(&mut self) {
        self.buf = Vec::new();
        self.skipping = false;
    }
}

/// The service id a log file name belongs to: `<id>.log`, id in `[a-z0-9_]`.
pub fn log_id(name: &str) -> Option<&str> {
    let id = name.strip_suffix(".log")?;
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then_some(id)
}

struct Tracked {
    file: File,
    dev: u64,
    ino: u64,
    offset: u64,
    lines: LineBuf,
}

/// Follows every `<id>.log` in one directory and publishes status lines.
pub struct Tailer {
    dir: PathBuf,
    files: HashMap<String, Tracked>,
    tz: TimeZone,
    hub: Arc<Hub>,
    /// Files already reported as unreadable (each is reported once).
    warned: HashMap<String, String>,
    /// Status lines published so far.
    published: u64,
}

impl Tailer {
    /// A tailer for `dir`; nothing is read until [`Tailer::scan`].
    pub fn new(dir: PathBuf, hub: Arc<Hub>) -> Tailer {
        Tailer {
            dir,
            files: HashMap::new(),
            tz: TimeZone::system(),
            hub,
            warned: HashMap::new(),
            published: 0,
        }
    }

    /// Number of status lines published so far.
    pub fn published(&self) -> u64 {
        self.published
    }

    /// Checks every log in the directory (and forgets vanished ones).
    /// `initial`: logs found now are existing history, so only their last
    /// status counts; otherwise a new file is read from its start.
    pub fn scan(&mut self, initial: bool) {
        let mut names: Vec<String> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| log_id(n).is_some())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.extend(self.files.keys().cloned());
        names.sort();
        names.dedup();
        for name in names {
            self.check(&name, initial);
        }
    }

    /// Brings one file up to date after an event (or a rescan).
    pub fn check(&mut self, name: &str, initial: bool) {
        let Some(id) = log_id(name).map(str::to_owned) else {
            return;
        };
        let path = self.dir.join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => m,
            Ok(_) | Err(_) => {
                // Gone (or not a regular file): finish what was written before.
                if let Some(mut old) = self.files.remove(name) {
                    self.read_new(&id, &mut old);
                }
                return;
            }
        };
        if let Some(mut t) = self.files.remove(name) {
            let same = t.dev == meta.dev() && t.ino == meta.ino();
            if same && meta.len() < t.offset {
                // copytruncate: the same file, cut back.
                t.offset = 0;
                t.lines.clear();
            }
            // Same file: read on. Replaced (rename+create, delete+recreate):
            // drain the old one first, then open the new one below.
            self.read_new(&id, &mut t);
            if same {
                self.files.insert(name.to_owned(), t);
                return;
            }
        }
        let file = match open_log(&path) {
            Ok(f) => f,
            Err(e) => {
                let msg = e.to_string();
                if self.warned.get(name) != Some(&msg) {
                    eprintln!("ssi-broadcaster: {}: {msg}, ignoring.", path.display());
                    self.warned.insert(name.to_owned(), msg);
                }
                return;
            }
        };
        self.warned.remove(name);
        let meta = match file.metadata() {
            Ok(m) if m.is_file() => m,
            _ => return,
        };
        let mut t = Tracked {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            offset: 0,
            lines: LineBuf::default(),
        };
        if initial {
            t.offset = meta.len();
            if let Ok(Some(last)) = read_last_status(&path, &self.tz) {
                self.hub.set_status(StatusUpdate {
                    service_id: id.clone(),
                    status: last.line.status.as_str(),
                    message: last.line.message,
                    timestamp: rfc3339(last.timestamp),
                });
            }
        }
        self.read_new(&id, &mut t);
        self.files.insert(name.to_owned(), t);
    }

    /// Reads from the offset to the end, publishing complete status lines.
    fn read_new(&mut self, id: &str, t: &mut Tracked) {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match t.file.read_at(&mut buf, t.offset) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            t.offset += n as u64;
            let tz = &self.tz;
            let mut updates = Vec::new();
            t.lines.push(&buf[..n], |line| {
                let text = String::from_utf8_lossy(line);
                if let Some(sl) = StatusLine::parse(&text) {
                    let ts = sl.timestamp(Timestamp::now(), tz);
                    updates.push(StatusUpdate {
                        service_id: id.to_owned(),
                        status: sl.status.as_str(),
                        message: sl.message,
                        timestamp: rfc3339(ts),
                    });
                }
            });
            // One publication per chunk read: a burst wakes clients rarely.
            self.published += updates.len() as u64;
            self.hub.set_statuses(updates);
        }
    }
}

/// Opens a log without following a symlink out of the directory and
/// without blocking on a FIFO planted there.
fn open_log(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lb = LineBuf::default();
        let mut out = Vec::new();
        for c in chunks {
            lb.push(c, |l| out.push(l.to_vec()));
        }
        out
    }

    #[test]
    fn only_complete_lines() {
        assert_eq!(
            lines(&[b"OK, a\nWARN", b"ING, b", b"\n\nERR"]),
            [b"OK, a".to_vec(), b"WARNING, b".to_vec(), b"".to_vec()]
        );
    }

    #[test]
    fn long_lines_are_cut() {
        let long = vec![b'x'; MAX_LINE * 2 + 5];
        let out = lines(&[b"OK, ", &long, &long, b"\nOK, next\n"]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), MAX_LINE);
        assert!(out[0].starts_with(b"OK, xxx"));
        assert_eq!(out[1], b"OK, next");
    }

    #[test]
    fn log_ids() {
        assert_eq!(log_id("disk_usage.log"), Some("disk_usage"));
        assert_eq!(log_id("disk_usage.log.1"), None);
        assert_eq!(log_id("Disk.log"), None);
        assert_eq!(log_id(".log"), None);
    }
}

//! A check's log file: its latest status line (with the `perfdata:` line
//! of its run, [`crate::perfdata`]) and its last lines, read backwards
//! from the end so that the cost does not depend on the log's size, never
//! blocking on something that is not a regular file and never following a
//! symbolic link.
//! [`forward`] reads what a log gained since a mark, for the programs that
//! follow logs.

pub mod forward;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::perfdata::Following;
use crate::status::{StatusLine, StatusLineRef};

/// A log's latest status, with its time resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastStatus {
    /// The status line.
    pub line: StatusLine,
    /// When it was given: the line's own time stamp, or the log's
    /// modification time for a line without one.
    pub timestamp: Timestamp,
    /// The performance data of its run, as written on the `perfdata:` line
    /// directly after it (without the prefix; read it with
    /// [`crate::perfdata::Perfdata::parse`]); `None` when there is none.
    pub perfdata: Option<String>,
}

/// How far back from the end of a log we look for a status line. Checks
/// write one line per run, so anything further back is long stale; the cap
/// keeps a log full of garbage from costing a full read.
pub const MAX_SCAN: u64 = 4 << 20;
const CHUNK: usize = 64 << 10;
/// The first read: a status line is nearly always within the last few
/// hundred bytes, so reads start at one page and double up to [`CHUNK`];
/// listing a thousand logs then copies kilobytes per log, not 64 KiB.
const FIRST_CHUNK: usize = 4 << 10;

/// The latest status line of the log at `path`, reading backwards from the
/// end (at most [`MAX_SCAN`] bytes), so the cost does not depend on the
/// log's size. A missing log or one without a status line gives `Ok(None)`.
/// A FIFO, socket or device where the log should be is an error, found
/// without blocking on it.
pub fn read_last_status(path: &Path, tz: &TimeZone) -> io::Result<Option<LastStatus>> {
    let mut file = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    last_status_in(&mut file, tz)
}

/// [`read_last_status`] of a log already open (checked to be a regular
/// file by the caller, who may have opened it with flags of its own).
pub fn last_status_in(file: &mut File, tz: &TimeZone) -> io::Result<Option<LastStatus>> {
    let meta = file.metadata()?;
    let mtime = modified(&meta);
    let mut found = None;
    let mut after = Following::default();
    scan_lines_backwards(
        file,
        meta.len(),
        MAX_SCAN,
        |line| match StatusLineRef::parse(line) {
            Some(l) => {
                found = Some((l.into_owned(), after.take()));
                false
            }
            None => {
                after.passed(line);
                true
            }
        },
    )?;
    Ok(found.map(|(line, perfdata)| LastStatus {
        timestamp: line.timestamp(mtime, tz),
        line,
        perfdata,
    }))
}

/// The last `n` lines of the log at `path` (invalid UTF-8 replaced), oldest
/// first, reading only the end of the file. A missing log has no lines.
pub fn read_last_lines(path: &Path, n: usize) -> io::Result<Vec<String>> {
    let mut file = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut lines = Vec::with_capacity(n);
    if n > 0 {
        scan_lines_backwards(&mut file, len, MAX_SCAN, |line| {
            lines.push(String::from_utf8_lossy(line).into_owned());
            lines.len() < n
        })?;
    }
    lines.reverse();
    Ok(lines)
}

/// When the log `meta` describes was last written: the time of its lines
/// that carry none of their own (the epoch when the file system cannot
/// say).
pub fn modified(meta: &std::fs::Metadata) -> Timestamp {
    meta.modified()
        .ok()
        .and_then(|t| Timestamp::try_from(t).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Opens `path` for reading without blocking on a FIFO (or a device) put
/// where a log should be, and refuses anything but a regular file: a
/// symbolic link is not followed (the broadcaster refuses them too), so
/// that a tool run as root never shows what a link in the log directory
/// points at (`/etc/shadow`).
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // What O_NOFOLLOW answers for a link, said as for the others.
            Some(libc::ELOOP) => io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file but a symbolic link",
            ),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            not_regular(&meta),
        ));
    }
    Ok(file)
}

/// Why a file that should be a log is not one: `not a regular file but a
/// FIFO` (or a directory, symbolic link, socket, device).
pub fn not_regular(meta: &std::fs::Metadata) -> String {
    let ft = meta.file_type();
    let what = if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a device"
    };
    format!("not a regular file but {what}")
}

/// Calls `visit` on each complete line of `file` (without `\n`), last line
/// first, until it returns `false` or `max_scan` bytes have been read. An
/// unterminated last line (a run still writing) counts as a line: checks
/// that crash mid-line should still be seen. Empty lines are skipped.
pub(crate) fn scan_lines_backwards(
    file: &mut File,
    len: u64,
    max_scan: u64,
    mut visit: impl FnMut(&[u8]) -> bool,
) -> io::Result<()> {
    let stop = len.saturating_sub(max_scan);
    let mut pos = len;
    // The line being assembled from chunks already read (after the current
    // one), latest first; joined once when its start is found, so a long
    // line costs linear, not quadratic, copying.
    let mut tail: Vec<Vec<u8>> = Vec::new();
    let mut tail_len = 0usize;
    // Grown with the reads: most logs are done within the first page, and
    // zeroing a whole chunk per log was half of `ssi-status list`'s work.
    let mut buf = Vec::new();
    let mut want = FIRST_CHUNK;
    while pos > stop {
        let size = (pos - stop).min(want as u64) as usize;
        want = (want * 2).min(CHUNK);
        if buf.len() < size {
            buf.resize(size, 0);
        }
        pos -= size as u64;
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut buf[..size])?;
        let mut chunk = &buf[..size];
        // memrchr: a log's long runs without a newline (trace output, a
        // sparse hole) are scanned at memory speed, not byte by byte.
        while let Some(nl) = memchr::memrchr(b'\n', chunk) {
            let piece = &chunk[nl + 1..];
            let more = if tail.is_empty() {
                piece.is_empty() || visit(piece)
            } else {
                let line = join_line(piece, &tail, tail_len);
                tail.clear();
                tail_len = 0;
                visit(&line)
            };
            if !more {
                return Ok(());
            }
            chunk = &chunk[..nl];
        }
        if (tail_len + chunk.len()) as u64 > max_scan {
            return Ok(());
        }
        if !chunk.is_empty() {
            tail_len += chunk.len();
            tail.push(chunk.to_vec());
        }
    }
    // The file's first line (no newline before it), if we reached it.
    if pos == 0 && tail_len > 0 {
        visit(&join_line(&[], &tail, tail_len));
    }
    Ok(())
}

/// `head` followed by the `parts` read before it, which are latest first.
fn join_line(head: &[u8], parts: &[Vec<u8>], parts_len: usize) -> Vec<u8> {
    let mut line = Vec::with_capacity(head.len() + parts_len);
    line.extend_from_slice(head);
    for p in parts.iter().rev() {
        line.extend_from_slice(p);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{rfc3339, Status};
    use std::io::Write;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.log");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Without a writer, a blocking open would never return.
        let err = read_last_status(&path, &TimeZone::UTC).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file but a FIFO");
        assert!(read_last_lines(&path, 3).is_err());
    }

    /// A log that is a symbolic link (to `/etc/shadow`, say) is refused,
    /// not read through, by every reader.
    #[test]
    fn a_symbolic_link_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "OK, root:$6$hash\nline two\n").unwrap();
        let path = dir.path().join("svc.log");
        std::os::unix::fs::symlink(&secret, &path).unwrap();
        let want = "not a regular file but a symbolic link";
        let err = read_last_status(&path, &TimeZone::UTC).unwrap_err();
        assert_eq!(err.to_string(), want);
        assert_eq!(read_last_lines(&path, 10).unwrap_err().to_string(), want);
        let mark = crate::logfile::forward::Mark::default();
        let err = crate::logfile::forward::read_new(&path, &mark).unwrap_err();
        assert_eq!(err.to_string(), want);
        // A link to nothing is refused the same way, not taken as missing.
        std::fs::remove_file(&secret).unwrap();
        assert_eq!(read_last_lines(&path, 10).unwrap_err().to_string(), want);
    }

    fn log(content: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        f
    }

    #[test]
    fn last_status_skips_trailing_non_status_lines() {
        let f = log(b"2026-11-26 09:00:00, OK\n2026-11-26 10:00:00, warning, hot\nsome noise\n\n");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.status, Status::Warning);
        assert_eq!(last.line.message, "hot");
        assert_eq!(rfc3339(last.timestamp), "2026-11-26T10:00:00Z");
    }

    #[test]
    fn last_status_of_first_and_unterminated_lines() {
        let f = log(b"FAILURE, only line");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.status, Status::Failure);
        let f = log(b"OK, a\nERROR, b");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.message, "b");
    }

    #[test]
    fn last_status_across_chunk_boundaries() {
        // A status line straddling the 64 KiB read boundary.
        let mut content = vec![b'x'; CHUNK * 2 - 10];
        content.extend_from_slice(b"\nUPDATE, 3 pending\n");
        content.extend(std::iter::repeat_n(b'y', CHUNK - 5));
        content.push(b'\n');
        let f = log(&content);
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.status, Status::Update);
        assert_eq!(last.line.message, "3 pending");
    }

    #[test]
    fn last_status_across_growing_read_boundaries() {
        // Reads end FIRST_CHUNK, 3, 7, 15 × FIRST_CHUNK … bytes before the
        // end; a status line straddling each one is still found whole.
        let mut back = 0;
        let mut read = FIRST_CHUNK;
        for _ in 0..6 {
            back += read;
            read = (read * 2).min(CHUNK);
            let line = b"\n2026-11-26 10:00:00, WARNING, straddles\n";
            let mut content = vec![b'x'; back * 2];
            let start = content.len() - back - line.len() / 2;
            content[start..start + line.len()].copy_from_slice(line);
            let f = log(&content);
            let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
            assert_eq!(last.line.message, "straddles", "boundary {back}");
        }
    }

    #[test]
    fn last_status_before_a_long_unterminated_line() {
        let mut content = b"x\nWARNING, before the long line\n".to_vec();
        content.extend(std::iter::repeat_n(b'z', 3 << 20));
        let f = log(&content);
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.message, "before the long line");
        let lines = read_last_lines(f.path(), 2).unwrap();
        assert_eq!(lines[0], "WARNING, before the long line");
        assert_eq!(lines[1].len(), 3 << 20, "the long line is joined whole");
    }

    #[test]
    fn last_status_none_cases() {
        let f = log(b"");
        assert_eq!(read_last_status(f.path(), &TimeZone::UTC).unwrap(), None);
        let f = log(b"noise\n\xff\xfe garbage\n");
        assert_eq!(read_last_status(f.path(), &TimeZone::UTC).unwrap(), None);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_last_status(&dir.path().join("missing.log"), &TimeZone::UTC).unwrap(),
            None
        );
    }

    #[test]
    fn last_status_gives_up_beyond_max_scan() {
        let mut content = b"OK, ancient\n".to_vec();
        content
            .extend(std::iter::repeat_n(b"noise line\n", (MAX_SCAN as usize) / 11 + 10).flatten());
        let f = log(&content);
        assert_eq!(read_last_status(f.path(), &TimeZone::UTC).unwrap(), None);
    }

    #[test]
    fn invalid_utf8_in_message_is_replaced() {
        let f = log(b"OK, caf\xe9\n");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.message, "caf\u{fffd}");
    }

    #[test]
    fn last_status_carries_the_perfdata_line_after_it() {
        let f = log(b"2026-12-05 09:55:00, OK, DISK OK\nperfdata: '/'=1MB\n\
            2026-12-05 10:00:00, WARNING, DISK WARNING - free space: / 3326 MB (9%)\n\
            perfdata: '/'=12345MB;20000;30000;0;40000 load1=0.5;1;2\n");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.status, Status::Warning);
        assert_eq!(
            last.perfdata.as_deref(),
            Some("'/'=12345MB;20000;30000;0;40000 load1=0.5;1;2")
        );
        // A run without performance data has none, whatever came before.
        let f = log(b"OK, a\nperfdata: x=1\nOK, b\n");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.perfdata, None);
        // Only the line directly after the status line is its run's.
        let f = log(b"OK, a\nnoise\nperfdata: x=1\n");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.perfdata, None);
        // Garbage in it does not cost the status.
        let f = log(b"FAILURE, down\nperfdata: \xff=zz ;;\n");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.status, Status::Failure);
        assert!(last.perfdata.is_some());
    }

    #[test]
    fn last_lines() {
        let f = log(b"a\nb\n\nc\nd");
        assert_eq!(read_last_lines(f.path(), 3).unwrap(), vec!["b", "c", "d"]);
        assert_eq!(
            read_last_lines(f.path(), 10).unwrap(),
            vec!["a", "b", "c", "d"]
        );
        assert!(read_last_lines(f.path(), 0).unwrap().is_empty());
    }

    /// A line dated where no zone can place it is no status line
    /// (`status.rs`), so a log ending in one reports the status before it,
    /// in every tool.
    #[test]
    fn a_date_out_of_range_is_passed_over() {
        let f = log(b"2026-11-26 10:00:00, OK, fine\n9999-12-31 23:59:59, FAILURE, end\n");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.message, "fine");
    }
}

//! Status lines, the only thing a check script has to say, and reading a
//! log's latest one without reading the whole log.
//!
//! ```text
//! line      = [ timestamp sep ] status [ sep message ]
//! timestamp = YYYY "-" MM "-" DD " " HH ":" MM ":" SS      (local time)
//! sep       = *space "," *space
//! status    = "OK" / "UPDATE" / "WARNING" / "FAILURE" / "ERROR" / "UNKNOWN"   (any case)
//! message   = the rest of the line, trailing white space removed
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::str::FromStr;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while_m_n};
use nom::character::complete::{char, space0};
use nom::combinator::{all_consuming, eof, map, map_opt, opt, rest, value};
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

/// How a check's latest run went. Ordered by severity, mildest first, so
/// `max()` over statuses is the worst one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// All is well.
    Ok,
    /// All is well, but something (updates) is waiting.
    Update,
    /// Needs attention soon.
    Warning,
    /// The check could not tell.
    Unknown,
    /// The checked thing is broken.
    Failure,
    /// The check itself broke (crash, timeout, bad exit).
    Error,
}

impl Status {
    /// Every status, mildest first.
    pub const ALL: [Status; 6] = [
        Status::Ok,
        Status::Update,
        Status::Warning,
        Status::Unknown,
        Status::Failure,
        Status::Error,
    ];

    /// The upper-case name used in logs, JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Update => "UPDATE",
            Status::Warning => "WARNING",
            Status::Unknown => "UNKNOWN",
            Status::Failure => "FAILURE",
            Status::Error => "ERROR",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Status::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status {:?}: expected one of OK, UPDATE, WARNING, FAILURE, ERROR, UNKNOWN",
            self.0
        )
    }
}

impl std::error::Error for UnknownStatus {}

impl FromStr for Status {
    type Err = UnknownStatus;

    /// Case-insensitive, like the log grammar.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        all_consuming(status)
            .parse(s)
            .map(|(_, st)| st)
            .map_err(|_| UnknownStatus(s.to_owned()))
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One parsed status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// The line's own time stamp (local time), if it has one.
    pub time: Option<DateTime>,
    /// The status.
    pub status: Status,
    /// The message, `""` when the line has none.
    pub message: String,
}

impl StatusLine {
    /// Parses one log line (without its `\n`; a trailing `\r` is ignored).
    /// `None` means the line is not a status line: it stays in the log but
    /// says nothing about the status.
    pub fn parse(line: &str) -> Option<StatusLine> {
        status_line(line.trim()).ok().map(|(_, l)| l)
    }

    /// When this status was given: the line's local time stamp in `tz`, or
    /// `seen` (the time the line was read or written) when it has none.
    pub fn timestamp(&self, seen: Timestamp, tz: &TimeZone) -> Timestamp {
        match self.time {
            // A local time that a DST change makes ambiguous or skipped
            // resolves like systemd and most tools do ("compatible").
            Some(dt) => tz
                .to_ambiguous_zoned(dt)
                .compatible()
                .map(|z| z.timestamp())
                .unwrap_or(seen),
            None => seen,
        }
    }
}

/// `line = [ timestamp sep ] status [ sep message ]`
fn status_line(i: &str) -> IResult<&str, StatusLine> {
    map(
        (
            opt(terminated(timestamp, sep)),
            status,
            alt((value("", eof), preceded(sep, rest))),
        ),
        |(time, status, message)| StatusLine {
            time,
            status,
            message: message.trim_end().to_owned(),
        },
    )
    .parse(i)
}

/// `sep = *space "," *space`
fn sep(i: &str) -> IResult<&str, ()> {
    value((), (space0, char(','), space0)).parse(i)
}

/// `status = "OK" / "UPDATE" / …`, any case, ending at a separator or the
/// end of the line (so `OKAY` is not `OK`).
fn status(i: &str) -> IResult<&str, Status> {
    terminated(
        alt((
            value(Status::Ok, tag_no_case("ok")),
            value(Status::Update, tag_no_case("update")),
            value(Status::Warning, tag_no_case("warning")),
            value(Status::Failure, tag_no_case("failure")),
            value(Status::Error, tag_no_case("error")),
            value(Status::Unknown, tag_no_case("unknown")),
        )),
        nom::combinator::peek(alt((value((), eof), sep))),
    )
    .parse(i)
}

/// `timestamp = YYYY "-" MM "-" DD " " HH ":" MM ":" SS`, a real date that
/// is a real instant in every time zone: like `2026-02-30`, a line dated
/// `9999-12-31` (past the last instant a time stamp can hold once its
/// zone's offset is applied) is not a status line, so every tool reading
/// it agrees, whatever its time zone, instead of each substituting a time
/// of its own.
fn timestamp(i: &str) -> IResult<&str, DateTime> {
    map_opt(
        (
            digits(4),
            preceded(tag("-"), digits(2)),
            preceded(tag("-"), digits(2)),
            preceded(tag(" "), digits(2)),
            preceded(tag(":"), digits(2)),
            preceded(tag(":"), digits(2)),
        ),
        |(y, mo, d, h, mi, s)| {
            DateTime::new(y as i16, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0)
                .ok()
                .filter(|&dt| placeable(dt))
        },
    )
    .parse(i)
}

/// `dt` names an instant under the most extreme UTC offsets there are, so
/// under any time zone's too.
fn placeable(dt: DateTime) -> bool {
    [Offset::MIN, Offset::MAX]
        .into_iter()
        .all(|off| dt.to_zoned(TimeZone::fixed(off)).is_ok())
}

/// Exactly `n` ASCII digits as a number.
fn digits<'a>(n: usize) -> impl Parser<&'a str, Output = u16, Error = nom::error::Error<&'a str>> {
    map_opt(
        take_while_m_n(n, n, |c: char| c.is_ascii_digit()),
        |s: &str| s.parse().ok(),
    )
}

/// Formats a time as RFC 3339 in UTC with whole seconds and `Z`, the form
/// used in JSON and WebSocket messages: `2026-11-26T10:00:00Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A log's latest status, with its time resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastStatus {
    /// The status line.
    pub line: StatusLine,
    /// When it was given: the line's own time stamp, or the log's
    /// modification time for a line without one.
    pub timestamp: Timestamp,
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
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| Timestamp::try_from(t).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut found = None;
    scan_lines_backwards(file, meta.len(), |line| {
        match StatusLine::parse(&String::from_utf8_lossy(line)) {
            Some(l) => {
                found = Some(l);
                false
            }
            None => true,
        }
    })?;
    Ok(found.map(|line| LastStatus {
        timestamp: line.timestamp(mtime, tz),
        line,
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
        scan_lines_backwards(&mut file, len, |line| {
            lines.push(String::from_utf8_lossy(line).into_owned());
            lines.len() < n
        })?;
    }
    lines.reverse();
    Ok(lines)
}

/// Opens `path` for reading without blocking on a FIFO (or a device) put
/// where a log should be, and refuses anything but a regular file.
fn open_regular(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
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
/// first, until it returns `false` or [`MAX_SCAN`] bytes have been read. An
/// unterminated last line (a run still writing) counts as a line: checks
/// that crash mid-line should still be seen. Empty lines are skipped.
fn scan_lines_backwards(
    file: &mut File,
    len: u64,
    mut visit: impl FnMut(&[u8]) -> bool,
) -> io::Result<()> {
    let stop = len.saturating_sub(MAX_SCAN);
    let mut pos = len;
    // The line being assembled from chunks already read (after the current
    // one), latest first; joined once when its start is found, so a long
    // line costs linear, not quadratic, copying.
    let mut tail: Vec<Vec<u8>> = Vec::new();
    let mut tail_len = 0usize;
    let mut buf = vec![0u8; CHUNK];
    let mut want = FIRST_CHUNK;
    while pos > stop {
        let size = (pos - stop).min(want as u64) as usize;
        want = (want * 2).min(CHUNK);
        pos -= size as u64;
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut buf[..size])?;
        let mut chunk = &buf[..size];
        while let Some(nl) = chunk.iter().rposition(|&b| b == b'\n') {
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
        if tail_len + chunk.len() > MAX_SCAN as usize {
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
    use std::io::Write;

    fn parse(s: &str) -> Option<(Option<String>, Status, String)> {
        StatusLine::parse(s).map(|l| (l.time.map(|t| t.to_string()), l.status, l.message))
    }

    #[test]
    fn full_line() {
        assert_eq!(
            parse("2026-11-26 10:00:00, WARNING, / at 91%"),
            Some((
                Some("2026-11-26T10:00:00".into()),
                Status::Warning,
                "/ at 91%".into()
            ))
        );
    }

    #[test]
    fn message_keeps_its_commas() {
        assert_eq!(
            parse("OK, a, b ,c").map(|p| p.2),
            Some("a, b ,c".to_owned())
        );
    }

    #[test]
    fn without_timestamp_or_message() {
        assert_eq!(parse("ok"), Some((None, Status::Ok, String::new())));
        assert_eq!(
            parse("Failure ,  disk gone \r"),
            Some((None, Status::Failure, "disk gone".into()))
        );
        assert_eq!(
            parse("2026-11-26 10:00:00, unknown"),
            Some((
                Some("2026-11-26T10:00:00".into()),
                Status::Unknown,
                String::new()
            ))
        );
    }

    #[test]
    fn every_status_any_case() {
        for st in Status::ALL {
            let lower = st.as_str().to_lowercase();
            assert_eq!(parse(&lower).map(|p| p.1), Some(st), "{lower}");
            assert_eq!(st.as_str().parse::<Status>(), Ok(st));
        }
    }

    #[test]
    fn not_status_lines() {
        for l in [
            "",
            "OKAY",
            "OK: fine",
            "hello, OK",
            "2026-11-26 10:00:00",
            "2026-11-26 10:00:00, FINE, x",
            "2026-13-26 10:00:00, OK",
            "2026-02-30 10:00:00, OK",
            "26-11-26 10:00:00, OK",
            "+ set -x trace",
        ] {
            assert_eq!(parse(l), None, "{l:?}");
        }
    }

    #[test]
    fn dates_no_time_zone_can_place_are_not_status_lines() {
        for l in [
            "9999-12-31 23:59:59, FAILURE, end of time",
            "9999-12-30 12:00:00, OK",
        ] {
            assert_eq!(parse(l), None, "{l:?}");
        }
        // The far ends that every zone can place are still dates.
        for (l, want) in [
            ("9999-12-28 23:59:59, OK", "9999-12-28T23:59:59"),
            ("0000-01-01 00:00:00, OK", "0000-01-01T00:00:00"),
        ] {
            assert_eq!(parse(l).and_then(|p| p.0).as_deref(), Some(want), "{l:?}");
        }
        // So a log ending in one reports the status before it, in every tool.
        let f = log(b"2026-11-26 10:00:00, OK, fine\n9999-12-31 23:59:59, FAILURE, end\n");
        let last = read_last_status(f.path(), &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(last.line.message, "fine");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.log");
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: creating a FIFO at a path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Without a writer, a blocking open would never return.
        let err = read_last_status(&path, &TimeZone::UTC).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file but a FIFO");
        assert!(read_last_lines(&path, 3).is_err());
    }

    #[test]
    fn unknown_status_error_names_value() {
        assert_eq!(
            "fine".parse::<Status>().unwrap_err().to_string(),
            "status \"fine\": expected one of OK, UPDATE, WARNING, FAILURE, ERROR, UNKNOWN"
        );
    }

    #[test]
    fn severity_order() {
        assert!(Status::Ok < Status::Update);
        assert!(Status::Warning < Status::Failure);
        assert_eq!(Status::ALL.iter().max(), Some(&Status::Error));
    }

    #[test]
    fn local_time_to_utc() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let l = StatusLine::parse("2026-07-01 12:00:00, OK").unwrap();
        let seen = Timestamp::UNIX_EPOCH;
        assert_eq!(rfc3339(l.timestamp(seen, &tz)), "2026-07-01T10:00:00Z");
        let l = StatusLine::parse("OK").unwrap();
        assert_eq!(l.timestamp(seen, &tz), seen);
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
    fn last_lines() {
        let f = log(b"a\nb\n\nc\nd");
        assert_eq!(read_last_lines(f.path(), 3).unwrap(), vec!["b", "c", "d"]);
        assert_eq!(
            read_last_lines(f.path(), 10).unwrap(),
            vec!["a", "b", "c", "d"]
        );
        assert!(read_last_lines(f.path(), 0).unwrap().is_empty());
    }
}

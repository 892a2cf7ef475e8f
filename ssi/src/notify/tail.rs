//! What a log gained since the last look: the complete lines after a
//! [`Mark`] in the same file, or from the start of a new file after a
//! rotation or truncation (judged by [`crate::logfile::forward`]).

use std::io;
use std::path::Path;

use jiff::Timestamp;

pub use crate::logfile::forward::Mark;
use crate::logfile::forward::Reader;
use crate::logfile::{modified, open_regular};

/// At most this much of what a log gained is read in one look; a log that
/// grew more (a runaway script) is read from its last complete lines. The
/// same bound as the other tools' look back for a status line
/// ([`crate::logfile::MAX_SCAN`]), so the notifier sees every status line
/// they show, however much other output follows it.
pub const MAX_NEW: u64 = crate::logfile::MAX_SCAN;

/// The complete lines a log gained, and where the next look starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLines {
    /// Each line without its `\n`, with the offset just after it.
    pub lines: Vec<(String, u64)>,
    /// Where the next look starts.
    pub mark: Mark,
    /// The log's modification time (the time of lines without their own).
    pub mtime: Timestamp,
}

/// The complete lines appended to the log at `path` since `since` (the
/// whole log, at most its last [`MAX_NEW`] bytes, when it is another file,
/// shorter than the mark, or rewritten past it). A missing log gained
/// nothing (`Ok(None)`).
pub fn read_new(path: &Path, since: &Mark) -> io::Result<Option<NewLines>> {
    let file = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let len = meta.len();
    let mtime = modified(&meta);
    let mut reader = Reader::new(since.clone());
    reader.resume(&file, &meta)?;
    if len.saturating_sub(reader.mark().offset) > MAX_NEW {
        reader.seek_to_line(&file, len - MAX_NEW);
    }
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    let mut read = 0;
    // Up to the length seen: a log written meanwhile is read on next time.
    while read < MAX_NEW && reader.mark().offset < len {
        let n = reader.read(&file, &mut buf, |line, end| {
            lines.push((String::from_utf8_lossy(line).into_owned(), end));
        })?;
        if n == 0 {
            break;
        }
        read += n as u64;
    }
    Ok(Some(NewLines {
        lines,
        mark: reader.line_mark(),
        mtime,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, OpenOptions};
    use std::io::Write;

    fn texts(n: &NewLines) -> Vec<&str> {
        n.lines.iter().map(|(l, _)| l.as_str()).collect()
    }

    #[test]
    fn only_complete_lines_after_the_mark() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        assert_eq!(read_new(&log, &Mark::default()).unwrap(), None);
        fs::write(&log, "a\nb\npartial").unwrap();
        let first = read_new(&log, &Mark::default()).unwrap().unwrap();
        assert_eq!(texts(&first), ["a", "b"]);
        assert_eq!(first.mark.offset, 4);
        assert_eq!(first.lines[0].1, 2);
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(b" line\nc\n").unwrap();
        let second = read_new(&log, &first.mark).unwrap().unwrap();
        assert_eq!(texts(&second), ["partial line", "c"]);
        let third = read_new(&log, &second.mark).unwrap().unwrap();
        assert!(third.lines.is_empty());
        assert_eq!(third.mark, second.mark);
    }

    #[test]
    fn a_rotated_or_truncated_log_is_read_from_its_start() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        fs::write(&log, "one\ntwo\n").unwrap();
        let m = read_new(&log, &Mark::default()).unwrap().unwrap().mark;
        // copytruncate: same inode, shorter.
        fs::write(&log, "3\n").unwrap();
        assert_eq!(texts(&read_new(&log, &m).unwrap().unwrap()), ["3"]);
        // rename + create: another inode, even if longer.
        fs::rename(&log, tmp.path().join("x.log.1")).unwrap();
        fs::write(&log, "four\nfive\nsix\n").unwrap();
        assert_eq!(
            texts(&read_new(&log, &m).unwrap().unwrap()),
            ["four", "five", "six"]
        );
    }

    /// copytruncate, then a longer line, all between two looks: the old
    /// offset falls inside the new line, whose tail looks like a status.
    #[test]
    fn truncated_and_rewritten_past_the_mark_is_read_from_its_start() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        let old = format!("{:<73}\n", "2026-11-26 10:00:00, OK, all good");
        fs::write(&log, &old).unwrap();
        let m = read_new(&log, &Mark::default()).unwrap().unwrap().mark;
        assert_eq!(m.offset, 74);
        let head = "2026-11-26 10:05:00, FAILURE, disk gone; the next check will say";
        let new = format!("{head:<75}OK, half of a line\n");
        // Truncated in place (same inode), then written past the mark.
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&log)
            .unwrap()
            .write_all(new.as_bytes())
            .unwrap();
        let got = read_new(&log, &m).unwrap().unwrap();
        assert_eq!(texts(&got), [new.trim_end()]);
        assert_eq!(got.mark.offset, 94);
    }

    /// A gain past [`MAX_NEW`] (a runaway script) is read from its last
    /// complete lines within the bound.
    #[test]
    fn a_huge_gain_is_read_from_its_last_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        let filler = "x".repeat(1000) + "\n";
        let mut text = filler.repeat(5000);
        text.push_str("last\n");
        fs::write(&log, &text).unwrap();
        let n = read_new(&log, &Mark::default()).unwrap().unwrap();
        assert_eq!(n.lines.last().map(|(l, _)| l.as_str()), Some("last"));
        let most = (MAX_NEW / 1001 + 2) as usize;
        assert!(n.lines.len() <= most, "{} > {most}", n.lines.len());
        assert!(n.lines.iter().all(|(l, _)| l == "last" || l.len() == 1000));
        assert_eq!(n.mark.offset, text.len() as u64);
    }

    /// A status line followed by 1.2 MB of other output (it was lost: the
    /// look jumped to the last MiB) is seen, as `ssi-status list` sees it.
    #[test]
    fn a_status_line_the_other_tools_show_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        fs::write(&log, "2026-11-26 10:00:00, OK\n").unwrap();
        let m = read_new(&log, &Mark::default()).unwrap().unwrap().mark;
        let mut text = String::from("2026-11-26 10:05:00, FAILURE, disk gone\n");
        text.push_str(&format!("{}\n", "trace ".repeat(99)).repeat(2100));
        OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        assert!(text.len() > 1_200_000);
        let shown = crate::logfile::read_last_status(&log, &jiff::tz::TimeZone::UTC)
            .unwrap()
            .unwrap();
        assert_eq!(shown.line.message, "disk gone");
        let n = read_new(&log, &m).unwrap().unwrap();
        assert_eq!(n.lines[0].0, "2026-11-26 10:05:00, FAILURE, disk gone");
    }
}

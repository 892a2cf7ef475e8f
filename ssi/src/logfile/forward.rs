//! Reading a log forward: what it gained since the last look, in complete
//! lines, and the judgement of whether it is still the file, and the
//! content, read before. A log replaced (logrotate's rename+create, a log
//! deleted and recreated), shrunk (copytruncate), or truncated and written
//! past the old offset again between two looks is read anew from its start,
//! never from the middle of a line.
//!
//! The broadcaster follows logs with a [`Reader`] per log for as long as it
//! runs; the notifier keeps a [`Mark`] in its state file between runs and
//! reads what a log gained since with [`read_new`].

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::logfile::{modified, open_regular};

/// Lines longer than this are cut: the first `MAX_LINE` bytes are kept and
/// the rest, up to the newline, is skipped.
pub const MAX_LINE: usize = 64 * 1024;
/// How many bytes before the offset a [`Mark`] remembers, to recognise a
/// log truncated and rewritten past the offset between two reads.
pub const WITNESS: usize = 64;
/// Bytes read at a time, after the witness.
const CHUNK: usize = 64 * 1024;

/// Where reading a log stopped, and what tells that the log is still the
/// one read: its device and inode, and the bytes just before the offset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mark {
    /// The file's device; `None` in a mark saved before devices were kept
    /// (the inode alone then tells the file).
    pub dev: Option<u64>,
    /// The file's inode.
    pub inode: u64,
    /// The byte after the last one read.
    pub offset: u64,
    /// The last bytes before `offset`, at most [`WITNESS`] (fewer only near
    /// the start). Empty in a mark saved before witnesses were kept: then
    /// only a file shorter than `offset` counts as truncated.
    #[serde(with = "hex")]
    pub witness: Vec<u8>,
}

impl Mark {
    /// The start of the file `meta` describes.
    pub fn start(meta: &Metadata) -> Mark {
        Mark {
            dev: Some(meta.dev()),
            inode: meta.ino(),
            offset: 0,
            witness: Vec::new(),
        }
    }

    /// Whether `meta` describes the file this mark is in.
    pub fn same_file(&self, meta: &Metadata) -> bool {
        self.inode == meta.ino() && self.dev.map_or(true, |d| d == meta.dev())
    }

    /// Whether `file` (described by `meta`) still holds what was read up to
    /// this mark: the same file, not shorter, and the same bytes before the
    /// offset.
    pub fn holds(&self, file: &File, meta: &Metadata) -> io::Result<bool> {
        if !self.same_file(meta) || meta.len() < self.offset {
            return Ok(false);
        }
        let w = self.witness.len();
        if w == 0 {
            return Ok(true);
        }
        let Some(from) = self.offset.checked_sub(w as u64) else {
            return Ok(false);
        };
        let mut buf = vec![0u8; w];
        let n = read_full_at(file, &mut buf, from)?;
        Ok(n == w && buf == self.witness)
    }

    /// Moves past `data`, just read at the offset.
    fn advance(&mut self, data: &[u8]) {
        self.offset += data.len() as u64;
        extend_witness(&mut self.witness, data);
    }
}

/// `witness` followed by `data`, keeping the last [`WITNESS`] bytes.
fn extend_witness(witness: &mut Vec<u8>, data: &[u8]) {
    if data.len() >= WITNESS {
        witness.clear();
        witness.extend_from_slice(&data[data.len() - WITNESS..]);
    } else {
        witness.extend_from_slice(data);
        let excess = witness.len().saturating_sub(WITNESS);
        witness.drain(..excess);
    }
}

/// Reads at `offset` until `buf` is full or the file ends; the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A log read forward: the [`Mark`] after the bytes read, the line being
/// collected there, and the mark at that line's start (where a reader that
/// keeps no partial line, like the notifier between runs, resumes).
#[derive(Debug, Default)]
pub struct Reader {
    /// After every byte read, a partial line included.
    mark: Mark,
    lines: LineBuf,
    /// Where the line being collected starts, and the bytes before it.
    line_start: u64,
    line_witness: Vec<u8>,
    /// Skipping to the next line start (after [`Reader::seek_to_line`]).
    discard: bool,
}

impl Reader {
    /// Reads on from `mark`, taken at a line start ([`Reader::line_mark`]).
    pub fn new(mark: Mark) -> Reader {
        Reader {
            line_start: mark.offset,
            line_witness: mark.witness.clone(),
            mark,
            lines: LineBuf::default(),
            discard: false,
        }
    }

    /// After every byte read, a partial line included.
    pub fn mark(&self) -> &Mark {
        &self.mark
    }

    /// At the start of the line being collected (after the last complete
    /// line): where to resume without the partial line kept.
    pub fn line_mark(&self) -> Mark {
        Mark {
            dev: self.mark.dev,
            inode: self.mark.inode,
            offset: self.line_start,
            witness: self.line_witness.clone(),
        }
    }

    /// Decides where reading `file` (described by `meta`) goes on: at the
    /// mark if the file still holds what was read up to it
    /// ([`Mark::holds`]), else from its start. `Ok(false)`: from the start.
    pub fn resume(&mut self, file: &File, meta: &Metadata) -> io::Result<bool> {
        if self.mark.holds(file, meta)? {
            self.mark.dev = Some(meta.dev());
            return Ok(true);
        }
        *self = Reader::new(Mark::start(meta));
        Ok(false)
    }

    /// Reads from `offset` on, taken as a line start (what comes before it
    /// is not wanted), remembering the bytes before it.
    pub fn seek(&mut self, file: &File, offset: u64) {
        let n = offset.min(WITNESS as u64) as usize;
        let mut witness = vec![0u8; n];
        // Shrunk meanwhile (a short read): the zeros make the next read
        // see it as truncated.
        if !matches!(read_full_at(file, &mut witness, offset - n as u64), Ok(k) if k == n) {
            witness.fill(0);
        }
        self.mark.offset = offset;
        self.mark.witness = witness;
        self.lines.clear();
        self.line_start = offset;
        self.line_witness.clone_from(&self.mark.witness);
        self.discard = false;
    }

    /// Reads the lines that start from `offset` on: unless `offset` is a
    /// line start, the bytes up to the next newline are skipped.
    pub fn seek_to_line(&mut self, file: &File, offset: u64) {
        self.seek(file, offset);
        self.discard = self.mark.witness.last().is_some_and(|&b| b != b'\n');
    }

    /// Forgets everything read: the file is read again from its start.
    fn restart(&mut self) {
        self.mark.offset = 0;
        self.mark.witness.clear();
        self.lines.clear();
        self.line_start = 0;
        self.line_witness.clear();
        self.discard = false;
    }

    /// Reads one chunk after the mark and calls `emit` with every line it
    /// completes (without its `\n`, cut at [`MAX_LINE`]) and the offset
    /// just after it. Every read starts with the bytes just before the
    /// offset: if they are no longer those read there (or missing), the
    /// log was truncated or overwritten, perhaps already written past the
    /// offset again, so it is read anew from its start. `buf` is scratch
    /// space, kept by the caller across reads. The bytes read; 0 at the
    /// end of the file.
    pub fn read(
        &mut self,
        file: &File,
        buf: &mut Vec<u8>,
        mut emit: impl FnMut(&[u8], u64),
    ) -> io::Result<usize> {
        if buf.len() < WITNESS + CHUNK {
            buf.resize(WITNESS + CHUNK, 0);
        }
        loop {
            let w = self.mark.witness.len();
            let Some(from) = self.mark.offset.checked_sub(w as u64) else {
                self.restart();
                continue;
            };
            let n = match file.read_at(buf, from) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n < w || buf[..w] != self.mark.witness[..] {
                self.restart();
                continue;
            }
            if n == w {
                // A mark without a witness (saved before they were kept)
                // finds a truncation by the file's length only.
                if w == 0 && self.mark.offset > 0 && file.metadata()?.len() < self.mark.offset {
                    self.restart();
                    continue;
                }
                return Ok(0);
            }
            self.consume(&buf[w..n], &mut emit);
            return Ok(n - w);
        }
    }

    /// Takes `data`, just read at the offset.
    fn consume(&mut self, data: &[u8], emit: &mut impl FnMut(&[u8], u64)) {
        let base = self.mark.offset;
        let mut skipped = 0;
        if self.discard {
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    self.discard = false;
                    skipped = i + 1;
                }
                None => skipped = data.len(),
            }
        }
        let mut last = skipped;
        self.lines.push(&data[skipped..], |line, end| {
            last = skipped + end;
            emit(line, base + last as u64);
        });
        if last > 0 {
            self.line_start = base + last as u64;
            self.line_witness.clone_from(&self.mark.witness);
            extend_witness(&mut self.line_witness, &data[..last]);
        }
        self.mark.advance(data);
    }
}

/// Collects bytes into complete lines, cut at [`MAX_LINE`].
#[derive(Debug, Default)]
pub struct LineBuf {
    buf: Vec<u8>,
    /// Inside a line that was already cut at `MAX_LINE`.
    skipping: bool,
}

impl LineBuf {
    /// Feeds bytes; calls `emit` with every completed line (without `\n`)
    /// and the position in `data` just after its newline.
    pub fn push(&mut self, data: &[u8], mut emit: impl FnMut(&[u8], usize)) {
        let mut pos = 0;
        for nl in memchr::memchr_iter(b'\n', data) {
            let part = &data[pos..nl];
            if self.buf.is_empty() && !self.skipping {
                // A line whole in `data` is passed on without a copy.
                emit(&part[..part.len().min(MAX_LINE)], nl + 1);
            } else {
                self.take(part);
                emit(&self.buf, nl + 1);
                self.buf.clear();
                self.skipping = false;
            }
            pos = nl + 1;
        }
        self.take(&data[pos..]);
        if self.buf.is_empty() && self.buf.capacity() > 4096 {
            self.buf = Vec::new();
        }
    }

    /// Adds part of the line being collected, up to [`MAX_LINE`] in all.
    fn take(&mut self, part: &[u8]) {
        if self.skipping {
            return;
        }
        let room = MAX_LINE - self.buf.len();
        if part.len() > room {
            self.buf.extend_from_slice(&part[..room]);
            self.skipping = true;
        } else {
            self.buf.extend_from_slice(part);
        }
    }

    /// Forgets a partial line (the file was truncated or replaced).
    pub fn clear(&mut self) {
        self.buf = Vec::new();
        self.skipping = false;
    }
}

/// A witness in a state file: its bytes as a hexadecimal string.
mod hex {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "witness {text:?}: expected an even number of hexadecimal digits, at most {}",
                WITNESS * 2
            ))
        })
    }

    fn decode(text: &str) -> Option<Vec<u8>> {
        let digits = text.as_bytes();
        if digits.len() % 2 != 0
            || digits.len() > WITNESS * 2
            || !digits.iter().all(u8::is_ascii_hexdigit)
        {
            return None;
        }
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
            .collect()
    }
}

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

    fn lines(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lb = LineBuf::default();
        let mut out = Vec::new();
        for c in chunks {
            lb.push(c, |l, _| out.push(l.to_vec()));
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
        // Whole in one push, too.
        let mut one = long.clone();
        one.extend_from_slice(b"\nshort\n");
        let out = lines(&[&one]);
        assert_eq!((out[0].len(), out[1].as_slice()), (MAX_LINE, &b"short"[..]));
    }

    fn append(path: &std::path::Path, bytes: &[u8]) {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    /// Reads `file` to its end: each line and the offset after it.
    fn read_all(r: &mut Reader, file: &File) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while r
            .read(file, &mut buf, |l, end| {
                out.push((String::from_utf8_lossy(l).into_owned(), end))
            })
            .unwrap()
            > 0
        {}
        out
    }

    fn texts(lines: &[(String, u64)]) -> Vec<&str> {
        lines.iter().map(|(l, _)| l.as_str()).collect()
    }

    /// Lines whole across reads, each with the offset after it; the line
    /// mark stays at the start of a partial line.
    #[test]
    fn lines_across_chunks_with_their_ends() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        let filler = "y".repeat(999) + "\n";
        append(&log, filler.repeat(100).as_bytes());
        append(&log, b"last\npart");
        let file = File::open(&log).unwrap();
        let mut r = Reader::new(Mark::start(&file.metadata().unwrap()));
        let got = read_all(&mut r, &file);
        assert_eq!(got.len(), 101);
        assert!(got[..100].iter().all(|(l, _)| l.len() == 999));
        assert!(got
            .iter()
            .enumerate()
            .take(100)
            .all(|(i, (_, end))| *end == (i as u64 + 1) * 1000));
        assert_eq!(got[100], ("last".into(), 100_005));
        assert_eq!(r.mark().offset, 100_009);
        let m = r.line_mark();
        assert_eq!((m.offset, m.witness.last()), (100_005, Some(&b'\n')));
        assert_eq!(m.witness.len(), WITNESS);
        assert!(m.holds(&file, &file.metadata().unwrap()).unwrap());
        append(&log, b" two\n");
        assert_eq!(texts(&read_all(&mut r, &file)), ["part two"]);
        // From the line mark, the partial line is read again, whole.
        let mut again = Reader::new(m);
        assert_eq!(texts(&read_all(&mut again, &file)), ["part two"]);
    }

    /// copytruncate, then a longer line, all between two reads: the old
    /// offset falls inside the new line, whose tail looks like a status.
    #[test]
    fn truncated_and_rewritten_past_the_offset_is_read_from_the_start() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        append(&log, format!("{:<73}\n", "OK, all good").as_bytes());
        let file = File::open(&log).unwrap();
        let meta = file.metadata().unwrap();
        let mut r = Reader::new(Mark::start(&meta));
        assert_eq!(read_all(&mut r, &file).len(), 1);
        let saved = r.line_mark();
        let new = format!("{:<75}OK, half of a line\n", "FAILURE, disk gone");
        fs::write(&log, &new).unwrap();
        assert_eq!(texts(&read_all(&mut r, &file)), [new.trim_end()]);
        // Judged before reading, too.
        let meta = file.metadata().unwrap();
        assert!(!saved.holds(&file, &meta).unwrap());
        let mut r = Reader::new(saved);
        assert!(!r.resume(&file, &meta).unwrap());
        assert_eq!(r.mark().offset, 0);
    }

    /// Truncated to less than was read, with a partial line pending.
    #[test]
    fn truncated_below_the_offset_forgets_the_partial_line() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        append(&log, b"OK, one\nWARNING, cut he");
        let file = File::open(&log).unwrap();
        let mut r = Reader::new(Mark::start(&file.metadata().unwrap()));
        assert_eq!(texts(&read_all(&mut r, &file)), ["OK, one"]);
        fs::write(&log, b"re\nERROR, x\n").unwrap();
        assert_eq!(texts(&read_all(&mut r, &file)), ["re", "ERROR, x"]);
    }

    /// A mark saved before witnesses were kept reads on at its offset in a
    /// file at least as long, and from the start of a shorter one.
    #[test]
    fn a_mark_without_a_witness_judges_by_inode_and_length() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        append(&log, b"one\ntwo\n");
        let file = File::open(&log).unwrap();
        let meta = file.metadata().unwrap();
        let old = Mark {
            dev: None,
            inode: meta.ino(),
            offset: 4,
            witness: Vec::new(),
        };
        let mut r = Reader::new(old.clone());
        assert!(r.resume(&file, &meta).unwrap());
        assert_eq!(r.mark().dev, Some(meta.dev()));
        assert_eq!(texts(&read_all(&mut r, &file)), ["two"]);
        // Its witness is what was read since.
        assert_eq!(r.line_mark().witness, b"two\n");
        fs::write(&log, b"3\n").unwrap();
        let meta = file.metadata().unwrap();
        let mut r = Reader::new(Mark {
            offset: 8,
            ..old.clone()
        });
        assert!(!r.resume(&file, &meta).unwrap());
        assert_eq!(texts(&read_all(&mut r, &file)), ["3"]);
        // Found while reading, too, without the judgement first.
        let mut r = Reader::new(Mark { offset: 8, ..old });
        assert_eq!(texts(&read_all(&mut r, &file)), ["3"]);
    }

    #[test]
    fn another_file_is_not_the_same() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a.log");
        let b = tmp.path().join("b.log");
        append(&a, b"a\n");
        append(&b, b"a\n");
        let (fa, fb) = (File::open(&a).unwrap(), File::open(&b).unwrap());
        let mut r = Reader::new(Mark::start(&fa.metadata().unwrap()));
        read_all(&mut r, &fa);
        let m = r.line_mark();
        assert!(m.holds(&fa, &fa.metadata().unwrap()).unwrap());
        assert!(!m.holds(&fb, &fb.metadata().unwrap()).unwrap());
        let other_dev = Mark {
            dev: m.dev.map(|d| d + 1),
            ..m.clone()
        };
        assert!(!other_dev.same_file(&fa.metadata().unwrap()));
    }

    /// Reading from the middle of a log starts at its next line.
    #[test]
    fn seek_to_line_skips_a_partial_line() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        append(&log, b"first\nsecond\nthird\n");
        let file = File::open(&log).unwrap();
        let mut r = Reader::default();
        r.seek_to_line(&file, 8);
        assert_eq!(texts(&read_all(&mut r, &file)), ["third"]);
        r.seek_to_line(&file, 6);
        assert_eq!(texts(&read_all(&mut r, &file)), ["second", "third"]);
        r.seek(&file, 8);
        assert_eq!(texts(&read_all(&mut r, &file)), ["cond", "third"]);
        // Nothing but the partial line: the mark moves past what was
        // skipped.
        r.seek_to_line(&file, 15);
        assert!(read_all(&mut r, &file).is_empty());
        assert_eq!(r.line_mark().offset, 19);
    }

    /// State files written before witnesses (and devices) were kept still
    /// load; a witness travels as hexadecimal.
    #[test]
    fn marks_in_json_old_and_new() {
        let old: Mark = serde_json::from_str(r#"{"inode": 7, "offset": 42}"#).unwrap();
        assert_eq!(
            old,
            Mark {
                dev: None,
                inode: 7,
                offset: 42,
                witness: Vec::new()
            }
        );
        let m = Mark {
            dev: Some(2049),
            inode: 7,
            offset: 42,
            witness: b"ok\n\xff".to_vec(),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(
            text,
            r#"{"dev":2049,"inode":7,"offset":42,"witness":"6f6b0aff"}"#
        );
        assert_eq!(serde_json::from_str::<Mark>(&text).unwrap(), m);
        for bad in ["6f6", "zz", "+f", &"00".repeat(WITNESS + 1)] {
            let err = serde_json::from_str::<Mark>(&format!(r#"{{"witness":"{bad}"}}"#))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("witness \"{bad}\"")), "{err}");
        }
    }
}

/// [`read_new`], what the notifier reads between two runs.
#[cfg(test)]
mod read_new_tests {
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

//! Status lines, the only thing a check script has to say: their grammar
//! and what they mean. Reading them from a log is [`crate::logfile`].
//!
//! ```text
//! line      = [ timestamp sep ] status [ sep message ]
//! timestamp = YYYY "-" MM "-" DD " " HH ":" MM ":" SS      (local time)
//! sep       = *space "," *space
//! status    = "OK" / "UPDATE" / "WARNING" / "FAILURE" / "ERROR" / "UNKNOWN"   (any case)
//! message   = the rest of the line, trailing white space removed
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

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
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "status {s:?}: expected one of OK UPDATE WARNING FAILURE ERROR UNKNOWN"
            ))
        })
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
        StatusLineRef::parse(line.as_bytes()).map(StatusLineRef::into_owned)
    }

    /// When this status was given: the line's local time stamp in `tz`, or
    /// `seen` (the time the line was read or written) when it has none.
    pub fn timestamp(&self, seen: Timestamp, tz: &TimeZone) -> Timestamp {
        instant(self.time, seen, tz)
    }
}

/// How a status line's time stamp is written (local time), the grammar's
/// `timestamp`.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The time stamp of a status line written at `time` (local time).
pub fn format_time(time: DateTime) -> String {
    time.strftime(TIME_FORMAT).to_string()
}

/// The one rule for the time of a status line: a line printed without a
/// time stamp gets one when it is written to the log (by `ssi-run`), so
/// that every tool reads the same time from the file itself. `line` (one
/// line without its `\n`) is returned stamped with `now` when it is a
/// status line without a time stamp (leading white space dropped), and
/// `None` when it is to be written as it is (it has a time stamp, or it is
/// not a status line). A line without one that is read anyway (written by
/// something else, or in a log from before the runner) takes the log's
/// modification time: [`StatusLine::timestamp`]'s `seen`.
pub fn stamp(line: &[u8], now: DateTime) -> Option<Vec<u8>> {
    let parsed = StatusLineRef::parse(line)?;
    if parsed.time.is_some() {
        return None;
    }
    let text = String::from_utf8_lossy(line);
    let trimmed = line.get(text.len() - text.trim_start().len()..)?;
    let mut out = format_time(now).into_bytes();
    out.extend_from_slice(b", ");
    out.extend_from_slice(trimmed);
    Some(out)
}

/// A status line as it lies in a log, its message still the line's bytes:
/// what readers that look at many lines parse, so that a line costs
/// neither an allocation nor a UTF-8 pass unless its message is wanted.
/// The grammar is [`StatusLine`]'s; this is where it is implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLineRef<'a> {
    /// The line's own time stamp (local time), if it has one.
    pub time: Option<DateTime>,
    /// The status.
    pub status: Status,
    /// The rest of the line after the separator (untrimmed, maybe not
    /// UTF-8); see [`StatusLineRef::message`].
    rest: &'a [u8],
}

impl<'a> StatusLineRef<'a> {
    /// Parses one log line as read (without its `\n`; invalid UTF-8 in
    /// the message is replaced when the message is taken). `None` means
    /// the line is not a status line.
    pub fn parse(line: &'a [u8]) -> Option<StatusLineRef<'a>> {
        let i = trim_start(line);
        if i.first().is_some_and(|b| !b.is_ascii()) {
            // Leading white space beyond ASCII (or a stray byte): rare
            // enough to take the slow, obviously equal way.
            return slow_path(line);
        }
        // `[ timestamp sep ]`: optional, so a line whose date is followed
        // by anything but a separator is tried as a bare status (and fails).
        let (time, i) = match timestamp(i).and_then(|(dt, r)| Some((dt, sep(r)?))) {
            Some((dt, r)) => (Some(dt), r),
            None => (None, i),
        };
        let (status, after) = status_word(i)?;
        let rest = if all_white(after) {
            &after[after.len()..]
        } else {
            sep(after)?
        };
        Some(StatusLineRef { time, status, rest })
    }

    /// The message, `""` when the line has none: the rest of the line,
    /// trailing white space removed, invalid UTF-8 replaced.
    pub fn message(&self) -> Cow<'a, str> {
        match String::from_utf8_lossy(self.rest) {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim_end()),
            Cow::Owned(s) => Cow::Owned(s.trim_end().to_owned()),
        }
    }

    /// When this status was given: see [`StatusLine::timestamp`].
    pub fn timestamp(&self, seen: Timestamp, tz: &TimeZone) -> Timestamp {
        instant(self.time, seen, tz)
    }

    /// The line with its message taken.
    pub fn into_owned(self) -> StatusLine {
        StatusLine {
            time: self.time,
            status: self.status,
            message: self.message().into_owned(),
        }
    }
}

/// The instant of a line's local time stamp in `tz`, or `seen`.
fn instant(time: Option<DateTime>, seen: Timestamp, tz: &TimeZone) -> Timestamp {
    match time {
        // A local time that a DST change makes ambiguous or skipped
        // resolves like systemd and most tools do ("compatible").
        Some(dt) => tz.to_ambiguous_timestamp(dt).compatible().unwrap_or(seen),
        None => seen,
    }
}

/// A line starting with white space beyond ASCII (or with any other
/// non-ASCII character): trimmed as text, then parsed like any other.
#[cold]
fn slow_path(line: &[u8]) -> Option<StatusLineRef<'_>> {
    let text = String::from_utf8_lossy(line);
    let trimmed = text.trim_start();
    if !trimmed.starts_with(|c: char| c.is_ascii()) {
        // Nothing left, or a character no status or date starts with.
        return None;
    }
    // What was trimmed is white space, valid UTF-8 (a replaced byte is
    // not white space), so it has the same bytes in `line`, and what is
    // left starts with an ASCII character: parsing it cannot come back.
    StatusLineRef::parse(line.get(text.len() - trimmed.len()..)?)
}

/// `i` without leading ASCII white space.
fn trim_start(i: &[u8]) -> &[u8] {
    let n = i.iter().take_while(|&&b| is_ascii_white(b)).count();
    &i[n..]
}

/// White space as [`char::is_whitespace`] has it, for an ASCII byte.
fn is_ascii_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether `i` is only white space (the end of the line, once trimmed).
fn all_white(i: &[u8]) -> bool {
    if i.iter().all(|&b| is_ascii_white(b)) {
        return true;
    }
    i.iter().any(|b| !b.is_ascii()) && String::from_utf8_lossy(i).chars().all(char::is_whitespace)
}

/// `sep = *space "," *space` (space: blank or tab); what follows it.
fn sep(i: &[u8]) -> Option<&[u8]> {
    let blank = |i: &[u8]| i.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let i = &i[blank(i)..];
    let i = i.strip_prefix(b",")?;
    Some(&i[blank(i)..])
}

/// `status = "OK" / "UPDATE" / …`, any (ASCII) case, ending at a separator
/// or the end of the line (so `OKAY` is not `OK`); what follows it.
fn status_word(i: &[u8]) -> Option<(Status, &[u8])> {
    let word = i
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .map_or(i, |n| &i[..n]);
    let status = Status::ALL
        .into_iter()
        .find(|st| st.as_str().as_bytes().eq_ignore_ascii_case(word))?;
    Some((status, &i[word.len()..]))
}

/// `timestamp = YYYY "-" MM "-" DD " " HH ":" MM ":" SS`, a real date that
/// is a real instant in every time zone: like `2026-02-30`, a line dated
/// `9999-12-31` (past the last instant a time stamp can hold once its
/// zone's offset is applied) is not a status line, so every tool reading
/// it agrees, whatever its time zone, instead of each substituting a time
/// of its own. What follows it.
fn timestamp(i: &[u8]) -> Option<(DateTime, &[u8])> {
    let (t, rest) = i.split_first_chunk::<19>()?;
    let punct = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if punct.iter().any(|&(at, c)| t[at] != c) {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i16> {
        t[from..to].iter().try_fold(0i16, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + i16::from(b - b'0'))
        })
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    // Two digits are at most 99: the narrowing casts cannot wrap.
    let dt = DateTime::new(y, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0).ok()?;
    placeable(dt).then_some((dt, rest))
}

/// `dt` names an instant under the most extreme UTC offsets there are, so
/// under any time zone's too.
fn placeable(dt: DateTime) -> bool {
    // Offsets are at most a day or so: only the first and last days of
    // the range can fall out, and checking the year is much cheaper.
    if (-9998..=9998).contains(&dt.year()) {
        return true;
    }
    [Offset::MIN, Offset::MAX]
        .into_iter()
        .all(|off| dt.to_zoned(TimeZone::fixed(off)).is_ok())
}

/// Formats a time as RFC 3339 in UTC with whole seconds and `Z`, the form
/// used in JSON and WebSocket messages: `2026-11-26T10:00:00Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A message as it leaves this machine (to a collector, to a notification
/// hook): NUL and the other C0 control characters except tab, and DEL,
/// become U+FFFD. No byte a check prints may make its status undeliverable
/// (a NUL cannot be an environment variable or a PostgreSQL string) or
/// smuggle a line break into a header; the replacement shows that something
/// was there. Borrowed when there is nothing to replace, the common case.
pub fn clean_message(message: &str) -> Cow<'_, str> {
    let bad = |c: char| (c.is_ascii_control() && c != '\t') || c == '\u{7f}';
    if !message.contains(bad) {
        return Cow::Borrowed(message);
    }
    Cow::Owned(
        message
            .chars()
            .map(|c| if bad(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_message_replaces_controls_but_tab() {
        assert!(matches!(clean_message("disk\tok"), Cow::Borrowed(_)));
        assert_eq!(
            clean_message("a\0b\nc\x1b[31m\x7f"),
            "a\u{fffd}b\u{fffd}c\u{fffd}[31m\u{fffd}"
        );
        assert_eq!(clean_message("naïve ✓"), "naïve ✓");
    }

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
    fn white_space_beyond_ascii_and_stray_bytes() {
        assert_eq!(
            parse("\u{a0}\u{3000} 2026-11-26 10:00:00, ok, x \u{a0}"),
            Some((Some("2026-11-26T10:00:00".into()), Status::Ok, "x".into()))
        );
        assert_eq!(parse("OK\u{a0}"), Some((None, Status::Ok, String::new())));
        assert_eq!(parse("OK\u{a0}, x"), None);
        // The Kelvin sign lower-cases to `k`, but statuses are ASCII words.
        assert_eq!(parse("O\u{212a}"), None);
        assert_eq!(parse("\u{212a}"), None);
        let l = StatusLineRef::parse(b"\xff OK").map(StatusLineRef::into_owned);
        assert_eq!(l, None);
        let l = StatusLineRef::parse(b"WARNING, caf\xe9 \xff\t").unwrap();
        assert_eq!(l.message(), "caf\u{fffd} \u{fffd}");
    }

    /// The grammar as the original combinator parser spelled it, kept as
    /// the reference the hand-written one must agree with.
    mod reference {
        use super::*;
        use nom::branch::alt;
        use nom::bytes::complete::{tag, tag_no_case, take_while_m_n};
        use nom::character::complete::{char, space0};
        use nom::combinator::{eof, map, map_opt, opt, rest, value};
        use nom::sequence::{preceded, terminated};
        use nom::{IResult, Parser};

        pub fn parse(line: &str) -> Option<StatusLine> {
            status_line(line.trim()).ok().map(|(_, l)| l)
        }

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

        fn sep(i: &str) -> IResult<&str, ()> {
            value((), (space0, char(','), space0)).parse(i)
        }

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

        fn digits<'a>(
            n: usize,
        ) -> impl Parser<&'a str, Output = u16, Error = nom::error::Error<&'a str>> {
            map_opt(
                take_while_m_n(n, n, |c: char| c.is_ascii_digit()),
                |s: &str| s.parse().ok(),
            )
        }
    }

    fn piece() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let pieces: Vec<&'static [u8]> = vec![
            b"",
            b" ",
            b"\t",
            b"\r",
            b"\x0b",
            b",",
            b" , ",
            b",\t",
            b"\xc2\xa0",
            b"\xe3\x80\x80",
            b"\xff",
            b"\xe9",
            b"caf\xc3\xa9",
            b"x",
            b"1",
            b"-",
            b":",
            b"2026-11-26 10:00:00",
            b"2026-02-30 10:00:00",
            b"9999-12-31 23:59:59",
            b"0000-01-01 00:00:00",
            b"2026-11-26 10:00:0",
            b"12026-11-26 10:00:00",
            b"ok",
            b"OK",
            b"oK",
            b"OKAY",
            b"update",
            b"Warning",
            b"FAILURE",
            b"error",
            b"UNKNOWN",
            b"unknow",
            b"/ at 91%",
        ];
        proptest::collection::vec(proptest::sample::select(pieces), 0..8).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn agrees_with_the_reference_grammar(line in piece()) {
            let text = String::from_utf8_lossy(&line);
            proptest::prop_assert_eq!(
                StatusLineRef::parse(&line).map(StatusLineRef::into_owned),
                reference::parse(&text),
                "{:?}", text
            );
        }
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
}

#[cfg(test)]
mod stamp_tests {
    use super::*;

    #[test]
    fn stamps_only_status_lines_without_a_time() {
        let now: DateTime = "2026-12-05T08:01:02".parse().unwrap();
        let s = |l: &str| stamp(l.as_bytes(), now).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(
            s("OK, fine").as_deref(),
            Some("2026-12-05 08:01:02, OK, fine")
        );
        assert_eq!(
            s("  warning").as_deref(),
            Some("2026-12-05 08:01:02, warning")
        );
        assert_eq!(s("2026-01-01 00:00:00, OK, old"), None);
        assert_eq!(s("working on it"), None);
        assert_eq!(s(""), None);
        // What it writes reads back with the time it was given.
        let line = StatusLine::parse(&s("FAILURE, disk full").unwrap()).unwrap();
        assert_eq!(line.time, Some(now));
        assert_eq!(line.status, Status::Failure);
        assert_eq!(line.message, "disk full");
    }
}

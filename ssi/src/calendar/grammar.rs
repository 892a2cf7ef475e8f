//! The OnCalendar grammar (systemd.time(7), as systemd 252 parses it):
//!
//! ```text
//! expression := shorthand zone?
//!             | weekdays? date? time? zone?
//!             | weekdays? "@" epoch zone?
//! shorthand  := "minutely" | "hourly" | "daily" | "weekly" | "monthly"
//!             | "yearly" | "annually" | "anually" | "quarterly"
//!             | "semiannually" | "semi-annually" | "biannually" | "bi-annually"
//! weekdays   := weekday (("," | ".." | "-") weekday)* ","? (" "+ | end)
//! weekday    := "monday" | "mon" | "tuesday" | "tue" | …      (any case)
//! date       := chain sep chain (sep chain)? " "*     (month-day or year-month-day)
//! sep        := "-" | "~"                             ("~": days before the month's end)
//! time       := chain ":" chain (":" seconds)?        (seconds default to 00)
//! chain      := "*" | component ("," component)*
//! component  := value (".." value)? ("/" value)?      (then end, " ", ",", "-", "~" or ":")
//! value      := DIGIT+                                (seconds: DIGIT+ ("." DIGIT+)?)
//! zone       := " UTC" (any case) | " " local-abbreviation | " " zoneinfo-name
//! ```
//!
//! systemd decides the zone first, from the end of the text; the rest must
//! then be one of the forms above. Values are checked against each field's
//! range only after normalization, as systemd does.

use nom::branch::alt;
use nom::bytes::complete::{tag_no_case, take_while, take_while1};
use nom::combinator::value;
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use super::chain::{self, Chain, Component, Located, USEC_PER_SEC};
use super::zone::{LocalNames, NamedZone};
use super::{CalendarSpec, SpecZone};

/// A parse failure: what was expected, and the unparsed rest of the input
/// where it went wrong (which gives the column).
#[derive(Debug)]
struct Fail<'a> {
    rest: &'a str,
    expected: String,
}

impl<'a> ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(rest: &'a str, _kind: ErrorKind) -> Self {
        Fail {
            rest,
            expected: String::new(),
        }
    }

    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, T> = IResult<&'a str, T, Fail<'a>>;

/// Stops parsing with a message; nothing else is tried.
fn fail<'a, T>(rest: &'a str, expected: impl Into<String>) -> PResult<'a, T> {
    Err(nom::Err::Failure(Fail {
        rest,
        expected: expected.into(),
    }))
}

/// One field as written; `None` is `*`. Columns are filled in later.
type RawChain = Option<Vec<Located>>;

/// An expression before normalization.
#[derive(Debug, Default)]
struct Raw {
    weekdays: u8,
    year: RawChain,
    month: RawChain,
    day: RawChain,
    hour: RawChain,
    minute: RawChain,
    second: RawChain,
    end_of_month: bool,
    epoch: bool,
}

/// Parses a whole expression; the error is the reason only.
pub(super) fn parse(input: &str, names: &LocalNames) -> Result<CalendarSpec, String> {
    let (body, zone) = split_zone(input, names);
    if body.is_empty() {
        return Err(match zone {
            SpecZone::Local => "expected a calendar expression, found nothing".to_owned(),
            _ => "expected a calendar expression before the time zone".to_owned(),
        });
    }
    let column = |rest: &str| body[..body.len() - rest.len()].chars().count() + 1;
    let mut raw = match shorthand(body) {
        Some(raw) => raw,
        None => match expression(body) {
            Ok((_, raw)) => raw,
            Err(nom::Err::Error(f) | nom::Err::Failure(f)) => {
                return Err(explain(body, f.rest, f.expected, column(f.rest)));
            }
            Err(nom::Err::Incomplete(_)) => return Err("incomplete expression".to_owned()),
        },
    };
    for chain in [
        &mut raw.year,
        &mut raw.month,
        &mut raw.day,
        &mut raw.hour,
        &mut raw.minute,
        &mut raw.second,
    ]
    .into_iter()
    .flatten()
    {
        for l in chain.iter_mut() {
            // Until now `column` held the byte length of the rest.
            l.column = body[..body.len() - l.column].chars().count() + 1;
        }
    }
    build(raw, zone)
}

/// The error message for a failure at `rest`, with a hint when the last
/// word looks like a time zone that does not exist.
fn explain(body: &str, rest: &str, expected: String, column: usize) -> String {
    if let Some(space) = body.rfind(' ') {
        let word = &body[space + 1..];
        if word.contains('/') && rest.len() <= word.len() + 1 {
            let col = body[..=space].chars().count() + 1;
            return format!("unknown time zone {word:?} at column {col}");
        }
    }
    let expected = if expected.is_empty() {
        "unexpected input".to_owned()
    } else {
        expected
    };
    format!("{expected} at column {column}")
}

/// systemd's order: a trailing ` UTC` (any case), else the local zone's
/// abbreviations (any case), else a valid zoneinfo name after the last space.
fn split_zone<'a>(input: &'a str, names: &LocalNames) -> (&'a str, SpecZone) {
    if let Some(body) = strip_suffix_no_case(input, " UTC") {
        return (body, SpecZone::Utc);
    }
    for (dst, name) in [(false, &names.standard), (true, &names.daylight)] {
        if name.is_empty() {
            continue;
        }
        if let Some(body) = strip_suffix_no_case(input, name) {
            if let Some(body) = body.strip_suffix(' ') {
                return (
                    body,
                    SpecZone::LocalAbbreviation {
                        dst,
                        name: name.clone(),
                    },
                );
            }
        }
    }
    if let Some(space) = input.rfind(' ') {
        if let Some(zone) = NamedZone::load(&input[space + 1..]) {
            return (&input[..space], SpecZone::Named(zone));
        }
    }
    (input, SpecZone::Local)
}

fn strip_suffix_no_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..cut])
}

/// The named shorthands, matched against the whole expression in any case.
fn shorthand(body: &str) -> Option<Raw> {
    let c = |v: i64| {
        Some(vec![Located {
            component: Component::value(v),
            column: 0,
        }])
    };
    let cs = |vs: &[i64]| {
        Some(
            vs.iter()
                .map(|&v| Located {
                    component: Component::value(v),
                    column: 0,
                })
                .collect(),
        )
    };
    let midnight = |raw: Raw| Raw {
        hour: c(0),
        minute: c(0),
        second: c(0),
        ..raw
    };
    let name = body.to_ascii_lowercase();
    Some(match name.as_str() {
        "minutely" => Raw {
            second: c(0),
            ..Raw::default()
        },
        "hourly" => Raw {
            minute: c(0),
            second: c(0),
            ..Raw::default()
        },
        "daily" => midnight(Raw::default()),
        "weekly" => midnight(Raw {
            weekdays: 1,
            ..Raw::default()
        }),
        "monthly" => midnight(Raw {
            day: c(1),
            ..Raw::default()
        }),
        "yearly" | "annually" | "anually" => midnight(Raw {
            month: c(1),
            day: c(1),
            ..Raw::default()
        }),
        "quarterly" => midnight(Raw {
            month: cs(&[1, 4, 7, 10]),
            day: c(1),
            ..Raw::default()
        }),
        "semiannually" | "semi-annually" | "biannually" | "bi-annually" => midnight(Raw {
            month: cs(&[1, 7]),
            day: c(1),
            ..Raw::default()
        }),
        _ => return None,
    })
}

/// expression := weekdays? (("@" epoch) | (date? time?))
fn expression(i: &str) -> PResult<'_, Raw> {
    let (rest, weekdays) = weekdays(i)?;
    let start = rest;
    let (rest, date) = date(rest).map_err(|e| first_field_hint(e, start, weekdays))?;
    let mut raw = Raw {
        weekdays,
        ..Raw::default()
    };
    match date {
        Date::Epoch(seconds) => {
            if !rest.is_empty() {
                return fail(
                    rest,
                    "expected the end of the expression after \"@SECONDS\"",
                );
            }
            epoch_fields(&mut raw, seconds, start)?;
            return Ok((rest, raw));
        }
        Date::Given {
            year,
            month,
            day,
            end_of_month,
        } => {
            (raw.year, raw.month, raw.day, raw.end_of_month) = (year, month, day, end_of_month);
        }
        Date::Absent => {}
    }
    let (rest, (hour, minute, second)) = time(rest)?;
    (raw.hour, raw.minute, raw.second) = (hour, minute, second);
    Ok((rest, raw))
}

/// What a field that is not `*` must start with.
const NUMBER: &str = "expected a number or \"*\"";

/// At the very start, a bad first field means the whole form is unknown.
fn first_field_hint<'a>(e: nom::Err<Fail<'a>>, start: &'a str, weekdays: u8) -> nom::Err<Fail<'a>> {
    match e {
        nom::Err::Failure(f)
            if f.rest.len() == start.len() && weekdays == 0 && f.expected.starts_with(NUMBER) =>
        {
            nom::Err::Failure(Fail {
                rest: f.rest,
                expected: "expected a weekday, a date, a time or a shorthand such as \"daily\""
                    .to_owned(),
            })
        }
        other => other,
    }
}

/// weekday := "monday" | "mon" | … (any case); 0 = Monday.
fn weekday(i: &str) -> PResult<'_, u8> {
    let day = |long, short, n| value(n, alt((tag_no_case(long), tag_no_case(short))));
    alt((
        day("monday", "mon", 0u8),
        day("tuesday", "tue", 1),
        day("wednesday", "wed", 2),
        day("thursday", "thu", 3),
        day("friday", "fri", 4),
        day("saturday", "sat", 5),
        day("sunday", "sun", 6),
    ))
    .parse(i)
}

fn spaces(i: &str) -> &str {
    i.trim_start_matches(' ')
}

/// weekdays := weekday (("," | ".." | "-") weekday)* ","? (" "+ | end)
///
/// Returns the days as bits (bit 0 = Monday), 0 when the expression does
/// not start with a weekday. Ranges do not wrap: `Sat..Mon` is an error.
fn weekdays(i: &str) -> PResult<'_, u8> {
    let Ok((mut rest, mut day)) = weekday(i) else {
        return Ok((i, 0));
    };
    let mut name_at = i;
    let mut bits = 0u8;
    let mut range_from: Option<(u8, &str)> = None;
    loop {
        if let Some((from, from_at)) = range_from {
            if from > day {
                let written = &from_at[..from_at.len() - rest.len()];
                return fail(
                    from_at,
                    format!("weekday range {written:?} goes backwards (ranges do not wrap)"),
                );
            }
            for d in from..=day {
                bits |= 1 << d;
            }
        }
        bits |= 1 << day;
        match rest.as_bytes().first() {
            None => return Ok((rest, bits)),
            Some(b' ') => return Ok((spaces(rest), bits)),
            Some(b'.') | Some(b'-') => {
                if range_from.is_some() {
                    return fail(rest, "expected \",\" or a space after a weekday range");
                }
                let sep = if rest.starts_with("..") {
                    2
                } else if rest.starts_with('-') {
                    1
                } else {
                    return fail(rest, "expected \"..\" between two weekdays");
                };
                range_from = Some((day, name_at));
                rest = &rest[sep..];
            }
            Some(b',') => {
                range_from = None;
                rest = &rest[1..];
            }
            Some(_) => {
                let name = &name_at[..name_at.len() - rest.len()];
                return fail(
                    rest,
                    format!("expected \",\", \"..\" or a space after {name:?}"),
                );
            }
        }
        if rest.is_empty() || rest.starts_with(' ') {
            if range_from.is_some() {
                return fail(rest, "expected a weekday to end the range");
            }
            return Ok((spaces(rest), bits));
        }
        name_at = rest;
        match weekday(rest) {
            Ok((r, d)) => (rest, day) = (r, d),
            Err(_) => return fail(rest, "expected a weekday name"),
        }
    }
}

enum Date {
    Absent,
    Epoch(i64),
    Given {
        year: RawChain,
        month: RawChain,
        day: RawChain,
        end_of_month: bool,
    },
}

/// date := "@" epoch | chain sep chain (sep chain)? " "*
///
/// A first chain followed by ":" or the end is an hour, not a date.
fn date(i: &str) -> PResult<'_, Date> {
    if i.is_empty() {
        return Ok((i, Date::Absent));
    }
    if let Some(r) = i.strip_prefix('@') {
        let (rest, seconds) = epoch(r)?;
        return Ok((rest, Date::Epoch(seconds)));
    }
    let (t, first) = chain(false)(i)?;
    if t.is_empty() || t.starts_with(':') {
        return Ok((i, Date::Absent));
    }
    let (t, first_eom) = date_separator(t)?;
    let (t, second) = chain(false)(t)?;
    if t.is_empty() || t.starts_with(' ') {
        let date = Date::Given {
            year: None,
            month: first,
            day: second,
            end_of_month: first_eom,
        };
        return Ok((spaces(t), date));
    }
    if first_eom {
        return fail(
            t,
            "expected a space after the day (\"~\" must come right before the day)",
        );
    }
    let (t, eom) = date_separator(t)?;
    let (t, third) = chain(false)(t)?;
    if !(t.is_empty() || t.starts_with(' ')) {
        return fail(t, "expected a space after the date");
    }
    Ok((
        spaces(t),
        Date::Given {
            year: first,
            month: second,
            day: third,
            end_of_month: eom,
        },
    ))
}

/// sep := "-" | "~"; true for "~".
fn date_separator(i: &str) -> PResult<'_, bool> {
    match i.as_bytes().first() {
        Some(b'-') => Ok((&i[1..], false)),
        Some(b'~') => Ok((&i[1..], true)),
        _ => fail(i, "expected \"-\" or \"~\" in a date, or \":\" in a time"),
    }
}

/// epoch := " "* ("+" | "-")? DIGIT+   (C `strtoul()`, seconds since 1970)
fn epoch(i: &str) -> PResult<'_, i64> {
    let (t, _) = take_while(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'))(i)?;
    let (t, negative) = match t.as_bytes().first() {
        Some(b'+') => (&t[1..], false),
        Some(b'-') => (&t[1..], true),
        _ => (t, false),
    };
    let (rest, n) = number(t).map_err(|_| failure(i, "expected seconds since 1970 after \"@\""))?;
    if negative && n != 0 {
        return fail(i, "expected a time not before 1970 after \"@\"");
    }
    match i64::try_from(n) {
        Ok(n) => Ok((rest, n)),
        Err(_) => fail(i, "number too large after \"@\""),
    }
}

fn failure<'a>(rest: &'a str, expected: &str) -> nom::Err<Fail<'a>> {
    nom::Err::Failure(Fail {
        rest,
        expected: expected.to_owned(),
    })
}

/// Fills the fields from `@seconds`, in UTC.
fn epoch_fields<'a>(raw: &mut Raw, seconds: i64, at: &'a str) -> Result<(), nom::Err<Fail<'a>>> {
    let ts = jiff::Timestamp::from_second(seconds)
        .map_err(|_| failure(at, "time after \"@\" is out of range"))?;
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let c = |v: i64| {
        Some(vec![Located {
            component: Component::value(v),
            column: at.len(),
        }])
    };
    raw.year = c(dt.year().into());
    raw.month = c(dt.month().into());
    raw.day = c(dt.day().into());
    raw.hour = c(dt.hour().into());
    raw.minute = c(dt.minute().into());
    raw.second = c(i64::from(dt.second()) * USEC_PER_SEC);
    raw.epoch = true;
    Ok(())
}

/// time := chain ":" chain (":" seconds)?   (nothing at all: 00:00:00)
fn time(i: &str) -> PResult<'_, (RawChain, RawChain, RawChain)> {
    let zero = |rest: &str| {
        Some(vec![Located {
            component: Component::value(0),
            column: rest.len(),
        }])
    };
    if i.is_empty() {
        return Ok((i, (zero(i), zero(i), zero(i))));
    }
    let (t, hour) = chain(false)(i)?;
    let Some(t) = t.strip_prefix(':') else {
        return fail(t, "expected \":\" after the hour");
    };
    let (t, minute) = chain(false)(t)?;
    if t.is_empty() {
        return Ok((t, (hour, minute, zero(t))));
    }
    let Some(t) = t.strip_prefix(':') else {
        return fail(t, "expected \":\" or the end after the minute");
    };
    let (t, second) = chain(true)(t)?;
    if !t.is_empty() {
        return fail(t, "expected the end of the expression after the seconds");
    }
    Ok((t, (hour, minute, second)))
}

/// systemd refuses longer lists (its components form a linked list).
const MAX_COMPONENTS: usize = 241;

/// chain := "*" | component ("," component)*
fn chain(usec: bool) -> impl Fn(&str) -> PResult<'_, RawChain> {
    move |i: &str| {
        if let Some(rest) = i.strip_prefix('*') {
            // Seconds `*` are "every whole second", as systemd stores it.
            let every_second = Component {
                start: 0,
                stop: -1,
                repeat: USEC_PER_SEC,
            };
            let star = usec.then(|| {
                vec![Located {
                    component: every_second,
                    column: i.len(),
                }]
            });
            return Ok((rest, star));
        }
        let mut list = Vec::new();
        let mut rest = i;
        loop {
            if list.len() == MAX_COMPONENTS {
                return fail(
                    rest,
                    format!("expected at most {MAX_COMPONENTS} values in one field"),
                );
            }
            let (r, c) = component(usec)(rest)?;
            list.push(Located {
                component: c,
                column: rest.len(),
            });
            match r.strip_prefix(',') {
                Some(r) => rest = r,
                None => return Ok((r, Some(list))),
            }
        }
    }
}

/// component := value (".." value)? ("/" value)?, then end, " ", ",", "-", "~" or ":"
fn component(usec: bool) -> impl Fn(&str) -> PResult<'_, Component> {
    move |i: &str| {
        let unit = if usec { USEC_PER_SEC } else { 1 };
        let (mut e, start) = field_value(usec, i, NUMBER)?;
        let (mut stop, mut repeat) = (-1, 0);
        let mut last = None;
        if let Some(r) = e.strip_prefix("..") {
            (e, stop) = field_value(usec, r, "expected a number after \"..\"")?;
            repeat = unit;
            last = Some("expected a number after \"..\"");
        }
        if let Some(r) = e.strip_prefix('/') {
            (e, repeat) = field_value(usec, r, "expected a number after \"/\"")?;
            if repeat == 0 {
                return fail(r, "expected a repetition greater than zero after \"/\"");
            }
            last = Some("expected a number after \"/\"");
        } else if usec && stop >= 0 && start + repeat > stop {
            return fail(
                i,
                "expected a range of at least one second, or a repetition like \"/0.5\"",
            );
        }
        match e.as_bytes().first() {
            None | Some(b' ' | b',' | b'-' | b'~' | b':') => Ok((
                e,
                Component {
                    start,
                    stop,
                    repeat,
                },
            )),
            Some(_) => {
                let expected = last.map(str::to_owned).unwrap_or_else(|| {
                    let written = &i[..i.len() - e.len()];
                    format!("expected \",\", \"..\", \"/\" or a separator after {written:?}")
                });
                fail(e, expected)
            }
        }
    }
}

/// value := DIGIT+, or for seconds DIGIT+ ("." DIGIT+)? in microseconds
/// (six fraction digits, rounded at the seventh, as systemd does).
fn field_value<'a>(usec: bool, i: &'a str, expected: &str) -> PResult<'a, i64> {
    let (mut rest, n) = number(i).map_err(|_| failure(i, expected))?;
    let too_large = || failure(i, "number too large");
    let mut v = n;
    if usec {
        v = v.checked_mul(USEC_PER_SEC as u64).ok_or_else(too_large)?;
        if rest.starts_with('.') && !rest.starts_with("..") {
            let (r, fraction) = fraction(&rest[1..])?;
            rest = r;
            v = v.checked_add(fraction).ok_or_else(too_large)?;
        }
    }
    if v > i32::MAX as u64 {
        return Err(too_large());
    }
    Ok((rest, v as i64))
}

/// DIGIT+ as an unsigned number.
fn number(i: &str) -> PResult<'_, u64> {
    let (rest, digits) = take_while1(|c: char| c.is_ascii_digit())(i)?;
    match digits.parse::<u64>() {
        Ok(n) => Ok((rest, n)),
        Err(_) => fail(i, "number too large"),
    }
}

/// The digits after a decimal point, as microseconds.
fn fraction(i: &str) -> PResult<'_, u64> {
    let (rest, digits) = take_while1(|c: char| c.is_ascii_digit())(i)
        .map_err(|_: nom::Err<Fail<'_>>| failure(i, "expected digits after the decimal point"))?;
    let b = digits.as_bytes();
    let mut v = 0u64;
    for k in 0..6 {
        v = v * 10 + b.get(k).map_or(0, |d| u64::from(d - b'0'));
    }
    if b.get(6).is_some_and(|d| *d >= b'5') {
        v += 1;
    }
    Ok((rest, v))
}

/// Normalizes as systemd does, then checks each field's range.
fn build(raw: Raw, zone: SpecZone) -> Result<CalendarSpec, String> {
    let zone = if raw.epoch { SpecZone::Utc } else { zone };
    let weekdays = (raw.weekdays > 0 && raw.weekdays < 127).then_some(raw.weekdays);
    let end_of_month = raw.end_of_month && raw.day.is_some();
    let mut year = raw.year;
    for l in year.iter_mut().flatten() {
        l.component.start = two_digit_year(l.component.start);
        l.component.stop = two_digit_year(l.component.stop);
    }
    let field = |c: RawChain, f: chain::Field, eom: bool| match c {
        None => Ok(Chain::default()),
        Some(list) => chain::normalize_and_check(list, f, eom),
    };
    Ok(CalendarSpec {
        weekdays,
        year: field(year, chain::YEAR, false)?,
        month: field(raw.month, chain::MONTH, false)?,
        day: field(raw.day, chain::DAY, end_of_month)?,
        hour: field(raw.hour, chain::HOUR, false)?,
        minute: field(raw.minute, chain::MINUTE, false)?,
        second: field(raw.second, chain::SECOND, false)?,
        end_of_month,
        zone,
    })
}

/// 0–69 mean 2000–2069, 70–99 mean 1970–1999.
fn two_digit_year(y: i64) -> i64 {
    match y {
        0..=69 => y + 2000,
        70..=99 => y + 1900,
        _ => y,
    }
}

//! Every kind of rejected OnCalendar expression gets a message saying what
//! was expected and where, quoting the input.

use jiff::tz::TimeZone;
use ssi::calendar::{CalendarError, CalendarSpec};

fn error(input: &str) -> String {
    match CalendarSpec::parse_with_local(input, &TimeZone::UTC) {
        Ok(spec) => panic!("{input:?} was accepted as {spec}"),
        Err(e) => e.to_string(),
    }
}

#[track_caller]
fn check(input: &str, reason: &str) {
    assert_eq!(error(input), format!("schedule {input:?}: {reason}"));
}

#[test]
fn error_carries_input_and_reason() {
    let e = CalendarSpec::parse_with_local("*:0/5x", &TimeZone::UTC).unwrap_err();
    assert_eq!(
        e,
        CalendarError {
            input: "*:0/5x".to_owned(),
            reason: "expected a number after \"/\" at column 6".to_owned(),
        }
    );
    assert_eq!(
        e.to_string(),
        "schedule \"*:0/5x\": expected a number after \"/\" at column 6"
    );
}

#[test]
fn empty_and_unknown_forms() {
    check("", "expected a calendar expression, found nothing");
    check(
        " UTC",
        "expected a calendar expression before the time zone",
    );
    check(
        "bogus",
        "expected a weekday, a date, a time or a shorthand such as \"daily\" at column 1",
    );
    check(
        " daily",
        "expected a weekday, a date, a time or a shorthand such as \"daily\" at column 1",
    );
}

#[test]
fn weekday_errors() {
    check(
        "Mond",
        "expected \",\", \"..\" or a space after \"Mon\" at column 4",
    );
    check(
        "Sat..Mon",
        "weekday range \"Sat..Mon\" goes backwards (ranges do not wrap) at column 1",
    );
    check("Mon..", "expected a weekday to end the range at column 6");
    check(
        "Mon..Wed..Fri",
        "expected \",\" or a space after a weekday range at column 9",
    );
    check(
        "Mon.Tue",
        "expected \"..\" between two weekdays at column 4",
    );
    check("Mon,,Tue", "expected a weekday name at column 5");
}

#[test]
fn number_errors() {
    check("*:0/5x", "expected a number after \"/\" at column 6");
    check("*:0/x", "expected a number after \"/\" at column 5");
    check("*:0..x", "expected a number after \"..\" at column 6");
    check(
        "*:5x",
        "expected \",\", \"..\", \"/\" or a separator after \"5\" at column 4",
    );
    check(
        "*:0/0",
        "expected a repetition greater than zero after \"/\" at column 5",
    );
    check("12:", "expected a number or \"*\" at column 4");
    check("1,*:00", "expected a number or \"*\" at column 3");
    check("99999999999:00", "number too large at column 1");
    check(
        "*:*:1.",
        "expected digits after the decimal point at column 7",
    );
    check(
        "*:*:10..10",
        "expected a range of at least one second, or a repetition like \"/0.5\" at column 5",
    );
    let many = format!(
        "*:{}",
        (0..=241)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let column = many.rfind(',').unwrap() + 2;
    check(
        &many,
        &format!("expected at most 241 values in one field at column {column}"),
    );
}

#[test]
fn structure_errors() {
    check("12", "expected \":\" after the hour at column 3");
    check("*-*-*12:00", "expected a space after the date at column 6");
    check(
        "2026-01-01-01",
        "expected a space after the date at column 11",
    );
    check(
        "2026~01-01",
        "expected a space after the day (\"~\" must come right before the day) at column 8",
    );
    check("2026/01/01", "expected a number after \"/\" at column 8");
    check(
        "2026.01.01",
        "expected \",\", \"..\", \"/\" or a separator after \"2026\" at column 5",
    );
    check(
        "12 :00",
        "expected \"-\" or \"~\" in a date, or \":\" in a time at column 3",
    );
    check(
        "*-*-* 12:00:00:00",
        "expected the end of the expression after the seconds at column 15",
    );
    check(
        "12:00 bogus",
        "expected \":\" or the end after the minute at column 6",
    );
    check(
        "12:00 Europe/Berlinn",
        "unknown time zone \"Europe/Berlinn\" at column 7",
    );
    check(
        "@5 12:00",
        "expected the end of the expression after \"@SECONDS\" at column 3",
    );
    check("@", "expected seconds since 1970 after \"@\" at column 2");
    check(
        "@-1",
        "expected a time not before 1970 after \"@\" at column 2",
    );
}

#[test]
fn range_errors() {
    check("24:00", "hour 24 is out of range 0..23 at column 1");
    check("*:60", "minute 60 is out of range 0..59 at column 3");
    check(
        "*:*:60",
        "second 60 is out of range 0..59.999999 at column 5",
    );
    check("*-*-32", "day 32 is out of range 1..31 at column 5");
    check("*-13-01", "month 13 is out of range 1..12 at column 3");
    check(
        "2200-01-01",
        "year 2200 is out of range 1970..2199 at column 1",
    );
    check(
        "1969-12-31",
        "year 1969 is out of range 1970..2199 at column 1",
    );
    check(
        "@7258118400",
        "year 2200 is out of range 1970..2199 at column 1",
    );
    check("*:10..5", "minute range 10..5 goes backwards at column 3");
    check(
        "*:50/20",
        "minute 50/20 never repeats within 0..59 at column 3",
    );
    check(
        "0/24:00",
        "hour repetition /24 is longer than the range 0..23 at column 1",
    );
    check(
        "*:*:0/61",
        "second repetition /61 is longer than the range 0..59.999999 at column 5",
    );
    check(
        "*-*~29",
        "day after \"~\" 29 is out of range 1..28 at column 5",
    );
    // systemd lowers the "~" limit by 3 for each further list element.
    check(
        "*-*~1,26",
        "day after \"~\" 26 is out of range 1..25 at column 7",
    );
}

//! systemd time spans (systemd.time(7)), as `timeout:` accepts them:
//! `90`, `90s`, `5min`, `1h 30s`, `2 min 5 s`.
//!
//! ```text
//! span      = component *( *space component )
//! component = number *space [ unit ]          (no unit: seconds)
//! number    = 1*DIGIT [ "." 1*DIGIT ]
//! unit      = "usec" / "us" / "µs" / "msec" / "ms" / "seconds" / "second" / "sec" / "s"
//!           / "minutes" / "minute" / "min" / "m" / "hours" / "hour" / "hr" / "h"
//!           / "days" / "day" / "d" / "weeks" / "week" / "w"
//!           / "months" / "month" / "M" / "years" / "year" / "y"
//! ```

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, space0};
use nom::combinator::{all_consuming, map_opt, opt, value};
use nom::multi::separated_list1;
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};

const USEC_PER_SEC: u128 = 1_000_000;

/// Parses a systemd time span into microseconds, or says what was expected.
pub fn parse_usec(input: &str) -> Result<u128, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("expected a time span like 30, 5min or 1h 30s".to_owned());
    }
    match all_consuming(span).parse(trimmed) {
        Ok((_, usec)) => Ok(usec),
        Err(_) => Err(
            "expected a time span like 30, 5min or 1h 30s (units: us, ms, s, min, h, d, w, M, y)"
                .to_owned(),
        ),
    }
}

/// Parses a span that must be whole seconds within `min..=max`.
pub fn parse_whole_seconds(input: &str, min: u32, max: u32) -> Result<u32, String> {
    let usec = parse_usec(input)?;
    if usec % USEC_PER_SEC != 0 {
        return Err("expected whole seconds".to_owned());
    }
    let secs = usec / USEC_PER_SEC;
    if secs < u128::from(min) || secs > u128::from(max) {
        return Err(format!("expected {min} to {max} seconds, got {secs}"));
    }
    Ok(secs as u32)
}

/// `span = component *( *space component )`
fn span(i: &str) -> IResult<&str, u128> {
    map_opt(separated_list1(space0, component), |parts| {
        parts
            .into_iter()
            .try_fold(0u128, |acc, p| acc.checked_add(p))
    })
    .parse(i)
}

/// `component = number *space [ unit ]`
fn component(i: &str) -> IResult<&str, u128> {
    map_opt(
        pair(number, opt(preceded(space0, unit))),
        |((int, frac), unit)| {
            let per = unit.unwrap_or(USEC_PER_SEC);
            let whole = int.checked_mul(per)?;
            // Fractions like "1.5h" count down to the microsecond, as in systemd.
            let mut scale = 1u128;
            let mut frac_val = 0u128;
            for d in frac.bytes().take(9) {
                scale *= 10;
                frac_val = frac_val * 10 + u128::from(d - b'0');
            }
            whole.checked_add(frac_val * per / scale)
        },
    )
    .parse(i)
}

/// `number = 1*DIGIT [ "." 1*DIGIT ]`, as (integer part, fraction digits).
fn number(i: &str) -> IResult<&str, (u128, &str)> {
    map_opt(
        pair(
            take_while1(|c: char| c.is_ascii_digit()),
            opt(preceded(
                char('.'),
                take_while1(|c: char| c.is_ascii_digit()),
            )),
        ),
        |(int, frac): (&str, Option<&str>)| Some((int.parse().ok()?, frac.unwrap_or(""))),
    )
    .parse(i)
}

/// A unit, longest spelling first, as microseconds; it must not run into
/// more letters (`5mins` is not `5min` + `s`).
fn unit(i: &str) -> IResult<&str, u128> {
    let s = USEC_PER_SEC;
    let (rest, u) = alt((
        alt((
            value(1, tag("usec")),
            value(1, tag("us")),
            value(1, tag("µs")),
            value(1_000, tag("msec")),
            value(1_000, tag("ms")),
            value(s, tag("seconds")),
            value(s, tag("second")),
            value(s, tag("sec")),
            value(s, tag("s")),
            value(60 * s, tag("minutes")),
            value(60 * s, tag("minute")),
            value(60 * s, tag("min")),
            value(31_557_600 * s / 12, tag("months")),
            value(31_557_600 * s / 12, tag("month")),
        )),
        alt((
            value(31_557_600 * s / 12, tag("M")),
            value(60 * s, tag("m")),
            value(3_600 * s, tag("hours")),
            value(3_600 * s, tag("hour")),
            value(3_600 * s, tag("hr")),
            value(3_600 * s, tag("h")),
            value(86_400 * s, tag("days")),
            value(86_400 * s, tag("day")),
            value(86_400 * s, tag("d")),
            value(604_800 * s, tag("weeks")),
            value(604_800 * s, tag("week")),
            value(604_800 * s, tag("w")),
            value(31_557_600 * s, tag("years")),
            value(31_557_600 * s, tag("year")),
            value(31_557_600 * s, tag("y")),
        )),
    ))
    .parse(i)?;
    if rest.starts_with(|c: char| c.is_alphabetic()) {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Tag,
        )));
    }
    Ok((rest, u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_units() {
        for (s, secs) in [
            ("90", 90),
            ("90s", 90),
            ("5min", 300),
            ("5 min", 300),
            ("1h 30s", 3630),
            ("1h30s", 3630),
            ("2 minutes 5 seconds", 125),
            ("1.5min", 90),
            ("1d", 86400),
            ("1000ms", 1),
            ("  20  ", 20),
            ("1h 30", 3630),
            ("5m3", 303),
        ] {
            assert_eq!(parse_whole_seconds(s, 1, 86400), Ok(secs), "{s}");
        }
    }

    #[test]
    fn rejects() {
        for s in [
            "", "abc", "5 mins", "5x", "-5", "s", "5min,", "infinity", "1e3",
        ] {
            assert!(
                parse_usec(s).is_err() || parse_whole_seconds(s, 1, 86400).is_err(),
                "{s}"
            );
        }
        assert_eq!(
            parse_whole_seconds("500ms", 1, 86400),
            Err("expected whole seconds".into())
        );
        assert_eq!(
            parse_whole_seconds("0", 1, 86400),
            Err("expected 1 to 86400 seconds, got 0".into())
        );
        assert_eq!(
            parse_whole_seconds("2d", 1, 86400),
            Err("expected 1 to 86400 seconds, got 172800".into())
        );
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        assert!(parse_usec("99999999999999999999999999999999999999y").is_err());
    }
}

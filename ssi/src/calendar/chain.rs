//! One field of an expression (year, month, …): a list of values, ranges and
//! repetitions, with systemd's normalization and validity rules.

use std::fmt;

/// Microseconds per second: seconds are kept in microseconds.
pub(super) const USEC_PER_SEC: i64 = 1_000_000;

/// One list element: `start`, `start..stop`, `start/repeat` or
/// `start..stop/repeat`. `stop` is -1 when absent, `repeat` 0 when absent.
/// Field order matters: sorting follows systemd (start, stop, repeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Component {
    pub start: i64,
    pub stop: i64,
    pub repeat: i64,
}

impl Component {
    pub fn value(start: i64) -> Self {
        Component {
            start,
            stop: -1,
            repeat: 0,
        }
    }
}

/// A field's values; empty means `*` (every value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Chain(pub Vec<Component>);

/// A field's legal values, for validation and messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub name: &'static str,
    pub min: i64,
    pub max: i64,
}

pub(super) const YEAR: Field = Field {
    name: "year",
    min: 1970,
    max: 2199,
};
pub(super) const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
};
pub(super) const DAY: Field = Field {
    name: "day",
    min: 1,
    max: 31,
};
pub(super) const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
};
pub(super) const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
};
pub(super) const SECOND: Field = Field {
    name: "second",
    min: 0,
    max: 60 * USEC_PER_SEC - 1,
};

/// A component as written, with its column for error messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Located {
    pub component: Component,
    pub column: usize,
}

impl Chain {
    pub fn is_wildcard(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes the field as systemd does: `%0*i` values, `.%06i` fractions,
    /// `..stop` and `/repeat`, `*` for a wildcard (or for seconds `0/1`).
    pub fn write(&self, f: &mut fmt::Formatter<'_>, width: usize, usec: bool) -> fmt::Result {
        let d = if usec { USEC_PER_SEC } else { 1 };
        let star = self.0.is_empty()
            || (usec
                && self
                    .0
                    .iter()
                    .any(|c| c.start == 0 && c.stop < 0 && c.repeat == d));
        if star {
            return f.write_str("*");
        }
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{:0width$}", c.start / d)?;
            if c.start % d > 0 {
                write!(f, ".{:06}", c.start % d)?;
            }
            if c.stop > 0 {
                write!(f, "..{:0width$}", c.stop / d)?;
                if c.stop % d > 0 {
                    write!(f, ".{:06}", c.stop % d)?;
                }
            }
            if c.repeat > 0 && !(c.stop > 0 && c.repeat == d) {
                write!(f, "/{}", c.repeat / d)?;
            }
            if c.repeat % d > 0 {
                write!(f, ".{:06}", c.repeat % d)?;
            }
        }
        Ok(())
    }
}

/// systemd's normalization: trims ranges to a multiple of the repetition,
/// drops repetitions that never fire and empty ranges, sorts, and removes
/// duplicates. Then checks every element against `field`.
pub(super) fn normalize_and_check(
    mut located: Vec<Located>,
    field: Field,
    end_of_month: bool,
) -> Result<Chain, String> {
    for l in &mut located {
        let c = &mut l.component;
        if c.stop > c.start && c.repeat > 0 {
            c.stop -= (c.stop - c.start) % c.repeat;
        }
        if (c.stop > c.start && c.repeat > 0 && c.start + c.repeat > c.stop) || c.start == c.stop {
            c.repeat = 0;
            c.stop = -1;
        }
    }
    located.sort_by_key(|l| l.component);
    located.dedup_by_key(|l| l.component);
    for (index, l) in located.iter().enumerate() {
        check(l, field, end_of_month, index)?;
    }
    Ok(Chain(located.into_iter().map(|l| l.component).collect()))
}

fn shown(v: i64, field: Field) -> String {
    if field.name == SECOND.name {
        if v % USEC_PER_SEC == 0 {
            format!("{}", v / USEC_PER_SEC)
        } else {
            format!("{}.{:06}", v / USEC_PER_SEC, v % USEC_PER_SEC)
        }
    } else {
        v.to_string()
    }
}

/// systemd's `chain_valid()` for the `index`th element, explained. With `~`
/// systemd lowers the upper bound by 3 for every element of the sorted list
/// (28 for the first, 25 for the second, …), so this does too.
fn check(l: &Located, field: Field, end_of_month: bool, index: usize) -> Result<(), String> {
    let c = l.component;
    let lowered = 3 * (index as i64 + 1);
    let to = if end_of_month {
        field.max - lowered
    } else {
        field.max
    };
    let from = field.min;
    let at = l.column;
    let name = if end_of_month {
        "day after \"~\""
    } else {
        field.name
    };
    let range = format!("{}..{}", shown(from, field), shown(to, field));
    let out_of_range = |v: i64| {
        format!(
            "{name} {} is out of range {range} at column {at}",
            shown(v, field)
        )
    };
    if c.start < from || c.start > to {
        return Err(out_of_range(c.start));
    }
    if c.repeat > to - from {
        return Err(format!(
            "{name} repetition /{} is longer than the range {range} at column {at}",
            shown(c.repeat, field)
        ));
    }
    if c.stop >= 0 {
        if c.stop < from || c.stop > to {
            return Err(out_of_range(c.stop));
        }
        if c.start + c.repeat > c.stop {
            return Err(format!(
                "{name} range {}..{} goes backwards at column {at}",
                shown(c.start, field),
                shown(c.stop, field)
            ));
        }
    } else if (end_of_month && c.start - c.repeat < from)
        || (!end_of_month && c.start + c.repeat > to)
    {
        return Err(format!(
            "{name} {}/{} never repeats within {range} at column {at}",
            shown(c.start, field),
            shown(c.repeat, field)
        ));
    }
    Ok(())
}

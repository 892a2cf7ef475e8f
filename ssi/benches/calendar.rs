//! `cargo bench -p ssi-generator --bench calendar`: parse + normalize 10,000
//! schedules, and compute 10,000 next elapses, with plain std timing.
//!
//! The schedules are the valid expressions of the test corpus, used in turn,
//! so the mix covers every grammar feature (a tenth name a zone).

use std::hint::black_box;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssi::calendar::CalendarSpec;

const N: usize = 10_000;

fn corpus(local: &TimeZone) -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/calendar/corpus.txt"
    );
    let text = std::fs::read_to_string(path).expect("corpus.txt is readable");
    text.lines()
        .filter(|l| l.starts_with('"'))
        .map(|l| l[1..l.len() - 1].replace("\\t", "\t"))
        .filter(|e| CalendarSpec::parse_with_local(e, local).is_ok())
        .collect()
}

fn report(what: &str, elapsed: Duration) {
    println!(
        "{what:<40} {N} ops  {:>9.3} ms total  {:>8.3} µs/op",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6 / N as f64
    );
}

fn main() {
    let local = TimeZone::get("Europe/Berlin").expect("Europe/Berlin is in the tz database");
    let exprs = corpus(&local);
    // Without a zone name there is no zoneinfo file to read.
    let plain: Vec<&String> = exprs
        .iter()
        .filter(|e| !e.rsplit(' ').next().is_some_and(|w| w.contains('/')))
        .collect();
    println!("{} valid corpus expressions", exprs.len());

    let start = Instant::now();
    for i in 0..N {
        let spec = CalendarSpec::parse_with_local(black_box(&exprs[i % exprs.len()]), &local);
        black_box(spec.map(|s| s.normalized()).ok());
    }
    report("parse + normalize (corpus mix)", start.elapsed());

    let start = Instant::now();
    for i in 0..N {
        let spec = CalendarSpec::parse_with_local(black_box(plain[i % plain.len()]), &local);
        black_box(spec.map(|s| s.normalized()).ok());
    }
    report("parse + normalize (no zone names)", start.elapsed());

    let specs: Vec<CalendarSpec> = exprs
        .iter()
        .filter_map(|e| CalendarSpec::parse_with_local(e, &local).ok())
        .collect();
    let base = Timestamp::from_second(1_774_744_200).expect("valid timestamp");
    let start = Instant::now();
    let mut found = 0;
    for i in 0..N {
        // Step the base so results are not all computed from one instant.
        let after = base + jiff::SignedDuration::from_secs(i as i64 * 3_607);
        if black_box(specs[i % specs.len()].next_elapse(after, &local)).is_some() {
            found += 1;
        }
    }
    report("next elapse, Europe/Berlin (corpus mix)", start.elapsed());
    println!("({found} of {N} had a next elapse)");

    let daily = CalendarSpec::parse_with_local("Mon..Fri *-*-* 08:30", &local).expect("valid");
    let start = Instant::now();
    let mut after = base;
    for _ in 0..N {
        match daily.next_elapse(black_box(after), &local) {
            Some(next) => after = next.timestamp(),
            None => break,
        }
    }
    report("next elapse, chained \"Mon..Fri 08:30\"", start.elapsed());
}

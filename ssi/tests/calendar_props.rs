//! Property tests: the parser never panics, whatever it is given, and the
//! normalized form of any accepted expression parses back to itself.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use proptest::prelude::*;
use ssi::calendar::CalendarSpec;

/// One list element of a field: value, range, repetition, fraction.
fn component(min: u32, max: u32) -> impl Strategy<Value = String> {
    let value = move || (min..=max + 1).prop_map(|n| format!("{n:02}"));
    let step = move || 0..=((max - min) / 4).max(2);
    prop_oneof![
        4 => value(),
        2 => (min..=max, 0..=(max - min) / 2).prop_map(|(a, l)| format!("{a:02}..{:02}", a + l)),
        2 => (min..=(min + max) / 2, step()).prop_map(|(a, r)| format!("{a:02}/{r}")),
        1 => (min..=(min + max) / 2, 0..=(max - min) / 2, step()).prop_map(|(a, l, r)| format!("{a:02}..{:02}/{r}", a + l)),
        1 => (value(), 0u32..1_000_000).prop_map(|(a, f)| format!("{a}.{f:06}")),
    ]
}

/// A field: `*` or a list.
fn field(min: u32, max: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("*".to_owned()),
        3 => prop::collection::vec(component(min, max), 1..4).prop_map(|c| c.join(",")),
    ]
}

/// Grammar-shaped expressions (weekdays, date, time, zone), often valid so
/// the deeper rules are exercised, plus a random character or two spliced
/// in to reach the error paths.
fn expression() -> impl Strategy<Value = String> {
    let weekdays = prop_oneof![
        Just(String::new()),
        Just("Mon ".to_owned()),
        Just("Sat..Mon ".to_owned()),
        Just("mon-fri,Sun ".to_owned()),
        Just("Tuesday,".to_owned()),
    ];
    let date = prop_oneof![
        Just(String::new()),
        (
            field(1969, 2199),
            field(1, 12),
            prop::bool::ANY,
            field(1, 31)
        )
            .prop_map(|(y, m, eom, d)| { format!("{y}-{m}{}{d} ", if eom { "~" } else { "-" }) }),
        (field(1, 12), field(1, 31)).prop_map(|(m, d)| format!("{m}-{d} ")),
    ];
    let time = prop_oneof![
        Just(String::new()),
        (field(0, 23), field(0, 59)).prop_map(|(h, m)| format!("{h}:{m}")),
        (field(0, 23), field(0, 59), field(0, 59)).prop_map(|(h, m, s)| format!("{h}:{m}:{s}")),
    ];
    let zone = prop_oneof![
        4 => Just(String::new()),
        1 => Just(" UTC".to_owned()),
        1 => Just(" Europe/Berlin".to_owned()),
        1 => Just(" America/New_York".to_owned()),
    ];
    let noise = prop_oneof![
        3 => Just(Vec::new()),
        1 => prop::collection::vec((any::<prop::sample::Index>(), "[-~:.,/ @*0-9a]"), 1..3),
    ];
    (weekdays, date, time, zone, noise).prop_map(|(w, d, t, z, noise)| {
        let mut s = format!("{w}{d}{t}").trim_end().to_owned() + &z;
        for (at, c) in noise {
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            s.insert_str(i, &c);
        }
        s
    })
}

fn spec_with(input: &str) -> Option<CalendarSpec> {
    CalendarSpec::parse_with_local(input, &TimeZone::UTC).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,64}") {
        let _ = spec_with(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = spec_with(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn normalized_form_parses_to_itself(s in expression()) {
        if let Some(spec) = spec_with(&s) {
            let normalized = spec.normalized();
            let again = spec_with(&normalized);
            prop_assert!(again.is_some(), "{s:?} normalized to {normalized:?}, which is rejected");
            let again = again.unwrap();
            prop_assert_eq!(again.normalized(), normalized.clone());
            // Not structural equality: like systemd, the normalized form may
            // drop a component another one covers ("00/1,00" -> "*"). The
            // two must still elapse at the same times.
            for base in [0i64, 1_764_151_200, 1_774_745_000] {
                let mut t = jiff::Timestamp::from_second(base).unwrap();
                for _ in 0..3 {
                    let a = spec.next_elapse(t, &TimeZone::UTC);
                    let b = again.next_elapse(t, &TimeZone::UTC);
                    prop_assert_eq!(&a, &b, "{:?} and its normalized form {:?} differ after {}", s, normalized, t);
                    match a {
                        Some(z) => t = z.timestamp(),
                        None => break,
                    }
                }
            }
        }
    }
}

proptest! {
    // Each case computes up to two elapses; fewer cases keep debug runs short.
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn grammar_like_strings_never_panic_and_elapse(s in expression(), base in 0i64..7_300_000_000) {
        if let Some(spec) = spec_with(&s) {
            let after = Timestamp::from_second(base).unwrap();
            for zone in [TimeZone::UTC, TimeZone::get("Europe/Berlin").unwrap()] {
                if let Some(next) = spec.next_elapse(after, &zone) {
                    prop_assert!(next.timestamp() > after, "{s:?} after {after}: {next}");
                }
            }
        }
    }
}

/// Guards the properties above against testing nothing: a fair share of
/// the generated expressions must be valid.
#[test]
fn generated_expressions_are_often_valid() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = expression();
    let total = 2000;
    let valid = (0..total)
        .filter(|_| {
            let s = strategy.new_tree(&mut runner).unwrap().current();
            spec_with(&s).is_some()
        })
        .count();
    assert!(
        valid * 20 >= total,
        "only {valid} of {total} generated expressions are valid"
    );
    eprintln!("{valid} of {total} generated expressions are valid");
}

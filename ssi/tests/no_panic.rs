//! Property tests: no parser panics on arbitrary input, and the parsers
//! agree with what they print.

use proptest::prelude::*;
use ssi::manifest;
use ssi::service::ServiceId;
use ssi::status::{Status, StatusLine};
use ssi::timespan;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn manifest_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = manifest::parse(&bytes);
    }

    #[test]
    fn manifest_never_panics_on_header_like_input(
        lines in proptest::collection::vec(
            ("[ \t#]{0,3}", "(?i)(name|description|version|schedule|timeout|x)", "[ \t:]{0,3}", "\\PC{0,40}", "(\r)?"),
            0..12,
        )
    ) {
        let text: String = lines
            .iter()
            .map(|(a, k, c, v, cr)| format!("{a}{k}{c}{v}{cr}\n"))
            .collect();
        let p = manifest::parse(text.as_bytes());
        // Every value kept is free of the separators the grammar strips.
        for v in [&p.fields.name, &p.fields.description, &p.fields.version, &p.fields.schedule].into_iter().flatten() {
            prop_assert!(!v.contains('\n'));
            prop_assert_eq!(v.trim_matches(|c: char| c.is_ascii_whitespace()), v.as_str());
        }
    }

    #[test]
    fn status_line_never_panics(s in "\\PC{0,200}") {
        let _ = StatusLine::parse(&s);
    }

    #[test]
    fn status_line_round_trips(
        st in proptest::sample::select(Status::ALL.to_vec()),
        msg in "[^\r\n]{0,60}",
        h in 0u8..24, m in 0u8..60, s in 0u8..60,
    ) {
        let line = format!("2026-11-26 {h:02}:{m:02}:{s:02}, {st}, {msg}");
        let parsed = StatusLine::parse(&line).expect("a well-formed line parses");
        prop_assert_eq!(parsed.status, st);
        prop_assert_eq!(parsed.message, msg.trim_start_matches([' ', '\t']).trim_end().to_owned());
    }

    #[test]
    fn timespan_never_panics(s in "[0-9a-zµ .]{0,30}") {
        let _ = timespan::parse_usec(&s);
    }

    #[test]
    fn service_id_never_panics_and_is_clean(s in "\\PC{0,80}") {
        if let Ok(id) = ServiceId::from_file_name(std::ffi::OsStr::new(&s)) {
            prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        }
    }
}

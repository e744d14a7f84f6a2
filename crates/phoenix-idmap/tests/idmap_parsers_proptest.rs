//! The short, always-run cousin of the fuzz target (`fuzz/fuzz_targets/parsers.rs`): the
//! idmap, intent and subid parsers never panic, and what they accept prints back.

use phoenix_idmap::IdMapEntry;
use phoenix_idmap::idmap::MapIntent;
use phoenix_idmap::subid::SubIdFile;
use proptest::prelude::*;

/// Text made mostly of the characters these formats use, so parsing gets deep.
fn formatish() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ugbroot0-9:# \t\n\r\u{b}\u{a0}é-]{0,80}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn idmap_entries_parse_or_refuse_and_round_trip(s in formatish()) {
        match s.parse::<IdMapEntry>() {
            Ok(e) => prop_assert_eq!(e.to_string().parse::<IdMapEntry>(), Ok(e)),
            Err(err) => prop_assert_eq!(err.to_string(), format!("failed to parse idmap: {s}")),
        }
    }

    #[test]
    fn intents_parse_or_refuse_and_round_trip(s in formatish()) {
        if let Ok(i) = s.parse::<MapIntent>() {
            prop_assert_eq!(i.to_string().parse::<MapIntent>(), Ok(i));
        }
    }

    #[test]
    fn subid_files_are_lossless_and_only_grow(s in formatish()) {
        if let Ok(file) = SubIdFile::parse(&s) {
            prop_assert_eq!(file.render(), s.clone());
            let mut edited = file.clone();
            edited.ensure_root_default();
            prop_assert!(edited.render().starts_with(&s));
        }
    }

    #[test]
    fn any_text_is_parsed_without_panic(s in any::<String>()) {
        let _ = s.parse::<IdMapEntry>();
        let _ = s.parse::<MapIntent>();
        let _ = SubIdFile::parse(&s);
    }
}

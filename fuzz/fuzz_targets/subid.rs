//! `/etc/subuid` and `/etc/subgid`: no input may panic, parsing is lossless, the root
//! default is only ever appended, and an edited file parses again.
//!
//! Run: `bash scripts/fuzz.sh 600 subid`

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_idmap::subid::{SubIdEntry, SubIdFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if let Ok(e) = line.parse::<SubIdEntry>() {
            let _ = e.to_string();
        }
    }
    match SubIdFile::parse(text) {
        Ok(file) => {
            assert_eq!(file.render(), text);
            let mut edited = file.clone();
            edited.ensure_root_default();
            assert!(edited.render().starts_with(text));
            let again = SubIdFile::parse(&edited.render()).expect("an edited file parses");
            assert_eq!(again.render(), edited.render());
            assert!(edited.clone().ensure_root_default().is_empty());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});

//! `lxc.idmap` entries (one a line), `/proc/<pid>/uid_map` text and planner intents
//! (comma-separated): no input may panic, a parsed entry or intent prints back to itself, and the planner's output
//! always validates.
//!
//! Run: `bash scripts/fuzz.sh 600 idmap`

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_idmap::idmap::{IdMap, MapIntent, plan};
use phoenix_idmap::{IdMapEntry, validate_entries};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let entries: Vec<IdMapEntry> = text.lines().filter_map(|l| l.parse().ok()).collect();
    for e in &entries {
        assert_eq!(e.to_string().parse::<IdMapEntry>().as_ref(), Ok(e));
        let _ = (
            e.checked_host_last(),
            e.checked_container_last(),
            e.fits_id_space(),
        );
    }
    for line in text.lines() {
        if let Err(e) = line.parse::<IdMapEntry>() {
            let _ = e.to_string();
        }
    }
    let _ = validate_entries(&entries).map_err(|e| e.to_string());
    let map = IdMap::new(true, entries);
    let _ = map.warnings(None);
    let _ = map.validate();
    for id in [0, 1000, 65535, 100_000, u32::MAX] {
        let _ = (map.host_uid_of(id), map.ct_gid_of_or_unchanged(id));
    }

    let _ = phoenix_idmap::proc_map::parse(text).map_err(|e| e.to_string());

    let intents: Vec<MapIntent> = text
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for i in &intents {
        assert_eq!(i.to_string().parse::<MapIntent>().as_ref(), Ok(i));
    }
    if let Ok(p) = plan(&intents[..intents.len().min(4)]) {
        assert!(
            validate_entries(&p.entries).is_ok(),
            "planner output must validate"
        );
    }
});

//! One target for every phoenix-idmap parser: no input may panic, and the lossless
//! parsers must give back exactly what they read.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run parsers -- -max_total_time=300`
//! (from `crates/phoenix-idmap`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_pveconf::conf::CtConf;
use phoenix_idmap::idmap::{IdMap, MapIntent, plan};
use phoenix_pveconf::idmap::check_conf;
use phoenix_idmap::subid::SubIdFile;
use phoenix_idmap::{IdMapEntry, validate_entries};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // lxc.idmap values: a parsed entry prints back to itself.
    let entries: Vec<IdMapEntry> = text.lines().filter_map(|l| l.parse().ok()).collect();
    for e in &entries {
        assert_eq!(e.to_string().parse::<IdMapEntry>().as_ref(), Ok(e));
        let _ = (e.checked_host_last(), e.checked_container_last(), e.fits_id_space());
    }
    let _ = validate_entries(&entries);
    let map = IdMap::new(true, entries);
    let _ = map.warnings(None);
    for id in [0, 1000, 65535, u32::MAX] {
        let _ = (map.host_uid_of(id), map.ct_gid_of_or_unchanged(id));
    }

    // Planner intents, comma-separated.
    let intents: Vec<MapIntent> = text.split(',').filter_map(|s| s.trim().parse().ok()).collect();
    for i in &intents {
        assert_eq!(i.to_string().parse::<MapIntent>().as_ref(), Ok(i));
    }
    if let Ok(p) = plan(&intents[..intents.len().min(4)]) {
        assert!(validate_entries(&p.entries).is_ok(), "planner output must validate");
    }

    // /etc/subuid: lossless, and edits only append.
    if let Ok(file) = SubIdFile::parse(text) {
        assert_eq!(file.render(), text);
        let mut edited = file.clone();
        edited.ensure_root_default();
        assert!(edited.render().starts_with(text));
        assert!(SubIdFile::parse(&edited.render()).is_ok());
    }

    // CT conf (part A's parser): never fails, renders back byte for byte.
    let parsed = CtConf::parse(text);
    assert_eq!(parsed.conf.render(), text);
    let _ = parsed.conf.render_canonical();
    let _ = check_conf(&parsed.conf, None);
});

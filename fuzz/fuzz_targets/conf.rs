//! Proxmox CT conf files: parsing never fails or panics, renders back byte for byte,
//! Proxmox's canonical rewrite is stable (a second round changes nothing), and the
//! conf's id map and its checks never panic.
//!
//! Run: `bash scripts/fuzz.sh 600 conf`

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_pveconf::conf::CtConf;
use phoenix_pveconf::idmap::{check_conf, from_conf, legacy_idmap_lines};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = CtConf::parse(text);
    assert_eq!(parsed.conf.render(), text, "render(parse(x)) must be x");
    for w in &parsed.warnings {
        let _ = w.to_string();
    }
    let canonical = parsed.conf.render_canonical();
    let again = CtConf::parse(&canonical);
    assert_eq!(again.conf.render(), canonical);
    let _ = again.conf.render_canonical();
    let _ = check_conf(&parsed.conf, None);
    let _ = from_conf(&parsed.conf);
    let _ = legacy_idmap_lines(&parsed.conf);
});

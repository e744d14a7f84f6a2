//! The config loader on arbitrary bytes: no input may panic, a fleet comes back
//! only without errors, and no diagnostic prints a raw control character (what
//! phoenix prints from input is escaped).
//!
//! Input: the three files separated by 0xFF 0x00 (a byte pair no UTF-8 text holds);
//! a missing third part means no VM file.
//!
//! Run: `bash scripts/fuzz.sh 600 config`

#![no_main]

use libfuzzer_sys::fuzz_target;

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(2).position(|w| w == [0xFF, 0x00]) {
        parts.push(&rest[..i]);
        rest = &rest[i + 2..];
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data);
    let lxc = parts[0];
    let hyp = parts.get(1).copied().unwrap_or(b"{}");
    let vm = parts.get(2).copied();
    let report = phoenix_config::validate_bytes(lxc, hyp, vm);
    if report.fleet.is_some() {
        assert!(report.errors.is_empty());
    }
    for d in report.errors.iter().chain(&report.warnings) {
        let shown = d.to_string();
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')),
            "raw control character in {shown:?}"
        );
    }
    // Valid text is also checked as text, with the same result.
    if let (Ok(l), Ok(h)) = (std::str::from_utf8(lxc), std::str::from_utf8(hyp))
        && vm.is_none()
        && !l.starts_with('\u{feff}')
        && !h.starts_with('\u{feff}')
        && !l.as_bytes().get(..2).is_some_and(|b| b.contains(&0))
        && !h.as_bytes().get(..2).is_some_and(|b| b.contains(&0))
    {
        let text = phoenix_config::validate_texts(l, h, None);
        assert_eq!(text.errors, report.errors);
    }
});

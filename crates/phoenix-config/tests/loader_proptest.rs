//! The fuzz target's properties (`crates/phoenix-idmap/fuzz/fuzz_targets/config_loader.rs`)
//! on random input in every test run: the loader never panics, a fleet comes back
//! only without errors, and no diagnostic prints a raw control character.

use proptest::prelude::*;

fn check(lxc: &[u8], hyp: &[u8]) {
    let report = phoenix_config::validate_bytes(lxc, hyp, None);
    if report.fleet.is_some() {
        assert!(report.errors.is_empty());
    }
    for d in report.errors.iter().chain(&report.warnings) {
        let shown = d.to_string();
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}')),
            "raw control character in {shown:?}"
        );
    }
}

/// JSON-ish text: the example's own file with random characters spliced in, so
/// most inputs get past the parser and reach the schema and semantic passes.
fn spliced() -> impl Strategy<Value = Vec<u8>> {
    let base = include_str!("../../../fixtures/example/phoenix_lxc_configs.json");
    (0..base.len(), prop::collection::vec(any::<char>(), 0..8)).prop_map(move |(at, chars)| {
        let at = (0..=at)
            .rev()
            .find(|i| base.is_char_boundary(*i))
            .unwrap_or(0);
        let mut s = base[..at].to_owned();
        s.extend(chars);
        s.push_str(&base[at..]);
        s.into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
    #[test]
    fn random_bytes_never_panic(lxc in prop::collection::vec(any::<u8>(), 0..200)) {
        check(&lxc, b"{}");
    }

    #[test]
    fn spliced_configs_never_panic_and_print_escaped(lxc in spliced()) {
        let hyp = include_bytes!("../../../fixtures/example/phoenix_hypervisor_config.json");
        check(&lxc, hyp);
    }
}

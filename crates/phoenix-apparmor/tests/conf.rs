//! Applying a profile to real-looking CT confs (fixtures/apparmor/conf-*.conf): one
//! line of each kind however often it runs, and nothing else touched.

use phoenix_apparmor::ShippedProfile;
use phoenix_apparmor::conf::{Assignment, apply_to_conf};
use phoenix_pveconf::conf::CtConf;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../../fixtures/apparmor/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Lines of the main section (before the first `[section]` header) starting with `key`.
fn main_lines<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .take_while(|l| !l.starts_with('['))
        .filter(|l| l.starts_with(key))
        .collect()
}

fn apply_twice(src: &str, a: &Assignment) -> String {
    let mut conf = CtConf::parse(src).conf;
    apply_to_conf(&mut conf, a).unwrap();
    let once = conf.render();
    assert!(
        !apply_to_conf(&mut conf, a).unwrap(),
        "the second apply changed the conf"
    );
    assert_eq!(conf.render(), once);
    once
}

#[test]
fn bash_era_duplicates_collapse_to_one_line_each() {
    let src = fixture("conf-bash-era-duplicates.conf");
    let out = apply_twice(&src, &Assignment::shipped(ShippedProfile::DockerSecure));
    assert_eq!(
        main_lines(&out, "lxc.apparmor.profile"),
        ["lxc.apparmor.profile: lxc-docker-secure"]
    );
    assert_eq!(
        main_lines(&out, "lxc.apparmor.allow_nesting"),
        ["lxc.apparmor.allow_nesting: 1"]
    );
    insta::assert_snapshot!(out);
}

#[test]
fn snapshots_keep_the_profile_they_recorded() {
    let src = fixture("conf-snapshot-keeps-its-profile.conf");
    let out = apply_twice(&src, &Assignment::shipped(ShippedProfile::PhoenixGpu));
    assert_eq!(
        main_lines(&out, "lxc.apparmor.profile"),
        ["lxc.apparmor.profile: lxc-phoenix-gpu"]
    );
    assert!(main_lines(&out, "lxc.apparmor.allow_nesting").is_empty());
    let snapshot = out.split("[pre-configured]").nth(1).unwrap();
    assert!(snapshot.contains("lxc.apparmor.profile: unconfined\n"));
    insta::assert_snapshot!(out);
}

#[test]
fn a_conf_without_apparmor_lines_gains_them_at_the_end() {
    let src = fixture("conf-without-apparmor-lines.conf");
    let out = apply_twice(&src, &Assignment::shipped(ShippedProfile::DockerSecure));
    assert_eq!(
        out,
        format!("{src}lxc.apparmor.profile: lxc-docker-secure\nlxc.apparmor.allow_nesting: 1\n")
    );
}

use super::*;

fn parse(src: &str) -> CtConf {
    CtConf::parse(src).conf
}

#[test]
fn render_is_lossless_for_odd_input() {
    for src in [
        "",
        "\n",
        "no newline at end",
        "a: 1\r\nb: 2\r\n",
        "  #indented\n\t\n[Snap]\n[pve:PENDING]\ndelete: x\n",
        "[]\n[a]\n[ab]\nlxc.idmap=u 0 1 1",
        "description:   \nfoo:   \n",
    ] {
        assert_eq!(parse(src).render(), src, "{src:?}");
    }
}

#[test]
fn sections_and_their_keys() {
    let conf = parse(
        "memory: 1\n\n[s1]\nmemory: 2\n\n[pve:pending]\nmemory: 3\ndelete: a,!b;c d\n\n[s2]\nmemory: 4\n",
    );
    assert_eq!(conf.get("memory"), Some("1"));
    assert_eq!(conf.snapshot("s1").unwrap().get("memory"), Some("2"));
    assert_eq!(conf.pending().unwrap().get("memory"), Some("3"));
    assert_eq!(
        conf.section("PVE:pending").unwrap().deletes(),
        ["a", "!b", "c", "d"]
    );
    assert_eq!(conf.section("s2").unwrap().get("memory"), Some("4"));
    let names: Vec<_> = conf.snapshots().iter().map(|s| s.name().unwrap()).collect();
    assert_eq!(names, ["s1", "s2"]);
    assert!(conf.deletes().is_empty());
    assert!(conf.snapshot("s3").is_none());
}

#[test]
fn the_last_duplicate_wins_like_proxmox() {
    let conf = parse("memory: 1\nmemory: 2\n[s1]\nswap: 1\n[s1]\nswap: 2\n");
    assert_eq!(conf.get("memory"), Some("2"));
    assert_eq!(conf.snapshot("s1").unwrap().get("swap"), Some("2"));
    assert_eq!(conf.snapshots().len(), 1);
}

#[test]
fn set_replaces_in_place_and_keeps_formatting() {
    let mut conf = parse("#note\nmemory:\t512  \r\nswap: 0\n\n[s1]\nmemory: 9\n");
    conf.set("memory", "1024").unwrap();
    assert_eq!(
        conf.render(),
        "#note\nmemory:\t1024  \r\nswap: 0\n\n[s1]\nmemory: 9\n"
    );
}

#[test]
fn set_appends_after_the_last_key_of_the_section() {
    let mut conf = parse("swap: 0\n\n[s1]\nmemory: 9\n\n[s2]\n");
    conf.set("cores", "2").unwrap();
    conf.snapshot_mut("s1").unwrap().set("cores", "4").unwrap();
    conf.snapshot_mut("s2").unwrap().set("cores", "8").unwrap();
    assert_eq!(
        conf.render(),
        "swap: 0\ncores: 2\n\n[s1]\nmemory: 9\ncores: 4\n\n[s2]\ncores: 8\n"
    );
}

#[test]
fn set_on_a_file_without_final_newline_keeps_it_that_way() {
    let mut conf = parse("swap: 0");
    conf.set("cores", "2").unwrap();
    assert_eq!(conf.render(), "swap: 0\ncores: 2");
    assert!(conf.remove("cores"));
    assert_eq!(conf.render(), "swap: 0");
}

#[test]
fn set_removes_stale_duplicates() {
    let mut conf = parse("memory: 1\nswap: 0\nmemory: 2\n");
    conf.set("memory", "3").unwrap();
    assert_eq!(conf.render(), "swap: 0\nmemory: 3\n");
}

#[test]
fn remove_takes_only_that_key() {
    let mut conf = parse("memory: 1\nswap: 0\nmemory: 2\n");
    assert!(conf.remove("memory"));
    assert!(!conf.remove("memory"));
    assert_eq!(conf.render(), "swap: 0\n");
}

#[test]
fn raw_lxc_edits() {
    let mut conf =
        parse("memory: 1\nlxc.idmap = u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n\n[s1]\n");
    assert_eq!(
        conf.lxc_values("lxc.idmap"),
        ["u 0 100000 65536", "g 0 100000 65536"]
    );
    conf.add_lxc("lxc.apparmor.profile", "unconfined").unwrap();
    assert_eq!(
        conf.render(),
        "memory: 1\nlxc.idmap = u 0 100000 65536\nlxc.idmap: g 0 100000 65536\nlxc.apparmor.profile: unconfined\n\n[s1]\n"
    );
    conf.set_lxc_unique("lxc.idmap", "u 0 200000 65536")
        .unwrap();
    assert_eq!(
        conf.render(),
        "memory: 1\nlxc.idmap = u 0 200000 65536\nlxc.apparmor.profile: unconfined\n\n[s1]\n"
    );
    conf.replace_lxc(
        "lxc.idmap",
        &["u 0 200000 65536", "g 0 200000 65536", "u 1000 1000 1"],
    )
    .unwrap();
    assert_eq!(
        conf.render(),
        "memory: 1\nlxc.idmap = u 0 200000 65536\nlxc.idmap: g 0 200000 65536\nlxc.idmap: u 1000 1000 1\nlxc.apparmor.profile: unconfined\n\n[s1]\n"
    );
    assert_eq!(conf.remove_lxc("lxc.idmap"), 3);
    assert_eq!(
        conf.render(),
        "memory: 1\nlxc.apparmor.profile: unconfined\n\n[s1]\n"
    );
}

#[test]
fn description_round_trip() {
    let mut conf = parse("#Owner%3A me 100%25 %C3%A4\ndescription: more%0A\nmemory: 1\n");
    assert_eq!(
        conf.description().as_deref(),
        Some("Owner: me 100% ä\nmore\n")
    );
    conf.set_description("line 1\nsecond: ü\n");
    assert_eq!(conf.render(), "#line 1\n#second%3A %C3%BC\nmemory: 1\n");
    assert_eq!(conf.description().as_deref(), Some("line 1\nsecond: ü\n"));
    conf.set_description("");
    assert_eq!(conf.render(), "memory: 1\n");
    assert_eq!(conf.description(), None);
    let mut snap = parse("[s1]\nsnaptime: 1\n");
    snap.snapshot_mut("s1").unwrap().set_description("x");
    assert_eq!(snap.render(), "[s1]\n#x\nsnaptime: 1\n");
}

#[test]
fn new_sections_go_at_the_end_with_a_blank_line() {
    let mut conf = parse("memory: 1");
    conf.pending_mut().set("delete", "swap").unwrap();
    conf.snapshot_mut("s1")
        .unwrap()
        .set("snaptime", "5")
        .unwrap();
    assert_eq!(
        conf.render(),
        "memory: 1\n\n[pve:pending]\ndelete: swap\n\n[s1]\nsnaptime: 5\n"
    );
    assert!(conf.remove_section("pve:pending"));
    assert_eq!(conf.render(), "memory: 1\n\n[s1]\nsnaptime: 5\n");
    assert!(conf.remove_section("s1"));
    assert!(!conf.remove_section("s1"));
    assert_eq!(conf.render(), "memory: 1\n");
    let mut empty = CtConf::new();
    empty.snapshot_mut("s1").unwrap();
    assert_eq!(empty.render(), "[s1]\n");
}

#[test]
fn edits_keep_warnings_current() {
    let mut conf = parse("FOO\n");
    assert_eq!(conf.warnings().len(), 1);
    conf.set("bogus", "1").unwrap();
    let texts: Vec<_> = conf.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "line 1: unable to parse config: FOO",
            "line 2: unable to parse value of 'bogus' - unknown setting 'bogus'"
        ]
    );
}

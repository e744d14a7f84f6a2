use super::*;

fn rootfs(files: &[(&str, &str)]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for (p, c) in files {
        let p = t.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    }
    t
}

#[test]
fn os_release_id_first_then_aliases_then_marker_files() {
    let t = rootfs(&[
        ("etc/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\n"),
        ("etc/debian_version", "x"),
    ]);
    assert_eq!(detect(t.path()).unwrap().0, "ubuntu");
    let t = rootfs(&[("etc/os-release", "ID='opensuse-tumbleweed'\n")]);
    assert_eq!(detect(t.path()).unwrap().0, "opensuse");
    let t = rootfs(&[("usr/lib/os-release", "ID=\"arch\"\n")]);
    assert_eq!(detect(t.path()).unwrap().0, "archlinux");
    // an unknown ID warns and falls back to the marker files
    let t = rootfs(&[("etc/os-release", "ID=kali\n"), ("etc/debian_version", "x")]);
    assert_eq!(
        detect(t.path()).unwrap(),
        (
            "debian".into(),
            vec!["unknown ID 'kali' in /etc/os-release file, trying fallback detection".into()]
        )
    );
    let t = rootfs(&[("etc/lsb-release", "DISTRIB_ID=Ubuntu\n")]);
    assert_eq!(detect(t.path()).unwrap().0, "ubuntu");
    let t = rootfs(&[("etc/alpine-release", "3.20\n")]);
    assert_eq!(detect(t.path()).unwrap().0, "alpine");
}

#[test]
fn nothing_matching_is_unmanaged_or_an_error() {
    let t = rootfs(&[("etc/os-release", "ID=plan9\n")]);
    assert_eq!(
        detect(t.path()).unwrap_err(),
        "unable to detect OS distribution"
    );
    let t = rootfs(&[("bin/sh", "")]);
    let (ty, w) = detect(t.path()).unwrap();
    assert_eq!(ty, "unmanaged");
    assert_eq!(
        w,
        ["/etc/os-release file not found and autodetection failed, falling back to 'unmanaged'"]
    );
}

#[test]
fn the_detected_type_wins_over_ostype_but_unmanaged_is_kept() {
    let t = rootfs(&[("etc/os-release", "ID=debian\n")]);
    assert_eq!(
        choose_ostype(t.path(), Some("alpine")).unwrap(),
        (
            "debian".into(),
            vec!["got unexpected ostype (debian != alpine)".into()]
        )
    );
    assert_eq!(
        choose_ostype(t.path(), Some("debian")).unwrap(),
        ("debian".into(), vec![])
    );
    assert_eq!(
        choose_ostype(t.path(), Some("unmanaged")).unwrap().0,
        "unmanaged"
    );
}

#[test]
fn os_release_values_are_read_as_proxmox_reads_them() {
    let v = parse_os_release("# c\nID=\"deb\\\"ian\"\nVERSION_ID='12'\nX=a b\n bad-key=1\n");
    assert_eq!(v["ID"], "deb\"ian");
    assert_eq!(v["VERSION_ID"], "12");
    assert_eq!(v["X"], "a");
    assert!(!v.contains_key("bad-key"));
}

#[test]
fn hosts_gets_a_pve_section_with_the_names() {
    assert_eq!(
        hosts_section(None, "web1.example.com", Some("10.0.0.5"), None),
        "127.0.0.1 localhost.localnet localhost\n::1 localhost.localnet localhost\n10.0.0.5 web1.example.com web1\n"
    );
    let existing = "127.0.0.1 localhost\n";
    assert_eq!(
        hosts_section(Some(existing), "web1", None, Some("lan corp")),
        "::1 localhost.localnet localhost\n127.0.1.1 web1.lan web1.corp web1\n"
    );
    assert_eq!(
        hosts_section(Some(existing), "localhost", None, None),
        "::1 localhost.localnet localhost\n127.0.1.1 localhost\n"
    );
    let once = modify_section(Some(existing), "127.0.1.1 a\n", false).unwrap();
    assert_eq!(
        once,
        "127.0.0.1 localhost\n# --- BEGIN PVE ---\n127.0.1.1 a\n# --- END PVE ---\n"
    );
    // a second run replaces the section in place
    let twice = modify_section(Some(&once), "127.0.1.1 b\n", false).unwrap();
    assert_eq!(
        twice,
        "127.0.0.1 localhost\n# --- BEGIN PVE ---\n127.0.1.1 b\n# --- END PVE ---\n"
    );
    assert_eq!(remove_pve_sections(&twice), "127.0.0.1 localhost");
}

#[test]
fn resolv_conf_from_the_conf_or_the_host() {
    let host = parse_host_resolv(
        "# x\nsearch lan\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n",
    );
    assert_eq!(
        host,
        (
            Some("lan".into()),
            vec!["10.0.0.1".into(), "10.0.0.2".into(), "10.0.0.3".into()]
        )
    );
    let c = CtConf::parse("hostname: a\n").conf;
    assert_eq!(
        resolv_section(&c, &host),
        "search lan\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
    );
    let c = CtConf::parse("nameserver: 1.1.1.1 9.9.9.9\nsearchdomain: example.com\n").conf;
    assert_eq!(
        resolv_section(&c, &host),
        "search example.com\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n"
    );
    // replace: an unmarked file is replaced whole, a marked one keeps the rest
    assert_eq!(
        modify_section(Some("nameserver 8.8.8.8\n"), "nameserver 1.1.1.1\n", true).unwrap(),
        "# --- BEGIN PVE ---\nnameserver 1.1.1.1\n# --- END PVE ---\n"
    );
    assert_eq!(modify_section(None, "", true), None);
}

#[test]
fn apply_writes_hostname_hosts_and_resolv_conf_unless_ignored_or_unmanaged() {
    let t = rootfs(&[
        ("etc/hosts", "127.0.0.1 localhost\n"),
        ("etc/.pve-ignore.resolv.conf", ""),
    ]);
    let me = std::fs::metadata(t.path()).unwrap();
    let _ = me;
    let conf = CtConf::parse("hostname: web1.example.com\nostype: debian\nnet0: name=eth0,bridge=vmbr0,ip=10.0.0.5/24\nnameserver: 1.1.1.1\n").conf;
    apply(t.path(), &conf, &OwnerMap::default(), &(None, vec![])).unwrap();
    let read = |p: &str| std::fs::read_to_string(t.path().join(p)).unwrap();
    assert_eq!(read("etc/hostname"), "web1\n");
    assert!(read("etc/hosts").contains("# --- BEGIN PVE ---\n::1 localhost.localnet localhost\n10.0.0.5 web1.example.com web1\n# --- END PVE ---\n"));
    assert!(!t.path().join("etc/resolv.conf").exists(), "ignored");
    let t = rootfs(&[("etc/hostname", "old\n")]);
    let conf = CtConf::parse("hostname: new\nostype: unmanaged\n").conf;
    apply(t.path(), &conf, &OwnerMap::default(), &(None, vec![])).unwrap();
    assert_eq!(
        std::fs::read_to_string(t.path().join("etc/hostname")).unwrap(),
        "old\n"
    );
}

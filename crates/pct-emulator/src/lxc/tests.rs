use super::*;

fn spec(share: &std::path::Path) -> StartSpec {
    StartSpec {
        vmid: 100,
        arch: "amd64".into(),
        ostype: "debian".into(),
        unprivileged: true,
        raw: vec![],
        hostname: Some("web1".into()),
        memory: 512,
        swap: 512,
        tty: 2,
        nesting: false,
        keyctl: false,
        rootfs: "/r/rpool/data/subvol-100-disk-0".into(),
        nets: vec![NetSpec {
            index: 0,
            name: "eth0".into(),
            bridge: Some("vmbr0".into()),
            hwaddr: Some("BC:24:11:AA:BB:CC".into()),
            ip: Some("10.0.0.5/24".into()),
            gw: Some("10.0.0.1".into()),
            ..NetSpec::default()
        }],
        mounts: vec![MountSpec {
            source: "/r/srv/share".into(),
            target: "/data".into(),
            ro: true,
            file: false,
        }],
        lxc_dir: "/r/var/lib/lxc/100".into(),
        cgroup: CgroupMode::V1 {
            swap_accounting: true,
        },
        lxc_share: share.to_owned(),
    }
}

fn share() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for f in [
        "common.conf",
        "userns.conf",
        "debian.common.conf",
        "debian.userns.conf",
    ] {
        std::fs::write(t.path().join(f), "").unwrap();
    }
    t
}

fn rendered(s: &StartSpec, share: &std::path::Path) -> String {
    render(s).replace(&share.display().to_string(), "/usr/share/lxc/config")
}

#[test]
fn default_unprivileged_ct_gets_the_default_map_only_here() {
    let t = share();
    insta::assert_snapshot!(rendered(&spec(t.path()), t.path()));
}

#[test]
fn custom_idmap_drops_the_default_and_comes_last() {
    let t = share();
    let mut s = spec(t.path());
    s.raw = vec![
        ("lxc.idmap".into(), "u 0 100000 1000".into()),
        ("lxc.idmap".into(), "g 0 100000 1000".into()),
    ];
    s.nets.clear();
    s.mounts.clear();
    s.cgroup = CgroupMode::V2;
    s.nesting = true;
    insta::assert_snapshot!(rendered(&s, t.path()));
}

#[test]
fn privileged_ct_has_no_userns_lines_and_unknown_ostype_falls_back() {
    let t = share();
    let mut s = spec(t.path());
    s.unprivileged = false;
    s.ostype = "nixos".into();
    let out = rendered(&s, t.path());
    assert!(!out.contains("idmap"));
    assert!(!out.contains("userns"));
    assert!(out.contains("lxc.include = /usr/share/lxc/config/common.conf\n"));
}

#[test]
fn seccomp_blocks_keyctl_unless_the_feature_is_on() {
    assert_eq!(
        seccomp_rules("2\ndenylist", false),
        "2\ndenylist\nkeyctl errno 38\n"
    );
    assert_eq!(seccomp_rules("2\ndenylist\n", true), "2\ndenylist\n");
}

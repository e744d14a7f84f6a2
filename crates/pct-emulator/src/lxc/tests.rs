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
        features: Default::default(),
        fuse: None,
        devices: vec![],
        mknod_proxy: None,
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
    s.features.nesting = Some(true);
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
        seccomp_rules("2\ndenylist", false, false),
        "2\ndenylist\nkeyctl errno 38\n"
    );
    assert_eq!(seccomp_rules("2\ndenylist\n", true, false), "2\ndenylist\n");
    let mknod = seccomp_rules("2\ndenylist\n", true, true);
    assert!(
        mknod.ends_with("mknodat notify [2,24576,SCMP_CMP_MASKED_EQ,61440]\n"),
        "{mknod}"
    );
}

#[test]
fn features_and_devices_render_as_update_lxc_config_does() {
    let t = share();
    let mut s = spec(t.path());
    s.nets.clear();
    s.mounts.clear();
    s.features = "nesting=1,fuse=1,mount=nfs;cifs,force_rw_sys=1,mknod=1"
        .parse()
        .unwrap();
    s.fuse = Some("/dev/fuse".into());
    s.mknod_proxy = Some("unix:/run/pve/lxc-syscalld.sock".into());
    s.devices = vec![super::super::devices::DeviceSpec {
        path: "/dev/ttyUSB0".into(),
        kind: 'c',
        major: 188,
        minor: 0,
        mode: 0o660,
        uid: 100_000,
        gid: 100_020,
        deny_write: true,
        node: "/r/var/lib/lxc/100/passthrough/dev/ttyUSB0".into(),
    }];
    insta::assert_snapshot!(rendered(&s, t.path()));
    // v2 host: the cgroup2 key Proxmox writes
    s.cgroup = CgroupMode::V2;
    assert!(rendered(&s, t.path()).contains("lxc.cgroup2.devices.allow = c 188:0 rw\n"));
    // a raw lxc.apparmor.profile overrides every generated AppArmor line
    s.raw = vec![("lxc.apparmor.profile".into(), "unconfined".into())];
    let out = rendered(&s, t.path());
    assert!(
        !out.contains("allow_nesting") && !out.contains("fstype=nfs"),
        "{out}"
    );
    assert!(
        out.contains("lxc.apparmor.raw = mount fstype=fuse,\n"),
        "{out}"
    );
}

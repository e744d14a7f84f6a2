use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn pve1() -> NodeName {
    "pve1".parse().unwrap()
}

/// One line per routed part: the API call, or the reason and the operation as JSON.
pub(crate) fn show(routed: &[Routed]) -> String {
    routed
        .iter()
        .map(|r| match &r.via {
            Via::Api => format!("  api   {}\n", api_call(&r.op, &pve1()).unwrap()),
            Via::NodePath(why) => format!(
                "  node  ({why}) {}\n",
                serde_json::to_string(&r.op).unwrap()
            ),
            Via::Nowhere => format!("  none  {}\n", serde_json::to_string(&r.op).unwrap()),
        })
        .collect()
}

fn ops() -> Vec<(&'static str, Op)> {
    vec![
        (
            "create from a template, nesting only",
            Op::Create {
                vmid: 101,
                ostemplate: "local:vztmpl/x.tar.zst".into(),
                params: map(&[
                    ("hostname", "a"),
                    ("memory", "512"),
                    ("rootfs", "local-zfs:8"),
                    ("features", "nesting=1"),
                    ("unprivileged", "1"),
                ]),
            },
        ),
        (
            "create with a bind mount, a GPU and keyctl",
            Op::Create {
                vmid: 950,
                ostemplate: "local:vztmpl/x.tar.zst".into(),
                params: map(&[
                    ("hostname", "vllm"),
                    ("memory", "8192"),
                    ("rootfs", "local-zfs:32"),
                    ("mp0", "/srv/phoenix/shared,mp=/data/shared"),
                    ("mp1", "local-zfs:10,mp=/models"),
                    ("dev0", "/dev/nvidia0"),
                    ("dev1", "/dev/nvidiactl"),
                    ("features", "keyctl=1,nesting=1"),
                    ("unprivileged", "1"),
                ]),
            },
        ),
        (
            "create of a privileged container with nesting",
            Op::Create {
                vmid: 103,
                ostemplate: "local:vztmpl/x.tar.zst".into(),
                params: map(&[("features", "nesting=1"), ("unprivileged", "0")]),
            },
        ),
        (
            "clone",
            Op::Clone {
                source: 100,
                vmid: 101,
                params: map(&[("hostname", "b"), ("snapname", "tmpl")]),
            },
        ),
        (
            "set with a delete",
            Op::Set {
                vmid: 101,
                params: map(&[("memory", "1024")]),
                delete: vec!["onboot".into()],
            },
        ),
        (
            "set of a device mount and a device delete, an mp delete stays on the API",
            Op::Set {
                vmid: 101,
                params: map(&[("cores", "2"), ("mp2", "/dev/sdb1,mp=/mnt/disk")]),
                delete: vec!["dev3".into(), "mp4".into()],
            },
        ),
        (
            "set of root-only keys only",
            Op::Set {
                vmid: 102,
                params: map(&[("features", "fuse=1,keyctl=1,nesting=1")]),
                delete: vec![],
            },
        ),
        ("start", Op::Start { vmid: 101 }),
        (
            "snapshot",
            Op::Snapshot {
                vmid: 101,
                name: "tmpl".into(),
            },
        ),
        (
            "check storage",
            Op::CheckStorage {
                pools: vec!["local-zfs".into()],
            },
        ),
        (
            "raw lxc lines",
            Op::EditConf {
                vmid: 101,
                path: "/etc/pve/lxc/101.conf".into(),
                managed: BTreeMap::from([("lxc.idmap".into(), vec!["u 0 100000 65536".into()])]),
                removed: vec![],
                added: vec!["lxc.idmap: u 0 100000 65536".into()],
            },
        ),
        (
            "host files",
            Op::SubIds {
                file: "/etc/subuid".into(),
                add: vec!["root:100000:65536".into()],
            },
        ),
        (
            "volume directory",
            Op::EnsureDir {
                path: "/srv/phoenix/shared".into(),
                uid: 101000,
                gid: 101000,
                mode: 0o770,
                set_mode: true,
                differs: vec!["missing".into()],
            },
        ),
        (
            "apparmor",
            Op::AppArmorFile {
                path: "/etc/apparmor.d/lxc/lxc-phoenix-101".into(),
            },
        ),
        (
            "firewall",
            Op::EditFirewall {
                vmid: 101,
                path: "/etc/pve/firewall/101.fw".into(),
                content: "[OPTIONS]\nenable: 1\n".into(),
                removed: vec![],
                added: vec!["enable: 1".into()],
            },
        ),
        (
            "proof",
            Op::ProveMap {
                vmid: 101,
                kind: "uid".into(),
                expect: vec!["0 100000 65536".into()],
            },
        ),
        (
            "script",
            Op::Script {
                vmid: 101,
                script: "app.sh".into(),
                files: vec![],
                inputs: "d1".into(),
            },
        ),
        (
            "note",
            Op::Note {
                text: "nothing to do".into(),
            },
        ),
    ]
}

#[test]
fn every_kind_of_operation_is_routed() {
    let text: String = ops()
        .into_iter()
        .map(|(what, op)| format!("{what}\n{}", show(&route(&op))))
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn api_calls_render_like_the_plan_shows_them() {
    let node = pve1();
    let call = |op: Op| api_call(&op, &node).unwrap();
    assert_eq!(
        call(Op::Create {
            vmid: 101,
            ostemplate: "local:vztmpl/x.tar.zst".into(),
            params: map(&[("memory", "512"), ("hostname", "a")]),
        }),
        "POST /nodes/pve1/lxc vmid=101 ostemplate=local:vztmpl/x.tar.zst hostname=a memory=512"
    );
    assert_eq!(
        call(Op::Clone {
            source: 100,
            vmid: 101,
            params: map(&[("snapname", "tmpl"), ("hostname", "b")]),
        }),
        "POST /nodes/pve1/lxc/100/clone newid=101 hostname=b snapname=tmpl"
    );
    assert_eq!(
        call(Op::Set {
            vmid: 101,
            params: map(&[("memory", "1024")]),
            delete: vec!["onboot".into(), "swap".into()],
        }),
        "PUT /nodes/pve1/lxc/101/config memory=1024 delete=onboot,swap"
    );
    assert_eq!(
        call(Op::Start { vmid: 101 }),
        "POST /nodes/pve1/lxc/101/status/start"
    );
    assert_eq!(
        call(Op::Snapshot {
            vmid: 101,
            name: "tmpl".into()
        }),
        "POST /nodes/pve1/lxc/101/snapshot snapname=tmpl"
    );
    assert_eq!(api_call(&Op::Note { text: "x".into() }, &node), None);
}

#[test]
fn the_features_rule_is_proxmoxs() {
    // New container: nesting=1 alone is allowed, anything else is root's.
    assert!(!features_root_only(None, Some("nesting=1"), true));
    assert!(features_root_only(None, Some("nesting=0"), true));
    assert!(features_root_only(None, Some("keyctl=1,nesting=1"), true));
    // Privileged: every change is root's.
    assert!(features_root_only(None, Some("nesting=1"), false));
    // Existing value: only nesting may differ.
    assert!(!features_root_only(
        Some("keyctl=1,nesting=0"),
        Some("keyctl=1,nesting=1"),
        true
    ));
    assert!(features_root_only(
        Some("keyctl=1,nesting=1"),
        Some("nesting=1"),
        true
    ));
    // Deleting: allowed when the old value was nesting=1 alone.
    assert!(!features_root_only(Some("nesting=1"), None, true));
    assert!(features_root_only(Some("fuse=1"), None, true));
}

#[test]
fn a_set_of_features_with_the_current_value_known_follows_the_rule() {
    let set = Op::Set {
        vmid: 101,
        params: map(&[("features", "keyctl=1,nesting=1")]),
        delete: vec![],
    };
    let current = Current {
        features: Some("keyctl=1".into()),
        unprivileged: true,
    };
    let routed = route_with(&set, Some(&current));
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0].via, Via::Api);
    // Unknown current value: the node path, which is always allowed.
    assert!(matches!(
        route(&set)[0].via,
        Via::NodePath(RootOnly::FeatureFlags { .. })
    ));
}

#[test]
fn reasons_read_as_the_plan_shows_them() {
    let cases = [
        (
            RootOnly::BindMount { key: "mp0".into() },
            "bind mount mp0: root@pam only",
        ),
        (
            RootOnly::DeviceMount { key: "mp1".into() },
            "device mount mp1: root@pam only",
        ),
        (
            RootOnly::Device { key: "dev0".into() },
            "device passthrough dev0: root@pam only",
        ),
        (
            RootOnly::FeatureFlags {
                value: "keyctl=1,nesting=1".into(),
            },
            "feature flags keyctl=1,nesting=1: root@pam only",
        ),
        (
            RootOnly::FeatureFlags {
                value: String::new(),
            },
            "removing feature flags: root@pam only",
        ),
        (RootOnly::RawLxc, "raw lxc.* keys: not in the API"),
        (
            RootOnly::Exec,
            "runs inside the container: pct exec (no API)",
        ),
        (
            RootOnly::HostFile {
                path: "/etc/subuid".into(),
            },
            "host file /etc/subuid: not in the API",
        ),
        (
            RootOnly::HostDir {
                path: "/srv/x".into(),
            },
            "host directory /srv/x: not in the API",
        ),
        (RootOnly::AppArmor, "AppArmor profiles: host files (no API)"),
        (
            RootOnly::Firewall,
            "guest firewall file: edited on the node",
        ),
    ];
    for (why, text) in cases {
        assert_eq!(why.to_string(), text);
    }
}

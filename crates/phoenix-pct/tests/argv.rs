//! The argv of every typed operation, snapshot-tested apart from running it.
//! A change here changes what phoenix runs on a Proxmox host.

use std::collections::BTreeMap;
use std::path::Path;

use phoenix_pct::{
    CloneOptions, CreateOptions, CtOptions, DestroyOptions, Effect, FileOptions, Invocation,
    OsType, SetOptions, ShutdownOptions, SnapshotName, argv,
};
use phoenix_pveconf::Vmid;

fn pct() -> &'static Path {
    Path::new("pct")
}

fn id(n: u32) -> Vmid {
    Vmid::new(n).unwrap()
}

fn snap(s: &str) -> SnapshotName {
    s.parse().unwrap()
}

/// The command line plus its effect, as a reviewer reads it.
fn show(inv: &Invocation) -> String {
    format!("[{}] {}", inv.effect(), inv)
}

fn full_config() -> CtOptions {
    CtOptions {
        hostname: Some("web1".into()),
        description: Some("Owner: me\nsecond line".into()),
        memory: Some(2048),
        swap: Some(512),
        cores: Some(2),
        cpulimit: Some(1.5),
        cpuunits: Some(1024),
        ostype: Some(OsType::Debian),
        arch: Some(phoenix_pct::Arch::Amd64),
        rootfs: Some("local-zfs:8".parse().unwrap()),
        mount_points: BTreeMap::from([
            (0, "/srv/share,mp=/data,ro=1".parse().unwrap()),
            (10, "local-zfs:4,mp=/var/lib/db,backup=1".parse().unwrap()),
            (2, "/srv/logs,mp=/logs".parse().unwrap()),
        ]),
        nets: BTreeMap::from([(
            0,
            "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,hwaddr=BC:24:11:AA:BB:CC,firewall=1"
                .parse()
                .unwrap(),
        )]),
        features: Some("nesting=1,keyctl=1".parse().unwrap()),
        startup: Some("order=2,up=30".parse().unwrap()),
        onboot: Some(true),
        protection: Some(false),
        nameserver: Some("10.0.0.1 1.1.1.1".into()),
        searchdomain: Some("lan".into()),
        tags: Some(vec!["web".into(), "prod".into()]),
        timezone: Some("Europe/Paris".into()),
        other: BTreeMap::from([("hookscript".into(), "local:snippets/hook.pl".into())]),
    }
}

#[test]
fn create_with_every_option() {
    let opts = CreateOptions {
        unprivileged: true,
        config: full_config(),
        storage: Some("local-zfs".into()),
        password: Some("s3cret pass".parse().unwrap()),
        ssh_public_keys: Some("/root/.ssh/authorized_keys".into()),
        start: true,
        pool: Some("web".into()),
    };
    let inv = argv::create(
        pct(),
        id(100),
        "local:vztmpl/phoenix-busybox_amd64.tar.gz",
        &opts,
    );
    assert_eq!(inv.effect(), Effect::Mutation);
    // the password reaches pct but never the transcript
    assert!(inv.arguments().iter().any(|a| a == "s3cret pass"));
    assert!(!format!("{opts:?}").contains("s3cret"));
    insta::assert_snapshot!("create_full", show(&inv));
}

#[test]
fn create_minimal_still_says_unprivileged() {
    let inv = argv::create(pct(), id(100), "/tmp/t.tar.gz", &CreateOptions::default());
    insta::assert_snapshot!("create_minimal", show(&inv));
    let privileged = CreateOptions {
        unprivileged: false,
        ..CreateOptions::default()
    };
    let inv = argv::create(pct(), id(101), "local:vztmpl/x.tar.zst", &privileged);
    insta::assert_snapshot!("create_privileged", show(&inv));
}

#[test]
fn clone_with_every_option() {
    let opts = CloneOptions {
        full: Some(true),
        snapname: Some(snap("before")),
        hostname: Some("web2".into()),
        description: Some("copy of web1".into()),
        storage: Some("local-zfs".into()),
        pool: Some("web".into()),
        target: Some("node2".into()),
    };
    insta::assert_snapshot!(
        "clone_full",
        show(&argv::clone(pct(), id(100), id(200), &opts))
    );
    let linked = CloneOptions {
        full: Some(false),
        ..CloneOptions::default()
    };
    insta::assert_snapshot!(
        "clone_linked",
        show(&argv::clone(pct(), id(900), id(201), &linked))
    );
}

#[test]
fn set_carries_every_change_and_deletes_in_one_call() {
    let opts = SetOptions {
        changes: CtOptions {
            memory: Some(1024),
            onboot: Some(false),
            nets: BTreeMap::from([(1, "name=eth1,bridge=vmbr1,ip=dhcp".parse().unwrap())]),
            ..CtOptions::default()
        },
        delete: vec!["mp0".into(), "features".into()],
        digest: Some("3f2a".into()),
    };
    insta::assert_snapshot!("set", show(&argv::set(pct(), id(100), &opts)));
}

#[test]
fn power_operations() {
    let lines = [
        argv::start(pct(), id(100)),
        argv::stop(pct(), id(100)),
        argv::shutdown(pct(), id(100), &ShutdownOptions::default()),
        argv::shutdown(
            pct(),
            id(100),
            &ShutdownOptions {
                timeout: Some(30),
                force_stop: true,
            },
        ),
    ]
    .iter()
    .map(show)
    .collect::<Vec<_>>()
    .join("\n");
    insta::assert_snapshot!("power", lines);
}

#[test]
fn reads() {
    let lines = [
        argv::status(pct(), id(100)),
        argv::config(pct(), id(100), false, None),
        argv::config(pct(), id(100), true, Some(&snap("before"))),
        argv::list(pct()),
        argv::listsnapshot(pct(), id(100)),
        argv::pvesm_status(Path::new("pvesm")),
    ];
    assert!(lines.iter().all(|i| i.effect() == Effect::Read));
    let lines = lines.iter().map(show).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!("reads", lines);
}

#[test]
fn exec_puts_the_command_after_double_dash() {
    let inv = argv::exec(pct(), id(100), &["sh", "-c", "id -u; echo 'a b'"]);
    assert_eq!(inv.effect(), Effect::Mutation);
    insta::assert_snapshot!("exec", show(&inv));
}

#[test]
fn push_and_pull() {
    let opts = FileOptions {
        user: Some("www-data".into()),
        group: Some("www-data".into()),
        perms: Some(0o644),
    };
    let lines = [
        argv::push(
            pct(),
            id(100),
            Path::new("/tmp/index.html"),
            "/var/www/index.html",
            &opts,
        ),
        argv::push(
            pct(),
            id(100),
            Path::new("/tmp/a"),
            "/a",
            &FileOptions::default(),
        ),
        argv::pull(
            pct(),
            id(100),
            "/etc/hostname",
            Path::new("/tmp/hostname"),
            &opts,
        ),
    ]
    .iter()
    .map(show)
    .collect::<Vec<_>>()
    .join("\n");
    insta::assert_snapshot!("push_pull", lines);
}

#[test]
fn snapshots_and_lifecycle() {
    let lines = [
        argv::snapshot(pct(), id(100), &snap("before"), Some("before the upgrade")),
        argv::snapshot(pct(), id(100), &snap("plain"), None),
        argv::delsnapshot(pct(), id(100), &snap("before"), false),
        argv::delsnapshot(pct(), id(100), &snap("before"), true),
        argv::rollback(pct(), id(100), &snap("before"), false),
        argv::rollback(pct(), id(100), &snap("before"), true),
        argv::destroy(pct(), id(100), &DestroyOptions::default()),
        argv::destroy(
            pct(),
            id(100),
            &DestroyOptions {
                purge: true,
                force: true,
            },
        ),
        argv::template(pct(), id(100)),
        argv::unlock(pct(), id(100)),
        argv::resize(pct(), id(100), "rootfs", "+2G"),
    ]
    .iter()
    .map(show)
    .collect::<Vec<_>>()
    .join("\n");
    insta::assert_snapshot!("snapshots_lifecycle", lines);
}

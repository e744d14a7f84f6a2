//! Issue 4's "Done when", against real LXC through the typed wrapper. Each test has its
//! own root and its own CT ids (veth names are global); a guard kills its containers.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use common::{Env, exec_out, need_lxc, vmid};
use phoenix_pct::{
    CloneOptions, CtOptions, CtStatus, FileOptions, PctError, SetOptions, SnapshotName,
};

fn other(pairs: &[(&str, &str)]) -> CtOptions {
    CtOptions {
        other: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ..CtOptions::default()
    }
}

#[test]
fn unprivileged_ct_is_root_inside_and_100000_on_the_host() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9100], &["phxemu0"]);
    std::fs::write(
        env.path("/keys.pub"),
        "ssh-ed25519 AAAAC3Nza test@phoenix\n",
    )
    .unwrap();
    let opts = phoenix_pct::CreateOptions {
        config: CtOptions {
            hostname: Some("web1".into()),
            rootfs: Some("local-zfs:1".parse().unwrap()),
            ..other(&[(
                "net0",
                "name=eth0,bridge=phxemu0,ip=10.213.0.5/24,gw=10.213.0.1",
            )])
        },
        ssh_public_keys: Some("/keys.pub".into()),
        ..phoenix_pct::CreateOptions::default()
    };
    env.pct.create(vmid(9100), common::TEMPLATE, &opts).unwrap();
    let keys =
        std::fs::metadata(env.path("/rpool/data/subvol-9100-disk-0/root/.ssh/authorized_keys"))
            .unwrap();
    assert_eq!((keys.uid(), keys.mode() & 0o777), (100_000, 0o600));
    let conf = env.conf(9100);
    for line in [
        "unprivileged: 1",
        "ostype: debian",
        "arch: amd64",
        "memory: 512",
        "swap: 512",
        "hostname: web1",
    ] {
        assert!(
            conf.lines().any(|l| l == line),
            "{line} missing from:\n{conf}"
        );
    }
    assert!(
        conf.contains("rootfs: local-zfs:subvol-9100-disk-0,size=1G"),
        "{conf}"
    );
    // the template's files are owned by the mapped root on the host
    let etc = std::fs::metadata(env.path("/rpool/data/subvol-9100-disk-0/etc/passwd")).unwrap();
    assert_eq!((etc.uid(), etc.gid()), (100_000, 100_000));

    env.pct.start(vmid(9100)).unwrap();
    assert_eq!(env.pct.status(vmid(9100)).unwrap(), CtStatus::Running);
    assert_eq!(exec_out(&env, 9100, &["id", "-u"]), (0, "0\n".into()));
    assert_eq!(env.init_uid(9100), 100_000);
    assert_eq!(exec_out(&env, 9100, &["sh", "-c", "exit 7"]).0, 7);
    // a real veth on the bridge the emulator created, with the conf's address
    assert!(std::path::Path::new("/sys/class/net/veth9100i0").exists());
    assert!(std::path::Path::new("/sys/class/net/phxemu0/bridge").exists());
    assert!(
        exec_out(&env, 9100, &["ip", "-4", "addr", "show", "eth0"])
            .1
            .contains("10.213.0.5/24")
    );
    // the default map is only in the generated config, never in the conf
    let generated = std::fs::read_to_string(env.path("/var/lib/lxc/9100/config")).unwrap();
    assert!(generated.contains("lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n"));
    env.pct.stop(vmid(9100)).unwrap();
    assert_eq!(env.pct.status(vmid(9100)).unwrap(), CtStatus::Stopped);
    assert!(!env.conf(9100).contains("lxc.idmap"));
    assert!(!env.raw(&["config", "9100"]).1.contains("idmap"));
}

#[test]
fn bind_mount_is_root_owned_inside_and_files_written_there_are_100000_outside() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9200], &[]);
    env.create(9200, CtOptions::default());
    let share = env.path("/srv/share");
    std::fs::create_dir_all(&share).unwrap();
    std::os::unix::fs::chown(&share, Some(100_000), Some(100_000)).unwrap();
    let set = SetOptions {
        changes: other(&[("mp0", "/srv/share,mp=/data")]),
        ..SetOptions::default()
    };
    env.pct.set(vmid(9200), &set).unwrap();
    env.pct.start(vmid(9200)).unwrap();
    assert_eq!(
        exec_out(&env, 9200, &["stat", "-c", "%u:%g", "/data"]),
        (0, "0:0\n".into())
    );
    assert_eq!(exec_out(&env, 9200, &["touch", "/data/inside"]).0, 0);
    let meta = std::fs::metadata(share.join("inside")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (100_000, 100_000));

    // push: written as the CT's user 1 with the given mode, so host uid 100001
    std::fs::write(env.path("/tmp-in.txt"), "pushed\n").unwrap();
    let opts = FileOptions {
        user: Some("1".into()),
        group: Some("1".into()),
        perms: Some(0o600),
    };
    env.pct
        .push(
            vmid(9200),
            std::path::Path::new("/tmp-in.txt"),
            "/root/pushed",
            &opts,
        )
        .unwrap();
    let pushed = std::fs::metadata(env.path("/rpool/data/subvol-9200-disk-0/root/pushed")).unwrap();
    assert_eq!(
        (pushed.uid(), pushed.gid(), pushed.mode() & 0o777),
        (100_001, 100_001, 0o600)
    );
    env.pct
        .pull(
            vmid(9200),
            "/root/pushed",
            std::path::Path::new("/pulled.txt"),
            &FileOptions::default(),
        )
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(env.path("/pulled.txt")).unwrap(),
        "pushed\n"
    );
    // on a running CT memory is hot-plugged, features wait in [pve:pending]
    let change = SetOptions {
        changes: CtOptions {
            memory: Some(256),
            features: Some("nesting=1".parse().unwrap()),
            ..CtOptions::default()
        },
        ..SetOptions::default()
    };
    env.pct.set(vmid(9200), &change).unwrap();
    assert_eq!(env.memory_limit(9200), 256 << 20);
    let conf = env.conf(9200);
    assert!(
        conf.contains("memory: 256\n") && conf.contains("\n[pve:pending]\nfeatures: nesting=1\n"),
        "{conf}"
    );
    env.pct.stop(vmid(9200)).unwrap();
    // every stop applies pending changes and rewrites the conf
    let conf = env.conf(9200);
    assert!(
        conf.contains("features: nesting=1\n") && !conf.contains("pve:pending"),
        "{conf}"
    );
    // push to a stopped CT is refused before any worker: non-zero
    let (code, _, err) = env.raw(&["push", "9200", "/tmp-in.txt", "/root/x"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "can only push files to a running CT\n")
    );
    assert!(
        env.pct
            .push(
                vmid(9200),
                std::path::Path::new("/tmp-in.txt"),
                "/root/x",
                &FileOptions::default()
            )
            .is_err()
    );
}

#[test]
fn snapshot_clone_template_and_linked_clone() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9300, 9301, 9302], &[]);
    env.create(
        9300,
        CtOptions {
            hostname: Some("base".into()),
            ..CtOptions::default()
        },
    );
    let s1: SnapshotName = "s1".parse().unwrap();
    std::fs::write(
        env.path("/rpool/data/subvol-9300-disk-0/root/marker"),
        "before",
    )
    .unwrap();
    env.pct.snapshot(vmid(9300), &s1, Some("first")).unwrap();
    std::fs::write(
        env.path("/rpool/data/subvol-9300-disk-0/root/marker"),
        "after",
    )
    .unwrap();
    assert!(env.conf(9300).contains("parent: s1\n"));
    assert!(env.conf(9300).contains("\n[s1]\n#first\n"));
    let snaps = env.pct.listsnapshot(vmid(9300)).unwrap();
    assert_eq!(snaps.len(), 2);

    // rollback restores the files; ZFS only rolls back to the newest snapshot
    let marker_path = env.path("/rpool/data/subvol-9300-disk-0/root/marker");
    env.pct.rollback(vmid(9300), &s1, false).unwrap();
    assert_eq!(std::fs::read_to_string(&marker_path).unwrap(), "before");
    assert_eq!(
        std::fs::metadata(&marker_path).unwrap().uid(),
        0,
        "the test wrote it as host root"
    );
    let s2: SnapshotName = "s2".parse().unwrap();
    env.pct.snapshot(vmid(9300), &s2, None).unwrap();
    let (code, _, err) = env.raw(&["rollback", "9300", "s1"]);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "can't rollback, 's1' is not most recent snapshot on 'subvol-9300-disk-0'\n"
        )
    );
    env.pct.delsnapshot(vmid(9300), &s2, false).unwrap();
    assert!(!env.conf(9300).contains("[s2]"));
    std::fs::write(&marker_path, "after").unwrap();

    // a full clone from the snapshot gets the snapshot's files
    let from_snap = CloneOptions {
        snapname: Some(s1.clone()),
        hostname: Some("fromsnap".into()),
        ..CloneOptions::default()
    };
    env.pct
        .clone_ct(vmid(9300), vmid(9301), &from_snap)
        .unwrap();
    let c = env.conf(9301);
    assert!(
        c.contains("hostname: fromsnap") && c.contains("unprivileged: 1") && !c.contains("parent:"),
        "{c}"
    );
    let marker = env.path("/rpool/data/subvol-9301-disk-0/root/marker");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "before");
    assert_eq!(
        std::fs::metadata(env.path("/rpool/data/subvol-9301-disk-0/etc"))
            .unwrap()
            .uid(),
        100_000
    );

    // template: refused while snapshots exist, then base volumes
    let (code, _, err) = env.raw(&["template", "9300"]);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "unable to create template, because CT contains snapshots\n"
        )
    );
    env.pct.delsnapshot(vmid(9300), &s1, false).unwrap();
    env.pct.template(vmid(9300)).unwrap();
    let t = env.conf(9300);
    assert!(
        t.contains("template: 1") && t.contains("rootfs: local-zfs:base-9300-disk-0,size=1G"),
        "{t}"
    );
    assert!(matches!(
        env.pct.start(vmid(9300)),
        Err(PctError::CommandFailed { .. })
    ));

    // a clone of a template is linked by default
    env.pct
        .clone_ct(
            vmid(9300),
            vmid(9302),
            &CloneOptions {
                hostname: Some("linked".into()),
                ..CloneOptions::default()
            },
        )
        .unwrap();
    assert!(
        env.conf(9302)
            .contains("rootfs: local-zfs:base-9300-disk-0/subvol-9302-disk-0,size=1G")
    );
    env.pct.start(vmid(9302)).unwrap();
    assert_eq!(exec_out(&env, 9302, &["id", "-u"]), (0, "0\n".into()));
    assert_eq!(env.init_uid(9302), 100_000);
    // start writes the clone's new hostname into the guest
    assert_eq!(
        exec_out(&env, 9302, &["cat", "/etc/hostname"]),
        (0, "linked\n".into())
    );
    env.pct.stop(vmid(9302)).unwrap();
    let (code, _, err) = env.raw(&["destroy", "9300"]);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "base volume 'base-9300-disk-0' is still in use by linked clones\n"
        )
    );
}

#[test]
fn error_cases_give_proxmox_messages_and_exit_codes() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9400, 9401], &[]);
    env.create(9400, CtOptions::default());

    let (code, _, err) = env.raw(&[
        "create",
        "9400",
        common::TEMPLATE,
        "--rootfs",
        "local-zfs:1",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (255, "CT 9400 already exists on node 'pve'\n")
    );
    let again = phoenix_pct::CreateOptions::default();
    assert!(matches!(
        env.pct.create(vmid(9400), common::TEMPLATE, &again),
        Err(PctError::AlreadyExists { .. })
    ));

    let (code, _, err) = env.raw(&["status", "9499"]);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "Configuration file 'nodes/pve/lxc/9499.conf' does not exist\n"
        )
    );
    assert!(matches!(
        env.pct.status(vmid(9499)),
        Err(PctError::NotFound { .. })
    ));

    let (code, _, err) = env.raw(&["set", "9400", "--unprivileged", "0"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "unable to modify read-only option: 'unprivileged'\n")
    );
    let ro = SetOptions {
        changes: other(&[("unprivileged", "0")]),
        ..SetOptions::default()
    };
    assert!(matches!(
        env.pct.set(vmid(9400), &ro),
        Err(PctError::ReadOnlyOption { .. })
    ));
    let (code, _, err) = env.raw(&["clone", "9400", "9401", "--unprivileged", "0"]);
    assert_eq!(code, 255);
    assert!(
        err.starts_with("Unknown option: unprivileged\n400 unable to parse option\n"),
        "{err}"
    );

    let (code, _, err) = env.raw(&["exec", "9400", "--", "id"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "container '9400' not running!\n")
    );
    assert!(matches!(
        env.pct.exec(vmid(9400), &["id"]),
        Err(PctError::NotRunning { .. })
    ));

    // bind mounts block snapshot, clone and template
    std::fs::create_dir_all(env.path("/srv/b")).unwrap();
    let bind = SetOptions {
        changes: other(&[("mp0", "/srv/b,mp=/b")]),
        ..SetOptions::default()
    };
    env.pct.set(vmid(9400), &bind).unwrap();
    let (code, _, err) = env.raw(&["snapshot", "9400", "s1"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "snapshot feature is not available\n")
    );
    let (code, _, err) = env.raw(&["clone", "9400", "9401"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "unable to clone mountpoint 'mp0' (type bind)\n")
    );
    let (code, _, err) = env.raw(&["template", "9400"]);
    assert_eq!(
        (code, err.as_str()),
        (0, "Template feature is not available for '/srv/b'\n")
    );
    assert!(env.pct.template(vmid(9400)).is_err());
    assert!(!std::path::Path::new(&env.path("/etc/pve/lxc/9401.conf")).exists());

    // a lock blocks start, stop and set; unlock lifts it
    let lock = SetOptions {
        changes: other(&[("lock", "backup")]),
        ..SetOptions::default()
    };
    env.pct.set(vmid(9400), &lock).unwrap();
    let (code, _, err) = env.raw(&["start", "9400"]);
    assert_eq!((code, err.as_str()), (255, "CT is locked (backup)\n"));
    assert!(matches!(
        env.pct.start(vmid(9400)),
        Err(PctError::Locked { .. })
    ));
    assert_eq!(env.raw(&["unlock", "9400"]).0, 0);
    env.pct.start(vmid(9400)).unwrap();
    let (code, _, err) = env.raw(&["start", "9400"]);
    assert_eq!((code, err.as_str()), (255, "CT 9400 already running\n"));
    env.pct.stop(vmid(9400)).unwrap();
    let (code, _, err) = env.raw(&["stop", "9400"]);
    assert_eq!((code, err.as_str()), (255, "CT 9400 not running\n"));
}

//! `diagnose` against a temporary root with fake host files and a RecordingRunner:
//! the JSON report is snapshotted, one case per host shape.

use std::path::Path;

use camino::Utf8Path;
use phoenix_doctor::{FleetSource, Report, RootHost, Verdict, diagnose};
use phoenix_pct::{Output, Pattern, RecordingRunner};

const PVESM_STATUS: &str =
    "Name             Type     Status           Total            Used       Available        %
local             dir     active        98497780        10365212        83083020   10.52%
local-zfs     zfspool     active       459652868        12345678       447307190    2.69%
";

const STORAGE_CFG: &str = "dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

zfspool: local-zfs
\tpool rpool/data
\tsparse
\tcontent images,rootdir
";

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A Proxmox VE 8 host: cgroup v2, AppArmor, ZFS 2.1, bridge vmbr0, root's default range.
fn proxmox_root() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(
        r,
        "/sys/fs/cgroup/cgroup.controllers",
        "cpuset cpu io memory pids\n",
    );
    write(r, "/sys/module/apparmor/parameters/enabled", "Y\n");
    write(r, "/sys/module/zfs/version", "2.1.15-pve1\n");
    std::fs::create_dir_all(r.join("sys/class/net/vmbr0/bridge")).unwrap();
    std::fs::create_dir_all(r.join("sys/class/net/eno1")).unwrap();
    write(r, "/etc/pve/storage.cfg", STORAGE_CFG);
    write(r, "/etc/subuid", "root:100000:65536\n");
    write(r, "/etc/subgid", "root:100000:65536\n");
    t
}

fn proxmox_runner(lxc_pve: &str) -> RecordingRunner {
    RecordingRunner::new()
        .answer(
            Pattern::exact(["pveversion"]),
            Output::ok("pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.12-1-pve)\n"),
        )
        .answer(
            Pattern::exact(["uname", "-r"]),
            Output::ok("6.8.12-1-pve\n"),
        )
        .answer(
            Pattern::exact(["dpkg-query", "-W", "-f=${Version}", "lxc-pve"]),
            Output::ok(lxc_pve.to_owned()),
        )
        .answer(
            Pattern::exact(["pvesm", "status"]),
            Output::ok(PVESM_STATUS),
        )
}

fn example_fleet() -> phoenix_doctor::Fleet {
    let dir = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
    phoenix_config::load_dir(&dir).unwrap().fleet
}

fn verdict(r: &Report, name: &str) -> Verdict {
    r.checks.iter().find(|c| c.name == name).unwrap().verdict
}

#[test]
fn proxmox_host_with_old_lxc_pve_and_zfs_and_the_example_fleet() {
    let root = proxmox_root();
    let runner = proxmox_runner("6.0.0-1");
    let fleet = example_fleet();
    let source = FleetSource::Loaded {
        dir: "fixtures/example".into(),
        fleet: &fleet,
    };
    let report = diagnose(
        &RootHost::new(root.path(), &runner, Some("pvesm".into())),
        &source,
    );
    assert!(!report.failed());
    assert_eq!(verdict(&report, "lxc-pve"), Verdict::Warn);
    assert_eq!(verdict(&report, "zfs"), Verdict::Warn);
    // CT 102 and 950 map host uid/gid 1000, which root:100000:65536 does not cover.
    assert_eq!(verdict(&report, "subid"), Verdict::Warn);
    insta::assert_json_snapshot!(report);
    insta::assert_snapshot!(runner.transcript(), @r"
    pvesm status
    pveversion
    uname -r
    dpkg-query -W '-f=${Version}' lxc-pve
    ");
}

#[test]
fn current_proxmox_host_is_all_ok_for_the_example_fleet() {
    let root = proxmox_root();
    write(root.path(), "/sys/module/zfs/version", "2.2.6-pve1\n");
    write(
        root.path(),
        "/etc/subuid",
        "root:100000:65536\nroot:1000:1\n",
    );
    write(
        root.path(),
        "/etc/subgid",
        "root:100000:65536\nroot:1000:1\n",
    );
    let runner = proxmox_runner("6.0.5-2");
    let fleet = example_fleet();
    let source = FleetSource::Loaded {
        dir: "fixtures/example".into(),
        fleet: &fleet,
    };
    let report = diagnose(
        &RootHost::new(root.path(), &runner, Some("pvesm".into())),
        &source,
    );
    let not_ok: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Ok)
        .collect();
    assert!(not_ok.is_empty(), "{not_ok:#?}");
    assert_eq!(report.verdict, Verdict::Ok);
}

#[test]
fn missing_bridge_and_pool_of_the_fleet_fail() {
    let root = proxmox_root();
    std::fs::remove_dir_all(root.path().join("sys/class/net/vmbr0")).unwrap();
    // A host whose pvesm lists only `local`.
    let runner = RecordingRunner::new()
        .answer(
            Pattern::exact(["pvesm", "status"]),
            Output::ok(PVESM_STATUS.lines().take(2).collect::<Vec<_>>().join("\n") + "\n"),
        )
        .answer(
            Pattern::prefix(["pveversion"]),
            Output::ok("pve-manager/8.2.4/x\n"),
        )
        .answer(
            Pattern::exact(["uname", "-r"]),
            Output::ok("6.8.12-1-pve\n"),
        )
        .answer(Pattern::prefix(["dpkg-query"]), Output::ok("6.0.5-2"));
    let fleet = example_fleet();
    let source = FleetSource::Loaded {
        dir: "fixtures/example".into(),
        fleet: &fleet,
    };
    let report = diagnose(
        &RootHost::new(root.path(), &runner, Some("pvesm".into())),
        &source,
    );
    assert!(report.failed());
    let reason = |name: &str| {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .reason
            .clone()
    };
    assert_eq!(verdict(&report, "bridges"), Verdict::Fail);
    assert_eq!(
        reason("bridges"),
        "missing 'vmbr0' (CT 101, 102, 900, 901, 902, 950): pct start fails with \"bridge '<name>' does not exist\""
    );
    assert_eq!(verdict(&report, "storage"), Verdict::Fail);
    assert_eq!(
        reason("storage"),
        "pool 'local-zfs' of CT 101, 102, 900, 901, 902, 950 does not exist"
    );
}

#[test]
fn emulator_host_without_a_fleet() {
    // What this machine looks like: no pveversion, cgroup v1 (hybrid), no AppArmor, no ZFS.
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    std::fs::create_dir_all(r.join("sys/fs/cgroup/unified")).unwrap();
    std::fs::create_dir_all(r.join("sys/fs/cgroup/memory")).unwrap();
    std::fs::create_dir_all(r.join("sys/class/net/phxemu0/bridge")).unwrap();
    write(r, "/etc/subuid", "root:100000:65536\n");
    write(r, "/etc/subgid", "garbage\n");
    let runner = RecordingRunner::new()
        .answer(Pattern::exact(["uname", "-r"]), Output::ok("6.18.44\n"))
        .answer(
            Pattern::exact(["dpkg-query", "-W", "-f=${Version}", "lxc-pve"]),
            Output::failed(1, "dpkg-query: no packages found matching lxc-pve\n"),
        )
        .answer(
            Pattern::exact(["lxc-start", "--version"]),
            Output::ok("5.0.2\n"),
        )
        .answer(
            Pattern::exact(["pvesm", "status"]),
            Output::ok(PVESM_STATUS.to_owned()),
        );
    let report = diagnose(
        &RootHost::new(r, &runner, Some("pvesm".into())),
        &FleetSource::Missing("/usr/local/phoenix_hypervisor/etc".into()),
    );
    insta::assert_json_snapshot!(report);
    assert!(report.failed(), "an unparsable /etc/subgid fails");
}

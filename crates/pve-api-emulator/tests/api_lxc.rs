//! A real container through the API (root and LXC needed; ids 8880-8899): created and
//! started on pve2, seen running there by /cluster/resources, its conf
//! replicated to pve1's /etc/pve; then made a template,
//! cloned, the clone snapshotted, and both destroyed.

mod common;

use std::process::Command;

use common::Emu;
use phoenix_testkit::{Need, require};

const ID: u32 = 8880;
const CLONE: u32 = 8881;

/// Kills the container whatever happens (the emulator itself is killed by `Emu`'s drop).
struct Guard<'a>(&'a Emu);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let lxcpath = self.0.node_root("pve2").join("var/lib/lxc");
        for id in [ID, CLONE] {
            let _ = Command::new("lxc-stop")
                .arg("-P")
                .arg(&lxcpath)
                .args(["-n", &id.to_string(), "-k"])
                .output();
        }
    }
}

#[test]
fn a_container_created_on_pve2_runs_there_and_its_conf_reaches_pve1() {
    if !require(&[
        Need::Root,
        Need::Command("lxc-start"),
        Need::Command("lxc-attach"),
        Need::Command("newuidmap"),
        Need::Command("busybox"),
    ]) {
        return;
    }
    let emu = Emu::start(&[]);
    let _guard = Guard(&emu);
    let id = ID.to_string();
    let (exit, log) = emu.task(
        "pve2",
        "POST",
        "/api2/json/nodes/pve2/lxc",
        &[
            ("vmid", &id),
            ("ostemplate", common::TEMPLATE),
            ("rootfs", "local-zfs:1"),
            ("memory", "64"),
            ("cores", "1"),
            ("hostname", "ct8880"),
            ("unprivileged", "1"),
        ],
    );
    assert_eq!(exit, "OK", "{log:?}");
    let (exit, log) = emu.task(
        "pve2",
        "POST",
        &format!("/api2/json/nodes/pve2/lxc/{id}/status/start"),
        &[],
    );
    assert_eq!(exit, "OK", "{log:?}");

    let vms = emu.ok("GET", "/api2/json/cluster/resources?type=vm", &[]);
    let ct = vms
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["vmid"] == ID)
        .unwrap_or_else(|| panic!("{vms}"));
    assert_eq!(ct["node"], "pve2");
    assert_eq!(ct["status"], "running");
    assert_eq!(ct["name"], "ct8880");
    let nodes = emu.ok("GET", "/api2/json/cluster/resources?type=node", &[]);
    assert_eq!(
        nodes[1]["mem"],
        64u64 << 20,
        "a running CT counts on its node"
    );
    assert_eq!(nodes[0]["mem"], 0);

    let own = emu
        .node_root("pve2")
        .join(format!("etc/pve/nodes/pve2/lxc/{id}.conf"));
    let copy = emu
        .node_root("pve1")
        .join(format!("etc/pve/nodes/pve2/lxc/{id}.conf"));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&own).unwrap());
    let config = emu.ok(
        "GET",
        &format!("/api2/json/nodes/pve2/lxc/{id}/config"),
        &[],
    );
    assert_eq!(config["hostname"], "ct8880");
    assert_eq!(
        config["digest"],
        phoenix_pveconf::conf::Digest::of(&std::fs::read(&own).unwrap()).to_string()
    );

    let (exit, _) = emu.task(
        "pve2",
        "POST",
        &format!("/api2/json/nodes/pve2/lxc/{id}/status/stop"),
        &[],
    );
    assert_eq!(exit, "OK");
    let (exit, log) = emu.task(
        "pve2",
        "POST",
        &format!("/api2/json/nodes/pve2/lxc/{id}/template"),
        &[],
    );
    assert_eq!(exit, "OK", "{log:?}");
    let clone = CLONE.to_string();
    let (exit, log) = emu.task(
        "pve2",
        "POST",
        &format!("/api2/json/nodes/pve2/lxc/{id}/clone"),
        &[("newid", &clone), ("hostname", "ct8881")],
    );
    assert_eq!(exit, "OK", "{log:?}");
    let config = emu.ok(
        "GET",
        &format!("/api2/json/nodes/pve2/lxc/{clone}/config"),
        &[],
    );
    assert_eq!(config["hostname"], "ct8881");
    assert!(
        emu.node_root("pve1")
            .join(format!("etc/pve/nodes/pve2/lxc/{clone}.conf"))
            .is_file()
    );
    let (exit, log) = emu.task(
        "pve2",
        "POST",
        &format!("/api2/json/nodes/pve2/lxc/{clone}/snapshot"),
        &[("snapname", "s1"), ("description", "first")],
    );
    assert_eq!(exit, "OK", "{log:?}");
    let snaps = emu.ok(
        "GET",
        &format!("/api2/json/nodes/pve2/lxc/{clone}/snapshot"),
        &[],
    );
    assert_eq!(snaps[0]["name"], "s1");
    assert!(snaps[0]["snaptime"].as_u64().is_some());
    assert_eq!(snaps[1]["name"], "current");
    assert_eq!(snaps[1]["parent"], "s1");
    let vms = emu.ok("GET", "/api2/json/nodes/pve2/lxc", &[]);
    assert_eq!(pve_api_emulator::api::vmids(&vms).len(), 2);
    for ct in [&clone, &id] {
        let (exit, log) = emu.task(
            "pve2",
            "DELETE",
            &format!("/api2/json/nodes/pve2/lxc/{ct}"),
            &[],
        );
        assert_eq!(exit, "OK", "{log:?}");
    }
    emu.ok("GET", "/api2/json/version", &[]);
    assert!(!own.exists());
    assert!(!copy.exists(), "the copy goes with the owner's conf");
    assert_eq!(
        emu.ok("GET", "/api2/json/cluster/resources?type=vm", &[]),
        serde_json::json!([])
    );
}

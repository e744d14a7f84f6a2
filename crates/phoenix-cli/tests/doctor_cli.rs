//! `phoenix doctor` on the real binary under a temporary `--root` with fake host files
//! (its own `sys/`, so kernel state is read there too) and a stand-in `pvesm`.
//! `uname`, `pveversion` and `dpkg-query` run for real, so only the file-based checks
//! are snapshotted.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A fake Proxmox host root; `pvesm` is a script printing a `pvesm status` table.
fn fake_root(t: &Path) -> (PathBuf, PathBuf) {
    let root = t.join("root");
    write(
        &root,
        "/sys/fs/cgroup/cgroup.controllers",
        "cpu memory pids\n",
    );
    write(&root, "/sys/module/apparmor/parameters/enabled", "Y\n");
    write(&root, "/sys/module/zfs/version", "2.2.6-pve1\n");
    std::fs::create_dir_all(root.join("sys/class/net/vmbr1/bridge")).unwrap();
    write(
        &root,
        "/etc/pve/storage.cfg",
        "zfspool: local-zfs\n\tpool rpool/data\n\tcontent images,rootdir\n",
    );
    write(&root, "/etc/subuid", "root:100000:65536\nroot:1000:1\n");
    write(&root, "/etc/subgid", "root:100000:65536\nroot:1000:1\n");
    let pvesm = t.join("pvesm");
    std::fs::write(
        &pvesm,
        "#!/bin/sh\necho 'Name             Type     Status           Total            Used       Available        %'\necho 'local-zfs     zfspool     active       459652868        12345678       447307190    2.69%'\n",
    )
    .unwrap();
    std::fs::set_permissions(&pvesm, std::fs::Permissions::from_mode(0o755)).unwrap();
    (root, pvesm)
}

fn doctor(root: &Path, pvesm: &Path, config_dir: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_phoenix"))
        .arg("--root")
        .arg(root)
        .arg("--pvesm")
        .arg(pvesm)
        .arg("--config-dir")
        .arg(config_dir)
        .args(["doctor", "-o", "json"])
        .env_remove("PHOENIX_CONFIG_DIR")
        .env_remove("PHOENIX_ROOT")
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn file_checks(json: &Value) -> Vec<Value> {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !["pve", "kernel", "lxc-pve"].contains(&c["name"].as_str().unwrap()))
        .cloned()
        .collect()
}

#[test]
fn the_example_fleet_on_a_host_without_its_bridge_fails_with_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let (root, pvesm) = fake_root(t.path());
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
    let (code, json) = doctor(&root, &pvesm, &fleet);
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["verdict"], "fail");
    let mut checks = file_checks(&json);
    // The fleet's directory is an absolute path of this checkout.
    checks.last_mut().unwrap()["value"] = "6 container(s) in fixtures/example".into();
    insta::assert_json_snapshot!(checks);
}

#[test]
fn without_a_fleet_the_host_facts_alone_pass() {
    let t = tempfile::tempdir().unwrap();
    let (root, pvesm) = fake_root(t.path());
    let (code, json) = doctor(&root, &pvesm, &t.path().join("no-such-dir"));
    let failed: Vec<&Value> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(code, 0);
    let fleet = file_checks(&json).pop().unwrap();
    assert_eq!(fleet["verdict"], "warn");
}

//! End-to-end: the nvidia feature on a REAL unprivileged Debian 12 container through the
//! pct emulator, on a machine without a GPU. The host root (`--root`) is a fake GPU
//! host: character nodes `/dev/nvidia0`, `/dev/nvidiactl`, `/dev/nvidia-uvm`,
//! `/dev/nvidia-uvm-tools` and `/dev/nvidia-modeset` made with mknod and the majors of
//! its `/proc/devices` (195 and 508), and a `/proc/driver/nvidia/version`. The emulator
//! answers `pveversion` as Proxmox VE 9 and finds `devN` nodes beneath its root.
//!
//! What runs for real: `phoenix plan` and `phoenix up` write exactly the devN entries
//! (with the Debian `video` gid 44) into the CT conf, the container starts with them;
//! a kernel module of another version is refused naming both versions, with nothing
//! changed. What cannot run here: the driver install itself (no GPU, no NVIDIA
//! download): `nvidia-smi` inside is a stand-in script reporting the version, so
//! nvidia.sh finds the driver installed and the verify and `phoenix test` checks run
//! against the stand-in (the install's commands are pinned by the recorded tests).
//! Ids 8800-8809, bridge vmbrnv0.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::json;
use support::{Env, mutations};

const ID: u32 = 8800;
const VERSION: &str = "550.54.14";

fn mknod(path: &Path, major: u32, minor: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ok = Command::new("mknod")
        .arg(path)
        .args(["c", &major.to_string(), &minor.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "mknod {}", path.display());
}

/// The fake GPU host beneath the env's root, with the kernel module `module`.
fn gpu_host(env: &Env, module: &str) {
    for (node, major, minor) in [
        ("/dev/nvidia0", 195, 0),
        ("/dev/nvidiactl", 195, 255),
        ("/dev/nvidia-modeset", 195, 254),
        ("/dev/nvidia-uvm", 508, 0),
        ("/dev/nvidia-uvm-tools", 508, 1),
    ] {
        let p = env.host(node);
        if !p.exists() {
            mknod(&p, major, minor);
        }
    }
    std::fs::create_dir_all(env.host("/proc")).unwrap();
    std::fs::write(
        env.host("/proc/devices"),
        "Character devices:\n  1 mem\n195 nvidia\n508 nvidia-uvm\n\nBlock devices:\n  7 loop\n",
    )
    .unwrap();
    module_version(env, module);
}

fn module_version(env: &Env, module: &str) {
    let p = env.host("/proc/driver/nvidia/version");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(
        p,
        format!("NVRM version: NVIDIA UNIX x86_64 Kernel Module  {module}  Thu Feb 22 01:44:30 UTC 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"),
    )
    .unwrap();
}

/// The config: CT 8800 from the Debian template, with `extra`, and the driver version.
fn fleet(env: &Env, extra: serde_json::Value) {
    let mut ct = env.ct(
        ID,
        json!({"template": "local:vztmpl/phoenix-debian-12_amd64.tar.zst"}),
        json!({"memory_mb": 512, "storage_size_gb": 2}),
    );
    for (k, v) in extra.as_object().unwrap() {
        ct[k] = v.clone();
    }
    env.write(&[(ID, ct)], json!({}));
    let path = env.config.join("phoenix_lxc_configs.json");
    let mut lxc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    lxc["nvidia_driver_version"] = VERSION.into();
    lxc["nvidia_runfile_url"] = format!(
        "https://us.download.nvidia.com/XFree86/Linux-x86_64/{VERSION}/NVIDIA-Linux-x86_64-{VERSION}.run"
    )
    .into();
    std::fs::write(&path, serde_json::to_string_pretty(&lxc).unwrap()).unwrap();
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn dev_lines(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.host(&format!("/etc/pve/lxc/{ID}.conf")))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("dev"))
        .map(str::to_owned)
        .collect()
}

/// The mutating calls of a log: `pveversion` (logged by the emulator) only reads.
fn changes(log: &[String]) -> Vec<&String> {
    mutations(log)
        .into_iter()
        .filter(|l| l.as_str() != "pveversion")
        .collect()
}

const GPU: &str = r#"{"gpu_assignment": "0", "features": ["nvidia"]}"#;

#[test]
fn a_fake_gpu_host_gets_exactly_its_device_entries_and_a_version_mismatch_changes_nothing() {
    let Some(env) = Env::new("vmbrnv0", &[ID]) else {
        return;
    };
    support::debian_template(&env);
    gpu_host(&env, "550.90.07");
    let gpu: serde_json::Value = serde_json::from_str(GPU).unwrap();

    // Another kernel module: plan and up refuse the container, naming both versions;
    // nothing is created.
    fleet(&env, gpu.clone());
    for cmd in [&["plan"][..], &["up"][..]] {
        let out = env.phoenix(cmd, &[]);
        let t = text(&out);
        assert_ne!(out.status.code(), Some(0), "{t}");
        assert!(
            t.contains("host kernel module 550.90.07, config nvidia_driver_version 550.54.14"),
            "{t}"
        );
    }
    assert!(!env.host(&format!("/etc/pve/lxc/{ID}.conf")).exists());
    let log = env.take_log();
    assert!(changes(&log).is_empty(), "{log:#?}");

    // The container without the feature first, then the nvidia-smi stand-in inside
    // (no GPU here: see the module docs).
    module_version(&env, VERSION);
    fleet(&env, json!({}));
    env.ok(&env.phoenix(&["up"], &[]));
    let standin = env.root.join("nvidia-smi");
    std::fs::write(
        &standin,
        format!("#!/bin/sh\n# phoenix e2e stand-in: no GPU on this machine\ncase \"$*\" in *--query-gpu=driver_version*) echo {VERSION};; *) echo 'NVIDIA-SMI stand-in {VERSION}';; esac\n"),
    )
    .unwrap();
    env.ok(&env.pct(&[
        "push",
        "8800",
        "/nvidia-smi",
        "/usr/bin/nvidia-smi",
        "--perms",
        "0755",
    ]));

    // plan shows exactly the device entries and changes nothing.
    fleet(&env, gpu);
    env.take_log();
    let plan = env.ok(&env.phoenix(&["plan"], &[]));
    let want = [
        "dev0: /dev/nvidia0,gid=44",
        "dev1: /dev/nvidiactl,gid=44",
        "dev2: /dev/nvidia-uvm,gid=44",
        "dev3: /dev/nvidia-uvm-tools,gid=44",
        "dev4: /dev/nvidia-modeset,gid=44",
    ];
    let set = "pct set 8800 --dev0 /dev/nvidia0,gid=44 --dev1 /dev/nvidiactl,gid=44 --dev2 /dev/nvidia-uvm,gid=44 --dev3 /dev/nvidia-uvm-tools,gid=44 --dev4 /dev/nvidia-modeset,gid=44";
    assert!(plan.contains(set), "{plan}");
    assert!(dev_lines(&env).is_empty());
    let log = env.take_log();
    // Planning reads only (the ledger inside is read with `pct exec cat`).
    assert_eq!(
        changes(&log),
        vec![&"exec 8800 -- cat /var/lib/phoenix/ledger.json".to_owned()],
        "{log:#?}"
    );

    // A saved plan is stale once the host's kernel module changes.
    let saved = env.ok(&env.phoenix(&["plan", "-o", "json"], &[]));
    let plan_file = env.root.join("plan.json");
    std::fs::write(&plan_file, saved).unwrap();
    module_version(&env, "550.90.07");
    let stale = env.phoenix(&["apply", plan_file.to_str().unwrap()], &[]);
    let t = text(&stale);
    assert_eq!(stale.status.code(), Some(1), "{t}");
    assert!(
        t.contains("plan is stale: /proc/driver/nvidia/version changed since the plan was made"),
        "{t}"
    );
    assert!(dev_lines(&env).is_empty());
    module_version(&env, VERSION);
    env.take_log();

    // up writes exactly them, installs (finds the stand-in) and verifies.
    let up = env.ok(&env.phoenix(&["up"], &[]));
    assert!(up.contains("install feature nvidia"), "{up}");
    assert!(up.contains("already installed"), "{up}");
    assert_eq!(dev_lines(&env), want);
    // A restart brings the nodes in as Proxmox's prestart hook does.
    env.ok(&env.phoenix(&["restart", "8800"], &[]));
    let ls = env.pct_stdout(&["exec", "8800", "--", "ls", "-ln", "/dev/nvidia0"]);
    assert!(ls.starts_with('c'), "{ls}");
    assert!(ls.contains(" 44 "), "group video: {ls}");

    // phoenix test: nvidia-smi (the stand-in) and the conf entries.
    let tested = env.ok(&env.phoenix(&["test", "8800"], &[]));
    assert!(tested.contains("ok   nvidia: nvidia-smi"), "{tested}");
    assert!(
        tested.contains("ok   nvidia: device /dev/nvidia0"),
        "{tested}"
    );

    // A re-run: nothing mutates.
    env.take_log();
    let again = env.ok(&env.phoenix(&["up"], &[]));
    assert!(again.contains("0 changes made"), "{again}");
    let log = env.take_log();
    assert!(log.iter().any(|l| l == "pveversion"), "{log:#?}");
    assert_eq!(
        changes(&log),
        vec![&"exec 8800 -- cat /var/lib/phoenix/ledger.json".to_owned()],
        "{log:#?}"
    );
}

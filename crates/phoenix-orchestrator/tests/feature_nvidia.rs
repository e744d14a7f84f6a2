//! The nvidia feature against a scripted node (no GPU, no root): every command a
//! converge runs is pinned for one GPU, two GPUs and docker plus a GPU, and for
//! re-runs (the ledger read only; `--verify`: probes and verify only, no install).
//! The conf lines it writes are pinned for Proxmox VE 8.0 (`lxc.cgroup2` and
//! `lxc.mount.entry` lines, majors from `/proc/devices`) and 8.1+/9 (`devN`); a
//! kernel module of another version than the config's, or none, stops the plan of
//! that container, naming both versions, and nothing is changed.
//!
//! Inside the container the driver's commands are answered as a GPU container would:
//! `nvidia.sh` "installs" the driver (then `nvidia-smi` reports the version, one line
//! per GPU), `nvidia-ctk` prints a runtime, `config.toml` gets `no-cgroups = true`.

mod fake;

use std::sync::{Arc, Mutex};

use fake::Node;
use phoenix_orchestrator::RunReport;
use phoenix_orchestrator::config::Fleet;
use phoenix_orchestrator::features::HostFacts;
use phoenix_orchestrator::features::host_facts::PveRelease;
use phoenix_orchestrator::pct::{CommandRunner, Effect, Invocation, Output, RunError};
use serde_json::json;

const VERSION: &str = "550.54.14";

/// What the driver state of the (one) GPU container is.
#[derive(Default)]
struct Gpu {
    driver: bool,
    toolkit: bool,
    gpus: usize,
}

/// The fake node, with the GPU container's driver commands answered first.
struct GpuNode {
    node: Node,
    gpu: Arc<Mutex<Gpu>>,
    calls: Mutex<Vec<Invocation>>,
}

fn ok(s: &str) -> Result<Output, RunError> {
    Ok(Output::ok(s.as_bytes().to_vec()))
}

impl CommandRunner for GpuNode {
    fn run(&self, inv: &Invocation) -> Result<Output, RunError> {
        self.calls.lock().unwrap().push(inv.clone());
        let argv = inv.argv();
        let a: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut g = self.gpu.lock().unwrap();
        if let ["pct", "exec", _, "--", cmd @ ..] = a.as_slice() {
            match cmd {
                [
                    "nvidia-smi",
                    "--query-gpu=driver_version",
                    "--format=csv,noheader",
                ] => {
                    return if g.driver {
                        ok(&format!("{VERSION}\n").repeat(g.gpus))
                    } else {
                        Ok(Output::failed(
                            127,
                            b"nvidia-smi: command not found\n".to_vec(),
                        ))
                    };
                }
                ["nvidia-smi"] if g.driver => return ok("| NVIDIA-SMI 550.54.14 |\n"),
                [
                    "dpkg-query",
                    "-W",
                    "-f=${Status}",
                    "nvidia-container-toolkit",
                ] => {
                    return if g.toolkit {
                        ok("install ok installed")
                    } else {
                        Ok(Output::failed(1, Vec::new()))
                    };
                }
                ["cat", "/etc/nvidia-container-runtime/config.toml"] if g.toolkit => {
                    return ok("[nvidia-container-cli]\nno-cgroups = true\n");
                }
                [
                    "nvidia-ctk",
                    "runtime",
                    "configure",
                    "--runtime=docker",
                    "--dry-run",
                ] => {
                    return ok(
                        "{\"runtimes\": {\"nvidia\": {\"args\": [], \"path\": \"nvidia-container-runtime\"}}}\n",
                    );
                }
                ["env", "-i", rest @ ..] if rest.iter().any(|r| r.ends_with("/nvidia.sh")) => {
                    g.driver = true;
                    g.toolkit |= rest.contains(&"PHOENIX_NVIDIA_TOOLKIT=1");
                    return ok("downloading the runfile\n");
                }
                _ => {}
            }
        }
        drop(g);
        self.node.runner.run(inv)
    }
}

impl GpuNode {
    fn new(gpus: usize) -> GpuNode {
        GpuNode {
            node: Node::new(),
            gpu: Arc::new(Mutex::new(Gpu {
                gpus,
                ..Gpu::default()
            })),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Vec<Invocation> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn transcript(&self) -> String {
        self.take()
            .iter()
            .map(|i| format!("{i}\n"))
            .collect::<String>()
    }

    fn conf(&self, id: u32) -> String {
        std::fs::read_to_string(self.node.root.join(format!("etc/pve/lxc/{id}.conf")))
            .unwrap()
            .lines()
            .filter(|l| !l.contains("hwaddr"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A host with `gpus` GPUs, all the shared nodes and two capability nodes.
fn host(gpus: u32, pve: (u32, u32), module: Option<&str>) -> HostFacts {
    let mut nodes: Vec<String> = (0..gpus).map(|i| format!("/dev/nvidia{i}")).collect();
    for n in [
        "/dev/nvidia-caps/nvidia-cap1",
        "/dev/nvidia-caps/nvidia-cap2",
        "/dev/nvidia-modeset",
        "/dev/nvidia-uvm",
        "/dev/nvidia-uvm-tools",
        "/dev/nvidiactl",
    ] {
        nodes.push(n.into());
    }
    nodes.sort();
    HostFacts {
        read: true,
        pve: Some(PveRelease {
            major: pve.0,
            minor: pve.1,
        }),
        pve_error: None,
        nvidia_nodes: nodes,
        char_majors: [("nvidia", 195), ("nvidia-uvm", 508), ("nvidia-caps", 234)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        nvidia_version: module.map(str::to_owned),
    }
}

fn fleet(gpu: &str, features: &[&str]) -> Fleet {
    let ct = json!({
        "name": "gpu", "memory_mb": 1024, "cores": 2, "storage_pool": "local-zfs",
        "storage_size_gb": 4,
        "template": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.60/24", "gw": "10.0.0.1"},
        "mac_address": "52:54:00:00:08:60",
        "gpu_assignment": gpu,
        "features": features,
    });
    Fleet {
        lxc: serde_json::from_value(json!({
            "nvidia_driver_version": VERSION,
            "nvidia_runfile_url": format!("https://us.download.nvidia.com/XFree86/Linux-x86_64/{VERSION}/NVIDIA-Linux-x86_64-{VERSION}.run"),
            "lxc_configs": {"860": ct},
        }))
        .unwrap(),
        hypervisor: serde_json::from_value(json!({})).unwrap(),
        vm: None,
    }
}

fn up(n: &GpuNode, fleet: &Fleet, facts: HostFacts, reprove: bool) -> RunReport {
    fake::orchestrator(&n.node, fleet, n)
        .with_host_facts(facts)
        .converge(&fake::one_job(reprove), &|_| {})
        .expect("the run starts")
}

fn snap(name: &str, text: &str) {
    insta::with_settings!({filters => fake::TRANSCRIPT_FILTERS.to_vec()}, {
        insta::assert_snapshot!(name, text);
    });
}

/// From nothing, then a no-op re-run and a `--verify` re-run; returns the first run's
/// report text.
fn converge_and_rerun(name: &str, gpu: &str, features: &[&str], gpus: u32) -> String {
    let n = GpuNode::new(gpus as usize);
    let fleet = fleet(gpu, features);
    let report = up(&n, &fleet, host(gpus, (9, 0), Some(VERSION)), false);
    assert!(report.ok(), "{}", report.render_text(true));
    snap(&format!("{name}_from_nothing"), &n.transcript());
    // A re-run: one ledger read inside, nothing else.
    let again = up(&n, &fleet, host(gpus, (9, 0), Some(VERSION)), false);
    assert!(again.ok(), "{}", again.render_text(true));
    let calls = n.take();
    let inside: Vec<String> = calls
        .iter()
        .map(|i| i.to_string())
        .filter(|l| l.starts_with("pct exec"))
        .collect();
    assert_eq!(inside, ["pct exec 860 -- cat /var/lib/phoenix/ledger.json"]);
    assert!(
        calls.iter().all(|i| i.effect() == Effect::Read),
        "{calls:?}"
    );
    // --verify: the probe finds it converged, so only probes and the verify run (and
    // the ledger records the verify); nothing is installed.
    let verified = up(&n, &fleet, host(gpus, (9, 0), Some(VERSION)), true);
    assert!(verified.ok(), "{}", verified.render_text(true));
    let t = n.transcript();
    assert!(!t.contains("nvidia.sh"), "{t}");
    snap(&format!("{name}_verify_rerun"), &t);
    report.render_text(true)
}

#[test]
fn one_gpu_converges_with_its_devices_and_reruns_only_read() {
    let text = converge_and_rerun("one_gpu", "0", &["nvidia"], 1);
    assert!(text.contains("install feature nvidia"), "{text}");
    assert!(
        text.contains("pct set 860 --dev0 /dev/nvidia0,gid=44 --dev1 /dev/nvidiactl,gid=44"),
        "{text}"
    );
}

#[test]
fn two_gpus_converge_with_both_nodes() {
    converge_and_rerun("two_gpus", "0,1", &["nvidia"], 2);
}

#[test]
fn docker_and_a_gpu_get_the_toolkit_and_one_docker_restart() {
    let n = GpuNode::new(1);
    let fleet = fleet("all", &["docker", "nvidia"]);
    let report = up(&n, &fleet, host(1, (9, 0), Some(VERSION)), false);
    assert!(report.ok(), "{}", report.render_text(true));
    let t = n.transcript();
    // nvidia is installed before docker (docker requires it): its runtime goes into
    // daemon.json before docker exists (no restart), docker's feature merges its
    // storage driver into the same file and restarts docker once.
    let nvidia_at = t.find("/nvidia/nvidia.sh").unwrap();
    let docker_at = t.find("/docker/docker.sh").unwrap();
    assert!(nvidia_at < docker_at, "{t}");
    assert_eq!(t.matches("systemctl restart docker").count(), 1, "{t}");
    snap("docker_gpu_from_nothing", &t);
    let state = n.node.state.lock().unwrap();
    let daemon: serde_json::Value =
        serde_json::from_slice(&state.cts[&860].files["/etc/docker/daemon.json"]).unwrap();
    assert_eq!(
        daemon["runtimes"]["nvidia"]["path"],
        "nvidia-container-runtime"
    );
    assert_eq!(daemon["storage-driver"], "fuse-overlayfs");
}

#[test]
fn conf_lines_are_devn_from_pve_8_1_and_lxc_lines_before() {
    let mut out = String::new();
    for (pve, label) in [((8, 0), "8.0"), ((8, 1), "8.1"), ((9, 0), "9.0")] {
        let n = GpuNode::new(2);
        let fleet = fleet("0,1", &["nvidia"]);
        let report = up(&n, &fleet, host(2, pve, Some(VERSION)), false);
        assert!(report.ok(), "{}", report.render_text(true));
        let conf = n.conf(860);
        let lines: Vec<&str> = conf
            .lines()
            .filter(|l| l.starts_with("dev") || l.contains("devices") || l.contains("mount.entry"))
            .collect();
        out.push_str(&format!("== Proxmox VE {label}\n{}\n", lines.join("\n")));
    }
    insta::assert_snapshot!("conf_lines_by_release", out);
}

#[test]
fn another_module_version_or_none_stops_that_container_and_changes_nothing() {
    let n = GpuNode::new(1);
    let fleet = fleet("0", &["nvidia"]);
    let report = up(&n, &fleet, host(1, (9, 0), Some("550.90.07")), false);
    assert!(!report.ok());
    let text = report.render_text(false);
    assert!(
        text.contains("host kernel module 550.90.07, config nvidia_driver_version 550.54.14"),
        "{text}"
    );
    let mutating: Vec<String> = n
        .take()
        .iter()
        .filter(|i| i.effect() == Effect::Mutation)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(mutating, Vec::<String>::new());
    assert!(!n.node.root.join("etc/pve/lxc/860.conf").exists());

    let report = up(&n, &fleet, host(1, (9, 0), None), false);
    let text = report.render_text(false);
    assert!(
        text.contains("no NVIDIA driver on the host: /proc/driver/nvidia/version does not exist"),
        "{text}"
    );
    // A GPU the host lacks, and `none`, are refused too, with the pointer.
    let report = up(
        &n,
        &super_fleet("0,3"),
        host(2, (9, 0), Some(VERSION)),
        false,
    );
    assert!(
        report.render_text(false).contains(
            "GPU 3 (gpu_assignment at /lxc_configs/860/gpu_assignment) is not on this host: /dev/nvidia3 does not exist"
        ),
        "{}",
        report.render_text(false)
    );
    let report = up(
        &n,
        &super_fleet("none"),
        host(2, (9, 0), Some(VERSION)),
        false,
    );
    assert!(
        report
            .render_text(false)
            .contains("gpu_assignment \"none\" at /lxc_configs/860/gpu_assignment"),
        "{}",
        report.render_text(false)
    );
    assert!(
        n.take().iter().all(|i| i.effect() == Effect::Read),
        "nothing changed"
    );
}

fn super_fleet(gpu: &str) -> Fleet {
    fleet(gpu, &["nvidia"])
}

//! The vllm, ollama and portainer features against the scripted node: every command
//! each one runs inside its container is pinned by a snapshot (from nothing, one
//! container per feature and one per portainer role), a `--verify` re-run of the
//! converged fleet only probes and verifies, and a changed vLLM setting installs the
//! re-rendered unit once. Secrets come from a file reference beneath the root and
//! reach the container only as a staged file of mode 0600.

mod fake;

use fake::Node;
use phoenix_orchestrator::RunReport;
use phoenix_orchestrator::config::Fleet;
use phoenix_orchestrator::features::host_facts::PveRelease;
use phoenix_orchestrator::features::{HostFacts, Registry};
use serde_json::{Value, json};

const IDS: [u32; 4] = [960, 961, 962, 963];

fn ct(id: u32, extra: Value) -> Value {
    let mut c = json!({
        "name": format!("ai{id}"), "memory_mb": 2048, "cores": 2,
        "template": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "storage_pool": "local-zfs", "storage_size_gb": 8,
        "network_config": {"name": "eth0", "bridge": "vmbr0",
            "ip": format!("10.0.0.{}/24", id - 900), "gw": "10.0.0.1"},
        "mac_address": format!("52:54:00:00:09:{:02x}", id - 900),
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn fleet(vllm_len: u32) -> Fleet {
    let lxc = json!({"nvidia_driver_version": "550.54.14",
        "nvidia_runfile_url": "https://us.download.nvidia.com/XFree86/Linux-x86_64/550.54.14/NVIDIA-Linux-x86_64-550.54.14.run",
        "lxc_configs": {
        "960": ct(960, json!({"features": ["vllm"], "vllm_version": "0.33.0",
            "gpu_assignment": "0,1",
            "vllm_hf_token": {"file": "/etc/phoenix/hf_token"},
            "vllm_engine_config": {
                "ModelConfig": {"model": "Qwen/Qwen2.5-7B-Instruct-AWQ", "max_model_len": vllm_len},
                "CacheConfig": {"quantization": "awq_marlin", "gpu_memory_utilization": 0.5},
                "ParallelConfig": {"tensor_parallel_size": 2},
                "ServerConfig": {"port": 8000, "served_model_name": "qwen2.5-7b-awq"}}})),
        "961": ct(961, json!({"features": ["ollama"],
            "ollama": {"install_url": "https://ollama.com/download/ollama-linux-amd64.tgz",
                       "keep_alive": "24h", "num_parallel": 2}})),
        "962": ct(962, json!({"features": ["docker"], "portainer_role": "server"})),
        "963": ct(963, json!({"features": ["docker"], "portainer_role": "agent"})),
    }});
    let hypervisor = json!({
        "docker": {"portainer_server_image": "portainer/portainer-ce:2.33.0",
                   "portainer_agent_image": "portainer/agent:2.33.0"},
        "portainer_api": {"admin_user": "admin",
            "admin_password": {"file": "/etc/phoenix/portainer.pass"},
            "portainer_hostname": "portainer.phoenix.lan"},
    });
    Fleet {
        lxc: serde_json::from_value(lxc).unwrap(),
        hypervisor: serde_json::from_value(hypervisor).unwrap(),
        vm: None,
    }
}

fn run(node: &Node, fleet: &Fleet, reprove: bool) -> RunReport {
    fake::orchestrator(node, fleet, &node.runner)
        .with_features(Registry::builtin_for(fleet))
        .with_host_facts(gpu_host())
        .converge(&fake::one_job(reprove), &|_| {})
        .expect("the run starts")
}

/// A Proxmox VE 9 host with two GPUs and the 550.54.14 kernel module (vllm runs on
/// the NVIDIA driver: without a GPU it is not installed).
fn gpu_host() -> HostFacts {
    HostFacts {
        read: true,
        pve: Some(PveRelease { major: 9, minor: 0 }),
        pve_error: None,
        nvidia_nodes: [
            "/dev/nvidia0",
            "/dev/nvidia1",
            "/dev/nvidia-uvm",
            "/dev/nvidiactl",
        ]
        .map(str::to_owned)
        .to_vec(),
        char_majors: [("nvidia", 195), ("nvidia-uvm", 508)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        nvidia_version: Some("550.54.14".into()),
    }
}

/// What ran inside `id` (exec and push), one line each.
fn inside(node: &Node, id: u32) -> String {
    let exec = format!("pct exec {id} ");
    let push = format!("pct push {id} ");
    node.runner
        .transcript()
        .lines()
        .filter(|l| l.starts_with(&exec) || l.starts_with(&push))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn secrets(node: &Node) {
    let dir = node.root.join("etc/phoenix");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hf_token"), "hf_SECRET_TOKEN\n").unwrap();
    std::fs::write(dir.join("portainer.pass"), "s3cret-admin\n").unwrap();
}

#[test]
fn every_command_of_vllm_ollama_and_both_portainer_roles_is_pinned() {
    let node = Node::new();
    secrets(&node);
    let f = fleet(4096);
    let report = run(&node, &f, false);
    assert!(report.ok(), "{}", report.render_text(true));
    let text = report.render_text(false);
    for (id, feature) in [
        (960, "vllm"),
        (961, "ollama"),
        (962, "portainer"),
        (963, "portainer"),
    ] {
        assert!(
            text.contains(&format!("CT {id}"))
                && text.contains(&format!("install feature {feature}")),
            "{text}"
        );
    }
    insta::with_settings!({filters => fake::TRANSCRIPT_FILTERS.to_vec()}, {
        insta::assert_snapshot!("vllm_from_nothing", inside(&node, 960));
        insta::assert_snapshot!("ollama_from_nothing", inside(&node, 961));
        insta::assert_snapshot!("portainer_server_from_nothing", inside(&node, 962));
        insta::assert_snapshot!("portainer_agent_from_nothing", inside(&node, 963));
    });
    // The token and the password reached the containers as 0600 files, never argv.
    let transcript = node.runner.transcript();
    assert!(!transcript.contains("hf_SECRET_TOKEN") && !transcript.contains("s3cret-admin"));
    assert!(
        transcript.contains("/tmp/phoenix_run/run/vllm/vllm.env --perms 0600"),
        "{transcript}"
    );
    assert!(
        transcript.contains("/tmp/phoenix_run/run/portainer/admin.pass --perms 0600"),
        "{transcript}"
    );
    let st = node.state.lock().unwrap();
    let env = &st.cts[&960].files["/etc/phoenix/vllm.env"];
    assert!(String::from_utf8_lossy(env).contains("HF_TOKEN=\"hf_SECRET_TOKEN\""));
    drop(st);
    // The server registers the fleet's agent (its plan says which, at which URL).
    assert!(
        report.render(false, true).contains(
            "register agent ai963 (tcp://10.0.0.63:9001) through POST /api/endpoints unless listed"
        ),
        "{}",
        report.render_text(true)
    );

    // Converged: --verify probes and verifies each, installs nothing.
    node.runner.clear_invocations();
    let verified = run(&node, &f, true);
    assert!(verified.ok(), "{}", verified.render_text(true));
    let transcript = node.runner.transcript();
    for script in ["vllm.sh", "ollama.sh", "portainer.sh", "docker.sh"] {
        assert!(
            !transcript.contains(&format!("/{script}")),
            "{script} ran:\n{transcript}"
        );
    }
    insta::with_settings!({filters => fake::TRANSCRIPT_FILTERS.to_vec()}, {
        insta::assert_snapshot!(
            "converged_verify_probes_only",
            IDS.iter().map(|id| inside(&node, *id)).collect::<String>()
        );
    });

    // A changed setting: the unit is rendered again and installed by one run of
    // vllm.sh (which restarts the service because the unit changed).
    node.runner.clear_invocations();
    let changed = fleet(8192);
    let report = run(&node, &changed, false);
    assert!(report.ok(), "{}", report.render_text(true));
    assert!(
        report
            .render_text(false)
            .contains("install feature vllm\n      # its inputs changed"),
        "{}",
        report.render_text(false)
    );
    let transcript = node.runner.transcript();
    assert_eq!(
        transcript.matches("/vllm/vllm.sh\n").count(),
        1,
        "{transcript}"
    );
    assert!(!transcript.contains("ollama.sh"), "{transcript}");
    let st = node.state.lock().unwrap();
    let unit = String::from_utf8_lossy(&st.cts[&960].files["/etc/systemd/system/vllm.service"])
        .into_owned();
    assert!(unit.contains("--max-model-len 8192"), "{unit}");
}

#[test]
fn a_portainer_server_without_an_admin_and_conflicting_vllm_keys_stop_the_plan() {
    let node = Node::new();
    let mut f = fleet(4096);
    f.hypervisor.portainer_api = None;
    let id = phoenix_orchestrator::config::Ctid::new(960).unwrap();
    f.lxc.lxc_configs.get_mut(&id).unwrap().vllm_max_model_len = Some(2048);
    let report = run(&node, &f, false);
    let text = report.render_text(false);
    assert!(!report.ok());
    assert!(
        text.contains(
            "a Portainer server needs its first admin: set the hypervisor's portainer_api"
        ),
        "{text}"
    );
    assert!(
        text.contains("vllm_engine_config.ModelConfig.max_model_len says 4096 but vllm_max_model_len says 2048"),
        "{text}"
    );
    // Nothing ran inside them.
    assert_eq!(inside(&node, 960), "");
    assert_eq!(inside(&node, 962), "");
}

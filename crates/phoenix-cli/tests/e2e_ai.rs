//! End-to-end: the vllm and ollama features installed by their real scripts inside a
//! REAL unprivileged Debian 12 container on the pct emulator. There is no GPU, no PyPI
//! and no ollama.com from inside, so the service binaries are stand-ins pushed first
//! (`/opt/phoenix/vllm/bin/python` answering the pinned version, so pip is skipped;
//! `/opt/phoenix/vllm/bin/vllm` and `/usr/bin/ollama` that only sleep): what is proven
//! is phoenix's part: the vllm unit, its 0600 EnvironmentFile and the ollama unit and
//! drop-in are installed, enabled, started, pass `systemd-analyze verify` inside, the
//! drop-in's settings reach the service's environment, and the probe then finds both
//! converged. Readiness (`/v1/models`, `/api/tags`) needs the real servers and is
//! pinned by the recorded tests instead. Id 8820, bridge vmbrai0.

mod support;

use phoenix_orchestrator::features::{
    Container, ExecResult, Feature, FeatureError, Ollama, Probe, Request, Vllm,
};
use serde_json::json;
use support::Env;

const ID: u32 = 8820;

struct Pct<'a>(&'a Env);

impl Container for Pct<'_> {
    fn vmid(&self) -> u32 {
        ID
    }
    fn exec(&self, argv: &[&str]) -> Result<ExecResult, FeatureError> {
        let id = ID.to_string();
        let mut all = vec!["exec", id.as_str(), "--"];
        all.extend(argv);
        let out = self.0.pct(&all);
        Ok(ExecResult {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
    fn push(&self, data: &[u8], dest: &str, mode: u32) -> Result<(), FeatureError> {
        let tmp = tempfile::NamedTempFile::new_in(self.0.host("/tmp")).unwrap();
        std::fs::write(tmp.path(), data).unwrap();
        let on_host = format!("/tmp/{}", tmp.path().file_name().unwrap().to_string_lossy());
        let out = self.0.pct(&[
            "push",
            &ID.to_string(),
            &on_host,
            dest,
            "--perms",
            &format!("{mode:o}"),
        ]);
        assert!(
            out.status.success(),
            "push {dest}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }
}

fn sh(ct: &Pct<'_>, argv: &[&str]) -> (i32, String) {
    let out = ct.exec(argv).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.code, text.trim().to_owned())
}

#[test]
fn vllm_and_ollama_units_are_installed_enabled_and_verified_in_a_debian_container() {
    let Some(env) = Env::new("vmbrai0", &[ID]) else {
        return;
    };
    support::debian_template(&env);
    std::fs::create_dir_all(env.host("/tmp")).unwrap();
    let mut ct = env.ct(
        ID,
        json!({"template": "local:vztmpl/phoenix-debian-12_amd64.tar.zst"}),
        json!({"memory_mb": 512, "storage_size_gb": 2}),
    );
    ct["network_config"]["ip"] = json!("10.192.0.30/24");
    ct["network_config"]["gw"] = json!("10.192.0.1");
    env.write(&[(ID, ct.clone())], json!({}));
    env.ok(&env.phoenix(&["up"], &[]));

    let access = Pct(&env);
    // The stand-ins (see the module comment).
    assert_eq!(sh(&access, &["mkdir", "-p", "/opt/phoenix/vllm/bin"]).0, 0);
    access
        .push(
            b"#!/bin/sh\necho 0.33.0\n",
            "/opt/phoenix/vllm/bin/python",
            0o755,
        )
        .unwrap();
    access
        .push(
            b"#!/bin/sh\nexec sleep infinity\n",
            "/opt/phoenix/vllm/bin/vllm",
            0o755,
        )
        .unwrap();
    access
        .push(
            b"#!/bin/sh\ncase \"$1\" in --version) echo 'ollama version is 0.12.3' ;; *) exec sleep infinity ;; esac\n",
            "/usr/bin/ollama",
            0o755,
        )
        .unwrap();

    ct["features"] = json!(["vllm", "ollama"]);
    ct["vllm_version"] = json!("0.33.0");
    ct["vllm_hf_token"] = json!("hf_e2e_token");
    ct["vllm_engine_config"] = json!({
        "ModelConfig": {"model": "Qwen/Qwen2.5-0.5B-Instruct", "max_model_len": 4096},
        "ServerConfig": {"port": 8000, "served_model_name": "qwen-small"}});
    ct["ollama"] = json!({"keep_alive": "24h", "num_parallel": 2});
    let config: phoenix_orchestrator::config::Container = serde_json::from_value(ct).unwrap();
    let hypervisor = serde_json::from_value(json!({})).unwrap();
    let lxc: phoenix_orchestrator::config::LxcFile =
        serde_json::from_value(json!({"lxc_configs": {}})).unwrap();
    let host = phoenix_orchestrator::features::HostFacts::default();
    let req = Request {
        vmid: ID,
        container: &config,
        hypervisor: &hypervisor,
        lxc: &lxc,
        host: &host,
    };
    phoenix_orchestrator::features::staging::wait_for_boot(&access).unwrap();
    for f in [&Vllm as &dyn Feature, &Ollama] {
        assert!(matches!(f.probe(&req, &access).unwrap(), Probe::Missing(_)));
        f.install(&req, &access).unwrap();
        assert_eq!(
            f.probe(&req, &access).unwrap(),
            Probe::Converged,
            "{}",
            f.name()
        );
    }

    for unit in ["vllm", "ollama"] {
        assert_eq!(
            sh(&access, &["systemctl", "is-enabled", unit]),
            (0, "enabled".into())
        );
        assert_eq!(
            sh(&access, &["systemctl", "is-active", unit]),
            (0, "active".into())
        );
        let path = format!("/etc/systemd/system/{unit}.service");
        let (code, text) = sh(&access, &["systemd-analyze", "verify", &path]);
        assert_eq!(code, 0, "systemd-analyze verify {path}: {text}");
    }
    assert_eq!(
        sh(&access, &["stat", "-c", "%a %U", "/etc/phoenix/vllm.env"]),
        (0, "600 root".into())
    );
    let (_, environment) = sh(
        &access,
        &["systemctl", "show", "ollama", "-p", "Environment"],
    );
    assert!(
        environment.contains("OLLAMA_HOST=0.0.0.0:11434")
            && environment.contains("OLLAMA_KEEP_ALIVE=24h")
            && environment.contains("OLLAMA_NUM_PARALLEL=2"),
        "{environment}"
    );
    let (_, exec) = sh(&access, &["systemctl", "show", "vllm", "-p", "ExecStart"]);
    assert!(
        exec.contains("argv[]=/opt/phoenix/vllm/bin/vllm serve Qwen/Qwen2.5-0.5B-Instruct --host 0.0.0.0 --port 8000 --served-model-name qwen-small --max-model-len 4096"),
        "{exec}"
    );
    eprintln!("inside CT {ID}: {exec}\n{environment}");
    let (_, tmp) = sh(&access, &["ls", "-A", "/tmp"]);
    assert!(!tmp.contains("phoenix_run"), "{tmp}");
}

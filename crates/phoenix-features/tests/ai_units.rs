//! The vllm and ollama units, rendered purely from the old system's configs, pinned
//! by snapshots; and `systemd-analyze verify` on them (the host's systemd, a temporary
//! root holding a copy of the host's system units and stand-in executables at the
//! ExecStart paths, since verify refuses a command that does not exist).

use std::path::Path;
use std::process::Command;

use phoenix_config::Container;
use phoenix_features::units::{self, OLLAMA_DROPIN_PATH, OLLAMA_UNIT_PATH, VLLM_UNIT_PATH};
use phoenix_features::{ollama, vllm};
use phoenix_testkit::{Need, require};
use serde_json::{Value, json};

fn container(extra: Value) -> Container {
    let mut ct = json!({
        "name": "ai", "memory_mb": 4096, "cores": 4, "storage_pool": "local-zfs",
        "storage_size_gb": 32, "template": "local:vztmpl/x.tar.zst",
        "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.50/24"},
    });
    for (k, v) in extra.as_object().unwrap() {
        ct[k] = v.clone();
    }
    serde_json::from_value(ct).unwrap()
}

fn reference(dir: &str, id: &str) -> Container {
    let path = format!(
        "{}/../../../shared/reference/{dir}/phoenix_lxc_configs.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(file["lxc_configs"][id].clone()).unwrap()
}

fn vllm_unit(ct: &Container, env: bool) -> String {
    let s = vllm::settings(ct).unwrap().expect("a model");
    units::vllm_unit(&vllm::unit(&s, env)).unwrap()
}

#[test]
fn vllm_units_of_the_old_configs() {
    // Bash era, flat keys and vllm_args repeating them (left out when they agree).
    let flat = reference("phoenix-bash-era", "950");
    insta::assert_snapshot!("vllm_bash_era_950", vllm_unit(&flat, false));
    // Newest: vllm_engine_config, two GPUs.
    let engine = reference("phoenix-bash-newest", "910");
    insta::assert_snapshot!("vllm_newest_910_tp2", vllm_unit(&engine, true));
    // A template without a model: the virtual environment only.
    assert_eq!(
        vllm::settings(&reference("phoenix-bash-era", "920")),
        Ok(None)
    );
}

#[test]
fn vllm_arguments_are_argv_quoted_for_systemd_and_conflicts_are_refused() {
    let ct = container(json!({
        "vllm_model": "org/model 50%",
        "vllm_served_model_name": "a\"b",
        "vllm_args": ["--chat-template", "{{ $x }}"],
    }));
    let unit = vllm_unit(&ct, false);
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert_eq!(
        exec,
        r#"ExecStart=/opt/phoenix/vllm/bin/vllm serve "org/model 50%%" --host 0.0.0.0 --port 8000 --served-model-name "a\"b" --chat-template "{{ $$x }}""#
    );
    let both = container(json!({
        "vllm_max_model_len": 4096,
        "vllm_engine_config": {"ModelConfig": {"model": "m", "max_model_len": 8192}},
    }));
    assert_eq!(
        vllm::settings(&both).unwrap_err().to_string(),
        "vllm_engine_config.ModelConfig.max_model_len says 8192 but vllm_max_model_len says 4096: phoenix does not choose between them; remove one (phoenix config upgrade moves what agrees)"
    );
    let args =
        container(json!({"vllm_model": "m", "vllm_port": 8000, "vllm_args": ["--port", "9000"]}));
    assert_eq!(
        vllm::settings(&args).unwrap_err().to_string(),
        "vllm_args gives --port 9000 but the settings say 8000: phoenix does not choose between them"
    );
    let newline = container(json!({"vllm_model": "m", "vllm_args": ["--x\nExecStartPre=/bin/sh"]}));
    let s = vllm::settings(&newline).unwrap().unwrap();
    assert!(units::vllm_unit(&vllm::unit(&s, false)).is_err());
}

#[test]
fn the_env_file_and_the_ollama_unit_and_drop_in() {
    let env = units::env_file(&[("HF_TOKEN".into(), "<redacted>".into())]).unwrap();
    insta::assert_snapshot!("vllm_env_redacted", env);
    insta::assert_snapshot!("ollama_unit", units::ollama_unit());
    let ct = container(json!({"ollama": {
        "host": "0.0.0.0", "port": 11434, "models_dir": "/srv/models", "keep_alive": "24h",
        "num_parallel": 2, "max_loaded_models": 1, "max_queue": 256, "context_length": 8192,
        "flash_attention": true, "kv_cache_type": "q8_0", "sched_spread": false,
        "origins": ["https://chat.phoenix.lan"], "debug": false
    }}));
    let dropin = units::ollama_dropin(&ollama::environment(ct.ollama.as_ref().unwrap())).unwrap();
    insta::assert_snapshot!("ollama_dropin", dropin);
    let default = units::ollama_dropin(&ollama::environment(&Default::default())).unwrap();
    assert_eq!(
        default,
        format!(
            "{}\n[Service]\nEnvironment=\"OLLAMA_HOST=0.0.0.0:11434\"\n",
            units::HEADER
        )
    );
}

fn write(root: &Path, path: &str, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn verify(root: &Path, unit: &str) -> std::process::Output {
    Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg(root.join(unit.trim_start_matches('/')))
        .output()
        .unwrap()
}

#[test]
fn systemd_analyze_verify_passes_on_the_rendered_units() {
    if !require(&[Need::Command("systemd-analyze"), Need::Command("cp")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // verify needs the system's own targets beneath the root.
    std::fs::create_dir_all(root.join("usr/lib/systemd")).unwrap();
    let cp = Command::new("cp")
        .args(["-r", "/usr/lib/systemd/system"])
        .arg(root.join("usr/lib/systemd/"))
        .status()
        .unwrap();
    assert!(cp.success());
    // Stand-ins for the real executables (not installed on this host).
    write(
        root,
        &format!("{}/bin/vllm", vllm::VENV),
        "#!/bin/sh\n",
        0o755,
    );
    write(root, "/usr/bin/ollama", "#!/bin/sh\n", 0o755);
    write(
        root,
        VLLM_UNIT_PATH,
        &vllm_unit(&reference("phoenix-bash-newest", "910"), true),
        0o644,
    );
    write(
        root,
        vllm::ENV_FILE,
        &units::env_file(&[("HF_TOKEN".into(), "x".into())]).unwrap(),
        0o600,
    );
    let out = verify(root, VLLM_UNIT_PATH);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let ct = container(json!({"ollama": {"keep_alive": "24h", "flash_attention": true}}));
    write(root, OLLAMA_UNIT_PATH, &units::ollama_unit(), 0o644);
    write(
        root,
        OLLAMA_DROPIN_PATH,
        &units::ollama_dropin(&ollama::environment(ct.ollama.as_ref().unwrap())).unwrap(),
        0o644,
    );
    let out = verify(root, OLLAMA_UNIT_PATH);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The check can fail: a drop-in with a line systemd does not know is reported.
    write(
        root,
        OLLAMA_DROPIN_PATH,
        "[Service]\nExecStrat=/bin/true\n",
        0o644,
    );
    let out = verify(root, OLLAMA_UNIT_PATH);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ExecStrat"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A one-shot HTTP server on a free loopback port answering every request with `body`.
fn serve(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn ready(port: u16, needle: &str, seconds: u32) -> std::process::Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/http-ready.sh");
    Command::new("bash")
        .args([
            "-euo",
            "pipefail",
            "-c",
            ". \"$0\"; ready 127.0.0.1 \"$1\" /v1/models \"$2\" \"$3\"",
        ])
        .arg(script)
        .arg(port.to_string())
        .arg(needle)
        .arg(seconds.to_string())
        .output()
        .unwrap()
}

#[test]
fn the_readiness_probe_passes_only_when_the_model_list_names_the_served_model() {
    if !require(&[Need::Command("bash")]) {
        return;
    }
    let port =
        serve(r#"{"object": "list", "data": [{"id": "qwen2.5-7b-awq", "object": "model"}]}"#);
    let ok = ready(port, "\"id\":\"qwen2.5-7b-awq\"", 5);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        "GET /v1/models lists \"id\":\"qwen2.5-7b-awq\"\n"
    );
    let other = ready(port, "\"id\":\"another-model\"", 1);
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr)
            .contains("did not list \"id\":\"another-model\" within 1s"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    // Nothing listening: a failure, not a hang.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = closed.local_addr().unwrap().port();
    drop(closed);
    assert!(!ready(free, "\"id\":\"x\"", 1).status.success());
}

#[test]
fn the_shipped_checks_are_shellcheck_clean() {
    if !require(&[Need::Command("shellcheck")]) {
        return;
    }
    use phoenix_features::{Feature, Ollama, Request, Vllm};
    let ct = reference("phoenix-bash-newest", "910");
    let hypervisor = serde_json::from_value(json!({})).unwrap();
    let lxc: phoenix_config::LxcFile = serde_json::from_value(json!({"lxc_configs": {}})).unwrap();
    let host = phoenix_features::HostFacts::default();
    let req = Request {
        vmid: 910,
        container: &ct,
        hypervisor: &hypervisor,
        lxc: &lxc,
        host: &host,
    };
    let checks: Vec<_> = Vllm
        .checks(&req)
        .into_iter()
        .chain(Ollama.checks(&req))
        .collect();
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "vllm: service active",
            "vllm: the model list serves the model",
            "ollama: service active",
            "ollama: /api/tags answers"
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    for (i, c) in checks.iter().enumerate() {
        let phoenix_features::CheckRun::Script(body) = &c.run else {
            panic!("{} is a script", c.name)
        };
        let path = dir.path().join(format!("check{i}.sh"));
        std::fs::write(&path, body).unwrap();
        let out = Command::new("shellcheck")
            .args(["-s", "bash"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            c.name,
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

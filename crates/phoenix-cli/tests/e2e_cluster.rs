//! A fleet across two emulated cluster nodes through the PVE API and the node path, on
//! real LXC: `pve-api-emulator` serves pve1 and pve2 over HTTPS with a token, `pve-emu-ssh`
//! stands in for OpenSSH (host keys checked), and phoenix plans and converges through
//! both. Container ids 8900-8919 and the bridge `vmbrcl0` are this file's.
//!
//! One scenario, one emulator: the first `up` meets injected lock timeouts (retried) and
//! a task that fails (its log shown); the re-run is a no-op of GETs only; the token's
//! secret is in no output and no log.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};
use support::{Env, bin_dir};

const BRIDGE: &str = "vmbrcl0";
/// pve1: a template (created, snapshotted) and its clone; pve2: a container with a
/// shared volume (a bind mount: root@pam only) and an id map (raw lxc.idmap lines).
const SOURCE: u32 = 8900;
const CLONE: u32 = 8901;
const BOUND: u32 = 8902;
/// On pve2; its start task fails (injected), with a task log.
const FAILS: u32 = 8903;
const IDS: [u32; 4] = [SOURCE, CLONE, BOUND, FAILS];

/// The emulator process, killed when dropped (after the containers are gone).
struct Emulator {
    child: Child,
    state: PathBuf,
    port: u16,
    fingerprint: String,
}

impl Emulator {
    fn start(state: &Path, token_file: &Path) -> Emulator {
        let bins = bin_dir();
        let exe = bins.join("pve-api-emulator");
        assert!(
            exe.exists(),
            "{} is missing: build it first (scripts/test.sh builds every binary)",
            exe.display()
        );
        let mut child = Command::new(&exe)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--nodes",
                "pve1,pve2",
                "--token-file",
            ])
            .arg(token_file)
            .arg("--pct")
            .arg(bins.join("pct"))
            .env("PHOENIX_ROOT", state)
            .env("PVE_API_EMU_LOG", state.join("api.log"))
            // Two mutating requests answer "can't lock file ... got timeout", the first
            // clone task ends "CT is locked (disk)", and FAILS's start task fails.
            .env("PVE_API_EMU_LOCK_FAIL", "2")
            .env("PVE_API_EMU_TASK_LOCKED", "1")
            .env("PVE_API_EMU_FAIL_TASK", format!("vzstart:{FAILS}"))
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bins.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("pve-api-emulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // `listening https://127.0.0.1:PORT fingerprint AB:CD:...`
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(
            words.len() == 4 && words[0] == "listening" && words[2] == "fingerprint",
            "the emulator's ready line: {line:?}"
        );
        let port = words[1].rsplit(':').next().unwrap().parse().unwrap();
        Emulator {
            child,
            state: state.to_owned(),
            port,
            fingerprint: words[3].to_owned(),
        }
    }

    fn node_root(&self, node: &str) -> PathBuf {
        self.state.join("node").join(node)
    }

    /// `pct` on a node (the pct emulator with the node's root).
    fn pct(&self, node: &str, args: &[&str]) -> Output {
        Command::new(bin_dir().join("pct"))
            .env("PHOENIX_ROOT", self.node_root(node))
            .env_remove("PCT_EMU_LOG")
            .args(args)
            .output()
            .unwrap()
    }

    /// The request log since the last call (`METHOD PATH STATUS` lines).
    fn take_log(&self) -> Vec<String> {
        let path = self.state.join("api.log");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::write(&path, "");
        text.lines().map(str::to_owned).collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        for node in ["pve1", "pve2"] {
            for id in IDS {
                let _ = self.pct(node, &["stop", &id.to_string()]);
                let _ = self.pct(node, &["destroy", &id.to_string(), "--purge"]);
                let _ = Command::new("lxc-stop")
                    .arg("-P")
                    .arg(self.node_root(node).join("var/lib/lxc"))
                    .args(["-n", &id.to_string(), "-k"])
                    .output();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write_config(env: &Env, emu: &Emulator) {
    let ct = |id: u32, source: Value, extra: Value| {
        let mut v = env.ct(id, source, extra);
        v["storage_pool"] = json!("local-zfs");
        v
    };
    let lxc = json!({
        "lxc_configs": {
            SOURCE.to_string(): ct(SOURCE,
                json!({"template": "local:vztmpl/phoenix-busybox_amd64.tar.gz"}),
                json!({"template_snapshot_name": "golden", "node": "pve1"})),
            CLONE.to_string(): ct(CLONE, json!({"clone_from_ctid": SOURCE}), json!({"memory_mb": 96})),
            BOUND.to_string(): ct(BOUND,
                json!({"template": "local:vztmpl/phoenix-busybox_amd64.tar.gz"}),
                json!({"node": "pve2", "id_maps": [
                    { "kind": "u", "container_start": 0, "host_start": 100000, "count": 1000 },
                    { "kind": "u", "container_start": 1000, "host_start": 1000, "count": 1, "allow_host_ids": true },
                    { "kind": "u", "container_start": 1001, "host_start": 101001, "count": 64535 },
                    { "kind": "g", "container_start": 0, "host_start": 100000, "count": 1000 },
                    { "kind": "g", "container_start": 1000, "host_start": 1000, "count": 1, "allow_host_ids": true },
                    { "kind": "g", "container_start": 1001, "host_start": 101001, "count": 64535 }
                ]})),
            FAILS.to_string(): ct(FAILS,
                json!({"template": "local:vztmpl/phoenix-busybox_amd64.tar.gz"}),
                json!({"node": "pve2"})),
        }
    });
    let hypervisor = json!({
        "shared_volumes": {
            "data": {
                "host_path": "/srv/data",
                "mounts": { BOUND.to_string(): "/data" },
                "owner_uid": 1000,
                "owner_gid": 1000,
                "mode": "0770"
            }
        },
        "cluster": {
            "api_url": format!("https://127.0.0.1:{}", emu.port),
            "token_id": "phoenix@pve!test",
            "token_secret_file": "/etc/phoenix/pve-token",
            "fingerprint": emu.fingerprint,
            "ssh_known_hosts": "/etc/phoenix/known_hosts",
            "local_node": "pve1",
            "max_jobs_per_node": 2,
            "nodes": {
                "pve1": { "ssh_host": "pve1", "phoenix": env!("CARGO_BIN_EXE_phoenix") },
                "pve2": { "ssh_host": "pve2", "phoenix": env!("CARGO_BIN_EXE_phoenix") }
            }
        }
    });
    std::fs::write(
        env.config.join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(&lxc).unwrap(),
    )
    .unwrap();
    std::fs::write(
        env.config.join("phoenix_hypervisor_config.json"),
        serde_json::to_string_pretty(&hypervisor).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_fleet_on_two_nodes_converges_through_the_api_and_the_node_path() {
    let Some(env) = Env::new(BRIDGE, &[]) else {
        return;
    };
    let state = env.root.parent().unwrap().join("cluster");
    std::fs::create_dir_all(&state).unwrap();
    let phoenix_etc = env.host("/etc/phoenix");
    std::fs::create_dir_all(&phoenix_etc).unwrap();
    let token_file = phoenix_etc.join("pve-token");
    let emu = Emulator::start(&state, &token_file);
    std::fs::copy(
        state.join("ssh/known_hosts"),
        phoenix_etc.join("known_hosts"),
    )
    .unwrap();
    write_config(&env, &emu);
    let token = std::fs::read_to_string(&token_file).unwrap();
    let secret = token.trim().rsplit('=').next().unwrap().to_owned();
    assert!(secret.len() >= 16, "a token secret: {token:?}");
    let ssh = bin_dir().join("pve-emu-ssh");
    let vars: Vec<(&str, String)> = vec![
        ("PHOENIX_SSH", ssh.display().to_string()),
        ("PVE_EMU_ROOT", state.display().to_string()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut outputs = Vec::new();

    // The plan: API calls for what the API can do, the node path with its reason.
    let out = env.phoenix(&["plan"], &vars);
    let plan = text(&out);
    outputs.push(plan.clone());
    assert!(out.status.success(), "{plan}");
    for want in [
        format!("CT {SOURCE} (ct{SOURCE}) on pve1"),
        format!("CT {BOUND} (ct{BOUND}) on pve2"),
        format!("api: POST /nodes/pve1/lxc vmid={SOURCE} "),
        format!("api: POST /nodes/pve1/lxc/{SOURCE}/clone newid={CLONE}"),
        format!("api: POST /nodes/pve2/lxc/{BOUND}/status/start"),
        format!(
            "node pve2 (bind mount mp0: root@pam only): pct set {BOUND} --mp0 /srv/data,mp=/data"
        ),
        "node pve2 (host directory /srv/data: not in the API)".to_owned(),
        "(raw lxc.* keys: not in the API)".to_owned(),
        "node pve2 (host file /etc/subuid: not in the API)".to_owned(),
        "(runs inside the container: pct exec (no API))".to_owned(),
    ] {
        assert!(plan.contains(&want), "the plan lacks {want:?}:\n{plan}");
    }
    let log = emu.take_log();
    assert!(
        log.iter().all(|l| l.starts_with("GET ")),
        "a plan only reads: {log:?}"
    );

    // The first up: the lock timeouts are retried, FAILS's start fails with its log.
    let out = env.phoenix(&["up", "-v"], &vars);
    let first = text(&out);
    outputs.push(first.clone());
    assert_eq!(out.status.code(), Some(1), "FAILS fails:\n{first}");
    for want in [
        format!("FAILED at start: CT {FAILS}: start through the PVE API: task UPID:pve2:"),
        "task log:".to_owned(),
        format!("TASK ERROR: startup for container '{FAILS}' failed"),
    ] {
        assert!(
            first.contains(&want),
            "the failed task's log is shown ({want:?}):\n{first}"
        );
    }
    // Both injected lock timeouts were answered, and each request was tried again.
    let log = emu.take_log();
    let timeouts: Vec<usize> = (0..log.len())
        .filter(|i| log[*i].ends_with(" 500"))
        .collect();
    assert_eq!(timeouts.len(), 2, "{log:?}");
    for i in timeouts {
        let again = log[i].trim_end_matches(" 500");
        assert!(
            log[i + 1..]
                .iter()
                .any(|l| l.starts_with(again) && l.ends_with(" 200")),
            "{again} was retried and succeeded: {log:?}"
        );
    }
    // The report says so (the two lock timeouts).
    assert!(
        first.contains(
            "note: 2 PVE API requests were sent again after a lock timeout or a server error"
        ),
        "{first}"
    );
    // The clone task that ended `CT is locked (disk)` was started again.
    let clone = format!("POST /api2/json/nodes/pve1/lxc/{SOURCE}/clone 200");
    assert_eq!(log.iter().filter(|l| **l == clone).count(), 2, "{log:?}");
    for (node, id) in [("pve1", SOURCE), ("pve1", CLONE), ("pve2", BOUND)] {
        let status = text(&emu.pct(node, &["status", &id.to_string()]));
        assert!(
            status.contains("running"),
            "CT {id} runs on {node}: {status}\n{first}"
        );
    }
    // The node path did what the API may not: the bind mount and the idmap are in the
    // conf on pve2, and the volume's directory exists on pve2's root.
    let conf = std::fs::read_to_string(
        emu.node_root("pve2")
            .join(format!("etc/pve/nodes/pve2/lxc/{BOUND}.conf")),
    )
    .unwrap();
    assert!(conf.contains("mp0: /srv/data,mp=/data"), "{conf}");
    assert!(emu.node_root("pve2").join("srv/data").is_dir());
    // pve1 sees pve2's conf (the shared /etc/pve).
    assert!(
        emu.node_root("pve1")
            .join(format!("etc/pve/nodes/pve2/lxc/{BOUND}.conf"))
            .exists()
    );

    // The re-run of the converged guests: nothing to do, only GETs.
    let ids = [SOURCE, CLONE, BOUND].map(|i| i.to_string());
    let mut args = vec!["converge"];
    args.extend(ids.iter().map(String::as_str));
    args.push("-vv");
    let out = env.phoenix(&args, &vars);
    let second = text(&out);
    outputs.push(second.clone());
    assert!(out.status.success(), "{second}");
    assert!(
        second.contains("0 changes") || second.contains("no changes"),
        "{second}"
    );
    let log = emu.take_log();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|l| l.starts_with("GET ")),
        "a no-op re-run makes only GET requests: {log:?}"
    );

    // A node that cannot plan (no phoenix there) fails its own guests, not the others.
    let hv_path = env.config.join("phoenix_hypervisor_config.json");
    let hv = std::fs::read_to_string(&hv_path).unwrap();
    let mut broken: Value = serde_json::from_str(&hv).unwrap();
    broken["cluster"]["nodes"]["pve2"]["phoenix"] = json!("/nonexistent/phoenix");
    std::fs::write(&hv_path, serde_json::to_string_pretty(&broken).unwrap()).unwrap();
    let out = env.phoenix(&["plan"], &vars);
    let partial = text(&out);
    outputs.push(partial.clone());
    std::fs::write(&hv_path, hv).unwrap();
    assert_eq!(out.status.code(), Some(1), "{partial}");
    assert!(
        partial.contains(&format!(
            "CT {BOUND}: not planned: node pve2 could not plan its guests: node pve2:"
        )),
        "{partial}"
    );
    assert!(
        partial.contains(&format!("CT {CLONE} (ct{CLONE}) on pve1")),
        "{partial}"
    );
    assert!(partial.contains("2 ok, 2 failed"), "{partial}");

    // Lifecycle commands go through the API too, on each guest's node.
    let out = env.phoenix(&["stop", &CLONE.to_string()], &vars);
    let stop = text(&out);
    outputs.push(stop.clone());
    assert!(out.status.success(), "{stop}");
    assert!(
        stop.contains(&format!("CT {CLONE}: stopped on pve1")),
        "{stop}"
    );
    assert!(text(&emu.pct("pve1", &["status", &CLONE.to_string()])).contains("stopped"));
    let log = emu.take_log();
    assert!(
        log.iter().any(|l| l.starts_with(&format!(
            "POST /api2/json/nodes/pve1/lxc/{CLONE}/status/shutdown"
        ))),
        "{log:?}"
    );
    let out = env.phoenix(&["delete", "--yes", &FAILS.to_string()], &vars);
    let delete = text(&out);
    outputs.push(delete.clone());
    assert!(out.status.success(), "{delete}");
    assert!(
        delete.contains(&format!("CT {FAILS}: destroyed on pve2")),
        "{delete}"
    );
    // A command that works on one node only is refused, naming why.
    let out = env.phoenix(&["status"], &vars);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("phoenix status works on one node"),
        "{}",
        text(&out)
    );

    // The secret is in no output and no log (the emulator's, the nodes' call logs).
    for o in &outputs {
        assert!(!o.contains(&secret), "the token secret was printed");
    }
    let mut logs = vec![state.join("api.log")];
    for node in ["pve1", "pve2"] {
        logs.extend(
            walk(&emu.node_root(node).join("var/log"))
                .into_iter()
                .chain(walk(&emu.node_root(node).join("var/lib/lxc"))),
        );
    }
    for l in logs {
        if let Ok(t) = std::fs::read_to_string(&l) {
            assert!(
                !t.contains(&secret),
                "{} holds the token secret",
                l.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(walk(&p)),
            Ok(t) if t.is_file() && e.metadata().is_ok_and(|m| m.len() < 1 << 20) => out.push(p),
            _ => {}
        }
    }
    out
}

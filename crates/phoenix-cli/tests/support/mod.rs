//! The harness of the end-to-end tests: a temporary root, a config written from JSON,
//! the `phoenix` and emulator binaries, the emulator's call log, and a guard that
//! removes the containers and the bridge whatever happens.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use phoenix_testkit::{Need, require};
use serde_json::{Value, json};

/// A temporary root with its config dir, emulator log and the containers to remove.
pub struct Env {
    _dir: tempfile::TempDir,
    /// The host root (`PHOENIX_ROOT`).
    pub root: PathBuf,
    pub config: PathBuf,
    log: PathBuf,
    pub bins: PathBuf,
    ids: Vec<u32>,
    pub bridge: String,
}

pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_phoenix"))
        .parent()
        .expect("target dir")
        .to_owned()
}

impl Env {
    /// None (skipped, said why) outside CI when the machine cannot run containers.
    pub fn new(bridge: &str, ids: &[u32]) -> Option<Env> {
        if !require(&[
            Need::Root,
            Need::Command("lxc-start"),
            Need::Command("newuidmap"),
        ]) {
            return None;
        }
        let bins = bin_dir();
        for b in ["pct", "pvesm", "phoenix-mktemplate", "pct-emulator-net"] {
            assert!(
                bins.join(b).exists(),
                "{} is missing: build the emulator first (cargo build -p pct-emulator, or scripts/test.sh)",
                bins.join(b).display()
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let config = dir.path().join("config");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&config).unwrap();
        let env = Env {
            log: dir.path().join("pct.log"),
            _dir: dir,
            root,
            config,
            bins,
            ids: ids.to_vec(),
            bridge: bridge.to_owned(),
        };
        let out = Command::new(env.bins.join("phoenix-mktemplate"))
            .arg("--root")
            .arg(&env.root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // pct start refuses a missing bridge (as Proxmox does): the host network makes it.
        let out = Command::new(env.bins.join("pct-emulator-net"))
            .args(["bridge", "add", &env.bridge])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pct-emulator-net bridge add {}: {}",
            env.bridge,
            String::from_utf8_lossy(&out.stderr)
        );
        Some(env)
    }

    /// A container from the busybox template or a clone, with a unique IP and MAC.
    pub fn ct(&self, id: u32, source: Value, extra: Value) -> Value {
        let n = id % 100;
        let mut ct = json!({
            "name": format!("ct{id}"),
            "memory_mb": 64,
            "cores": 1,
            "storage_pool": "local-zfs",
            "storage_size_gb": 1,
            "network_config": {
                "name": "eth0",
                "bridge": self.bridge,
                "ip": format!("10.{}.0.{}/24", 40 + id / 100 % 100, 10 + n),
                "gw": format!("10.{}.0.1", 40 + id / 100 % 100),
            },
            "mac_address": format!("52:54:00:{:02x}:{:02x}:{:02x}", id / 10000 % 100, id / 100 % 100, n),
        });
        for (k, v) in source
            .as_object()
            .unwrap()
            .iter()
            .chain(extra.as_object().unwrap())
        {
            ct[k] = v.clone();
        }
        ct
    }

    pub fn write(&self, cts: &[(u32, Value)], shared: Value) {
        let lxc: serde_json::Map<String, Value> = cts
            .iter()
            .map(|(id, v)| (id.to_string(), v.clone()))
            .collect();
        std::fs::write(
            self.config.join("phoenix_lxc_configs.json"),
            serde_json::to_string_pretty(&json!({ "lxc_configs": lxc })).unwrap(),
        )
        .unwrap();
        std::fs::write(
            self.config.join("phoenix_hypervisor_config.json"),
            serde_json::to_string_pretty(&json!({ "shared_volumes": shared })).unwrap(),
        )
        .unwrap();
    }

    pub fn command(&self, program: &Path, env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(program);
        // pct and pvesm are found on PATH, as on a Proxmox host.
        let path = format!(
            "{}:{}",
            self.bins.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PHOENIX_ROOT", &self.root)
            .env("PHOENIX_CONFIG_DIR", &self.config)
            .env("PATH", path)
            .env_remove("PHOENIX_PCT")
            .env_remove("PHOENIX_PVESM")
            .env("PCT_EMU_LOG", &self.log)
            .env_remove("PCT_EMU_FAIL")
            .env_remove("PCT_EMU_LATENCY_MS");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    pub fn phoenix(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(Path::new(env!("CARGO_BIN_EXE_phoenix")), env)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn pct(&self, args: &[&str]) -> Output {
        self.command(&self.bins.join("pct"), &[])
            .env_remove("PCT_EMU_LOG")
            .args(args)
            .output()
            .unwrap()
    }

    pub fn pct_stdout(&self, args: &[&str]) -> String {
        let out = self.pct(args);
        assert!(
            out.status.success(),
            "pct {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The emulator's call log since the last call, one argv per line without the
    /// leading `pct` (`pvesm status` stays as it is), in the order the calls started
    /// (the log has each call's start and duration after a tab, written as it ends).
    pub fn take_log(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        let mut calls: Vec<(f64, &str)> = text
            .lines()
            .map(|l| {
                let (call, times) = l.split_once('\t').unwrap_or((l, ""));
                let start = times
                    .split(' ')
                    .next()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0.0);
                (start, call)
            })
            .collect();
        // Stable: calls that started in the same microsecond keep the log's order.
        calls.sort_by(|a, b| a.0.total_cmp(&b.0));
        calls
            .into_iter()
            .map(|(_, l)| l.strip_prefix("pct ").unwrap_or(l).to_owned())
            .collect()
    }

    pub fn host(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// What a user would compare: each container's conf (snapshot times left out),
    /// its state, and the owner and mode of every host directory under /srv.
    pub fn state(&self) -> BTreeMap<String, String> {
        let mut state = BTreeMap::new();
        for id in &self.ids {
            let conf = std::fs::read_to_string(self.host(&format!("/etc/pve/lxc/{id}.conf")))
                .unwrap_or_else(|_| "(missing)".into());
            let conf: Vec<&str> = conf
                .lines()
                .filter(|l| !l.starts_with("snaptime:"))
                .collect();
            state.insert(format!("{id}.conf"), conf.join("\n"));
            let status = self.pct(&["status", &id.to_string()]);
            state.insert(
                format!("{id}.status"),
                String::from_utf8_lossy(&status.stdout).trim().to_owned(),
            );
        }
        if let Ok(entries) = std::fs::read_dir(self.host("/srv")) {
            for e in entries.flatten() {
                let m = e.metadata().unwrap();
                state.insert(
                    format!("srv/{}", e.file_name().to_string_lossy()),
                    format!("{}:{} {:o}", m.uid(), m.gid(), m.mode() & 0o7777),
                );
            }
        }
        state
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let ids: Vec<String> = self.ids.iter().map(u32::to_string).collect();
        let mut args = vec!["delete", "--yes", "-q"];
        args.extend(ids.iter().map(String::as_str));
        let _ = self.phoenix(&args, &[]);
        // Whatever delete could not remove (an invalid config in a test): stop it hard.
        let lxcpath = self.root.join("var/lib/lxc");
        for id in &ids {
            let _ = Command::new("lxc-stop")
                .arg("-P")
                .arg(&lxcpath)
                .args(["-n", id, "-k"])
                .output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}

/// The calls phoenix-pct classifies as reads: everything else mutates.
pub const READS: [&str; 6] = [
    "config",
    "status",
    "list",
    "listsnapshot",
    "pending",
    "pvesm status",
];

pub fn mutations(log: &[String]) -> Vec<&String> {
    log.iter()
        .filter(|l| {
            !READS
                .iter()
                .any(|r| l.as_str() == *r || l.starts_with(&format!("{r} ")))
        })
        .collect()
}

impl Env {
    /// stdout and stderr of a run that must succeed; on failure the message carries
    /// the LXC start logs, which say why a container did not start.
    pub fn ok(&self, out: &Output) -> String {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            let mut logs = String::new();
            for id in &self.ids {
                let log = self.root.join(format!("var/lib/lxc/{id}/lxc-start.log"));
                if let Ok(t) = std::fs::read_to_string(&log) {
                    logs.push_str(&format!("--- {}\n{t}", log.display()));
                }
            }
            panic!("phoenix failed ({:?}):\n{text}\n{logs}", out.status.code());
        }
        text
    }
}

/// A template created from the busybox OS template and snapshotted, a clone of it,
/// and an unprivileged clone with a shared volume.
pub fn small_fleet(env: &Env, base: u32) {
    let (t, c1, c2) = (base, base + 1, base + 2);
    env.write(
        &[
            (
                t,
                env.ct(
                    t,
                    json!({"template": "local:vztmpl/phoenix-busybox_amd64.tar.gz"}),
                    json!({"template_snapshot_name": "golden"}),
                ),
            ),
            (
                c1,
                env.ct(c1, json!({"clone_from_ctid": t}), json!({"memory_mb": 96})),
            ),
            (
                c2,
                env.ct(
                    c2,
                    json!({"clone_from_ctid": t}),
                    json!({"start_at_boot": true, "boot_order": 2}),
                ),
            ),
        ],
        json!({ "data": { "host_path": "/srv/data", "mounts": { c2.to_string(): "/data" } } }),
    );
}

/// Builds (or takes from the cache) the Debian 12 OS template under the env's root.
pub fn debian_template(env: &Env) {
    let out = Command::new(env.bins.join("phoenix-mktemplate"))
        .arg("--root")
        .arg(&env.root)
        .args(["--distro", "debian-12"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The emulator's filtered uplink on the env's bridge (DNS and the Debian mirror only),
/// taken down when dropped.
pub struct Uplink<'a>(&'a Env);

impl<'a> Uplink<'a> {
    /// Brings it up for `subnet` (the bridge gets the subnet's first address).
    pub fn up(env: &'a Env, subnet: &str) -> Uplink<'a> {
        let out = Command::new(env.bins.join("pct-emulator-net"))
            .args(["up", "--bridge", &env.bridge, "--subnet", subnet])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "uplink up: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Uplink(env)
    }
}

impl Drop for Uplink<'_> {
    fn drop(&mut self) {
        let _ = Command::new(self.0.bins.join("pct-emulator-net"))
            .args(["down", "--bridge", &self.0.bridge])
            .output();
    }
}

//! Shared setup for the emulator's integration tests: a temp root with the busybox
//! template, the typed `pct` wrapper pointed at the emulator, and a guard that kills
//! every container (and bridge) the test started, even when the test fails. The bridges
//! a test names are created by `pct-emulator-net bridge add`, as a host's network setup
//! would (pct start refuses a missing one).

#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use phoenix_pct::{CreateOptions, CtOptions, Pct, ProcessRunner};
use phoenix_pveconf::Vmid;
use phoenix_testkit::{Need, require};

pub const PCT: &str = env!("CARGO_BIN_EXE_pct");
pub const MKTEMPLATE: &str = env!("CARGO_BIN_EXE_phoenix-mktemplate");
pub const NET: &str = env!("CARGO_BIN_EXE_pct-emulator-net");
pub const TEMPLATE: &str = "local:vztmpl/phoenix-busybox_amd64.tar.gz";

/// True when this machine can run the real-LXC tests (else skipped, or failed in CI).
pub fn need_lxc() -> bool {
    require(&[
        Need::Root,
        Need::Command("lxc-start"),
        Need::Command("lxc-attach"),
        Need::Command("newuidmap"),
        Need::Command("busybox"),
        Need::Command("ip"),
    ])
}

pub struct Env {
    pub tmp: tempfile::TempDir,
    pub pct: Pct<ProcessRunner>,
    ids: Vec<u32>,
    bridges: Vec<String>,
}

impl Env {
    /// A fresh root with the template built in it; `ids` and `bridges` are cleaned up on drop.
    pub fn new(ids: &[u32], bridges: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let out = Command::new(MKTEMPLATE)
            .arg("--root")
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "phoenix-mktemplate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let runner = ProcessRunner::new()
            .env("PHOENIX_ROOT", tmp.path())
            .env_remove("PCT_EMU_FAIL")
            .env_remove("PCT_EMU_PVE_VERSION");
        let env = Env {
            pct: Pct::with_binary(PCT, runner),
            tmp,
            ids: ids.to_vec(),
            bridges: bridges.iter().map(|b| b.to_string()).collect(),
        };
        for &id in ids {
            env.kill(id);
        }
        // pct start never creates a bridge (as on Proxmox): the host network does.
        for b in bridges {
            let out = Command::new(NET)
                .args(["bridge", "add", b])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "pct-emulator-net bridge add {b}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        env
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.root().join(p.trim_start_matches('/'))
    }

    fn kill(&self, id: u32) {
        let _ = Command::new("lxc-stop")
            .args([
                "-P",
                &self.path("/var/lib/lxc").display().to_string(),
                "-n",
                &id.to_string(),
                "-k",
            ])
            .output();
    }

    /// Runs the emulator directly: (exit code, stdout, stderr).
    pub fn raw(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(PCT)
            .args(args)
            .env("PHOENIX_ROOT", self.root())
            .env_remove("PCT_EMU_FAIL")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Creates an unprivileged CT from the busybox template on local-zfs.
    pub fn create(&self, id: u32, extra: CtOptions) {
        let opts = CreateOptions {
            config: CtOptions {
                rootfs: Some("local-zfs:1".parse().unwrap()),
                ..extra
            },
            ..CreateOptions::default()
        };
        self.pct.create(vmid(id), TEMPLATE, &opts).unwrap();
    }

    pub fn conf(&self, id: u32) -> String {
        std::fs::read_to_string(self.path(&format!("/etc/pve/lxc/{id}.conf"))).unwrap()
    }

    /// The CT's memory limit in bytes, read from its cgroup (v1 or v2).
    pub fn memory_limit(&self, id: u32) -> u64 {
        let v2 = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "memory"));
        let key = if v2 {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        let out = Command::new("lxc-cgroup")
            .args([
                "-P",
                &self.path("/var/lib/lxc").display().to_string(),
                "-n",
                &id.to_string(),
                key,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// The host uid of the CT's init process.
    pub fn init_uid(&self, id: u32) -> u32 {
        let out = Command::new("lxc-info")
            .args([
                "-P",
                &self.path("/var/lib/lxc").display().to_string(),
                "-n",
                &id.to_string(),
                "-p",
                "-H",
            ])
            .output()
            .unwrap();
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        std::fs::metadata(format!("/proc/{pid}")).unwrap().uid()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for &id in &self.ids {
            self.kill(id);
        }
        for b in &self.bridges {
            let _ = Command::new("ip").args(["link", "del", b]).output();
        }
    }
}

pub fn vmid(id: u32) -> Vmid {
    Vmid::new(id).unwrap()
}

pub fn exec_out(env: &Env, id: u32, cmd: &[&str]) -> (i32, String) {
    let out = env.pct.exec(vmid(id), cmd).unwrap();
    let code = match out.status {
        phoenix_pct::ExitStatus::Code(c) => c,
        other => panic!("exec ended by {other:?}"),
    };
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

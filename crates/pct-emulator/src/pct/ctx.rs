//! The emulated node: conf files, locks, storage and LXC under one root.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use phoenix_idmap::IdMapEntry;
use phoenix_pveconf::Vmid;
use phoenix_pveconf::conf::CtConf;
use phoenix_pveconf::props::{Device, Features};

use crate::error::{Failure, Result};
use crate::lxc::config::{CgroupMode, MountSpec, NetSpec, StartSpec};
use crate::lxc::devices::DeviceSpec;
use crate::lxc::{Lxc, State};
use crate::pct::props::{self, MountKind};
use crate::root::{HostRoot, write_atomic};
use crate::shift::OwnerMap;
use crate::storage::Storages;

/// `make_seccomp_config`'s proxy for `features: mknod=1`.
const MKNOD_PROXY: &str = "unix:/run/pve/lxc-syscalld.sock";

/// One emulated Proxmox node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Where every host path resolves.
    pub root: HostRoot,
    /// The node name in messages (`pve`, or `PCT_EMU_NODE`).
    pub name: String,
    /// LXC on `<root>/var/lib/lxc`.
    pub lxc: Lxc,
}

/// The held flock on `pve-config-<id>.lock`; released on drop.
#[derive(Debug)]
pub struct ConfLock(#[allow(dead_code)] File);

impl Node {
    /// The node from the environment (`PHOENIX_ROOT`, `PCT_EMU_NODE`).
    pub fn from_env() -> Self {
        let root = HostRoot::from_env();
        let name = std::env::var("PCT_EMU_NODE")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "pve".into());
        Self {
            lxc: Lxc::new(root.lxc_path()),
            root,
            name,
        }
    }

    /// The host's `/etc/resolv.conf` (under the root): search list and nameservers.
    pub fn host_resolv(&self) -> (Option<String>, Vec<String>) {
        std::fs::read_to_string(self.root.join("/etc/resolv.conf"))
            .map(|t| crate::setup::parse_host_resolv(&t))
            .unwrap_or_default()
    }

    /// The storages of `storage.cfg`.
    pub fn storages(&self) -> Result<Storages> {
        Storages::load(&self.root).map_err(|e| Failure::Die(e.to_string()))
    }

    /// `Configuration file 'nodes/<node>/lxc/<id>.conf' does not exist`.
    pub fn missing(&self, vmid: u32) -> Failure {
        Failure::Die(format!(
            "Configuration file 'nodes/{}/lxc/{vmid}.conf' does not exist",
            self.name
        ))
    }

    /// True when the CT's conf exists.
    pub fn exists(&self, vmid: u32) -> bool {
        self.root.conf_path(vmid).is_file()
    }

    /// Refuses an id a CT or a VM already holds.
    pub fn check_free(&self, vmid: u32) -> Result<()> {
        if self.exists(vmid) {
            return Err(Failure::Die(format!(
                "CT {vmid} already exists on node '{}'",
                self.name
            )));
        }
        if self
            .root
            .join(format!("/etc/pve/qemu-server/{vmid}.conf"))
            .is_file()
        {
            return Err(Failure::Die(format!(
                "VM {vmid} already exists on node '{}'",
                self.name
            )));
        }
        Ok(())
    }

    /// Reads and parses the conf, printing Proxmox's parse warnings on stderr.
    pub fn load(&self, vmid: u32) -> Result<CtConf> {
        let text = match std::fs::read_to_string(self.root.conf_path(vmid)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(self.missing(vmid)),
            Err(e) => return Err(e.into()),
        };
        let parsed = CtConf::parse(&text);
        if let Ok(id) = Vmid::new(vmid) {
            for w in &parsed.warnings {
                eprintln!("{}", w.to_proxmox(id));
            }
        }
        Ok(parsed.conf)
    }

    /// Writes the conf canonically, as every Proxmox rewrite does (atomic rename).
    pub fn store(&self, vmid: u32, conf: &CtConf) -> Result<()> {
        let text = CtConf::parse(&conf.render_canonical()).conf.render();
        write_atomic(&self.root.conf_path(vmid), text.as_bytes())?;
        Ok(())
    }

    /// Takes Proxmox's config flock, giving up after 10 s as Proxmox does
    /// (`PCT_EMU_LOCK_TIMEOUT_MS` shortens the wait for tests).
    pub fn lock(&self, vmid: u32) -> Result<ConfLock> {
        let path = self.root.lock_path(vmid);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        let timeout = std::env::var("PCT_EMU_LOCK_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(10), Duration::from_millis);
        let deadline = Instant::now() + timeout;
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(ConfLock(f)),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Failure::Die(format!(
                        "can't lock file '{}' - got timeout",
                        path.display()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
            }
        }
    }

    /// `CT is locked (<v>)` when the conf holds a `lock:` (a `mounted` lock passes when
    /// `allow_mounted`).
    pub fn check_lock(conf: &CtConf, allow_mounted: bool) -> Result<()> {
        match conf.get("lock") {
            Some("mounted") if allow_mounted => Ok(()),
            Some(l) => Err(Failure::Die(format!("CT is locked ({l})"))),
            None => Ok(()),
        }
    }

    /// Sets (or with `None` removes) the persistent `lock:` key under the flock.
    pub fn set_lock(&self, vmid: u32, lock: Option<&str>) -> Result<()> {
        let _g = self.lock(vmid)?;
        let mut conf = self.load(vmid)?;
        match lock {
            Some(l) => conf
                .set("lock", l)
                .map_err(|e| Failure::Die(e.to_string()))?,
            None => {
                conf.remove("lock");
            }
        }
        self.store(vmid, &conf)
    }

    /// The real state from LXC.
    pub fn state(&self, vmid: u32) -> Result<State> {
        self.lxc
            .state(vmid)
            .map_err(|e| Failure::Die(e.to_string()))
    }

    /// The effective owner map of a CT (§4).
    pub fn owner_map(conf: &CtConf) -> OwnerMap {
        let custom: Vec<IdMapEntry> = conf
            .lxc_values("lxc.idmap")
            .iter()
            .filter_map(|v| v.parse().ok())
            .collect();
        OwnerMap::effective(conf.get("unprivileged") == Some("1"), custom)
    }

    /// The rootfs and mpN of a conf section, as `(key, volume, kind, value)`.
    pub fn mounts(
        conf: &phoenix_pveconf::conf::Section,
    ) -> Vec<(String, String, Option<MountKind>, String)> {
        conf.entries()
            .filter(|(k, _)| {
                *k == "rootfs"
                    || k.strip_prefix("mp")
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(k, v)| {
                let vol = props::get(v, Some("volume"), "volume").unwrap_or_default();
                (k.to_owned(), vol.clone(), MountKind::of(&vol), v.to_owned())
            })
            .collect()
    }

    /// The first bind or device mount point: it blocks snapshot, clone and template.
    pub fn first_bind(
        conf: &phoenix_pveconf::conf::Section,
    ) -> Option<(String, String, &'static str)> {
        Self::mounts(conf)
            .into_iter()
            .find_map(|(k, vol, kind, _)| match kind {
                Some(m @ (MountKind::Bind(_) | MountKind::Device(_))) => {
                    Some((k, vol, m.type_name()))
                }
                _ => None,
            })
    }

    /// The host directory of a storage-backed rootfs/mpN.
    pub fn volume_dir(&self, volume: &str) -> Result<PathBuf> {
        match MountKind::of(volume) {
            Some(MountKind::Volume(v)) => self
                .storages()?
                .path(&v)
                .map_err(|e| Failure::Die(e.to_string())),
            Some(MountKind::Bind(p)) | Some(MountKind::Device(p)) => Ok(self.root.join(p)),
            None => Err(Failure::Die(format!(
                "unable to parse volume ID '{volume}'"
            ))),
        }
    }

    /// The conf's `devN`, checked against the host's nodes as Proxmox's
    /// `get_device_mode_and_rdev` does, with the node's owner mapped to the host.
    pub fn devices(&self, vmid: u32, conf: &CtConf) -> Result<Vec<DeviceSpec>> {
        let map = Self::owner_map(conf);
        let mut out = Vec::new();
        for (k, v) in conf.entries() {
            if !k
                .strip_prefix("dev")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            {
                continue;
            }
            out.push(self.device(vmid, k, v, &map)?);
        }
        Ok(out)
    }

    /// One `devN` value resolved against the host.
    pub fn device(&self, vmid: u32, key: &str, value: &str, map: &OwnerMap) -> Result<DeviceSpec> {
        let dev: Device =
            value
                .parse()
                .map_err(|e: phoenix_pveconf::props::PropError| match e {
                    phoenix_pveconf::props::PropError::Missing(_) => {
                        Failure::Die(format!("Path is not defined for passthrough device {key}"))
                    }
                    other => Failure::Die(format!("{key}: {other}")),
                })?;
        // The node beneath the root (a fake GPU host's), else the machine's.
        let beneath = self.root.join(&dev.path);
        let at = if std::fs::symlink_metadata(&beneath).is_ok() {
            beneath
        } else {
            std::path::PathBuf::from(&dev.path)
        };
        let (kind, major, minor) =
            crate::lxc::devices::probe_at(&dev.path, &at).map_err(Failure::Die)?;
        Ok(DeviceSpec {
            node: self
                .root
                .lxc_dir(vmid)
                .join("passthrough")
                .join(dev.path.trim_start_matches('/')),
            kind,
            major,
            minor,
            mode: dev.mode.unwrap_or(0o660),
            uid: map.host_uid(dev.uid.unwrap_or(0)),
            gid: map.host_gid(dev.gid.unwrap_or(0)),
            deny_write: dev.deny_write == Some(true),
            path: dev.path,
        })
    }

    /// What `start` generates from a conf (§4).
    pub fn start_spec(&self, vmid: u32, conf: &CtConf) -> Result<StartSpec> {
        let arch = conf
            .get("arch")
            .ok_or_else(|| Failure::Die("missing 'arch' - internal error".into()))?;
        let ostype = conf
            .get("ostype")
            .ok_or_else(|| Failure::Die("missing 'ostype' - internal error".into()))?;
        let rootfs = conf
            .get("rootfs")
            .ok_or_else(|| Failure::Die("missing 'rootfs' configuration".into()))?;
        let rootfs_dir =
            self.volume_dir(&props::get(rootfs, Some("volume"), "volume").unwrap_or_default())?;
        // A bad value was warned about when the conf was read; it enables nothing.
        let features: Features = conf
            .get("features")
            .and_then(|f| f.parse().ok())
            .unwrap_or_default();
        let mut nets = vec![];
        for (k, v) in conf.entries() {
            let Some(index) = k.strip_prefix("net").and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let g = |key: &str| props::get(v, None, key);
            let cidr = |x: Option<String>| x.filter(|ip| ip.contains('/'));
            nets.push(NetSpec {
                index,
                name: g("name").unwrap_or_else(|| format!("eth{index}")),
                bridge: g("bridge"),
                hwaddr: g("hwaddr"),
                mtu: g("mtu"),
                ip: cidr(g("ip")),
                gw: g("gw"),
                ip6: cidr(g("ip6")),
                gw6: g("gw6"),
            });
        }
        nets.sort_by_key(|n| n.index);
        let mut mounts = vec![];
        let mut mps: Vec<_> = Self::mounts(conf)
            .into_iter()
            .filter(|(k, ..)| k != "rootfs")
            .collect();
        mps.sort_by_key(|(k, ..)| k[2..].parse::<u32>().unwrap_or(0));
        for (_, vol, kind, value) in mps {
            let target = props::get(&value, Some("volume"), "mp").unwrap_or_default();
            let source = self.volume_dir(&vol)?;
            if matches!(kind, Some(MountKind::Bind(_))) && !source.exists() {
                return Err(Failure::Die(format!("directory '{vol}' does not exist")));
            }
            mounts.push(MountSpec {
                file: source.is_file(),
                source,
                target,
                ro: props::flag(&value, Some("volume"), "ro"),
            });
        }
        let num = |k: &str, d: u64| conf.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
        Ok(StartSpec {
            vmid,
            arch: arch.to_owned(),
            ostype: ostype.to_owned(),
            unprivileged: conf.get("unprivileged") == Some("1"),
            raw: conf
                .lxc()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            hostname: conf.get("hostname").map(str::to_owned),
            memory: num("memory", 512),
            swap: num("swap", 0),
            tty: num("tty", 2) as u32,
            fuse: (features.fuse == Some(true))
                .then(|| crate::lxc::devices::fuse_source(&self.root.lxc_dir(vmid))),
            mknod_proxy: Some(MKNOD_PROXY)
                .filter(|p| Path::new(p.trim_start_matches("unix:")).exists())
                .map(str::to_owned),
            devices: self.devices(vmid, conf)?,
            features,
            rootfs: rootfs_dir,
            nets,
            mounts,
            lxc_dir: self.root.lxc_dir(vmid),
            cgroup: CgroupMode::detect(),
            lxc_share: PathBuf::from("/usr/share/lxc/config"),
        })
    }

    /// Rewrites `var/lib/lxc/<id>/config` (and `rules.seccomp`), or removes it for a
    /// template, as Proxmox does on start, set and post-stop.
    pub fn update_lxc_config(&self, vmid: u32, conf: &CtConf) -> Result<()> {
        let dir = self.root.lxc_dir(vmid);
        if conf.get("template") == Some("1") {
            let _ = std::fs::remove_file(dir.join("config"));
            return Ok(());
        }
        let spec = self.start_spec(vmid, conf)?;
        std::fs::create_dir_all(&dir)?;
        if spec.userns() {
            let common =
                std::fs::read_to_string(spec.lxc_share.join("common.seccomp")).unwrap_or_default();
            write_atomic(
                &dir.join("rules.seccomp"),
                crate::lxc::config::seccomp_rules(
                    &common,
                    spec.features.keyctl == Some(true),
                    spec.features.mknod == Some(true) && spec.mknod_proxy.is_some(),
                )
                .as_bytes(),
            )?;
        }
        write_atomic(
            &dir.join("config"),
            crate::lxc::config::render(&spec).as_bytes(),
        )?;
        Ok(())
    }
}

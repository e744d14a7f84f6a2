//! The generated LXC config, `/var/lib/lxc/<id>/config`, as Proxmox's
//! `update_lxc_config` writes it (§4 of the reference), adapted to what this host runs.
//!
//! Where the emulator departs from Proxmox, and why:
//! - `lxc.rootfs.path` is the volume's directory itself: Proxmox points it at
//!   `/var/lib/lxc/<id>/rootfs` and mounts the volume there from its prestart hook,
//!   which the emulator does not have.
//! - mpN are `lxc.mount.entry` bind lines (Proxmox mounts them from the same hook).
//! - A NIC gets `link`, `flags = up` and its `ipv4`/`ipv6` address and gateway from the
//!   conf: Proxmox attaches it with the `lxcnetaddbr` up-script and writes the
//!   addresses into the guest's own network files.
//! - Memory limits follow the host's cgroup layout: on a cgroup v1 (hybrid) host
//!   `lxc.cgroup2.*` keys make `lxc-start` fail, so the v1 keys Proxmox wrote before
//!   PVE 7 are used there (`memory.limit_in_bytes`, `memory.memsw.limit_in_bytes`).
//! - The seccomp file and every path are under the emulator's root.
//! - `cores` does not pin a cpuset (Proxmox's cpuset balancer is not emulated).
//! - `features: mknod=1` writes Proxmox's `lxc.seccomp.notify.*` lines and rules only when
//!   the syscall proxy socket `/run/pve/lxc-syscalld.sock` exists: LXC refuses to start
//!   a CT whose proxy is missing, and the emulator has no `pve-lxc-syscalld`.
//! - Devices and the fuse node: see [`super::devices`].
//!
//! The feature lines follow pve-container's `update_lxc_config`, `make_seccomp_config`
//! and `make_apparmor_config` (`PVE/LXC.pm`): `nesting=1` gives
//! `lxc.apparmor.allow_nesting = 1` (otherwise /proc and /sys mounts are denied),
//! `mount=nfs;cifs` one `lxc.apparmor.raw = mount fstype=<fs>,` each (none of these when a
//! raw `lxc.apparmor.profile` overrides the profile), `fuse=1` the fuse mount rule and a
//! bind of the node, `keyctl=1` drops the `keyctl errno 38` seccomp rule, and
//! `force_rw_sys=1` drops `lxc.mount.auto = sys:mixed`.

use std::fmt::Write as _;
use std::path::PathBuf;

use phoenix_pveconf::props::Features;

use super::devices::DeviceSpec;

/// Which cgroup hierarchy holds the memory controller on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// cgroup v1 (legacy or hybrid); `swap_accounting` when the memory controller has
    /// `memory.memsw.limit_in_bytes` (without it that key makes `lxc-start` fail).
    V1 {
        /// The host accounts swap (`memsw` files exist).
        swap_accounting: bool,
    },
    /// The unified hierarchy.
    V2,
}

impl CgroupMode {
    /// Looks at `/sys/fs/cgroup`: v2 when its root lists the memory controller.
    pub fn detect() -> Self {
        match std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers") {
            Ok(c) if c.split_whitespace().any(|x| x == "memory") => Self::V2,
            _ => Self::V1 {
                swap_accounting: std::path::Path::new(
                    "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
                )
                .exists(),
            },
        }
    }
}

/// One NIC of the generated config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetSpec {
    /// N of netN.
    pub index: u32,
    /// The name inside the CT (`eth0`).
    pub name: String,
    /// The host bridge.
    pub bridge: Option<String>,
    /// The MAC address.
    pub hwaddr: Option<String>,
    /// The MTU.
    pub mtu: Option<String>,
    /// `a.b.c.d/n` (not dhcp or manual).
    pub ip: Option<String>,
    /// IPv4 gateway.
    pub gw: Option<String>,
    /// IPv6 CIDR (not auto, dhcp or manual).
    pub ip6: Option<String>,
    /// IPv6 gateway.
    pub gw6: Option<String>,
}

/// One bind mount of the generated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// The host path (under the root).
    pub source: PathBuf,
    /// The absolute path inside the CT.
    pub target: String,
    /// Read-only.
    pub ro: bool,
    /// The source is a file, not a directory.
    pub file: bool,
}

/// Everything the generated config is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartSpec {
    /// The CT id.
    pub vmid: u32,
    /// `arch` of the conf.
    pub arch: String,
    /// `ostype` of the conf.
    pub ostype: String,
    /// `unprivileged: 1`.
    pub unprivileged: bool,
    /// The conf's raw `lxc.*` entries in order.
    pub raw: Vec<(String, String)>,
    /// `hostname`, else `CT<id>`.
    pub hostname: Option<String>,
    /// `memory` in MiB (default 512).
    pub memory: u64,
    /// `swap` in MiB (default 0).
    pub swap: u64,
    /// `tty` (default 2).
    pub tty: u32,
    /// `features`.
    pub features: Features,
    /// With `fuse=1`: the node bound at `/dev/fuse`.
    pub fuse: Option<PathBuf>,
    /// `devN`, resolved against the host.
    pub devices: Vec<DeviceSpec>,
    /// The seccomp proxy socket, when `mknod=1` and it exists.
    pub mknod_proxy: Option<String>,
    /// The rootfs volume's directory.
    pub rootfs: PathBuf,
    /// The NICs, by index.
    pub nets: Vec<NetSpec>,
    /// The mpN bind mounts.
    pub mounts: Vec<MountSpec>,
    /// `<root>/var/lib/lxc/<id>`.
    pub lxc_dir: PathBuf,
    /// The host's cgroup layout.
    pub cgroup: CgroupMode,
    /// `/usr/share/lxc/config` (the includes), checked for `<ostype>.common.conf`.
    pub lxc_share: PathBuf,
}

impl StartSpec {
    /// True when the generated config treats the CT as unprivileged: the flag or any
    /// `lxc.idmap` entry (§4).
    pub fn userns(&self) -> bool {
        self.unprivileged || self.has_custom_idmap()
    }

    /// Any raw `lxc.idmap` entry.
    pub fn has_custom_idmap(&self) -> bool {
        self.raw.iter().any(|(k, _)| k == "lxc.idmap")
    }

    fn include(&self, name: &str, fallback: &str) -> String {
        let p = self.lxc_share.join(name);
        let chosen = if p.is_file() {
            p
        } else {
            self.lxc_share.join(fallback)
        };
        chosen.display().to_string()
    }
}

/// The seccomp rules Proxmox writes to `rules.seccomp` for an unprivileged CT: the
/// common profile, plus `keyctl errno 38` unless the keyctl feature is on (so systemd
/// falls back instead of failing on keyctl in a user namespace), plus the `mknod` and
/// `mknodat` notify rules with `mknod_notify` (sorted by syscall, as Proxmox joins them).
pub fn seccomp_rules(common: &str, keyctl: bool, mknod_notify: bool) -> String {
    let mut s = common.to_owned();
    if !s.ends_with('\n') && !s.is_empty() {
        s.push('\n');
    }
    if !keyctl {
        s.push_str("keyctl errno 38\n");
    }
    if mknod_notify {
        s.push_str(
            "mknod notify [1,8192,SCMP_CMP_MASKED_EQ,61440]\n\
             mknod notify [1,24576,SCMP_CMP_MASKED_EQ,61440]\n\
             mknodat notify [2,8192,SCMP_CMP_MASKED_EQ,61440]\n\
             mknodat notify [2,24576,SCMP_CMP_MASKED_EQ,61440]\n",
        );
    }
    s
}

/// Renders the config. Pure: the caller writes it (and `rules.seccomp`).
pub fn render(spec: &StartSpec) -> String {
    let mut r = String::new();
    let id = spec.vmid;
    let f = &spec.features;
    let dir = spec.lxc_dir.display();
    let _ = writeln!(r, "lxc.cgroup.relative = 0");
    let _ = writeln!(r, "lxc.cgroup.dir.monitor = lxc.monitor/{id}");
    let _ = writeln!(r, "lxc.cgroup.dir.container = lxc/{id}");
    let _ = writeln!(r, "lxc.cgroup.dir.container.inner = ns");
    let _ = writeln!(r, "lxc.arch = {}", spec.arch);
    let _ = writeln!(
        r,
        "lxc.include = {}",
        spec.include(&format!("{}.common.conf", spec.ostype), "common.conf")
    );
    if spec.userns() {
        let _ = writeln!(
            r,
            "lxc.include = {}",
            spec.include(&format!("{}.userns.conf", spec.ostype), "userns.conf")
        );
        if let Some(proxy) = spec.mknod_proxy.as_ref().filter(|_| f.mknod == Some(true)) {
            let _ = writeln!(r, "lxc.seccomp.notify.proxy = {proxy}");
            let _ = writeln!(r, "lxc.seccomp.notify.cookie = {id}");
        }
        let _ = writeln!(r, "lxc.seccomp.profile = {dir}/rules.seccomp");
    }
    // AppArmor: Proxmox's generated profile. Without AppArmor in the kernel LXC picks its
    // `nop` security driver and ignores these lines, so they are kept as Proxmox writes them.
    if !spec.raw.iter().any(|(k, _)| k == "lxc.apparmor.profile") {
        let _ = writeln!(r, "lxc.apparmor.profile = generated");
        if f.nesting == Some(true) {
            let _ = writeln!(r, "lxc.apparmor.allow_nesting = 1");
        } else {
            let _ = writeln!(r, "lxc.apparmor.raw = deny mount -> /proc/,");
            let _ = writeln!(r, "lxc.apparmor.raw = deny mount -> /sys/,");
        }
        for fs in &f.mount {
            let _ = writeln!(r, "lxc.apparmor.raw = mount fstype={fs},");
        }
    }
    if let Some(node) = &spec.fuse {
        let _ = writeln!(r, "lxc.apparmor.raw = mount fstype=fuse,");
        let _ = writeln!(
            r,
            "lxc.mount.entry = {} dev/fuse none bind,create=file 0 0",
            node.display()
        );
    }
    if spec.userns() && f.force_rw_sys != Some(true) {
        let _ = writeln!(r, "lxc.mount.auto = sys:mixed");
    }
    let allow = match spec.cgroup {
        CgroupMode::V1 { .. } => "lxc.cgroup.devices.allow",
        CgroupMode::V2 => "lxc.cgroup2.devices.allow",
    };
    for d in &spec.devices {
        let _ = writeln!(r, "{allow} = {}", d.allow_rule());
        let ro = if d.deny_write { ",ro" } else { "" };
        let _ = writeln!(
            r,
            "lxc.mount.entry = {} {} none bind,create=file{ro} 0 0",
            d.node.display(),
            d.path.trim_start_matches('/')
        );
    }
    let _ = writeln!(r, "lxc.monitor.unshare = 1");
    // The default map lives only here, never in the .conf (§4).
    if spec.unprivileged && !spec.has_custom_idmap() {
        let _ = writeln!(r, "lxc.idmap = u 0 100000 65536");
        let _ = writeln!(r, "lxc.idmap = g 0 100000 65536");
    }
    let _ = writeln!(r, "lxc.tty.max = {}", spec.tty);
    let _ = writeln!(r, "lxc.environment = TERM=linux");
    let host = spec.hostname.clone().unwrap_or_else(|| format!("CT{id}"));
    let _ = writeln!(r, "lxc.uts.name = {host}");
    let mem = spec.memory * 1024 * 1024;
    match spec.cgroup {
        CgroupMode::V1 { swap_accounting } => {
            let _ = writeln!(r, "lxc.cgroup.memory.limit_in_bytes = {mem}");
            if swap_accounting {
                let _ = writeln!(
                    r,
                    "lxc.cgroup.memory.memsw.limit_in_bytes = {}",
                    (spec.memory + spec.swap) * 1024 * 1024
                );
            }
        }
        CgroupMode::V2 => {
            let _ = writeln!(r, "lxc.cgroup2.memory.max = {mem}");
            let _ = writeln!(r, "lxc.cgroup2.memory.high = {}", mem / 1000 * 995);
            let _ = writeln!(
                r,
                "lxc.cgroup2.memory.swap.max = {}",
                spec.swap * 1024 * 1024
            );
        }
    }
    let _ = writeln!(r, "lxc.rootfs.path = {}", spec.rootfs.display());
    for n in &spec.nets {
        let i = n.index;
        let _ = writeln!(r, "lxc.net.{i}.type = veth");
        let _ = writeln!(r, "lxc.net.{i}.veth.pair = veth{id}i{i}");
        if let Some(h) = &n.hwaddr {
            let _ = writeln!(r, "lxc.net.{i}.hwaddr = {h}");
        }
        let _ = writeln!(r, "lxc.net.{i}.name = {}", n.name);
        if let Some(m) = &n.mtu {
            let _ = writeln!(r, "lxc.net.{i}.mtu = {m}");
        }
        if let Some(b) = &n.bridge {
            let _ = writeln!(r, "lxc.net.{i}.link = {b}");
        }
        let _ = writeln!(r, "lxc.net.{i}.flags = up");
        if let Some(ip) = &n.ip {
            let _ = writeln!(r, "lxc.net.{i}.ipv4.address = {ip}");
        }
        if let Some(gw) = &n.gw {
            let _ = writeln!(r, "lxc.net.{i}.ipv4.gateway = {gw}");
        }
        if let Some(ip) = &n.ip6 {
            let _ = writeln!(r, "lxc.net.{i}.ipv6.address = {ip}");
        }
        if let Some(gw) = &n.gw6 {
            let _ = writeln!(r, "lxc.net.{i}.ipv6.gateway = {gw}");
        }
    }
    for m in &spec.mounts {
        let target = m.target.trim_start_matches('/');
        let kind = if m.file { "file" } else { "dir" };
        let ro = if m.ro { ",ro" } else { "" };
        let _ = writeln!(
            r,
            "lxc.mount.entry = {} {target} none rbind,create={kind}{ro} 0 0",
            m.source.display()
        );
    }
    // Raw lines last, in conf order: custom idmaps appear here (§4).
    for (k, v) in &spec.raw {
        let _ = writeln!(r, "{k} = {v}");
    }
    r
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

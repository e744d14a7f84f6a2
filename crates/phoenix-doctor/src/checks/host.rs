//! Facts of the host itself: Proxmox and kernel versions, cgroups, AppArmor, lxc-pve, ZFS.

use std::cmp::Ordering;

use crate::facts::HostFacts;
use crate::report::{Check, Verdict};
use crate::version::{compare, major_minor};

/// The lxc-pve release that fixes Docker in containers once containerd 1.7.28-2 or
/// later (runc with the CVE-2025-52881 fix) is installed inside.
pub const LXC_PVE_DOCKER_FIX: &str = "6.0.5-2";

/// `pveversion`: absent means this is not a Proxmox host (the pct emulator, say).
pub fn pve(h: &dyn HostFacts) -> Check {
    match h.command(&["pveversion"]) {
        Ok(o) if o.success => Check::new("pve", Verdict::Ok, o.stdout.trim(), "a Proxmox VE host"),
        Ok(o) => Check::new(
            "pve",
            Verdict::Warn,
            "unknown",
            format!("pveversion failed: {}", o.stderr.trim()),
        ),
        Err(_) => Check::new(
            "pve",
            Verdict::Warn,
            "absent",
            "not a Proxmox host (pct emulator?)",
        ),
    }
}

/// `uname -r`: overlayfs in a user namespace (Docker's overlay2 in an unprivileged
/// container) needs Linux 5.11 or later.
pub fn kernel(h: &dyn HostFacts) -> Check {
    match h.command(&["uname", "-r"]) {
        Ok(o) if o.success => {
            let v = o.stdout.trim().to_owned();
            match major_minor(&v) {
                Some(mm) if mm >= (5, 11) => Check::new(
                    "kernel",
                    Verdict::Ok,
                    v,
                    "overlayfs in user namespaces (5.11 or later)",
                ),
                _ => Check::new(
                    "kernel",
                    Verdict::Warn,
                    v,
                    "older than 5.11: Docker's overlay2 cannot run in unprivileged containers (fuse-overlayfs can)",
                ),
            }
        }
        Ok(o) => Check::new(
            "kernel",
            Verdict::Fail,
            "unknown",
            format!("uname -r failed: {}", o.stderr.trim()),
        ),
        Err(e) => Check::new("kernel", Verdict::Fail, "unknown", format!("uname -r: {e}")),
    }
}

/// `/sys/fs/cgroup`: the unified hierarchy (v2) is what Proxmox VE 7 and later run.
pub fn cgroup(h: &dyn HostFacts) -> Check {
    if h.exists("/sys/fs/cgroup/cgroup.controllers") {
        return Check::new(
            "cgroup",
            Verdict::Ok,
            "v2 (unified)",
            "the layout Proxmox VE 7 and later use",
        );
    }
    let hybrid = h.exists("/sys/fs/cgroup/unified");
    if hybrid || h.exists("/sys/fs/cgroup/memory") {
        let value = if hybrid { "v1 (hybrid)" } else { "v1 (legacy)" };
        return Check::new(
            "cgroup",
            Verdict::Warn,
            value,
            "Proxmox VE 7 and later use cgroup v2; on v1 memory limits use the v1 keys and a systemd container lacks cpu/cpuacct without lxc.mount.auto cgroup:mixed:force",
        );
    }
    Check::new(
        "cgroup",
        Verdict::Fail,
        "absent",
        "no cgroup hierarchy at /sys/fs/cgroup: LXC cannot start containers",
    )
}

/// `/sys/module/apparmor/parameters/enabled`: phoenix installs AppArmor profiles for
/// its containers; without AppArmor in the kernel they are not enforced.
pub fn apparmor(h: &dyn HostFacts) -> Check {
    match h
        .read_file("/sys/module/apparmor/parameters/enabled")
        .map(|s| s.trim().to_owned())
    {
        Some(v) if v == "Y" => Check::new(
            "apparmor",
            Verdict::Ok,
            "enabled",
            "container profiles are enforced",
        ),
        Some(v) => Check::new(
            "apparmor",
            Verdict::Warn,
            format!("disabled ({v})"),
            "AppArmor is off: phoenix's container profiles are not enforced",
        ),
        None => Check::new(
            "apparmor",
            Verdict::Warn,
            "absent",
            "the kernel has no AppArmor: phoenix's container profiles are not enforced",
        ),
    }
}

/// The lxc-pve package version (`dpkg-query`): older than [`LXC_PVE_DOCKER_FIX`] breaks
/// Docker in containers once containerd 1.7.28-2 or later is installed inside.
pub fn lxc_pve(h: &dyn HostFacts) -> Check {
    let installed = h
        .command(&["dpkg-query", "-W", "-f=${Version}", "lxc-pve"])
        .ok()
        .filter(|o| o.success && !o.stdout.trim().is_empty())
        .map(|o| o.stdout.trim().to_owned());
    match installed {
        Some(v) if compare(&v, LXC_PVE_DOCKER_FIX) == Ordering::Less => Check::new(
            "lxc-pve",
            Verdict::Warn,
            v,
            format!(
                "older than {LXC_PVE_DOCKER_FIX}: Docker in containers breaks once containerd 1.7.28-2 or later is installed inside (runc's CVE-2025-52881 fix: 'open sysctl net.ipv4.ip_unprivileged_port_start file: reopen fd 8: permission denied'); upgrade lxc-pve"
            ),
        ),
        Some(v) => Check::new(
            "lxc-pve",
            Verdict::Ok,
            v,
            format!("{LXC_PVE_DOCKER_FIX} or later: Docker with current containerd works"),
        ),
        None => {
            let lxc = h
                .command(&["lxc-start", "--version"])
                .ok()
                .filter(|o| o.success)
                .map(|o| format!("absent (LXC {})", o.stdout.trim()))
                .unwrap_or_else(|| "absent".to_owned());
            Check::new(
                "lxc-pve",
                Verdict::Warn,
                lxc,
                "lxc-pve is not installed (not a Proxmox host): the Docker fix of lxc-pve 6.0.5-2 cannot be checked",
            )
        }
    }
}

/// `/sys/module/zfs/version`: overlay2 for Docker on a ZFS-backed rootfs needs ZFS 2.2
/// (RENAME_WHITEOUT). `zfs_used` says whether a storage of type zfspool is configured.
pub fn zfs(h: &dyn HostFacts, zfs_used: bool) -> Check {
    match h
        .read_file("/sys/module/zfs/version")
        .map(|s| s.trim().to_owned())
    {
        Some(v) => match major_minor(&v) {
            Some(mm) if mm >= (2, 2) => Check::new(
                "zfs",
                Verdict::Ok,
                v,
                "2.2 or later: overlay2 works on a ZFS rootfs",
            ),
            _ => Check::new(
                "zfs",
                Verdict::Warn,
                v,
                "older than 2.2: Docker's overlay2 on a ZFS rootfs fails (use fuse-overlayfs)",
            ),
        },
        None if zfs_used => Check::new(
            "zfs",
            Verdict::Warn,
            "absent",
            "a zfspool storage is configured but the zfs module is not loaded (pct emulator?)",
        ),
        None => Check::new(
            "zfs",
            Verdict::Ok,
            "absent",
            "no ZFS module and no zfspool storage",
        ),
    }
}

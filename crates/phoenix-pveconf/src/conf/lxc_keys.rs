//! Which raw `lxc.*` keys Proxmox keeps in a CT conf: `$valid_lxc_conf_keys`,
//! `$deprecated_lxc_conf_keys` and `is_valid_lxc_conf_key` in pve-container
//! `src/PVE/LXC/Config.pm` (PVE 9, the version with `lxc.environment.runtime`/`.hooks`),
//! copied key for key, so phoenix never writes a line Proxmox drops at its next rewrite.
//! The init keys of PVE 9.1's OCI containers (`lxc.init.uid`, `lxc.init.gid`,
//! `lxc.init.groups`) are kept as the reference's `init.*` says; the stored Config.pm
//! predates them.
//!
//! Notably absent, so refused here: `lxc.tty.dir` (Proxmox lists `lxc.devtty.dir`), every
//! `lxc.sysctl.*` key outside the nine IPC ones, and `lxc.rootfs` (no rename entry).
//! This list is PVE 9's. PVE 8 (pve-container 5.x) probably keeps fewer (no
//! `lxc.environment.runtime`/`.hooks`, no `lxc.init.uid`/`gid`/`groups`; not verified).

use super::warning::WarningKind;

/// What Proxmox does with a raw `lxc.*` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LxcKeyValidity {
    /// Kept silently.
    Accepted,
    /// Kept, with a warning on every read.
    Warned(WarningKind),
    /// Refused with its own message and dropped on the next rewrite.
    Rejected(WarningKind),
    /// Not whitelisted: "unable to parse config", dropped on the next rewrite.
    Unknown,
}

/// Keys accepted as they are.
const ACCEPTED: &[&str] = &[
    "lxc.apparmor.profile",
    "lxc.apparmor.allow_incomplete",
    "lxc.apparmor.allow_nesting",
    "lxc.apparmor.raw",
    "lxc.selinux.context",
    "lxc.include",
    "lxc.arch",
    "lxc.uts.name",
    "lxc.signal.halt",
    "lxc.signal.reboot",
    "lxc.signal.stop",
    "lxc.init.cmd",
    "lxc.init.cwd",
    "lxc.init.uid",
    "lxc.init.gid",
    "lxc.init.groups",
    "lxc.pty.max",
    "lxc.console.logfile",
    "lxc.console.path",
    "lxc.tty.max",
    "lxc.devtty.dir",
    "lxc.hook.autodev",
    "lxc.autodev",
    "lxc.kmsg",
    "lxc.mount.fstab",
    "lxc.mount.entry",
    "lxc.mount.auto",
    "lxc.rootfs.mount",
    "lxc.cap.drop",
    "lxc.cap.keep",
    "lxc.seccomp.profile",
    "lxc.seccomp.notify.proxy",
    "lxc.seccomp.notify.cookie",
    "lxc.idmap",
    "lxc.hook.pre-start",
    "lxc.hook.pre-mount",
    "lxc.hook.mount",
    "lxc.hook.start",
    "lxc.hook.stop",
    "lxc.hook.post-stop",
    "lxc.hook.clone",
    "lxc.hook.destroy",
    "lxc.hook.version",
    "lxc.log.level",
    "lxc.log.file",
    "lxc.start.auto",
    "lxc.start.delay",
    "lxc.start.order",
    "lxc.group",
    "lxc.environment",
    "lxc.environment.runtime",
    "lxc.environment.hooks",
    // All these are namespaced via CLONE_NEWIPC (Proxmox's comment).
    "lxc.sysctl.fs.mqueue",
    "lxc.sysctl.kernel.msgmax",
    "lxc.sysctl.kernel.msgmnb",
    "lxc.sysctl.kernel.msgmni",
    "lxc.sysctl.kernel.sem",
    "lxc.sysctl.kernel.shmall",
    "lxc.sysctl.kernel.shmmax",
    "lxc.sysctl.kernel.shmmni",
    "lxc.sysctl.kernel.shm_rmid_forced",
];

/// Prefixes accepted with any suffix (`lxc.cgroup.` too, handled apart).
const ACCEPTED_PREFIXES: &[&str] = &["lxc.cgroup2.", "lxc.prlimit.", "lxc.net."];

/// Keys lxc 3.0 renamed; Proxmox still keeps them but warns.
const RENAMED: &[(&str, &str)] = &[
    ("lxc.aa_profile", "lxc.apparmor.profile"),
    ("lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete"),
    ("lxc.console", "lxc.console.path"),
    ("lxc.devttydir", "lxc.tty.dir"),
    ("lxc.haltsignal", "lxc.signal.halt"),
    ("lxc.rebootsignal", "lxc.signal.reboot"),
    ("lxc.stopsignal", "lxc.signal.stop"),
    ("lxc.id_map", "lxc.idmap"),
    ("lxc.init_cmd", "lxc.init.cmd"),
    ("lxc.loglevel", "lxc.log.level"),
    ("lxc.logfile", "lxc.log.file"),
    ("lxc.mount", "lxc.mount.fstab"),
    ("lxc.network.type", "lxc.net.INDEX.type"),
    ("lxc.network.flags", "lxc.net.INDEX.flags"),
    ("lxc.network.link", "lxc.net.INDEX.link"),
    ("lxc.network.mtu", "lxc.net.INDEX.mtu"),
    ("lxc.network.name", "lxc.net.INDEX.name"),
    ("lxc.network.hwaddr", "lxc.net.INDEX.hwaddr"),
    ("lxc.network.ipv4", "lxc.net.INDEX.ipv4.address"),
    ("lxc.network.ipv4.gateway", "lxc.net.INDEX.ipv4.gateway"),
    ("lxc.network.ipv6", "lxc.net.INDEX.ipv6.address"),
    ("lxc.network.ipv6.gateway", "lxc.net.INDEX.ipv6.gateway"),
    ("lxc.network.script.up", "lxc.net.INDEX.script.up"),
    ("lxc.network.script.down", "lxc.net.INDEX.script.down"),
    ("lxc.pts", "lxc.pty.max"),
    ("lxc.se_context", "lxc.selinux.context"),
    ("lxc.seccomp", "lxc.seccomp.profile"),
    ("lxc.tty", "lxc.tty.max"),
    ("lxc.utsname", "lxc.uts.name"),
];

/// What Proxmox does with a raw `lxc.*` key, for callers outside this crate (the
/// config validator refuses a line Proxmox would drop: nothing is lost silently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LxcKeyFate {
    /// Kept as written.
    Kept,
    /// Kept, with this warning on every read (an old name, a cgroup v1 key).
    KeptWithWarning(String),
    /// Dropped at Proxmox's next rewrite of the conf, for this reason.
    Dropped(String),
}

/// What Proxmox does with the raw key `key` (which starts with `lxc.`).
///
/// ```
/// use phoenix_pveconf::conf::{LxcKeyFate, lxc_key_fate};
/// assert_eq!(lxc_key_fate("lxc.cgroup2.devices.allow"), LxcKeyFate::Kept);
/// assert!(matches!(lxc_key_fate("lxc.tty.dir"), LxcKeyFate::Dropped(_)));
/// ```
pub fn lxc_key_fate(key: &str) -> LxcKeyFate {
    match lxc_key_validity(key) {
        LxcKeyValidity::Accepted => LxcKeyFate::Kept,
        LxcKeyValidity::Warned(w) => LxcKeyFate::KeptWithWarning(w.proxmox_text()),
        LxcKeyValidity::Rejected(w) => LxcKeyFate::Dropped(w.proxmox_text()),
        LxcKeyValidity::Unknown => LxcKeyFate::Dropped(format!(
            "{key} is not a key Proxmox keeps: it warns \"unable to parse config\" and drops the line at its next rewrite"
        )),
    }
}

/// Decides what Proxmox does with `key` (which starts with `lxc.`).
pub(crate) fn lxc_key_validity(key: &str) -> LxcKeyValidity {
    let key_owned = || key.to_owned();
    if key == "lxc.rootfs.path" {
        return LxcKeyValidity::Rejected(WarningKind::RejectedLxcKey {
            key: key_owned(),
            reason: "lxc.rootfs.path is auto generated from rootfs",
        });
    }
    if key == "lxc.rootfs.options" {
        return LxcKeyValidity::Rejected(WarningKind::RejectedLxcKey {
            key: key_owned(),
            reason: "lxc.rootfs.options is not supported, please use mount point options in the \"rootfs\" key",
        });
    }
    if key.starts_with("lxc.limit.") {
        return LxcKeyValidity::Warned(WarningKind::RenamedLxcKey {
            key: key_owned(),
            replacement: "lxc.prlimit.*",
        });
    }
    if let Some((_, new)) = RENAMED.iter().find(|(old, _)| *old == key) {
        return LxcKeyValidity::Warned(WarningKind::RenamedLxcKey {
            key: key_owned(),
            replacement: new,
        });
    }
    if key.starts_with("lxc.cgroup.") {
        return LxcKeyValidity::Warned(WarningKind::CgroupV1Key { key: key_owned() });
    }
    if ACCEPTED.contains(&key) || ACCEPTED_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return LxcKeyValidity::Accepted;
    }
    LxcKeyValidity::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_phoenix_writes_are_accepted() {
        for key in [
            "lxc.idmap",
            "lxc.apparmor.profile",
            "lxc.apparmor.allow_nesting",
            "lxc.mount.entry",
            "lxc.cgroup2.devices.allow",
            "lxc.net.0.type",
            "lxc.prlimit.nofile",
        ] {
            assert_eq!(lxc_key_validity(key), LxcKeyValidity::Accepted, "{key}");
        }
    }

    #[test]
    fn the_list_is_proxmox_s_exactly() {
        for key in [
            "lxc.devtty.dir",
            "lxc.init.cwd",
            "lxc.init.groups",
            "lxc.sysctl.kernel.shm_rmid_forced",
            "lxc.sysctl.fs.mqueue",
            "lxc.environment.hooks",
            "lxc.seccomp.notify.cookie",
        ] {
            assert_eq!(lxc_key_validity(key), LxcKeyValidity::Accepted, "{key}");
        }
        // not in Proxmox's list: "unable to parse config", lost at the next rewrite
        for key in [
            "lxc.tty.dir",
            "lxc.sysctl.net.ipv4.ip_forward",
            "lxc.sysctl.kernel.domainname",
            "lxc.rootfs",
            "lxc.cgroupx.a",
        ] {
            assert_eq!(lxc_key_validity(key), LxcKeyValidity::Unknown, "{key}");
        }
        assert_eq!(
            lxc_key_validity("lxc.rootfs.options"),
            LxcKeyValidity::Rejected(WarningKind::RejectedLxcKey {
                key: "lxc.rootfs.options".into(),
                reason: "lxc.rootfs.options is not supported, please use mount point options in the \"rootfs\" key",
            })
        );
    }

    #[test]
    fn old_and_refused_keys() {
        assert!(matches!(
            lxc_key_validity("lxc.id_map"),
            LxcKeyValidity::Warned(_)
        ));
        assert!(matches!(
            lxc_key_validity("lxc.cgroup.devices.allow"),
            LxcKeyValidity::Warned(_)
        ));
        assert!(matches!(
            lxc_key_validity("lxc.rootfs.path"),
            LxcKeyValidity::Rejected(_)
        ));
        assert_eq!(lxc_key_validity("lxc.bogus"), LxcKeyValidity::Unknown);
    }
}

//! Host directories phoenix creates, chowns and chmods for mounts: never a system
//! location, and a risky mode is a warning.
//!
//! phoenix runs as root: a `host_path: "/etc"` with `mode: "0777"` would be a chmod of
//! the host's `/etc`, and a bind mount of it hands the container the host's
//! configuration. These are refused here, in `validate`, before any plan.

use super::{Ctx, ct};
use crate::diagnostic::escape_segment;
use crate::names::{AbsPath, FileMode};
use crate::schema::ConfigFile::{self, Hypervisor, Lxc};

/// System trees: the location and everything beneath it is refused.
const SYSTEM_TREES: &[&str] = &[
    "/etc",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/dev",
    "/proc",
    "/sys",
    "/run",
    "/root",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/include",
    "/usr/share",
    "/usr/src",
    "/var/lib/lxc",
    "/var/lib/vz",
    "/var/lib/pve-cluster",
    "/var/lib/dpkg",
    "/var/lib/apt",
    "/var/log",
    "/var/cache",
    "/var/spool",
];

/// Top-level directories that hold other users' or the system's data: the location
/// itself is refused (a directory beneath it is fine).
const SYSTEM_DIRS: &[&str] = &[
    "/usr",
    "/usr/local",
    "/var",
    "/var/lib",
    "/home",
    "/srv",
    "/mnt",
    "/mnt/pve",
    "/opt",
    "/tmp",
    "/var/tmp",
    "/media",
];

/// Why `path` is a system location, `None` when it is not one.
pub(crate) fn system_location(path: &str) -> Option<String> {
    if path == "/" {
        return Some("the host's root directory".to_owned());
    }
    let beneath = |p: &str, tree: &str| p == tree || p.starts_with(&format!("{tree}/"));
    if let Some(tree) = SYSTEM_TREES.iter().find(|t| beneath(path, t)) {
        return Some(format!("{tree} is a system location"));
    }
    if SYSTEM_DIRS.contains(&path) {
        return Some(format!("{path} holds the system's or other users' data"));
    }
    // An ancestor of a system tree (say /var for /var/lib/lxc) contains it.
    SYSTEM_TREES
        .iter()
        .find(|t| beneath(t, path))
        .map(|t| format!("it contains the system location {t}"))
}

fn check(
    ctx: &mut Ctx<'_>,
    file: ConfigFile,
    base: &str,
    host_path: &AbsPath,
    mode: Option<&FileMode>,
) {
    let pointer = format!("{base}/host_path");
    if let Some(why) = system_location(host_path.as_str()) {
        ctx.error(
            file,
            &pointer,
            format!(
                "host path {host_path} at {pointer}: {why}; phoenix creates, chowns and bind-mounts this directory as root, so it must be a directory of its own like /srv/phoenix/<name>"
            ),
        );
    }
    let Some(mode) = mode else { return };
    let Ok(bits) = u32::from_str_radix(mode.as_str(), 8) else {
        return;
    };
    let pointer = format!("{base}/mode");
    for (bit, what) in [
        (
            0o002,
            "world-writable: any host user can change what the container sees",
        ),
        (
            0o4000,
            "setuid: meaningless on a directory and a sign of a mistyped mode",
        ),
        (
            0o2000,
            "setgid: new files take the directory's group, not their creator's",
        ),
    ] {
        if bits & bit != 0 {
            ctx.warning(
                file,
                &pointer,
                format!("mode {mode} at {pointer} of {host_path}: {what}"),
            );
        }
    }
}

pub(super) fn host_paths(ctx: &mut Ctx<'_>) {
    let containers: Vec<_> = ctx.containers().collect();
    for (id, c) in containers {
        for (i, m) in c.mount_points.iter().enumerate() {
            let base = format!("{}/mount_points/{i}", ct(id));
            check(ctx, Lxc, &base, &m.host_path, m.mode.as_ref());
        }
    }
    let volumes: Vec<_> = ctx.fleet.hypervisor.shared_volumes.iter().collect();
    for (name, v) in volumes {
        let base = format!("/shared_volumes/{}", escape_segment(name));
        check(ctx, Hypervisor, &base, &v.host_path, v.mode.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::system_location;

    #[test]
    fn system_locations_and_their_ancestors_are_refused() {
        for p in [
            "/",
            "/etc",
            "/etc/pve",
            "/etc/pve/lxc",
            "/usr",
            "/usr/lib/x",
            "/var",
            "/var/lib",
            "/var/lib/vz/images",
            "/root",
            "/proc/1",
            "/lib64",
            "/home",
        ] {
            assert!(system_location(p).is_some(), "{p}");
        }
        for p in [
            "/srv/phoenix/shared",
            "/mnt/pve/fastData/models",
            "/usr/local/phoenix_hypervisor/etc/nginx/sites-available",
            "/home/alice/share",
            "/etcetera",
        ] {
            assert!(system_location(p).is_none(), "{p}");
        }
        assert_eq!(
            system_location("/var").unwrap(),
            "/var holds the system's or other users' data"
        );
    }
}

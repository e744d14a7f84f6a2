//! Host devices in a container: `devN` passthrough (PVE 8.1 and later) and the
//! `features: fuse=1` node.
//!
//! What Proxmox does, and the emulator with it:
//! - `pct set --devN` checks the host node (`PVE::LXC::Tools::get_device_mode_and_rdev`):
//!   `Device <path> does not exist`, `<path> is not a device`. These texts are from
//!   memory of pve-container; the stored source did not hold that function.
//! - At start the prestart hook makes a node for each device under
//!   `/var/lib/lxc/<id>/passthrough/<path>` with the host's major:minor, mode `mode`
//!   (0660 when unset, also from memory), owner `uid`:`gid` mapped to the host (0:0, so
//!   the CT's root, when unset), which is bind-mounted at `<path>`; `update_lxc_config`
//!   allows it: `lxc.cgroup2.devices.allow = <b|c> <major>:<minor> rw`.
//! - On a running CT a new `devN` is hot-plugged: the node is made in the CT's `/dev`
//!   and the cgroup allows it.
//!
//! Where the emulator departs, and why:
//! - The host node is looked up beneath the emulator's root first (`<root>/dev/nvidia0`:
//!   a test's fake GPU host, as Proxmox looks at its own `/dev`), then on the machine
//!   (a root without that node: the containers run on this machine's kernel).
//! - On a cgroup v1 host the allow line is `lxc.cgroup.devices.allow` (the v2 key
//!   addresses a controller that host does not have).
//! - `deny-write=1` mounts the node read-only (Proxmox's handling was not verified).
//! - A hot-plugged device shows up as a symlink to a node in the rootfs
//!   ([`hotplug_node`] says why); from the next start on it is a bind-mounted node.
//! - fuse: Proxmox binds the host's `/dev/fuse`, which is 0666 on a Proxmox host. Where
//!   the host's node is not readable and writable by others (0600 on many machines),
//!   the CT's mapped root could not open it, so the emulator makes its own node
//!   `/var/lib/lxc/<id>/fuse` (10:229, 0666, owned by the CT's root) and binds that.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One passed-through device, resolved against the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    /// The device path on the host and in the CT (`/dev/ttyUSB0`).
    pub path: String,
    /// `c` or `b`.
    pub kind: char,
    /// The host node's major number.
    pub major: u32,
    /// The host node's minor number.
    pub minor: u32,
    /// The node's mode in the CT.
    pub mode: u32,
    /// The node's host uid (the CT uid mapped).
    pub uid: u32,
    /// The node's host gid.
    pub gid: u32,
    /// `deny-write=1`.
    pub deny_write: bool,
    /// Where the emulator makes the node (`<lxc dir>/passthrough/<path>`).
    pub node: PathBuf,
}

impl DeviceSpec {
    /// The cgroup rule that lets the CT use the device (without the key).
    pub fn allow_rule(&self) -> String {
        format!("{} {}:{} rw", self.kind, self.major, self.minor)
    }
}

/// glibc's `gnu_dev_major`.
pub fn major(rdev: u64) -> u32 {
    (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff)) as u32
}

/// glibc's `gnu_dev_minor`.
pub fn minor(rdev: u64) -> u32 {
    ((rdev & 0xff) | ((rdev >> 12) & !0xff)) as u32
}

/// `get_device_mode_and_rdev`: the kind, major and minor of the host node at `path`.
pub fn probe(path: &str) -> Result<(char, u32, u32), String> {
    probe_at(path, Path::new(path))
}

/// [`probe`] of the node `path` names, found at `at` (beneath the emulator's root);
/// messages name `path`, as Proxmox's do.
pub fn probe_at(path: &str, at: &Path) -> Result<(char, u32, u32), String> {
    let meta = std::fs::metadata(at).map_err(|_| format!("Device {path} does not exist"))?;
    let ft = meta.file_type();
    let kind = if ft.is_block_device() {
        'b'
    } else if ft.is_char_device() {
        'c'
    } else {
        return Err(format!("{path} is not a device"));
    };
    Ok((kind, major(meta.rdev()), minor(meta.rdev())))
}

/// Makes a device node with the host's `mknod`, then sets its mode and owner (mode after
/// mknod so the umask cannot change it, as Proxmox's hook does with chmod).
pub fn make_node(
    node: &Path,
    kind: char,
    (major, minor): (u32, u32),
    mode: u32,
    (uid, gid): (u32, u32),
) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("failed to mknod {}: {e}", node.display());
    if let Some(d) = node.parent() {
        std::fs::create_dir_all(d).map_err(fail)?;
    }
    let _ = std::fs::remove_file(node);
    let out = Command::new("mknod")
        .arg(node)
        .arg(kind.to_string())
        .arg(major.to_string())
        .arg(minor.to_string())
        .output()
        .map_err(fail)?;
    if !out.status.success() {
        return Err(format!(
            "failed to mknod {}: {}",
            node.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::set_permissions(node, std::fs::Permissions::from_mode(mode)).map_err(fail)?;
    std::os::unix::fs::chown(node, Some(uid), Some(gid)).map_err(fail)
}

/// The host's `/dev/fuse` when others may read and write it, else the emulator's own
/// node in `lxc_dir` (see the module docs).
pub fn fuse_source(lxc_dir: &Path) -> PathBuf {
    match std::fs::metadata("/dev/fuse") {
        Ok(m) if m.mode() & 0o006 == 0o006 => PathBuf::from("/dev/fuse"),
        _ => lxc_dir.join("fuse"),
    }
}

/// Makes the nodes a start needs: every device's, and the own fuse node when used.
pub fn prepare(
    devices: &[DeviceSpec],
    fuse: Option<&Path>,
    lxc_dir: &Path,
    root_owner: (u32, u32),
) -> Result<(), String> {
    for d in devices {
        make_node(&d.node, d.kind, (d.major, d.minor), d.mode, (d.uid, d.gid))?;
    }
    if let Some(f) = fuse.filter(|f| f.starts_with(lxc_dir)) {
        make_node(f, 'c', (10, 229), 0o666, root_owner)?;
    }
    Ok(())
}

/// Where a hot-plugged device's node lives: in the CT's rootfs (a host file system that
/// allows device nodes), at `/.pct-emulator/<path>` as the CT sees it.
pub const HOTPLUG_DIR: &str = ".pct-emulator";

/// `device_passthrough_hotplug` for a running CT whose `/dev` is reached through
/// `ct_root` (`/proc/<pid>/root`) and whose rootfs directory is `rootfs`.
///
/// Not Proxmox: Proxmox makes the node on the host and moves a bind mount of it into
/// the CT's `/dev` (new mount API, in the CT's namespaces). The emulator cannot enter
/// namespaces, and a node made in the CT's `/dev` itself would be unusable (that tmpfs
/// belongs to the CT's user namespace, so it is `nodev`, and host root may not even
/// create files there). So the node is made in the rootfs at [`HOTPLUG_DIR`] and
/// `<path>` becomes a symlink to it, created as the CT's root (`setpriv`, a host
/// binary). The next start binds it as a real node.
pub fn hotplug_node(
    ct_root: &Path,
    rootfs: &Path,
    d: &DeviceSpec,
    root_owner: (u32, u32),
) -> Result<(), String> {
    let rel = d.path.trim_start_matches('/');
    let node = rootfs.join(HOTPLUG_DIR).join(rel);
    make_node(&node, d.kind, (d.major, d.minor), d.mode, (d.uid, d.gid))?;
    // Host root opens the directory (only it may walk /proc/<pid>/root); the CT's root
    // then creates the link through that descriptor, handed over as stdin.
    let link = Path::new(rel);
    let dir = ct_root.join(link.parent().unwrap_or(Path::new("")));
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir_fd =
        std::fs::File::open(&dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    let out = Command::new("setpriv")
        .arg(format!("--reuid={}", root_owner.0))
        .arg(format!("--regid={}", root_owner.1))
        .arg("--clear-groups")
        .args(["ln", "-sfn"])
        .arg(format!("/{HOTPLUG_DIR}/{rel}"))
        .arg(format!("/proc/self/fd/0/{name}"))
        .stdin(dir_fd)
        .output()
        .map_err(|e| format!("cannot run setpriv: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "failed to create {}: {}",
            d.path,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxmox_s_device_checks() {
        assert_eq!(probe("/dev/null").unwrap(), ('c', 1, 3));
        assert_eq!(
            probe("/dev/nonexistent-phoenix").unwrap_err(),
            "Device /dev/nonexistent-phoenix does not exist"
        );
        assert_eq!(probe("/dev").unwrap_err(), "/dev is not a device");
        // A node beneath the root stands for the host's; messages name the CT path.
        assert_eq!(
            probe_at("/dev/nvidia0", Path::new("/dev/null")).unwrap(),
            ('c', 1, 3)
        );
        assert_eq!(
            probe_at("/dev/nvidia0", Path::new("/nonexistent/dev/nvidia0")).unwrap_err(),
            "Device /dev/nvidia0 does not exist"
        );
    }

    #[test]
    fn major_and_minor_as_glibc_splits_them() {
        // glibc's makedev(259, 1048577)
        let (ma, mi): (u64, u64) = (259, 1_048_577);
        let rdev = (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & !0xff) << 12) | ((ma & !0xfff) << 32);
        assert_eq!((major(rdev), minor(rdev)), (259, 1048577));
        let spec = DeviceSpec {
            path: "/dev/null".into(),
            kind: 'c',
            major: 1,
            minor: 3,
            mode: 0o660,
            uid: 100_000,
            gid: 100_000,
            deny_write: false,
            node: "/x".into(),
        };
        assert_eq!(spec.allow_rule(), "c 1:3 rw");
    }
}

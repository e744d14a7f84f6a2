//! The host root every path resolves under (`$PHOENIX_ROOT`, default `/`).

use std::path::{Component, Path, PathBuf};

/// A directory standing in for `/`: every host path the emulator touches is joined
/// under it, so tests and demos run against a temporary directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoot(PathBuf);

impl HostRoot {
    /// A root at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self(dir.into())
    }

    /// The root named by `PHOENIX_ROOT`, or `/` when it is unset or empty.
    pub fn from_env() -> Self {
        match std::env::var_os("PHOENIX_ROOT") {
            Some(v) if !v.is_empty() => Self::new(v),
            _ => Self::new("/"),
        }
    }

    /// The root directory itself.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// Resolves an absolute (or relative) host path under the root. `..` components
    /// are dropped so a path from a conf file can never climb out of the root.
    ///
    /// ```
    /// use pct_emulator::root::HostRoot;
    /// let r = HostRoot::new("/tmp/r");
    /// assert_eq!(r.join("/etc/pve/lxc/100.conf"), std::path::Path::new("/tmp/r/etc/pve/lxc/100.conf"));
    /// assert_eq!(r.join("/../../etc"), std::path::Path::new("/tmp/r/etc"));
    /// ```
    pub fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        let mut out = self.0.clone();
        for c in path.as_ref().components() {
            if let Component::Normal(part) = c {
                out.push(part);
            }
        }
        out
    }

    /// `etc/pve/lxc/<id>.conf`.
    pub fn conf_path(&self, vmid: u32) -> PathBuf {
        self.join(format!("/etc/pve/lxc/{vmid}.conf"))
    }

    /// `etc/pve/lxc`.
    pub fn conf_dir(&self) -> PathBuf {
        self.join("/etc/pve/lxc")
    }

    /// The LXC path given to `lxc-start -P`: `var/lib/lxc`.
    pub fn lxc_path(&self) -> PathBuf {
        self.join("/var/lib/lxc")
    }

    /// `var/lib/lxc/<id>`.
    pub fn lxc_dir(&self, vmid: u32) -> PathBuf {
        self.lxc_path().join(vmid.to_string())
    }

    /// The flock file Proxmox takes around every change: `run/lock/lxc/pve-config-<id>.lock`.
    pub fn lock_path(&self, vmid: u32) -> PathBuf {
        self.join(format!("/run/lock/lxc/pve-config-{vmid}.lock"))
    }

    /// Emulator state that Proxmox does not have (the `PCT_EMU_FAIL` counters).
    pub fn emu_state_dir(&self) -> PathBuf {
        self.join("/var/lib/pct-emulator")
    }
}

/// Writes `contents` to `path` through a temporary file in the same directory and a
/// rename, creating the parent directories; a reader never sees a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_root() {
        let r = HostRoot::new("/r");
        assert_eq!(r.conf_path(100), Path::new("/r/etc/pve/lxc/100.conf"));
        assert_eq!(r.lxc_dir(7), Path::new("/r/var/lib/lxc/7"));
        assert_eq!(r.join("srv/../x"), Path::new("/r/srv/x"));
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a/b.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}

//! What the host shows that a feature's requirements depend on, read by the
//! orchestrator beneath `--root` before planning (so [`crate::Feature::requirements`]
//! stays pure): the Proxmox VE release, the NVIDIA device nodes under `/dev`, the
//! character-device majors of `/proc/devices` and the NVIDIA kernel module's version
//! (`/proc/driver/nvidia/version`).
//!
//! ```
//! use phoenix_features::host_facts::{nvidia_module_version, proc_devices_majors};
//! let majors = proc_devices_majors("Character devices:\n  1 mem\n195 nvidia\n508 nvidia-uvm\n\nBlock devices:\n  8 sd\n");
//! assert_eq!(majors["nvidia"], 195);
//! assert!(!majors.contains_key("sd"));
//! let text = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n";
//! assert_eq!(nvidia_module_version(text).as_deref(), Some("550.54.14"));
//! ```

use std::collections::BTreeMap;

/// A Proxmox VE release, `major.minor` (`pve-manager/8.1.4/...` is 8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PveRelease {
    /// The major release (8, 9).
    pub major: u32,
    /// The minor release.
    pub minor: u32,
}

impl PveRelease {
    /// The first release whose containers take `devN` entries: 8.1 (pve-container's
    /// "Add a dev\[n\] argument to the container config to pass devices through",
    /// pve-devel 2023, shipped with Proxmox VE 8.1; `phoenix_pveconf::props::Device`).
    pub const DEV_PASSTHROUGH: PveRelease = PveRelease { major: 8, minor: 1 };

    /// Reads `pveversion`'s output: `pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: ...)`.
    ///
    /// ```
    /// use phoenix_features::host_facts::PveRelease;
    /// let r = PveRelease::from_pveversion("pve-manager/8.0.4/d258a813cfa6b390 (running kernel: 6.2.16-3-pve)\n").unwrap();
    /// assert_eq!((r.major, r.minor), (8, 0));
    /// assert!(r < PveRelease::DEV_PASSTHROUGH);
    /// assert!(PveRelease::from_pveversion("nonsense").is_none());
    /// ```
    pub fn from_pveversion(text: &str) -> Option<PveRelease> {
        let rest = text.trim().strip_prefix("pve-manager/")?;
        let version = rest.split('/').next()?;
        let mut parts = version.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts
            .next()
            .and_then(|m| {
                m.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        Some(PveRelease { major, minor })
    }

    /// Whether containers of this release take `devN` entries.
    pub fn has_dev_passthrough(self) -> bool {
        self >= Self::DEV_PASSTHROUGH
    }
}

impl std::fmt::Display for PveRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What the host shows, as read beneath the root. `Default` is "nothing read": a
/// plan without GPU containers does not look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// Whether the orchestrator read the facts below (it does only when a container
    /// needs them).
    pub read: bool,
    /// The Proxmox VE release (`pveversion`), `None` when it could not be told.
    pub pve: Option<PveRelease>,
    /// Why the release is unknown (`pveversion` missing or failing), for messages.
    pub pve_error: Option<String>,
    /// NVIDIA character-device nodes present: `/dev/nvidia0`, `/dev/nvidiactl`,
    /// `/dev/nvidia-uvm`, `/dev/nvidia-uvm-tools`, `/dev/nvidia-modeset`,
    /// `/dev/nvidia-caps/nvidia-cap1`, ... (paths as the host names them, sorted).
    pub nvidia_nodes: Vec<String>,
    /// Character-device majors of `/proc/devices`, by driver name.
    pub char_majors: BTreeMap<String, u32>,
    /// The NVIDIA kernel module's version (`/proc/driver/nvidia/version`), `None`
    /// when the file does not exist (no driver loaded).
    pub nvidia_version: Option<String>,
}

/// The `Character devices:` section of `/proc/devices`, name to major.
pub fn proc_devices_majors(text: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let mut in_char = false;
    for line in text.lines() {
        let line = line.trim();
        if line.ends_with(':') {
            in_char = line == "Character devices:";
            continue;
        }
        if !in_char {
            continue;
        }
        if let Some((major, name)) = line.split_once(char::is_whitespace)
            && let Ok(m) = major.parse()
        {
            out.entry(name.trim().to_owned()).or_insert(m);
        }
    }
    out
}

/// The version in `/proc/driver/nvidia/version`'s first line (`NVRM version: NVIDIA
/// UNIX x86_64 Kernel Module  550.54.14  <date>`; the open modules say `Open Kernel
/// Module for x86_64  550.54.14  Release Build ...`): the first word of dotted numbers
/// after `Module`.
pub fn nvidia_module_version(text: &str) -> Option<String> {
    let first = text.lines().find(|l| l.starts_with("NVRM version:"))?;
    let after = first.split_once("Module")?.1;
    after
        .split_whitespace()
        .find(|w| {
            w.contains('.')
                && w.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
}

/// Whether a path under `/dev` is one of the NVIDIA nodes the nvidia feature passes
/// through: `nvidia<N>`, `nvidiactl`, `nvidia-uvm`, `nvidia-uvm-tools`,
/// `nvidia-modeset`, `nvidia-caps/<name>`.
pub fn is_nvidia_node(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/dev/") else {
        return false;
    };
    if let Some(cap) = rest.strip_prefix("nvidia-caps/") {
        return !cap.is_empty() && !cap.contains('/');
    }
    match rest {
        "nvidiactl" | "nvidia-uvm" | "nvidia-uvm-tools" | "nvidia-modeset" => true,
        r => r
            .strip_prefix("nvidia")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_devices_and_the_module_version_are_read_as_the_kernel_writes_them() {
        let devices = "Character devices:\n  1 mem\n195 nvidia-frontend\n234 nvidia-caps\n509 nvidia-uvm\n\nBlock devices:\n  7 loop\n";
        let m = proc_devices_majors(devices);
        assert_eq!(m["nvidia-frontend"], 195);
        assert_eq!(m["nvidia-caps"], 234);
        assert_eq!(m["nvidia-uvm"], 509);
        assert!(!m.contains_key("loop"));
        let open = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.76.05  Release Build  (dvs-builder@U16-I3-B03-4-3)  Tue Jul  8 18:15:13 UTC 2025\n";
        assert_eq!(nvidia_module_version(open).as_deref(), Some("580.76.05"));
        assert_eq!(nvidia_module_version("garbage\n"), None);
        for p in [
            "/dev/nvidia0",
            "/dev/nvidia12",
            "/dev/nvidiactl",
            "/dev/nvidia-uvm-tools",
            "/dev/nvidia-caps/nvidia-cap1",
        ] {
            assert!(is_nvidia_node(p), "{p}");
        }
        for p in [
            "/dev/nvidia",
            "/dev/nvidia-x",
            "/dev/null",
            "/dev/nvidia-caps/a/b",
        ] {
            assert!(!is_nvidia_node(p), "{p}");
        }
        assert_eq!(
            PveRelease::from_pveversion("pve-manager/9.0.10/deb1 (running kernel: 6.14)"),
            Some(PveRelease { major: 9, minor: 0 })
        );
        assert!(PveRelease { major: 8, minor: 1 }.has_dev_passthrough());
        assert!(!PveRelease { major: 8, minor: 0 }.has_dev_passthrough());
        assert!(!PveRelease { major: 7, minor: 4 }.has_dev_passthrough());
    }
}

//! The host facts features' requirements depend on ([`HostFacts`]), read beneath the
//! root before planning: which NVIDIA device nodes `/dev` has (character devices
//! only), the majors of `/proc/devices`, `/proc/driver/nvidia/version`, and the
//! Proxmox VE release from `pveversion`. Read only when a container of the selection
//! needs them (an nvidia container with `gpu_assignment`), so other plans run no
//! extra command.

use std::os::unix::fs::FileTypeExt;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_features::HostFacts;
use phoenix_features::host_facts::{
    PveRelease, is_nvidia_node, nvidia_module_version, proc_devices_majors,
};
use phoenix_pct::{CommandRunner, Invocation};

use crate::hostfs::{read_host_text, resolve_beneath};

/// Where the kernel module says its version.
pub const NVIDIA_VERSION_FILE: &str = "/proc/driver/nvidia/version";

/// `rel` beneath `root`, `None` when it would leave it.
fn beneath(root: &Utf8Path, rel: &str) -> Option<Utf8PathBuf> {
    resolve_beneath(root, Utf8Path::new(rel)).ok()
}

fn text(root: &Utf8Path, rel: &str) -> Option<String> {
    read_host_text(&beneath(root, rel)?).ok().flatten()
}

/// The character devices named like NVIDIA nodes in `dir` (`/dev` or
/// `/dev/nvidia-caps`), as host paths.
fn nodes_in(root: &Utf8Path, dir: &str, out: &mut Vec<String>) {
    let Some(full) = beneath(root, dir) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&full) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = format!("{dir}/{name}");
        // A symlink is never followed: only a node itself counts.
        let is_char = e.file_type().is_ok_and(|t| t.is_char_device());
        if is_char && is_nvidia_node(&path) {
            out.push(path);
        }
    }
}

/// Reads the facts beneath `root`; `pveversion` runs through `runner`.
pub fn read(root: &Utf8Path, runner: &dyn CommandRunner) -> HostFacts {
    let mut nodes = Vec::new();
    nodes_in(root, "/dev", &mut nodes);
    nodes_in(root, "/dev/nvidia-caps", &mut nodes);
    nodes.sort();
    let (pve, pve_error) = match runner.run(&Invocation::read("pveversion")) {
        Ok(out) if out.success() => match PveRelease::from_pveversion(&out.stdout_lossy()) {
            Some(r) => (Some(r), None),
            None => (
                None,
                Some(format!(
                    "pveversion printed {:?}",
                    out.stdout_lossy().trim()
                )),
            ),
        },
        Ok(out) => (
            None,
            Some(format!("pveversion failed: {}", out.stderr_lossy().trim())),
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    HostFacts {
        read: true,
        pve,
        pve_error,
        nvidia_nodes: nodes,
        char_majors: text(root, "/proc/devices")
            .map(|t| proc_devices_majors(&t))
            .unwrap_or_default(),
        nvidia_version: text(root, NVIDIA_VERSION_FILE).and_then(|t| nvidia_module_version(&t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pct::{Output, Pattern, RecordingRunner};

    #[test]
    fn nodes_majors_and_versions_are_read_beneath_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("proc/driver/nvidia")).unwrap();
        std::fs::create_dir_all(root.join("dev")).unwrap();
        std::fs::write(
            root.join("proc/driver/nvidia/version"),
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n",
        )
        .unwrap();
        std::fs::write(
            root.join("proc/devices"),
            "Character devices:\n195 nvidia\n",
        )
        .unwrap();
        // A regular file is not a device node.
        std::fs::write(root.join("dev/nvidia0"), "").unwrap();
        let runner = RecordingRunner::new().answer(
            Pattern::exact(["pveversion"]),
            Output::ok("pve-manager/8.0.4/d258a813 (running kernel: 6.2.16-3-pve)\n"),
        );
        let f = read(root, &runner);
        assert!(f.read);
        assert_eq!(f.pve, Some(PveRelease { major: 8, minor: 0 }));
        assert_eq!(f.nvidia_version.as_deref(), Some("550.54.14"));
        assert_eq!(f.char_majors["nvidia"], 195);
        assert!(f.nvidia_nodes.is_empty(), "{:?}", f.nvidia_nodes);
        let none = read(root, &RecordingRunner::new());
        assert_eq!(none.pve, None);
        assert_eq!(
            none.pve_error.as_deref(),
            Some("no scripted answer for `pveversion`")
        );
    }
}

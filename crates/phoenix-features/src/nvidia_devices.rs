//! The nvidia feature's requirements: the device entries or raw lines for the GPUs of
//! `gpu_assignment` on the host as [`HostFacts`] shows it, and the host kernel module's
//! version check.
//!
//! Requirements (from [`HostFacts`], read beneath `--root` before planning):
//! - the GPUs of `gpu_assignment` (`"0"`, `"0,1"`, `"all"`): `/dev/nvidia<N>`, plus
//!   `/dev/nvidiactl`, `/dev/nvidia-uvm`, `/dev/nvidia-uvm-tools`,
//!   `/dev/nvidia-modeset` and `/dev/nvidia-caps/*` where the host has them;
//! - on Proxmox VE 8.1 and later one `devN` entry per node (pve-container's "Add a
//!   dev\[n\] argument to the container config to pass devices through", pve-devel
//!   2023, released with PVE 8.1; the format is `phoenix_pveconf::props::Device`),
//!   with `gid=` of the container's `video` group;
//! - before 8.1 `lxc.cgroup2.devices.allow: c <major>:* rwm` per driver major, read
//!   from the host's `/proc/devices` (`nvidia` or `nvidia-frontend` for `nvidia<N>`,
//!   `nvidiactl` and `nvidia-modeset`, which is minor 254 of the same major in
//!   nvidia-modprobe's `NV_MODESET_MINOR_DEVICE_NUM`; `nvidia-uvm` for both uvm nodes;
//!   `nvidia-caps`), and an `lxc.mount.entry` bind line per node;
//! - the host's kernel module (`/proc/driver/nvidia/version`) must be the configured
//!   `nvidia_driver_version`: the user-space driver inside talks to that module, and a
//!   different version fails at the first CUDA call. Otherwise the container is not
//!   planned, and the message names both versions.
//!
//! The `video` group's gid is not read from inside (requirements are computed before
//! the container exists): Debian's base-passwd allocates `video` statically as gid 44,
//! and Ubuntu keeps it, so a container whose OS template (its own, or its clone
//! source's) is a Debian or Ubuntu one gets `gid=44`; any other template gets no
//! `gid=` (Proxmox's default, group 0) rather than a guess.

use phoenix_config::GpuSelection;

use crate::FeatureError;
use crate::feature::{Request, Requirements};
use crate::host_facts::{HostFacts, is_nvidia_node};

/// Debian's static `video` gid (base-passwd), kept by Ubuntu.
const DEBIAN_VIDEO_GID: u32 = 44;

/// A refusal of the nvidia feature on this container.
pub(crate) fn unsupported(req: &Request<'_>, reason: String) -> FeatureError {
    FeatureError::Unsupported {
        feature: crate::NVIDIA.into(),
        vmid: req.vmid,
        reason,
    }
}

/// The driver version the containers must run: the containers file's, else the host
/// driver's.
pub(crate) fn version(req: &Request<'_>) -> Option<String> {
    req.lxc
        .nvidia_driver_version
        .as_ref()
        .map(|v| v.as_str().to_owned())
        .or_else(|| {
            req.hypervisor
                .nvidia_driver
                .as_ref()
                .map(|d| d.version.as_str().to_owned())
        })
}

/// The OS template a container comes from (following `clone_from_ctid`).
fn template_of(req: &Request<'_>) -> Option<String> {
    let mut ct = req.container;
    for _ in 0..32 {
        if let Some(t) = &ct.template {
            return Some(t.as_str().to_owned());
        }
        ct = req.lxc.lxc_configs.get(ct.clone_from_ctid.as_ref()?)?;
    }
    None
}

/// The container's `video` gid, where it is known (see the module docs).
pub fn video_gid(req: &Request<'_>) -> Option<u32> {
    let t = template_of(req)?.to_ascii_lowercase();
    let name = t.rsplit(['/', ':']).next().unwrap_or(&t);
    (name.contains("debian") || name.contains("ubuntu")).then_some(DEBIAN_VIDEO_GID)
}

/// The host nodes the container gets, in order: its GPUs, then the shared nodes the
/// host has.
fn nodes(req: &Request<'_>) -> Result<Vec<String>, FeatureError> {
    let host: &HostFacts = req.host;
    let pointer = format!("/lxc_configs/{}/gpu_assignment", req.vmid);
    let has = |p: &str| host.nvidia_nodes.iter().any(|n| n == p);
    let mut out: Vec<String> = Vec::new();
    let selection = req
        .container
        .gpu_assignment
        .as_ref()
        .map_or(GpuSelection::None, |g| g.selection());
    match selection {
        GpuSelection::None => {
            return Err(unsupported(
                req,
                format!(
                    "gpu_assignment \"none\" at {pointer}: the nvidia feature passes GPUs through; set it to \"0\", \"0,1\" or \"all\", or remove the feature"
                ),
            ));
        }
        GpuSelection::All => {
            let mut gpus: Vec<(u32, &String)> = host
                .nvidia_nodes
                .iter()
                .filter_map(|n| Some((n.strip_prefix("/dev/nvidia")?.parse().ok()?, n)))
                .collect();
            gpus.sort();
            if gpus.is_empty() {
                return Err(unsupported(
                    req,
                    format!("gpu_assignment \"all\" at {pointer}: the host has no /dev/nvidia<N>"),
                ));
            }
            out.extend(gpus.into_iter().map(|(_, n)| n.clone()));
        }
        GpuSelection::Indices(list) => {
            for i in list {
                let p = format!("/dev/nvidia{i}");
                if !has(&p) {
                    return Err(unsupported(
                        req,
                        format!(
                            "GPU {i} (gpu_assignment at {pointer}) is not on this host: {p} does not exist"
                        ),
                    ));
                }
                out.push(p);
            }
        }
    }
    if !has("/dev/nvidiactl") {
        return Err(unsupported(
            req,
            "the host has no /dev/nvidiactl (is the nvidia kernel module loaded?)".into(),
        ));
    }
    for shared in [
        "/dev/nvidiactl",
        "/dev/nvidia-uvm",
        "/dev/nvidia-uvm-tools",
        "/dev/nvidia-modeset",
    ] {
        if has(shared) {
            out.push(shared.to_owned());
        }
    }
    let mut caps: Vec<&String> = host
        .nvidia_nodes
        .iter()
        .filter(|n| n.starts_with("/dev/nvidia-caps/") && is_nvidia_node(n))
        .collect();
    caps.sort();
    out.extend(caps.into_iter().cloned());
    Ok(out)
}

/// The `/proc/devices` driver a node's major belongs to.
fn driver_of(node: &str) -> &'static [&'static str] {
    if node.starts_with("/dev/nvidia-uvm") {
        &["nvidia-uvm"]
    } else if node.starts_with("/dev/nvidia-caps/") {
        &["nvidia-caps"]
    } else {
        // nvidia<N>, nvidiactl (minor 255) and nvidia-modeset (minor 254) share it.
        &["nvidia", "nvidia-frontend"]
    }
}

/// The device entries or raw lines, and the reasons, for the host as it is.
pub(crate) fn device_requirements(
    req: &Request<'_>,
    r: &mut Requirements,
) -> Result<(), FeatureError> {
    let host = req.host;
    let Some(want) = version(req) else {
        return Err(unsupported(
            req,
            "no driver version: set nvidia_driver_version in phoenix_lxc_configs.json (the host kernel module's)".into(),
        ));
    };
    match &host.nvidia_version {
        None => {
            return Err(unsupported(
                req,
                "no NVIDIA driver on the host: /proc/driver/nvidia/version does not exist (install the host driver and load its kernel module first)".into(),
            ));
        }
        Some(have) if *have != want => {
            return Err(unsupported(
                req,
                format!(
                    "host kernel module {have}, config nvidia_driver_version {want}: the container's user-space driver must be the host kernel module's version"
                ),
            ));
        }
        Some(_) => {}
    }
    let Some(pve) = host.pve else {
        return Err(unsupported(
            req,
            format!(
                "cannot tell the Proxmox VE release ({}): it decides between devN entries (8.1 and later) and lxc lines",
                host.pve_error
                    .as_deref()
                    .unwrap_or("pveversion gave nothing")
            ),
        ));
    };
    let nodes = nodes(req)?;
    if pve.has_dev_passthrough() {
        let gid = video_gid(req);
        for n in &nodes {
            r.devices.push(match gid {
                Some(g) => format!("{n},gid={g}"),
                None => n.clone(),
            });
        }
        r.reasons.push(format!(
            "devN {}: the GPU nodes (Proxmox VE {pve} passes devices through){}",
            nodes.join(" "),
            match gid {
                Some(g) => format!(", group video ({g}) inside"),
                None => String::new(),
            }
        ));
        return Ok(());
    }
    let mut majors: Vec<u32> = Vec::new();
    for n in &nodes {
        let names = driver_of(n);
        let Some(m) = names.iter().find_map(|d| host.char_majors.get(*d)) else {
            return Err(unsupported(
                req,
                format!(
                    "{n} exists but /proc/devices lists no {} major",
                    names.join(" or ")
                ),
            ));
        };
        if !majors.contains(m) {
            majors.push(*m);
        }
    }
    for m in &majors {
        r.lxc_lines
            .push(("lxc.cgroup2.devices.allow".into(), format!("c {m}:* rwm")));
    }
    for n in &nodes {
        let rel = n.trim_start_matches('/');
        r.lxc_lines.push((
            "lxc.mount.entry".into(),
            format!("{n} {rel} none bind,optional,create=file"),
        ));
    }
    r.reasons.push(format!(
        "lxc.cgroup2.devices.allow and lxc.mount.entry for {} (Proxmox VE {pve} has no devN; majors from /proc/devices)",
        nodes.join(" ")
    ));
    Ok(())
}

//! `nvidia`: NVIDIA GPUs in a container, the user-space driver matching the host's
//! kernel module, and with docker the NVIDIA container toolkit.
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
//!
//! Install (`nvidia.sh`): the runfile (`nvidia_runfile_url`, else the host driver's
//! `runfile_url`) with `--no-kernel-module --silent`, its SHA-256 checked when the
//! config has one; or, when `nvidia_repo_url` is configured, the distribution's
//! packages of exactly that version from that repository. With docker in the same
//! container: nvidia-container-toolkit, `no-cgroups = true` in
//! [`NVIDIA_CTK_CONFIG`] (an unprivileged container cannot manage device cgroups), and
//! the runtime `nvidia-ctk runtime configure --runtime=docker --dry-run` prints merged
//! into `/etc/docker/daemon.json` by phoenix ([`merged_nvidia_daemon_json`]; other keys
//! kept); a running docker restarts once, only when the file changed (nvidia is
//! installed before docker, so on a first run docker starts with the file). Verify: `nvidia-smi` runs
//! and reports the version.

use phoenix_config::{GpuSelection, LxcFile};
use serde_json::{Map, Value};

use crate::FeatureError;
use crate::docker::DAEMON_JSON;
use crate::feature::{
    AppArmorRequirement, Check, CheckRun, Container, Feature, Probe, Request, Requirements, Suite,
};
use crate::host_facts::{HostFacts, is_nvidia_node};
use crate::staging::{Staged, last_lines, run_staged};

const INSTALL: &str = include_str!("../scripts/nvidia.sh");

/// The NVIDIA container runtime's config file.
pub const NVIDIA_CTK_CONFIG: &str = "/etc/nvidia-container-runtime/config.toml";

/// Debian's static `video` gid (base-passwd), kept by Ubuntu.
const DEBIAN_VIDEO_GID: u32 = 44;

/// The query the probe and the check run.
const QUERY: [&str; 3] = [
    "nvidia-smi",
    "--query-gpu=driver_version",
    "--format=csv,noheader",
];

/// The nvidia feature.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nvidia;

/// How the user-space driver is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Method {
    Runfile { url: String, sha256: Option<String> },
    Packages { repo: String },
}

fn unsupported(req: &Request<'_>, reason: String) -> FeatureError {
    FeatureError::Unsupported {
        feature: crate::NVIDIA.into(),
        vmid: req.vmid,
        reason,
    }
}

/// The driver version the containers must run: the containers file's, else the host
/// driver's.
fn version(req: &Request<'_>) -> Option<String> {
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

fn method(req: &Request<'_>) -> Option<Method> {
    let lxc: &LxcFile = req.lxc;
    if let Some(repo) = &lxc.nvidia_repo_url {
        return Some(Method::Packages {
            repo: repo.as_str().to_owned(),
        });
    }
    let url = lxc
        .nvidia_runfile_url
        .as_ref()
        .map(|u| u.as_str().to_owned())
        .or_else(|| {
            req.hypervisor
                .nvidia_driver
                .as_ref()
                .map(|d| d.runfile_url.as_str().to_owned())
        })?;
    Some(Method::Runfile {
        url,
        sha256: lxc
            .nvidia_runfile_sha256
            .as_ref()
            .map(|s| s.as_str().to_owned()),
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
fn device_requirements(req: &Request<'_>, r: &mut Requirements) -> Result<(), FeatureError> {
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

/// `daemon.json` with the `runtimes` (and `default-runtime`, if set) of `ctk`
/// (`nvidia-ctk runtime configure --runtime=docker --dry-run`'s output) merged in;
/// `None` when `current` already has them. Other keys are kept.
pub fn merged_nvidia_daemon_json(
    current: Option<&str>,
    ctk: &str,
) -> Result<Option<String>, String> {
    let object = |text: &str, what: &str| -> Result<Map<String, Value>, String> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(format!("{what} is not a JSON object")),
            Err(e) => Err(format!("{what} is not JSON: {e}")),
        }
    };
    let mut map = match current.map(str::trim) {
        None | Some("") => Map::new(),
        Some(t) => object(t, DAEMON_JSON)?,
    };
    // nvidia-ctk may log before the document.
    let start = ctk.find('{').ok_or("nvidia-ctk printed no JSON")?;
    let theirs = object(&ctk[start..], "nvidia-ctk's output")?;
    let before = map.clone();
    if let Some(Value::Object(runtimes)) = theirs.get("runtimes") {
        let entry = map
            .entry("runtimes")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        if let Value::Object(ours) = entry {
            for (k, v) in runtimes {
                ours.insert(k.clone(), v.clone());
            }
        }
    } else {
        return Err("nvidia-ctk's output has no runtimes".into());
    }
    if let Some(d) = theirs.get("default-runtime") {
        map.insert("default-runtime".into(), d.clone());
    }
    if map == before {
        return Ok(None);
    }
    let mut text = serde_json::to_string_pretty(&Value::Object(map)).unwrap_or_default();
    text.push('\n');
    Ok(Some(text))
}

fn text(ct: &dyn Container, argv: &[&str]) -> Result<Option<String>, FeatureError> {
    let out = ct.exec(argv)?;
    Ok((out.code == 0).then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

fn must(ct: &dyn Container, argv: &[&str]) -> Result<String, FeatureError> {
    let out = ct.exec(argv)?;
    if out.code != 0 {
        return Err(FeatureError::CommandFailed {
            vmid: ct.vmid(),
            command: argv.join(" "),
            code: out.code,
            stderr: last_lines(&out, 10),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether every GPU `nvidia-smi` lists reports `want`.
fn smi_reports(out: Option<&str>, want: &str) -> Result<(), String> {
    match out {
        None => Err("nvidia-smi does not run".into()),
        Some("") => Err("nvidia-smi lists no GPU".into()),
        Some(t) => match t.lines().map(str::trim).find(|l| *l != want) {
            Some(other) => Err(format!("nvidia-smi reports driver {other}, not {want}")),
            None => Ok(()),
        },
    }
}

/// Whether `config.toml` says `no-cgroups = true` (in `[nvidia-container-cli]`).
fn no_cgroups(toml: &str) -> bool {
    toml.lines()
        .map(|l| l.split('#').next().unwrap_or("").replace(' ', ""))
        .any(|l| l == "no-cgroups=true")
}

impl Nvidia {
    fn docker(req: &Request<'_>) -> bool {
        req.has_feature(crate::DOCKER)
    }

    fn version_or_err(req: &Request<'_>) -> Result<String, FeatureError> {
        version(req).ok_or_else(|| {
            unsupported(
                req,
                "no driver version: set nvidia_driver_version in phoenix_lxc_configs.json".into(),
            )
        })
    }

    /// The toolkit part of the probe: installed, `no-cgroups`, the runtime in daemon.json.
    fn toolkit_missing(ct: &dyn Container) -> Result<Option<String>, FeatureError> {
        let status = text(
            ct,
            &[
                "dpkg-query",
                "-W",
                "-f=${Status}",
                "nvidia-container-toolkit",
            ],
        )?;
        if status.as_deref() != Some("install ok installed") {
            return Ok(Some("nvidia-container-toolkit is not installed".into()));
        }
        if !text(ct, &["cat", NVIDIA_CTK_CONFIG])?.is_some_and(|t| no_cgroups(&t)) {
            return Ok(Some(format!("{NVIDIA_CTK_CONFIG} lacks no-cgroups = true")));
        }
        let daemon = text(ct, &["cat", DAEMON_JSON])?.unwrap_or_default();
        let has_runtime = serde_json::from_str::<Value>(&daemon)
            .ok()
            .is_some_and(|v| v["runtimes"]["nvidia"].is_object());
        if !has_runtime {
            return Ok(Some(format!("{DAEMON_JSON} has no nvidia runtime")));
        }
        Ok(None)
    }
}

impl Feature for Nvidia {
    fn name(&self) -> &'static str {
        crate::NVIDIA
    }

    fn requirements(&self, req: &Request<'_>) -> Result<Requirements, FeatureError> {
        let mut r = Requirements {
            apparmor: Some(AppArmorRequirement {
                profile: "lxc-phoenix-gpu".into(),
                overrides_config: false,
            }),
            reasons: vec!["apparmor lxc-phoenix-gpu: access to the NVIDIA device nodes".into()],
            ..Requirements::default()
        };
        // No gpu_assignment at all: nothing is passed through and nothing installed
        // (a warning; `none` is refused by `nodes`). A template for GPU clones, say.
        if req.container.gpu_assignment.is_none() {
            r.not_installed = Some(format!(
                "no gpu_assignment at /lxc_configs/{}/gpu_assignment, so no GPU is passed through (set it to \"0\", \"0,1\" or \"all\")",
                req.vmid
            ));
            return Ok(r);
        }
        // Without host facts (`phoenix features list`) only what does not depend on
        // the host is said.
        if req.host.read {
            device_requirements(req, &mut r)?;
        } else {
            r.reasons.push(
                "the GPU nodes of gpu_assignment: devN entries (Proxmox VE 8.1 and later) or lxc lines, from the host's /dev and /proc/devices".into(),
            );
        }
        Ok(r)
    }

    fn describe(&self) -> &'static str {
        "the NVIDIA user-space driver of the host kernel module's version (runfile with --no-kernel-module, or the repository's packages), and with docker nvidia-container-toolkit (no-cgroups, the docker runtime in daemon.json)"
    }

    fn inputs(&self, req: &Request<'_>) -> Value {
        let (method, url, sha256) = match method(req) {
            Some(Method::Runfile { url, sha256 }) => ("runfile", Some(url), sha256),
            Some(Method::Packages { repo }) => ("packages", Some(repo), None),
            None => ("none", None, None),
        };
        serde_json::json!({
            "version": version(req),
            "method": method,
            "url": url,
            "sha256": sha256,
            "docker_toolkit": Self::docker(req),
        })
    }

    fn commands(&self, req: &Request<'_>) -> Vec<String> {
        let v = version(req).unwrap_or_else(|| "(no version)".into());
        let mut out = vec![match method(req) {
            Some(Method::Runfile { url, sha256 }) => format!(
                "nvidia.sh: curl -fsSL -o NVIDIA.run {url}{}; sh NVIDIA.run --no-kernel-module --silent (skipped when nvidia-smi reports {v})",
                if sha256.is_some() {
                    "; sha256sum -c"
                } else {
                    ""
                }
            ),
            Some(Method::Packages { repo }) => format!(
                "nvidia.sh: apt source {repo} (key {repo}3bf863cc.pub); apt-get install the driver's user-space packages of version {v}"
            ),
            None => "nvidia.sh: no runfile or repository configured (fails)".into(),
        }];
        if Self::docker(req) {
            out.push(format!(
                "nvidia.sh: apt-get install nvidia-container-toolkit (NVIDIA's repository); nvidia-ctk config --in-place --set nvidia-container-cli.no-cgroups=true ({NVIDIA_CTK_CONFIG})"
            ));
            out.push(format!(
                "nvidia-ctk runtime configure --runtime=docker --dry-run, its runtimes merged into {DAEMON_JSON} (other keys kept); systemctl restart docker (only when it changed and docker runs)"
            ));
        }
        out.push(format!(
            "verify: nvidia-smi; nvidia-smi --query-gpu=driver_version --format=csv,noheader is {v}"
        ));
        out
    }

    fn checks(&self, req: &Request<'_>) -> Vec<Check> {
        if req.container.gpu_assignment.is_none() {
            return Vec::new();
        }
        let v = version(req).unwrap_or_default();
        let mut out = vec![Check {
            name: "nvidia: nvidia-smi".into(),
            suite: Suite::Health,
            run: CheckRun::Script(format!(
                "v=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader)\necho \"$v\"\n[ -n \"$v\" ]\n! printf '%s\\n' \"$v\" | grep -qvx '{v}'\n"
            )),
        }];
        // The conf must hold the entries the plan derived from the host as it is now.
        if let Ok(r) = self.requirements(req) {
            for d in &r.devices {
                out.push(Check {
                    name: format!("nvidia: device {}", d.split(',').next().unwrap_or(d)),
                    suite: Suite::Health,
                    // Any devN slot: phoenix keeps the slot a device already has.
                    run: CheckRun::ConfLine("devN".into(), d.clone()),
                });
            }
            for (k, v) in &r.lxc_lines {
                out.push(Check {
                    name: format!("nvidia: {k} {v}"),
                    suite: Suite::Health,
                    run: CheckRun::ConfLine(k.clone(), v.clone()),
                });
            }
        }
        out
    }

    fn probe(&self, req: &Request<'_>, ct: &dyn Container) -> Result<Probe, FeatureError> {
        let want = Self::version_or_err(req)?;
        if let Err(why) = smi_reports(text(ct, &QUERY)?.as_deref(), &want) {
            return Ok(Probe::Missing(why));
        }
        if Self::docker(req)
            && let Some(why) = Self::toolkit_missing(ct)?
        {
            return Ok(Probe::Missing(why));
        }
        Ok(Probe::Converged)
    }

    fn install(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let want = Self::version_or_err(req)?;
        let (m, url, sha) = match method(req) {
            Some(Method::Runfile { url, sha256 }) => ("runfile", url, sha256.unwrap_or_default()),
            Some(Method::Packages { repo }) => ("packages", repo, String::new()),
            None => {
                return Err(unsupported(
                    req,
                    "neither nvidia_runfile_url nor nvidia_repo_url is configured".into(),
                ));
            }
        };
        let docker = Self::docker(req);
        run_staged(
            ct,
            &Staged {
                feature: "nvidia".into(),
                script: INSTALL.into(),
                env: vec![
                    ("PHOENIX_NVIDIA_VERSION".into(), want),
                    ("PHOENIX_NVIDIA_METHOD".into(), m.into()),
                    ("PHOENIX_NVIDIA_URL".into(), url),
                    ("PHOENIX_NVIDIA_SHA256".into(), sha),
                    (
                        "PHOENIX_NVIDIA_TOOLKIT".into(),
                        if docker { "1" } else { "0" }.into(),
                    ),
                ],
                ..Staged::default()
            },
        )?;
        if !docker {
            return Ok(());
        }
        let ctk = must(
            ct,
            &[
                "nvidia-ctk",
                "runtime",
                "configure",
                "--runtime=docker",
                "--dry-run",
            ],
        )?;
        let current = text(ct, &["cat", DAEMON_JSON])?;
        let merged = merged_nvidia_daemon_json(current.as_deref(), &ctk)
            .map_err(|reason| unsupported(req, reason))?;
        if let Some(new) = merged {
            must(ct, &["mkdir", "-p", "/etc/docker"])?;
            ct.push(new.as_bytes(), DAEMON_JSON, 0o644)?;
            ct.output("nvidia", &format!("{DAEMON_JSON}: the nvidia runtime"));
            // nvidia is installed before docker: on a first run docker is not there
            // yet and reads the file when it starts; a running docker restarts once.
            if text(ct, &["systemctl", "is-active", "docker"])?.as_deref() == Some("active") {
                must(ct, &["systemctl", "restart", "docker"])?;
                ct.output("nvidia", "docker restarted");
            }
        }
        Ok(())
    }

    fn verify(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let want = Self::version_or_err(req)?;
        let fail = |reason: String| FeatureError::Verify {
            feature: crate::NVIDIA.into(),
            vmid: ct.vmid(),
            reason,
        };
        let out = ct.exec(&["nvidia-smi"])?;
        if out.code != 0 {
            return Err(fail(format!(
                "nvidia-smi fails (exit {}): {}",
                out.code,
                last_lines(&out, 5)
            )));
        }
        smi_reports(text(ct, &QUERY)?.as_deref(), &want).map_err(fail)?;
        if Self::docker(req)
            && let Some(why) = Self::toolkit_missing(ct)?
        {
            return Err(fail(why));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docker_runtime_is_merged_keeping_other_keys_and_left_alone_when_present() {
        let ctk = "INFO[0000] Loading config\n{\n  \"runtimes\": {\"nvidia\": {\"args\": [], \"path\": \"nvidia-container-runtime\"}}, \"storage-driver\": \"overlay2\"\n}\n";
        let current = r#"{"storage-driver": "fuse-overlayfs", "log-level": "warn"}"#;
        let merged = merged_nvidia_daemon_json(Some(current), ctk)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(v["runtimes"]["nvidia"]["path"], "nvidia-container-runtime");
        // Only the runtimes are taken: the storage driver stays docker's feature's.
        assert_eq!(v["storage-driver"], "fuse-overlayfs");
        assert_eq!(v["log-level"], "warn");
        assert_eq!(merged_nvidia_daemon_json(Some(&merged), ctk).unwrap(), None);
        assert_eq!(
            merged_nvidia_daemon_json(Some("[1]"), ctk).unwrap_err(),
            "/etc/docker/daemon.json is not a JSON object"
        );
        assert_eq!(
            merged_nvidia_daemon_json(None, "no json").unwrap_err(),
            "nvidia-ctk printed no JSON"
        );
    }

    #[test]
    fn nvidia_smi_and_config_toml_are_judged_line_by_line() {
        assert_eq!(
            smi_reports(Some("550.54.14\n550.54.14"), "550.54.14"),
            Ok(())
        );
        assert_eq!(
            smi_reports(Some("550.54.14\n535.1"), "550.54.14").unwrap_err(),
            "nvidia-smi reports driver 535.1, not 550.54.14"
        );
        assert_eq!(
            smi_reports(None, "1").unwrap_err(),
            "nvidia-smi does not run"
        );
        assert!(no_cgroups(
            "[nvidia-container-cli]\n#no-cgroups = false\nno-cgroups = true\n"
        ));
        assert!(!no_cgroups("#no-cgroups = true\nno-cgroups = false\n"));
    }
}

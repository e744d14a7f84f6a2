//! `nvidia`: NVIDIA GPUs in a container, the user-space driver matching the host's
//! kernel module, and with docker the NVIDIA container toolkit.
//!
//! Requirements: see `nvidia_devices` (the GPU nodes of `gpu_assignment` as devN
//! entries or lxc lines, and the host kernel module's version).
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

use phoenix_config::LxcFile;
use serde_json::{Map, Value};

use crate::FeatureError;
use crate::docker::DAEMON_JSON;
use crate::feature::{
    AppArmorRequirement, Check, CheckRun, Container, Feature, Probe, Request, Requirements, Suite,
};
use crate::nvidia_devices::{device_requirements, unsupported, version};
use crate::staging::{Staged, last_lines, run_staged};

const INSTALL: &str = include_str!("../scripts/nvidia.sh");

/// The NVIDIA container runtime's config file.
pub const NVIDIA_CTK_CONFIG: &str = "/etc/nvidia-container-runtime/config.toml";

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

/// Why the nvidia runtime cannot be merged into docker's `daemon.json`.
#[derive(Debug, thiserror::Error)]
pub enum NvidiaRuntimeError {
    /// A document is JSON but not an object.
    #[error("{what} is not a JSON object")]
    NotAnObject {
        /// `/etc/docker/daemon.json` or `nvidia-ctk's output`.
        what: &'static str,
    },
    /// A document is not JSON.
    #[error("{what} is not JSON")]
    NotJson {
        /// `/etc/docker/daemon.json` or `nvidia-ctk's output`.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// `nvidia-ctk` printed no `{`.
    #[error("nvidia-ctk printed no JSON")]
    NoJson,
    /// `nvidia-ctk`'s document has no `runtimes` object.
    #[error("nvidia-ctk's output has no runtimes")]
    NoRuntimes,
}

/// `daemon.json` with the `runtimes` (and `default-runtime`, if set) of `ctk`
/// (`nvidia-ctk runtime configure --runtime=docker --dry-run`'s output) merged in;
/// `None` when `current` already has them. Other keys are kept.
pub fn merged_nvidia_daemon_json(
    current: Option<&str>,
    ctk: &str,
) -> Result<Option<String>, NvidiaRuntimeError> {
    let object =
        |text: &str, what: &'static str| -> Result<Map<String, Value>, NvidiaRuntimeError> {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(_) => Err(NvidiaRuntimeError::NotAnObject { what }),
                Err(source) => Err(NvidiaRuntimeError::NotJson { what, source }),
            }
        };
    let mut map = match current.map(str::trim) {
        None | Some("") => Map::new(),
        Some(t) => object(t, DAEMON_JSON)?,
    };
    // nvidia-ctk may log before the document.
    let start = ctk.find('{').ok_or(NvidiaRuntimeError::NoJson)?;
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
        return Err(NvidiaRuntimeError::NoRuntimes);
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

/// Why `nvidia-smi` does not report the driver the containers must run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmiError {
    /// `nvidia-smi` exits non-zero (or is not there).
    #[error("nvidia-smi does not run")]
    DoesNotRun,
    /// `nvidia-smi` lists no GPU.
    #[error("nvidia-smi lists no GPU")]
    NoGpu,
    /// A GPU reports another driver version.
    #[error("nvidia-smi reports driver {seen}, not {want}")]
    OtherDriver {
        /// The version a GPU reports.
        seen: String,
        /// The version the containers must run.
        want: String,
    },
}

/// Whether every GPU `nvidia-smi` lists reports `want`.
fn smi_reports(out: Option<&str>, want: &str) -> Result<(), SmiError> {
    match out {
        None => Err(SmiError::DoesNotRun),
        Some("") => Err(SmiError::NoGpu),
        Some(t) => match t.lines().map(str::trim).find(|l| *l != want) {
            Some(other) => Err(SmiError::OtherDriver {
                seen: other.to_owned(),
                want: want.to_owned(),
            }),
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
                "v=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader)\necho \"$v\"\n[ -n \"$v\" ]\n! printf '%s\\n' \"$v\" | grep -qvxF '{v}'\n"
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
            return Ok(Probe::Missing(why.to_string()));
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
        let merged = merged_nvidia_daemon_json(current.as_deref(), &ctk).map_err(|source| {
            FeatureError::NvidiaRuntime {
                vmid: req.vmid,
                source,
            }
        })?;
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
        smi_reports(text(ct, &QUERY)?.as_deref(), &want).map_err(|source| {
            FeatureError::NvidiaSmi {
                vmid: ct.vmid(),
                source,
            }
        })?;
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
            merged_nvidia_daemon_json(Some("[1]"), ctk)
                .unwrap_err()
                .to_string(),
            "/etc/docker/daemon.json is not a JSON object"
        );
        assert_eq!(
            merged_nvidia_daemon_json(None, "no json")
                .unwrap_err()
                .to_string(),
            "nvidia-ctk printed no JSON"
        );
        let bad = merged_nvidia_daemon_json(Some("{"), ctk).unwrap_err();
        assert!(matches!(
            bad,
            NvidiaRuntimeError::NotJson {
                what: DAEMON_JSON,
                ..
            }
        ));
        assert_eq!(bad.to_string(), "/etc/docker/daemon.json is not JSON");
        assert_eq!(
            std::error::Error::source(&bad).unwrap().to_string(),
            "EOF while parsing an object at line 1 column 1"
        );
        assert_eq!(
            merged_nvidia_daemon_json(None, "{}")
                .unwrap_err()
                .to_string(),
            "nvidia-ctk's output has no runtimes"
        );
    }

    #[test]
    fn nvidia_smi_and_config_toml_are_judged_line_by_line() {
        assert_eq!(
            smi_reports(Some("550.54.14\n550.54.14"), "550.54.14"),
            Ok(())
        );
        assert_eq!(
            smi_reports(Some("550.54.14\n535.1"), "550.54.14")
                .unwrap_err()
                .to_string(),
            "nvidia-smi reports driver 535.1, not 550.54.14"
        );
        assert_eq!(
            smi_reports(None, "1").unwrap_err().to_string(),
            "nvidia-smi does not run"
        );
        assert_eq!(
            smi_reports(Some(""), "1").unwrap_err().to_string(),
            "nvidia-smi lists no GPU"
        );
        assert!(no_cgroups(
            "[nvidia-container-cli]\n#no-cgroups = false\nno-cgroups = true\n"
        ));
        assert!(!no_cgroups("#no-cgroups = true\nno-cgroups = false\n"));
    }
}

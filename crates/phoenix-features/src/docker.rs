//! `docker`: the Docker engine in an unprivileged container, without vfs.
//!
//! Requirements: `nesting=1` (nested namespaces, AppArmor stacking), `keyctl=1`
//! (containerd's session keyrings), `fuse=1` for the fuse-overlayfs driver, and the
//! `lxc-docker-secure` profile, which overrides the config's (Docker cannot run under
//! another of phoenix's profiles). Install: the engine (`docker.io` or Docker's
//! `docker-ce`), fuse-overlayfs when it is the driver, then `/etc/docker/daemon.json`
//! merged structurally (other keys, such as an NVIDIA runtime or log settings, are
//! kept) and written only when it changed; Docker restarts only then. Verify: the
//! service is active, `docker info` reports the configured driver (never vfs), and a
//! locally imported image runs.

use phoenix_config::{DockerEngine, DockerStorageDriver};
use phoenix_pveconf::props::Features;
use serde_json::{Map, Value};

use crate::FeatureError;
use crate::feature::{
    AppArmorRequirement, Check, CheckRun, Container, Feature, Probe, Request, Requirements, Suite,
};
use crate::staging::{Staged, last_lines, run_staged};

const INSTALL: &str = include_str!("../scripts/docker.sh");
const IMAGE: &str = include_str!("../scripts/docker-image.sh");

/// Where Docker's daemon config lives.
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// The docker feature.
#[derive(Debug, Default, Clone, Copy)]
pub struct Docker;

/// The engine and driver a container gets: its own settings, else the fleet's.
pub fn settings(req: &Request<'_>) -> (DockerEngine, DockerStorageDriver) {
    let own = req.container.docker.unwrap_or_default();
    let fleet = req.hypervisor.docker.as_ref();
    (
        own.engine
            .or_else(|| fleet.and_then(|d| d.engine))
            .unwrap_or_default(),
        own.storage_driver
            .or_else(|| fleet.and_then(|d| d.storage_driver))
            .unwrap_or_default(),
    )
}

/// Why the container's `daemon.json` cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum DaemonJsonError {
    /// It is JSON, but not an object.
    #[error("{DAEMON_JSON} is not a JSON object")]
    NotAnObject,
    /// It is not JSON.
    #[error("{DAEMON_JSON} is not JSON: {0}")]
    NotJson(serde_json::Error),
}

/// `daemon.json` with the storage driver merged in; `None` when `current` already says
/// so. Other keys are kept as they are.
pub fn merged_daemon_json(
    current: Option<&str>,
    driver: DockerStorageDriver,
) -> Result<Option<String>, DaemonJsonError> {
    let mut map: Map<String, Value> = match current.map(str::trim) {
        None | Some("") => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(DaemonJsonError::NotAnObject),
            Err(e) => return Err(DaemonJsonError::NotJson(e)),
        },
    };
    let want = Value::String(driver.as_str().to_owned());
    if map.get("storage-driver") == Some(&want) {
        return Ok(None);
    }
    map.insert("storage-driver".into(), want);
    let mut text = serde_json::to_string_pretty(&Value::Object(map)).unwrap_or_default();
    text.push('\n');
    Ok(Some(text))
}

fn text(ct: &dyn Container, argv: &[&str]) -> Result<Option<String>, FeatureError> {
    let out = ct.exec(argv)?;
    Ok((out.code == 0).then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

fn must(ct: &dyn Container, argv: &[&str]) -> Result<(), FeatureError> {
    let out = ct.exec(argv)?;
    if out.code != 0 {
        return Err(FeatureError::CommandFailed {
            vmid: ct.vmid(),
            command: argv.join(" "),
            code: out.code,
            stderr: last_lines(&out, 10),
        });
    }
    Ok(())
}

impl Docker {
    fn driver_in_use(ct: &dyn Container) -> Result<Option<String>, FeatureError> {
        text(ct, &["docker", "info", "--format", "{{.Driver}}"])
    }
}

impl Feature for Docker {
    fn name(&self) -> &'static str {
        crate::DOCKER
    }

    fn requirements(&self, req: &Request<'_>) -> Result<Requirements, FeatureError> {
        let (_, driver) = settings(req);
        let fuse = driver == DockerStorageDriver::FuseOverlayfs;
        let mut reasons = vec![
            "nesting=1: docker runs nested namespaces".to_owned(),
            "keyctl=1: containerd creates session keyrings".to_owned(),
        ];
        if fuse {
            reasons.push("fuse=1: the fuse-overlayfs storage driver needs /dev/fuse".into());
        }
        reasons.push(
            "apparmor lxc-docker-secure (overrides the config's profile): what runc needs, nothing more"
                .into(),
        );
        let mut r = Requirements {
            pct_features: Features {
                nesting: Some(true),
                keyctl: Some(true),
                fuse: fuse.then_some(true),
                ..Features::default()
            },
            apparmor: Some(AppArmorRequirement {
                profile: "lxc-docker-secure".into(),
                overrides_config: true,
            }),
            reasons,
            ..Requirements::default()
        };
        if req.has_feature(crate::NVIDIA) {
            r.features.push(crate::NVIDIA.into());
        }
        Ok(r)
    }

    fn describe(&self) -> &'static str {
        "the Docker engine (docker.io, or docker-ce from Docker's repository), fuse-overlayfs when it is the driver, /etc/docker/daemon.json's storage-driver (merged)"
    }

    fn checks(&self, req: &Request<'_>) -> Vec<Check> {
        let (_, driver) = settings(req);
        let script = |name: &str, body: String| Check {
            name: format!("docker: {name}"),
            suite: Suite::Health,
            run: CheckRun::Script(body),
        };
        vec![
            script("service active", "systemctl is-active docker\n".into()),
            script(
                "storage driver",
                format!(
                    "driver=$(docker info --format '{{{{.Driver}}}}')\necho \"$driver\"\n[ \"$driver\" = {} ]\n",
                    driver.as_str()
                ),
            ),
            script(
                "a local image runs",
                "docker run --rm phoenix/busybox echo phoenix-image-ok\n".into(),
            ),
            script(
                "outbound network to the package mirror",
                "apt-get update -q -o Acquire::Retries=1 >/dev/null\necho apt reaches its mirror\n"
                    .into(),
            ),
            Check {
                name: "docker: apparmor profile".into(),
                suite: Suite::Health,
                run: CheckRun::ConfLine("lxc.apparmor.profile".into(), "lxc-docker-secure".into()),
            },
        ]
    }

    fn commands(&self, req: &Request<'_>) -> Vec<String> {
        let (engine, driver) = settings(req);
        let mut packages = match engine {
            DockerEngine::DockerIo => "docker.io".to_owned(),
            DockerEngine::DockerCe => {
                "docker-ce docker-ce-cli containerd.io (Docker's apt repository and key added first)".to_owned()
            }
        };
        if driver == DockerStorageDriver::FuseOverlayfs {
            packages.push_str(" fuse-overlayfs");
        }
        vec![
            format!("docker.sh: apt-get install {packages} (those missing)"),
            format!("merge \"storage-driver\": \"{}\" into {DAEMON_JSON} (other keys kept)", driver.as_str()),
            "systemctl restart docker (only when daemon.json changed)".into(),
            "verify: systemctl is-active docker; docker info --format {{.Driver}}; docker-image.sh (docker import of a busybox tree as phoenix/busybox, docker run)".into(),
        ]
    }

    fn inputs(&self, req: &Request<'_>) -> Value {
        let (engine, driver) = settings(req);
        serde_json::json!({"engine": engine.as_str(), "storage_driver": driver.as_str()})
    }

    fn probe(&self, req: &Request<'_>, ct: &dyn Container) -> Result<Probe, FeatureError> {
        let (engine, driver) = settings(req);
        let status = text(ct, &["dpkg-query", "-W", "-f=${Status}", engine.as_str()])?;
        if status.as_deref() != Some("install ok installed") {
            return Ok(Probe::Missing(format!(
                "{} is not installed",
                engine.as_str()
            )));
        }
        if text(ct, &["systemctl", "is-active", "docker"])?.as_deref() != Some("active") {
            return Ok(Probe::Missing("the docker service is not active".into()));
        }
        match Self::driver_in_use(ct)? {
            Some(d) if d == driver.as_str() => Ok(Probe::Converged),
            Some(d) => Ok(Probe::Missing(format!(
                "docker uses the {d} storage driver, not {}",
                driver.as_str()
            ))),
            None => Ok(Probe::Missing("docker info fails".into())),
        }
    }

    fn install(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let (engine, driver) = settings(req);
        run_staged(
            ct,
            &Staged {
                feature: "docker".into(),
                script: INSTALL.into(),
                env: vec![
                    ("PHOENIX_DOCKER_ENGINE".into(), engine.as_str().into()),
                    ("PHOENIX_STORAGE_DRIVER".into(), driver.as_str().into()),
                ],
                ..Staged::default()
            },
        )?;
        let current = text(ct, &["cat", DAEMON_JSON])?;
        let merged = merged_daemon_json(current.as_deref(), driver).map_err(|e| {
            FeatureError::Unsupported {
                feature: "docker".into(),
                vmid: ct.vmid(),
                reason: e.to_string(),
            }
        })?;
        if let Some(new) = merged {
            ct.push(new.as_bytes(), DAEMON_JSON, 0o644)?;
            ct.output(
                "docker",
                &format!("{DAEMON_JSON}: storage-driver {}", driver.as_str()),
            );
            must(ct, &["systemctl", "restart", "docker"])?;
            ct.output("docker", "docker restarted");
        } else if text(ct, &["systemctl", "is-active", "docker"])?.as_deref() != Some("active") {
            must(ct, &["systemctl", "start", "docker"])?;
        }
        Ok(())
    }

    fn verify(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let (_, driver) = settings(req);
        let fail = |reason: String| FeatureError::Verify {
            feature: "docker".into(),
            vmid: ct.vmid(),
            reason,
        };
        if text(ct, &["systemctl", "is-active", "docker"])?.as_deref() != Some("active") {
            return Err(fail("the docker service is not active".into()));
        }
        match Self::driver_in_use(ct)?.as_deref() {
            Some("vfs") => {
                return Err(fail(format!(
                    "docker fell back to the vfs storage driver instead of {}",
                    driver.as_str()
                )));
            }
            Some(d) if d == driver.as_str() => {}
            Some(d) => {
                return Err(fail(format!(
                    "docker uses the {d} storage driver, not {}",
                    driver.as_str()
                )));
            }
            None => return Err(fail("docker info fails".into())),
        }
        let out = run_staged(
            ct,
            &Staged {
                feature: "docker-image".into(),
                script: IMAGE.into(),
                ..Staged::default()
            },
        )?;
        if !String::from_utf8_lossy(&out.stdout).contains("phoenix-image-ok") {
            return Err(fail("the local test image did not run".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_json_is_merged_keeping_other_keys_and_left_alone_when_it_says_so() {
        let nvidia = r#"{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}, "log-driver": "local"}"#;
        let merged = merged_daemon_json(Some(nvidia), DockerStorageDriver::Overlay2)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(v["storage-driver"], "overlay2");
        assert_eq!(v["log-driver"], "local");
        assert_eq!(v["runtimes"]["nvidia"]["path"], "nvidia-container-runtime");
        assert_eq!(
            merged_daemon_json(Some(&merged), DockerStorageDriver::Overlay2).unwrap(),
            None
        );
        assert_eq!(
            merged_daemon_json(None, DockerStorageDriver::FuseOverlayfs)
                .unwrap()
                .unwrap(),
            "{\n  \"storage-driver\": \"fuse-overlayfs\"\n}\n"
        );
        assert_eq!(
            merged_daemon_json(Some("[1]"), DockerStorageDriver::Overlay2)
                .unwrap_err()
                .to_string(),
            "/etc/docker/daemon.json is not a JSON object"
        );
        assert!(
            merged_daemon_json(Some("{"), DockerStorageDriver::Overlay2)
                .unwrap_err()
                .to_string()
                .starts_with("/etc/docker/daemon.json is not JSON: ")
        );
    }
}

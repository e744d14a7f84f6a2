//! The feature plug-in interface: a pure half (requirements, inputs) and a half that
//! works through a [`Container`] (probe, install, verify).

use phoenix_config::{Container as CtConfig, HypervisorFile, LxcFile, SecretRef};
use phoenix_pveconf::props::Features;
use serde::{Deserialize, Serialize};

use crate::FeatureError;
use crate::host_facts::HostFacts;

/// The outcome of a command run inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// The command's exit code.
    pub code: i32,
    /// What it printed on stdout.
    pub stdout: Vec<u8>,
    /// What it printed on stderr.
    pub stderr: Vec<u8>,
}

/// Access to one running container, implemented by the orchestrator over pct.
pub trait Container: Sync {
    /// The container's id.
    fn vmid(&self) -> u32;
    /// Runs `argv` inside the container (no shell unless argv names one).
    fn exec(&self, argv: &[&str]) -> Result<ExecResult, FeatureError>;
    /// Writes `data` to `dest` inside the container, owned by container root, with `mode`.
    fn push(&self, data: &[u8], dest: &str, mode: u32) -> Result<(), FeatureError>;
    /// The run's id: staging directories are `/tmp/phoenix_run/<run-id>/`.
    fn run_id(&self) -> &str {
        "run"
    }
    /// Runs `argv` inside, handing each output line to `on_line` as it comes.
    fn exec_streaming(
        &self,
        argv: &[&str],
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<ExecResult, FeatureError> {
        let out = self.exec(argv)?;
        for l in String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
        {
            on_line(l);
        }
        Ok(out)
    }
    /// A line of a feature's output, for the user (prefixed with the container and
    /// the feature by the orchestrator).
    fn output(&self, _feature: &str, _line: &str) {}
    /// The value of a secret of the config: a `{"file"}` reference is read beneath
    /// the host root, an `{"env"}` one from phoenix's environment. The value goes
    /// into a file of mode 0600 inside the container, never into argv or output.
    fn secret(&self, secret: &SecretRef) -> Result<String, FeatureError> {
        match secret.plaintext() {
            Some(v) => Ok(v.to_owned()),
            None => Err(FeatureError::Unsupported {
                feature: "secrets".into(),
                vmid: self.vmid(),
                reason: format!("this container access cannot read {secret:?}"),
            }),
        }
    }
}

/// What a feature is asked about: one container of the fleet.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The container id.
    pub vmid: u32,
    /// The container's whole config.
    pub container: &'a CtConfig,
    /// The hypervisor globals (timezone, docker images, NVIDIA driver, ...).
    pub hypervisor: &'a HypervisorFile,
    /// The containers file: its global keys (`nvidia_driver_version`,
    /// `nvidia_runfile_url`, `nvidia_repo_url`) and the other containers (a clone's
    /// source).
    pub lxc: &'a LxcFile,
    /// What the host shows (device nodes, driver, Proxmox release), read beneath the
    /// root before planning; [`HostFacts::default`] when nothing needed it.
    pub host: &'a HostFacts,
}

impl Request<'_> {
    /// Whether the container is unprivileged.
    pub fn unprivileged(&self) -> bool {
        self.container.unprivileged
    }

    /// Whether the container's config lists `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.container
            .features
            .iter()
            .any(|f| f.as_str() == feature)
    }
}

/// The AppArmor profile a feature needs, with the reason the plan shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppArmorRequirement {
    /// A profile phoenix ships (`lxc-docker-secure`, `lxc-phoenix-gpu`).
    pub profile: String,
    /// Whether it overrides a profile the config names (Docker cannot run under
    /// another one), or only applies when the config names none.
    pub overrides_config: bool,
}

/// A host step a feature needs before it can be installed in a container (a host
/// driver, a kernel module): the orchestrator runs it once and scopes its failure to
/// the containers that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRequirement {
    /// The host step's name (`nvidia-driver`).
    pub name: String,
    /// Why, for the plan.
    pub reason: String,
}

/// What a feature needs from Proxmox, the host and other features, declared purely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Proxmox feature flags (`nesting=1`, `keyctl=1`, `fuse=1`, ...) it needs on.
    pub pct_features: Features,
    /// `devN` entries (`/dev/nvidia0,gid=44`), as Proxmox property strings.
    pub devices: Vec<String>,
    /// Raw `lxc.*` lines as (key, value).
    pub lxc_lines: Vec<(String, String)>,
    /// The AppArmor profile it needs.
    pub apparmor: Option<AppArmorRequirement>,
    /// Host steps it needs.
    pub host: Vec<HostRequirement>,
    /// Other features that must be installed first.
    pub features: Vec<String>,
    /// Why, one line per requirement, for the plan (`nesting=1: docker runs nested
    /// namespaces`).
    pub reasons: Vec<String>,
    /// Why the feature is not installed on this container although it is listed
    /// (nvidia without `gpu_assignment`): the plan warns with it instead.
    pub not_installed: Option<String>,
}

/// What a read-only look inside the container found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Installed and configured as the inputs say.
    Converged,
    /// Not (fully) installed, with what is missing.
    Missing(String),
}

/// Which suite a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// Quick checks that the container is healthy.
    Health,
    /// Slower end-to-end tests.
    Integration,
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Suite::Health => "health",
            Suite::Integration => "integration",
        })
    }
}

/// What a check runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckRun {
    /// A script staged and run inside the container (exit 0 passes).
    Script(String),
    /// The container's conf on the host must hold this raw line (`key`, `value`);
    /// the key `devN` matches a `devN` entry of any slot.
    ConfLine(String, String),
}

/// A check a feature ships (run by `phoenix test` and after a converge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Its name (`docker: storage driver`).
    pub name: String,
    /// Its suite.
    pub suite: Suite,
    /// What it runs.
    pub run: CheckRun,
}

/// A feature installer.
pub trait Feature: Send + Sync {
    /// The name used in the config's `features` list.
    fn name(&self) -> &'static str;
    /// What the feature needs, without side effects; an error when it cannot be
    /// installed on this container at all.
    fn requirements(&self, request: &Request<'_>) -> Result<Requirements, FeatureError>;
    /// The inputs of the installation: when their digest changes, the feature is
    /// installed again.
    fn inputs(&self, request: &Request<'_>) -> serde_json::Value;
    /// Looks inside the container without changing anything.
    fn probe(
        &self,
        request: &Request<'_>,
        container: &dyn Container,
    ) -> Result<Probe, FeatureError>;
    /// Installs the feature; must be idempotent (a second run changes nothing).
    fn install(&self, request: &Request<'_>, container: &dyn Container)
    -> Result<(), FeatureError>;
    /// Checks that the installed feature works.
    fn verify(&self, request: &Request<'_>, container: &dyn Container) -> Result<(), FeatureError>;
    /// The checks it ships for `phoenix test`.
    fn checks(&self, _request: &Request<'_>) -> Vec<Check> {
        Vec::new()
    }
    /// What it installs, one line, for `phoenix features list`.
    fn describe(&self) -> &'static str {
        ""
    }
    /// The commands an install runs here, for `phoenix plan -v`.
    fn commands(&self, _request: &Request<'_>) -> Vec<String> {
        Vec::new()
    }
}

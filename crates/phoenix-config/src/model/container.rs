//! One LXC container definition (`lxc_configs.<CTID>`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::apparmor::{AppArmorRule, ProfileName};
use super::dns::NameserverList;
use super::legacy::{
    Firewall, LegacyHealthCheck, LegacyIntegrationTests, StorageVolume, VllmModelType,
    VllmParameters,
};
use super::secret::SecretRef;
use super::services::TraefikService;
use super::vllm::VllmEngineConfig;
use crate::ids::Ctid;
use crate::names::{
    AbsPath, Bridge, FeatureName, FileMode, GpuAssignment, Hostname, HttpUrl, InterfaceName,
    LxcOption, OsTemplate, PctOption, PortMapping, ScriptPath, SnapshotName, StorageId, UrlPath,
    VersionString,
};
use crate::net::{Ipv4, Ipv4Cidr, MacAddr};

pub use super::idmap::{IdMapKind, IdMapSpec};

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A container: how to create it (from an OS template or as a clone), its
/// resources, network, features and the checks that prove it works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Container {
    /// The container's hostname (Proxmox `dns-name` rule).
    pub name: Hostname,
    /// The cluster node the container lives on (a key of the hypervisor's
    /// `cluster.nodes`); absent: placed by `cluster.placement`. Needs a `cluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<phoenix_pveconf::api::NodeName>,
    /// Start the container when the host boots (Proxmox `onboot`).
    #[serde(default)]
    pub start_at_boot: bool,
    /// Boot order (Proxmox `startup: order=N`); lower starts first, guests without an order start last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_order: Option<u32>,
    /// Seconds to wait after starting this container before the next (`startup: up=N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_delay: Option<u32>,
    /// Memory in MB (Proxmox minimum 16).
    #[schemars(range(min = 16))]
    pub memory_mb: u32,
    /// Swap in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_mb: Option<u32>,
    /// CPU cores (1..=8192).
    #[schemars(range(min = 1, max = 8192))]
    pub cores: u32,
    /// The OS template to create the container from; a container has this or `clone_from_ctid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<OsTemplate>,
    /// The storage holding the root file system.
    pub storage_pool: StorageId,
    /// Root file system size in GB (at least 1).
    #[schemars(range(min = 1))]
    pub storage_size_gb: u32,
    /// The container's one network interface.
    pub network_config: NetworkConfig,
    /// The interface's MAC address (unicast). Absent or `""` (the old files' way of
    /// saying "let Proxmox choose"): `None`, phoenix writes no `hwaddr` and Proxmox
    /// generates one.
    #[serde(
        default,
        deserialize_with = "super::dns::mac_or_empty",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<super::dns::MacOrEmpty>")]
    pub mac_address: Option<MacAddr>,
    /// GPUs passed through: `none`, `all` or indices like `0,1` (`/dev/nvidia<N>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_assignment: Option<GpuAssignment>,
    /// The container's role in Portainer (bash era).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portainer_role: Option<PortainerRole>,
    /// Run as an unprivileged container (user namespace). Cannot change after create,
    /// so a clone must match its source. Default true, as in `pct create`.
    #[serde(default = "yes")]
    pub unprivileged: bool,
    /// Create by cloning this container's (or VM's) `template_snapshot_name` snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_from_ctid: Option<Ctid>,
    /// Features to install, in order (see `phoenix_config::features::KNOWN`).
    #[serde(default)]
    pub features: Vec<FeatureName>,
    /// How Docker runs here (with the `docker` feature); defaults from the hypervisor's
    /// `docker` section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<super::docker::DockerSettings>,
    /// Raw `lxc.*` lines added to the CT config. Keys phoenix manages
    /// (`lxc.apparmor.profile`, `lxc.idmap`) belong in `apparmor_profile` / `id_maps`.
    #[serde(default)]
    pub lxc_options: Vec<LxcOption>,
    /// Proxmox `features` flags: `nesting=1`, `keyctl=1`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pct_options: Vec<PctOption>,
    /// After configuring this container, take a snapshot with this name; clones clone from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_snapshot_name: Option<SnapshotName>,
    /// The AppArmor profile the container runs under, or `unconfined` (risky: a warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apparmor_profile: Option<ProfileName>,
    /// Bash era: the AppArmor profile, not LXC, allows nested containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apparmor_manages_nesting: Option<bool>,
    /// Extra AppArmor rules for this container's profile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apparmor_extra_rules: Vec<AppArmorRule>,
    /// Explicit user-namespace map entries (`lxc.idmap`); Proxmox's default map when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_maps: Vec<IdMapSpec>,
    /// Bind mounts from the host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    /// How the NGINX gateway exposes this container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
    /// Health checks and integration tests run after provisioning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<ContainerTests>,
    /// Guests (containers or VMs) that must be running before this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Ctid>,
    /// A script run inside the container after its features (relative to the scripts directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_script: Option<ScriptPath>,
    /// Files or directories the application script needs, relative to the scripts
    /// directory: staged beside it in `/tmp/phoenix_run/<run-id>/` with their relative
    /// layout (site files, templates). A change to any of them runs the script again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub application_files: Vec<ScriptPath>,
    /// Proxmox firewall settings for the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<Firewall>,
    /// Ports the application listens on, `host:container` (bash era, informational).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    /// Storage volumes allocated and mounted into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<StorageVolume>,
    /// Storage volumes on ZFS-backed storages (bash era; same shape as `volumes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zfs_volumes: Vec<StorageVolume>,
    /// Bash era: a shell health check command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<LegacyHealthCheck>,
    /// Bash era: an integration test script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_tests: Option<LegacyIntegrationTests>,
    /// Bash era: run the integration tests after provisioning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_integration_tests: Option<bool>,
    /// Bash era: vLLM test scripts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vllm: Vec<TestScript>,
    /// vLLM: the model to serve (Hugging Face id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_model: Option<String>,
    /// vLLM: quantization method (`awq_marlin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_quantization: Option<String>,
    /// vLLM: maximum context length in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub vllm_max_model_len: Option<u32>,
    /// vLLM: fraction of GPU memory to use, in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub vllm_gpu_memory_utilization: Option<f64>,
    /// vLLM: number of GPUs for tensor parallelism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub vllm_tensor_parallel_size: Option<u32>,
    /// vLLM: the model name the API serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_served_model_name: Option<String>,
    /// vLLM: chat or embedding model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_model_type: Option<VllmModelType>,
    /// vLLM: API port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub vllm_port: Option<u16>,
    /// vLLM: trust remote code from the model repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_trust_remote_code: Option<bool>,
    /// vLLM: engine parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_parameters: Option<VllmParameters>,
    /// vLLM: extra command-line arguments, one argv element each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vllm_args: Vec<String>,
    /// vLLM engine settings grouped by vLLM config class (newest bash-era shape;
    /// `phoenix config upgrade` moves the flat `vllm_*` keys here). Applied by the
    /// `vllm` feature; where a flat key says otherwise the plan stops and names both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_engine_config: Option<VllmEngineConfig>,
    /// vLLM: the version installed from PyPI into the feature's virtual environment
    /// (`vllm==<version>`). Absent: phoenix's default pin
    /// (`phoenix_config::features::VLLM_DEFAULT_VERSION`), shown in the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_version: Option<VersionString>,
    /// vLLM: the Hugging Face token for gated models, put into the service's
    /// EnvironmentFile (mode 0600) as `HF_TOKEN`. Absent: the hypervisor's
    /// `core_paths.hf_token_file`, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_hf_token: Option<SecretRef>,
    /// Ollama's settings (with the `ollama` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ollama: Option<super::ollama::OllamaSettings>,
    /// Old system: snapshot the container at each lifecycle step (`pre-configured`
    /// before features, `final-form` when provisioned). Read, not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_lifecycle_snapshots: Option<bool>,
    /// Old system: how the internal Traefik proxy routes to this container. Read,
    /// not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traefik_service: Option<TraefikService>,
    /// Old system: after provisioning, regenerate the gateway, Traefik and DNS
    /// configuration from the whole fleet. Read, not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_sync_on_completion: Option<bool>,
    /// Old system: the CA the container trusts and requests its first certificate
    /// from (`https://10.0.0.10:9000`). Read, not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_ca_url: Option<HttpUrl>,
}

/// The container's network interface (Proxmox `net0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Interface name inside the container (`eth0`).
    pub name: InterfaceName,
    /// Host bridge (`vmbr0`).
    pub bridge: Bridge,
    /// Address and prefix (`10.0.0.5/24`).
    pub ip: Ipv4Cidr,
    /// Default gateway; must lie in the interface's subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<Ipv4>,
    /// DNS servers of the container (Proxmox `nameserver`); the host's when empty.
    /// The old files write one string (`"10.0.0.13"`); phoenix's form is an array.
    #[serde(default, skip_serializing_if = "NameserverList::is_empty")]
    pub nameservers: NameserverList,
    /// DNS search domain of the container (Proxmox `searchdomain`); the host's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_domain: Option<Hostname>,
}

/// The container's role in Portainer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortainerRole {
    /// Not part of Portainer.
    None,
    /// Runs the Portainer server.
    Server,
    /// Runs a Portainer agent.
    Agent,
    /// Infrastructure Portainer depends on (the gateway).
    Infrastructure,
}

/// A bind mount of a host directory into the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MountPoint {
    /// The host directory (absolute; resolved under `--root`).
    pub host_path: AbsPath,
    /// Where it appears in the container (absolute).
    pub container_path: AbsPath,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// Owner of the host directory, as a uid inside the container (mapped through the idmap).
    #[serde(default)]
    pub owner_uid: u32,
    /// Group of the host directory, as a gid inside the container.
    #[serde(default)]
    pub owner_gid: u32,
    /// Mode of the host directory, octal (`0750`); left unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FileMode>,
}

/// How the NGINX gateway exposes a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// Host names routed to the container: one NGINX `server` each. Without any, the
    /// route is a path prefix on the gateway's default server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<Hostname>,
    /// URL path prefix routed to the container (`/api/`), on each of its hostnames
    /// or, without hostnames, on the default server; `/` when absent. The request's
    /// path is passed on unchanged (the prefix is not stripped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<UrlPath>,
    /// The container port NGINX proxies to, at the container's `network_config.ip`.
    #[schemars(range(min = 1))]
    pub upstream_port: u16,
    /// Proxy WebSocket upgrades (`Upgrade` and `Connection` passed on, HTTP/1.1).
    #[serde(default, skip_serializing_if = "is_false")]
    pub websocket: bool,
    /// Serve these routes over HTTPS. Absent: HTTPS when the hypervisor's
    /// `gateway.tls` names a certificate, else plain HTTP. `false`: plain HTTP on
    /// port 80 only, never redirected. `true` needs `gateway.tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
}

/// A container's checks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerTests {
    /// Quick checks that the container is healthy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<TestScript>,
    /// Slower end-to-end tests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integration_tests: Vec<TestScript>,
}

/// One test: a script run by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestScript {
    /// What the test checks, for reports.
    pub name: String,
    /// How the test runs; only `script`.
    #[serde(rename = "type")]
    pub kind: TestKind,
    /// The script, relative to the tests directory.
    pub path: ScriptPath,
}

/// How a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// Run the script at `path`.
    Script,
}

/// Every mount target of a container, with the JSON pointer suffix naming it.
pub(crate) fn mount_targets(c: &Container) -> Vec<(String, &AbsPath)> {
    let mut out = Vec::new();
    for (i, v) in c.volumes.iter().enumerate() {
        out.push((format!("volumes/{i}/mount_point"), &v.mount_point));
    }
    for (i, v) in c.zfs_volumes.iter().enumerate() {
        out.push((format!("zfs_volumes/{i}/mount_point"), &v.mount_point));
    }
    for (i, m) in c.mount_points.iter().enumerate() {
        out.push((
            format!("mount_points/{i}/container_path"),
            &m.container_path,
        ));
    }
    out
}

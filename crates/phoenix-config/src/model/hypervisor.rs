//! `phoenix_hypervisor_config.json`: the host itself (users, network, storage,
//! NVIDIA driver) and the volumes it shares with containers.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::container::TestScript;
use super::dns::NameserverList;
use super::legacy::{FirewallAction, FirewallRule};
use super::secret::SecretRef;
use super::services::{DnsServer, HostVmDefaults, PortainerApi, StepCa};
use crate::ids::Ctid;
use crate::names::{
    AbsPath, Bridge, DatasetPath, FileMode, Hostname, HttpUrl, StorageId, TimeZone, VersionString,
};
use crate::net::{Ipv4, Ipv4Cidr};

pub use super::storage::{
    Nfs, NfsExport, NfsOption, RaidLevel, Samba, SambaShare, StorageType, Zfs, ZfsDataset, ZfsPool,
};

/// The hypervisor file. Every section is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HypervisorFile {
    /// The JSON Schema this file follows, for editors (ignored by phoenix).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Version of this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Who wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The admin user created on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Users>,
    /// Paths of phoenix's own files on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_paths: Option<CorePaths>,
    /// Host time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<TimeZone>,
    /// Host network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<HostNetwork>,
    /// Docker images the host deploys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerImages>,
    /// NFS exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<Nfs>,
    /// Samba shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samba: Option<Samba>,
    /// ZFS pools and datasets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zfs: Option<Zfs>,
    /// Proxmox storage ids by role.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proxmox_storage_ids: BTreeMap<String, StorageId>,
    /// Where Proxmox mounts storages (`/mnt/pve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_point_base: Option<AbsPath>,
    /// Defaults for new guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxmox_defaults: Option<ProxmoxDefaults>,
    /// Host test suites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<HypervisorTests>,
    /// The host's NVIDIA driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia_driver: Option<NvidiaDriver>,
    /// How phoenix behaves on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<Behavior>,
    /// Host directories bind-mounted into several containers, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared_volumes: BTreeMap<String, SharedVolume>,
    /// The host firewall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<HostFirewall>,
    /// The NGINX gateway: the container that runs it and its TLS certificate. Every
    /// container's `gateway` section is routed through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<super::gateway::FleetGateway>,
    /// A Proxmox VE cluster driven through its REST API (see
    /// [`super::cluster::Cluster`]); absent: this node alone, through `pct`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<super::cluster::Cluster>,
    /// Old system: the fleet's internal DNS domain (`internal.thinkheads.ai`), the
    /// guests' search domain and the suffix of Traefik and gateway names. Read, not
    /// applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<Hostname>,
    /// The Portainer API: its admin login is the Portainer server's first-run admin
    /// (`--admin-password-file`) and registers the fleet's agents. `portainer_hostname`
    /// is read, not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portainer_api: Option<PortainerApi>,
    /// Old system: host-wide VM defaults. Read, not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_defaults: Option<HostVmDefaults>,
    /// Old system: the DNS server on the host. Read, not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_server: Option<DnsServer>,
    /// Old system: the internal certificate authority. Read, not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_ca: Option<StepCa>,
}

/// The admin user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Users {
    /// Login name.
    pub username: String,
    /// Password hash for /etc/shadow, or `NOT_SET`.
    pub password_hash: String,
    /// Grant sudo.
    pub sudo_access: bool,
    /// SSH public key (may be empty).
    pub ssh_public_key: String,
    /// A login password, when one is set (better a `{"file"}` or `{"env"}` reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// Paths of phoenix's files on the host (bash era).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorePaths {
    /// The containers file.
    pub lxc_config_file: AbsPath,
    /// The containers file's schema.
    pub lxc_config_schema_file: AbsPath,
    /// The Hugging Face token file.
    pub hf_token_file: AbsPath,
    /// The Docker Hub token file.
    pub docker_token_file: AbsPath,
    /// Docker image files.
    pub docker_images_path: AbsPath,
    /// Directory of the initialized marker.
    pub hypervisor_marker_dir: AbsPath,
    /// The initialized marker file.
    pub hypervisor_marker: AbsPath,
    /// The VM file (newest bash era). Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_config_file: Option<AbsPath>,
}

/// Host network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostNetwork {
    /// Registry for phoenix's images (`docker.io/user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_registry_url: Option<String>,
    /// Address of the Portainer server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portainer_server_ip: Option<Ipv4>,
    /// Portainer server port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub portainer_server_port: Option<u16>,
    /// Portainer agent port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub portainer_agent_port: Option<u16>,
    /// The host's bridge interface.
    pub interfaces: HostInterface,
    /// The guests' subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_subnet: Option<Ipv4Cidr>,
    /// The NFS server's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs_server: Option<Ipv4>,
    /// Old system: the DNS server guests fall back to when the internal one fails.
    /// Read, not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_dns: Option<Ipv4>,
}

/// The host's bridge interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostInterface {
    /// Bridge name.
    pub name: Bridge,
    /// The host's address and prefix.
    pub address: Ipv4Cidr,
    /// Default gateway; must lie in the subnet.
    pub gateway: Ipv4,
    /// DNS servers of the host: an array, or (bash era) one string separated by spaces.
    #[serde(default, skip_serializing_if = "NameserverList::is_empty")]
    pub dns_nameservers: NameserverList,
}

/// Docker: the images the host deploys and the fleet's defaults for containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DockerImages {
    /// Portainer server image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portainer_server_image: Option<String>,
    /// Portainer agent image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portainer_agent_image: Option<String>,
    /// The fleet's default storage driver (`fuse-overlayfs` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_driver: Option<super::docker::DockerStorageDriver>,
    /// The fleet's default engine (`docker.io` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<super::docker::DockerEngine>,
}

/// Defaults for new guests (bash era).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxmoxDefaults {
    /// The dataset holding container disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zfs_lxc_pool: Option<DatasetPath>,
    /// Container defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lxc: Option<LxcDefaults>,
}

/// Container defaults (bash era).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LxcDefaults {
    /// CPU cores.
    #[schemars(range(min = 1))]
    pub cores: u32,
    /// Memory in MB.
    #[schemars(range(min = 16))]
    pub memory_mb: u32,
    /// `address/prefix,gateway,dns`.
    #[schemars(regex(pattern = r"^[0-9.]+/[0-9]{1,2},[0-9.]+,[0-9.]+$"))]
    pub network_config: String,
    /// Proxmox `features` value (`nesting=1`).
    pub features: String,
    /// Security mode (`default`).
    pub security: String,
    /// Nesting, 0 or 1.
    #[schemars(range(max = 1))]
    pub nesting: u8,
}

/// Host test suites.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HypervisorTests {
    /// Checks that the host's setup is right.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_validation: Vec<TestScript>,
    /// Checks that the host is healthy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hypervisor_health_check: Vec<TestScript>,
}

/// The host's NVIDIA driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NvidiaDriver {
    /// Install it.
    pub install: bool,
    /// Driver version; containers must use the same.
    pub version: VersionString,
    /// Runfile URL.
    pub runfile_url: HttpUrl,
    /// CUDA version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_version: Option<VersionString>,
    /// Install the libraries vLLM needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_vllm_libs: Option<bool>,
}

/// Failure behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Behavior {
    /// Roll back a container whose setup failed.
    pub rollback_on_failure: bool,
    /// Verbose logs.
    pub debug_mode: bool,
}

/// The host firewall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostFirewall {
    /// Enable it.
    pub enabled: bool,
    /// Policy for incoming traffic.
    pub default_input_policy: FirewallAction,
    /// Policy for outgoing traffic.
    pub default_output_policy: FirewallAction,
    /// Rules of the host (datacenter) firewall, in order. Read, not applied yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_firewall_rules: Vec<FirewallRule>,
}

/// A host directory bind-mounted into several containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedVolume {
    /// The host directory (absolute; resolved under `--root`).
    pub host_path: AbsPath,
    /// Container id to the path it appears at in that container (absolute).
    pub mounts: BTreeMap<Ctid, AbsPath>,
    /// Owner of the host directory, as a uid inside the containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_uid: Option<u32>,
    /// Group of the host directory, as a gid inside the containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_gid: Option<u32>,
    /// Mode of the host directory, octal (`0770`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FileMode>,
    /// Mount read-only in every container.
    #[serde(default)]
    pub read_only: bool,
}

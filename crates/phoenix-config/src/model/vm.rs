//! `phoenix_vm_configs.json` (optional): VM defaults and VMs. phoenix does not
//! manage VMs yet; it reads them so ids, addresses and dependencies are checked
//! across both files.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::legacy::Firewall;
use super::secret::SecretRef;
use super::services::{DnsRecord, TraefikService, VmVolume};
use crate::ids::{Ctid, Vmid};
use crate::names::{Bridge, FeatureName, Hostname, SnapshotName, StackName, StorageId};
use crate::net::{Ipv4, Ipv4Cidr};

/// The VM file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmFile {
    /// The JSON Schema this file follows, for editors (ignored by phoenix).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Values VMs inherit when they do not set them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_defaults: Option<VmDefaults>,
    /// The VMs.
    #[serde(default)]
    pub vms: Vec<Vm>,
}

/// VM defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmDefaults {
    /// Template name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// CPU cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub cores: Option<u32>,
    /// Memory in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16))]
    pub memory_mb: Option<u32>,
    /// Disk size in GB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub disk_size_gb: Option<u32>,
    /// Storage for disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_pool: Option<StorageId>,
    /// Bridge for the NIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_bridge: Option<Bridge>,
}

/// One VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vm {
    /// The VM id; unique across containers and VMs.
    pub vmid: Vmid,
    /// The VM's name (DNS name).
    pub name: Hostname,
    /// The VM is a Proxmox template (clones need no snapshot).
    #[serde(default)]
    pub is_template: bool,
    /// Cloud image the template is built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_image: Option<String>,
    /// Clone from this VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_from_vmid: Option<Vmid>,
    /// Snapshot taken after configuration; clones of this VM clone from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_snapshot_name: Option<SnapshotName>,
    /// CPU cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub cores: Option<u32>,
    /// Memory in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16))]
    pub memory_mb: Option<u32>,
    /// Disk size in GB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub disk_size_gb: Option<u32>,
    /// Storage for disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_pool: Option<StorageId>,
    /// Bridge for the NIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_bridge: Option<Bridge>,
    /// Features to install.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<FeatureName>,
    /// Network settings (cloud-init).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_config: Option<VmNetworkConfig>,
    /// The user cloud-init creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_config: Option<VmUserConfig>,
    /// Start the VM when the host boots. Read, not applied (phoenix does not manage VMs yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at_boot: Option<bool>,
    /// Boot order (`startup: order=N`). Checked against dependencies; not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_order: Option<u32>,
    /// Seconds to wait after starting this VM before the next. Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_delay: Option<u32>,
    /// Guests (containers or VMs) that must be running before this one; checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Ctid>,
    /// The VM's role in Portainer. Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portainer_role: Option<VmPortainerRole>,
    /// The Portainer environment an agent VM registers as. Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portainer_environment_name: Option<String>,
    /// The host name the Portainer server reaches this agent at. Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portainer_agent_hostname: Option<Hostname>,
    /// Regenerate gateway, Traefik and DNS configuration after provisioning. Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_sync_on_completion: Option<bool>,
    /// How the internal Traefik proxy routes to this VM. Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traefik_service: Option<TraefikService>,
    /// NFS volumes the VM mounts. Read, not applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VmVolume>,
    /// Docker stacks deployed to the VM through Portainer. Read, not applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docker_stacks: Vec<StackName>,
    /// DNS records published for the VM. Read, not applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_records: Vec<DnsRecord>,
    /// Proxmox firewall settings of the VM (checked for duplicate rules). Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<Firewall>,
}

/// A VM's role in Portainer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VmPortainerRole {
    /// Not part of Portainer.
    None,
    /// Runs the Portainer server.
    Primary,
    /// Runs a Portainer agent.
    Agent,
}

/// A VM's address: static, or `dhcp` (cloud-init `ip=dhcp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VmAddress {
    /// `dhcp`: the address comes from a DHCP server.
    Dhcp(DhcpKeyword),
    /// A static address and prefix.
    Static(Ipv4Cidr),
}

impl VmAddress {
    /// The static address, `None` for DHCP.
    pub fn cidr(&self) -> Option<&Ipv4Cidr> {
        match self {
            VmAddress::Static(c) => Some(c),
            VmAddress::Dhcp(_) => None,
        }
    }
}

/// The keyword `dhcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DhcpKeyword {
    /// `dhcp`.
    Dhcp,
}

/// VM network settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmNetworkConfig {
    /// Address and prefix, or `dhcp`.
    pub ip: VmAddress,
    /// Default gateway; must lie in the subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<Ipv4>,
    /// DNS servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<Ipv4>,
    /// Old system: one DNS server (`phoenix config upgrade` moves it into
    /// `nameservers`). Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nameserver: Option<Ipv4>,
}

/// The VM's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmUserConfig {
    /// Login name.
    pub username: String,
    /// The user's password, when one is set (better a `{"file"}` or `{"env"}` reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

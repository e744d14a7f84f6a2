//! `phoenix_vm_configs.json` (optional): VM defaults and VMs. phoenix does not
//! manage VMs yet; it reads them so ids, addresses and dependencies are checked
//! across both files.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::Vmid;
use crate::names::{Bridge, FeatureName, Hostname, SnapshotName, StorageId};
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
}

/// VM network settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmNetworkConfig {
    /// Address and prefix.
    pub ip: Ipv4Cidr,
    /// Default gateway; must lie in the subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<Ipv4>,
    /// DNS servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<Ipv4>,
}

/// The VM's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmUserConfig {
    /// Login name.
    pub username: String,
}

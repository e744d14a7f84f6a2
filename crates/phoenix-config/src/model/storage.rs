//! The host's storage sections of the hypervisor file: NFS exports, Samba shares,
//! ZFS pools and datasets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::legacy::AddressOrSubnet;
use super::services::StorageClass;
use crate::names::{AbsPath, DatasetPath};

/// NFS exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Nfs {
    /// The exports.
    pub exports: Vec<NfsExport>,
}

/// One NFS export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NfsExport {
    /// Exported directory.
    pub path: AbsPath,
    /// Allowed clients: subnets (`10.0.0.0/24`) or single addresses (`10.0.0.111`).
    pub clients: Vec<AddressOrSubnet>,
    /// Export options (`rw`, `sync`, ...).
    pub options: Vec<NfsOption>,
}

/// NFS export options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum NfsOption {
    Rw,
    Ro,
    Sync,
    Async,
    SubtreeCheck,
    NoSubtreeCheck,
    RootSquash,
    NoRootSquash,
    AllSquash,
    Secure,
    Insecure,
}

/// Samba.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Samba {
    /// The Samba user.
    pub user: String,
    /// The shares.
    pub shares: Vec<SambaShare>,
}

/// One Samba share of a ZFS dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SambaShare {
    /// Share name.
    pub name: String,
    /// The shared dataset, `pool/dataset`; must be declared in `zfs.datasets`.
    pub path: DatasetPath,
    /// smb.conf options, `key=value` separated by spaces.
    #[schemars(regex(pattern = r"^[a-z ]+=[a-z0-9]+( [a-z ]+=[a-z0-9]+)*$"))]
    pub options: String,
    /// Users allowed.
    pub valid_users: Vec<String>,
}

/// ZFS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Zfs {
    /// ARC size limit in GB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arc_max_gb: Option<u32>,
    /// Pools.
    #[serde(default)]
    pub pools: Vec<ZfsPool>,
    /// Datasets.
    #[serde(default)]
    pub datasets: Vec<ZfsDataset>,
}

/// A ZFS pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZfsPool {
    /// Pool name.
    pub name: String,
    /// Layout.
    pub raid_level: RaidLevel,
    /// Member disks (`/dev/disk/by-id/...`).
    pub disks: Vec<AbsPath>,
}

/// ZFS pool layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum RaidLevel {
    Single,
    Mirror,
    Raid10,
    Raidz1,
    Raidz2,
    Raidz3,
}

/// A ZFS dataset and the Proxmox storage made from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZfsDataset {
    /// Dataset name inside the pool.
    pub name: String,
    /// The pool; must be one of `zfs.pools`.
    pub pool: String,
    /// ZFS properties, `key=value` joined by commas.
    #[schemars(regex(pattern = r"^[a-z]+=[A-Za-z0-9.]+(,[a-z]+=[A-Za-z0-9.]+)*$"))]
    pub properties: String,
    /// Proxmox storage type.
    pub proxmox_storage_type: StorageType,
    /// Old system: whether the dataset holds guest disks or is shared. Read, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<StorageClass>,
    /// Proxmox content types, joined by commas (`images,rootdir`).
    #[schemars(regex(
        pattern = r"^(images|rootdir|vztmpl|iso|backup|snippets|import)(,(images|rootdir|vztmpl|iso|backup|snippets|import))*$"
    ))]
    pub proxmox_content_type: String,
}

/// Proxmox storage types phoenix creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    /// A ZFS pool storage.
    Zfspool,
    /// A directory storage.
    Dir,
}

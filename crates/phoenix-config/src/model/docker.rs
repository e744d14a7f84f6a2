//! How Docker runs in a container: the engine and the storage driver, per container
//! (`lxc_configs.<id>.docker`) with a fleet-wide default (the hypervisor's `docker`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Docker's storage driver. vfs is never used: a daemon that falls back to it fails
/// verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum DockerStorageDriver {
    /// `fuse-overlayfs` (the design's choice, the default): works on every backing file
    /// system in a user namespace; needs `fuse=1` and `/dev/fuse`.
    #[default]
    #[serde(rename = "fuse-overlayfs")]
    FuseOverlayfs,
    /// `overlay2`: native overlay in a user namespace (Linux 5.11 or later); what Docker
    /// recommends; on a ZFS rootfs it needs ZFS 2.2.
    #[serde(rename = "overlay2")]
    Overlay2,
}

impl DockerStorageDriver {
    /// The name Docker uses (`docker info --format '{{.Driver}}'`).
    pub fn as_str(self) -> &'static str {
        match self {
            DockerStorageDriver::FuseOverlayfs => "fuse-overlayfs",
            DockerStorageDriver::Overlay2 => "overlay2",
        }
    }
}

/// Which Docker engine is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum DockerEngine {
    /// Debian's `docker.io` (the default).
    #[default]
    #[serde(rename = "docker.io")]
    DockerIo,
    /// `docker-ce` from Docker's own apt repository.
    #[serde(rename = "docker-ce")]
    DockerCe,
}

impl DockerEngine {
    /// The package name.
    pub fn as_str(self) -> &'static str {
        match self {
            DockerEngine::DockerIo => "docker.io",
            DockerEngine::DockerCe => "docker-ce",
        }
    }
}

/// A container's Docker settings (each falls back to the hypervisor's `docker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DockerSettings {
    /// The storage driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_driver: Option<DockerStorageDriver>,
    /// The engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<DockerEngine>,
}

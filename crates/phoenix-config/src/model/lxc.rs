//! `phoenix_lxc_configs.json`: global keys and the containers by id.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::container::Container;
use crate::ids::Ctid;
use crate::names::{HttpUrl, Sha256Hex, VersionString};

/// The containers file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LxcFile {
    /// The JSON Schema this file follows, for editors (ignored by phoenix).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// NVIDIA driver version installed in GPU containers; must equal the host's
    /// `nvidia_driver.version` (the user-space driver must match the kernel module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia_driver_version: Option<VersionString>,
    /// NVIDIA CUDA apt repository for containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia_repo_url: Option<HttpUrl>,
    /// NVIDIA driver runfile URL for containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia_runfile_url: Option<HttpUrl>,
    /// The runfile's SHA-256: checked inside the container before it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia_runfile_sha256: Option<Sha256Hex>,
    /// The containers, by id.
    pub lxc_configs: BTreeMap<Ctid, Container>,
}

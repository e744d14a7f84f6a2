//! `cluster` in the hypervisor file: a Proxmox VE cluster phoenix drives through the
//! PVE REST API, with an SSH node path for the steps the API refuses to tokens.
//!
//! ```json
//! "cluster": {
//!   "api_url": "https://pve1.example:8006",
//!   "token_id": "phoenix@pve!converge",
//!   "token_secret_file": "/etc/phoenix/pve-token",
//!   "fingerprint": "AB:CD:...",
//!   "ssh_known_hosts": "/etc/phoenix/known_hosts",
//!   "local_node": "pve1",
//!   "placement": "least-loaded",
//!   "max_jobs_per_node": 4,
//!   "nodes": {
//!     "pve1": { "ssh_host": "10.0.0.11" },
//!     "pve2": { "ssh_host": "10.0.0.12", "ssh_port": 2222, "phoenix": "/usr/local/bin/phoenix" }
//!   }
//! }
//! ```
//!
//! The token's secret is never written in the config: it is read from a file
//! (`token_secret_file`) or an environment variable (`token_secret_env`), exactly one.
//! The node's certificate is checked against a pinned SHA-256 `fingerprint` or a
//! `ca_file`, exactly one (Proxmox nodes use self-signed certificates). SSH host keys
//! are always checked against `ssh_known_hosts`. A container names its node with
//! `"node": "pve2"` (a key of `nodes`).
//!
//! ```
//! use phoenix_config::model::cluster::{Cluster, Placement};
//! let c: Cluster = serde_json::from_str(r#"{
//!     "api_url": "https://pve1:8006", "token_id": "phoenix@pve!converge",
//!     "token_secret_env": "PVE_TOKEN", "ca_file": "/etc/phoenix/pve-ca.pem",
//!     "ssh_known_hosts": "/etc/phoenix/known_hosts",
//!     "nodes": {"pve1": {"ssh_host": "10.0.0.11"}}
//! }"#).unwrap();
//! assert_eq!(c.ssh_user.as_str(), "root");
//! assert_eq!(c.placement, Placement::Local);
//! let n = &c.nodes[&"pve1".parse().unwrap()];
//! assert_eq!((n.ssh_port, n.phoenix.as_str()), (22, "phoenix"));
//! ```

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::names::{AbsPath, ApiUrl, EnvVarName, Hostname, LoginName, RemoteCommand};

pub use phoenix_pveconf::api::{Fingerprint, NodeName, TokenId};

fn root() -> LoginName {
    "root".parse().expect("a valid login name")
}

fn ssh_port() -> u16 {
    22
}

fn phoenix() -> RemoteCommand {
    "phoenix".parse().expect("a valid command")
}

/// The cluster: its API, the token phoenix uses, how its certificate and the nodes'
/// SSH host keys are checked, placement and concurrency, and each node's SSH address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The API's address: `https://host[:port]` (Proxmox listens on 8006), no path.
    pub api_url: ApiUrl,
    /// The API token: `USER@REALM!TOKENID` (its secret comes from
    /// `token_secret_file` or `token_secret_env`).
    pub token_id: TokenId,
    /// A file on the host holding the token's secret (resolved under `--root`); or
    /// `token_secret_env`, exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_file: Option<AbsPath>,
    /// An environment variable of the phoenix process holding the token's secret; or
    /// `token_secret_file`, exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_env: Option<EnvVarName>,
    /// The SHA-256 fingerprint of the API's TLS certificate (`AB:CD:...`, as the GUI
    /// shows it under the node's Certificates); or `ca_file`, exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// A PEM file of the CA that signed the API's certificate (resolved under
    /// `--root`; `/etc/pve/pve-root-ca.pem` on a node); or `fingerprint`, exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<AbsPath>,
    /// The SSH user of the node path (default `root`: the steps it runs are root@pam's).
    #[serde(default = "root")]
    pub ssh_user: LoginName,
    /// The known_hosts file the nodes' SSH host keys are checked against (OpenSSH's
    /// `StrictHostKeyChecking=yes`): host keys are always checked.
    pub ssh_known_hosts: AbsPath,
    /// The node phoenix runs on (placement `local` puts guests there); a key of
    /// `nodes`. Absent: the API node `api_url` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_node: Option<NodeName>,
    /// Where a guest without `node` goes: `local` (the local node, the default) or
    /// `least-loaded` (the online node with the lowest share of memory in use).
    #[serde(default)]
    pub placement: Placement,
    /// At most this many guests are worked on at once on one node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_jobs_per_node: Option<u32>,
    /// At most this many guests are created or cloned at once on one storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_jobs_per_storage: Option<u32>,
    /// The cluster's nodes by name (as `pvecm nodes` shows them), with their SSH
    /// address for the node path.
    pub nodes: BTreeMap<NodeName, ClusterNode>,
}

/// Where guests without an explicit `node` are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// On the local node (`local_node`, or the API's node).
    #[default]
    Local,
    /// On the online node with the lowest share of memory in use
    /// (`/cluster/resources`), counting the guests placed before it in the run.
    LeastLoaded,
}

/// How phoenix reaches a node for the node path (`ssh [user@]host phoenix node ...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterNode {
    /// The node's SSH address: a host name or an IPv4 address.
    pub ssh_host: Hostname,
    /// The SSH port (default 22).
    #[serde(default = "ssh_port")]
    #[schemars(range(min = 1))]
    pub ssh_port: u16,
    /// The phoenix binary on the node: a command name looked up on the node's `PATH`
    /// or an absolute path (default `phoenix`).
    #[serde(default = "phoenix")]
    pub phoenix: RemoteCommand,
}

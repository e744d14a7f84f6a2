//! What the typed calls return, decoded leniently from Proxmox's JSON.

use std::fmt;

use serde_json::Value;

use crate::error::ApiError;
use crate::response::Fields;

/// `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The full version (`8.2.4`).
    pub version: String,
    /// The release (`8.2`), when given.
    pub release: Option<String>,
    /// The repository commit id, when given.
    pub repoid: Option<String>,
}

impl Version {
    pub(crate) fn from_value(path: &str, v: &Value) -> Result<Self, ApiError> {
        let f = Fields::new(path, "the version", v)?;
        Ok(Version {
            version: f.string("version")?,
            release: f.opt_string("release")?,
            repoid: f.opt_string("repoid")?,
        })
    }
}

/// Which resources `GET /cluster/resources?type=` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// Guests (`type=vm`: containers and VMs).
    Vm,
    /// Nodes.
    Node,
    /// Storages, one entry per node.
    Storage,
}

impl ResourceKind {
    /// The `type` parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Vm => "vm",
            ResourceKind::Node => "node",
            ResourceKind::Storage => "storage",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a guest runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GuestState {
    /// `running`.
    Running,
    /// `stopped`.
    Stopped,
    /// Anything else Proxmox reports (`paused`, `unknown`, ...).
    Other(String),
}

impl GuestState {
    fn from_text(s: String) -> Self {
        match s.as_str() {
            "running" => GuestState::Running,
            "stopped" => GuestState::Stopped,
            _ => GuestState::Other(s),
        }
    }
}

impl fmt::Display for GuestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GuestState::Running => "running",
            GuestState::Stopped => "stopped",
            GuestState::Other(s) => s,
        })
    }
}

/// Which kind of guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuestKind {
    /// A container (`lxc`).
    Lxc,
    /// A virtual machine (`qemu`).
    Qemu,
}

/// A guest in `/cluster/resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestResource {
    /// `lxc/101`.
    pub id: String,
    /// Container or VM.
    pub kind: GuestKind,
    /// The guest's id.
    pub vmid: u32,
    /// The node it is on.
    pub node: String,
    /// Running or not.
    pub status: GuestState,
    /// Its name (the container's hostname).
    pub name: Option<String>,
    /// Whether it is a template.
    pub template: bool,
    /// Memory limit in bytes.
    pub maxmem: Option<u64>,
    /// Memory used in bytes.
    pub mem: Option<u64>,
    /// CPUs it may use.
    pub maxcpu: Option<f64>,
    /// CPU load (1.0 = one CPU).
    pub cpu: Option<f64>,
    /// Root disk size in bytes.
    pub maxdisk: Option<u64>,
}

/// A node in `/cluster/resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeResource {
    /// `node/pve1`.
    pub id: String,
    /// The node's name.
    pub node: String,
    /// `online`, `offline` or `unknown`.
    pub status: String,
    /// Its CPUs.
    pub maxcpu: Option<f64>,
    /// CPU load (a fraction of all its CPUs).
    pub cpu: Option<f64>,
    /// Its memory in bytes.
    pub maxmem: Option<u64>,
    /// Memory used in bytes.
    pub mem: Option<u64>,
}

/// A storage on a node in `/cluster/resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageResource {
    /// `storage/pve1/local`.
    pub id: String,
    /// The node this entry is for.
    pub node: String,
    /// The storage's id.
    pub storage: String,
    /// Whether every node sees the same storage (so clones may cross nodes).
    pub shared: bool,
    /// `available` or not.
    pub status: String,
}

/// One entry of `GET /cluster/resources`.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// A container or VM.
    Guest(GuestResource),
    /// A node.
    Node(NodeResource),
    /// A storage on a node.
    Storage(StorageResource),
    /// A kind this client does not model (`pool`, `sdn`, ...).
    Other {
        /// The entry's id.
        id: String,
        /// Its `type`.
        kind: String,
    },
}

impl Resource {
    /// The node the entry belongs to (none for [`Resource::Other`]).
    pub fn node(&self) -> Option<&str> {
        match self {
            Resource::Guest(g) => Some(&g.node),
            Resource::Node(n) => Some(&n.node),
            Resource::Storage(s) => Some(&s.node),
            Resource::Other { .. } => None,
        }
    }

    pub(crate) fn from_value(path: &str, v: &Value) -> Result<Self, ApiError> {
        let f = Fields::new(path, "a cluster resource", v)?;
        let id = f.string("id")?;
        let kind = f.string("type")?;
        Ok(match kind.as_str() {
            "lxc" | "qemu" => Resource::Guest(GuestResource {
                kind: if kind == "lxc" {
                    GuestKind::Lxc
                } else {
                    GuestKind::Qemu
                },
                vmid: f.u32("vmid")?,
                node: f.string("node")?,
                status: GuestState::from_text(f.opt_string("status")?.unwrap_or_default()),
                name: f.opt_string("name")?,
                template: f.flag("template")?,
                maxmem: f.opt_u64("maxmem")?,
                mem: f.opt_u64("mem")?,
                maxcpu: f.opt_f64("maxcpu")?,
                cpu: f.opt_f64("cpu")?,
                maxdisk: f.opt_u64("maxdisk")?,
                id,
            }),
            "node" => Resource::Node(NodeResource {
                node: f.string("node")?,
                status: f.opt_string("status")?.unwrap_or_default(),
                maxcpu: f.opt_f64("maxcpu")?,
                cpu: f.opt_f64("cpu")?,
                maxmem: f.opt_u64("maxmem")?,
                mem: f.opt_u64("mem")?,
                id,
            }),
            "storage" => Resource::Storage(StorageResource {
                node: f.string("node")?,
                storage: f.string("storage")?,
                shared: f.flag("shared")?,
                status: f.opt_string("status")?.unwrap_or_default(),
                id,
            }),
            _ => Resource::Other { id, kind },
        })
    }
}

/// `GET /nodes/{node}/lxc/{vmid}/status/current`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LxcStatus {
    /// The container's id.
    pub vmid: u32,
    /// Running or not.
    pub status: GuestState,
    /// Its name, when given.
    pub name: Option<String>,
}

impl LxcStatus {
    pub(crate) fn from_value(path: &str, vmid: u32, v: &Value) -> Result<Self, ApiError> {
        let f = Fields::new(path, "a container status", v)?;
        Ok(LxcStatus {
            // Proxmox sends it as a string or a number, and has been known to omit it.
            vmid: f
                .opt_u64("vmid")?
                .map_or(Ok(vmid), u32::try_from)
                .map_err(|_| {
                    crate::response::decode(path, "`vmid` of a container status is out of range")
                })?,
            status: GuestState::from_text(f.string("status")?),
            name: f.opt_string("name")?,
        })
    }

    /// Whether it runs.
    pub fn is_running(&self) -> bool {
        self.status == GuestState::Running
    }
}

/// How a task ended when it did not fail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOutcome {
    /// The task's UPID; `None` when the call answered without starting a task
    /// (Proxmox's `POST .../template`).
    pub upid: Option<String>,
    /// `n` of `WARNINGS: n`; 0 for `OK`.
    pub warnings: u32,
    /// The task log when there were warnings (empty for `OK`: ask
    /// [`Client::task_log`](crate::Client::task_log) for it).
    pub log: Vec<String>,
}

//! Which cluster node each guest of a run lives on. Pure: the caller reads the nodes'
//! load and the shared storages from `/cluster/resources` and where existing guests
//! are from `type=vm`.
//!
//! The rules, in order (the same in `docs/cluster.md`):
//!
//! 1. A guest that exists stays on its node: phoenix does not migrate. A config that
//!    names another node is an error (`pct migrate` first).
//! 2. A guest whose config names a node goes there; the node must be in the cluster and
//!    online.
//! 3. A clone goes to its source's node. Proxmox clones to another node (`target`) only
//!    from shared storage, so a clone of a source on a storage that is not shared must
//!    stay there: naming another node is an error; a clone of a source on shared
//!    storage is placed like any new guest (rule 4) when its config names no node.
//! 4. Any other new guest: placement `local` puts it on the local node; `least-loaded`
//!    on the online node with the lowest share of memory in use, `(mem + planned) /
//!    maxmem`, where `planned` is the memory of the new guests already placed there in
//!    this run (their `memory_mb`, 512 MiB when unknown); ties go to the first name.
//!
//! Guests are placed in id order, a clone after its source, so the result is the same
//! for the same input.
//!
//! ```
//! use std::collections::BTreeSet;
//! use phoenix_orchestrator::placement::{GuestWant, NodeLoad, Policy, place};
//! let node = |n: &str, mem: u64| NodeLoad { node: n.parse().unwrap(), online: true,
//!     mem, maxmem: 64 << 30, cpu: 0.0, maxcpu: 8 };
//! let want = |vmid| GuestWant { vmid, node: None, existing: None, clone_of: None,
//!     storage: Some("local".into()), memory_mb: Some(4096) };
//! let nodes = [node("pve1", 40 << 30), node("pve2", 8 << 30)];
//! let placed = place(&[want(101), want(102)], &nodes, &BTreeSet::new(),
//!     Policy::LeastLoaded, &"pve1".parse().unwrap()).unwrap();
//! assert_eq!(placed[&101].as_str(), "pve2");
//! assert_eq!(placed[&102].as_str(), "pve2");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use phoenix_pveconf::api::NodeName;

/// A node's state, from `/cluster/resources?type=node`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLoad {
    /// The node.
    pub node: NodeName,
    /// Its status is `online`.
    pub online: bool,
    /// Memory in use, bytes.
    pub mem: u64,
    /// Memory, bytes.
    pub maxmem: u64,
    /// CPU use, 0..=1 of `maxcpu`.
    pub cpu: f64,
    /// CPUs.
    pub maxcpu: u32,
}

/// What placement knows of one guest of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestWant {
    /// The guest.
    pub vmid: u32,
    /// The node its config names.
    pub node: Option<NodeName>,
    /// The node it exists on, if it exists.
    pub existing: Option<NodeName>,
    /// The container it is cloned from.
    pub clone_of: Option<u32>,
    /// The storage of its root file system.
    pub storage: Option<String>,
    /// Its memory in MiB (512 when unknown).
    pub memory_mb: Option<u64>,
}

/// Where a new guest without a node goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The local node.
    Local,
    /// The online node with the lowest share of memory in use.
    LeastLoaded,
}

/// Memory assumed for a new guest whose size is not known, MiB.
pub const DEFAULT_MEMORY_MB: u64 = 512;

/// Why a guest cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// It exists on another node than its config names.
    #[error(
        "CT {vmid} is on {on} but its config says {config}: phoenix does not migrate guests (pct migrate / qm migrate first)"
    )]
    Migrate {
        /// The guest.
        vmid: u32,
        /// Where it is.
        on: NodeName,
        /// Where its config puts it.
        config: NodeName,
    },
    /// The node it goes to is not in the cluster.
    #[error("CT {vmid} cannot be placed on {node}: the cluster has no such node")]
    UnknownNode {
        /// The guest.
        vmid: u32,
        /// The node.
        node: NodeName,
    },
    /// The node it goes to is not online.
    #[error("CT {vmid} cannot be placed on {node}: the node is not online")]
    Offline {
        /// The guest.
        vmid: u32,
        /// The node.
        node: NodeName,
    },
    /// No node is online.
    #[error("CT {vmid} cannot be placed: no node of the cluster is online")]
    NoOnlineNode {
        /// The guest.
        vmid: u32,
    },
    /// A clone on another node than its source, from storage that is not shared.
    #[error(
        "CT {vmid} (clone of {clone_of}) cannot be placed on {target}: storage {} of CT {clone_of} is not shared; put it on {source_node} or use shared storage",
        storage.as_deref().unwrap_or("(unknown)")
    )]
    CloneAcross {
        /// The clone.
        vmid: u32,
        /// Its source.
        clone_of: u32,
        /// Where the config puts the clone.
        target: NodeName,
        /// Where the source is.
        source_node: NodeName,
        /// The source's storage.
        storage: Option<String>,
    },
    /// The clone's source is in the run but could not be placed (or is part of a
    /// cycle of clones, which the config refuses).
    #[error("CT {vmid} (clone of {clone_of}) cannot be placed: CT {clone_of} could not be placed")]
    SourceUnplaced {
        /// The clone.
        vmid: u32,
        /// Its source.
        clone_of: u32,
    },
    /// The clone's source is not in this run.
    #[error(
        "CT {vmid} (clone of {clone_of}) cannot be placed: CT {clone_of} is not in this run, so its node is not known"
    )]
    SourceUnknown {
        /// The clone.
        vmid: u32,
        /// Its source.
        clone_of: u32,
    },
}

/// Places every guest, or says why some cannot be placed (every error, in id order).
pub fn place(
    guests: &[GuestWant],
    nodes: &[NodeLoad],
    shared_storages: &BTreeSet<String>,
    policy: Policy,
    local: &NodeName,
) -> Result<BTreeMap<u32, NodeName>, Vec<PlacementError>> {
    let by_id: BTreeMap<u32, &GuestWant> = guests.iter().map(|g| (g.vmid, g)).collect();
    let loads: BTreeMap<&NodeName, &NodeLoad> = nodes.iter().map(|n| (&n.node, n)).collect();
    // Memory of the new guests placed on each node so far, bytes.
    let mut planned: BTreeMap<NodeName, u64> = BTreeMap::new();
    let mut placed: BTreeMap<u32, NodeName> = BTreeMap::new();
    let mut errors: BTreeMap<u32, PlacementError> = BTreeMap::new();

    // Id order, a new clone right after its source (placed or failed): the order in
    // which each guest is first reached by a walk up its clone sources.
    let mut order: Vec<&GuestWant> = Vec::with_capacity(by_id.len());
    let mut seen: BTreeSet<u32> = BTreeSet::new();
    for g in by_id.values() {
        let mut chain = Vec::new();
        let mut at = Some(*g);
        while let Some(x) = at {
            if !seen.insert(x.vmid) {
                break;
            }
            chain.push(x);
            at = x
                .clone_of
                .filter(|_| x.existing.is_none())
                .and_then(|s| by_id.get(&s).copied());
        }
        order.extend(chain.into_iter().rev());
    }
    for g in order {
        match place_one(
            g,
            &by_id,
            &loads,
            shared_storages,
            policy,
            local,
            &placed,
            &planned,
        ) {
            Ok(node) => {
                if g.existing.is_none() {
                    let mem = g.memory_mb.unwrap_or(DEFAULT_MEMORY_MB) << 20;
                    *planned.entry(node.clone()).or_default() += mem;
                }
                placed.insert(g.vmid, node);
            }
            Err(e) => {
                errors.insert(g.vmid, e);
            }
        }
    }
    if errors.is_empty() {
        Ok(placed)
    } else {
        Err(errors.into_values().collect())
    }
}

/// The node of one guest, its source (if any) already placed.
#[allow(clippy::too_many_arguments)]
fn place_one(
    g: &GuestWant,
    by_id: &BTreeMap<u32, &GuestWant>,
    loads: &BTreeMap<&NodeName, &NodeLoad>,
    shared: &BTreeSet<String>,
    policy: Policy,
    local: &NodeName,
    placed: &BTreeMap<u32, NodeName>,
    planned: &BTreeMap<NodeName, u64>,
) -> Result<NodeName, PlacementError> {
    let vmid = g.vmid;
    if let Some(on) = &g.existing {
        return match &g.node {
            Some(config) if config != on => Err(PlacementError::Migrate {
                vmid,
                on: on.clone(),
                config: config.clone(),
            }),
            _ => Ok(on.clone()),
        };
    }
    let usable = |node: &NodeName| match loads.get(node) {
        None => Err(PlacementError::UnknownNode {
            vmid,
            node: node.clone(),
        }),
        Some(l) if !l.online => Err(PlacementError::Offline {
            vmid,
            node: node.clone(),
        }),
        Some(_) => Ok(node.clone()),
    };
    if let Some(source) = g.clone_of {
        let src = by_id.get(&source);
        let source_node = match (placed.get(&source), src) {
            (Some(n), _) => n.clone(),
            // Its own error says why; this clone cannot follow it.
            (None, Some(_)) => {
                return Err(PlacementError::SourceUnplaced {
                    vmid,
                    clone_of: source,
                });
            }
            (None, None) => {
                return Err(PlacementError::SourceUnknown {
                    vmid,
                    clone_of: source,
                });
            }
        };
        let storage = src.and_then(|s| s.storage.clone());
        let is_shared = storage.as_ref().is_some_and(|s| shared.contains(s));
        if !is_shared {
            return match &g.node {
                Some(target) if *target != source_node => Err(PlacementError::CloneAcross {
                    vmid,
                    clone_of: source,
                    target: target.clone(),
                    source_node,
                    storage,
                }),
                _ => usable(&source_node),
            };
        }
    }
    if let Some(node) = &g.node {
        return usable(node);
    }
    match policy {
        Policy::Local => usable(local),
        Policy::LeastLoaded => {
            least_loaded(loads, planned).ok_or(PlacementError::NoOnlineNode { vmid })
        }
    }
}

/// The online node with the lowest `(mem + planned) / maxmem`, ties by name.
fn least_loaded(
    loads: &BTreeMap<&NodeName, &NodeLoad>,
    planned: &BTreeMap<NodeName, u64>,
) -> Option<NodeName> {
    let used =
        |l: &NodeLoad| u128::from(l.mem) + u128::from(planned.get(&l.node).copied().unwrap_or(0));
    let mut best: Option<&NodeLoad> = None;
    // BTreeMap order is name order, so the first of equals wins.
    for l in loads.values().filter(|l| l.online && l.maxmem > 0) {
        let better = match best {
            None => true,
            // a/b < c/d  <=>  a*d < c*b (no floating point: the same answer everywhere).
            Some(b) => used(l) * u128::from(b.maxmem) < used(b) * u128::from(l.maxmem),
        };
        if better {
            best = Some(l);
        }
    }
    best.map(|l| l.node.clone())
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Local => "local",
            Policy::LeastLoaded => "least-loaded",
        })
    }
}

#[cfg(test)]
mod tests;

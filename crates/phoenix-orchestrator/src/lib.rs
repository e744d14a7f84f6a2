//! Plan and converge a phoenix fleet: compose the config, idmap, pveconf, pct, AppArmor
//! and feature crates into a [`Plan`] (a value: read, save, review, apply exactly) and
//! its execution.
//!
//! A plan selects guests (with the clone sources and dependencies they need, containers
//! and VMs alike), observes them through `pct list` and `pct config`, refuses what
//! cannot work before changing anything (a clone whose source has another privilege, a
//! clone source with bind mounts, a host directory two maps disagree on), plans the
//! host steps (`/etc/subuid`, `/etc/subgid`, storage, AppArmor), then each container's
//! steps in phases:
//!
//! ```text
//! idmap      compute and check the map the config asks for
//! volumes    host directories owned by map(owner)
//! define     pct create (every option in one call) or pct clone --snapname
//! configure  raw lxc.* lines in the conf (under Proxmox's lock), then one pct set
//! start      pct start
//! verify     /proc/self/uid_map and gid_map equal the map; a probe file per volume
//! customize  features (dependency order, by the container's ledger), then the
//!            template snapshot clones are made from
//! ```
//!
//! `phoenix plan`, `up --dry-run` and `up` share one code path: the plan is computed
//! (reads only), then printed, or applied in dependency order with `--jobs` workers.
//! A second run finds nothing to do and makes no mutating pct call.
//!
//! ```
//! use phoenix_orchestrator::plan::{Change, Op, PlannedStep, Step};
//! use phoenix_orchestrator::dag::Dag;
//! let dag = Dag::new([(900u32, vec![]), (901, vec![900])]);
//! assert_eq!(dag.topological_order(), Some(vec![900, 901]));
//! let start = PlannedStep::new(Step::Start, Change::Change, Op::Start { vmid: 901 });
//! assert!(start.mutates());
//! assert_eq!(serde_json::to_value(&start.op).unwrap()["op"], "start");
//! ```
//!
//! The crates it builds on are re-exported so embedders get the same versions.

mod apparmor_rules;
mod application;
mod apply;
mod backend;
mod cluster;
pub mod cluster_run;
pub mod dag;
mod desired;
mod devices;
mod diff;
mod engine;
pub mod error;
pub mod events;
pub mod guest;
mod host;
pub mod host_apparmor;
pub mod host_facts;
pub mod hostfs;
pub mod ledger;
pub mod lifecycle;
pub mod lock;
pub mod node_path;
mod observe;
pub mod placement;
pub mod plan;
mod planner;
mod preflight;
pub mod report;
pub mod route;
pub mod testing;
#[cfg(test)]
mod testutil;

pub use engine::{Event, Orchestrator, RunError, RunOptions, Selection, vmid};
pub use error::{ErrorReport, ProofStepError, StepError};
pub use guest::GuestId;
pub use plan::Plan;
pub use report::{CtReport, CtResult, RunReport};

pub use phoenix_apparmor as apparmor;
pub use phoenix_config as config;
pub use phoenix_features as features;
pub use phoenix_idmap as idmap;
pub use phoenix_pct as pct;
pub use phoenix_pveapi as pveapi;
pub use phoenix_pveconf as pveconf;
